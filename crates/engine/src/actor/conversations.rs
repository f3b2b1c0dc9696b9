//! Digital conversations (SMS, e-mail, web chat, WhatsApp, Messenger,
//! Instagram) as ACD tasks: routed with the channel's capacity class,
//! offered to an agent's desktop (no phone rings), accepted or rejected
//! there, answered through the outbox on the same channel, closed by the
//! disposition.

/// The answer channel of an API command.
type ReplyTx<T> = tokio::sync::oneshot::Sender<Result<T, EngineError>>;

use super::Actor;
use super::decisions::OfferView;
use crate::EngineError;
use crate::push::{Audience, Push};
use domain::*;
use routing::{OfferId, Task};
use store::NewOutboxMessage;

/// A live digital conversation.
pub(crate) struct Conversation {
    pub interaction: Interaction,
    pub customer: Option<Customer>,
    /// The customer's address on the channel: replies go there.
    pub address: String,
    pub segment: Segment,
    pub queued_at: Timestamp,
    /// Agents it is offered to now (ring-all queues offer to several).
    pub offered: Vec<(AgentId, OfferId)>,
    /// The agent who accepted it.
    pub agent: Option<AgentId>,
    /// The customer's last interactions (screen-pop).
    pub history: Vec<Interaction>,
    /// The chatbot's hand-over record (screen-pop), when the bot served it.
    pub bot: Option<crate::push::BotPop>,
}

/// A conversation's row, customer and history, read from the store before
/// it is routed (by the API handle, or known already for an IVR R4
/// conversation), so that routing does no I/O.
#[derive(Debug)]
pub(crate) struct Prefetched {
    pub interaction: Interaction,
    pub customer: Option<Customer>,
    pub history: Vec<Interaction>,
}

