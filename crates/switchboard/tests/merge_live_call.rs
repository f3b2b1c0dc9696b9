//! Issue 12 acceptance, end to end: a customer merge (API) during a live
//! trunk call (sipp) keeps the merged customer on the interaction after the
//! call ends, although the engine's later writes (answer, end, disposition)
//! were made with the customer it knew at the start.

mod common;

use common::sip::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_during_a_live_call_is_kept_after_the_call() {
    merge_during_a_live_call(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_during_a_live_call_is_kept_after_the_call_on_postgresql() {
    merge_during_a_live_call(true).await;
}

async fn merge_during_a_live_call(pg: bool) {
    let p = platform_with(None, pg).await;
    let amina = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let mut ws = desktop(&p, &amina).await;
    let mut seen = Vec::new();
    let phone = register_phone(&p, "amina").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );

    // The caller stays 4 s on the line after the answer, then hangs up.
    let agent = answering_phone(&p, phone);
    let caller = sipp(
        p.sip,
        "caller_wait_hangup.xml",
        &[
            "-s",
            "3902",
            "-i",
            TRUNK_IP,
            "-p",
            &free_ports(TRUNK_IP, 1).to_string(),
            "-mp",
            &free_ports(TRUNK_IP, 4).to_string(),
            "-d",
            "4000",
        ],
    );
    let offer = next_of(&mut ws, "offer", &mut seen).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    let dup = offer["screen_pop"]["customer"]["id"]
        .as_i64()
        .expect("the caller is a known customer");
    next_of(&mut ws, "answered", &mut seen).await;
    let row = get(&p, &sup, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(row["customer_id"], dup, "{row}");

    // During the call, the supervisor keeps a new record and merges the
    // caller's record into it.
    let r = p
        .srv
        .http
        .post(p.srv.url("/api/v1/customers"))
        .bearer_auth(&sup)
        .json(&json!({"name": "Survivor of the merge"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let keep = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    assert_eq!(
        post(
            &p,
            &sup,
            &format!("/api/v1/customers/{keep}/merge"),
            json!({"from": dup})
        )
        .await,
        201
    );
    let row = get(&p, &sup, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(
        row["customer_id"], keep,
        "the merge moved the live call: {row}"
    );
    assert!(row["ended_at"].is_null(), "the call is still live: {row}");

    // The caller hangs up and amina dispositions: the engine writes again.
    let ended = next_of(&mut ws, "ended", &mut seen).await;
    assert_eq!(ended["interaction_id"], id);
    assert_eq!(exit_code(caller).await, 0);
    assert_eq!(exit_code(agent).await, 0);
    assert_eq!(
        post(
            &p,
            &amina,
            &format!("/api/v1/interactions/{id}/disposition"),
            json!({"code": "resolved"})
        )
        .await,
        204
    );
    let row = get(&p, &sup, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(row["disposition"], "resolved", "{row}");
    assert!(!row["ended_at"].is_null(), "{row}");
    assert_eq!(
        row["customer_id"], keep,
        "the merged customer stays on the interaction: {row}"
    );
    p.srv.shutdown().await;
}
