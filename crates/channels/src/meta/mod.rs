//! WhatsApp Business Cloud API and Messenger/Instagram (Meta Graph API).
//!
//! Inbound arrives by webhook: the server mounts [`webhook::verify_subscription`]
//! (GET) and [`handle_webhook_post`] (POST), which checks `X-Hub-Signature-256`
//! and parses the payload ([`parse`]). Outbound goes through [`MetaAdapter`]
//! to a configurable Graph base URL:
//!
//! - WhatsApp: `POST {base}/{version}/{phone_number_id}/messages` with
//!   `{"messaging_product":"whatsapp","to":…,"type":"text","text":{"body":…}}`,
//!   or `"type":"template"` outside the 24-hour window ([`window`]).
//! - Messenger/Instagram: `POST {base}/{version}/me/messages` with
//!   `{"recipient":{"id":…},"messaging_type":"RESPONSE","message":{"text":…}}`.

pub mod parse;
pub mod webhook;
pub mod window;

use async_trait::async_trait;
use domain::{Channel, Timestamp};
use serde_json::{Value, json};

use crate::adapter::{
    ChannelAdapter, ChannelError, ChannelEvent, DeliveryReceipt, Identity, OutboundMessage,
    wall_clock,
};
use webhook::WebhookError;
use window::WindowDecision;

/// Verify and parse one webhook POST: the raw body, the `X-Hub-Signature-256`
/// header, the app secret.
///
/// # Errors
/// [`WebhookError`]: 401 for a missing or bad signature, 400 for a bad payload.
pub fn handle_webhook_post(
    app_secret: &[u8],
    signature_header: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<Vec<ChannelEvent>, WebhookError> {
    if let Err(e) = webhook::verify_signature(app_secret, signature_header, body) {
        tracing::warn!(error = %e, "Meta webhook refused");
        return Err(e);
    }
    parse::parse_webhook(body, now)
}

/// Graph API settings.
#[derive(Clone)]
pub struct MetaConfig {
    /// Base URL, `https://graph.facebook.com` in production (a stand-in in tests).
    pub graph_base: String,
    /// API version path segment, e.g. `"v21.0"`.
    pub api_version: String,
    /// System-user / page access token (Bearer). Never printed.
    pub access_token: String,
    /// The WhatsApp business phone number id (`None` if WhatsApp is not used).
    pub whatsapp_phone_number_id: Option<String>,
}

impl std::fmt::Debug for MetaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaConfig")
            .field("graph_base", &self.graph_base)
            .field("api_version", &self.api_version)
            .field("access_token", &"<redacted>")
            .field("whatsapp_phone_number_id", &self.whatsapp_phone_number_id)
            .finish()
    }
}

/// The WhatsApp/Messenger/Instagram adapter (outbound over HTTPS).
#[derive(Clone, Debug)]
pub struct MetaAdapter {
    config: MetaConfig,
    http: reqwest::Client,
}

/// The JSON body of a WhatsApp send: text, or the template when one is given.
pub fn whatsapp_body(to: &str, msg: &OutboundMessage) -> Value {
    match &msg.template {
        Some(t) => {
            let params: Vec<Value> = t
                .body_params
                .iter()
                .map(|p| json!({"type": "text", "text": p}))
                .collect();
            let components = if params.is_empty() {
                json!([])
            } else {
                json!([{"type": "body", "parameters": params}])
            };
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "template",
                "template": {"name": t.name, "language": {"code": t.language}, "components": components}
            })
        }
        None => json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": false, "body": msg.text}
        }),
    }
}