/// The customer's last 10 interactions, newest first (the screen-pop's
/// history); empty without a customer or when the store fails.
pub(crate) async fn history(
    store: &dyn store::Store,
    customer: Option<&Customer>,
) -> Vec<Interaction> {
    let Some(c) = customer else {
        return Vec::new();
    };
    store
        .list_interactions(&store::InteractionFilter {
            customer_id: Some(c.id),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap_or_default()
}

impl Actor {
    /// A new conversation becomes an ACD task in `queue`.
    pub(crate) fn route_conversation(
        &mut self,
        conversation: Prefetched,
        queue: QueueId,
        address: String,
        priority: i32,
    ) -> Result<(), EngineError> {
        self.route_conversation_with(conversation, queue, address, priority, None)
    }

    /// [`Self::route_conversation`] with the chatbot's hand-over record
    /// for the screen-pop.
    pub(crate) fn route_conversation_with(
        &mut self,
        conversation: Prefetched,
        queue: QueueId,
        address: String,
        priority: i32,
        bot: Option<crate::push::BotPop>,
    ) -> Result<(), EngineError> {
        let Prefetched {
            mut interaction,
            customer,
            history,
        } = conversation;
        let id = interaction.id;
        if self.conversations.contains_key(&id) {
            return Ok(());
        }
        if !self.queues.contains_key(&queue) {
            return Err(EngineError::Invalid(format!("unknown queue {queue}")));
        }
        if interaction.channel == Channel::Voice {
            return Err(EngineError::Invalid(
                "a voice interaction is routed by its call".into(),
            ));
        }
        if interaction.ended_at.is_some() {
            return Err(EngineError::Invalid(format!("interaction {id} has ended")));
        }
        // Routed by the ACD (a restart's re-queue, the API): the bot lets
        // go of it for good and says nothing more.
        if self.bots.remove(&id).is_some() {
            tracing::info!(interaction = %id, "conversation routed to agents: the bot lets go of it");
        }
        let segment = customer.as_ref().map(|c| c.segment).unwrap_or_default();
        let t = self.now;
        interaction.queue_id = Some(queue);
        self.save(&interaction);
        let mut ev = NewEvent::new(
            t,
            EventKind::Queued {
                queue_id: queue,
                priority: segment.priority() + priority,
            },
        )
        .with_interaction(id);
        ev.customer_id = interaction.customer_id;
        self.record(vec![ev]);
        let task = Task {
            priority,
            ..Task::new(id, queue, interaction.channel, segment)
        };
        self.conversations.insert(
            id,
            Conversation {
                interaction,
                customer,
                address,
                segment,
                queued_at: t,
                offered: Vec::new(),
                agent: None,
                history,
                bot,
            },
        );
        self.acd.handle_task_arrived(t, task)?;
        self.process_decisions();
        Ok(())
    }

    /// Offer a conversation to one agent: the desktop shows the card with
    /// Accept/Reject; the ACD's ring time-out gives RONA as for a call.
    pub(crate) fn offer_conversation(
        &mut self,
        offer: OfferId,
        task: InteractionId,
        agent: AgentId,
        ring_until: Timestamp,
    ) {
        let Some(conv) = self.conversations.get_mut(&task) else {
            return;
        };
        conv.offered.push((agent, offer));
        let view = OfferView {
            channel: conv.interaction.channel,
            queue_id: conv.interaction.queue_id.unwrap_or(QueueId(0)),
            customer: conv.customer.clone(),
            caller: conv.address.clone(),
            ivr_trace: None,
            history: conv.history.clone(),
            campaign: None,
            bot: conv.bot.clone(),
        };
        self.present_offer(task, agent, ring_until, view);
    }

    /// The agent's accept or reject of an offered conversation.
    pub(crate) fn answer_offer(
        &mut self,
        agent: AgentId,
        id: InteractionId,
        accept: bool,
    ) -> Result<(), EngineError> {
        let t = self.now;
        let Some(conv) = self.conversations.get_mut(&id) else {
            return Err(if self.calls.contains_key(&id) {
                EngineError::Invalid("a call is answered on the phone".into())
            } else {
                EngineError::UnknownInteraction(id)
            });
        };
        if !conv.offered.iter().any(|(a, _)| *a == agent) {
            return Err(EngineError::Invalid(format!(
                "interaction {id} is not offered to you"
            )));
        }
        conv.offered.retain(|(a, _)| *a != agent);
        let queue = conv.interaction.queue_id;
        let customer = conv.interaction.customer_id;
        if !accept {
            self.acd.handle_offer_rejected(t, id, agent)?;
            let mut ev = NewEvent::new(
                t,
                EventKind::OfferRejected {
                    queue_id: queue.unwrap_or(QueueId(0)),
                },
            )
            .with_interaction(id)
            .with_agent(agent);
            ev.customer_id = customer;
            self.record(vec![ev]);
            self.process_decisions();
            return Ok(());
        }
        self.acd.handle_offer_accepted(t, id, agent)?;
        let Some(conv) = self.conversations.get_mut(&id) else {
            return Err(EngineError::UnknownInteraction(id));
        };
        conv.agent = Some(agent);
        if conv.interaction.answered_at.is_none() {
            conv.interaction.answered_at = Some(t);
        }
        conv.interaction.agent_id = Some(agent);
        let waited = t.millis_since(conv.queued_at);
        let i = conv.interaction.clone();
        self.save(&i);
        let mut ev = NewEvent::new(
            t,
            EventKind::Answered {
                queue_id: queue,
                waited_ms: waited,
            },
        )
        .with_interaction(id)
        .with_agent(agent);
        ev.customer_id = customer;
        self.record(vec![ev]);
        self.send(
            Audience::Agent(agent),
            Push::Answered { interaction_id: id },
        );
        self.process_decisions();
        self.sync_agent(agent);
        Ok(())
    }

    /// A further inbound message: pushed to the agent who has the
    /// conversation (none while it waits; the agent reads the thread from
    /// the events on accept).
    pub(crate) fn conversation_message(
        &mut self,
        id: InteractionId,
        text: String,
    ) -> Result<(), EngineError> {
        let conv = self
            .conversations
            .get(&id)
            .ok_or(EngineError::UnknownInteraction(id))?;
        if let Some(agent) = conv.agent {
            self.send(
                Audience::Agent(agent),
                Push::Message {
                    interaction_id: id,
                    direction: "in".into(),
                    text,
                    at: self.now,
                },
            );
        }
        Ok(())
    }

    /// Typing on a live conversation. From the customer (`by` = None): push
    /// `typing` to the agent who has it. From an agent: check it is theirs
    /// and return the channel and the customer's address.
    pub(crate) fn typing(
        &mut self,
        id: InteractionId,
        by: Option<AgentId>,
    ) -> Result<(Channel, String), EngineError> {
        let conv = self
            .conversations
            .get(&id)
            .ok_or(EngineError::UnknownInteraction(id))?;
        let out = (conv.interaction.channel, conv.address.clone());
        match (by, conv.agent) {
            (None, Some(agent)) => {
                self.send(Audience::Agent(agent), Push::Typing { interaction_id: id });
                Ok(out)
            }
            (None, None) => Ok(out),
            (Some(a), Some(owner)) if a == owner => Ok(out),
            (Some(_), _) => Err(EngineError::NotYours(id)),
        }
    }

    /// The agent's reply: an outbox row to the customer's address on the
    /// conversation's channel (in the store lane, off the loop), then its
    /// `message_out` event and push; `answer` gets the outbox row's id.
    ///
    /// # Errors
    /// Not a live conversation of this agent, or an empty text: `answer` is
    /// handed back with the error.
    pub(crate) fn reply(
        &mut self,
        agent: AgentId,
        id: InteractionId,
        text: String,
        answer: ReplyTx<i64>,
    ) -> Result<(), (ReplyTx<i64>, EngineError)> {
        let conv = match self.conversations.get(&id) {
            Some(c) => c,
            None if self.calls.contains_key(&id) => {
                return Err((
                    answer,
                    EngineError::Invalid("a call has no message thread".into()),
                ));
            }
            None => return Err((answer, EngineError::UnknownInteraction(id))),
        };
        if conv.agent != Some(agent) {
            return Err((answer, EngineError::NotYours(id)));
        }
        if text.trim().is_empty() {
            return Err((answer, EngineError::Invalid("empty reply".into())));
        }
        let t = self.now;
        let m = NewOutboxMessage {
            channel: conv.interaction.channel,
            recipient: conv.address.clone(),
            body: text.clone(),
            interaction_id: Some(id),
            customer_id: conv.interaction.customer_id,
            purpose: "agent_reply".into(),
        };
        let mut ev = NewEvent::new(t, EventKind::MessageOut { text: text.clone() })
            .with_interaction(id)
            .with_agent(agent);
        ev.customer_id = conv.interaction.customer_id;
        let writer = self.writer.clone();
        let push = self.push.clone();
        self.store_job(move |store| async move {
            match store.enqueue_message(&m, t).await {
                Ok(row) => {
                    if writer.submit(store::Write::Events(vec![ev])).await.is_err() {
                        tracing::error!("event writer stopped: message_out not recorded");
                    }
                    let _ = push.send(crate::push::Envelope {
                        audience: Audience::Agent(agent),
                        message: Push::Message {
                            interaction_id: id,
                            direction: "out".into(),
                            text,
                            at: t,
                        },
                    });
                    let _ = answer.send(Ok(row.id));
                }
                Err(e) => {
                    let _ = answer.send(Err(e.into()));
                }
            }
        });
        Ok(())
    }

    /// Close a conversation the agent has (at the disposition): the task
    /// ends, the interaction is closed, the agent's wrap-up is over at once
    /// (the disposition was its work).
    pub(crate) fn close_conversation(&mut self, agent: AgentId, id: InteractionId) {
        let t = self.now;
        let Some(mut conv) = self.conversations.remove(&id) else {
            return;
        };
        if let Err(e) = self.acd.handle_task_ended(t, id) {
            tracing::warn!(error = %e, "ACD conversation end refused");
        }
        conv.interaction.ended_at = Some(t);
        conv.interaction.end_reason = Some("completed".into());
        self.save(&conv.interaction);
        let mut ev = NewEvent::new(
            t,
            EventKind::Ended {
                reason: "completed".into(),
            },
        )
        .with_interaction(id)
        .with_agent(agent);
        ev.customer_id = conv.interaction.customer_id;
        self.record(vec![ev]);
        let _ = self
            .acd
            .handle_agent_state(t, agent, routing::AgentInput::WrapUpDone);
        self.send(
            Audience::Agent(agent),
            Push::Ended {
                interaction_id: id,
                reason: "completed".into(),
            },
        );
        self.process_decisions();
        self.sync_agent(agent);
    }
}
