//! Issue 12 acceptance: `kill -9` of `switchboard serve` during a burst of
//! trunk calls (sipp) loses nothing that was journaled.
//!
//! `serve` runs as a child process on its own data dir (embedded SQLite).
//! A burst of callers waits in queue `general`; another process (`sqlite3`)
//! locks the store's file so that the event writer sends writes to its
//! journal; once the journal holds writes and calls are live, `serve` is
//! killed with SIGKILL, the lock is released and `serve` is started again on
//! the same data dir. Then: every event the journal held is in the store,
//! once; no call stays open (the restart closes the live ones with
//! `system_restart`); the journal is empty; `PRAGMA integrity_check` is ok.

mod common;

use common::history::*;
use common::serve::{now, serve, sigterm};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `sqlite3` holding `BEGIN EXCLUSIVE` on `db`; returns once it holds it.
fn lock_sqlite(db: &Path) -> Child {
    use std::io::Write;
    let mut child = Command::new("sqlite3")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("sqlite3 must be installed (Debian package sqlite3)");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b".timeout 10000\nBEGIN EXCLUSIVE;\nSELECT 'locked';\n")
        .unwrap();
    stdin.flush().unwrap();
    child.stdin = Some(stdin);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked", "sqlite3 holds the lock");
    child
}

fn unlock_sqlite(mut l: Child) {
    use std::io::Write;
    let mut stdin = l.stdin.take().unwrap();
    stdin.write_all(b"COMMIT;\n.quit\n").unwrap();
    drop(stdin);
    assert!(l.wait().unwrap().success(), "sqlite3 released its lock");
}

/// The events of the complete lines of every journal segment in `dir`
/// (`<crc32c> <JSON KeyedWrite>`), as comparable keys; a torn last line
/// (no JSON) is skipped, as the writer does.
fn journaled_events(dir: &Path) -> (usize, Vec<String>) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "journal"))
        .collect();
    files.sort();
    let (mut writes, mut keys) = (0, Vec::new());
    for f in files {
        let text = std::fs::read(&f).unwrap();
        for line in text.split_inclusive(|b| *b == b'\n') {
            let Some(line) = line.strip_suffix(b"\n") else {
                continue;
            };
            let Some(json) = line.get(9..) else { continue };
            let Ok(w) = serde_json::from_slice::<store::KeyedWrite>(json) else {
                continue;
            };
            writes += 1;
            let (id, events) = match w.write {
                store::Write::Open {
                    interaction,
                    events,
                } => (Some(interaction.id), events),
                store::Write::Update { id, events, .. } => (Some(id), events),
                store::Write::Events(events) => (None, events),
            };
            for e in events {
                keys.push(event_key(
                    e.at,
                    e.interaction_id.or(id),
                    e.agent_id,
                    &e.kind,
                ));
            }
        }
    }
    (writes, keys)
}

fn event_key(
    at: domain::Timestamp,
    interaction: Option<domain::InteractionId>,
    agent: Option<domain::AgentId>,
    kind: &domain::EventKind,
) -> String {
    serde_json::to_string(&(at, interaction, agent, kind)).unwrap()
}

