//! Off-site copies against a real S3 server: moto (`moto_server`, PyPI
//! `moto[server]`, installed by scripts/test), started by the test on a free
//! port and stopped at the end. Upload, list, download (verified with the
//! key), and retention pruning on a virtual clock.

use continuity::offsite::{Offsite, S3Config};
use continuity::schedule::{SetInfo, prune_plan};
use continuity::{
    BackupKey, Content, DatabaseSource, NoProgress, SetKind, Sources, create_set, read_manifest,
    verify_set,
};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start moto and wait (bounded) until it answers HTTP.
async fn moto() -> (Moto, String) {
    let port = free_port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server not found: python3 -m pip install 'moto[server]' (scripts/test does)");
    let guard = Moto(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(status) = http(port, "GET", "/").await
            && status.starts_with("HTTP/1.1 200")
        {
            break;
        }
        assert!(Instant::now() < deadline, "moto_server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (guard, format!("http://127.0.0.1:{port}"))
}

/// One bare HTTP/1.1 request; returns the status line.
async fn http(port: u16, method: &str, path: &str) -> std::io::Result<String> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    Ok(String::from_utf8_lossy(&buf)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string())
}

#[tokio::test]
async fn upload_list_download_verify_and_prune_on_moto() {
    let (_moto, endpoint) = moto().await;
    let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        http(port, "PUT", "/sb-backups")
            .await
            .unwrap()
            .starts_with("HTTP/1.1 200")
    );

    // A site with an SQLite store and a 1 MiB recording (multipart-sized parts are not needed, but several chunks are).
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let url = format!("sqlite://{}/data/switchboard.db", root.display());
    let s = store::open(&url).await.unwrap();
    s.close().await;
    std::fs::create_dir_all(root.join("data/recordings")).unwrap();
    let rec: Vec<u8> = (0..1_048_576u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
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
        t("2020-01-01T01:00:00Z"),
        &mut NoProgress,
    )
    .await
    .unwrap();
    std::fs::write(root.join("data/recordings/call2.wav"), b"second call").unwrap();
    let diff = create_set(
        &repo,
        &key,
        &sources,
        SetKind::Differential,
        t("2020-01-02T01:00:00Z"),
        &mut NoProgress,
    )
    .await
    .unwrap();
    let full2 = create_set(
        &repo,
        &key,
        &sources,
        SetKind::Full,
        t("2026-01-01T01:00:00Z"),
        &mut NoProgress,
    )
    .await
    .unwrap();

    let off = Offsite::s3(&S3Config {
        endpoint: endpoint.clone(),
        region: "us-east-1".into(),
        bucket: "sb-backups".into(),
        prefix: "site-a".into(),
        access_key_id: "testing".into(),
        secret_access_key: "testing".into(),
    })
    .unwrap();
    assert!(
        !format!(
            "{:?}",
            S3Config {
                endpoint: String::new(),
                region: String::new(),
                bucket: String::new(),
                prefix: String::new(),
                access_key_id: String::new(),
                secret_access_key: "hush".into()
            }
        )
        .contains("hush")
    );
    assert!(off.list_sets().await.unwrap().is_empty());
    for id in [&full.id, &diff.id, &full2.id] {
        let n = off.upload_set(&repo, id).await.unwrap();
        assert!(n > 0);
    }
    assert_eq!(
        off.list_sets().await.unwrap(),
        vec![full.id.clone(), diff.id.clone(), full2.id.clone()]
    );

    // Download the differential and its full into an empty repository: it
    // verifies, and the sealed files are byte-identical.
    let other = root.join("restore-repo");
    std::fs::create_dir_all(&other).unwrap();
    off.download_set(&diff.id, &other).await.unwrap();
    off.download_set(&full.id, &other).await.unwrap();
    let v = verify_set(&other, &key, &diff.id, &mut NoProgress).unwrap();
    assert_eq!(v.files, 3);
    assert_eq!(read_manifest(&other, &key, &diff.id).unwrap(), diff);
    assert_eq!(off.manifest(&key, &diff.id).await.unwrap(), diff);
    assert!(
        off.manifest(&BackupKey::generate().unwrap(), &diff.id)
            .await
            .is_err()
    );
    for f in &full.files {
        let a = std::fs::read(repo.join(&full.id.0).join("files").join(&f.blob)).unwrap();
        let b = std::fs::read(other.join(&full.id.0).join("files").join(&f.blob)).unwrap();
        assert!(a == b, "{} differs after the round trip", f.path);
    }
    assert!(
        off.download_set(
            &continuity::SetId("20990101T000000.000Z-full".into()),
            &other
        )
        .await
        .is_err()
    );

    // Retention off-site on a virtual clock: five years and a day after the
    // 2020 sets, they expire; the 2026 full (newest) stays.
    let infos: Vec<SetInfo> = [&full, &diff, &full2]
        .iter()
        .map(|m| SetInfo {
            id: m.id.clone(),
            kind: m.kind,
            parent: m.parent.clone(),
            created_at: m.created_at(),
        })
        .collect();
    let five_years = jiff::SignedDuration::from_hours(24 * continuity::schedule::MIN_OFFSITE_DAYS);
    assert!(prune_plan(&infos, t("2024-12-31T00:00:00Z"), five_years).is_empty());
    let gone = prune_plan(&infos, t("2025-01-03T01:00:00Z"), five_years);
    assert_eq!(gone, vec![full.id.clone(), diff.id.clone()]);
    for id in &gone {
        off.delete_set(id).await.unwrap();
    }
    assert_eq!(off.list_sets().await.unwrap(), vec![full2.id.clone()]);
}
