//! # channels — Switchboard's digital-channel adapters
//!
//! This crate holds the shells that talk to messaging providers (SMS over SMPP 3.4
//! to the operator's SMSC, e-mail over SMTP, WhatsApp Business Cloud API and
//! Messenger/Instagram over the Meta Graph API) behind one [`ChannelAdapter`]
//! trait, and the small pure cores they need: the durable outbox's per-message
//! state machine ([`outbox`]), GSM 03.38 / UCS-2 SMS splitting ([`gsm`]), a
//! token-bucket throttle ([`throttle`]), the 24-hour WhatsApp window
//! ([`meta::window`]) and the CSAT answer parser ([`survey`]).
//!
//! It must not know about the engine, the ACD, the store or the web UI: adapters
//! turn provider traffic into [`ChannelEvent`]s sent on the tokio mpsc channel the
//! engine hands in, and send what the engine gives them. The cores never read the
//! clock: `now` is passed in.
//!
//! Driving the outbox core for one SMS (what the engine's outbox worker does):
//!
//! ```
//! use channels::{gsm, outbox::{OutboxEntry, OutboxState, RetryPolicy}};
//! use channels::{DeliveryReceipt, DeliveryState};
//! use domain::Timestamp;
//!
//! let now = Timestamp::from_millis(1_000);
//! let mut entry = OutboxEntry::new(now);
//! let parts = gsm::split_sms("Votre code : 4242", 1).unwrap();
//! assert_eq!((parts.len(), parts[0].data_coding), (1, gsm::DATA_CODING_GSM7));
//!
//! // Due now: hand it to the adapter.
//! assert_eq!(entry.poll_timeout(), Some(now));
//! entry.begin_send(now).unwrap();
//! // The SMSC is not bound: retry after the back-off.
//! let policy = RetryPolicy::default();
//! entry.handle_send_error(now, &policy, true, "not bound").unwrap();
//! let due = entry.poll_timeout().unwrap();
//! assert_eq!(due, now.add_millis(5_000));
//! entry.begin_send(due).unwrap();
//! entry.handle_sent(due, &DeliveryReceipt { provider_message_ids: vec!["a1".into()] }).unwrap();
//! // The delivery receipt (deliver_sm `stat:DELIVRD`) closes it.
//! entry.handle_status(due.add_millis(3_000), &DeliveryState::Delivered, "DELIVRD").unwrap();
//! assert!(entry.is_final());
//! ```
//!
//! ## Layout
//! - [`adapter`]: the [`ChannelAdapter`] trait, [`InboundMessage`],
//!   [`OutboundMessage`], [`ChannelEvent`], [`ChannelError`].
//! - [`outbox`]: queued → sending → sent → delivered/failed, with retries.
//! - [`gsm`]: GSM 7-bit / UCS-2 encoding and concatenated SMS (UDH) splitting.
//! - [`throttle`]: token bucket for messages per second.
//! - [`campaign`]: campaign text templates (`{{name}}`) and the STOP/START
//!   opt-out keywords.
//! - [`survey`]: CSAT reply parsing ("5", "cinq", "five", "3/5").
//! - [`sms`]: SMPP 3.4 ESME (rusmppc): bind transceiver, submit_sm, deliver_sm,
//!   enquire_link, reconnect with back-off, window + messages/s throttle.
//! - [`email`]: SMTP out (lettre), RFC 5322 in (mail-parser), threading, HTML
//!   to text, attachments.
//! - [`meta`]: WhatsApp Cloud API and Messenger/Instagram: webhook handshake and
//!   `X-Hub-Signature-256`, payload parsing, Graph sends, the 24-hour window.
//!
//! - [`social`] (EXPERIMENTAL, not wired into the server): Twitter/X direct
//!   messages (X API v2) and YouTube comments (Data API v3) behind a
//!   pull-shaped [`social::PollingAdapter`].

#![warn(missing_docs)]

pub mod adapter;
pub mod campaign;
pub mod email;
pub mod gsm;
pub mod meta;
pub mod outbox;
pub mod sms;
pub mod social;
pub mod survey;
pub mod throttle;

pub use adapter::{
    Attachment, ChannelAdapter, ChannelError, ChannelEvent, DeliveryReceipt, DeliveryState,
    EventSender, Identity, InboundMessage, OutboundMessage, StatusUpdate, TemplateRef, ThreadKeys,
};

/// Install ring as the process-wide rustls crypto provider (feature `tls`).
/// Call once at start-up before building an HTTPS client; later calls are
/// harmless. Returns false if another provider was installed first.
#[cfg(feature = "tls")]
pub fn install_tls_provider() -> bool {
    rustls::crypto::ring::default_provider()
        .install_default()
        .is_ok()
}
