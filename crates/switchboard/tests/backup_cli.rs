//! `switchboard backup keygen|run|list|verify` and `switchboard restore` as a
//! user runs them, on SQLite and on PostgreSQL (`SWITCHBOARD_TEST_PG`, set by
//! scripts/test), with recordings, prompts, flows and the config file:
//! byte-identical files and equal counts after restore, a differential on top
//! of its full, a corrupted set refused with the bad file named.

use domain::{Channel, Direction, EventKind, NewEvent, Timestamp};
use sqlx::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use store::{NewCustomer, NewInteraction, Store};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .env_remove("SWITCHBOARD_DATABASE__URL")
        .env("RUST_LOG", "warn")
        .arg("--config")
        .arg(dir.join("switchboard.toml"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sha(p: &Path) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(std::fs::read(p).unwrap()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn tree(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().display().to_string(), sha(&p));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

async fn populate(s: &dyn Store, n: usize) {
    for i in 0..n {
        let now = Timestamp::from_millis(1_764_450_000_000 + i as i64);
        let c = s
            .create_customer(
                &NewCustomer {
                    name: format!("customer {i}"),
                    ..NewCustomer::default()
                },
                now,
            )
            .await
            .unwrap();
        let it = s
            .create_interaction(&NewInteraction {
                channel: Channel::Voice,
                direction: Direction::Inbound,
                customer_id: Some(c.id),
                queue_id: None,
                agent_id: None,
                started_at: now,
            })
            .await
            .unwrap();
        s.append_events(&[
            NewEvent::new(now, EventKind::CustomerCreated).with_interaction(it.id),
            NewEvent::new(now, EventKind::CustomerCreated).with_interaction(it.id),
        ])
        .await
        .unwrap();
    }
}

/// (interactions, events, customers)
async fn counts(url: &str) -> (i64, i64, i64) {
    macro_rules! q {
        ($c:expr, $t:literal) => {
            sqlx::query_scalar::<_, i64>(concat!("SELECT count(*) FROM ", $t))
                .fetch_one(&mut $c)
                .await
                .unwrap()
        };
    }
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        (q!(c, "interactions"), q!(c, "events"), q!(c, "customers"))
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        (q!(c, "interactions"), q!(c, "events"), q!(c, "customers"))
    }
}

/// A node's folder: config file, data dir with recordings, prompts, flows.
fn site(db_url: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_path_buf();
    let db = db_url
        .map(|u| format!("[database]\nurl = \"{u}\"\n"))
        .unwrap_or_default();
    std::fs::write(
        d.join("switchboard.toml"),
        format!(
            "data_dir = \"{0}/data\"\n{db}[engine]\nprompts_dir = \"{0}/prompts\"\nflows_dir = \"{0}/flows\"\n\
             [backup]\nkey_file = \"{0}/backup.key\"\n",
            d.display()
        ),
    )
    .unwrap();
    write(
        &d.join("data/recordings/2026/12/04/call-1.wav"),
        &noise(250_000, 1),
    );
    write(
        &d.join("data/recordings/2026/12/04/call-2.wav"),
        &noise(40_000, 2),
    );
    write(&d.join("prompts/fr/welcome.wav"), &noise(16_000, 3));
    write(&d.join("flows/main.yaml"), b"start: welcome\n");
    (tmp, d)
}

fn set_ids(dir: &Path) -> Vec<String> {
    ok(dir, &["backup", "list"])
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

/// Back up (full, changes, differential), verify, restore the differential,
/// compare. `pg` is (source URL, empty target URL); without it the node runs
/// on SQLite in its data dir. Returns the node folder and the differential's id.
async fn full_diff_restore(pg: Option<(&str, &str)>) -> (tempfile::TempDir, PathBuf, String) {
    let (tmp, d) = site(pg.map(|p| p.0));
    let db_url = match pg {
        Some((src, _)) => src.to_string(),
        None => format!("sqlite://{}/data/switchboard.db", d.display()),
    };
    let s = store::open(&db_url).await.unwrap();
    populate(&*s, 4).await;
    ok(
        &d,
        &["backup", "keygen", d.join("backup.key").to_str().unwrap()],
    );
    let key_text = std::fs::read_to_string(d.join("backup.key")).unwrap();
    // Keygen refuses to overwrite a key.
    assert!(
        !run(
            &d,
            &["backup", "keygen", d.join("backup.key").to_str().unwrap()]
        )
        .status
        .success()
    );

    // `backup run` with no full yet makes a full, while the store is open.
    let out = ok(&d, &["backup", "run"]);
    assert!(out.contains("-full (Full)"), "{out}");
    populate(&*s, 3).await;
    write(
        &d.join("data/recordings/2026/12/05/call-3.wav"),
        &noise(60_000, 4),
    );
    let out = ok(&d, &["backup", "run"]);
    assert!(out.contains("-diff (Differential)"), "{out}");
    s.close().await;
    let ids = set_ids(&d);
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids[0].ends_with("-full") && ids[1].ends_with("-diff"));
    for id in &ids {
        let out = ok(&d, &["backup", "verify", id]);
        assert!(out.contains(": OK,"), "{out}");
    }
    // The key never shows in any output.
    let listing = ok(&d, &["backup", "list"]);
    assert!(!listing.contains(key_text.trim()));

    let into = d.join("restored");
    let mut args = vec![
        "restore",
        "--from",
        ids[1].as_str(),
        "--into",
        into.to_str().unwrap(),
    ];
    if let Some((_, dst)) = pg {
        args.extend(["--database", dst]);
    }
    let out = ok(&d, &args);
    assert!(out.starts_with(&format!("restored {}", ids[1])), "{out}");
    assert_eq!(
        tree(&into.join("recordings")),
        tree(&d.join("data/recordings"))
    );
    assert_eq!(tree(&into.join("prompts")), tree(&d.join("prompts")));
    assert_eq!(tree(&into.join("flows")), tree(&d.join("flows")));
    assert_eq!(
        sha(&into.join("config/switchboard.toml")),
        sha(&d.join("switchboard.toml"))
    );
    let restored_url = match pg {
        Some((_, dst)) => dst.to_string(),
        None => format!("sqlite://{}/switchboard.db", into.display()),
    };
    assert_eq!(counts(&db_url).await, (7, 14, 7));
    assert_eq!(counts(&restored_url).await, (7, 14, 7));
    (tmp, d, ids[1].clone())
}

#[tokio::test]
async fn sqlite_backup_verify_restore_and_a_corrupted_set_is_refused() {
    let (_tmp, d, diff) = full_diff_restore(None).await;
    // `--at` picks the newest set at or before a time.
    let out = ok(
        &d,
        &[
            "restore",
            "--at",
            "2100-01-01T00:00:00Z",
            "--into",
            d.join("at").to_str().unwrap(),
        ],
    );
    assert!(out.starts_with(&format!("restored {diff}")), "{out}");
    // Corrupt one byte of a recording stored in the differential: verify and
    // restore refuse it and name the file.
    let set = d.join("data/backups").join(&diff);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(set.join("manifest.json")).unwrap()).unwrap();
    let entry = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "2026/12/05/call-3.wav")
        .unwrap()
        .clone();
    assert_eq!(entry["stored_in"], diff.as_str());
    let blob = set.join("files").join(entry["blob"].as_str().unwrap());
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[30_000] ^= 1;
    std::fs::write(&blob, &bytes).unwrap();
    let out = run(&d, &["backup", "verify", &diff]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("recordings/2026/12/05/call-3.wav") && err.contains("corrupted"),
        "{err}"
    );
    let out = run(
        &d,
        &[
            "restore",
            "--from",
            &diff,
            "--into",
            d.join("again").to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(!d.join("again").exists());
    // Without a key: a clear error.
    std::fs::remove_file(d.join("backup.key")).unwrap();
    let out = run(&d, &["backup", "list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("backup key"));
}

#[tokio::test]
async fn postgres_backup_and_restore_into_an_empty_database() {
    let base = std::env::var("SWITCHBOARD_TEST_PG").expect(
        "SWITCHBOARD_TEST_PG is not set: point it at a PostgreSQL server (scripts/test does this)",
    );
    let i = base
        .rfind('/')
        .expect("SWITCHBOARD_TEST_PG must end with /DBNAME");
    let stamp = format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let names = [format!("sbcli_src_{stamp}"), format!("sbcli_dst_{stamp}")];
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    for n in &names {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {n}")))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let src = format!("{}/{}", &base[..i], names[0]);
    let dst = format!("{}/{}", &base[..i], names[1]);
    let (_tmp, d, diff) = full_diff_restore(Some((&src, &dst))).await;
    // Restoring again into the now non-empty database is refused.
    let out = run(
        &d,
        &[
            "restore",
            "--from",
            &diff,
            "--into",
            d.join("again").to_str().unwrap(),
            "--database",
            &dst,
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    // No password on any output.
    assert!(!String::from_utf8_lossy(&out.stderr).contains(":postgres@"));
    for n in &names {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {n} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    }
}
