//! Callbacks (SPEC §1.4): a waiting caller (or a web form, through the API)
//! asks to be called back. The ACD keeps the task's place; when its turn
//! comes the agent's phone rings with the screen-pop, and once the agent
//! answers the customer is dialled through the outbound trunk and the two
//! legs are bridged. A callback nobody answers ends as `callback_no_answer`
//! and the agent goes to wrap-up to note it.

use super::decisions::OfferView;
use super::{Actor, Call, LegRole, Phase};
use super::{Then, VoiceOp};
use crate::{CallbackRequest, EngineError};
use domain::event::AgentState;
use domain::*;
use routing::{OfferId, Task};
use std::collections::VecDeque;
use std::time::Duration;
use store::NewInteraction;
use voice::LegId;

/// How long the customer's phone rings on a callback.
const CUSTOMER_RING: Duration = Duration::from_secs(30);

/// A callback waiting for its turn or being placed.
pub(crate) struct Callback {
    pub interaction: Interaction,
    pub customer: Option<Customer>,
    /// E.164 number to dial.
    pub number: String,
    pub lang: String,
    pub segment: Segment,
    pub requested_at: Timestamp,
    /// The agent whose phone rings or who answered, and their leg.
    pub agent: Option<(AgentId, LegId)>,
    /// The customer's leg once dialled.
    pub customer_leg: Option<LegId>,
    /// The customer's last interactions (screen-pop).
    pub history: Vec<Interaction>,
}

impl Actor {
    /// Queue a callback. `caller`: who owns the number (read by the API
    /// handle); `None` when the callback comes from a waiting call.
    pub(crate) fn request_callback(
        &mut self,
        req: CallbackRequest,
        caller: Option<super::CallerLookup>,
    ) -> Result<InteractionId, EngineError> {
        let t = self.now;
        if !self.queues.contains_key(&req.queue) {
            return Err(EngineError::Invalid(format!("unknown queue {}", req.queue)));
        }
        if self.cfg.callback_trunk.is_none() {
            return Err(EngineError::Invalid(
                "no outbound trunk is configured for callbacks".into(),
            ));
        }
        let number = phone::normalize_e164(&req.number, Some(&self.cfg.default_country))
            .map_err(|e| EngineError::Invalid(format!("number: {e}")))?;
        let event = |id: InteractionId, customer: Option<CustomerId>| {
            let mut e = NewEvent::new(
                t,
                EventKind::CallbackRequested {
                    queue_id: req.queue,
                    number: number.to_string(),
                },
            )
            .with_interaction(id);
            e.customer_id = customer;
            e
        };
        if let Some(id) = req.from_interaction {
            // A waiting caller: keeps their place, their call ends now.
            let waiting = self
                .calls
                .get(&id)
                .is_some_and(|c| c.phase == Phase::Queued);
            if !waiting {
                return Err(EngineError::Invalid(format!(
                    "interaction {id} is not a call waiting in a queue"
                )));
            }
            if self.calls.get(&id).and_then(|c| c.interaction.queue_id) != Some(req.queue) {
                return Err(EngineError::Invalid(
                    "a waiting call is called back from its own queue".into(),
                ));
            }
            self.acd.handle_callback_requested(t, id)?;
            let Some(call) = self.calls.remove(&id) else {
                return Err(EngineError::UnknownInteraction(id));
            };
            self.legs.remove(&call.caller_leg);
            // "An advisor will call you back": then the call ends.
            let bye = self.prompt_path(&call.lang, "callback_confirmed");
            self.voice(VoiceOp::StopPrompt(call.caller_leg));
            if self.prompt_files.has(&call.lang, "callback_confirmed")
                || self
                    .prompt_files
                    .has(&self.cfg.default_language, "callback_confirmed")
            {
                self.play_then_hang_up(call.caller_leg, bye);
            } else {
                self.voice(VoiceOp::HangUp(call.caller_leg));
            }
            let customer = call.customer.as_ref().map(|c| c.id);
            self.record(vec![event(id, customer)]);
            self.callbacks.insert(
                id,
                Callback {
                    interaction: call.interaction,
                    customer: call.customer,
                    number: number.to_string(),
                    lang: call.lang,
                    segment: call.segment,
                    requested_at: t,
                    agent: None,
                    customer_leg: None,
                    history: call.history,
                },
            );
            return Ok(id);
        }
        let Some(caller) = caller else {
            return Err(EngineError::Invalid(
                "the caller's lookup is missing (callback not from a waiting call)".into(),
            ));
        };
        if caller.created
            && let Some(cust) = &caller.customer
        {
            self.record(vec![
                NewEvent::new(t, EventKind::CustomerCreated).with_customer(cust.id),
            ]);
        }
        let (customer, history) = (caller.customer, caller.history);
        let interaction = self.open_interaction(
            NewInteraction {
                channel: Channel::Voice,
                direction: Direction::Outbound,
                customer_id: customer.as_ref().map(|c| c.id),
                queue_id: Some(req.queue),
                agent_id: None,
                started_at: t,
            },
            Vec::new(),
        )?;
        let id = interaction.id;
        let cid = customer.as_ref().map(|c| c.id);
        let segment = customer.as_ref().map(|c| c.segment).unwrap_or_default();
        let mut queued = NewEvent::new(
            t,
            EventKind::Queued {
                queue_id: req.queue,
                priority: segment.priority(),
            },
        )
        .with_interaction(id);
        queued.customer_id = cid;
        self.record(vec![event(id, cid), queued]);
        let lang = customer
            .as_ref()
            .and_then(|c| c.language.clone())
            .unwrap_or_else(|| self.cfg.default_language.clone());
        self.callbacks.insert(
            id,
            Callback {
                interaction,
                customer,
                number: number.to_string(),
                lang,
                segment,
                requested_at: t,
                agent: None,
                customer_leg: None,
                history,
            },
        );
        self.acd
            .handle_task_arrived(t, Task::new(id, req.queue, Channel::Voice, segment))?;
        // Waiting: make it a callback in the ACD (no announcements, no
        // max-wait exit). Offered at once: it is rung as a callback anyway.
        let _ = self.acd.handle_callback_requested(t, id);
        Ok(id)
    }

