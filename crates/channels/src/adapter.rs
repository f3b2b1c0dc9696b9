//! The one interface every digital channel implements (SPEC.md §3.1), and the
//! normalised messages that cross it.
//!
//! The engine owns an adapter per configured channel. Outbound, it calls
//! [`ChannelAdapter::send`] with an [`OutboundMessage`] taken from the durable
//! outbox ([`crate::outbox`]). Inbound, each adapter pushes [`ChannelEvent`]s
//! (new [`InboundMessage`]s and [`StatusUpdate`]s) into the tokio mpsc
//! [`EventSender`] the engine handed it. Adapters never call each other and never
//! touch the store (ARCHITECTURE.md, "Crates and dependency direction").

use async_trait::async_trait;
use domain::{Channel, PhoneNumber, Timestamp};
use serde::{Deserialize, Serialize};

/// Where the engine receives what adapters hear from providers.
pub type EventSender = tokio::sync::mpsc::Sender<ChannelEvent>;

/// Who sent or receives a message, in the channel's own addressing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Identity {
    /// An E.164 phone number (SMS; WhatsApp ids are phone numbers too).
    Phone(PhoneNumber),
    /// A raw SMS address that is not a phone number (alphanumeric sender id,
    /// short code such as `"1234"`), kept verbatim.
    Address(String),
    /// An e-mail address (`local@domain`, lower-cased domain not enforced).
    Email(String),
    /// A channel-scoped id: a Messenger page-scoped id (PSID), an Instagram-scoped
    /// id, a WhatsApp phone-number id of our own business number.
    ChannelId(String),
}

impl Identity {
    /// The identity as the provider writes it on the wire: E.164 without the `+`
    /// for phones (SMPP, WhatsApp), the address or id verbatim otherwise.
    pub fn wire(&self) -> &str {
        match self {
            Identity::Phone(p) => p.as_str().trim_start_matches('+'),
            Identity::Address(s) | Identity::Email(s) | Identity::ChannelId(s) => s,
        }
    }

    /// The identity for a recipient stored as plain text (the store's outbox
    /// `recipient` column): a phone for SMS, WhatsApp and voice, an e-mail
    /// address for e-mail, a channel id for Messenger, Instagram and web chat.
    pub fn for_channel(channel: Channel, recipient: &str) -> Identity {
        match channel {
            Channel::Sms | Channel::Whatsapp | Channel::Voice => Identity::from_msisdn(recipient),
            Channel::Email => Identity::Email(recipient.to_string()),
            Channel::Messenger | Channel::Instagram | Channel::Webchat => {
                Identity::ChannelId(recipient.to_string())
            }
        }
    }

    /// A phone identity from a wire address (`"22997000000"` or `"+229..."`);
    /// anything that does not normalise to E.164 becomes [`Identity::Address`].
    pub fn from_msisdn(addr: &str) -> Identity {
        let plus = if addr.starts_with('+') {
            addr.to_string()
        } else {
            format!("+{addr}")
        };
        let digits = addr.trim_start_matches('+');
        if digits.len() >= 8 && digits.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(p) = domain::phone::normalize_e164(&plus, None) {
                return Identity::Phone(p);
            }
            // Not valid for its country's plan (test ranges, new ranges): keep the
            // strict E.164 shape so identities still link.
            if let Ok(p) = PhoneNumber::try_from(plus) {
                return Identity::Phone(p);
            }
        }
        Identity::Address(addr.to_string())
    }
}

/// Keys that tie a message to a conversation thread.
///
/// E-mail fills the RFC 5322 §3.6.4 fields; chat channels fill `conversation`
/// with the provider's thread id when there is one. All optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadKeys {
    /// This message's own `Message-ID` (without angle brackets).
    pub message_id: Option<String>,
    /// `In-Reply-To`: the message this one answers (without angle brackets).
    pub in_reply_to: Option<String>,
    /// `References`: the thread's ancestors, oldest first (without angle brackets).
    pub references: Vec<String>,
    /// A provider conversation id (e.g. a WhatsApp context message id).
    pub conversation: Option<String>,
}

