//! Event-writer throughput (issue 12; a bench binary that prints its
//! figures, not a test).
//!
//! `cargo bench -p engine --bench writer` measures, on a fresh SQLite file
//! (and on a fresh PostgreSQL database too when `SWITCHBOARD_TEST_PG` names a
//! server), writes and events per second through [`engine::writer`]:
//! - with group commit (up to 512 writes per transaction, the default);
//! - one write per transaction (`max_batch = 1`);
//! - into the journal while the store fails (fsync'd appends), and the
//!   replay of that journal once the store is back.
//!
//! The load is calls: each call is 5 writes (open, queued, answered, ended,
//! disposition), one event each. `BENCH_CALLS` (default 20,000) sets the
//! number of calls for the batched runs; the one-by-one runs use a tenth.

use domain::*;
use engine::writer::{EventWriter, WriterOptions};
use sqlx::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use store::*;

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_764_450_000_000 + ms)
}

/// The 5 writes of call `k` (interaction id `id`).
fn call(id: i64, k: i64) -> [Write; 5] {
    let iid = InteractionId(id);
    let ev = |ms: i64, kind: EventKind| NewEvent::new(t(k * 100 + ms), kind).with_interaction(iid);
    [
        Write::Open {
            interaction: Interaction {
                id: iid,
                channel: Channel::Voice,
                direction: Direction::Inbound,
                customer_id: None,
                queue_id: None,
                agent_id: None,
                started_at: t(k * 100),
                answered_at: None,
                ended_at: None,
                end_reason: None,
                disposition: None,
                notes: None,
                recording: None,
            },
            events: vec![ev(
                0,
                EventKind::InteractionCreated {
                    channel: Channel::Voice,
                    direction: Direction::Inbound,
                },
            )],
        },
        Write::Events(vec![ev(
            1,
            EventKind::IvrStep {
                flow: "main".into(),
                node: "menu".into(),
                digits: Some("1".into()),
            },
        )]),
        Write::Update {
            id: iid,
            change: InteractionChange {
                answered_at: Some(t(k * 100 + 2)),
                ..InteractionChange::default()
            },
            events: vec![ev(
                2,
                EventKind::Answered {
                    queue_id: None,
                    waited_ms: 2,
                },
            )],
        },
        Write::Update {
            id: iid,
            change: InteractionChange {
                ended_at: Some(t(k * 100 + 3)),
                end_reason: Some("completed".into()),
                ..InteractionChange::default()
            },
            events: vec![ev(
                3,
                EventKind::Ended {
                    reason: "completed".into(),
                },
            )],
        },
        Write::Update {
            id: iid,
            change: InteractionChange {
                disposition: Some("resolved".into()),
                notes: Some("ok".into()),
                ..InteractionChange::default()
            },
            events: vec![ev(
                4,
                EventKind::DispositionSet {
                    code: "resolved".into(),
                    notes: Some("ok".into()),
                },
            )],
        },
    ]
}

/// Fails on demand (transiently), to measure the journal path.
struct Switch {
    inner: Arc<dyn Store>,
    down: AtomicBool,
}

#[async_trait::async_trait]
impl WriteStore for Switch {
    async fn apply_writes(&self, w: &[KeyedWrite]) -> store::Result<AppliedWrites> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Db(sqlx::Error::PoolTimedOut));
        }
        self.inner.apply_writes(w).await
    }
    async fn reserve_interaction_ids(&self, n: u32) -> store::Result<std::ops::Range<i64>> {
        self.inner.reserve_interaction_ids(n).await
    }
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

async fn through_writer(s: Arc<dyn Store>, calls: usize, max_batch: usize, label: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = WriterOptions {
        max_batch,
        ..WriterOptions::default()
    };
    let (w, task) = EventWriter::start_with(s.clone(), dir.path().join("journal"), opts)
        .await
        .expect("start");
    let ids = s.reserve_interaction_ids(calls as u32).await.expect("ids");
    let start = Instant::now();
    for k in 0..calls {
        for write in call(ids.start + k as i64, k as i64) {
            w.submit(write).await.expect("submit");
        }
    }
    w.wait_applied().await;
    let el = start.elapsed();
    let n = calls * 5;
    println!(
        "{label:<34} {n:>7} writes in {:>7.2} s: {:>9.0} writes/s = {:>9.0} events/s ({:.0} calls/s)",
        el.as_secs_f64(),
        rate(n, el),
        rate(n, el),
        rate(calls, el)
    );
    w.shutdown().await;
    task.await.expect("writer task");
}

async fn journal_then_replay(s: Arc<dyn Store>, calls: usize, label: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sw = Arc::new(Switch {
        inner: s.clone(),
        down: AtomicBool::new(true),
    });
    let (w, task) = EventWriter::start_with(
        sw.clone(),
        dir.path().join("journal"),
        WriterOptions {
            backoff_max: Duration::from_millis(20),
            ..WriterOptions::default()
        },
    )
    .await
    .expect("start");
    let ids = s.reserve_interaction_ids(calls as u32).await.expect("ids");
    let n = calls * 5;
    let start = Instant::now();
    for k in 0..calls {
        for write in call(ids.start + k as i64, k as i64) {
            w.submit(write).await.expect("submit");
        }
    }
    w.flush().await;
    let el = start.elapsed();
    println!(
        "{label:<34} {n:>7} writes in {:>7.2} s: {:>9.0} writes/s into the journal (store down)",
        el.as_secs_f64(),
        rate(n, el)
    );
    let start = Instant::now();
    sw.down.store(false, Ordering::SeqCst);
    w.wait_applied().await;
    let el = start.elapsed();
    println!(
        "{:<34} {n:>7} writes in {:>7.2} s: {:>9.0} writes/s replayed from the journal",
        "",
        el.as_secs_f64(),
        rate(n, el)
    );
    w.shutdown().await;
    task.await.expect("writer task");
}

async fn run_all(s: Arc<dyn Store>, backend: &str, calls: usize) {
    through_writer(
        s.clone(),
        calls,
        512,
        &format!("{backend}: batched (≤512/tx)"),
    )
    .await;
    through_writer(
        s.clone(),
        calls / 10,
        1,
        &format!("{backend}: one write per tx"),
    )
    .await;
    journal_then_replay(s.clone(), calls / 2, &format!("{backend}: journal")).await;
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let calls: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let s = store::open(&format!("sqlite://{}/bench.db", dir.path().display()))
        .await
        .expect("sqlite");
    run_all(s.clone(), "sqlite", calls).await;
    s.close().await;

    let Ok(base) = std::env::var("SWITCHBOARD_TEST_PG") else {
        println!("postgres: skipped (SWITCHBOARD_TEST_PG is unset)");
        return;
    };
    let name = format!("sbbench_w_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&base).await.expect("pg admin");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create db");
    let i = base
        .rfind('/')
        .expect("SWITCHBOARD_TEST_PG ends with /DBNAME");
    let s = store::open(&format!("{}/{name}", &base[..i]))
        .await
        .expect("postgres");
    run_all(s.clone(), "postgres", calls).await;
    s.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("drop db");
}
