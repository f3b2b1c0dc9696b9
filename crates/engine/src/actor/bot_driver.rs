//! The chatbot in front of the ACD (SPEC §3.4, issue 20): a new digital
//! conversation on a channel the bot serves gets a [`bot::BotSession`];
//! the customer's messages go to it, its replies go out through the outbox
//! on the conversation's channel (`bot_replied` events), one-time codes go
//! by SMS, self-service lookups run on the IVR's connectors, and on
//! hand-over the conversation joins its ACD queue with the transcript, the
//! intent and the articles tried (`bot_handed_over`, and the agent's
//! screen-pop). The session is dropped at hand-over: the bot says nothing
//! once a human has the conversation, and a later conversation of the same
//! customer starts a fresh session (no replay of old context).
//!
//! All I/O (outbox rows, SMS codes and their randomness, lookups) runs as
//! effects; outcomes come back as [`Internal::BotLookup`] and
//! [`Internal::BotOtp`].

use super::{Actor, Internal, Prefetched};
use crate::EngineError;
use crate::push::BotPop;
use bot::{Action, BotContext, BotSession, HandOver, Intent, Lang, OtpCode, PhraseError};
use domain::*;
use ivr::io::{LookupError, LookupId};
use store::NewOutboxMessage;

/// Digits of a one-time code.
const OTP_DIGITS: usize = 6;

/// A conversation the bot has (not queued yet).
pub(crate) struct BotConversation {
    pub session: BotSession,
    pub conversation: Prefetched,
    /// The queue it joins on hand-over.
    pub queue: QueueId,
    /// The customer's address on the channel.
    pub address: String,
    /// When it is closed as contained by the bot, unless the customer
    /// writes again ([`crate::BotWiring::idle_close_ms`] after the last
    /// message).
    pub idle_until: Timestamp,
}

impl Actor {
    /// A new conversation and its first message: to the bot when it serves
    /// the channel, else straight to the ACD.
    pub(crate) fn start_conversation(
        &mut self,
        conversation: Prefetched,
        queue: QueueId,
        address: String,
        text: String,
    ) -> Result<(), EngineError> {
        let id = conversation.interaction.id;
        let channel = conversation.interaction.channel;
        let wiring = self
            .cfg
            .bot
            .as_ref()
            .filter(|b| channel != Channel::Voice && b.channels.contains(&channel))
            .cloned();
        let Some(wiring) = wiring else {
            return self.route_conversation(conversation, queue, address, 0);
        };
        if self.conversations.contains_key(&id) || self.bots.contains_key(&id) {
            return Ok(());
        }
        if self.bots.len() >= wiring.max_sessions {
            tracing::warn!(interaction = %id, max = wiring.max_sessions, "bot full: the conversation goes to an agent");
            return self.route_conversation(conversation, queue, address, 0);
        }
        if !self.queues.contains_key(&queue) {
            return Err(EngineError::Invalid(format!("unknown queue {queue}")));
        }
        if conversation.interaction.ended_at.is_some() {
            return Err(EngineError::Invalid(format!("interaction {id} has ended")));
        }
        let customer = conversation.customer.as_ref();
        let ctx = BotContext {
            channel,
            address: match channel {
                Channel::Sms | Channel::Whatsapp => PhoneNumber::try_from(address.clone()).ok(),
                _ => None,
            },
            customer: customer.map(|c| c.id),
            customer_number: customer.and_then(|c| c.phones.first().cloned()),
            lang: match customer.and_then(|c| c.language.as_deref()) {
                Some("en") => Lang::En,
                _ => Lang::Fr,
            },
        };
        let session = BotSession::new(wiring.retriever.clone(), wiring.config.clone(), ctx);
        self.bots.insert(
            id,
            BotConversation {
                session,
                conversation,
                queue,
                address,
                idle_until: self.now.add_millis(wiring.idle_close_ms),
            },
        );
        metrics::counter!("switchboard_bot_conversations_total", "channel" => channel.as_str())
            .increment(1);
        self.bot_message(id, &text);
        Ok(())
    }

    /// A knowledge-base index rebuilt by the wiring: new sessions get it,
    /// live ones take it as an input. Returns the live sessions updated.
    pub(crate) fn set_bot_index(&mut self, index: std::sync::Arc<bot::Retriever>) -> usize {
        let Some(w) = self.cfg.bot.as_mut() else {
            return 0;
        };
        w.retriever = index.clone();
        let now = self.now;
        for b in self.bots.values_mut() {
            b.session.handle_index(now, index.clone());
        }
        tracing::info!(
            articles = index.kb().articles().len(),
            sessions = self.bots.len(),
            "chatbot: new knowledge-base index"
        );
        self.bots.len()
    }

