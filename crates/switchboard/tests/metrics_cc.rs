//! `/metrics` carries the contact-center figures after real calls (sipp
//! trunk calls, a registered agent phone): offered / answered / abandoned
//! per queue, calls waiting and the longest wait while one waits, agents
//! by state, service level, and a web chat visitor's open conversation.

mod common;

use common::sip::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// The value of the sample `name{labels}` in a Prometheus text page.
fn sample(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in\n{page}"))
        .trim()
        .parse()
        .unwrap()
}

async fn scrape(p: &Platform) -> String {
    let r = p.srv.http.get(p.srv.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_real_calls() {
    let p = platform().await;
    let amina = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;

    let page = scrape(&p).await;
    for help in [
        "# HELP switchboard_queue_calls_offered_total ",
        "# TYPE switchboard_queue_calls_offered_total counter",
        "# HELP switchboard_queue_calls_waiting ",
        "# TYPE switchboard_queue_longest_wait_seconds gauge",
        "# HELP switchboard_agents ",
        "# HELP switchboard_queue_service_level_ratio ",
        "# HELP switchboard_conversations_open ",
    ] {
        assert!(page.contains(help), "{help} missing in\n{page}");
    }
    assert_eq!(
        sample(
            &page,
            r#"switchboard_queue_calls_offered_total{queue="general"}"#
        ),
        0.0
    );
    assert_eq!(
        sample(&page, r#"switchboard_agents{state="available"}"#),
        0.0
    );
    assert_eq!(
        sample(
            &page,
            r#"switchboard_conversations_open{channel="webchat"}"#
        ),
        0.0
    );

    let mut ws = desktop(&p, &amina).await;
    let phone = register_phone(&p, "amina").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    let mut seen = Vec::new();
    assert_eq!(
        next_of(&mut ws, "agent_state", &mut seen).await["state"],
        "available"
    );
    let page = scrape(&p).await;
    assert_eq!(
        sample(&page, r#"switchboard_agents{state="available"}"#),
        1.0
    );

    // Call 1 is answered by amina and stays up; call 2 waits, then gives up.
    let agent = answering_phone(&p, phone);
    let caller1 = trunk_call(&p, "caller_audio_wait.xml", "3902");
    let first = next_of(&mut ws, "answered", &mut seen).await["interaction_id"]
        .as_i64()
        .unwrap();
    let base = last_seq(&p, &sup).await;
    let caller2 = trunk_call(&p, "caller_audio.xml", "3902");
    next_event(&p, &sup, "announced", base).await;
    let page = scrape(&p).await;
    assert_eq!(
        sample(&page, r#"switchboard_queue_calls_waiting{queue="general"}"#),
        1.0
    );
    assert!(
        sample(
            &page,
            r#"switchboard_queue_longest_wait_seconds{queue="general"}"#
        ) > 0.0
    );
    assert_eq!(
        sample(
            &page,
            r#"switchboard_queue_calls_offered_total{queue="general"}"#
        ),
        2.0
    );
    assert_eq!(
        sample(
            &page,
            r#"switchboard_queue_calls_answered_total{queue="general"}"#
        ),
        1.0
    );
    assert_eq!(sample(&page, r#"switchboard_agents{state="busy"}"#), 1.0);
    assert_eq!(
        sample(&page, r#"switchboard_agents{state="available"}"#),
        0.0
    );
    // The same figures as the supervisor's live view.
    let live = queue_figures(&p, &sup, "general").await;
    assert_eq!(
        sample(
            &page,
            r#"switchboard_queue_service_level_ratio{queue="general"}"#
        ),
        live["service_level_pct"].as_f64().unwrap() / 100.0
    );

    assert_eq!(exit_code(caller2).await, 0);
    next_event(&p, &sup, "abandoned", base).await;
    let page = scrape(&p).await;
    assert_eq!(
        sample(
            &page,
            r#"switchboard_queue_calls_abandoned_total{queue="general"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(&page, r#"switchboard_queue_calls_waiting{queue="general"}"#),
        0.0
    );
    assert_eq!(
        sample(
            &page,
            r#"switchboard_queue_longest_wait_seconds{queue="general"}"#
        ),
        0.0
    );

    assert_eq!(hang_up(&p, &amina, first).await, 204);
    assert_eq!(exit_code(caller1).await, 0);
    assert_eq!(exit_code(agent).await, 0);
    // A web chat visitor writes (after the calls, so that amina is not
    // offered the chat meanwhile): one conversation open on that channel.
    let (mut chat, _) = tokio_tungstenite::connect_async(format!("ws://{}/webchat/ws", p.srv.addr))
        .await
        .unwrap();
    for frame in [
        json!({"type": "hello", "visitor": "visitor-metrics01"}),
        json!({"type": "message", "text": "bonjour", "cid": "m1"}),
    ] {
        chat.send(Message::Text(frame.to_string().into()))
            .await
            .unwrap();
    }
    loop {
        let m = tokio::time::timeout(std::time::Duration::from_secs(30), chat.next())
            .await
            .expect("the chat message acknowledged in time")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m
            && serde_json::from_str::<serde_json::Value>(&t).unwrap()["type"] == "ack"
        {
            break;
        }
    }
    let page = scrape(&p).await;
    assert_eq!(
        sample(
            &page,
            r#"switchboard_conversations_open{channel="webchat"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(&page, r#"switchboard_conversations_open{channel="email"}"#),
        0.0
    );

    p.srv.shutdown().await;
}