/// A file that came with (or goes with) a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file name the sender gave, if any.
    pub name: Option<String>,
    /// MIME type, e.g. `"application/pdf"`.
    pub content_type: String,
    /// The decoded content.
    pub bytes: Vec<u8>,
}

/// A message from a customer, normalised whatever the channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The channel it arrived on.
    pub channel: Channel,
    /// The customer: phone, e-mail or channel id.
    pub from: Identity,
    /// Our address it was sent to (short code, mailbox, page id, phone-number id).
    pub to: Identity,
    /// Plain text (HTML already reduced to text; may be empty for media only).
    pub text: String,
    /// The provider's id for this message (SMSC message id, `wamid.…`, `mid`,
    /// Message-ID), when it gave one.
    pub provider_message_id: Option<String>,
    /// Threading keys.
    pub thread: ThreadKeys,
    /// Attached files.
    pub attachments: Vec<Attachment>,
    /// When the provider says it was sent, else when we received it.
    pub received_at: Timestamp,
}

/// An approved message template (WhatsApp), the only thing that may be sent
/// outside the 24-hour customer-service window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRef {
    /// Template name as approved by Meta, e.g. `"csat_survey"`.
    pub name: String,
    /// Language code, e.g. `"fr"` or `"en_US"`.
    pub language: String,
    /// Body parameters `{{1}}`, `{{2}}`… in order.
    pub body_params: Vec<String>,
}

/// A message to a customer, as the outbox hands it to an adapter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMessage {
    /// The channel to send on. An adapter refuses channels it does not serve.
    pub channel: Channel,
    /// The customer.
    pub to: Identity,
    /// Our sender identity, when the channel lets us choose (SMS source address,
    /// e-mail From). `None` uses the adapter's configured default.
    pub from: Option<Identity>,
    /// The text body.
    pub text: String,
    /// E-mail subject (ignored elsewhere).
    pub subject: Option<String>,
    /// Threading keys: for e-mail, `in_reply_to`/`references` of the message
    /// answered; `message_id` is set by the adapter if empty.
    pub thread: ThreadKeys,
    /// Send this template instead of free text (WhatsApp outside the window).
    pub template: Option<TemplateRef>,
    /// When the customer last wrote to us on this channel, as the engine knows
    /// it; the Meta adapter uses it for the 24-hour window.
    pub customer_last_inbound_at: Option<Timestamp>,
}

impl OutboundMessage {
    /// A plain text message with no threading, template or window data.
    pub fn text(channel: Channel, to: Identity, text: impl Into<String>) -> Self {
        Self {
            channel,
            to,
            from: None,
            text: text.into(),
            subject: None,
            thread: ThreadKeys::default(),
            template: None,
            customer_last_inbound_at: None,
        }
    }
}

/// What the provider accepted: its id(s) for the message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReceipt {
    /// Provider message ids, one per part (a concatenated SMS has several).
    pub provider_message_ids: Vec<String>,
}

/// Where a sent message is, as the provider reports it later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Accepted by the provider (WhatsApp `sent`).
    Sent,
    /// Reached the handset or mailbox (SMPP `DELIVRD`, WhatsApp `delivered`).
    Delivered,
    /// Read by the customer (WhatsApp `read`).
    Read,
    /// Will not be delivered (SMPP `UNDELIV`/`EXPIRED`/`REJECTD`, WhatsApp `failed`).
    Failed,
}

/// A delivery status report for a message we sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// The channel of the message.
    pub channel: Channel,
    /// The provider's id, as returned in [`DeliveryReceipt`].
    pub provider_message_id: String,
    /// The new state.
    pub state: DeliveryState,
    /// The provider's own status word or error text (`"DELIVRD"`, `"131047"`).
    pub detail: String,
    /// When the provider says it happened, else when we heard it.
    pub at: Timestamp,
}

