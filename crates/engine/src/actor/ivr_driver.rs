//! Running a call's IVR session: its actions (prompts, lookups, language,
//! queue, messages after hang-up), the prompt queue and music on hold, and
//! the messages it leaves in the outbox.

use super::{Actor, Internal, Phase};
use super::{Then, VoiceOp};
use domain::*;
use ivr::Action;
use std::collections::VecDeque;
use store::{NewInteraction, NewOutboxMessage};

impl Actor {
    /// Carry out every pending action of a call's IVR session.
    pub(crate) fn drive_ivr(&mut self, id: InteractionId) {
        loop {
            let Some(call) = self.calls.get_mut(&id) else {
                return;
            };
            let Some(session) = call.ivr.as_mut() else {
                return;
            };
            let Some(action) = session.poll_action() else {
                break;
            };
            let lang = session.language().to_string();
            call.lang = lang.clone();
            match action {
                Action::Play { prompts, barge_in } => {
                    let paths: VecDeque<_> = prompts
                        .iter()
                        .map(|p| self.cfg.prompts_dir.join(p.path()))
                        .collect();
                    if let Some(call) = self.calls.get_mut(&id) {
                        call.prompts = paths;
                        call.prompts_for_ivr = true;
                        call.barge_in = barge_in;
                    }
                    self.play_next(id);
                }
                Action::CollectDigits { .. } => {}
                Action::Lookup { id: lid, kind } => {
                    let runner = self.lookups.clone();
                    self.task(async move {
                        let result = runner.run(kind).await;
                        Some(Internal::Lookup {
                            interaction: id,
                            id: lid,
                            result,
                        })
                    });
                }
                Action::StoreLanguage { lang } => {
                    let cust = self
                        .calls
                        .get(&id)
                        .and_then(|c| c.customer.as_ref().map(|c| c.id));
                    if let Some(cid) = cust {
                        let patch = store::CustomerPatch {
                            language: Some(lang.clone()),
                            ..Default::default()
                        };
                        let t = self.now;
                        self.store_job(move |store| async move {
                            if let Err(e) = store.update_customer(cid, &patch, t).await {
                                tracing::warn!(error = %e, "cannot store the caller's language");
                            }
                        });
                    }
                }
                Action::Queue {
                    queue,
                    priority,
                    segment,
                } => {
                    self.finish_ivr(id);
                    self.enqueue(id, &queue, priority, segment);
                    return;
                }
                Action::OpenConversation {
                    channel,
                    to,
                    queue,
                    priority,
                    first_message,
                } => {
                    self.open_conversation(id, channel, to, &queue, priority, first_message);
                }
                Action::SendMessage { channel, to, text } => {
                    self.outbox(id, channel, to.map(|p| p.to_string()), text, "ivr_message");
                }
                Action::Transfer { number } => {
                    tracing::warn!(interaction = %id, %number, "IVR transfer to a number is not wired yet: hanging up");
                    let leg = self.calls.get(&id).map(|c| c.caller_leg);
                    if let Some(leg) = leg {
                        self.voice(VoiceOp::HangUp(leg));
                    }
                }
                Action::Hangup => {
                    let leg = self.calls.get(&id).map(|c| c.caller_leg);
                    if let Some(leg) = leg {
                        self.voice(VoiceOp::HangUp(leg));
                    }
                }
            }
        }
        self.write_ivr_steps(id, false);
    }