    /// A customer's message on a conversation the bot has.
    pub(crate) fn bot_message(&mut self, id: InteractionId, text: &str) {
        let now = self.now;
        let idle = self.cfg.bot.as_ref().map_or(0, |w| w.idle_close_ms);
        if let Some(b) = self.bots.get_mut(&id) {
            b.idle_until = now.add_millis(idle);
            b.session.handle_message(now, text);
        }
        self.drive_bot(id);
    }

    /// Carry out every pending action of a bot session. The texts of one
    /// turn (an answer and "did this help?") go out as one message: the
    /// outbox sends rows concurrently, so separate rows could arrive out of
    /// order.
    pub(crate) fn drive_bot(&mut self, id: InteractionId) {
        let mut texts: Vec<String> = Vec::new();
        loop {
            let now = self.now;
            let Some(b) = self.bots.get_mut(&id) else {
                break;
            };
            let Some(action) = b.session.poll_action() else {
                break;
            };
            match action {
                Action::Reply { text } | Action::Ask { text, .. } => texts.push(text),
                Action::Lookup { id: lid, kind } => {
                    let runner = self.lookups.clone();
                    self.task(async move {
                        let result = runner.run(kind).await.map(serde_json::Value::Object);
                        Some(Internal::BotLookup {
                            interaction: id,
                            id: lid,
                            result,
                        })
                    });
                }
                Action::SendOtp { to } => self.send_otp(id, to),
                Action::Phrase { id: pid, .. } => {
                    // No LLM client is wired: the session sends the
                    // retrieved answer at once.
                    b.session.handle_phrase_result(
                        now,
                        pid,
                        Err(PhraseError::Unavailable("no LLM back-end".into())),
                    );
                }
                Action::HandOver(h) => {
                    self.bot_says(id, texts.join("\n\n"));
                    texts.clear();
                    self.bot_hand_over(id, h);
                    return;
                }
            }
        }
        if !texts.is_empty() {
            self.bot_says(id, texts.join("\n\n"));
        }
    }

    /// The bot's text to the customer: an outbox row on the conversation's
    /// channel and a `bot_replied` event.
    fn bot_says(&mut self, id: InteractionId, text: String) {
        let Some(b) = self.bots.get(&id).filter(|_| !text.is_empty()) else {
            return;
        };
        let i = &b.conversation.interaction;
        let m = NewOutboxMessage {
            channel: i.channel,
            recipient: b.address.clone(),
            body: text.clone(),
            interaction_id: Some(id),
            customer_id: i.customer_id,
            purpose: "bot_reply".into(),
        };
        let mut ev = NewEvent::new(self.now, EventKind::BotReplied { text }).with_interaction(id);
        ev.customer_id = i.customer_id;
        let t = self.now;
        self.store_job(move |store| async move {
            if let Err(e) = store.enqueue_message(&m, t).await {
                tracing::error!(error = %e, "cannot queue the bot's reply");
            }
        });
        self.record(vec![ev]);
    }

    /// A one-time code by SMS: generated (OS randomness) and queued in the
    /// outbox off the loop; the outcome comes back as [`Internal::BotOtp`].
    fn send_otp(&mut self, id: InteractionId, to: PhoneNumber) {
        let Some(b) = self.bots.get(&id) else {
            return;
        };
        let customer_id = b.conversation.interaction.customer_id;
        let fr = matches!(b.session.lang(), Lang::Fr);
        let t = self.now;
        let store = self.store.clone();
        self.task(async move {
            let result = async {
                let code = otp_code()?;
                let body = if fr {
                    format!("Votre code de vérification : {}", code.0)
                } else {
                    format!("Your verification code: {}", code.0)
                };
                let m = NewOutboxMessage {
                    channel: Channel::Sms,
                    recipient: to.as_str().to_string(),
                    body,
                    interaction_id: Some(id),
                    customer_id,
                    purpose: "bot_otp".into(),
                };
                store
                    .enqueue_message(&m, t)
                    .await
                    .map_err(|e| LookupError::Unavailable(e.to_string()))?;
                Ok(code)
            }
            .await;
            Some(Internal::BotOtp {
                interaction: id,
                result,
            })
        });
    }

    /// The outcome of a lookup or code sending for a bot conversation.
    pub(crate) fn on_bot_lookup(
        &mut self,
        id: InteractionId,
        lid: LookupId,
        result: Result<serde_json::Value, LookupError>,
    ) {
        let now = self.now;
        if let Some(b) = self.bots.get_mut(&id) {
            b.session.handle_lookup_result(now, lid, result);
            self.drive_bot(id);
        }
    }

    /// The outcome of [`Self::send_otp`].
    pub(crate) fn on_bot_otp(&mut self, id: InteractionId, result: Result<OtpCode, LookupError>) {
        let now = self.now;
        if let Some(b) = self.bots.get_mut(&id) {
            if let Err(e) = &result {
                tracing::warn!(interaction = %id, error = %e, "bot: one-time code not sent");
            }
            b.session.handle_otp_sent(now, result);
            self.drive_bot(id);
        }
    }