    /// The callback's turn: ring the agent's phone with the screen-pop.
    pub(crate) fn ring_callback(
        &mut self,
        offer: OfferId,
        task: InteractionId,
        agent: AgentId,
        ring_until: Timestamp,
    ) {
        let Some(cb) = self.callbacks.get(&task) else {
            let _ = self.acd.handle_offer_rejected(self.now, task, agent);
            return;
        };
        let view = OfferView {
            channel: Channel::Voice,
            queue_id: cb.interaction.queue_id.unwrap_or(QueueId(0)),
            customer: cb.customer.clone(),
            caller: cb.number.clone(),
            ivr_trace: Some(serde_json::json!({"callback": true})),
            history: cb.history.clone(),
            campaign: None,
            bot: None,
        };
        let number = cb.number.clone();
        self.present_offer(task, agent, ring_until, view);
        self.ring_phone(offer, task, agent, ring_until, number, true);
    }

    /// The agent picked up a callback: dial the customer.
    pub(crate) fn on_callback_agent_answered(
        &mut self,
        leg: LegId,
        task: InteractionId,
        agent: AgentId,
        offer: OfferId,
    ) {
        let t = self.now;
        if self.acd.handle_offer_accepted(t, task, agent).is_err() {
            self.legs.remove(&leg);
            self.voice(VoiceOp::HangUp(leg));
            return;
        }
        if let Some(ringing) = self.offers.get_mut(&offer) {
            ringing.retain(|(a, _)| *a != agent);
        }
        self.agent_state_changed(agent, AgentState::Busy, None);
        let Some(cb) = self.callbacks.get_mut(&task) else {
            return;
        };
        cb.agent = Some((agent, leg));
        cb.interaction.agent_id = Some(agent);
        let number = cb.number.clone();
        let trunk = self.cfg.callback_trunk.clone().unwrap_or_default();
        let caller_id = self.cfg.callback_caller_id.clone();
        self.voice_then(
            VoiceOp::OriginateTrunk {
                trunk,
                number,
                caller_id,
                ring: CUSTOMER_RING,
            },
            Then::CallbackDialled {
                task,
                agent_leg: leg,
            },
        );
    }

