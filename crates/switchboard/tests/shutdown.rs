//! An orderly stop (SIGTERM, issue 14): HTTP stops taking requests, every
//! live call gets its BYE, the engine closes the interactions and drains
//! its event writer, and only then does the store close — so the stopped
//! server's database shows the call ended, not left open.

mod common;

use common::sip::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_ends_live_calls_and_writes_them_before_the_store_closes() {
    let p = platform().await;
    let amina = p.srv.login("amina").await;
    let mut aws = desktop(&p, &amina).await;
    let mut seen = Vec::new();
    let aport = register_phone(&p, "amina").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    let amina_phone = answering_phone(&p, aport);
    let caller = trunk_call(&p, "caller_talk_until_bye.xml", "3902");
    let id = next_of(&mut aws, "answered", &mut seen).await["interaction_id"]
        .as_i64()
        .unwrap();
    let url = p.settings.database_url();
    // Stop it as SIGTERM does, keeping its data dir to look at.
    let common::TestServer {
        dir: _dir,
        stop,
        task,
        ..
    } = p.srv;
    let _ = stop.expect("running").send(());
    task.await.unwrap();
    // Both peers got their BYE (their scenarios end only on it).
    assert_eq!(exit_code(caller).await, 0, "the caller got its BYE");
    assert_eq!(exit_code(amina_phone).await, 0, "amina's phone got its BYE");
    // The call is closed in the store the server left.
    let store = store::open(&url).await.unwrap();
    let i = store
        .get_interaction(domain::InteractionId(id))
        .await
        .unwrap()
        .expect("the interaction is stored");
    assert!(i.ended_at.is_some(), "closed at the stop: {i:?}");
    let kinds: Vec<&str> = store
        .list_events(&store::EventFilter {
            interaction_id: Some(domain::InteractionId(id)),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.name())
        .collect();
    for k in ["ended", "wrap_up_started", "recording_stopped"] {
        assert!(kinds.contains(&k), "{k} missing: {kinds:?}");
    }
}