    /// Bot sessions whose timer is due; idle ones are closed.
    pub(crate) fn bots_on_deadline(&mut self) {
        let t = self.now;
        let idle: Vec<InteractionId> = self
            .bots
            .iter()
            .filter(|(_, b)| b.idle_until <= t)
            .map(|(id, _)| *id)
            .collect();
        for id in idle {
            self.bot_close_idle(id);
        }
        let due: Vec<InteractionId> = self
            .bots
            .iter()
            .filter(|(_, b)| b.session.poll_timeout().is_some_and(|d| d <= t))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(b) = self.bots.get_mut(&id) {
                b.session.handle_timeout(t);
            }
            self.drive_bot(id);
        }
    }

    /// The earliest bot timer (a session's, or an idle close).
    pub(crate) fn bots_timeout(&self) -> Option<Timestamp> {
        self.bots
            .values()
            .flat_map(|b| [b.session.poll_timeout(), Some(b.idle_until)])
            .flatten()
            .min()
    }

    /// Close a conversation the customer left with the bot: the
    /// interaction ends with reason `bot_completed` (no agent needed).
    fn bot_close_idle(&mut self, id: InteractionId) {
        let Some(mut b) = self.bots.remove(&id) else {
            return;
        };
        let t = self.now;
        let i = &mut b.conversation.interaction;
        i.ended_at = Some(t);
        i.end_reason = Some("bot_completed".into());
        let i = i.clone();
        self.save(&i);
        let mut ev = NewEvent::new(
            t,
            EventKind::Ended {
                reason: "bot_completed".into(),
            },
        )
        .with_interaction(id);
        ev.customer_id = i.customer_id;
        self.record(vec![ev]);
        metrics::counter!("switchboard_bot_contained_total", "channel" => i.channel.as_str())
            .increment(1);
    }

    /// Hand-over: `bot_handed_over`, then the conversation joins its queue
    /// with the record for the screen-pop. The session is dropped.
    fn bot_hand_over(&mut self, id: InteractionId, h: HandOver) {
        let Some(b) = self.bots.remove(&id) else {
            return;
        };
        let pop = pop_of(&h);
        let reason = pop.reason.clone();
        let mut ev = NewEvent::new(
            self.now,
            EventKind::BotHandedOver {
                reason: pop.reason.clone(),
                intent: pop.intent.clone(),
                articles_tried: pop.articles_tried.clone(),
                transcript: pop.transcript.clone(),
            },
        )
        .with_interaction(id);
        ev.customer_id = b.conversation.interaction.customer_id;
        self.record(vec![ev]);
        metrics::counter!("switchboard_bot_hand_overs_total", "reason" => reason).increment(1);
        if let Err(e) =
            self.route_conversation_with(b.conversation, b.queue, b.address, 0, Some(pop))
        {
            tracing::error!(interaction = %id, error = %e, "bot hand-over: the ACD refused the conversation");
        }
    }
}

/// The screen-pop record of a hand-over.
fn pop_of(h: &HandOver) -> BotPop {
    let name = |v: serde_json::Value| v.as_str().map(str::to_string).unwrap_or_default();
    BotPop {
        reason: name(serde_json::to_value(h.reason).unwrap_or_default()),
        intent: match &h.intent {
            Intent::Faq(a) => format!("faq:{}", a.0),
            Intent::SelfService(f) => format!(
                "self_service:{}",
                name(serde_json::to_value(f).unwrap_or_default())
            ),
            Intent::Unknown => "unknown".into(),
        },
        articles_tried: h.articles_tried.iter().map(|a| a.0.clone()).collect(),
        transcript: h
            .transcript
            .iter()
            .map(|l| BotLine {
                at: l.at,
                from: match l.from {
                    bot::Speaker::Customer => "customer".into(),
                    bot::Speaker::Bot => "bot".into(),
                },
                text: l.text.clone(),
            })
            .collect(),
    }
}

/// A random code of [`OTP_DIGITS`] digits (OS randomness, rejection
/// sampling so every digit is uniform).
fn otp_code() -> Result<OtpCode, LookupError> {
    let mut out = String::with_capacity(OTP_DIGITS);
    while out.len() < OTP_DIGITS {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| LookupError::Unavailable(e.to_string()))?;
        for x in b {
            // 250 = 25 × 10: values above are dropped (no modulo bias).
            if x < 250 && out.len() < OTP_DIGITS {
                out.push(char::from(b'0' + x % 10));
            }
        }
    }
    Ok(OtpCode(out))
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_six_digits() {
        let a = super::otp_code().unwrap();
        assert_eq!(a.0.len(), 6);
        assert!(a.0.chars().all(|c| c.is_ascii_digit()));
    }
}