    /// The callback's customer is being dialled (`Ok`: their leg), or
    /// could not be.
    pub(crate) fn on_callback_dialled(
        &mut self,
        task: InteractionId,
        agent_leg: LegId,
        dialled: Result<LegId, voice::VoiceError>,
    ) {
        match dialled {
            Ok(c) => {
                self.legs.insert(c, LegRole::CallbackCustomer(task));
                self.leg_owner.insert(c, (task, "caller", None));
                if let Some(cb) = self.callbacks.get_mut(&task) {
                    cb.customer_leg = Some(c);
                }
                // The agent hears music while the customer's phone rings.
                if let Some(moh) = self.cfg.music_on_hold.clone() {
                    self.voice(VoiceOp::MusicOnHold {
                        leg: agent_leg,
                        wav: moh,
                    });
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, interaction = %task, "cannot dial the callback");
                self.callback_failed(task, "callback_failed");
            }
        }
    }

    /// The customer answered the callback: it becomes an ordinary call,
    /// bridged to the agent (and recorded if the queue records).
    pub(crate) fn on_callback_customer_answered(&mut self, leg: LegId, task: InteractionId) {
        let Some(cb) = self.callbacks.remove(&task) else {
            return;
        };
        let Some((agent, agent_leg)) = cb.agent else {
            return;
        };
        self.legs.insert(leg, LegRole::Caller(task));
        self.voice(VoiceOp::StopPrompt(agent_leg));
        self.calls.insert(
            task,
            Call {
                interaction: cb.interaction,
                customer: cb.customer,
                caller: cb.number,
                caller_leg: leg,
                lang: cb.lang,
                segment: cb.segment,
                ivr: None,
                ivr_trace: None,
                ivr_steps_written: 0,
                phase: Phase::Queued,
                prompts: VecDeque::new(),
                prompts_for_ivr: false,
                barge_in: false,
                queued_at: Some(cb.requested_at),
                agent: None,
                agent_leg: None,
                recording: None,
                history: cb.history,
                recording_parts: 0,
                on_hold: false,
                hold_pending: None,
                monitor: None,
            },
        );
        // The ACD already counts the task as the agent's: connect it as an
        // answered offer.
        self.connect(leg, agent_leg, task, agent);
    }

    /// A callback leg ended before the two sides were bridged: the
    /// customer's (`customer`: no answer, busy) or the agent's.
    pub(crate) fn on_callback_leg_gone(&mut self, task: InteractionId, customer: bool) {
        let reason = if customer {
            "callback_no_answer"
        } else {
            "agent_hangup"
        };
        self.callback_failed(task, reason);
    }

    /// Close a callback that did not connect; the agent (if they picked up)
    /// goes to wrap-up to record the outcome.
    fn callback_failed(&mut self, task: InteractionId, reason: &str) {
        let t = self.now;
        let Some(mut cb) = self.callbacks.remove(&task) else {
            return;
        };
        for l in [cb.customer_leg, cb.agent.map(|(_, l)| l)]
            .into_iter()
            .flatten()
        {
            self.legs.remove(&l);
            self.voice(VoiceOp::HangUp(l));
        }
        let agent = cb.agent.map(|(a, _)| a);
        if agent.is_some() {
            let _ = self.acd.handle_task_ended(t, task);
        } else {
            let _ = self.acd.handle_abandon(t, task);
        }
        cb.interaction.ended_at = Some(t);
        cb.interaction.end_reason = Some(reason.into());
        self.save(&cb.interaction);
        let mut ev = NewEvent::new(
            t,
            EventKind::Ended {
                reason: reason.into(),
            },
        )
        .with_interaction(task);
        ev.customer_id = cb.interaction.customer_id;
        ev.agent_id = agent;
        self.record(vec![ev]);
        if let Some(a) = agent {
            self.start_wrap_up(a, task, reason, t);
        }
        self.process_decisions();
    }
}
