//! Mobile agents over real HTTP (issue 22): an agent's browser posts
//! positions, supervisors read each agent's latest with the live ACD state
//! and a day's track (each read audited), agents check in at customers
//! (field visits). On SQLite and on PostgreSQL (`SWITCHBOARD_TEST_PG`), with
//! SIP and the engine on.

mod common;

use serde_json::{Value, json};

async fn call(
    s: &common::TestServer,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = s.http.request(method, s.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(s: &common::TestServer, token: &str, path: &str) -> (u16, Value) {
    call(s, reqwest::Method::GET, token, path, None).await
}

async fn post(s: &common::TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    call(s, reqwest::Method::POST, token, path, Some(body)).await
}

/// Today's date in Africa/Porto-Novo (UTC+01:00, no DST).
fn today_porto_novo() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    domain::Timestamp::from_millis(now + 3_600_000).to_string()[..10].to_string()
}

async fn positions(pg: bool) {
    let p = common::sip::platform_full(None, pg, |s| {
        s.site.time_zone = "Africa/Porto-Novo".into();
    })
    .await;
    let srv = &p.srv;
    let store = store::open(&p.settings.database_url()).await.unwrap();
    let amina = srv.login("amina").await;
    let koffi = srv.login("koffi").await;
    let sup = srv.login("supervisor").await;
    let agent_id = |login: &str| {
        let store = store.clone();
        let login = login.to_string();
        async move {
            store
                .list_agents()
                .await
                .unwrap()
                .into_iter()
                .find(|a| a.login == login)
                .unwrap()
                .id
                .0
        }
    };
    let (amina_id, koffi_id) = (agent_id("amina").await, agent_id("koffi").await);

    // An earlier position of amina's, 3 s ago (written straight to the store:
    // the API takes one per 2 s).
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    store
        .add_position(
            domain::AgentId(amina_id),
            store::GeoPoint {
                lat: 6.3703,
                lon: 2.3912,
                accuracy_m: 25.0,
            },
            domain::Timestamp::from_millis(now_ms - 3_000),
        )
        .await
        .unwrap();
    // Posting: an agent's own position, stored as received.
    let (st, first) = post(
        srv,
        &amina,
        "/api/v1/agent/position",
        json!({"lat": 6.3725, "lon": 2.3941, "accuracy_m": 8.0}),
    )
    .await;
    assert_eq!(st, 201, "{first}");
    assert_eq!(first["agent_id"], amina_id);
    assert_eq!(first["lat"], 6.3725);
    assert_eq!(first["accuracy_m"], 8.0);
    // Another one at once is refused: one per 2 s.
    let (st, e) = post(
        srv,
        &amina,
        "/api/v1/agent/position",
        json!({"lat": 6.3726, "lon": 2.3942, "accuracy_m": 8.0}),
    )
    .await;
    assert_eq!(st, 429, "{e}");
    assert_eq!(e["error"]["code"], "too_frequent");
    let (st, _) = post(
        srv,
        &koffi,
        "/api/v1/agent/position",
        json!({"lat": 9.3077, "lon": 2.3158, "accuracy_m": 40.0}),
    )
    .await;
    assert_eq!(st, 201);
    // Bad values: 422 naming the field; a user who is not an agent: 403.
    let (st, e) = post(
        srv,
        &amina,
        "/api/v1/agent/position",
        json!({"lat": 91.0, "lon": 2.0, "accuracy_m": 1.0}),
    )
    .await;
    assert_eq!(st, 422, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("lat"),
        "{e}"
    );
    let (st, _) = post(
        srv,
        &amina,
        "/api/v1/agent/position",
        json!({"lat": 6.0, "lon": 2.0, "accuracy_m": -3.0}),
    )
    .await;
    assert_eq!(st, 422);
    let (st, _) = post(
        srv,
        &amina,
        "/api/v1/agent/position",
        json!({"lat": 6.0, "lon": 2.0}),
    )
    .await;
    assert!(st == 400 || st == 422, "a missing field is refused: {st}");
    let (st, _) = post(
        srv,
        &sup,
        "/api/v1/agent/position",
        json!({"lat": 6.0, "lon": 2.0, "accuracy_m": 1.0}),
    )
    .await;
    assert_eq!(st, 403);
    let r = srv
        .http
        .post(srv.url("/api/v1/agent/position"))
        .json(&json!({"lat": 6.0, "lon": 2.0, "accuracy_m": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "no position without a session");

    // amina logs in to the ACD and is made ready; koffi stays logged out.
    let (st, e) = post(srv, &amina, "/api/v1/agent/login", json!({})).await;
    assert!(st == 200 || st == 204, "{st} {e}");
    let (st, e) = post(
        srv,
        &amina,
        "/api/v1/agent/state",
        json!({"state": "ready"}),
    )
    .await;
    assert!(st == 200 || st == 204, "{st} {e}");

    // The supervisors' view: the latest per agent, with the ACD state.
    let (st, list) = get(srv, &sup, "/api/v1/agents/positions").await;
    assert_eq!(st, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["agent_id"], amina_id);
    assert_eq!(list[0]["login"], "amina");
    assert_eq!(list[0]["lat"], 6.3725);
    assert_eq!(list[0]["lon"], 2.3941);
    assert_eq!(list[0]["accuracy_m"], 8.0);
    assert_eq!(list[0]["state"], "available");
    assert_eq!(list[1]["agent_id"], koffi_id);
    assert_eq!(list[1]["state"], "logged_out");
    // Agents may not see each other.
    let (st, _) = get(srv, &koffi, "/api/v1/agents/positions").await;
    assert_eq!(st, 403);

    // A day's track in the site's time zone.
    let today = today_porto_novo();
    let (st, track) = get(
        srv,
        &sup,
        &format!("/api/v1/agents/{amina_id}/track?date={today}"),
    )
    .await;
    assert_eq!(st, 200, "{track}");
    assert_eq!(track["date"], today.as_str());
    assert_eq!(track["time_zone"], "Africa/Porto-Novo");
    let pts: Vec<(f64, f64)> = track["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["lat"].as_f64().unwrap(), p["lon"].as_f64().unwrap()))
        .collect();
    assert_eq!(pts, vec![(6.3703, 2.3912), (6.3725, 2.3941)]);
    // Local midnight in UTC+01:00 is 23:00 UTC the day before.
    let from = domain::Timestamp::parse_rfc3339(track["from"].as_str().unwrap()).unwrap();
    let to = domain::Timestamp::parse_rfc3339(track["to"].as_str().unwrap()).unwrap();
    assert_eq!(to.as_millis() - from.as_millis(), 86_400_000);
    assert_eq!(from.as_millis().rem_euclid(86_400_000), 23 * 3_600_000);
    let (st, other) = get(
        srv,
        &sup,
        &format!("/api/v1/agents/{amina_id}/track?date=2020-01-01"),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(other["points"], json!([]));
    let (st, _) = get(
        srv,
        &sup,
        &format!("/api/v1/agents/{amina_id}/track?date=01/12/2026"),
    )
    .await;
    assert_eq!(st, 400);
    let (st, _) = get(srv, &sup, "/api/v1/agents/99999/track").await;
    assert_eq!(st, 404);
    let (st, _) = get(srv, &amina, &format!("/api/v1/agents/{amina_id}/track")).await;
    assert_eq!(st, 403);

    // Every read is in the audit trail, by the supervisor.
    let sup_user = store
        .get_user_by_username("supervisor")
        .await
        .unwrap()
        .unwrap();
    let trail = store
        .list_audit(&store::AuditFilter {
            action: Some(store::AuditAction::PositionsViewed),
            ..Default::default()
        })
        .await
        .unwrap();
    // Newest first.
    let targets: Vec<&str> = trail.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(
        targets,
        vec![
            format!("agent:{amina_id}:track:2020-01-01"),
            format!("agent:{amina_id}:track:{today}"),
            "agents:positions".to_string(),
        ],
        "{trail:?}"
    );
    assert!(trail.iter().all(|e| e.actor == Some(sup_user.id.0)));

    // Field visits: an agent checks in at a customer with position and notes.
    let (st, v) = post(
        srv,
        &amina,
        "/api/v1/customers/3/visits",
        json!({"notes": "Compteur relevé, client satisfait", "lat": 6.3725, "lon": 2.3941, "accuracy_m": 8.0}),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["agent_id"], amina_id);
    assert_eq!(v["customer_id"], 3);
    assert_eq!(v["point"]["lat"], 6.3725);
    let (st, v2) = post(
        srv,
        &koffi,
        "/api/v1/customers/3/visits",
        json!({"notes": "sans position"}),
    )
    .await;
    assert_eq!(st, 201, "{v2}");
    assert_eq!(v2["point"], Value::Null);
    let (st, list) = get(srv, &sup, "/api/v1/customers/3/visits").await;
    assert_eq!(st, 200);
    let notes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["notes"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        vec!["sans position", "Compteur relevé, client satisfait"]
    );
    // The customer's timeline carries them too.
    let (st, tl) = get(srv, &amina, "/api/v1/customers/3/timeline").await;
    assert_eq!(st, 200);
    let tl_notes: Vec<&str> = tl["field_visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["notes"].as_str().unwrap())
        .collect();
    assert_eq!(tl_notes, notes);
    let (st, e) = post(
        srv,
        &amina,
        "/api/v1/customers/3/visits",
        json!({"lat": 6.0}),
    )
    .await;
    assert_eq!(st, 422, "a partial position: {e}");
    let (st, _) = post(
        srv,
        &amina,
        "/api/v1/customers/99999/visits",
        json!({"notes": "x"}),
    )
    .await;
    assert_eq!(st, 404);
    let (st, _) = post(
        srv,
        &sup,
        "/api/v1/customers/3/visits",
        json!({"notes": "x"}),
    )
    .await;
    assert_eq!(st, 403);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_on_sqlite() {
    positions(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_on_postgres() {
    positions(true).await;
}

/// `[positions] enabled = false`: nothing is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_turned_off() {
    let s = common::start_with(false, |s| s.positions.enabled = false).await;
    let amina = s.login("amina").await;
    let (st, e) = post(
        &s,
        &amina,
        "/api/v1/agent/position",
        json!({"lat": 6.0, "lon": 2.0, "accuracy_m": 1.0}),
    )
    .await;
    assert_eq!(st, 409, "{e}");
    assert_eq!(e["error"]["code"], "positions_off");
    // The routes are described in the OpenAPI document.
    let (st, doc) = get(&s, &amina, "/api/v1/openapi.json").await;
    assert_eq!(st, 200);
    for path in [
        "/api/v1/agent/position",
        "/api/v1/agents/positions",
        "/api/v1/agents/{id}/track",
        "/api/v1/customers/{id}/visits",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    s.shutdown().await;
}

/// `/map`: offline background by default; a configured tile server is used
/// and its origin (subdomains as `*`) allowed in the page's CSP `img-src`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_page_tiles_and_csp() {
    let page = |s: &common::TestServer, token: String| {
        let req = s.http.get(s.url("/map?lang=en")).bearer_auth(token);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let csp = r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_string();
            (status, csp, r.text().await.unwrap())
        }
    };
    let s = common::start(false).await;
    let (st, csp, body) = page(&s, s.login("supervisor").await).await;
    assert_eq!(st, 200);
    assert!(csp.contains("img-src 'self' data:;"), "{csp}");
    assert!(body.contains(r#"data-tile-url="""#), "offline by default");
    assert!(body.contains(r#"<p class="muted">Offline background"#));
    // Agents get the forbidden page.
    let (st, _, _) = page(&s, s.login("amina").await).await;
    assert_eq!(st, 403);
    s.shutdown().await;

    let s = common::start_with(false, |s| {
        s.map.tile_url = "https://{s}.tile.example.org/{z}/{x}/{y}.png".into();
        s.map.attribution = "© Example contributors".into();
    })
    .await;
    let (st, csp, body) = page(&s, s.login("supervisor").await).await;
    assert_eq!(st, 200);
    assert!(
        csp.contains("img-src 'self' data: https://*.tile.example.org;"),
        "{csp}"
    );
    assert!(
        body.contains(r#"data-tile-url="https://{s}.tile.example.org/{z}/{x}/{y}.png""#),
        "{body}"
    );
    assert!(!body.contains(r#"<p class="muted">Offline background"#));
    s.shutdown().await;

    // A template that is not an http(s) URL is not trusted: offline.
    let s = common::start_with(false, |s| {
        s.map.tile_url = "javascript:alert(1)//{z}".into();
    })
    .await;
    let (st, csp, body) = page(&s, s.login("supervisor").await).await;
    assert_eq!(st, 200);
    assert!(csp.contains("img-src 'self' data:;"), "{csp}");
    assert!(body.contains(r#"data-tile-url="""#));
    s.shutdown().await;
}

/// Retention: positions received more than `retention_days` before now go,
/// the others stay (the job `serve` runs at start and hourly).
#[tokio::test]
async fn retention_prunes_old_positions() {
    let dir = tempfile::tempdir().unwrap();
    let st = store::open(&format!("sqlite://{}/t.db", dir.path().display()))
        .await
        .unwrap();
    let a = st
        .create_agent(&store::NewAgent {
            login: "field".into(),
            name: "Field".into(),
            skills: vec![],
            languages: vec![],
            capacity: Default::default(),
        })
        .await
        .unwrap();
    let now = domain::Timestamp::from_millis(1_796_000_000_000);
    let day = 86_400_000;
    let p = store::GeoPoint {
        lat: 6.4,
        lon: 2.4,
        accuracy_m: 5.0,
    };
    for age in [3 * day, 2 * day + 1, 2 * day - 1, 1000] {
        st.add_position(a.id, p, now.add_millis(-age))
            .await
            .unwrap();
    }
    let n = switchboard::api::positions::prune_expired(&*st, 2, now)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let left: Vec<i64> = st
        .agent_track(a.id, domain::Timestamp::from_millis(0), now)
        .await
        .unwrap()
        .iter()
        .map(|p| now.as_millis() - p.at.as_millis())
        .collect();
    assert_eq!(left, vec![2 * day - 1, 1000]);
    // 0 days means the minimum, 1: a day later (less 2 s) only the newest stays.
    assert_eq!(
        switchboard::api::positions::prune_expired(&*st, 0, now.add_millis(day - 2000))
            .await
            .unwrap(),
        1
    );
}
