//! Customer merge and undo over real HTTP, on SQLite and on PostgreSQL.

mod common;

use common::TestServer;
use serde_json::{Value, json};

async fn call(
    s: &TestServer,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut r = s.http.request(method, s.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(s: &TestServer, token: &str, path: &str) -> (u16, Value) {
    call(s, reqwest::Method::GET, token, path, None).await
}

async fn post(s: &TestServer, token: &str, path: &str, body: &Value) -> (u16, Value) {
    call(s, reqwest::Method::POST, token, path, Some(body)).await
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no error code>")
}

fn interaction_ids(timeline: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["interaction"]["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

async fn merge_and_undo(s: TestServer) {
    let amina = s.login("amina").await;
    let koffi = s.login("koffi").await;
    let sup = s.login("supervisor").await;

    let (_, one) = get(&s, &amina, "/api/v1/customers/1").await;
    let (_, two) = get(&s, &amina, "/api/v1/customers/2").await;
    let two_phone = two["phones"][0].as_str().unwrap().to_string();
    let (_, tl1) = get(&s, &amina, "/api/v1/customers/1/timeline?limit=100").await;
    let (_, tl2) = get(&s, &amina, "/api/v1/customers/2/timeline?limit=100").await;
    let (ids1, ids2) = (interaction_ids(&tl1), interaction_ids(&tl2));
    assert!(!ids1.is_empty() && !ids2.is_empty(), "demo timelines");
    assert!(one.get("merged_into").is_none());

    // Refusals: itself, unknown, bad body.
    let (st, v) = post(&s, &amina, "/api/v1/customers/1/merge", &json!({"from": 1})).await;
    assert_eq!((st, code(&v)), (409, "conflict"));
    let (st, _) = post(
        &s,
        &amina,
        "/api/v1/customers/1/merge",
        &json!({"from": 99999}),
    )
    .await;
    assert_eq!(st, 404);
    let (st, _) = post(
        &s,
        &amina,
        "/api/v1/customers/1/merge",
        &json!({"from": "x"}),
    )
    .await;
    assert_eq!(st, 400, "a malformed body");

    // Amina merges 2 into 1.
    let (st, m) = post(&s, &amina, "/api/v1/customers/1/merge", &json!({"from": 2})).await;
    assert_eq!(st, 201, "{m}");
    assert_eq!((m["from"].as_i64(), m["into"].as_i64()), (Some(2), Some(1)));
    assert_eq!(m["can_undo"], true);
    let merge_id = m["id"].as_i64().unwrap();
    let moved: Vec<i64> = m["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_i64().unwrap())
        .collect();
    assert_eq!(moved, ids2);

    // Merging again, or into the merged one: 409.
    let (st, _) = post(&s, &amina, "/api/v1/customers/1/merge", &json!({"from": 2})).await;
    assert_eq!(st, 409);
    let (st, _) = post(&s, &amina, "/api/v1/customers/2/merge", &json!({"from": 3})).await;
    assert_eq!(st, 409);

    // The merged customer shows where it went; lookups and search resolve.
    let (_, gone) = get(&s, &amina, "/api/v1/customers/2").await;
    assert_eq!(gone["merged_into"], 1);
    let (st, found) = get(
        &s,
        &amina,
        &format!(
            "/api/v1/customers/lookup?phone={}",
            two_phone.replace('+', "%2B")
        ),
    )
    .await;
    assert_eq!((st, found["id"].as_i64()), (200, Some(1)));
    let (_, all) = get(&s, &amina, "/api/v1/customers?limit=500").await;
    assert_eq!(all.as_array().unwrap().len(), 49);
    assert!(all.as_array().unwrap().iter().all(|c| c["id"] != 2));

    // One timeline with both histories.
    let (_, tl) = get(&s, &amina, "/api/v1/customers/1/timeline?limit=100").await;
    let mut both = [ids1.clone(), ids2.clone()].concat();
    both.sort_unstable();
    assert_eq!(interaction_ids(&tl), both);
    // The audit event is on customer 1.
    let (_, ev) = get(&s, &sup, "/api/v1/events?kind=customers_merged").await;
    let ev = ev.as_array().unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["customer_id"], 1);
    assert_eq!(ev[0]["kind"]["merge_id"], merge_id);

    // Listed on both customers; only its author and supervisors may undo.
    let (_, l1) = get(&s, &amina, "/api/v1/customers/1/merges").await;
    let (_, l2) = get(&s, &koffi, "/api/v1/customers/2/merges").await;
    assert_eq!(l1[0]["id"].as_i64(), Some(merge_id));
    assert_eq!(l1[0]["can_undo"], true);
    assert_eq!(l2[0]["can_undo"], false, "koffi did not merge it");
    let undo = format!("/api/v1/merges/{merge_id}/undo");
    let (st, v) = post(&s, &koffi, &undo, &json!({})).await;
    assert_eq!((st, code(&v)), (403, "forbidden"));
    let (st, _) = post(&s, &amina, "/api/v1/merges/99999/undo", &json!({})).await;
    assert_eq!(st, 404);

    // Amina undoes: everything is as before.
    let (st, u) = post(&s, &amina, &undo, &json!({})).await;
    assert_eq!(st, 200, "{u}");
    assert!(u["undone_at"].is_string(), "{u}");
    assert_eq!(u["can_undo"], false);
    let (_, back) = get(&s, &amina, "/api/v1/customers/2").await;
    assert!(back.get("merged_into").is_none());
    assert_eq!(back["phones"], two["phones"]);
    let (_, tl1b) = get(&s, &amina, "/api/v1/customers/1/timeline?limit=100").await;
    let (_, tl2b) = get(&s, &amina, "/api/v1/customers/2/timeline?limit=100").await;
    assert_eq!(
        (interaction_ids(&tl1b), interaction_ids(&tl2b)),
        (ids1, ids2)
    );
    let (st, _) = post(&s, &sup, &undo, &json!({})).await;
    assert_eq!(st, 409, "already undone");

    // A supervisor may undo a merge made by an agent.
    let (_, m2) = post(&s, &koffi, "/api/v1/customers/3/merge", &json!({"from": 4})).await;
    let (st, _) = post(
        &s,
        &sup,
        &format!("/api/v1/merges/{}/undo", m2["id"]),
        &json!({}),
    )
    .await;
    assert_eq!(st, 200);

    // Documented.
    let (_, doc) = get(&s, &amina, "/api/v1/openapi.json").await;
    for p in [
        "/api/v1/customers/{id}/merge",
        "/api/v1/customers/{id}/merges",
        "/api/v1/merges/{id}/undo",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} missing from OpenAPI");
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_on_sqlite() {
    merge_and_undo(common::start(false).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_on_postgres() {
    merge_and_undo(common::start(true).await).await;
}

/// The desktop's "Merge with…" and Undo in a real browser (Debian chromium,
/// npm playwright-core: `npm ci --prefix crates/switchboard/tests/browser`):
/// tests/browser/merge.mjs, keyboard only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_and_undo_in_chromium() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "run `npm ci --prefix crates/switchboard/tests/browser` first"
    );
    let s = common::start(false).await;
    let amina = s.login("amina").await;
    let (st, target) = post(
        &s,
        &amina,
        "/api/v1/customers",
        &json!({"name": "Zénabou Target", "phones": ["+22901970099001"]}),
    )
    .await;
    assert_eq!(st, 201, "{target}");
    let (st, dup) = post(
        &s,
        &amina,
        "/api/v1/customers",
        &json!({"name": "<b>Zen</b> Duplicate", "emails": ["zen@example.org"]}),
    )
    .await;
    assert_eq!(st, 201, "{dup}");
    let args = [
        dir.join("merge.mjs").display().to_string(),
        format!("http://{}", s.addr),
        std::env::var("SWITCHBOARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "amina".into(),
        s.password("amina"),
        "Zénabou Target".into(),
        "Duplicate".into(),
    ];
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args(&args)
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("node must be installed")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "merge.mjs failed: {stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The server agrees: one merge, made and undone by amina.
    let (_, merges) = get(
        &s,
        &amina,
        &format!("/api/v1/customers/{}/merges", target["id"]),
    )
    .await;
    let merges = merges.as_array().unwrap();
    assert_eq!(merges.len(), 1);
    assert_eq!(merges[0]["from"], dup["id"]);
    assert!(merges[0]["undone_at"].is_string());
    let (_, back) = get(&s, &amina, &format!("/api/v1/customers/{}", dup["id"])).await;
    assert_eq!(back["emails"], json!(["zen@example.org"]));
    s.shutdown().await;
}
