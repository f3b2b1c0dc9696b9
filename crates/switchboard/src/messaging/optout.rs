//! Opt-out keywords in the inbound flow (SPEC §2.6): a message that is only
//! `STOP` / `ARRET` / `ARRÊT` / `UNSUBSCRIBE` (any case, trimmed,
//! [`channels::campaign::parse_keyword`]) records an opt-out for that
//! address on that channel and gets one confirmation; it opens no
//! conversation. `START` from an opted-out address removes the opt-out
//! (with a confirmation); from anyone else it is an ordinary message.
//!
//! Opt-outs only stop campaign messages and dialer calls: agents still
//! answer the customer. A STOP on SMS or WhatsApp also puts the number on
//! the dialer's global do-not-call list (issue 15: "STOP replies from SMS
//! land there too"), which every voice campaign checks; START does not take
//! it off (a call needs fresh consent, recorded by an administrator).

use super::Inner;
use super::ingest::{IngestError, Outcome};
use channels::InboundMessage;
use channels::campaign::Keyword;
use domain::Timestamp;
use store::{MessageRef, NewOutboxMessage, OptOut};

/// Outbox purpose of the STOP confirmation.
pub const PURPOSE_STOP: &str = "opt_out_confirmation";
/// Outbox purpose of the START confirmation.
pub const PURPOSE_START: &str = "opt_in_confirmation";

impl Inner {
    /// Handle `msg` from `address` if it is an opt-out keyword that applies;
    /// `None` lets the ingest go on as for any message.
    pub(crate) async fn opt_keyword(
        &self,
        msg: &InboundMessage,
        address: &str,
        now: Timestamp,
    ) -> Result<Option<Outcome>, IngestError> {
        let Some(k) = channels::campaign::parse_keyword(&msg.text) else {
            return Ok(None);
        };
        let channel = msg.channel;
        let (reply, purpose, outcome) = match k {
            Keyword::Stop => {
                let new = self
                    .store
                    .add_opt_out(&OptOut {
                        channel,
                        address: address.to_string(),
                        at: now,
                        source: format!("keyword:{}", msg.text.trim().to_uppercase()),
                    })
                    .await?;
                tracing::info!(channel = channel.as_str(), new, "opt-out keyword received");
                self.dial_dnc(channel, address, now).await?;
                let outcome = Outcome::OptedOut {
                    channel,
                    address: address.to_string(),
                };
                if !new {
                    self.note_keyword(msg, now).await?;
                    return Ok(Some(outcome));
                }
                (&self.cfg.campaigns.stop_reply, PURPOSE_STOP, outcome)
            }
            Keyword::Start => {
                if !self.store.remove_opt_out(channel, address).await? {
                    return Ok(None);
                }
                tracing::info!(channel = channel.as_str(), "opt-in keyword received");
                (
                    &self.cfg.campaigns.start_reply,
                    PURPOSE_START,
                    Outcome::OptedIn {
                        channel,
                        address: address.to_string(),
                    },
                )
            }
        };
        if !reply.trim().is_empty() {
            self.store
                .enqueue_message(
                    &NewOutboxMessage {
                        channel,
                        recipient: address.to_string(),
                        body: reply.clone(),
                        interaction_id: None,
                        customer_id: None,
                        purpose: purpose.into(),
                    },
                    now,
                )
                .await?;
        }
        self.note_keyword(msg, now).await?;
        metrics::counter!("messages_in_total", "channel" => channel.as_str(), "outcome" => if purpose == PURPOSE_STOP { "opt_out" } else { "opt_in" })
            .increment(1);
        Ok(Some(outcome))
    }

    /// Put the number of a STOP on SMS or WhatsApp on the dialer's global
    /// do-not-call list and tell the engine's campaigns. An address that is
    /// not a phone number (e-mail, web chat) is left alone.
    async fn dial_dnc(
        &self,
        channel: domain::Channel,
        address: &str,
        now: Timestamp,
    ) -> Result<(), IngestError> {
        if !matches!(channel, domain::Channel::Sms | domain::Channel::Whatsapp) {
            return Ok(());
        }
        let a = address.trim();
        let Some(number) = domain::PhoneNumber::try_from(a.to_string())
            .ok()
            .or_else(|| domain::PhoneNumber::try_from(format!("+{a}")).ok())
        else {
            tracing::warn!(
                channel = channel.as_str(),
                "opt-out from an address that is no phone number: not put on the do-not-call list"
            );
            return Ok(());
        };
        self.store
            .add_dial_dnc(&number, None, &format!("opt_out:{}", channel.as_str()), now)
            .await?;
        if let Some(engine) = &self.engine
            && let Err(e) = engine.dnc_added(number).await
        {
            tracing::warn!(error = %e, "cannot tell the campaigns of the do-not-call number");
        }
        Ok(())
    }

    /// Remember the provider id of a keyword message, so that a provider
    /// delivering it again is seen as a duplicate.
    async fn note_keyword(&self, msg: &InboundMessage, now: Timestamp) -> Result<(), IngestError> {
        if let Some(id) = &msg.provider_message_id {
            self.store
                .record_message_ref(&MessageRef {
                    channel: msg.channel,
                    message_id: id.clone(),
                    interaction_id: None,
                    outbox_id: None,
                    subject: None,
                    at: now,
                })
                .await?;
        }
        Ok(())
    }
}
