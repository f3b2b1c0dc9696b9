//! The audit trail, run against SQLite and PostgreSQL
//! (`SWITCHBOARD_TEST_PG` as for `store_suite.rs`).

mod support;

use domain::{Timestamp, UserId};
use iam::audit::{Checkpoint, VerifyError, hour_of, verify};
use sqlx::Connection;
use std::sync::Arc;
use store::*;

const T0: i64 = 1_764_450_000_000;

async fn suite(s: Arc<dyn Store>) {
    // 30 entries, one every 5 minutes, from several concurrent writers.
    let mut tasks = Vec::new();
    for w in 0..3i64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10i64 {
                let mut e = NewAuditEntry::new(
                    Timestamp::from_millis(T0 + (w * 10 + i) * 300_000),
                    Some(UserId(w + 1)),
                    AuditAction::DispositionEdited,
                    format!("interaction:{}", w * 10 + i),
                );
                e.source = Some("192.0.2.7".into());
                e.before = Some(serde_json::json!({"disposition": "sale", "notes": "x"}));
                e.after = Some(serde_json::json!({"disposition": "no_sale", "notes": "y"}));
                s.append_audit(&e).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let chain = s.audit_chain(0, 1000).await.unwrap();
    assert_eq!(chain.len(), 30);
    assert_eq!(
        chain.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=30).collect::<Vec<_>>()
    );
    assert_eq!(chain[0].prev_hash, Digest::default());
    assert_eq!(chain[1].prev_hash, chain[0].hash);
    assert_eq!(s.audit_chain(28, 10).await.unwrap().len(), 2);

    // Sign one checkpoint per hour of the entries' times.
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    // Entries of an hour are contiguous only if written in time order; the
    // concurrent writers interleave, so checkpoint the chain in seq order per
    // contiguous same-hour run instead (what the server does as it goes).
    let mut runs: Vec<Vec<AuditEntry>> = Vec::new();
    for e in &chain {
        match runs.last_mut() {
            Some(r) if hour_of(r[0].at_ms) == hour_of(e.at_ms) => r.push(e.clone()),
            _ => runs.push(vec![e.clone()]),
        }
    }
    let mut hours_seen = std::collections::BTreeSet::new();
    for r in &runs {
        // One checkpoint per hour: keep the first run of each hour only.
        if hours_seen.insert(hour_of(r[0].at_ms)) {
            s.add_audit_checkpoint(&Checkpoint::sign(&key, hour_of(r[0].at_ms), r).unwrap())
                .await
                .unwrap();
        }
    }
    let cps = s.audit_checkpoints().await.unwrap();
    assert_eq!(cps.len(), hours_seen.len());
    let report = verify(&chain, &cps, &key.verifying_key()).unwrap();
    assert_eq!(report.entries, 30);

    // Filters, newest first.
    let mine = s
        .list_audit(&AuditFilter {
            actor: Some(UserId(2)),
            limit: 5,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 5);
    assert!(mine.iter().all(|e| e.actor == Some(2)));
    assert!(mine.windows(2).all(|w| w[0].seq > w[1].seq));
    let one = s
        .list_audit(&AuditFilter {
            target: Some("interaction:13".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(
        one[0].before.as_deref(),
        Some(r#"{"disposition":"sale","notes":"x"}"#)
    );
    assert!(
        s.list_audit(&AuditFilter {
            action: Some(AuditAction::Login),
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .is_empty()
    );

    // A second checkpoint for the same hour is refused.
    assert!(matches!(
        s.add_audit_checkpoint(&cps[0]).await,
        Err(StoreError::Conflict(_))
    ));
}

/// The append-only trigger, then a tamperer who drops it and flips one byte.
async fn tamper_sqlite(url: &str) {
    let s = store::open(url).await.unwrap();
    for i in 0..10 {
        s.append_audit(&NewAuditEntry::new(
            Timestamp::from_millis(T0 + i),
            None,
            AuditAction::Login,
            format!("user{i}"),
        ))
        .await
        .unwrap();
    }
    s.close().await;
    let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
    let refused = sqlx::query("UPDATE audit_log SET target = 'userX' WHERE seq = 5")
        .execute(&mut c)
        .await;
    assert!(refused.is_err(), "the trigger refuses updates");
    assert!(
        sqlx::query("DELETE FROM audit_log WHERE seq = 5")
            .execute(&mut c)
            .await
            .is_err()
    );
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET target = 'uses5' WHERE seq = 6")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let s = store::open(url).await.unwrap();
    let chain = s.audit_chain(0, 100).await.unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    assert_eq!(
        verify(&chain, &[], &key.verifying_key()).unwrap_err(),
        VerifyError::BadEntry {
            seq: 6,
            reason: "its content does not match its hash".into()
        }
    );
    s.close().await;
}

#[tokio::test]
async fn sqlite_audit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let s = store::open(&url).await.unwrap();
    suite(s.clone()).await;
    s.close().await;
    let url2 = format!("sqlite://{}/t2.db", dir.path().display());
    tamper_sqlite(&url2).await;
}

#[tokio::test]
async fn postgres_audit() {
    let pg = support::FreshPg::create("sbaudit").await;
    let url = pg.url.clone();
    let s = store::open(&url).await.unwrap();
    suite(s.clone()).await;
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    assert!(
        sqlx::query("UPDATE audit_log SET target = 'x' WHERE seq = 5")
            .execute(&mut c)
            .await
            .is_err()
    );
    c.close().await.unwrap();
    s.close().await;
    pg.drop_db().await;
}
