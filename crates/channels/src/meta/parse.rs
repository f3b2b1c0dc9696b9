//! Parsing of Meta webhook payloads into [`ChannelEvent`]s (pure).
//!
//! - WhatsApp Business Cloud API (`"object":"whatsapp_business_account"`):
//!   `entry[].changes[].value.messages[]` (customer messages) and
//!   `entry[].changes[].value.statuses[]` (sent/delivered/read/failed).
//! - Messenger (`"object":"page"`) and Instagram (`"object":"instagram"`):
//!   `entry[].messaging[]` with `sender.id`, `recipient.id`, `message.mid`,
//!   `message.text` (echoes of our own messages skipped) and `delivery.mids`.
//!
//! Unknown message types become a placeholder text (`"[image]"`, with the
//! caption if any) so the agent sees that something arrived; media download is
//! the engine's job (it needs a Graph call with the media id).

use domain::{Channel, Timestamp};
use serde_json::Value;

use crate::adapter::{
    ChannelEvent, DeliveryState, Identity, InboundMessage, StatusUpdate, ThreadKeys,
};
use crate::meta::webhook::WebhookError;

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// WhatsApp timestamps are Unix seconds as a string; `now` when absent or bad.
fn wa_time(v: &Value, now: Timestamp) -> Timestamp {
    s(v, "timestamp")
        .and_then(|t| t.parse::<i64>().ok())
        .map(|secs| Timestamp::from_millis(secs.saturating_mul(1000)))
        .unwrap_or(now)
}

/// Parse any Meta webhook body (already signature-checked).
///
/// # Errors
/// [`WebhookError::BadPayload`] when the body is not JSON or `object` is not
/// one of `whatsapp_business_account`, `page`, `instagram`.
pub fn parse_webhook(body: &[u8], now: Timestamp) -> Result<Vec<ChannelEvent>, WebhookError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::BadPayload(e.to_string()))?;
    match s(&v, "object") {
        Some("whatsapp_business_account") => Ok(parse_whatsapp(&v, now)),
        Some("page") => Ok(parse_messaging(&v, Channel::Messenger, now)),
        Some("instagram") => Ok(parse_messaging(&v, Channel::Instagram, now)),
        other => Err(WebhookError::BadPayload(format!(
            "unknown object {other:?}"
        ))),
    }
}

fn wa_text(m: &Value) -> String {
    let kind = s(m, "type").unwrap_or("unknown");
    let nested = |a: &str, b: &str| m.get(a).and_then(|x| s(x, b)).map(str::to_string);
    match kind {
        "text" => nested("text", "body").unwrap_or_default(),
        "button" => nested("button", "text").unwrap_or_default(),
        "interactive" => m
            .get("interactive")
            .and_then(|i| {
                i.get("button_reply")
                    .or_else(|| i.get("list_reply"))
                    .and_then(|r| s(r, "title"))
            })
            .unwrap_or("")
            .to_string(),
        other => match m.get(other).and_then(|x| s(x, "caption")) {
            Some(c) => format!("[{other}] {c}"),
            None => format!("[{other}]"),
        },
    }
}

