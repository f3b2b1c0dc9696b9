//! Carrying out the ACD's decisions: ring agents (with the screen-pop),
//! stop ringing, announce position, time out, pause after RONA.

use super::{Actor, LegRole, Phase};
use super::{Then, VoiceOp};
use crate::push::{Audience, Push, ScreenPop};
use domain::event::AgentState;
use domain::*;
use routing::{CancelReason, Decision};
use std::time::Duration;
use voice::LegId;

impl Actor {
    /// Drain the ACD's decisions (handlers may add more while we go).
    pub(crate) fn process_decisions(&mut self) {
        let mut any = false;
        loop {
            // In batches, so that every agent a batch touched is synced once.
            let batch: Vec<Decision> = std::iter::from_fn(|| self.acd.poll_decision()).collect();
            if batch.is_empty() {
                break;
            }
            any = true;
            for d in batch.iter().cloned() {
                self.carry_out(d);
            }
            let mut touched: Vec<AgentId> = batch
                .iter()
                .flat_map(|d| match d {
                    Decision::Offer { agents, .. } => agents.clone(),
                    Decision::CancelOffer { agent, .. }
                    | Decision::CallbackDue { agent, .. }
                    | Decision::AgentPaused { agent, .. }
                    | Decision::WrapUpEnded { agent } => vec![*agent],
                    _ => Vec::new(),
                })
                .collect();
            touched.sort();
            touched.dedup();
            for a in touched {
                self.sync_agent(a);
            }
        }
        // Also when a task arrived or left without any decision (nobody
        // free: the waiting count still changed).
        let counts = (self.acd.waiting_count(), self.acd.task_count());
        if any || counts != self.last_task_counts {
            self.last_task_counts = counts;
            self.push_queue_stats();
        }
    }

    fn carry_out(&mut self, d: Decision) {
        {
            match d {
                Decision::Offer {
                    offer,
                    task,
                    agents,
                    ring_until,
                } => {
                    for agent in agents {
                        self.ring(offer, task, agent, ring_until);
                    }
                }
                Decision::CancelOffer {
                    offer,
                    task,
                    agent,
                    reason,
                } => {
                    let legs: Vec<_> = self
                        .offers
                        .get_mut(&offer)
                        .map(|v| {
                            let (gone, keep): (Vec<_>, Vec<_>) =
                                v.drain(..).partition(|(a, _)| *a == agent);
                            *v = keep;
                            gone
                        })
                        .unwrap_or_default();
                    for (_, leg) in legs {
                        self.legs.remove(&leg);
                        self.voice(VoiceOp::HangUp(leg));
                    }
                    if let Some(c) = self.conversations.get_mut(&task) {
                        c.offered.retain(|(a, _)| *a != agent);
                    }
                    if reason == CancelReason::Rona {
                        let queue = self.queue_of(task).unwrap_or(QueueId(0));
                        self.record(vec![
                            NewEvent::new(self.now, EventKind::Rona { queue_id: queue })
                                .with_interaction(task)
                                .with_agent(agent),
                        ]);
                        self.campaign_rona(task);
                    }
                    self.send(
                        Audience::Agent(agent),
                        Push::OfferCancelled {
                            interaction_id: task,
                            reason: cancel_reason(reason).into(),
                        },
                    );
                }
                Decision::Requeued { task, reason } => {
                    // Its ringing phones were stopped by the CancelOffers before it.
                    tracing::debug!(interaction = %task, ?reason, "task back in its queue");
                }
                Decision::Announce {
                    task,
                    position,
                    ewt_s,
                } => self.announce(task, position, ewt_s),
                Decision::Overflow { task, from, to } => {
                    if let Some(c) = self.calls.get_mut(&task) {
                        c.interaction.queue_id = Some(to);
                        let i = c.interaction.clone();
                        self.save(&i);
                    }
                    self.record(vec![
                        NewEvent::new(
                            self.now,
                            EventKind::Overflowed {
                                from_queue: from,
                                to_queue: to,
                            },
                        )
                        .with_interaction(task),
                    ]);
                }
                Decision::Widened {
                    task,
                    queue,
                    min_level,
                } => {
                    tracing::info!(interaction = %task, %queue, min_level, "task widened to lower skill levels");
                }
                Decision::MaxWaitExit { task, queue } => {
                    tracing::info!(interaction = %task, %queue, "max wait reached: call ended");
                    if let Some(c) = self.calls.get(&task) {
                        let leg = c.caller_leg;
                        let p = self.prompt_path(&c.lang.clone(), "sorry_technical");
                        self.voice(VoiceOp::Play {
                            leg,
                            wav: p,
                            barge_in: false,
                        });
                        self.voice(VoiceOp::HangUp(leg));
                    }
                }
                Decision::AgentPaused { agent, reason } => {
                    self.agent_state_changed(agent, AgentState::Paused, Some(reason));
                }
                Decision::WrapUpEnded { agent } => {
                    let mut ev = NewEvent::new(self.now, EventKind::WrapUpEnded).with_agent(agent);
                    ev.interaction_id = self.wrap_up_of.remove(&agent);
                    // The call's wrap-up is over: it leaves memory (a late
                    // disposition goes to its stored row).
                    if let Some(id) = ev.interaction_id
                        && self.calls.get(&id).is_some_and(|c| c.phase == Phase::Ended)
                    {
                        self.calls.remove(&id);
                    }
                    self.record(vec![ev]);
                    self.agent_state_changed(agent, AgentState::Available, None);
                }
                Decision::CallbackDue {
                    offer,
                    task,
                    agent,
                    ring_until,
                } => self.ring_callback(offer, task, agent, ring_until),
            }
        }
    }

