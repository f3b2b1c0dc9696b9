//! The admin edit routes: PUT agents, users, dispositions, pause reasons,
//! POST a password reset (a module of `tests/api.rs`, run on both backends).

use super::{TestServer, get, send};
use reqwest::Method;
use serde_json::{Value, json};

/// The user named `name` in `GET /api/v1/users`.
async fn user(s: &TestServer, admin: &str, name: &str) -> Value {
    let (_, users) = get(s, admin, "/api/v1/users").await;
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no user {name}"))
}

pub async fn admin_edits(s: TestServer) {
    let admin = s.login("admin").await;
    let sup = s.login("supervisor").await;

    // Agents: a good profile is stored; bad fields are 422 naming the field;
    // only admins may edit.
    let profile = json!({
        "name": "Amina D.",
        "skills": [{"skill": "billing", "level": 9}, {"skill": "french", "level": 4}],
        "languages": ["fr", "wo"],
        "capacity": {"voice": 1, "chat": 4, "email": 2, "chat_during_voice": false}
    });
    let (st, a) = send(&s, Method::PUT, &admin, "/api/v1/agents/1", &profile).await;
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["name"], "Amina D.");
    assert_eq!(a["login"], "amina");
    assert_eq!(a["skills"][0], json!({"skill": "billing", "level": 9}));
    assert_eq!(a["capacity"]["chat"], 4);
    assert_eq!(get(&s, &admin, "/api/v1/agents/1").await.1, a);
    let mut bad = profile.clone();
    bad["skills"][0]["level"] = json!(11);
    let (st, e) = send(&s, Method::PUT, &admin, "/api/v1/agents/1", &bad).await;
    assert_eq!(st, 422);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("skills:"),
        "{e}"
    );
    let mut bad = profile.clone();
    bad["capacity"]["chat"] = json!(21);
    let (st, e) = send(&s, Method::PUT, &admin, "/api/v1/agents/1", &bad).await;
    assert_eq!(
        (st, e["error"]["message"].as_str().unwrap()),
        (422, "chat: a whole number from 0 to 20")
    );
    assert_eq!(
        send(&s, Method::PUT, &admin, "/api/v1/agents/9999", &profile)
            .await
            .0,
        404
    );
    assert_eq!(
        send(&s, Method::PUT, &sup, "/api/v1/agents/1", &profile)
            .await
            .0,
        403
    );

    // Users: change a role and link, disable (sessions end), not oneself.
    let amina = user(&s, &admin, "amina").await;
    let amina_token = s.login("amina").await;
    let path = format!("/api/v1/users/{}", amina["id"]);
    let (st, u) = send(
        &s,
        Method::PUT,
        &admin,
        &path,
        &json!({"role": "supervisor", "agent_id": null}),
    )
    .await;
    assert_eq!(st, 200, "{u}");
    assert_eq!(
        (
            u["role"].as_str(),
            u["agent_id"].is_null(),
            u["disabled"].as_bool()
        ),
        (Some("supervisor"), true, Some(false))
    );
    let (st, e) = send(&s, Method::PUT, &admin, &path, &json!({"role": "agent"})).await;
    assert_eq!(st, 422);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("agent_id:")
    );
    let (st, u) = send(
        &s,
        Method::PUT,
        &admin,
        &path,
        &json!({"role": "agent", "agent_id": 1, "disabled": true}),
    )
    .await;
    assert_eq!(
        (st, u["disabled"].as_bool(), u["agent_id"].as_i64()),
        (200, Some(true), Some(1))
    );
    assert_eq!(
        get(&s, &amina_token, "/api/v1/auth/me").await.0,
        401,
        "disabled: session ended"
    );
    let me = user(&s, &admin, "admin").await;
    let my_path = format!("/api/v1/users/{}", me["id"]);
    let (st, e) = send(
        &s,
        Method::PUT,
        &admin,
        &my_path,
        &json!({"role": "supervisor"}),
    )
    .await;
    assert_eq!(
        (st, e["error"]["message"].as_str().unwrap()),
        (422, "role: you cannot change your own role")
    );
    let (st, _) = send(
        &s,
        Method::PUT,
        &admin,
        &my_path,
        &json!({"role": "admin", "disabled": true}),
    )
    .await;
    assert_eq!(st, 422);
    assert_eq!(user(&s, &admin, "admin").await["disabled"], false);

    // Password reset: shown once, works for login, the old one does not.
    let supu = user(&s, &admin, "supervisor").await;
    let (st, pw) = send(
        &s,
        Method::POST,
        &admin,
        &format!("/api/v1/users/{}/password", supu["id"]),
        &json!({}),
    )
    .await;
    assert_eq!(st, 200, "{pw}");
    let new_pw = pw["password"].as_str().unwrap();
    assert_eq!(new_pw.len(), 14);
    assert_eq!(
        get(&s, &sup, "/api/v1/auth/me").await.0,
        401,
        "old sessions end"
    );
    let login = |p: String| {
        s.http
            .post(s.url("/api/v1/auth/login"))
            .json(&json!({"username": "supervisor", "password": p}))
            .send()
    };
    assert_eq!(login(new_pw.to_string()).await.unwrap().status(), 200);
    assert_eq!(login(s.password("supervisor")).await.unwrap().status(), 401);

    // Dispositions: rename, retire (kept in the list, flagged), bad label.
    let (_, disps) = get(&s, &admin, "/api/v1/dispositions").await;
    let d = disps
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "no_answer")
        .unwrap()
        .clone();
    let dpath = format!("/api/v1/dispositions/{}", d["id"]);
    let (st, got) = send(
        &s,
        Method::PUT,
        &admin,
        &dpath,
        &json!({"label": "No reply", "retired": true}),
    )
    .await;
    assert_eq!(st, 200, "{got}");
    assert_eq!(
        got,
        json!({"id": d["id"], "code": "no_answer", "label": "No reply", "retired": true})
    );
    let (_, disps) = get(&s, &admin, "/api/v1/dispositions").await;
    assert!(
        disps
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["code"] == "no_answer" && x["label"] == "No reply")
    );
    assert_eq!(
        send(&s, Method::PUT, &admin, &dpath, &json!({"label": " "}))
            .await
            .0,
        422
    );
    let (st, got) = send(&s, Method::PUT, &admin, &dpath, &json!({"retired": false})).await;
    assert_eq!((st, got["retired"].as_bool()), (200, Some(false)));

    // Pause reasons: the setting until an admin saves; then the new list.
    let (st, list) = get(&s, &admin, "/api/v1/pause-reasons").await;
    assert_eq!(
        (st, list),
        (200, json!(["break", "lunch", "training", "meeting"]))
    );
    let (st, e) = send(
        &s,
        Method::PUT,
        &admin,
        "/api/v1/pause-reasons",
        &json!(["break", "Bad Code"]),
    )
    .await;
    assert_eq!(st, 422, "{e}");
    assert_eq!(
        send(&s, Method::PUT, &admin, "/api/v1/pause-reasons", &json!([]))
            .await
            .0,
        422
    );
    let (st, list) = send(
        &s,
        Method::PUT,
        &admin,
        "/api/v1/pause-reasons",
        &json!(["break", "coaching", "break"]),
    )
    .await;
    assert_eq!((st, list), (200, json!(["break", "coaching"])));
    let (_, list) = get(&s, &admin, "/api/v1/pause-reasons").await;
    assert_eq!(list, json!(["break", "coaching"]));

    // The OpenAPI document lists the new routes.
    let (_, doc) = get(&s, &admin, "/api/v1/openapi.json").await;
    for p in [
        "/api/v1/agents/{id}",
        "/api/v1/users/{id}",
        "/api/v1/users/{id}/password",
        "/api/v1/dispositions/{id}",
        "/api/v1/pause-reasons",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} missing in OpenAPI");
    }
    assert!(doc["paths"]["/api/v1/agents/{id}"]["put"].is_object());
    s.shutdown().await;
}