fn parse_whatsapp(v: &Value, now: Timestamp) -> Vec<ChannelEvent> {
    let mut out = Vec::new();
    for entry in arr(v, "entry") {
        for change in arr(entry, "changes") {
            let Some(value) = change.get("value") else {
                continue;
            };
            let ours = value
                .get("metadata")
                .and_then(|m| s(m, "phone_number_id"))
                .unwrap_or("");
            for m in arr(value, "messages") {
                let (Some(from), Some(id)) = (s(m, "from"), s(m, "id")) else {
                    tracing::warn!("WhatsApp message without from/id skipped");
                    continue;
                };
                let context = m
                    .get("context")
                    .and_then(|c| s(c, "id"))
                    .map(str::to_string);
                out.push(ChannelEvent::Inbound(InboundMessage {
                    channel: Channel::Whatsapp,
                    from: Identity::from_msisdn(from),
                    to: Identity::ChannelId(ours.to_string()),
                    text: wa_text(m),
                    provider_message_id: Some(id.to_string()),
                    thread: ThreadKeys {
                        in_reply_to: context,
                        ..ThreadKeys::default()
                    },
                    attachments: Vec::new(),
                    received_at: wa_time(m, now),
                }));
            }
            for st in arr(value, "statuses") {
                let Some(id) = s(st, "id") else { continue };
                let word = s(st, "status").unwrap_or("");
                let state = match word {
                    "sent" => DeliveryState::Sent,
                    "delivered" => DeliveryState::Delivered,
                    "read" => DeliveryState::Read,
                    "failed" => DeliveryState::Failed,
                    other => {
                        tracing::debug!(status = other, "unknown WhatsApp status skipped");
                        continue;
                    }
                };
                let code = arr(st, "errors")
                    .first()
                    .and_then(|e| e.get("code"))
                    .map(|c| c.to_string());
                out.push(ChannelEvent::Status(StatusUpdate {
                    channel: Channel::Whatsapp,
                    provider_message_id: id.to_string(),
                    state,
                    detail: code.unwrap_or_else(|| word.to_string()),
                    at: wa_time(st, now),
                }));
            }
        }
    }
    out
}

fn parse_messaging(v: &Value, channel: Channel, now: Timestamp) -> Vec<ChannelEvent> {
    let mut out = Vec::new();
    for entry in arr(v, "entry") {
        for ev in arr(entry, "messaging") {
            let sender = ev.get("sender").and_then(|x| s(x, "id"));
            let recipient = ev.get("recipient").and_then(|x| s(x, "id"));
            let at = ev
                .get("timestamp")
                .and_then(Value::as_i64)
                .map(Timestamp::from_millis)
                .unwrap_or(now);
            if let Some(msg) = ev.get("message") {
                if msg.get("is_echo").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                let (Some(from), Some(mid)) = (sender, s(msg, "mid")) else {
                    tracing::warn!("Messenger message without sender/mid skipped");
                    continue;
                };
                let mut text = s(msg, "text").unwrap_or("").to_string();
                if text.is_empty() {
                    let kinds: Vec<&str> = arr(msg, "attachments")
                        .iter()
                        .filter_map(|a| s(a, "type"))
                        .collect();
                    if !kinds.is_empty() {
                        text = format!("[{}]", kinds.join(", "));
                    }
                }
                let reply_to = msg
                    .get("reply_to")
                    .and_then(|r| s(r, "mid"))
                    .map(str::to_string);
                out.push(ChannelEvent::Inbound(InboundMessage {
                    channel,
                    from: Identity::ChannelId(from.to_string()),
                    to: Identity::ChannelId(recipient.unwrap_or("").to_string()),
                    text,
                    provider_message_id: Some(mid.to_string()),
                    thread: ThreadKeys {
                        in_reply_to: reply_to,
                        ..ThreadKeys::default()
                    },
                    attachments: Vec::new(),
                    received_at: at,
                }));
            } else if let Some(d) = ev.get("delivery") {
                for mid in arr(d, "mids").iter().filter_map(Value::as_str) {
                    out.push(ChannelEvent::Status(StatusUpdate {
                        channel,
                        provider_message_id: mid.to_string(),
                        state: DeliveryState::Delivered,
                        detail: "delivery".to_string(),
                        at,
                    }));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_json_or_unknown_object_is_bad_payload() {
        let now = Timestamp::from_millis(0);
        assert!(matches!(
            parse_webhook(b"{not json", now),
            Err(WebhookError::BadPayload(_))
        ));
        assert!(matches!(
            parse_webhook(br#"{"object":"user"}"#, now),
            Err(WebhookError::BadPayload(_))
        ));
        // Known object, odd shapes: nothing, no panic.
        assert_eq!(
            parse_webhook(
                br#"{"object":"page","entry":[{"messaging":[{"message":{}}]}]}"#,
                now
            )
            .unwrap(),
            vec![]
        );
        assert_eq!(
            parse_webhook(
                br#"{"object":"whatsapp_business_account","entry":"x"}"#,
                now
            )
            .unwrap(),
            vec![]
        );
    }
}