/// Every stored event at or after `from`, keyed like [`journaled_events`].
async fn stored_events(s: &dyn store::Store, from: domain::Timestamp) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    let mut after = None;
    loop {
        let page = s
            .list_events(&store::EventFilter {
                from: Some(from),
                after_seq: after,
                limit: 10_000,
                ..store::EventFilter::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else {
            return out;
        };
        after = Some(last.seq);
        for e in &page {
            *out.entry(event_key(e.at, e.interaction_id, e.agent_id, &e.kind))
                .or_insert(0) += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_serve_during_a_burst_loses_no_journaled_event() {
    kill_9_during_a_burst(true).await;
}

/// The same `kill -9` while the store works: writes are being committed
/// when the process dies; nothing is left open and the file is sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_serve_during_a_burst_on_a_working_store() {
    kill_9_during_a_burst(false).await;
}

/// `lock`: the store's file is locked (writes go to the journal) before the
/// kill.
async fn kill_9_during_a_burst(lock: bool) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    let journal = data.join("journal");
    let db_path = data.join("switchboard.db");
    let sip_port = common::sip::free_ports("127.0.0.1", 1);
    let sip: std::net::SocketAddr = format!("127.0.0.1:{sip_port}").parse().unwrap();

    let (mut a, _) = serve(d, sip_port, "1.log", &[]);
    assert!(
        db_path.exists(),
        "the embedded store is {}",
        db_path.display()
    );
    let from = now();

    // A burst of callers (10 calls/s, each 20 s on the line) waits in
    // `general`; after 2 s the store's file is locked.
    let port = common::sip::free_ports("127.0.0.1", 1).to_string();
    let media = common::sip::free_ports("127.0.0.1", 4).to_string();
    let mut burst = tokio::process::Command::new("sipp")
        .arg(sip.to_string())
        .arg("-sf")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/caller_wait_hangup.xml"))
        .args(["-s", "3902", "-i", "127.0.0.1", "-p", &port, "-mp", &media])
        .args(["-m", "200", "-r", "10", "-rp", "1000", "-d", "20000"])
        .args(["-timeout", "60s", "-nostdin"])
        .current_dir(common::sip::sipp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp must be installed (Debian package sip-tester)");
    let store_before = store::open(&format!("sqlite://{}", db_path.display()))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while calls_since(&*store_before, from).await.len() < 10 {
        assert!(Instant::now() < deadline, "the burst's calls are stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let locker = if lock {
        let locker = lock_sqlite(&db_path);

        // The writer gives the locked store 5 s, then journals; once the
        // journal holds writes, and a few more calls came in, SIGKILL.
        let deadline = Instant::now() + Duration::from_secs(20);
        while journal_files(&journal) == 0 {
            assert!(
                Instant::now() < deadline,
                "the lock sent writes to the journal"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while journaled_events(&journal).0 < 20 {
            assert!(
                Instant::now() < deadline,
                "the burst goes on into the journal"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(locker)
    } else {
        // The burst goes on: 20 more calls are stored, then SIGKILL.
        let deadline = Instant::now() + Duration::from_secs(20);
        while calls_since(&*store_before, from).await.len() < 30 {
            assert!(Instant::now() < deadline, "the burst's calls are stored");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    };
    a.kill().unwrap(); // SIGKILL
    assert!(!a.wait().unwrap().success());
    let _ = burst.kill().await;
    store_before.close().await;
    let (writes, journaled) = if journal.exists() {
        journaled_events(&journal)
    } else {
        (0, Vec::new())
    };
    if let Some(l) = locker {
        unlock_sqlite(l);
    }

    // Restart on the same data dir: the journal is replayed, live calls
    // are closed.
    let t0 = Instant::now();
    let (mut b, _) = serve(d, sip_port, "2.log", &[]);
    let restart = t0.elapsed();
    assert_eq!(journal_files(&journal), 0, "the journal was replayed");
    sigterm(&mut b);

    let url = format!("sqlite://{}", db_path.display());
    let db = store::open(&url).await.unwrap();
    let stored = stored_events(&*db, from).await;
    let mut want: HashMap<&str, usize> = HashMap::new();
    for k in &journaled {
        *want.entry(k.as_str()).or_insert(0) += 1;
    }
    for (k, n) in &want {
        assert_eq!(
            stored.get(*k).copied().unwrap_or(0),
            *n,
            "journaled event stored exactly as often as journaled: {k}"
        );
    }
    let calls = calls_since(&*db, from).await;
    let open: Vec<_> = calls.iter().filter(|c| c.ended_at.is_none()).collect();
    assert!(open.is_empty(), "calls left open: {open:?}");
    let by_restart = calls
        .iter()
        .filter(|c| c.end_reason.as_deref() == Some("system_restart"))
        .count();
    assert!(by_restart > 0, "the live calls were closed by the restart");
    let hist = checked_histories(&*db, &calls).await;
    for (id, evs) in &hist {
        let ended = evs.iter().filter(|e| kind(e) == "ended").count();
        assert_eq!(ended, 1, "interaction {}: one ended event", id.0);
    }
    db.close().await;
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(ok, "ok");
    println!(
        "kill -9 during a burst (store locked: {lock}): {} calls stored, {by_restart} closed by the restart; \
         {writes} writes ({} events) in the journal, all in the store once; \
         restart to /health {} ms; integrity_check {ok}",
        calls.len(),
        journaled.len(),
        restart.as_millis()
    );
}