    /// Ring one agent's phone for a task and push the screen-pop.
    fn ring(
        &mut self,
        offer: routing::OfferId,
        task: InteractionId,
        agent: AgentId,
        ring_until: Timestamp,
    ) {
        let t = self.now;
        if self.conversations.contains_key(&task) {
            return self.offer_conversation(offer, task, agent, ring_until);
        }
        if self.callbacks.contains_key(&task) {
            return self.ring_callback(offer, task, agent, ring_until);
        }
        let Some(call) = self.calls.get(&task) else {
            let _ = self.acd.handle_offer_rejected(t, task, agent);
            return;
        };
        let view = OfferView {
            channel: call.interaction.channel,
            queue_id: call.interaction.queue_id.unwrap_or(QueueId(0)),
            customer: call.customer.clone(),
            caller: call.caller.clone(),
            ivr_trace: call.ivr_trace.clone(),
            history: call.history.clone(),
            campaign: self.campaign_pop(task),
            bot: None,
        };
        let caller = view.caller.clone();
        self.present_offer(task, agent, ring_until, view);
        self.ring_phone(offer, task, agent, ring_until, caller, false);
    }

    /// Push the offer with its screen-pop to the agent (before the phone
    /// rings, SPEC §1.5), log `offered`, and show the agent reserved. Used
    /// for calls, callbacks and digital conversations alike.
    pub(crate) fn present_offer(
        &mut self,
        task: InteractionId,
        agent: AgentId,
        ring_until: Timestamp,
        view: OfferView,
    ) {
        let history: Vec<Interaction> = view.history.into_iter().filter(|i| i.id != task).collect();
        let queue = self
            .queues
            .get(&view.queue_id)
            .map(|q| q.name.clone())
            .unwrap_or_default();
        let customer_id = view.customer.as_ref().map(|c| c.id);
        self.send(
            Audience::Agent(agent),
            Push::Offer {
                interaction_id: task,
                channel: view.channel,
                queue,
                ring_until,
                screen_pop: Box::new(ScreenPop {
                    customer: view.customer,
                    caller: view.caller,
                    ivr_trace: view.ivr_trace,
                    history,
                    campaign: view.campaign,
                    bot: view.bot,
                }),
            },
        );
        let mut ev = NewEvent::new(
            self.now,
            EventKind::Offered {
                queue_id: view.queue_id,
            },
        )
        .with_interaction(task)
        .with_agent(agent);
        ev.customer_id = customer_id;
        self.record(vec![ev]);
        self.agent_state_changed(agent, AgentState::Reserved, None);
    }

    /// Ring the agent's phone (the SIP user named like their login) for an
    /// offer until the ACD's ring time-out plus a grace. The new leg (or the
    /// failure) comes back as an input ([`Self::on_agent_rung`]).
    /// `callback`: the offer is a callback's (the agent's leg is kept on it).
    pub(crate) fn ring_phone(
        &mut self,
        offer: routing::OfferId,
        task: InteractionId,
        agent: AgentId,
        ring_until: Timestamp,
        caller: String,
        callback: bool,
    ) {
        let t = self.now;
        let ring_ms = ring_until.millis_since(t).max(1000) as u64 + self.cfg.ring_grace_ms;
        let rung = Then::AgentRung {
            offer,
            task,
            agent,
            callback,
        };
        match self.agents.get(&agent).map(|a| a.agent.login.clone()) {
            Some(user) => self.voice_then(
                VoiceOp::Originate {
                    user,
                    caller,
                    ring: Duration::from_millis(ring_ms),
                },
                rung,
            ),
            None => self.on_agent_rung(
                offer,
                task,
                agent,
                callback,
                Err("agent not logged in".into()),
            ),
        }
    }