/// Everything an adapter reports to the engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChannelEvent {
    /// A customer wrote.
    Inbound(InboundMessage),
    /// A sent message changed state.
    Status(StatusUpdate),
}

/// Why a send failed. [`ChannelError::is_retryable`] tells the outbox whether
/// to try again.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// This adapter does not serve that channel.
    #[error("channel {0:?} is not served by this adapter")]
    UnsupportedChannel(Channel),
    /// The recipient cannot be addressed on this channel (e.g. an e-mail address
    /// given to SMS).
    #[error("bad recipient: {0}")]
    BadRecipient(String),
    /// Free text outside the 24-hour customer-service window (WhatsApp): only a
    /// template may be sent.
    #[error("outside the 24-hour customer-service window: send an approved template")]
    WindowClosed,
    /// Not connected / bound to the provider right now (retry later).
    #[error("not connected to the provider: {0}")]
    NotConnected(String),
    /// The provider refused the message for good (bad number, policy).
    #[error("rejected by the provider: {0}")]
    Rejected(String),
    /// A temporary failure: throttled, timeout, 5xx, network (retry later).
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// The provider answered something we could not understand.
    #[error("protocol error: {0}")]
    Protocol(String),
}

impl ChannelError {
    /// True when sending again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ChannelError::NotConnected(_) | ChannelError::Temporary(_) | ChannelError::Protocol(_)
        )
    }
}

/// A digital channel adapter (a shell: it does the I/O).
///
/// Implementations are cheap to share (`Arc<dyn ChannelAdapter>`); inbound
/// traffic and delivery reports go to the [`EventSender`] given at construction.
#[async_trait]
pub trait ChannelAdapter: Send + Sync {
    /// The channels this adapter serves (the Meta adapter serves three).
    fn channels(&self) -> &[Channel];

    /// Send one message and return the provider's id(s).
    ///
    /// # Errors
    /// A [`ChannelError`]; [`ChannelError::is_retryable`] says whether the
    /// outbox should schedule another attempt.
    async fn send(&self, msg: &OutboundMessage) -> Result<DeliveryReceipt, ChannelError>;
}

/// The wall clock as a [`Timestamp`], for shells only (cores take `now`).
pub fn wall_clock() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msisdn_becomes_e164_and_short_codes_stay_raw() {
        let id = Identity::from_msisdn("22997000000");
        assert_eq!(id.wire(), "22997000000");
        assert!(matches!(&id, Identity::Phone(p) if p.as_str() == "+22997000000"));
        assert_eq!(
            Identity::from_msisdn("1234"),
            Identity::Address("1234".into())
        );
        assert_eq!(
            Identity::from_msisdn("MTN"),
            Identity::Address("MTN".into())
        );
    }

    #[test]
    fn recipient_text_per_channel() {
        assert!(matches!(
            Identity::for_channel(Channel::Whatsapp, "+22997000000"),
            Identity::Phone(p) if p.as_str() == "+22997000000"
        ));
        assert_eq!(
            Identity::for_channel(Channel::Email, "a@b.c"),
            Identity::Email("a@b.c".into())
        );
        assert_eq!(
            Identity::for_channel(Channel::Messenger, "7012"),
            Identity::ChannelId("7012".into())
        );
    }

    #[test]
    fn retryable_errors() {
        assert!(ChannelError::Temporary("429".into()).is_retryable());
        assert!(ChannelError::NotConnected("unbound".into()).is_retryable());
        assert!(!ChannelError::Rejected("bad number".into()).is_retryable());
        assert!(!ChannelError::WindowClosed.is_retryable());
    }

    #[test]
    fn event_json_shape() {
        let ev = ChannelEvent::Status(StatusUpdate {
            channel: Channel::Sms,
            provider_message_id: "abc".into(),
            state: DeliveryState::Delivered,
            detail: "DELIVRD".into(),
            at: Timestamp::from_millis(0),
        });
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["type"], "status");
        assert_eq!(v["state"], "delivered");
    }
}