    /// Write the IVR steps not written yet as `ivr_step` events, as the
    /// caller goes (a crash loses at most the node they are in): every node
    /// they have left, or with `all` (the IVR part ended) every node.
    fn write_ivr_steps(&mut self, id: InteractionId, all: bool) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(session) = call.ivr.as_ref() else {
            return;
        };
        let trace = session.trace();
        let upto = if all {
            trace.nodes.len()
        } else {
            trace.nodes.len().saturating_sub(1)
        };
        if upto <= call.ivr_steps_written {
            return;
        }
        let base = call.interaction.started_at;
        let customer = call.customer.as_ref().map(|c| c.id);
        let events: Vec<NewEvent> = trace.nodes[call.ivr_steps_written..upto]
            .iter()
            .map(|n| {
                let digits: String = trace
                    .digits
                    .iter()
                    .filter(|d| d.node == n.node)
                    .map(|d| d.digit)
                    .collect();
                let mut e = NewEvent::new(
                    base.add_millis(n.at_ms),
                    EventKind::IvrStep {
                        flow: trace.flow.clone(),
                        node: n.node.clone(),
                        digits: (!digits.is_empty()).then_some(digits),
                    },
                )
                .with_interaction(id);
                e.customer_id = customer;
                e
            })
            .collect();
        call.ivr_steps_written = upto;
        self.record(events);
    }

    /// Keep the IVR path for the screen-pop; write its last steps.
    pub(crate) fn finish_ivr(&mut self, id: InteractionId) {
        self.write_ivr_steps(id, true);
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(session) = call.ivr.take() else {
            return;
        };
        call.ivr_trace = serde_json::to_value(session.trace()).ok();
    }

    pub(crate) fn play_next(&mut self, id: InteractionId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let leg = call.caller_leg;
        let barge = call.barge_in;
        if let Some(p) = call.prompts.pop_front() {
            self.voice_then(
                VoiceOp::Play {
                    leg,
                    wav: p,
                    barge_in: barge,
                },
                Then::Warn("cannot play prompt"),
            );
        }
    }

    pub(crate) fn on_prompt_finished(&mut self, id: InteractionId, interrupted: bool) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        match call.phase {
            Phase::Ivr => {
                if interrupted {
                    call.prompts.clear();
                    return;
                }
                if !call.prompts.is_empty() {
                    self.play_next(id);
                } else if call.prompts_for_ivr {
                    call.prompts_for_ivr = false;
                    if let Some(s) = call.ivr.as_mut() {
                        s.handle_prompt_done(self.now);
                    }
                    self.drive_ivr(id);
                    self.process_decisions();
                }
            }
            Phase::Queued => {
                if !call.prompts.is_empty() {
                    self.play_next(id);
                } else if !interrupted {
                    self.music_on_hold(id);
                }
            }
            Phase::Talking | Phase::Ended => {}
        }
    }

    pub(crate) fn music_on_hold(&mut self, id: InteractionId) {
        let (Some(moh), Some(call)) = (self.cfg.music_on_hold.clone(), self.calls.get(&id)) else {
            return;
        };
        let leg = call.caller_leg;
        self.voice_then(
            VoiceOp::MusicOnHold { leg, wav: moh },
            Then::Warn("cannot start music on hold"),
        );
    }

    pub(crate) fn open_conversation(
        &mut self,
        from: InteractionId,
        channel: Channel,
        to: Option<PhoneNumber>,
        queue: &str,
        priority: i32,
        first_message: String,
    ) {
        let t = self.now;
        let customer = self.calls.get(&from).and_then(|c| c.customer.clone());
        let history = self
            .calls
            .get(&from)
            .map(|c| {
                let mut h = vec![c.interaction.clone()];
                h.extend(c.history.iter().cloned());
                h.truncate(10);
                h
            })
            .unwrap_or_default();
        let segment = customer.as_ref().map(|c| c.segment).unwrap_or_default();
        let qid = self.queue_by_name.get(queue).copied();
        let mut first = NewEvent::new(
            t,
            EventKind::MessageOut {
                text: first_message.clone(),
            },
        );
        first.customer_id = customer.as_ref().map(|c| c.id);
        let opened = self.open_interaction(
            NewInteraction {
                channel,
                direction: Direction::Outbound,
                customer_id: customer.as_ref().map(|c| c.id),
                queue_id: qid,
                agent_id: None,
                started_at: t,
            },
            vec![first],
        );
        let conv = match opened {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(error = %e, "cannot open the conversation");
                return;
            }
        };
        let address = to.map(|p| p.to_string()).or_else(|| {
            customer
                .as_ref()
                .and_then(|c| c.phones.first().map(|p| p.to_string()))
        });
        self.outbox(
            conv.id,
            channel,
            address.clone(),
            first_message,
            "ivr_first_message",
        );
        // The customer's answers come back on this conversation; an agent
        // of `queue` takes it.
        if let (Some(q), Some(address)) = (qid, address) {
            let extra = priority - segment.priority();
            let conversation = super::Prefetched {
                interaction: conv,
                customer,
                history,
            };
            if let Err(e) = self.route_conversation(conversation, q, address, extra) {
                tracing::error!(error = %e, "ACD refused the conversation");
            }
        }
    }

    /// Put a message in the outbox for the interaction's customer.
    pub(crate) fn outbox(
        &mut self,
        id: InteractionId,
        channel: Channel,
        to: Option<String>,
        text: String,
        purpose: &str,
    ) {
        let call = self.calls.get(&id);
        let customer = call.and_then(|c| c.customer.as_ref());
        // The customer's number, else the call's own (a campaign's contact
        // with no customer record) when it is a valid E.164 number.
        let recipient = to
            .or_else(|| customer.and_then(|c| c.phones.first().map(|p| p.to_string())))
            .or_else(|| {
                call.and_then(|c| PhoneNumber::try_from(c.caller.clone()).ok())
                    .map(|p| p.to_string())
            });
        let Some(recipient) = recipient else {
            tracing::warn!(interaction = %id, purpose, "no recipient for the message: not sent");
            return;
        };
        let m = NewOutboxMessage {
            channel,
            recipient,
            body: text,
            interaction_id: Some(id),
            customer_id: customer.map(|c| c.id),
            purpose: purpose.into(),
        };
        let t = self.now;
        self.store_job(move |store| async move {
            if let Err(e) = store.enqueue_message(&m, t).await {
                tracing::error!(error = %e, "cannot queue the message");
            }
        });
    }
}
