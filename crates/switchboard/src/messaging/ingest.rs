//! One ingest for every inbound message, whatever the channel (SPEC §3.2,
//! §3.3): an opt-out keyword (`STOP`, [`super::optout`]) is recorded and
//! goes no further; otherwise identify the customer (creating them if
//! unknown), read a CSAT answer, or continue the customer's open
//! conversation on that channel (same e-mail thread, or started within the
//! reopen window) or open a new one; store `message_in`; tell the engine.
//!
//! Messages of one sender are ingested one at a time (a lock per address),
//! so a burst of 20 webhook posts opens one conversation.

use super::Inner;
use channels::{Identity as Addr, InboundMessage};
use domain::{
    Channel, ChannelIdentity, Customer, CustomerId, Direction, EventKind, InteractionId, NewEvent,
    Timestamp,
};
use store::{
    CustomerPatch, EventFilter, Identity, InteractionFilter, MessageRef, NewCustomer,
    NewInteraction, StoreError,
};

/// An inbound message with what the sender told us about themselves.
#[derive(Clone, Debug)]
pub struct Inbound {
    /// The message, as an adapter normalised it.
    pub message: InboundMessage,
    /// Further identities the sender gave (an e-mail or phone typed in the
    /// web chat): they link the sender to an existing customer.
    pub extra: Vec<Identity>,
    /// A display name for a new customer, if the sender gave one.
    pub name: Option<String>,
    /// The e-mail subject (kept so replies answer `Re: <subject>`).
    pub subject: Option<String>,
}

impl Inbound {
    /// A message with no extra identity.
    pub fn new(message: InboundMessage) -> Self {
        Self {
            message,
            extra: Vec::new(),
            name: None,
            subject: None,
        }
    }
}

/// What an inbound message became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A message of a conversation.
    Conversation {
        /// The conversation.
        interaction: InteractionId,
        /// Its customer.
        customer: CustomerId,
        /// True when this message opened it.
        created: bool,
    },
    /// A message already ingested (a provider delivering the same message id
    /// again): nothing stored.
    Duplicate {
        /// The conversation it went to.
        interaction: Option<InteractionId>,
    },
    /// An opt-out keyword (`STOP`...): recorded, confirmed once, no
    /// conversation (see [`super::optout`]).
    OptedOut {
        /// Channel.
        channel: Channel,
        /// The sender's address on it.
        address: String,
    },
    /// `START` from an opted-out address: the opt-out is removed.
    OptedIn {
        /// Channel.
        channel: Channel,
        /// The sender's address on it.
        address: String,
    },
    /// A CSAT answer, stored against the surveyed interaction.
    SurveyAnswered {
        /// The interaction the survey was about.
        interaction: InteractionId,
        /// Score 1..=5.
        score: u8,
    },
}

