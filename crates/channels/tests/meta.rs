//! WhatsApp / Messenger / Instagram: webhook verification and parsing of the
//! documented payloads (fixtures modelled on Meta's public examples, personal
//! data replaced), and outbound sends to a local axum stand-in of the Graph API.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use channels::meta::webhook::{WebhookError, sign, verify_subscription};
use channels::meta::{MetaAdapter, MetaConfig, handle_webhook_post};
use channels::{ChannelError, ChannelEvent, DeliveryState, Identity, OutboundMessage, TemplateRef};
use domain::{Channel, Timestamp};
use serde_json::{Value, json};

const SECRET: &[u8] = b"test-app-secret";
const H: i64 = 3_600_000;

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn now() -> Timestamp {
    Timestamp::from_millis(1_764_450_100_000)
}

#[test]
fn get_handshake_echoes_the_challenge() {
    let q = [
        ("hub.mode", "subscribe"),
        ("hub.verify_token", "vt-123"),
        ("hub.challenge", "1158201444"),
    ];
    assert_eq!(verify_subscription(q, "vt-123"), Ok("1158201444".into()));
    assert_eq!(
        verify_subscription(q, "other").map_err(|e| e.http_status()),
        Err(403)
    );
}

#[test]
fn whatsapp_text_message_webhook() {
    let body = fixture("whatsapp_text_message.json");
    let sig = sign(SECRET, &body);
    let events = handle_webhook_post(SECRET, Some(&sig), &body, now()).expect("valid");
    assert_eq!(events.len(), 1);
    let ChannelEvent::Inbound(m) = &events[0] else {
        panic!("expected inbound: {events:?}")
    };
    assert_eq!(m.channel, Channel::Whatsapp);
    assert!(matches!(&m.from, Identity::Phone(p) if p.as_str() == "+22997000000"));
    assert_eq!(m.to, Identity::ChannelId("106540352242922".into()));
    assert_eq!(m.text, "Bonjour, ma ligne est coupée depuis ce matin");
    assert_eq!(
        m.provider_message_id.as_deref(),
        Some("wamid.HBgLMjI5OTcwMDAwMDAVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")
    );
    assert_eq!(m.received_at, Timestamp::from_millis(1_764_450_000_000));
}

#[test]
fn forged_signature_is_refused_with_401() {
    let body = fixture("whatsapp_text_message.json");
    let forged = sign(b"not-the-secret", &body);
    let err = handle_webhook_post(SECRET, Some(&forged), &body, now()).unwrap_err();
    assert_eq!(err, WebhookError::BadSignature);
    assert_eq!(err.http_status(), 401);
    // Signature of the original body, body altered by one byte.
    let sig = sign(SECRET, &body);
    let mut altered = body.clone();
    if let Some(b) = altered.iter_mut().find(|b| **b == b'B') {
        *b = b'b';
    }
    assert_eq!(
        handle_webhook_post(SECRET, Some(&sig), &altered, now()).map_err(|e| e.http_status()),
        Err(401)
    );
    assert_eq!(
        handle_webhook_post(SECRET, None, &body, now()).map_err(|e| e.http_status()),
        Err(401)
    );
}

#[test]
fn whatsapp_statuses_webhook() {
    let body = fixture("whatsapp_statuses.json");
    let events = handle_webhook_post(SECRET, Some(&sign(SECRET, &body)), &body, now()).unwrap();
    let st: Vec<(String, DeliveryState, String)> = events
        .into_iter()
        .map(|e| match e {
            ChannelEvent::Status(s) => (s.provider_message_id, s.state, s.detail),
            other => panic!("expected status, got {other:?}"),
        })
        .collect();
    assert_eq!(
        st,
        vec![
            (
                "wamid.HBgLMjI5OTcwMDAwMDAVAgARGBI3NjQ1RjJCMjU1QzQxRkE0NjIA".into(),
                DeliveryState::Delivered,
                "delivered".into()
            ),
            (
                "wamid.HBgLMjI5OTcwMDAwMDAVAgARGBJFNkQ0QjU1NjE5RUE2MTBCQjMA".into(),
                DeliveryState::Failed,
                "131047".into()
            ),
        ]
    );
}

#[test]
fn messenger_and_instagram_webhooks() {
    let body = fixture("messenger_message.json");
    let events = handle_webhook_post(SECRET, Some(&sign(SECRET, &body)), &body, now()).unwrap();
    assert_eq!(events.len(), 2, "echo skipped: {events:?}");
    let ChannelEvent::Inbound(m) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(m.channel, Channel::Messenger);
    assert_eq!(m.from, Identity::ChannelId("7012345678901234".into()));
    assert_eq!(m.to, Identity::ChannelId("1234567890123456".into()));
    assert_eq!(m.text, "Bonjour, je voudrais changer d'offre");
    assert_eq!(m.received_at, Timestamp::from_millis(1_764_450_000_100));
    let ChannelEvent::Status(s) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (s.provider_message_id.as_str(), &s.state),
        ("m_our_reply_1", &DeliveryState::Delivered)
    );

    let body = fixture("instagram_message.json");
    let events = handle_webhook_post(SECRET, Some(&sign(SECRET, &body)), &body, now()).unwrap();
    let [ChannelEvent::Inbound(m)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(m.channel, Channel::Instagram);
    assert_eq!(m.text, "Hello, is the shop open on Sunday?");
}

