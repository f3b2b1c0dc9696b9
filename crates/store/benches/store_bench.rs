//! Store benchmark (a bench binary that prints its figures; not a test).
//!
//! `cargo bench -p store` measures, on a fresh SQLite file (and on PostgreSQL
//! too when `SWITCHBOARD_TEST_PG` names a server):
//! - event append throughput, batched (1,000 events per transaction) and one
//!   event per transaction;
//! - customer lookup by phone number with `BENCH_CUSTOMERS` customers
//!   (default 1,000,000): p50/p99/max over 100,000 random lookups.
//!
//! Targets (issue #2): ≥ 50,000 events/s batched on SQLite; lookup p99 ≤ 1 ms.

use domain::{EventKind, InteractionId, NewEvent, PhoneNumber, Segment, Timestamp};
use sqlx::Connection;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{Identity, NewCustomer, Store};

fn phone(i: u64) -> PhoneNumber {
    PhoneNumber::try_from(format!("+22901{:08}", i)).expect("valid E.164")
}

async fn bench_events(s: &dyn Store, label: &str) {
    let t0 = Timestamp::from_millis(1_764_450_000_000);
    let batch: Vec<NewEvent> = (0..1000)
        .map(|i| {
            NewEvent::new(
                t0.add_millis(i),
                EventKind::Answered {
                    queue_id: None,
                    waited_ms: i,
                },
            )
            .with_interaction(InteractionId(i % 97))
        })
        .collect();
    let n_batches = 200;
    let start = Instant::now();
    for _ in 0..n_batches {
        s.append_events(&batch).await.expect("append");
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{label}: append batched (1000/tx): {:>9.0} events/s ({} events in {:.2} s)",
        (n_batches * batch.len()) as f64 / secs,
        n_batches * batch.len(),
        secs
    );
    let singles = 2000;
    let start = Instant::now();
    for e in batch.iter().cycle().take(singles) {
        s.append_events(std::slice::from_ref(e))
            .await
            .expect("append");
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{label}: append single (1/tx):     {:>9.0} events/s",
        singles as f64 / secs
    );
}

async fn bench_lookup(s: &dyn Store, label: &str, customers: u64) {
    let t0 = Timestamp::from_millis(1_764_450_000_000);
    let start = Instant::now();
    let chunk = 5000;
    let mut i = 0;
    while i < customers {
        let rows: Vec<NewCustomer> = (i..(i + chunk).min(customers))
            .map(|k| NewCustomer {
                name: format!("Customer {k}"),
                phones: vec![phone(k)],
                segment: if k % 10 == 0 {
                    Segment::Vip
                } else {
                    Segment::Mass
                },
                language: Some("fr".into()),
                ..NewCustomer::default()
            })
            .collect();
        for r in s.import_customers(&rows, t0).await.expect("import") {
            r.expect("row");
        }
        i += chunk;
    }
    println!(
        "{label}: loaded {customers} customers in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    // xorshift: a fixed, cheap pseudo-random sequence of existing numbers.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let n = 100_000;
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let k = x % customers;
        let t = Instant::now();
        let c = s
            .find_customer_by_identity(&Identity::Phone(phone(k)))
            .await
            .expect("lookup");
        lat.push(t.elapsed());
        assert!(c.is_some());
    }
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{label}: lookup by phone ({customers} customers, {n} lookups): p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        us(pct(0.50)),
        us(pct(0.99)),
        us(lat[lat.len() - 1])
    );
}

async fn run(s: Arc<dyn Store>, label: &str, customers: u64) {
    bench_events(&*s, label).await;
    bench_lookup(&*s, label, customers).await;
    s.close().await;
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing: skip then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let customers: u64 = std::env::var("BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    run(
        store::open(&url).await.expect("open sqlite"),
        "sqlite",
        customers,
    )
    .await;

    if let Ok(base) = std::env::var("SWITCHBOARD_TEST_PG") {
        let name = format!("sbbench_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&base)
            .await
            .expect("connect pg");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create db");
        let i = base.rfind('/').expect("URL ends with /DB");
        let url = format!("{}/{name}", &base[..i]);
        run(
            store::open(&url).await.expect("open pg"),
            "postgres",
            customers,
        )
        .await;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("drop db");
    }
}
