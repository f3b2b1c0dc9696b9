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