    /// The agent's phone rings (`Ok`: its leg), or cannot be rung: then the
    /// agent is paused (`phone_unreachable`, so the call does not come
    /// straight back to them; they are made ready when the phone
    /// registers) and the offer is rejected.
    pub(crate) fn on_agent_rung(
        &mut self,
        offer: routing::OfferId,
        task: InteractionId,
        agent: AgentId,
        callback: bool,
        rung: Result<LegId, String>,
    ) {
        let t = self.now;
        match rung {
            Ok(leg) => {
                self.legs.insert(leg, LegRole::Agent { task, agent, offer });
                self.leg_owner.insert(leg, (task, "agent", Some(agent)));
                self.offers.entry(offer).or_default().push((agent, leg));
                if callback && let Some(cb) = self.callbacks.get_mut(&task) {
                    cb.agent = Some((agent, leg));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, %agent, "cannot ring the agent's phone: offer rejected, agent paused");
                // Pause first: the rejected call must not come straight back.
                let _ = self.acd.handle_agent_state(
                    t,
                    agent,
                    routing::AgentInput::Pause {
                        reason: PHONE_UNREACHABLE.into(),
                    },
                );
                let _ = self.acd.handle_offer_rejected(t, task, agent);
                self.send(
                    Audience::Agent(agent),
                    Push::OfferCancelled {
                        interaction_id: task,
                        reason: PHONE_UNREACHABLE.into(),
                    },
                );
            }
        }
    }

    /// Tell a waiting caller their position: "you are number N in the queue".
    fn announce(&mut self, task: InteractionId, position: u32, ewt_s: Option<u32>) {
        let Some(call) = self.calls.get(&task) else {
            return;
        };
        if call.phase != Phase::Queued {
            return;
        }
        let lang = call.lang.clone();
        let leg = call.caller_leg;
        let mut names = vec!["queue_position".to_string()];
        match ivr::say::Grammar::for_language(&lang) {
            Some(g) => ivr::say::number_words(g, u64::from(position), &mut names),
            None => {
                ivr::say::number_words(ivr::say::Grammar::French, u64::from(position), &mut names)
            }
        }
        names.push("queue_position_end".into());
        if self.cfg.queue_callback_digit == Some('*') && self.cfg.callback_trunk.is_some() {
            names.push("callback_offer".into());
        }
        let paths: std::collections::VecDeque<_> =
            names.iter().map(|n| self.prompt_path(&lang, n)).collect();
        if let Some(c) = self.calls.get_mut(&task) {
            c.prompts = paths;
            c.barge_in = false;
        }
        self.voice(VoiceOp::StopPrompt(leg));
        self.play_next(task);
        self.record(vec![
            NewEvent::new(self.now, EventKind::Announced { position, ewt_s })
                .with_interaction(task),
        ]);
    }
}

impl Actor {
    /// The queue a live call, conversation or callback is in.
    pub(crate) fn queue_of(&self, task: InteractionId) -> Option<QueueId> {
        self.calls
            .get(&task)
            .map(|c| c.interaction.queue_id)
            .or_else(|| {
                self.conversations
                    .get(&task)
                    .map(|c| c.interaction.queue_id)
            })
            .or_else(|| self.callbacks.get(&task).map(|c| c.interaction.queue_id))
            .flatten()
    }
}

/// What an offer's screen-pop shows.
pub(crate) struct OfferView {
    pub channel: Channel,
    pub queue_id: QueueId,
    pub customer: Option<Customer>,
    /// The customer's number or address as presented.
    pub caller: String,
    pub ivr_trace: Option<serde_json::Value>,
    /// The customer's last interactions, newest first.
    pub history: Vec<Interaction>,
    /// The outbound card of a campaign call.
    pub campaign: Option<crate::push::CampaignPop>,
    /// The chatbot's hand-over record of a conversation.
    pub bot: Option<crate::push::BotPop>,
}

/// Pause reason of an agent whose phone cannot be rung.
pub(crate) const PHONE_UNREACHABLE: &str = "phone_unreachable";

/// The push reason of a cancelled offer (`offer_cancelled.reason`).
fn cancel_reason(r: CancelReason) -> &'static str {
    match r {
        CancelReason::AnsweredElsewhere => "answered_elsewhere",
        CancelReason::Abandoned => "abandoned",
        CancelReason::Rona => "rona",
        CancelReason::Rejected => "rejected",
        CancelReason::AgentLoggedOut => "agent_logged_out",
    }
}
