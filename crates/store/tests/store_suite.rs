//! One store test suite, run against SQLite and PostgreSQL.
//!
//! PostgreSQL: set `SWITCHBOARD_TEST_PG` to a server URL
//! (`postgres://postgres:postgres@127.0.0.1:5432/postgres`); each run creates
//! and drops its own database. `scripts/test` sets it; the test fails loudly
//! without it so a CI run cannot skip the backend by accident.

use domain::*;
use sqlx::Connection;
use std::sync::Arc;
use store::*;

#[path = "store_suite/campaigns.rs"]
mod campaigns;
#[path = "store_suite/customers.rs"]
mod customers;
#[path = "store_suite/dial.rs"]
mod dial;
#[path = "store_suite/directory.rs"]
mod directory;
#[path = "store_suite/incidents.rs"]
mod incidents;
#[path = "store_suite/journal.rs"]
mod journal;
#[path = "store_suite/kb.rs"]
mod kb;
#[path = "store_suite/messaging.rs"]
mod messaging;
#[path = "store_suite/positions.rs"]
mod positions;
#[path = "store_suite/users.rs"]
mod users;

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_764_450_000_000 + ms)
}

fn phone(s: &str) -> PhoneNumber {
    phone::normalize_e164(s, Some("BJ")).unwrap()
}

fn customer(name: &str, tel: &str) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        phones: vec![phone(tel)],
        segment: Segment::Vip,
        language: Some("fr".into()),
        ..NewCustomer::default()
    }
}

async fn suite(s: Arc<dyn Store>) {
    customers::customers(&*s).await;
    directory::queues_agents_dispositions(&*s).await;
    journal::interactions_events_timeline(&*s).await;
    users::users_sessions(&*s).await;
    messaging::outbox(&*s).await;
    directory::meta(&*s).await;
    directory::admin_edits(&*s).await;
    journal::last_agent_states(&*s).await;
    users::chat(&*s).await;
    s.ping().await.unwrap();
    // After `outbox`: reads the survey row it queued.
    messaging::messaging(&*s).await;
    campaigns::campaigns(&*s).await;
    dial::dial_campaigns(&*s).await;
    positions::positions(&*s).await;
    incidents::incidents(&*s).await;
    kb::knowledge_base(&*s).await;
}

#[tokio::test]
async fn sqlite_suite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let s = store::open(&url).await.unwrap();
    assert_eq!(s.backend(), "sqlite");
    suite(s.clone()).await;
    s.close().await;
    // Reopening applies no migration twice and keeps the data.
    let s = store::open(&url).await.unwrap();
    assert!(s.count_customers().await.unwrap() > 0);
}

#[tokio::test]
async fn postgres_suite() {
    let base = std::env::var("SWITCHBOARD_TEST_PG").expect(
        "SWITCHBOARD_TEST_PG is not set: point it at a PostgreSQL server (scripts/test does this)",
    );
    let name = format!(
        "sbtest_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = match base.rfind('/') {
        Some(i)
            if base[..i].contains('@') || base[..i].ends_with(':') || base[..i].contains("//") =>
        {
            format!("{}/{name}", &base[..i])
        }
        _ => panic!("SWITCHBOARD_TEST_PG must end with /DBNAME"),
    };
    let s = store::open(&url).await.unwrap();
    assert_eq!(s.backend(), "postgres");
    suite(s.clone()).await;
    s.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
}
