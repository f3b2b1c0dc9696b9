//! `switchboard audit verify` as an operator runs it: a clean trail passes;
//! one byte altered in the middle (after dropping the append-only trigger,
//! as someone with database access could) is named; the signing key is
//! generated into the data dir at first start.

use domain::{Timestamp, UserId};
use sqlx::Connection;
use std::path::Path;
use std::process::Command;
use store::{AuditAction, NewAuditEntry};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");
const HOUR: i64 = 3_600_000;

fn verify(dir: &Path) -> (i32, String) {
    let out = Command::new(BIN)
        .current_dir(dir)
        .env_remove("SWITCHBOARD_DATABASE__URL")
        .env("SWITCHBOARD_DATA_DIR", dir.join("data"))
        .env("RUST_LOG", "warn")
        .args(["audit", "verify"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn verify_names_the_altered_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = format!("sqlite://{}/switchboard.db", data.display());
    let key = switchboard::security::load_key(&data.join("audit-ed25519.key"), true).unwrap();
    assert!(data.join("audit-ed25519.key").exists());
    // The same key is read back.
    let again = switchboard::security::load_key(&data.join("audit-ed25519.key"), false).unwrap();
    assert_eq!(key.verifying_key(), again.verifying_key());

    let s = store::open(&url).await.unwrap();
    let t0 = 1_764_450_000_000 / HOUR * HOUR;
    for i in 0..40i64 {
        let mut e = NewAuditEntry::new(
            Timestamp::from_millis(t0 + i * 6 * 60_000),
            Some(UserId(1 + i % 4)),
            AuditAction::RoleChanged,
            format!("user:{}", 100 + i),
        );
        e.before = Some(serde_json::json!({"roles": ["agent"]}));
        e.after = Some(serde_json::json!({"roles": ["agent", "team_leader"]}));
        s.append_audit(&e).await.unwrap();
    }
    // 40 entries, 6 minutes apart: 4 finished hours.
    let n = switchboard::security::checkpoint_due(&*s, &key, Timestamp::from_millis(t0 + 5 * HOUR))
        .await
        .unwrap();
    assert_eq!(n, 4);
    // Nothing more to sign on a second pass.
    assert_eq!(
        switchboard::security::checkpoint_due(&*s, &key, Timestamp::from_millis(t0 + 5 * HOUR))
            .await
            .unwrap(),
        0
    );
    s.close().await;

    let (code, out) = verify(dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("audit trail OK: 40 entries, 4 signed checkpoints, 0 entries"),
        "{out}"
    );

    // Alter one byte of entry 21's after-state.
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET after_state = replace(after_state, 'team_leader', 'team_leadeR') WHERE seq = 21")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let (code, out) = verify(dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("audit entry 21 is bad"), "{out}");
}