/// Why a message could not be ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The sender cannot be identified (empty address...).
    #[error("invalid inbound message: {0}")]
    Invalid(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// The store identity and the address replies go to (E.164 with `+`, a
/// lower-cased e-mail, a channel id) of a sender on `channel`.
pub fn identity_of(channel: Channel, from: &Addr) -> Result<(Identity, String), IngestError> {
    let chan = |id: &str| {
        Identity::Channel(ChannelIdentity {
            channel,
            id: id.to_string(),
        })
    };
    let out = match from {
        Addr::Phone(p) => (Identity::Phone(p.clone()), p.as_str().to_string()),
        Addr::Email(e) => {
            let e = e.trim().to_lowercase();
            (Identity::Email(e.clone()), e)
        }
        Addr::ChannelId(id) | Addr::Address(id) => (chan(id.trim()), id.trim().to_string()),
    };
    if out.1.is_empty() {
        return Err(IngestError::Invalid(format!(
            "no sender address on {}",
            channel.as_str()
        )));
    }
    Ok(out)
}

fn with_identities(mut c: NewCustomer, ids: &[Identity]) -> NewCustomer {
    for id in ids {
        match id {
            Identity::Phone(p) if !c.phones.contains(p) => c.phones.push(p.clone()),
            Identity::Email(e) if !c.emails.contains(e) => c.emails.push(e.clone()),
            Identity::Channel(ci) if !c.channel_ids.contains(ci) => c.channel_ids.push(ci.clone()),
            _ => {}
        }
    }
    c
}

impl Inner {
    /// Ingest one message at `now` (module docs).
    pub(crate) async fn ingest(
        &self,
        inb: Inbound,
        now: Timestamp,
    ) -> Result<Outcome, IngestError> {
        let msg = &inb.message;
        let (primary, address) = identity_of(msg.channel, &msg.from)?;
        let lock = self.address_lock(&address);
        let _guard = lock.lock().await;
        if let Some(id) = &msg.provider_message_id
            && let Some(seen) = self.store.find_message_ref(msg.channel, id).await?
            && seen.outbox_id.is_none()
        {
            tracing::debug!(
                channel = msg.channel.as_str(),
                id,
                "duplicate inbound message ignored"
            );
            return Ok(Outcome::Duplicate {
                interaction: seen.interaction_id,
            });
        }
        if let Some(outcome) = self.opt_keyword(msg, &address, now).await? {
            return Ok(outcome);
        }

        let (customer, created_customer) = self
            .customer_for(&primary, &inb.extra, inb.name.as_deref(), &address, now)
            .await?;
        if created_customer {
            self.store
                .append_events(&[
                    NewEvent::new(now, EventKind::CustomerCreated).with_customer(customer.id)
                ])
                .await?;
        }

        if let Some(score) = channels::survey::parse_csat(&msg.text)
            && let Some(interaction) = self.pending_survey(&address, now).await?
        {
            self.store
                .append_events(&[NewEvent::new(now, EventKind::SurveyAnswered { score })
                    .with_interaction(interaction)
                    .with_customer(customer.id)])
                .await?;
            tracing::info!(%interaction, score, "CSAT answer stored");
            metrics::counter!("messages_in_total", "channel" => msg.channel.as_str(), "outcome" => "survey_answer")
                .increment(1);
            return Ok(Outcome::SurveyAnswered { interaction, score });
        }

        let text = self.text_with_attachments(msg, now);
        let existing = self.open_conversation(msg, customer.id, now).await?;
        // A one-time code the bot asked for is checked as typed but stored
        // masked (`••••••`): the event log is read by agents and exports.
        let stored = match existing {
            Some(id) if self.bot_awaits_code(id).await => bot::mask_code(&text),
            _ => text.clone(),
        };
        let message_in =
            NewEvent::new(now, EventKind::MessageIn { text: stored }).with_customer(customer.id);
        let (interaction, created) = match existing {
            Some(id) => {
                self.store
                    .append_events(&[message_in.with_interaction(id)])
                    .await?;
                (id, false)
            }
            None => {
                // The row, `interaction_created` and `message_in` in one
                // transaction.
                let i = store::open_interaction(
                    &*self.store,
                    &NewInteraction {
                        channel: msg.channel,
                        direction: Direction::Inbound,
                        customer_id: Some(customer.id),
                        queue_id: self.queues.get(&msg.channel).copied(),
                        agent_id: None,
                        started_at: now,
                    },
                    vec![message_in],
                )
                .await?;
                (i.id, true)
            }
        };
        if let Some(id) = &msg.provider_message_id {
            self.store
                .record_message_ref(&MessageRef {
                    channel: msg.channel,
                    message_id: id.clone(),
                    interaction_id: Some(interaction),
                    outbox_id: None,
                    subject: inb.subject.clone(),
                    at: now,
                })
                .await?;
        }
        metrics::counter!(
            "messages_in_total",
            "channel" => msg.channel.as_str(),
            "outcome" => if created { "new_conversation" } else { "conversation" }
        )
        .increment(1);
        self.tell_engine(interaction, created, msg.channel, address, text)
            .await;
        Ok(Outcome::Conversation {
            interaction,
            customer: customer.id,
            created,
        })
    }

    /// Does the bot wait for a one-time code on this conversation? (No
    /// engine, or no answer: no.)
    async fn bot_awaits_code(&self, interaction: InteractionId) -> bool {
        let Some(engine) = &self.engine else {
            return false;
        };
        engine
            .bot_awaits_code(interaction)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(%interaction, error = %e, "the engine did not say whether the bot waits for a code");
                false
            })
    }

    async fn tell_engine(
        &self,
        interaction: InteractionId,
        created: bool,
        channel: Channel,
        address: String,
        text: String,
    ) {
        let Some(engine) = &self.engine else {
            tracing::warn!(%interaction, "no engine on this node: the conversation waits unrouted");
            return;
        };
        let res = if created {
            match self.queues.get(&channel) {
                Some(q) => {
                    engine
                        .start_conversation(interaction, *q, address, text)
                        .await
                }
                None => {
                    tracing::warn!(%interaction, channel = channel.as_str(), "no queue for this channel");
                    return;
                }
            }
        } else {
            engine.conversation_message(interaction, text).await
        };
        if let Err(e) = res {
            tracing::warn!(%interaction, error = %e, "the engine did not take the conversation");
        }
    }

    /// Find the customer by the sender's identity, then by the extra ones
    /// (linking the sender's identity to them), else create them.
    async fn customer_for(
        &self,
        primary: &Identity,
        extra: &[Identity],
        name: Option<&str>,
        address: &str,
        now: Timestamp,
    ) -> Result<(Customer, bool), IngestError> {
        let mut all = vec![primary.clone()];
        all.extend(extra.iter().cloned());
        for id in &all {
            if let Some(c) = self.store.find_customer_by_identity(id).await? {
                let c = self.link(c, &all, now).await;
                return Ok((c, false));
            }
        }
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| match primary {
                Identity::Channel(ci) => {
                    let short: String = address.chars().take(8).collect();
                    format!("{} {short}", ci.channel.as_str())
                }
                _ => address.to_string(),
            });
        let base = NewCustomer {
            name,
            ..NewCustomer::default()
        };
        match self
            .store
            .create_customer(&with_identities(base.clone(), &all), now)
            .await
        {
            Ok(c) => Ok((c, true)),
            // An extra identity belongs to someone else (or another node
            // created the sender meanwhile): the sender's own identity decides.
            Err(StoreError::Conflict(_)) => {
                if let Some(c) = self.store.find_customer_by_identity(primary).await? {
                    return Ok((c, false));
                }
                let c = self
                    .store
                    .create_customer(&with_identities(base, std::slice::from_ref(primary)), now)
                    .await?;
                Ok((c, true))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Add identities the customer does not have yet (those owned by nobody).
    async fn link(&self, c: Customer, ids: &[Identity], now: Timestamp) -> Customer {
        let mut missing = Vec::new();
        for id in ids {
            let has = match id {
                Identity::Phone(p) => c.phones.contains(p),
                Identity::Email(e) => c.emails.iter().any(|x| x.eq_ignore_ascii_case(e)),
                Identity::Channel(ci) => c.channel_ids.contains(ci),
            };
            if !has && matches!(self.store.find_customer_by_identity(id).await, Ok(None)) {
                missing.push(id.clone());
            }
        }
        if missing.is_empty() {
            return c;
        }
        let merged = with_identities(
            NewCustomer {
                phones: c.phones.clone(),
                emails: c.emails.clone(),
                channel_ids: c.channel_ids.clone(),
                ..NewCustomer::default()
            },
            &missing,
        );
        let patch = CustomerPatch {
            phones: Some(merged.phones),
            emails: Some(merged.emails),
            channel_ids: Some(merged.channel_ids),
            ..CustomerPatch::default()
        };
        match self.store.update_customer(c.id, &patch, now).await {
            Ok(updated) => {
                let ev = NewEvent::new(now, EventKind::CustomerUpdated).with_customer(c.id);
                if let Err(e) = self.store.append_events(&[ev]).await {
                    tracing::warn!(error = %e, "customer_updated not stored");
                }
                updated
            }
            Err(e) => {
                tracing::warn!(customer = %c.id, error = %e, "identity not linked");
                c
            }
        }
    }

    /// The interaction of a survey sent to `address` within the survey
    /// window and not answered yet.
    async fn pending_survey(
        &self,
        address: &str,
        now: Timestamp,
    ) -> Result<Option<InteractionId>, IngestError> {
        let window_ms = i64::try_from(self.cfg.survey_window_h)
            .unwrap_or(i64::MAX / 3_600_000)
            .saturating_mul(3_600_000);
        let since = Timestamp::from_millis(now.as_millis().saturating_sub(window_ms));
        let Some(survey) = self
            .store
            .latest_outbox_to(address, "survey", since)
            .await?
        else {
            return Ok(None);
        };
        let Some(interaction) = survey.interaction_id else {
            return Ok(None);
        };
        let answered = self
            .store
            .list_events(&EventFilter {
                interaction_id: Some(interaction),
                kind: Some("survey_answered".into()),
                limit: 1,
                ..EventFilter::default()
            })
            .await?;
        Ok(answered.is_empty().then_some(interaction))
    }

    /// The conversation this message continues: the open one its e-mail
    /// thread names, else the customer's newest open one on the channel
    /// started within the reopen window.
    async fn open_conversation(
        &self,
        msg: &InboundMessage,
        customer: CustomerId,
        now: Timestamp,
    ) -> Result<Option<InteractionId>, IngestError> {
        let thread = msg
            .thread
            .in_reply_to
            .iter()
            .chain(msg.thread.references.iter().rev());
        for id in thread {
            if let Some(r) = self.store.find_message_ref(msg.channel, id).await?
                && let Some(i) = r.interaction_id
                && let Some(it) = self.store.get_interaction(i).await?
                && it.ended_at.is_none()
            {
                return Ok(Some(i));
            }
        }
        let window_ms = i64::try_from(self.cfg.reopen_window_s)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        let list = self
            .store
            .list_interactions(&InteractionFilter {
                customer_id: Some(customer),
                channel: Some(msg.channel),
                from: Some(Timestamp::from_millis(
                    now.as_millis().saturating_sub(window_ms),
                )),
                limit: 20,
                ..InteractionFilter::default()
            })
            .await?;
        Ok(list
            .into_iter()
            .find(|i| i.ended_at.is_none() && i.direction == Direction::Inbound)
            .map(|i| i.id))
    }

    /// The text, with one line per attachment; attachments are written under
    /// `<data_dir>/attachments/<ms>-<n>-<name>`.
    fn text_with_attachments(&self, msg: &InboundMessage, now: Timestamp) -> String {
        let mut text = msg.text.clone();
        if msg.attachments.is_empty() {
            return text;
        }
        let dir = self.data_dir.join("attachments");
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(error = %e, "attachments folder not created");
        }
        for (n, a) in msg.attachments.iter().enumerate() {
            let name: String = a
                .name
                .as_deref()
                .unwrap_or("attachment")
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                        c
                    } else {
                        '_'
                    }
                })
                .take(80)
                .collect();
            let file = format!("{}-{n}-{name}", now.as_millis());
            let stored = std::fs::write(dir.join(&file), &a.bytes).is_ok();
            text.push_str(&format!(
                "\n[attachment: {name} ({}, {} bytes){}]",
                a.content_type,
                a.bytes.len(),
                if stored {
                    format!(" stored as attachments/{file}")
                } else {
                    String::new()
                }
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_identities_per_channel() {
        let (id, addr) = identity_of(Channel::Sms, &Addr::from_msisdn("22997000000")).unwrap();
        assert_eq!(addr, "+22997000000");
        assert!(matches!(id, Identity::Phone(_)));
        let (id, addr) =
            identity_of(Channel::Email, &Addr::Email(" Awa@Example.NET ".into())).unwrap();
        assert_eq!(addr, "awa@example.net");
        assert_eq!(id, Identity::Email("awa@example.net".into()));
        let (id, addr) = identity_of(Channel::Messenger, &Addr::ChannelId("7012".into())).unwrap();
        assert_eq!(addr, "7012");
        assert_eq!(id.key(), ("messenger", "7012".to_string()));
        assert!(identity_of(Channel::Webchat, &Addr::ChannelId("  ".into())).is_err());
    }
}
