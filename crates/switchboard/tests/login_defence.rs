//! Brute-force defence on `POST /api/v1/auth/login` (issue 18), over real
//! HTTP: 20 wrong passwords in a row meet the delay, then the lockout; the
//! right password is refused while locked; everything is in the audit trail.
//! The limiter's timing itself is tested in virtual time in `iam::limiter`.

mod common;

use serde_json::json;
use store::{AuditAction, AuditFilter};

async fn start(limiter: iam::limiter::LimiterConfig) -> common::TestServer {
    common::start_with(false, |s| s.auth.limiter = limiter).await
}

async fn attempt(s: &common::TestServer, password: &str) -> (u16, String) {
    let r = s
        .http
        .post(s.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    (
        status,
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn audit(s: &common::TestServer, action: AuditAction) -> Vec<store::AuditEntry> {
    let url = format!("sqlite://{}/switchboard.db", s.dir.path().display());
    let st = store::open(&url).await.unwrap();
    let v = st
        .list_audit(&AuditFilter {
            action: Some(action),
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    st.close().await;
    v
}

#[tokio::test]
async fn twenty_wrong_passwords_lock_the_account() {
    // No delay, to reach the lockout over real HTTP without waiting.
    let s = start(iam::limiter::LimiterConfig {
        base_delay_ms: 0,
        ..Default::default()
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..20 {
        statuses.push(attempt(&s, &format!("wrong-{i}")).await.0);
    }
    assert_eq!(statuses[..10], [401; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [429; 10], "{statuses:?}");
    let right = s.password("admin");
    let (status, msg) = attempt(&s, &right).await;
    assert_eq!(status, 429, "the right password is refused while locked");
    assert!(msg.contains("retry in 9"), "{msg}"); // ~900 s left of 15 min

    let failed = audit(&s, AuditAction::LoginFailed).await;
    assert_eq!(failed.len(), 21);
    assert!(
        failed
            .iter()
            .all(|e| e.target == "login:admin" && e.source.as_deref() == Some("127.0.0.1"))
    );
    assert_eq!(
        failed
            .iter()
            .filter(|e| e
                .after
                .as_deref()
                .is_some_and(|a| a.contains("too_many_attempts")))
            .count(),
        11
    );
    let locks = audit(&s, AuditAction::Lockout).await;
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].target, "login:admin");
    assert!(
        locks[0]
            .after
            .as_deref()
            .unwrap()
            .contains("\"failures\":10")
    );
    assert!(audit(&s, AuditAction::Login).await.is_empty());
    s.shutdown().await;
}

#[tokio::test]
async fn failures_impose_a_delay_and_success_is_audited() {
    let s = start(iam::limiter::LimiterConfig {
        base_delay_ms: 600_000,
        ..Default::default()
    })
    .await;
    // A good login first: audited with the user as actor.
    let right = s.password("admin");
    assert_eq!(attempt(&s, &right).await.0, 200);
    let logins = audit(&s, AuditAction::Login).await;
    assert_eq!(logins.len(), 1);
    assert!(logins[0].actor.is_some());

    let mut statuses = Vec::new();
    let mut last = String::new();
    for i in 0..20 {
        let (st, msg) = attempt(&s, &format!("wrong-{i}")).await;
        statuses.push(st);
        last = msg;
    }
    // Three free failures, the fourth starts a wait (capped at max_delay_ms, 60 s).
    assert_eq!(statuses[..4], [401; 4], "{statuses:?}");
    assert_eq!(statuses[4..], [429; 16], "{statuses:?}");
    assert!(
        last.contains("retry in 60 s") || last.contains("retry in 59 s"),
        "{last}"
    );
    assert!(
        audit(&s, AuditAction::Lockout).await.is_empty(),
        "a delay is not a lockout"
    );
    s.shutdown().await;
}
