//! The web chat: a WebSocket for site visitors (`GET /webchat/ws`), the adapter
//! that delivers agents' replies to their sockets, and the embeddable widget
//! (`GET /widget.js`, one `<script src=".../widget.js" defer></script>` tag).
//!
//! Protocol (JSON text frames):
//!
//! | from | type | fields |
//! |---|---|---|
//! | visitor | `hello` | `visitor` (8-64 of `[A-Za-z0-9_-]`, kept in localStorage), optional `name`, `email`, `phone` |
//! | visitor | `message` | `text` (1-4096 characters), `cid` (the client's id, acknowledged) |
//! | visitor | `typing` | — (shown to the agent, at most every 2 s) |
//! | server | `welcome` | `visitor`, `agents_online`, `history`: `[{from: "visitor"\|"agent"\|"bot", text, at}]` of the open conversation |
//! | server | `ack` | `cid` |
//! | server | `message` | `from: "agent"` or `"bot"` (the chatbot), `text`, `at` |
//! | server | `typing` | `from: "agent"` (the agent is typing a reply) |
//! | server | `notice` | `text` (the offline message when no agent is logged in) |
//! | server | `error` | `text` |
//!
//! A visitor's message is acknowledged after it is stored; the widget keeps
//! unacknowledged messages and sends them again after a reconnect (the
//! server drops a `cid` it has seen). Replies are kept in the conversation's
//! event log and come back in `history` on reconnect.

use super::Messaging;
use crate::api::AppState;
use async_trait::async_trait;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use channels::{
    ChannelAdapter, ChannelError, DeliveryReceipt, Identity as Addr, InboundMessage,
    OutboundMessage, ThreadKeys,
};
use domain::{Channel, ChannelIdentity, Direction, EventKind, InteractionId, Timestamp};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use store::{EventFilter, Identity, InteractionFilter};
use tokio::sync::mpsc;

/// The widget's source.
const WIDGET_JS: &str = include_str!("widget.js");
/// Client message ids remembered per visitor, to drop resent duplicates.
const SEEN_CIDS: usize = 200;

/// Frames queued for one visitor socket. A browser that reads none of 256
/// frames is gone or stuck: the socket is dropped from the hub (its
/// connection closes) and the visitor gets what it missed from the event
/// log at its next `welcome`.
const SOCKET_FRAMES: usize = 256;

/// One open socket of a visitor: its id and its outgoing frames.
type Socket = (u64, mpsc::Sender<String>);

/// The visitors' open sockets.
#[derive(Debug, Default)]
pub struct Hub {
    sockets: Mutex<HashMap<String, Vec<Socket>>>,
    seen: Mutex<HashMap<String, VecDeque<String>>>,
    next: AtomicU64,
}

impl Hub {
    fn attach(&self, visitor: &str) -> (u64, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(SOCKET_FRAMES);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(visitor.to_string())
            .or_default()
            .push((id, tx));
        (id, rx)
    }

    fn detach(&self, visitor: &str, id: u64) {
        let mut map = self.sockets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = map.get_mut(visitor) {
            v.retain(|(i, _)| *i != id);
            if v.is_empty() {
                map.remove(visitor);
            }
        }
    }

