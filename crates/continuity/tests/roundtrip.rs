//! Backup → verify → restore round trips on SQLite and PostgreSQL, with
//! recordings, a differential on top of its full, and tampered sets refused.
//! PostgreSQL: `SWITCHBOARD_TEST_PG` (scripts/test sets it) names a server;
//! each test makes and drops its own databases.

use continuity::{
    BackupKey, Content, DatabaseSource, Error, NoProgress, RestoreTarget, SetKind, Sources,
    create_set, delete_set, list_sets, restore_set, verify_set,
};
use domain::{Channel, Direction, EventKind, NewEvent, Timestamp};
use sqlx::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use store::{NewCustomer, NewInteraction, Store};

fn t(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

async fn populate(s: &dyn Store, n: usize, tag: &str) {
    for i in 0..n {
        let now = Timestamp::from_millis(1_764_450_000_000 + i as i64 * 1000);
        let c = s
            .create_customer(
                &NewCustomer {
                    name: format!("{tag} customer {i}"),
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
        s.append_events(&[NewEvent::new(now, EventKind::CustomerCreated).with_interaction(it.id)])
            .await
            .unwrap();
    }
}

/// (interactions, events, customers)
async fn counts(url: &str) -> (i64, i64, i64) {
    macro_rules! q {
        ($c:expr, $table:literal) => {
            sqlx::query_scalar::<_, i64>(concat!("SELECT count(*) FROM ", $table))
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

fn write(p: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Every file under `root` with its SHA-256.
fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if !root.exists() {
        return out;
    }
    for e in walkdir::WalkDir::new(root) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(rel, continuity::crypto::hash_file(e.path()).unwrap().1);
        }
    }
    out
}

struct Site {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Site {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let s = Self { _tmp: tmp, root };
        write(&s.rec("2026/12/a.wav"), &noise(300_000, 1));
        write(&s.rec("2026/12/b.wav"), &noise(70_000, 2));
        write(&s.root.join("prompts/fr/welcome.wav"), &noise(20_000, 3));
        write(&s.root.join("flows/main.yaml"), b"start: welcome\n");
        write(
            &s.root.join("config/switchboard.toml"),
            b"data_dir = \"./data\"\n",
        );
        s
    }
    fn rec(&self, p: &str) -> PathBuf {
        self.root.join("data/recordings").join(p)
    }
    fn sources(&self, database: DatabaseSource) -> Sources {
        Sources {
            database,
            trees: vec![
                (Content::Recordings, self.root.join("data/recordings")),
                (Content::Prompts, self.root.join("prompts")),
                (Content::Flows, self.root.join("flows")),
                (Content::Config, self.root.join("config")),
            ],
        }
    }
    fn repo(&self) -> PathBuf {
        self.root.join("backups")
    }
    fn assert_restored(&self, into: &Path) {
        for (src, dst) in [
            ("data/recordings", "recordings"),
            ("prompts", "prompts"),
            ("flows", "flows"),
            ("config", "config"),
        ] {
            let want = tree(&self.root.join(src));
            assert!(!want.is_empty());
            assert_eq!(tree(&into.join(dst)), want, "{src}");
        }
    }
}

#[tokio::test]
async fn sqlite_full_then_differential_round_trip_and_tamper_checks() {
    let site = Site::new();
    let db_url = format!("sqlite://{}/data/switchboard.db", site.root.display());
    let s = store::open(&db_url).await.unwrap();
    populate(&*s, 5, "first").await;
    let key = BackupKey::generate().unwrap();
    let sources = site.sources(DatabaseSource::from_url(&db_url).unwrap());
    let repo = site.repo();

    // A differential needs a full first.
    let e = create_set(
        &repo,
        &key,
        &sources,
        SetKind::Differential,
        t("2026-12-01T01:00:00Z"),
        &mut NoProgress,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::NoFull), "{e}");

    // Full, taken while the store is open (online copy).
    let full = create_set(
        &repo,
        &key,
        &sources,
        SetKind::Full,
        t("2026-12-01T01:00:00Z"),
        &mut NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(full.files.len(), 6);
    assert!(full.files.iter().all(|f| f.stored_in == full.id));
    let full_tree = tree(&site.root.join("data/recordings"));

    // Changes: more rows, one new recording, one changed.
    populate(&*s, 3, "second").await;
    write(&site.rec("2026/12/c.wav"), &noise(90_000, 4));
    write(&site.rec("2026/12/b.wav"), &noise(70_000, 5));
    let diff = create_set(
        &repo,
        &key,
        &sources,
        SetKind::Differential,
        t("2026-12-02T01:00:00Z"),
        &mut NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(diff.parent.as_ref(), Some(&full.id));
    let own: Vec<String> = diff
        .files
        .iter()
        .filter(|f| f.stored_in == diff.id)
        .map(|f| format!("{}/{}", f.content.dir(), f.path))
        .collect();
    assert_eq!(
        own,
        vec![
            "database/switchboard.db",
            "recordings/2026/12/b.wav",
            "recordings/2026/12/c.wav"
        ]
    );
    assert_eq!(diff.files.len(), 7);
    s.close().await;

    // Both verify; listing shows both.
    assert_eq!(
        verify_set(&repo, &key, &full.id, &mut NoProgress)
            .unwrap()
            .files,
        6
    );
    assert_eq!(
        verify_set(&repo, &key, &diff.id, &mut NoProgress)
            .unwrap()
            .files,
        7
    );
    let ids: Vec<_> = list_sets(&repo, &key)
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, vec![full.id.clone(), diff.id.clone()]);

    // The differential restores on top of its full: byte-identical files, equal counts.
    let into = site.root.join("restored-diff");
    let r = restore_set(
        &repo,
        &key,
        &diff.id,
        &RestoreTarget {
            dir: into.clone(),
            database_url: None,
        },
        &mut NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(r.files, 7);
    site.assert_restored(&into);
    assert_eq!(counts(&db_url).await, (8, 8, 8));
    assert_eq!(
        counts(&format!("sqlite://{}/switchboard.db", into.display())).await,
        (8, 8, 8)
    );

    // The full restores the earlier state.
    let into_full = site.root.join("restored-full");
    restore_set(
        &repo,
        &key,
        &full.id,
        &RestoreTarget {
            dir: into_full.clone(),
            database_url: None,
        },
        &mut NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(tree(&into_full.join("recordings")), full_tree);
    assert_eq!(
        counts(&format!("sqlite://{}/switchboard.db", into_full.display())).await,
        (5, 5, 5)
    );

    // A non-empty target is refused.
    let e = restore_set(
        &repo,
        &key,
        &diff.id,
        &RestoreTarget {
            dir: into.clone(),
            database_url: None,
        },
        &mut NoProgress,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::NotEmpty(_)), "{e}");

    // The full cannot be deleted while the differential needs it.
    assert!(matches!(
        delete_set(&repo, &key, &full.id),
        Err(Error::InUse(_))
    ));

    // A flipped byte in a file the differential takes from its full: named.
    let a = full
        .files
        .iter()
        .find(|f| f.path == "2026/12/a.wav")
        .unwrap();
    let blob = repo.join(&full.id.0).join("files").join(&a.blob);
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[100_000] ^= 0x40;
    std::fs::write(&blob, &bytes).unwrap();
    let e = verify_set(&repo, &key, &diff.id, &mut NoProgress).unwrap_err();
    assert!(matches!(e, Error::Tampered { .. }), "{e}");
    assert!(e.to_string().contains("recordings/2026/12/a.wav"), "{e}");
    let e = restore_set(
        &repo,
        &key,
        &diff.id,
        &RestoreTarget {
            dir: site.root.join("r3"),
            database_url: None,
        },
        &mut NoProgress,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("a.wav"), "{e}");
    assert!(
        !site.root.join("r3").exists(),
        "nothing written from a bad set"
    );
    bytes[100_000] ^= 0x40;
    std::fs::write(&blob, &bytes).unwrap();
    verify_set(&repo, &key, &diff.id, &mut NoProgress).unwrap();

    // An edited manifest (a checksum swapped) is refused and named.
    let mpath = repo.join(&diff.id.0).join("manifest.json");
    let text = std::fs::read_to_string(&mpath).unwrap();
    std::fs::write(&mpath, text.replacen("\"size\": 1", "\"size\": 2", 1)).unwrap();
    let e = verify_set(&repo, &key, &diff.id, &mut NoProgress).unwrap_err();
    assert!(e.to_string().contains("manifest.json"), "{e}");
    std::fs::write(&mpath, &text).unwrap();

    // A missing file is named.
    let c = diff
        .files
        .iter()
        .find(|f| f.path == "2026/12/c.wav")
        .unwrap();
    std::fs::remove_file(repo.join(&diff.id.0).join("files").join(&c.blob)).unwrap();
    let e = verify_set(&repo, &key, &diff.id, &mut NoProgress).unwrap_err();
    assert!(
        matches!(e, Error::Missing(ref f) if f.contains("recordings/2026/12/c.wav")),
        "{e}"
    );

    // Another key cannot read the sets at all.
    let other = BackupKey::generate().unwrap();
    assert!(verify_set(&repo, &other, &full.id, &mut NoProgress).is_err());
    assert!(list_sets(&repo, &other).unwrap().is_empty());

    // With the differential gone, the full can be deleted.
    delete_set(&repo, &key, &diff.id).unwrap();
    delete_set(&repo, &key, &full.id).unwrap();
    assert!(list_sets(&repo, &key).unwrap().is_empty());
}

fn pg_base() -> String {
    std::env::var("SWITCHBOARD_TEST_PG").expect(
        "SWITCHBOARD_TEST_PG is not set: point it at a PostgreSQL server (scripts/test does this)",
    )
}

fn db_url(base: &str, name: &str) -> String {
    match base.rfind('/') {
        Some(i) if base[..i].contains("//") => format!("{}/{name}", &base[..i]),
        _ => panic!("SWITCHBOARD_TEST_PG must end with /DBNAME"),
    }
}

async fn admin(sql: String) {
    let mut c = sqlx::PgConnection::connect(&pg_base()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut c)
        .await
        .unwrap();
}

#[tokio::test]
async fn postgres_round_trip_with_pg_dump_and_pg_restore() {
    let base = pg_base();
    let stamp = format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let (src_name, dst_name) = (format!("sbbk_src_{stamp}"), format!("sbbk_dst_{stamp}"));
    admin(format!("CREATE DATABASE {src_name}")).await;
    admin(format!("CREATE DATABASE {dst_name}")).await;
    let (src, dst) = (db_url(&base, &src_name), db_url(&base, &dst_name));

    let site = Site::new();
    let s = store::open(&src).await.unwrap();
    populate(&*s, 6, "pg").await;
    let key = BackupKey::generate().unwrap();
    let sources = site.sources(DatabaseSource::from_url(&src).unwrap());
    let repo = site.repo();
    let full = create_set(
        &repo,
        &key,
        &sources,
        SetKind::Full,
        t("2026-12-01T01:00:00Z"),
        &mut NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(full.database, Some(continuity::DatabaseBackend::Postgres));
    populate(&*s, 2, "pg2").await;
    write(&site.rec("2026/12/d.wav"), &noise(50_000, 9));
    let diff = create_set(
        &repo,
        &key,
        &sources,
        SetKind::Differential,
        t("2026-12-02T01:00:00Z"),
        &mut NoProgress,
    )
    .await
    .unwrap();
    s.close().await;
    verify_set(&repo, &key, &diff.id, &mut NoProgress).unwrap();

    // Without a target database a PostgreSQL set is refused; into a
    // non-empty one too.
    let into = site.root.join("restored");
    let e = restore_set(
        &repo,
        &key,
        &diff.id,
        &RestoreTarget {
            dir: into.clone(),
            database_url: None,
        },
        &mut NoProgress,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e}");
    let e = restore_set(
        &repo,
        &key,
        &diff.id,
        &RestoreTarget {
            dir: site.root.join("x"),
            database_url: Some(src.clone()),
        },
        &mut NoProgress,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::NotEmpty(_)), "{e}");

    restore_set(
        &repo,
        &key,
        &diff.id,
        &RestoreTarget {
            dir: into.clone(),
            database_url: Some(dst.clone()),
        },
        &mut NoProgress,
    )
    .await
    .unwrap();
    site.assert_restored(&into);
    assert!(!into.join("switchboard.pgdump.tmp").exists());
    assert_eq!(counts(&src).await, (8, 8, 8));
    assert_eq!(counts(&dst).await, (8, 8, 8));
    // The restored database opens as a store (migrations table came along).
    let r = store::open(&dst).await.unwrap();
    r.ping().await.unwrap();
    r.close().await;

    admin(format!("DROP DATABASE {src_name} WITH (FORCE)")).await;
    admin(format!("DROP DATABASE {dst_name} WITH (FORCE)")).await;
}
