//! The HTTP API end to end over real HTTP, on SQLite and on PostgreSQL.

#[path = "api/admin_edit.rs"]
mod admin_edit;
mod common;

use common::TestServer;
use serde_json::{Value, json};

async fn get(s: &TestServer, token: &str, path: &str) -> (u16, Value) {
    let r = s
        .http
        .get(s.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn send(
    s: &TestServer,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let r = s
        .http
        .request(method, s.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no error code>")
}

async fn whole_api(s: TestServer) {
    // Open routes.
    assert_eq!(
        s.http
            .get(s.url("/health"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(
        s.http.get(s.url("/ready")).send().await.unwrap().status(),
        200
    );

    // Everything else needs a session, with the error shape.
    let r = s.http.get(s.url("/api/v1/customers")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(code(&r.json().await.unwrap()), "unauthenticated");
    let (st, v) = get(&s, &"ab".repeat(32), "/api/v1/customers").await;
    assert_eq!((st, code(&v)), (401, "unauthenticated"));

    // Wrong password and unknown user: the same answer.
    let bad = |u: &str| json!({"username": u, "password": "wrong-password"});
    let r1 = s
        .http
        .post(s.url("/api/v1/auth/login"))
        .json(&bad("amina"))
        .send()
        .await
        .unwrap();
    let r2 = s
        .http
        .post(s.url("/api/v1/auth/login"))
        .json(&bad("nobody"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r1.status(), r2.status()),
        (
            reqwest::StatusCode::UNAUTHORIZED,
            reqwest::StatusCode::UNAUTHORIZED
        )
    );
    assert_eq!(r1.text().await.unwrap(), r2.text().await.unwrap());

    let agent = s.login("amina").await;
    let sup = s.login("supervisor").await;
    let admin = s.login("admin").await;
    let (_, me) = get(&s, &agent, "/api/v1/auth/me").await;
    assert_eq!(
        (me["username"].as_str(), me["role"].as_str()),
        (Some("amina"), Some("agent"))
    );
    assert!(
        me.get("password_hash").is_none(),
        "hashes never leave the server"
    );

    // The demo: 50 customers, 3 queues, 4 agents, a timeline for customer 1.
    let (_, all) = get(&s, &agent, "/api/v1/customers?limit=500").await;
    assert_eq!(all.as_array().unwrap().len(), 50);
    let (_, queues) = get(&s, &agent, "/api/v1/queues").await;
    let names: Vec<&str> = queues
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["general", "vip", "business"]);
    let (st, tl) = get(&s, &agent, "/api/v1/customers/1/timeline").await;
    assert_eq!(st, 200);
    let items = tl["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "a call and an SMS survey");
    assert_eq!(items[0]["interaction"]["channel"], "sms", "newest first");
    assert_eq!(items[1]["interaction"]["channel"], "voice");
    assert_eq!(items[1]["interaction"]["disposition"], "resolved");
    let kinds: Vec<&str> = items[1]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"interaction_created"));
    assert!(kinds.contains(&"answered") && kinds.contains(&"disposition_set"));
    let (_, page2) = get(&s, &agent, "/api/v1/customers/1/timeline?limit=1&offset=1").await;
    assert_eq!(page2["items"][0]["interaction"]["channel"], "voice");

    // Least privilege.
    assert_eq!(get(&s, &agent, "/api/v1/users").await.0, 403);
    assert_eq!(get(&s, &agent, "/api/v1/events").await.0, 403);
    assert_eq!(get(&s, &agent, "/api/v1/interactions").await.0, 403);
    assert_eq!(
        get(&s, &agent, "/api/v1/interactions?customer_id=1")
            .await
            .0,
        200
    );
    assert_eq!(
        send(
            &s,
            reqwest::Method::DELETE,
            &agent,
            "/api/v1/customers/2",
            &json!({})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        send(
            &s,
            reqwest::Method::POST,
            &sup,
            "/api/v1/queues",
            &json!({"name": "x"})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        get(&s, &sup, "/api/v1/events?kind=answered")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        10
    );

    // Create a customer with a national number: stored in E.164, found in any format.
    let (st, c) = send(&s, reqwest::Method::POST, &agent, "/api/v1/customers",
        &json!({"name": "Test Client", "phones": ["01 97 55 44 33"], "emails": ["Test@Example.BJ"], "segment": "business"})).await;
    assert_eq!(st, 201, "{c}");
    assert_eq!(c["phones"][0], "+2290197554433");
    assert_eq!(c["emails"][0], "test@example.bj");
    for q in [
        "%2B229%2001%2097%2055%2044%2033",
        "002290197554433",
        "0197554433",
    ] {
        let (st, found) = get(&s, &agent, &format!("/api/v1/customers/lookup?phone={q}")).await;
        assert_eq!((st, found["id"].clone()), (200, c["id"].clone()), "{q}");
    }
    let (st, found) = get(&s, &agent, "/api/v1/customers/lookup?email=test@example.bj").await;
    assert_eq!((st, found["name"].as_str()), (200, Some("Test Client")));
    assert_eq!(
        get(&s, &agent, "/api/v1/customers/lookup?phone=0197000099")
            .await
            .0,
        404
    );
    assert_eq!(
        code(&get(&s, &agent, "/api/v1/customers/lookup").await.1),
        "bad_request"
    );
    let (_, found) = get(&s, &agent, "/api/v1/customers?q=97%2055%2044").await;
    assert_eq!(
        found[0]["id"], c["id"],
        "a partial number typed with spaces matches its digits"
    );
    let (_, found) = get(&s, &agent, "/api/v1/customers?q=0197554433").await;
    assert_eq!(
        found[0]["id"], c["id"],
        "a national number finds the E.164 record"
    );

    // Bad input: each a clear 4xx in the error shape, nothing written.
    let before = get(&s, &agent, "/api/v1/customers?limit=500")
        .await
        .1
        .as_array()
        .unwrap()
        .len();
    let cases = [
        (
            json!({"name": "Dup", "phones": ["+2290197554433"]}),
            409,
            "conflict",
        ),
        (
            json!({"name": "Bad", "phones": ["12"]}),
            422,
            "invalid_phone",
        ),
        (
            json!({"name": "", "phones": ["0197000200"]}),
            422,
            "invalid",
        ),
        (
            json!({"name": "X", "emails": ["not-an-email"]}),
            422,
            "invalid",
        ),
        (json!({"name": "X", "nickname": "y"}), 400, "bad_request"),
        (json!({"name": 42}), 400, "bad_request"),
        (
            json!({"name": "X", "segment": "platinum"}),
            400,
            "bad_request",
        ),
    ];
    for (body, status, want) in cases {
        let (st, v) = send(
            &s,
            reqwest::Method::POST,
            &agent,
            "/api/v1/customers",
            &body,
        )
        .await;
        assert_eq!((st, code(&v)), (status, want), "{body}");
    }
    let r = s
        .http
        .post(s.url("/api/v1/customers"))
        .bearer_auth(&agent)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = s
        .http
        .post(s.url("/api/v1/customers"))
        .bearer_auth(&agent)
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let huge = json!({"name": "X", "attributes": {"blob": "a".repeat(100_000)}});
    let r = s
        .http
        .post(s.url("/api/v1/customers"))
        .bearer_auth(&agent)
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(code(&r.json().await.unwrap()), "payload_too_large");
    assert_eq!(get(&s, &agent, "/api/v1/customers/abc").await.0, 400);
    assert_eq!(get(&s, &agent, "/api/v1/customers/999999").await.0, 404);
    assert_eq!(get(&s, &agent, "/api/v1/nope").await.0, 404);
    let (st, v) = get(&s, &agent, "/api/v1/customers/abc/timeline").await;
    assert_eq!(
        (st, v["error"]["message"].as_str()),
        (400, Some("bad path parameter: ids are integers"))
    );
    let r = s
        .http
        .get(s.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(code(&r.json().await.unwrap()), "method_not_allowed");
    let after = get(&s, &agent, "/api/v1/customers?limit=500")
        .await
        .1
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, before);

    // Patch.
    let id = c["id"].as_i64().unwrap();
    let (st, p) = send(
        &s,
        reqwest::Method::PATCH,
        &agent,
        &format!("/api/v1/customers/{id}"),
        &json!({"language": "wo", "segment": "vip"}),
    )
    .await;
    assert_eq!(
        (st, p["language"].as_str(), p["segment"].as_str()),
        (200, Some("wo"), Some("vip"))
    );
    assert_eq!(p["phones"][0], "+2290197554433", "untouched fields stay");

    // Admin: queues validated, users created, new user logs in.
    let (st, v) = send(
        &s,
        reqwest::Method::POST,
        &admin,
        "/api/v1/queues",
        &json!({"name": "billing", "required_skills": [{"skill": "billing", "level": 12}]}),
    )
    .await;
    assert_eq!((st, code(&v)), (422, "invalid"));
    // The API holds queues to the admin form's rules (one NewQueue::validate):
    // a ring time-out the form refuses is refused here too, with its message.
    let (st, v) = send(
        &s,
        reqwest::Method::POST,
        &admin,
        "/api/v1/queues",
        &json!({"name": "billing", "ring_timeout_s": 601}),
    )
    .await;
    assert_eq!((st, code(&v)), (422, "invalid"));
    assert!(
        v.to_string()
            .contains("ring_timeout_s: a whole number from 1 to 600"),
        "{v}"
    );
    let (st, q) = send(&s, reqwest::Method::POST, &admin, "/api/v1/queues",
        &json!({"name": "billing", "strategy": "ring_all", "required_skills": [{"skill": "billing", "level": 4}]})).await;
    assert_eq!(
        (st, q["strategy"].as_str(), q["wrap_up_s"].as_i64()),
        (201, Some("ring_all"), Some(30))
    );
    let (st, _) = send(
        &s,
        reqwest::Method::POST,
        &admin,
        "/api/v1/users",
        &json!({"username": "nina", "password": "short", "role": "agent"}),
    )
    .await;
    assert_eq!(st, 422);
    let (st, v) = send(
        &s,
        reqwest::Method::POST,
        &admin,
        "/api/v1/users",
        &json!({"username": "nina", "password": "long enough pw", "role": "agent"}),
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (422, "invalid"),
        "an agent user needs an agent record"
    );
    let (st, _) = send(
        &s,
        reqwest::Method::POST,
        &admin,
        "/api/v1/users",
        &json!({"username": "nina", "password": "long enough pw", "role": "supervisor"}),
    )
    .await;
    assert_eq!(st, 201);
    let r = s
        .http
        .post(s.url("/api/v1/auth/login"))
        .json(&json!({"username": "nina", "password": "long enough pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Interactions through the API write their event.
    let (st, i) = send(&s, reqwest::Method::POST, &sup, "/api/v1/interactions",
        &json!({"channel": "whatsapp", "direction": "inbound", "customer_id": id, "started_at": "2026-11-29T10:00:00Z"})).await;
    assert_eq!(st, 201, "{i}");
    let (_, evs) = get(
        &s,
        &agent,
        &format!("/api/v1/interactions/{}/events", i["id"]),
    )
    .await;
    assert_eq!(
        evs[0]["kind"],
        json!({"type": "interaction_created", "channel": "whatsapp", "direction": "inbound"})
    );
    let (st, v) = send(&s, reqwest::Method::POST, &sup, "/api/v1/interactions",
        &json!({"channel": "voice", "direction": "inbound", "customer_id": 999999, "started_at": 0})).await;
    assert_eq!((st, code(&v)), (422, "invalid"));

    // OpenAPI and metrics.
    let doc: Value = s
        .http
        .get(s.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/customers/{id}/timeline"]["get"].is_object());
    assert!(doc["components"]["schemas"]["Customer"].is_object());
    let params = doc["paths"]["/api/v1/customers"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert!(
        params.iter().all(|p| p["in"] == "query"),
        "filters are query parameters: {params:?}"
    );
    let params = doc["paths"]["/api/v1/customers/{id}/timeline"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let ins: Vec<(&str, &str)> = params
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ins,
        vec![("id", "path"), ("limit", "query"), ("offset", "query")]
    );
    let m = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("http_requests_total"), "{m}");

    // Logout ends the session.
    assert_eq!(
        send(
            &s,
            reqwest::Method::POST,
            &agent,
            "/api/v1/auth/logout",
            &json!({})
        )
        .await
        .0,
        204
    );
    assert_eq!(get(&s, &agent, "/api/v1/auth/me").await.0, 401);

    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_on_sqlite() {
    whole_api(common::start(false).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_on_postgres() {
    whole_api(common::start(true).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_edits_on_sqlite() {
    admin_edit::admin_edits(common::start(false).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_edits_on_postgres() {
    admin_edit::admin_edits(common::start(true).await).await;
}
