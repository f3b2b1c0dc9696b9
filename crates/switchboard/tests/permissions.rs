//! Permissions through types (issue 18): `GET /interactions/{id}/recording`
//! takes a `Can<perm::RecordingsPlay>` witness; supervisors get through to
//! the handler (404: no recording), agents and admins are refused (403)
//! before it runs.

mod common;

use serde_json::json;

#[tokio::test]
async fn recording_needs_recordings_play() {
    let s = common::start(false).await;
    let sup = s.login("supervisor").await;
    let admin = s.login("admin").await;
    let agent = s.login("amina").await;
    let r = s
        .http
        .post(s.url("/api/v1/interactions"))
        .bearer_auth(&sup)
        .json(&json!({"channel": "voice", "direction": "inbound", "started_at": "2026-11-29T10:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let i: serde_json::Value = r.json().await.unwrap();
    let path = format!("/api/v1/interactions/{}/recording", i["id"]);
    let status = |t: String| {
        let req = s.http.get(s.url(&path)).bearer_auth(t);
        async move { req.send().await.unwrap() }
    };
    assert_eq!(
        status(sup.clone()).await.status(),
        404,
        "supervisor reaches the handler"
    );
    for (who, t) in [("agent", agent), ("admin", admin)] {
        let r = status(t).await;
        assert_eq!(r.status(), 403, "{who}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("recordings.play"),
            "{body}"
        );
    }
    let r = s.http.get(s.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    s.shutdown().await;
}

/// User lifecycle through the API lands in the audit trail with before/after.
#[tokio::test]
async fn user_lifecycle_is_audited() {
    let s = common::start(false).await;
    let admin = s.login("admin").await;
    let r = s
        .http
        .post(s.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({"username": "zoe", "password": "a long enough passphrase", "role": "supervisor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    for (body, _) in [
        (json!({"role": "admin"}), "role"),
        (json!({"role": "admin", "disabled": true}), "suspend"),
    ] {
        let r = s
            .http
            .put(s.url(&format!("/api/v1/users/{id}")))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let url = format!("sqlite://{}/switchboard.db", s.dir.path().display());
    let st = store::open(&url).await.unwrap();
    let trail = st
        .list_audit(&store::AuditFilter {
            target: Some(format!("user:{id}")),
            ..Default::default()
        })
        .await
        .unwrap();
    st.close().await;
    let actions: Vec<&str> = trail.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["user_created", "role_changed", "user_suspended"]);
    assert!(
        trail[1]
            .before
            .as_deref()
            .unwrap()
            .contains("\"role\":\"supervisor\"")
    );
    assert!(
        trail[1]
            .after
            .as_deref()
            .unwrap()
            .contains("\"role\":\"admin\"")
    );
    assert!(
        trail[0]
            .after
            .as_deref()
            .unwrap()
            .contains("\"disabled\":true")
    );
    assert!(
        trail
            .iter()
            .all(|e| e.source.as_deref() == Some("127.0.0.1") && e.actor.is_some())
    );
    s.shutdown().await;
}
