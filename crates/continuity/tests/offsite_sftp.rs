//! Off-site copies over SFTP against Debian's OpenSSH server, started by the
//! test on a free port with its own sshd_config, host key and authorized key
//! in a temp dir (key-based login only), and stopped at the end.

use continuity::offsite::OffsiteRepo;
use continuity::sftp::{SftpConfig, SftpOffsite};
use continuity::{
    BackupKey, Content, DatabaseSource, NoProgress, SetKind, Sources, create_set, verify_set,
};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Sshd(Child);

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen (openssh-client) is needed");
    assert!(ok.success());
}

fn sshd(dir: &Path) -> (Sshd, u16) {
    keygen(&dir.join("host_key"));
    keygen(&dir.join("client_key"));
    std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    std::fs::write(
        dir.join("sshd_config"),
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n\
             AllowUsers {user}\nSubsystem sftp internal-sftp\n",
            d = dir.display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all("/run/sshd").ok();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("sshd.log")).unwrap())
        .spawn()
        .expect("/usr/sbin/sshd (openssh-server) is needed: scripts/test installs it");
    let guard = Sshd(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "sshd did not start: {}",
            std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, port)
}

#[tokio::test]
async fn upload_list_download_verify_and_delete_over_sftp() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (_sshd, port) = sshd(root);
    let remote = root.join("remote");
    std::fs::create_dir_all(&remote).unwrap();

    let url = format!("sqlite://{}/data/switchboard.db", root.display());
    store::open(&url).await.unwrap().close().await;
    std::fs::create_dir_all(root.join("data/recordings")).unwrap();
    let rec: Vec<u8> = (0..400_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(root.join("data/recordings/call.wav"), &rec).unwrap();
    let sources = Sources {
        database: DatabaseSource::from_url(&url).unwrap(),
        trees: vec![(Content::Recordings, root.join("data/recordings"))],
    };
    let key = BackupKey::generate().unwrap();
    let repo = root.join("backups");
    let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    let full = create_set(
        &repo,
        &key,
        &sources,
        SetKind::Full,
        t("2026-01-01T01:00:00Z"),
        &mut NoProgress,
    )
    .await
    .unwrap();
    let diff = create_set(
        &repo,
        &key,
        &sources,
        SetKind::Differential,
        t("2026-01-02T01:00:00Z"),
        &mut NoProgress,
    )
    .await
    .unwrap();

    let config = SftpConfig {
        host: "127.0.0.1".into(),
        port,
        user: std::env::var("USER").unwrap_or_else(|_| "root".into()),
        key_file: root.join("client_key"),
        host_key: std::fs::read_to_string(root.join("host_key.pub")).unwrap(),
        dir: remote.display().to_string(),
    };
    let off = SftpOffsite::new(config.clone());
    assert!(off.list_sets().await.unwrap().is_empty());
    off.upload_set(&repo, &full.id).await.unwrap();
    off.upload_set(&repo, &diff.id).await.unwrap();
    assert_eq!(
        off.list_sets().await.unwrap(),
        vec![full.id.clone(), diff.id.clone()]
    );
    // The remote copy is byte-identical to the local set.
    for f in &full.files {
        let a = std::fs::read(repo.join(&full.id.0).join("files").join(&f.blob)).unwrap();
        let b = std::fs::read(remote.join(&full.id.0).join("files").join(&f.blob)).unwrap();
        assert!(a == b, "{}", f.path);
    }

    let other = root.join("other");
    std::fs::create_dir_all(&other).unwrap();
    off.download_set(&full.id, &other).await.unwrap();
    off.download_set(&diff.id, &other).await.unwrap();
    assert_eq!(
        verify_set(&other, &key, &diff.id, &mut NoProgress)
            .unwrap()
            .files,
        2
    );

    // The manifests read back through the repository `serve` schedules on
    // (its off-site catalog at start); an edited one is refused.
    let repo_off = OffsiteRepo::Sftp(off.clone());
    let m = repo_off.manifest(&key, &diff.id).await.unwrap();
    assert_eq!(m.id, diff.id);
    assert_eq!(m.parent.as_ref(), Some(&full.id));
    let json = remote.join(&full.id.0).join("manifest.json");
    let original = std::fs::read(&json).unwrap();
    let mut edited = original.clone();
    let at = edited.len() / 2;
    edited[at] ^= 1;
    std::fs::write(&json, &edited).unwrap();
    let e = repo_off.manifest(&key, &full.id).await.unwrap_err();
    assert!(matches!(e, continuity::Error::Tampered { .. }), "{e}");
    std::fs::write(&json, &original).unwrap();
    assert_eq!(repo_off.manifest(&key, &full.id).await.unwrap().id, full.id);

    off.delete_set(&full.id).await.unwrap();
    assert_eq!(off.list_sets().await.unwrap(), vec![diff.id.clone()]);
    assert!(!remote.join(&full.id.0).exists());

    // A server with another host key is refused.
    let mut wrong = config.clone();
    wrong.host_key = std::fs::read_to_string(root.join("client_key.pub")).unwrap();
    let e = SftpOffsite::new(wrong).list_sets().await.unwrap_err();
    assert!(e.to_string().contains("sftp"), "{e}");
}
