//! Sessions (issue 18) over real HTTP: list your own sessions and revoke
//! one, a password change ends the other sessions, and the idle timeout.
//! The idle/absolute decision itself is tested in virtual time in the store
//! suite (`users_sessions`); here only the wiring from `[auth]
//! session_idle_s` to the request guard.

mod common;

use serde_json::{Value, json};

async fn start(idle_s: u64) -> common::TestServer {
    common::start_with(false, |s| s.auth.session_idle_s = idle_s).await
}

async fn me(s: &common::TestServer, token: &str) -> u16 {
    s.http
        .get(s.url("/api/v1/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn sessions(s: &common::TestServer, token: &str) -> Vec<Value> {
    let r = s
        .http
        .get(s.url("/api/v1/auth/sessions"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Vec<Value>>().await.unwrap()
}

#[tokio::test]
async fn list_and_revoke_own_sessions() {
    let s = start(1800).await;
    let a = s.login("admin").await;
    let b = s.login("admin").await;
    let other = s.login("amina").await;
    let list = sessions(&s, &a).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let current: Vec<bool> = list
        .iter()
        .map(|x| x["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current.iter().filter(|c| **c).count(), 1);
    let b_id = list
        .iter()
        .find(|x| !x["current"].as_bool().unwrap())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(b_id.len(), 16);
    // Another user cannot revoke it.
    let r = s
        .http
        .delete(s.url(&format!("/api/v1/auth/sessions/{b_id}")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(me(&s, &b).await, 200);
    let r = s
        .http
        .delete(s.url(&format!("/api/v1/auth/sessions/{b_id}")))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(me(&s, &b).await, 401, "revoked session refused");
    assert_eq!(me(&s, &a).await, 200);
    assert_eq!(sessions(&s, &a).await.len(), 1);
    s.shutdown().await;
}

#[tokio::test]
async fn password_change_ends_the_other_sessions() {
    let s = start(1800).await;
    let old = s.password("admin");
    let a = s.login("admin").await;
    let b = s.login("admin").await;
    let change = |current: &str, new: &str| {
        s.http
            .post(s.url("/api/v1/auth/password"))
            .bearer_auth(&a)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    assert_eq!(
        change("wrong", "a new long passphrase")
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(change(&old, "short").await.unwrap().status(), 422);
    assert_eq!(me(&s, &b).await, 200, "failed changes end nothing");
    assert_eq!(
        change(&old, "a new long passphrase")
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(me(&s, &b).await, 401, "other session ended");
    assert_eq!(me(&s, &a).await, 200, "this session goes on");
    let login = |pw: &str| {
        s.http
            .post(s.url("/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": pw}))
            .send()
    };
    assert_eq!(login(&old).await.unwrap().status(), 401);
    assert_eq!(login("a new long passphrase").await.unwrap().status(), 200);
    s.shutdown().await;
}

#[tokio::test]
async fn idle_session_ends() {
    // session_idle_s = 1: the server reads the wall clock (crate::now), so
    // the test waits for that clock to pass the idle limit (bounded).
    let s = start(1).await;
    let token = s.login("admin").await;
    assert_eq!(me(&s, &token).await, 200);
    let used_at = std::time::SystemTime::now();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while used_at.elapsed().unwrap() < std::time::Duration::from_millis(1_200) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "clock did not advance"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(me(&s, &token).await, 401, "idle session refused");
    // A fresh session used within the limit stays alive.
    let token = s.login("admin").await;
    assert_eq!(me(&s, &token).await, 200);
    assert_eq!(me(&s, &token).await, 200);
    s.shutdown().await;
}