/// The JSON body of a Messenger/Instagram send.
pub fn messenger_body(psid: &str, text: &str, tag: bool) -> Value {
    if tag {
        json!({"recipient": {"id": psid}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT", "message": {"text": text}})
    } else {
        json!({"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": text}})
    }
}

impl MetaAdapter {
    /// Build the adapter. `http` lets the server share one client (and its TLS
    /// configuration).
    pub fn new(config: MetaConfig, http: reqwest::Client) -> Self {
        Self { config, http }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/{}/{}",
            self.config.graph_base.trim_end_matches('/'),
            self.config.api_version,
            path
        )
    }

    async fn post(&self, url: &str, body: &Value) -> Result<Value, ChannelError> {
        let resp = self
            .http
            .post(url)
            .bearer_auth(&self.config.access_token)
            .json(body)
            .send()
            .await
            .map_err(|e| ChannelError::Temporary(format!("Graph API unreachable: {e}")))?;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.map_err(|e| {
            ChannelError::Protocol(format!("Graph API answer (HTTP {status}): {e}"))
        })?;
        if (200..300).contains(&status) {
            return Ok(v);
        }
        let err = v.get("error");
        let code = err.and_then(|e| e.get("code")).and_then(Value::as_i64);
        let text = err
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let detail = format!("HTTP {status}, code {}: {text}", code.unwrap_or(0));
        Err(match (status, code) {
            // Re-engagement message: the 24-hour window is closed.
            (_, Some(131047)) => ChannelError::WindowClosed,
            // Rate limits and temporary Graph errors.
            (429, _) | (500..=599, _) | (_, Some(4 | 80007 | 130429 | 131048 | 131056)) => {
                ChannelError::Temporary(detail)
            }
            _ => ChannelError::Rejected(detail),
        })
    }

    /// [`ChannelAdapter::send`] with the clock passed in (the window check uses
    /// `now`).
    ///
    /// # Errors
    /// [`ChannelError::WindowClosed`] for free text outside the window; Graph
    /// errors mapped to temporary/rejected.
    pub async fn send_at(
        &self,
        msg: &OutboundMessage,
        now: Timestamp,
    ) -> Result<DeliveryReceipt, ChannelError> {
        let recipient = match &msg.to {
            Identity::Phone(_) | Identity::ChannelId(_) | Identity::Address(_) => msg.to.wire(),
            Identity::Email(e) => {
                return Err(ChannelError::BadRecipient(format!(
                    "{e:?} on {:?}",
                    msg.channel
                )));
            }
        };
        let decision = window::decide(msg.channel, msg.customer_last_inbound_at, now);
        match msg.channel {
            Channel::Whatsapp => {
                let phone_id = self
                    .config
                    .whatsapp_phone_number_id
                    .as_deref()
                    .ok_or(ChannelError::UnsupportedChannel(Channel::Whatsapp))?;
                if msg.template.is_none() && decision != WindowDecision::FreeText {
                    return Err(ChannelError::WindowClosed);
                }
                let v = self
                    .post(
                        &self.url(&format!("{phone_id}/messages")),
                        &whatsapp_body(recipient, msg),
                    )
                    .await?;
                let id = v
                    .get("messages")
                    .and_then(|m| m.get(0))
                    .and_then(|m| m.get("id"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| ChannelError::Protocol(format!("no messages[0].id in {v}")))?;
                Ok(DeliveryReceipt {
                    provider_message_ids: vec![id.to_string()],
                })
            }
            Channel::Messenger | Channel::Instagram => {
                let tag = match decision {
                    WindowDecision::FreeText => false,
                    WindowDecision::HumanAgentTag => true,
                    WindowDecision::TemplateOnly => return Err(ChannelError::WindowClosed),
                };
                let v = self
                    .post(
                        &self.url("me/messages"),
                        &messenger_body(recipient, &msg.text, tag),
                    )
                    .await?;
                let id = v
                    .get("message_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ChannelError::Protocol(format!("no message_id in {v}")))?;
                Ok(DeliveryReceipt {
                    provider_message_ids: vec![id.to_string()],
                })
            }
            other => Err(ChannelError::UnsupportedChannel(other)),
        }
    }
}

#[async_trait]
impl ChannelAdapter for MetaAdapter {
    fn channels(&self) -> &[Channel] {
        &[Channel::Whatsapp, Channel::Messenger, Channel::Instagram]
    }

    async fn send(&self, msg: &OutboundMessage) -> Result<DeliveryReceipt, ChannelError> {
        self.send_at(msg, wall_clock()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::TemplateRef;

    #[test]
    fn whatsapp_text_and_template_bodies() {
        let mut m = OutboundMessage::text(
            Channel::Whatsapp,
            Identity::from_msisdn("22997000000"),
            "Bonjour",
        );
        let v = whatsapp_body("22997000000", &m);
        assert_eq!(v["type"], "text");
        assert_eq!(v["text"]["body"], "Bonjour");
        assert_eq!(v["messaging_product"], "whatsapp");
        m.template = Some(TemplateRef {
            name: "csat_survey".into(),
            language: "fr".into(),
            body_params: vec!["Aïcha".into()],
        });
        let v = whatsapp_body("22997000000", &m);
        assert_eq!(v["type"], "template");
        assert_eq!(v["template"]["name"], "csat_survey");
        assert_eq!(v["template"]["language"]["code"], "fr");
        assert_eq!(
            v["template"]["components"][0]["parameters"][0]["text"],
            "Aïcha"
        );
    }

    #[test]
    fn messenger_tag_body() {
        let v = messenger_body("123", "hi", true);
        assert_eq!(v["messaging_type"], "MESSAGE_TAG");
        assert_eq!(v["tag"], "HUMAN_AGENT");
        assert_eq!(
            messenger_body("123", "hi", false)["messaging_type"],
            "RESPONSE"
        );
    }
}