/// One request seen by the stand-in: path, Authorization header, JSON body.
type Seen = Arc<Mutex<Vec<(String, String, Value)>>>;

async fn graph(
    State(seen): State<Seen>,
    Path((version, node)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    seen.lock()
        .expect("lock")
        .push((format!("/{version}/{node}/messages"), auth, body.clone()));
    let parse =
        |name: &str| -> Value { serde_json::from_slice(&fixture(name)).expect("fixture JSON") };
    if body["to"] == "22990000000" {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(parse("graph_error_rate_limit.json")),
        );
    }
    if node == "me" {
        (StatusCode::OK, Json(parse("messenger_send_response.json")))
    } else {
        (StatusCode::OK, Json(parse("whatsapp_send_response.json")))
    }
}

async fn stand_in() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/{version}/{node}/messages", post(graph))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

fn adapter(base: String) -> MetaAdapter {
    MetaAdapter::new(
        MetaConfig {
            graph_base: base,
            api_version: "v21.0".into(),
            access_token: "EAAtest".into(),
            whatsapp_phone_number_id: Some("106540352242922".into()),
        },
        reqwest::Client::new(),
    )
}

#[tokio::test]
async fn whatsapp_sends_respect_the_24_hour_window() {
    let (base, seen) = stand_in().await;
    let a = adapter(base);
    let to = Identity::from_msisdn("22997000000");
    let mut msg = OutboundMessage::text(Channel::Whatsapp, to.clone(), "Votre ligne est rétablie.");
    msg.customer_last_inbound_at = Some(now().add_millis(-2 * H));
    let r = a.send_at(&msg, now()).await.expect("send in window");
    assert_eq!(
        r.provider_message_ids,
        vec!["wamid.HBgLMjI5OTcwMDAwMDAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA".to_string()]
    );
    {
        let seen = seen.lock().unwrap();
        let (path, auth, body) = &seen[0];
        assert_eq!(path, "/v21.0/106540352242922/messages");
        assert_eq!(auth, "Bearer EAAtest");
        assert_eq!(
            body,
            &json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "22997000000",
                "type": "text",
                "text": {"preview_url": false, "body": "Votre ligne est rétablie."}
            })
        );
    }

    // 25 h later: free text refused before any request.
    msg.customer_last_inbound_at = Some(now().add_millis(-25 * H));
    assert!(matches!(
        a.send_at(&msg, now()).await,
        Err(ChannelError::WindowClosed)
    ));
    assert_eq!(seen.lock().unwrap().len(), 1);

    // A template is allowed outside the window.
    msg.template = Some(TemplateRef {
        name: "ligne_retablie".into(),
        language: "fr".into(),
        body_params: vec!["22997000000".into()],
    });
    a.send_at(&msg, now()).await.expect("template");
    let body = seen.lock().unwrap()[1].2.clone();
    assert_eq!(body["type"], "template");
    assert_eq!(body["template"]["name"], "ligne_retablie");
    assert_eq!(body["template"]["language"]["code"], "fr");

    // Rate limited (HTTP 429, code 130429): temporary, the outbox retries.
    let mut limited =
        OutboundMessage::text(Channel::Whatsapp, Identity::from_msisdn("22990000000"), "x");
    limited.customer_last_inbound_at = Some(now());
    let err = a.send_at(&limited, now()).await.unwrap_err();
    assert!(
        matches!(&err, ChannelError::Temporary(d) if d.contains("130429")),
        "{err:?}"
    );
}

#[tokio::test]
async fn messenger_send_and_human_agent_tag() {
    let (base, seen) = stand_in().await;
    let a = adapter(base);
    let psid = Identity::ChannelId("7012345678901234".into());
    let mut msg = OutboundMessage::text(Channel::Messenger, psid, "Bien sûr, voici les offres.");
    msg.customer_last_inbound_at = Some(now().add_millis(-H));
    let r = a.send_at(&msg, now()).await.expect("send");
    assert_eq!(
        r.provider_message_ids,
        vec!["m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_reply_0001".to_string()]
    );
    msg.customer_last_inbound_at = Some(now().add_millis(-48 * H));
    a.send_at(&msg, now()).await.expect("tagged send");
    msg.customer_last_inbound_at = Some(now().add_millis(-8 * 24 * H));
    assert!(matches!(
        a.send_at(&msg, now()).await,
        Err(ChannelError::WindowClosed)
    ));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, "/v21.0/me/messages");
    assert_eq!(
        seen[0].2,
        json!({"recipient": {"id": "7012345678901234"}, "messaging_type": "RESPONSE", "message": {"text": "Bien sûr, voici les offres."}})
    );
    assert_eq!(seen[1].2["messaging_type"], "MESSAGE_TAG");
    assert_eq!(seen[1].2["tag"], "HUMAN_AGENT");
}
