//! TOTP second factor over real HTTP (issue 18): enrolment confirmed by a
//! real computed code, login needs a code, a used code is refused (replay),
//! a recovery code works once, everything audited.

mod common;

use serde_json::{Value, json};
use store::{AuditAction, AuditFilter};

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn totp_enrol_login_replay_recovery() {
    let s = common::start(false).await;
    let password = s.password("admin");
    let token = s.login("admin").await;
    let post = |path: &str, body: Value, tok: Option<String>| {
        let mut r = s.http.post(s.url(path)).json(&body);
        if let Some(t) = tok {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let r = post("/api/v1/auth/totp/enrol", json!({}), Some(token.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let enrol: Value = r.json().await.unwrap();
    let secret = iam::totp::secret_from_base32(enrol["secret"].as_str().unwrap()).unwrap();
    assert_eq!(secret.len(), 20);
    assert!(
        enrol["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Switchboard:admin?")
    );
    let p = iam::totp::Params::default();
    // Before confirmation, login needs no code.
    let login = |body: Value| post("/api/v1/auth/login", body, None);
    assert_eq!(
        login(json!({"username": "admin", "password": password}))
            .await
            .unwrap()
            .status(),
        200
    );
    // A wrong code does not confirm.
    let r = post(
        "/api/v1/auth/totp/confirm",
        json!({"code": "000000x"}),
        Some(token.clone()),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let t0 = now_s();
    let first = iam::totp::code_at(p, &secret, t0).unwrap();
    let r = post(
        "/api/v1/auth/totp/confirm",
        json!({"code": first}),
        Some(token.clone()),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let codes: Value = r.json().await.unwrap();
    let recovery: Vec<String> = codes["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);

    // Password alone no longer opens a session.
    let r = login(json!({"username": "admin", "password": password}))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "second_factor_required", "{body}");
    // The code used for confirmation is refused (replay).
    let r = login(json!({"username": "admin", "password": password, "totp_code": first}))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The next step's code (inside the one-step skew window) is accepted once.
    let next = iam::totp::code_at(p, &secret, t0 + 30).unwrap();
    let r = login(json!({"username": "admin", "password": password, "totp_code": next}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = login(json!({"username": "admin", "password": password, "totp_code": next}))
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "same code twice");
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("replayed"),
        "{body}"
    );
    // A recovery code works once.
    let rc = recovery[3].clone();
    let r = login(json!({"username": "admin", "password": password, "recovery_code": rc}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = login(json!({"username": "admin", "password": password, "recovery_code": rc}))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A right code with a wrong password gets nothing.
    let r = login(
        json!({"username": "admin", "password": "wrong password", "recovery_code": recovery[4]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 401);

    let url = format!("sqlite://{}/switchboard.db", s.dir.path().display());
    let st = store::open(&url).await.unwrap();
    let count = |a: AuditAction| {
        let st = &st;
        async move {
            st.list_audit(&AuditFilter {
                action: Some(a),
                ..Default::default()
            })
            .await
            .unwrap()
            .len()
        }
    };
    assert_eq!(count(AuditAction::SecondFactorChanged).await, 1);
    assert_eq!(count(AuditAction::SecondFactor).await, 2, "totp + recovery");
    assert_eq!(
        count(AuditAction::SecondFactorFailed).await,
        3,
        "replay, replay, used recovery"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn role_policy_requires_enrolment() {
    let s = common::start_with(false, |s| {
        s.auth.require_2fa_roles = vec![domain::Role::Admin]
    })
    .await;
    let get = |path: &str, tok: &str| s.http.get(s.url(path)).bearer_auth(tok).send();
    let admin = s.login("admin").await;
    let r = get("/api/v1/users", &admin).await.unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "second_factor_enrolment_required");
    assert_eq!(get("/api/v1/auth/me", &admin).await.unwrap().status(), 200);
    // Another role is not affected.
    let sup = s.login("supervisor").await;
    assert_eq!(
        get("/api/v1/auth/sessions", &sup).await.unwrap().status(),
        200
    );
    // After enrolment the admin gets through.
    let r = s
        .http
        .post(s.url("/api/v1/auth/totp/enrol"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let enrol: Value = r.json().await.unwrap();
    let secret = iam::totp::secret_from_base32(enrol["secret"].as_str().unwrap()).unwrap();
    let code = iam::totp::code_at(iam::totp::Params::default(), &secret, now_s()).unwrap();
    let r = s
        .http
        .post(s.url("/api/v1/auth/totp/confirm"))
        .bearer_auth(&admin)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(get("/api/v1/users", &admin).await.unwrap().status(), 200);
    s.shutdown().await;
}

/// Wrong TOTP codes sent with the right password count in the brute-force
/// limiter like wrong passwords: after `lockout_after` of them the account is
/// locked (429, audited) even for the right code, and a right code before
/// that does not reset a count that the wrong codes built.
#[tokio::test]
async fn wrong_totp_codes_count_as_failed_logins() {
    let s = common::start_with(false, |s| {
        s.auth.limiter.free_failures = 10;
        s.auth.limiter.lockout_after = 3;
    })
    .await;
    let password = s.password("admin");
    let token = s.login("admin").await;
    let r = s
        .http
        .post(s.url("/api/v1/auth/totp/enrol"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let enrol: Value = r.json().await.unwrap();
    let secret = iam::totp::secret_from_base32(enrol["secret"].as_str().unwrap()).unwrap();
    let p = iam::totp::Params::default();
    let t0 = now_s();
    let code = iam::totp::code_at(p, &secret, t0).unwrap();
    let r = s
        .http
        .post(s.url("/api/v1/auth/totp/confirm"))
        .bearer_auth(&token)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let login = |body: Value| s.http.post(s.url("/api/v1/auth/login")).json(&body).send();
    // A wrong code: the one that cannot be any step in the window.
    let wrong = (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| {
            (0..=2).all(|k| iam::totp::code_at(p, &secret, t0 - 30 + 30 * k).unwrap() != *c)
                && (0..=2).all(|k| iam::totp::code_at(p, &secret, t0 + 30 * k).unwrap() != *c)
        })
        .unwrap();
    // No code at all is a prompt, not a failure.
    for _ in 0..3 {
        let r = login(json!({"username": "admin", "password": password}))
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    for i in 0..3 {
        let r = login(json!({"username": "admin", "password": password, "totp_code": wrong}))
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "wrong code {i}");
    }
    let next = iam::totp::code_at(p, &secret, t0 + 30).unwrap();
    let r = login(json!({"username": "admin", "password": password, "totp_code": next}))
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "locked after 3 wrong codes");

    let url = format!("sqlite://{}/switchboard.db", s.dir.path().display());
    let st = store::open(&url).await.unwrap();
    let locks = st
        .list_audit(&AuditFilter {
            action: Some(AuditAction::Lockout),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert_eq!(locks[0].target, "login:admin");
    s.shutdown().await;
}

/// Enrol and confirm TOTP for `user` (token `tok`); returns the secret and
/// the confirmation time.
async fn enrol(s: &common::TestServer, tok: &str) -> (Vec<u8>, u64) {
    let r = s
        .http
        .post(s.url("/api/v1/auth/totp/enrol"))
        .bearer_auth(tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let enrol: Value = r.json().await.unwrap();
    let secret = iam::totp::secret_from_base32(enrol["secret"].as_str().unwrap()).unwrap();
    let t0 = now_s();
    let code = iam::totp::code_at(iam::totp::Params::default(), &secret, t0).unwrap();
    let r = s
        .http
        .post(s.url("/api/v1/auth/totp/confirm"))
        .bearer_auth(tok)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    (secret, t0)
}

/// A user removes their own TOTP with a fresh code (not the one already
/// used, not a wrong one); an admin removes another user's; a supervisor
/// may not; each removal audited with its actor.
#[tokio::test]
async fn totp_removal_by_self_and_by_admin() {
    let s = common::start(false).await;
    let p = iam::totp::Params::default();
    let admin = s.login("admin").await;
    let sup = s.login("supervisor").await;
    let sup_pw = s.password("supervisor");
    let (secret, t0) = enrol(&s, &sup).await;
    let remove = |tok: &str, code: String| {
        s.http
            .post(s.url("/api/v1/auth/totp/remove"))
            .bearer_auth(tok)
            .json(&json!({ "code": code }))
            .send()
    };
    // The confirmation code again (replay) and a malformed one are refused.
    let used = iam::totp::code_at(p, &secret, t0).unwrap();
    assert_eq!(remove(&sup, used).await.unwrap().status(), 422);
    assert_eq!(remove(&sup, "12345x".into()).await.unwrap().status(), 422);
    let login = |body: Value| s.http.post(s.url("/api/v1/auth/login")).json(&body).send();
    assert_eq!(
        login(json!({"username": "supervisor", "password": sup_pw}))
            .await
            .unwrap()
            .status(),
        401,
        "still needs a code"
    );
    let next = iam::totp::code_at(p, &secret, t0 + 30).unwrap();
    assert_eq!(remove(&sup, next).await.unwrap().status(), 204);
    assert_eq!(
        login(json!({"username": "supervisor", "password": sup_pw}))
            .await
            .unwrap()
            .status(),
        200,
        "password alone again"
    );
    assert_eq!(remove(&sup, "000000".into()).await.unwrap().status(), 404);

    // An admin removes the supervisor's new TOTP; the supervisor may not
    // remove the admin's.
    let (_, _) = enrol(&s, &sup).await;
    let sup_id = {
        let r = s
            .http
            .get(s.url("/api/v1/auth/me"))
            .bearer_auth(&sup)
            .send()
            .await
            .unwrap();
        r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    };
    let admin_id = {
        let r = s
            .http
            .get(s.url("/api/v1/auth/me"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    };
    let del = |tok: &str, id: i64| {
        s.http
            .delete(s.url(&format!("/api/v1/users/{id}/totp")))
            .bearer_auth(tok)
            .send()
    };
    assert_eq!(del(&sup, admin_id).await.unwrap().status(), 403);
    assert_eq!(del(&admin, sup_id).await.unwrap().status(), 204);
    assert_eq!(del(&admin, sup_id).await.unwrap().status(), 404);
    assert_eq!(del(&admin, 999_999).await.unwrap().status(), 404);
    assert_eq!(
        login(json!({"username": "supervisor", "password": sup_pw}))
            .await
            .unwrap()
            .status(),
        200
    );

    let url = format!("sqlite://{}/switchboard.db", s.dir.path().display());
    let st = store::open(&url).await.unwrap();
    let changed = st
        .list_audit(&AuditFilter {
            action: Some(AuditAction::SecondFactorChanged),
            ..Default::default()
        })
        .await
        .unwrap();
    let removals: Vec<(Option<i64>, String)> = changed
        .iter()
        .filter(|e| e.after.as_deref().is_some_and(|a| a.contains("removed")))
        .map(|e| (e.actor, e.target.clone()))
        .collect();
    let mut removals = removals;
    removals.sort();
    let mut expected = vec![
        (Some(sup_id), format!("user:{sup_id}")),
        (Some(admin_id), format!("user:{sup_id}")),
    ];
    expected.sort();
    assert_eq!(removals, expected);
    let failed = st
        .list_audit(&AuditFilter {
            action: Some(AuditAction::SecondFactorFailed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 2, "replayed and malformed removal codes");
    s.shutdown().await;
}
