//! The web chat: socket protocol, identity linking, replies, history, the
//! widget in chromium.

use super::common::sip::*;
use super::harness::*;
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_chat_visitor_linked_by_email_gets_replies_and_history() {
    let p = server(|s| s.channels.dispatch_interval_ms = 50).await;
    let sup = p.srv.login("supervisor").await;
    // The widget is one script.
    let js = p
        .srv
        .http
        .get(p.srv.url("/widget.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.text().await.unwrap().contains("/webchat/ws"));
    let page = p.srv.http.get(p.srv.url("/webchat")).send().await.unwrap();
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<script src=\"/widget.js\" defer></script>")
    );

    // A known customer's e-mail links the visitor to them.
    let r = p
        .srv
        .http
        .post(p.srv.url("/api/v1/customers"))
        .bearer_auth(&sup)
        .json(&json!({"name": "Awa Chat", "emails": ["awa.chat@example.net"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let cid = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    let mut ws = chat(&p).await;
    chat_send(
        &mut ws,
        json!({"type": "hello", "visitor": "visitor-7f3a9c21", "email": "Awa.Chat@example.net"}),
    )
    .await;
    let w = chat_next(&mut ws, "welcome").await;
    assert_eq!(w["agents_online"], false);
    assert_eq!(w["history"], json!([]));
    chat_send(
        &mut ws,
        json!({"type": "message", "text": "<script>alert(1)</script> bonjour", "cid": "c1"}),
    )
    .await;
    assert_eq!(chat_next(&mut ws, "ack").await["cid"], "c1");
    // No agent logged in: the offline message.
    let notice = chat_next(&mut ws, "notice").await;
    assert!(notice["text"].as_str().unwrap().contains("No advisor"));
    // The same client id again (a resend after a lost ack): stored once.
    chat_send(
        &mut ws,
        json!({"type": "message", "text": "<script>alert(1)</script> bonjour", "cid": "c1"}),
    )
    .await;
    assert_eq!(chat_next(&mut ws, "ack").await["cid"], "c1");

    let list = get(
        &p,
        &sup,
        &format!("/api/v1/interactions?channel=webchat&customer_id={cid}"),
    )
    .await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let id = list[0]["id"].as_i64().unwrap();
    let c = get(&p, &sup, &format!("/api/v1/customers/{cid}")).await;
    assert_eq!(
        c["channel_ids"],
        json!([{"channel": "webchat", "id": "visitor-7f3a9c21"}])
    );
    let msgs = get(
        &p,
        &sup,
        &format!("/api/v1/events?kind=message_in&interaction_id={id}"),
    )
    .await;
    assert_eq!(msgs.as_array().unwrap().len(), 1);
    assert_eq!(
        msgs[0]["kind"]["text"], "<script>alert(1)</script> bonjour",
        "stored verbatim; escaping is the UI's job"
    );

    // An agent's reply (here queued directly) reaches the socket.
    let store = store_of(p.srv.dir.path()).await;
    store
        .enqueue_message(
            &store::NewOutboxMessage {
                channel: domain::Channel::Webchat,
                recipient: "visitor-7f3a9c21".into(),
                body: "Bonjour Awa, je regarde.".into(),
                interaction_id: Some(domain::InteractionId(id)),
                customer_id: Some(domain::CustomerId(cid)),
                purpose: "agent_reply".into(),
            },
            switchboard::now(),
        )
        .await
        .unwrap();
    let m = chat_next(&mut ws, "message").await;
    assert_eq!(
        (m["from"].as_str(), m["text"].as_str()),
        (Some("agent"), Some("Bonjour Awa, je regarde."))
    );

    // Reconnect: the conversation comes back in the welcome.
    drop(ws);
    let mut ws = chat(&p).await;
    chat_send(
        &mut ws,
        json!({"type": "hello", "visitor": "visitor-7f3a9c21"}),
    )
    .await;
    let w = chat_next(&mut ws, "welcome").await;
    assert_eq!(w["history"][0]["from"], "visitor");
    assert_eq!(w["history"][0]["text"], "<script>alert(1)</script> bonjour");
    // A bad visitor id is refused.
    let mut bad = chat(&p).await;
    chat_send(&mut bad, json!({"type": "hello", "visitor": "x"})).await;
    assert_eq!(chat_next(&mut bad, "error").await["text"], "bad visitor id");
    p.srv.shutdown().await;
}

/// The widget in a real browser (Debian chromium, npm playwright-core:
/// `npm ci --prefix crates/switchboard/tests/browser`): tests/browser/widget.mjs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_in_chromium() {
    let dir = repo().join("crates/switchboard/tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "run `npm ci --prefix crates/switchboard/tests/browser` first"
    );
    let p = server(|s| s.channels.dispatch_interval_ms = 50).await;
    let mut child = Command::new("node")
        .arg(dir.join("widget.mjs"))
        .arg(format!("http://{}", p.srv.addr))
        .arg(std::env::var("SWITCHBOARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node must be installed");
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let visitor = tokio::time::timeout(Duration::from_secs(120), async {
        while let Ok(Some(l)) = err.next_line().await {
            if let Some(v) = l.strip_prefix("VISITOR ") {
                return v.to_string();
            }
        }
        panic!("the browser script ended without a visitor id");
    })
    .await
    .expect("the widget sent its message in time");
    let store = store_of(p.srv.dir.path()).await;
    store
        .enqueue_message(
            &store::NewOutboxMessage {
                channel: domain::Channel::Webchat,
                recipient: visitor.clone(),
                body: "Bonjour, un conseiller vous répond.".into(),
                interaction_id: None,
                customer_id: None,
                purpose: "agent_reply".into(),
            },
            switchboard::now(),
        )
        .await
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut text = String::new();
    let status = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut text)
            .await
            .unwrap();
        child.wait().await.unwrap()
    })
    .await
    .expect("the browser script ended in time");
    assert!(status.success(), "widget checks failed: {text}");
    let out: Value = serde_json::from_str(text.lines().last().unwrap_or("")).unwrap();
    assert_eq!(out["checks"]["history_after_reload"], true, "{out}");
    // The visitor's message is stored verbatim on a web chat conversation.
    let sup = p.srv.login("supervisor").await;
    let ident = get(
        &p,
        &sup,
        &format!("/api/v1/customers/lookup?channel=webchat&id={visitor}"),
    )
    .await;
    let cid = ident["id"].as_i64().expect("the visitor is a customer");
    let list = get(&p, &sup, &format!("/api/v1/interactions?customer_id={cid}")).await;
    assert_eq!(list[0]["channel"], "webchat");
    p.srv.shutdown().await;
}

/// A visitor's chat with an agent logged in: no offline notice; when the
/// engine routes conversations, the agent is offered it, accepts, replies,
/// and the reply reaches the visitor and comes back in the history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_chat_with_an_agent_online() {
    let p = platform_full(None, false, |s| s.channels.dispatch_interval_ms = 50).await;
    let token = p.srv.login("amina").await;
    let mut ws = desktop(&p, &token).await;
    let mut seen = Vec::new();
    next_of(&mut ws, "hello", &mut seen).await;
    assert_eq!(
        post(&p, &token, "/api/v1/agent/login", json!({})).await,
        204
    );
    next_of(&mut ws, "agent_state", &mut seen).await;

    let mut chat_ws = chat(&p).await;
    chat_send(
        &mut chat_ws,
        json!({"type": "hello", "visitor": "visitor-online-01", "name": "Koffi"}),
    )
    .await;
    let w = chat_next(&mut chat_ws, "welcome").await;
    assert_eq!(w["agents_online"], true);
    chat_send(
        &mut chat_ws,
        json!({"type": "message", "text": "Bonjour, une question", "cid": "q1"}),
    )
    .await;
    assert_eq!(chat_next(&mut chat_ws, "ack").await["cid"], "q1");

    let offer = next_of(&mut ws, "offer", &mut Vec::new()).await;
    let reply = "Bonjour Koffi, je vous écoute.";
    assert_eq!(offer["channel"], "webchat");
    assert_eq!(offer["screen_pop"]["customer"]["name"], "Koffi");
    let id = offer["interaction_id"].as_i64().unwrap();
    let st = post(
        &p,
        &token,
        &format!("/api/v1/interactions/{id}/accept"),
        json!({}),
    )
    .await;
    assert_eq!(st, 204, "accept");
    // Typing both ways: the visitor's reaches the agent's desktop, the
    // agent's reaches the widget.
    chat_send(&mut chat_ws, json!({"type": "typing"})).await;
    let typing = next_of(&mut ws, "typing", &mut Vec::new()).await;
    assert_eq!(typing["interaction_id"], id);
    let st = post(
        &p,
        &token,
        &format!("/api/v1/interactions/{id}/typing"),
        json!({}),
    )
    .await;
    assert_eq!(st, 204, "agent typing");
    assert_eq!(chat_next(&mut chat_ws, "typing").await["from"], "agent");
    let st = post(
        &p,
        &token,
        &format!("/api/v1/interactions/{id}/messages"),
        json!({"text": reply}),
    )
    .await;
    assert_eq!(st, 202);
    // The reply reaches the visitor; no offline notice came before it.
    use futures_util::StreamExt;
    loop {
        let m = tokio::time::timeout(WAIT, chat_ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).unwrap();
            assert_ne!(v["type"], "notice", "an agent is online: {v}");
            if v["type"] == "message" {
                assert_eq!(
                    (v["from"].as_str(), v["text"].as_str()),
                    (Some("agent"), Some(reply))
                );
                break;
            }
        }
    }
    {
        // The engine stored the reply (`message_out`): it is in the history.
        drop(chat_ws);
        let mut again = chat(&p).await;
        chat_send(
            &mut again,
            json!({"type": "hello", "visitor": "visitor-online-01"}),
        )
        .await;
        let w = chat_next(&mut again, "welcome").await;
        assert_eq!(
            w["history"],
            json!([{"from": "visitor", "text": "Bonjour, une question", "at": w["history"][0]["at"]},
                   {"from": "agent", "text": reply, "at": w["history"][1]["at"]}])
        );
    }
    p.srv.shutdown().await;
}