    /// Send a frame to every socket of `visitor`; returns how many got it.
    /// A socket with [`SOCKET_FRAMES`] frames unread is dropped (see there).
    pub fn deliver(&self, visitor: &str, frame: &str) -> usize {
        let mut map = self.sockets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(v) = map.get_mut(visitor) else {
            return 0;
        };
        let mut got = 0;
        v.retain(|(id, tx)| match tx.try_send(frame.to_string()) {
            Ok(()) => {
                got += 1;
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(visitor, socket = id, "web chat socket not reading: closed");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        if v.is_empty() {
            map.remove(visitor);
        }
        got
    }

    /// True the first time `cid` is seen for `visitor`.
    fn first_time(&self, visitor: &str, cid: &str) -> bool {
        let mut map = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let q = map.entry(visitor.to_string()).or_default();
        if q.iter().any(|c| c == cid) {
            return false;
        }
        if q.len() >= SEEN_CIDS {
            q.pop_front();
        }
        q.push_back(cid.to_string());
        true
    }
}

/// The web chat adapter: replies go to the visitor's open sockets. A visitor
/// who is away gets them from the event log at the next `welcome`, so a send
/// always succeeds.
#[derive(Debug)]
pub struct WebchatAdapter {
    hub: std::sync::Arc<Hub>,
    counter: AtomicU64,
}

impl WebchatAdapter {
    /// An adapter over `hub`.
    pub fn new(hub: std::sync::Arc<Hub>) -> Self {
        Self {
            hub,
            counter: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl ChannelAdapter for WebchatAdapter {
    fn channels(&self) -> &[Channel] {
        &[Channel::Webchat]
    }

    async fn send(&self, msg: &OutboundMessage) -> Result<DeliveryReceipt, ChannelError> {
        if msg.channel != Channel::Webchat {
            return Err(ChannelError::UnsupportedChannel(msg.channel));
        }
        let visitor = msg.to.wire();
        if !valid_visitor(visitor) {
            return Err(ChannelError::BadRecipient(format!("visitor {visitor:?}")));
        }
        let from = match &msg.from {
            Some(Addr::ChannelId(id)) if id == "bot" => "bot",
            _ => "agent",
        };
        let frame = json!({"type": "message", "from": from, "text": msg.text, "at": crate::now()});
        let sockets = self.hub.deliver(visitor, &frame.to_string());
        tracing::debug!(visitor, sockets, "web chat reply delivered");
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        Ok(DeliveryReceipt {
            provider_message_ids: vec![format!("webchat-{}-{n}", crate::now().as_millis())],
        })
    }
}

fn valid_visitor(v: &str) -> bool {
    (8..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /webchat`: a demo page of a customer's site with the widget embedded
/// (the one tag to copy).
pub async fn demo_page() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Web chat</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body style=\"font-family:sans-serif\"><h1>Demo site</h1>\
         <p>The chat button (bottom right) is this one tag:</p>\
         <pre>&lt;script src=\"/widget.js\" defer&gt;&lt;/script&gt;</pre>\
         <script src=\"/widget.js\" defer></script></body></html>",
    )
        .into_response()
}

/// `GET /widget.js`: the embeddable widget.
pub async fn widget_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        WIDGET_JS,
    )
        .into_response()
}

/// `GET /webchat/ws`: a visitor's WebSocket (module docs).
pub async fn ws(State(s): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    let Some(m) = s.messaging.clone() else {
        return (StatusCode::NOT_FOUND, "web chat is off").into_response();
    };
    upgrade
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| session(m, socket))
}

fn frame(v: Value) -> Message {
    Message::Text(v.to_string().into())
}

async fn session(m: Messaging, mut socket: WebSocket) {
    // The first frame must be `hello`, within 30 s.
    let hello = match tokio::time::timeout(std::time::Duration::from_secs(30), socket.recv()).await
    {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str::<Value>(&t).ok(),
        _ => None,
    };
    let Some(hello) = hello.filter(|h| h["type"] == "hello") else {
        let _ = socket
            .send(frame(json!({"type": "error", "text": "expected hello"})))
            .await;
        return;
    };
    let visitor = hello["visitor"].as_str().unwrap_or_default().to_string();
    if !valid_visitor(&visitor) {
        let _ = socket
            .send(frame(json!({"type": "error", "text": "bad visitor id"})))
            .await;
        return;
    }
    let mut extra = Vec::new();
    if let Some(e) = hello["email"]
        .as_str()
        .map(str::trim)
        .filter(|e| e.contains('@') && e.len() <= 254)
    {
        extra.push(Identity::Email(e.to_lowercase()));
    }
    if let Some(p) = hello["phone"].as_str().filter(|p| !p.trim().is_empty())
        && let Ok(p) = domain::phone::normalize_e164(p, Some(&m.inner.default_country))
    {
        extra.push(Identity::Phone(p));
    }
    let name = hello["name"]
        .as_str()
        .map(|n| n.trim().chars().take(100).collect::<String>());

    let online = agents_online(&m).await;
    let history = history(&m, &visitor).await;
    let welcome =
        json!({"type": "welcome", "visitor": visitor, "agents_online": online, "history": history});
    if socket.send(frame(welcome)).await.is_err() {
        return;
    }
    let (id, mut rx) = m.inner.webchat.attach(&visitor);
    let mut told_offline = false;
    let mut last_typing: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(text) => if socket.send(Message::Text(text.into())).await.is_err() { break },
                None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    let Ok(v) = serde_json::from_str::<Value>(&t) else { continue };
                    if v["type"] == "typing" {
                        // Shown to the agent, at most every 2 s.
                        if last_typing.is_none_or(|t: std::time::Instant| t.elapsed() >= TYPING_EVERY)
                            && let (Some(engine), Some(id)) = (&m.inner.engine, open_conversation(&m, &visitor).await)
                        {
                            last_typing = Some(std::time::Instant::now());
                            let _ = engine.customer_typing(id).await;
                        }
                        continue;
                    }
                    if v["type"] != "message" {
                        continue;
                    }
                    let text = v["text"].as_str().unwrap_or_default().trim().to_string();
                    let cid = v["cid"].as_str().unwrap_or_default().chars().take(64).collect::<String>();
                    if text.is_empty() || text.chars().count() > 4096 {
                        let _ = socket.send(frame(json!({"type": "error", "text": "text: 1 to 4096 characters", "cid": cid}))).await;
                        continue;
                    }
                    if !cid.is_empty() && !m.inner.webchat.first_time(&visitor, &cid) {
                        let _ = socket.send(frame(json!({"type": "ack", "cid": cid}))).await;
                        continue;
                    }
                    let inbound = super::Inbound {
                        message: InboundMessage {
                            channel: Channel::Webchat,
                            from: Addr::ChannelId(visitor.clone()),
                            to: Addr::ChannelId("webchat".into()),
                            text,
                            provider_message_id: None,
                            thread: ThreadKeys::default(),
                            attachments: Vec::new(),
                            received_at: crate::now(),
                        },
                        extra: extra.clone(),
                        name: name.clone(),
                        subject: None,
                    };
                    let conversation = match m.ingest(inbound).await {
                        Ok(outcome) => {
                            let _ = socket.send(frame(json!({"type": "ack", "cid": cid}))).await;
                            match outcome {
                                super::ingest::Outcome::Conversation { interaction, .. } => Some(interaction),
                                _ => None,
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "web chat message not stored");
                            let _ = socket.send(frame(json!({"type": "error", "text": "not stored, try again", "cid": cid}))).await;
                            continue;
                        }
                    };
                    // While the chatbot answers, no agent is needed yet: the
                    // notice waits for a hand-over with nobody online.
                    if !told_offline && !bot_answers(&m, conversation).await && !agents_online(&m).await {
                        told_offline = true;
                        let text = m.inner.cfg.webchat.offline_message.clone();
                        let _ = socket.send(frame(json!({"type": "notice", "text": text}))).await;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    m.inner.webchat.detach(&visitor, id);
}

/// True when the chatbot has `conversation` (not handed over).
async fn bot_answers(m: &Messaging, conversation: Option<InteractionId>) -> bool {
    match (&m.inner.engine, conversation) {
        (Some(e), Some(id)) => e.bot_has(id).await.unwrap_or(false),
        _ => false,
    }
}

/// True when at least one agent is logged in to the ACD.
async fn agents_online(m: &Messaging) -> bool {
    match &m.inner.engine {
        Some(e) => e
            .agent_stats()
            .await
            .map(|v| !v.is_empty())
            .unwrap_or(false),
        None => false,
    }
}

/// The visitor's open web chat conversation, as `{from, text, at}` items.
/// Typing indications go to the agent at most this often.
const TYPING_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The visitor's open web chat conversation, if any.
async fn open_conversation(m: &Messaging, visitor: &str) -> Option<domain::InteractionId> {
    let store = &m.inner.store;
    let ident = Identity::Channel(ChannelIdentity {
        channel: Channel::Webchat,
        id: visitor.to_string(),
    });
    let c = store.find_customer_by_identity(&ident).await.ok()??;
    store
        .list_interactions(&InteractionFilter {
            customer_id: Some(c.id),
            channel: Some(Channel::Webchat),
            limit: 5,
            ..InteractionFilter::default()
        })
        .await
        .ok()?
        .into_iter()
        .find(|i| i.ended_at.is_none())
        .map(|i| i.id)
}

async fn history(m: &Messaging, visitor: &str) -> Vec<Value> {
    let store = &m.inner.store;
    let ident = Identity::Channel(ChannelIdentity {
        channel: Channel::Webchat,
        id: visitor.to_string(),
    });
    let Ok(Some(c)) = store.find_customer_by_identity(&ident).await else {
        return Vec::new();
    };
    let window_ms = i64::try_from(m.inner.cfg.reopen_window_s)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    let now = crate::now();
    let Ok(list) = store
        .list_interactions(&InteractionFilter {
            customer_id: Some(c.id),
            channel: Some(Channel::Webchat),
            from: Some(Timestamp::from_millis(
                now.as_millis().saturating_sub(window_ms),
            )),
            limit: 20,
            ..InteractionFilter::default()
        })
        .await
    else {
        return Vec::new();
    };
    let Some(open) = list
        .into_iter()
        .find(|i| i.ended_at.is_none() && i.direction == Direction::Inbound)
    else {
        return Vec::new();
    };
    let evs = store
        .list_events(&EventFilter {
            interaction_id: Some(open.id),
            limit: 10_000,
            ..EventFilter::default()
        })
        .await
        .unwrap_or_default();
    evs.into_iter()
        .filter_map(|e| match e.kind {
            EventKind::MessageIn { text } => {
                Some(json!({"from": "visitor", "text": text, "at": e.at}))
            }
            EventKind::MessageOut { text } => {
                Some(json!({"from": "agent", "text": text, "at": e.at}))
            }
            EventKind::BotReplied { text } => {
                Some(json!({"from": "bot", "text": text, "at": e.at}))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitor_ids_are_checked() {
        assert!(valid_visitor("a1b2c3d4-e5f6"));
        assert!(!valid_visitor("short"));
        assert!(!valid_visitor("abc<script>def"));
        assert!(!valid_visitor(&"a".repeat(65)));
    }

    #[tokio::test]
    async fn a_reply_reaches_every_socket_of_the_visitor_and_duplicates_are_dropped() {
        let hub = std::sync::Arc::new(Hub::default());
        let (_a, mut ra) = hub.attach("visitor-0001");
        let (b, mut rb) = hub.attach("visitor-0001");
        let ad = WebchatAdapter::new(hub.clone());
        let r = ad
            .send(&OutboundMessage::text(
                Channel::Webchat,
                Addr::ChannelId("visitor-0001".into()),
                "Bonjour <b>",
            ))
            .await
            .unwrap();
        assert_eq!(r.provider_message_ids.len(), 1);
        for rx in [&mut ra, &mut rb] {
            let v: Value = serde_json::from_str(&rx.recv().await.unwrap()).unwrap();
            assert_eq!(
                (v["from"].as_str(), v["text"].as_str()),
                (Some("agent"), Some("Bonjour <b>"))
            );
        }
        hub.detach("visitor-0001", b);
        assert_eq!(hub.deliver("visitor-0001", "x"), 1);
        assert!(hub.first_time("visitor-0001", "c1"));
        assert!(!hub.first_time("visitor-0001", "c1"));
        assert!(hub.first_time("visitor-0002", "c1"));
    }
}

#[cfg(test)]
mod hub_tests {
    use super::*;

    #[test]
    fn a_socket_that_reads_nothing_is_dropped_past_its_queue_and_the_others_go_on() {
        let hub = Hub::default();
        let (_, mut stuck) = hub.attach("v1");
        let (_, mut live) = hub.attach("v1");
        for i in 0..SOCKET_FRAMES {
            assert_eq!(hub.deliver("v1", &format!("f{i}")), 2);
            // the live socket reads each frame
            assert_eq!(live.try_recv().ok(), Some(format!("f{i}")));
        }
        // The stuck one is full: dropped, the live one still served.
        assert_eq!(hub.deliver("v1", "next"), 1);
        assert_eq!(live.try_recv().ok(), Some("next".to_string()));
        // It keeps what was queued, then sees its end (its connection closes).
        let mut n = 0;
        while stuck.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, SOCKET_FRAMES);
        assert!(matches!(
            stuck.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
    }
}
