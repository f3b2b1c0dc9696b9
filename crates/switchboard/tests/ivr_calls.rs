//! The IVR on real SIP traffic (Debian `sip-tester`, sipp with RFC 2833
//! digits): a small test flow, and the demo flow `main` walked through rules
//! R2, R3 and R4 (the demo flow copied with round-the-clock hours and a demo
//! operator service started by the test).

mod common;

use common::sip::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ivr_digits_walk_the_flow_into_the_queue() {
    let p = platform().await;
    let sup = p.srv.login("supervisor").await;
    // caller_dtmf.xml sends RFC 2833 digits 1, 2, # during the prompts
    // (barge-in), then waits; no agent is logged in, so the call waits.
    let base = last_seq(&p, &sup).await;
    let _caller = trunk_call(&p, "caller_dtmf.xml", "3905");
    let queued = next_event(&p, &sup, "queued", base).await;
    let id = queued["interaction_id"].as_i64().unwrap();
    let evs = get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await;
    let steps: Vec<(String, Option<String>)> = evs
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"]["type"] == "ivr_step")
        .map(|e| {
            (
                e["kind"]["node"].as_str().unwrap().to_string(),
                e["kind"]["digits"].as_str().map(String::from),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("first".into(), Some("1".into())),
            ("second".into(), Some("2".into())),
            ("advisor".into(), None)
        ],
        "the IVR path is stored as events"
    );
    let general = queue_figures(&p, &sup, "general").await;
    assert_eq!(general["waiting"], 1);
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_ivr_new_caller_french_advisor_by_voice_joins_the_vip_queue() {
    // R2: a new caller chooses French (1); R4: advisor (9), by voice (4): the
    // segment comes from the operator's web service (+22997000002 is VIP).
    let p = platform().await;
    let sup = p.srv.login("supervisor").await;
    let base = last_seq(&p, &sup).await;
    let _caller = trunk_call(&p, "caller_r4_voice.xml", "3900");
    let queued = next_event(&p, &sup, "queued", base).await;
    let id = queued["interaction_id"].as_i64().unwrap();
    let queues = get(&p, &sup, "/api/v1/queues").await;
    let vip = queues
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "vip")
        .unwrap()["id"]
        .clone();
    assert_eq!(
        (
            queued["kind"]["queue_id"].clone(),
            queued["kind"]["priority"].as_i64()
        ),
        (vip, Some(100))
    );
    let path = ivr_path(&p, &sup, id).await;
    let nodes: Vec<&str> = path.iter().map(|(n, _)| n.as_str()).collect();
    for n in [
        "availability",
        "returning",
        "choose_language",
        "set_fr",
        "main_menu",
        "advisor",
        "voice_segment",
        "voice_hold",
        "voice_queue",
    ] {
        assert!(nodes.contains(&n), "{n} missing from {nodes:?}");
    }
    let digits: Vec<&str> = path.iter().filter_map(|(_, d)| d.as_deref()).collect();
    assert_eq!(digits, vec!["1", "9", "4"], "{path:?}");
    // R2: the language choice is stored on the customer for next time.
    let c = get(&p, &sup, "/api/v1/customers/lookup?phone=%2B22997000002").await;
    assert_eq!(c["language"], "fr", "{c}");
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_ivr_advisor_by_sms_opens_a_conversation_and_writes_first() {
    // R4 option 1: the IVR says an advisor will write, hangs up, opens an SMS
    // conversation for the caller, queues it and sends the first message.
    let p = platform().await;
    let sup = p.srv.login("supervisor").await;
    let base = last_seq(&p, &sup).await;
    let caller = trunk_call(&p, "caller_r4_sms.xml", "3900");
    assert_eq!(
        exit_code(caller).await,
        0,
        "the platform hung up after the confirmation"
    );
    let opened = next_event(&p, &sup, "message_out", base).await;
    let conv = opened["interaction_id"].as_i64().unwrap();
    let i = get(&p, &sup, &format!("/api/v1/interactions/{conv}")).await;
    assert_eq!(
        (i["channel"].as_str(), i["direction"].as_str()),
        (Some("sms"), Some("outbound"))
    );
    assert!(
        i["queue_id"].is_number(),
        "the conversation is queued for an agent: {i}"
    );
    let first = outbox_message(&p, &sup, |m| m["purpose"] == "ivr_first_message").await;
    assert_eq!(
        (first["recipient"].as_str(), first["channel"].as_str()),
        (Some("+22997000001"), Some("sms"))
    );
    assert!(
        first["body"].as_str().unwrap().starts_with("Bonjour"),
        "{first}"
    );
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_ivr_puk_code_is_looked_up_and_read_back() {
    // R3: +22997000002 chooses English (2), the PUK code (1), confirms the
    // last 4 digits of the ID (4321#): the operator's web service matches and
    // the PUK is read back; then the caller hangs up.
    let p = platform().await;
    let sup = p.srv.login("supervisor").await;
    let base = last_seq(&p, &sup).await;
    let caller = trunk_call(&p, "caller_r3_puk.xml", "3900");
    assert_eq!(exit_code(caller).await, 0);
    let ended = next_event(&p, &sup, "ended", base).await;
    let id = ended["interaction_id"].as_i64().unwrap();
    let path = ivr_path(&p, &sup, id).await;
    let nodes: Vec<&str> = path.iter().map(|(n, _)| n.as_str()).collect();
    for n in [
        "choose_language",
        "main_menu",
        "puk_id",
        "puk_lookup",
        "puk_check",
        "puk_intro",
        "puk_say",
    ] {
        assert!(nodes.contains(&n), "{n} missing from {path:?}");
    }
    assert!(!nodes.contains(&"puk_mismatch"), "{path:?}");
    let id_digits = path
        .iter()
        .find(|(n, _)| n == "puk_id")
        .and_then(|(_, d)| d.clone())
        .unwrap_or_default();
    assert!(id_digits.starts_with("4321"), "{path:?}");
    let i = get(&p, &sup, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(i["end_reason"], "ivr_completed");
    p.srv.shutdown().await;
}
