//! WhatsApp and Messenger through the Meta webhook and a Graph API stand-in.

use super::common;
use super::common::sip::*;
use super::harness::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard::settings::Secret;

/// A local Graph API stand-in: records every POST, answers a message id.
#[derive(Clone, Default)]
struct Graph {
    posts: Arc<Mutex<Vec<(String, Value)>>>,
}

async fn graph_stand_in() -> (String, Graph) {
    use axum::extract::{Json, Path, State};
    let g = Graph::default();
    let app = axum::Router::new()
        .route(
            "/{version}/{node}/messages",
            axum::routing::post(
                |State(g): State<Graph>,
                 Path((_v, node)): Path<(String, String)>,
                 Json(body): Json<Value>| async move {
                    let mut posts = g.posts.lock().unwrap();
                    let me = node == "me";
                    posts.push((node, body));
                    let n = posts.len();
                    if me {
                        // Messenger / Instagram Send API answer.
                        Json(json!({"recipient_id": "x", "message_id": format!("m_OUT{n}")}))
                    } else {
                        Json(json!({"messaging_product": "whatsapp", "contacts": [{"input": "x", "wa_id": "22997000000"}], "messages": [{"id": format!("wamid.OUT{n}")}]}))
                    }
                },
            ),
        )
        .with_state(g.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (url, g)
}

const SECRET: &str = "meta-app-secret";

fn whatsapp_post(n: usize, text: &str) -> Vec<u8> {
    let raw = std::fs::read_to_string(
        repo().join("crates/channels/tests/fixtures/whatsapp_text_message.json"),
    )
    .unwrap();
    let mut v: Value = serde_json::from_str(&raw).unwrap();
    let m = &mut v["entry"][0]["changes"][0]["value"]["messages"][0];
    m["id"] = json!(format!("wamid.IN{n}"));
    m["text"]["body"] = json!(text);
    serde_json::to_vec(&v).unwrap()
}

async fn webhook(p: &Platform, body: Vec<u8>, signature: Option<String>) -> u16 {
    let mut r = p
        .srv
        .http
        .post(p.srv.url("/webhooks/meta"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(sig) = signature {
        r = r.header("X-Hub-Signature-256", sig);
    }
    r.send().await.unwrap().status().as_u16()
}

fn sign(body: &[u8]) -> Option<String> {
    Some(channels::meta::webhook::sign(SECRET.as_bytes(), body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_burst_signatures_graph_sends_statuses_and_csat_on_sqlite() {
    whatsapp_scenario(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_scenario_with_the_store_on_postgresql() {
    whatsapp_scenario(true).await;
}

async fn whatsapp_scenario(pg: bool) {
    let (graph_url, graph) = graph_stand_in().await;
    let dir = tempfile::tempdir().unwrap();
    let url = if pg {
        common::fresh_pg_database().await
    } else {
        format!("sqlite://{}/switchboard.db", dir.path().display())
    };
    let p = server_at(dir, &url, |s| {
        s.channels.meta.enabled = true;
        s.channels.meta.app_secret = Secret(SECRET.into());
        s.channels.meta.verify_token = Secret("verify-me".into());
        s.channels.meta.graph_base = graph_url;
        s.channels.meta.access_token = Secret("token".into());
        s.channels.meta.whatsapp_phone_number_id = "106540352242922".into();
        s.channels.dispatch_interval_ms = 50;
    })
    .await;
    let sup = p.srv.login("supervisor").await;
    // The demo seeds some history: count only what this test adds.
    let base = last_seq(&p, &sup).await;
    let msgs_in = format!("/api/v1/events?kind=message_in&after_seq={base}");

    // The subscription handshake.
    let ok = p
        .srv
        .http
        .get(p.srv.url(
            "/webhooks/meta?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let bad = p
        .srv
        .http
        .get(
            p.srv
                .url("/webhooks/meta?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 403);

    // Forged and missing signatures: 401, nothing stored.
    let body = whatsapp_post(0, "forged");
    let forged = format!("sha256={}", "0".repeat(64));
    assert_eq!(webhook(&p, body.clone(), Some(forged)).await, 401);
    let other_key = channels::meta::webhook::sign(b"not-the-secret", &body);
    assert_eq!(webhook(&p, body.clone(), Some(other_key)).await, 401);
    assert_eq!(webhook(&p, body, None).await, 401);
    let evs = get(&p, &sup, &msgs_in).await;
    assert!(evs.as_array().unwrap().is_empty(), "{evs}");

    // 20 messages of one sender at once: one conversation, 20 messages.
    let posts = (1..=20).map(|n| {
        let body = whatsapp_post(n, &format!("message {n}"));
        let sig = sign(&body);
        let p = &p;
        async move { webhook(p, body, sig).await }
    });
    let codes = futures_util::future::join_all(posts).await;
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}");
    let list = get(&p, &sup, "/api/v1/interactions?channel=whatsapp").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "one conversation: {list:?}");
    let id = list[0]["id"].as_i64().unwrap();
    let msgs = get(
        &p,
        &sup,
        &format!("/api/v1/events?kind=message_in&interaction_id={id}"),
    )
    .await;
    let mut texts: Vec<String> = msgs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"]["text"].as_str().unwrap().to_string())
        .collect();
    texts.sort();
    let mut want: Vec<String> = (1..=20).map(|n| format!("message {n}")).collect();
    want.sort();
    assert_eq!(texts, want);
    let cid = list[0]["customer_id"].as_i64().unwrap();
    let c = get(&p, &sup, &format!("/api/v1/customers/{cid}")).await;
    assert_eq!(c["phones"], json!(["+22997000000"]));
    // Meta delivering the same message again changes nothing.
    let again = whatsapp_post(3, "message 3");
    assert_eq!(webhook(&p, again.clone(), sign(&again)).await, 200);
    let n = get(&p, &sup, &msgs_in).await;
    assert_eq!(n.as_array().unwrap().len(), 20);

    // A reply through the outbox reaches the Graph stand-in; its status
    // webhook marks the row delivered.
    let store = store::open(&url).await.unwrap();
    let reply = store
        .enqueue_message(
            &store::NewOutboxMessage {
                channel: domain::Channel::Whatsapp,
                recipient: "+22997000000".into(),
                body: "Nous regardons votre ligne.".into(),
                interaction_id: Some(domain::InteractionId(id)),
                customer_id: Some(domain::CustomerId(cid)),
                purpose: "agent_reply".into(),
            },
            switchboard::now(),
        )
        .await
        .unwrap();
    let row = wait_status(&p, &sup, reply.id, "sent").await;
    assert_eq!(row["provider_message_id"], "wamid.OUT1");
    {
        let posts = graph.posts.lock().unwrap();
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].0, "106540352242922");
        assert_eq!(posts[0].1["to"], "22997000000");
        assert_eq!(posts[0].1["type"], "text");
        assert_eq!(posts[0].1["text"]["body"], "Nous regardons votre ligne.");
    }
    let raw = std::fs::read_to_string(
        repo().join("crates/channels/tests/fixtures/whatsapp_statuses.json"),
    )
    .unwrap();
    let mut st: Value = serde_json::from_str(&raw).unwrap();
    st["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = json!("wamid.OUT1");
    let body = serde_json::to_vec(&st).unwrap();
    assert_eq!(webhook(&p, body.clone(), sign(&body)).await, 200);
    wait_status(&p, &sup, reply.id, "delivered").await;

    // Messenger: the page-scoped id is the customer's identity and the
    // address of the reply (Send API, standard messaging).
    let raw = std::fs::read(repo().join("crates/channels/tests/fixtures/messenger_message.json"))
        .unwrap();
    assert_eq!(webhook(&p, raw.clone(), sign(&raw)).await, 200);
    let list = get(&p, &sup, "/api/v1/interactions?channel=messenger").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "the echo and the delivery are not messages");
    let m_cid = list[0]["customer_id"].as_i64().unwrap();
    let c = get(&p, &sup, &format!("/api/v1/customers/{m_cid}")).await;
    assert_eq!(
        c["channel_ids"],
        json!([{"channel": "messenger", "id": "7012345678901234"}])
    );
    let m_reply = store
        .enqueue_message(
            &store::NewOutboxMessage {
                channel: domain::Channel::Messenger,
                recipient: "7012345678901234".into(),
                body: "Bien sûr, quelle offre ?".into(),
                interaction_id: list[0]["id"].as_i64().map(domain::InteractionId),
                customer_id: Some(domain::CustomerId(m_cid)),
                purpose: "agent_reply".into(),
            },
            switchboard::now(),
        )
        .await
        .unwrap();
    let row = wait_status(&p, &sup, m_reply.id, "sent").await;
    assert_eq!(row["provider_message_id"], "m_OUT2");
    {
        let posts = graph.posts.lock().unwrap();
        assert_eq!(posts[1].0, "me");
        assert_eq!(posts[1].1["recipient"]["id"], "7012345678901234");
        assert_eq!(posts[1].1["messaging_type"], "RESPONSE");
        assert_eq!(posts[1].1["message"]["text"], "Bien sûr, quelle offre ?");
    }

    // No SMS adapter here: an SMS row waits, saying why.
    let sms = store
        .enqueue_message(
            &store::NewOutboxMessage {
                channel: domain::Channel::Sms,
                recipient: "+22997000000".into(),
                body: "x".into(),
                interaction_id: None,
                customer_id: None,
                purpose: "ivr_unavailable".into(),
            },
            switchboard::now(),
        )
        .await
        .unwrap();
    assert_eq!(
        outbox_row(&p, &sup, sms.id).await["status"],
        "queued",
        "no adapter: not sent"
    );

    // A CSAT survey went to this number after a call; "cinq" answers it.
    let call = store
        .create_interaction(&store::NewInteraction {
            channel: domain::Channel::Voice,
            direction: domain::Direction::Inbound,
            customer_id: Some(domain::CustomerId(cid)),
            queue_id: None,
            agent_id: None,
            started_at: switchboard::now(),
        })
        .await
        .unwrap();
    store
        .enqueue_message(
            &store::NewOutboxMessage {
                channel: domain::Channel::Sms,
                recipient: "+22997000000".into(),
                body: "Notez notre service de 1 à 5".into(),
                interaction_id: Some(call.id),
                customer_id: Some(domain::CustomerId(cid)),
                purpose: "survey".into(),
            },
            switchboard::now(),
        )
        .await
        .unwrap();
    let answer = whatsapp_post(99, "cinq");
    assert_eq!(webhook(&p, answer.clone(), sign(&answer)).await, 200);
    let s = get(
        &p,
        &sup,
        &format!("/api/v1/events?kind=survey_answered&after_seq={base}"),
    )
    .await;
    let s = s.as_array().unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["kind"]["score"], 5);
    assert_eq!(s[0]["interaction_id"], call.id.0);
    let n = get(&p, &sup, &msgs_in).await;
    assert_eq!(
        n.as_array().unwrap().len(),
        21,
        "the answer is not a chat message (20 WhatsApp + 1 Messenger)"
    );
    // A second "5" is an ordinary message: the survey is answered.
    let again = whatsapp_post(100, "5");
    assert_eq!(webhook(&p, again.clone(), sign(&again)).await, 200);
    let n = get(&p, &sup, &msgs_in).await;
    assert_eq!(n.as_array().unwrap().len(), 22);
    // Prometheus counts both ways (the recorder is shared by this binary's tests).
    let m = p
        .srv
        .http
        .get(p.srv.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("messages_in_total{channel=\"whatsapp\",outcome=\"survey_answer\"}"),
        "{m}"
    );
    assert!(
        m.contains("messages_out_total{channel=\"whatsapp\",result=\"sent\"}"),
        "{m}"
    );
    // The sms row still waits, with its reason (noted every 5 s).
    let mut row = Value::Null;
    for _ in 0..100 {
        row = outbox_row(&p, &sup, sms.id).await;
        if row["last_error"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(row["status"], "queued");
    assert!(
        row["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("no adapter configured for channel sms")),
        "{row}"
    );
    p.srv.shutdown().await;
}
