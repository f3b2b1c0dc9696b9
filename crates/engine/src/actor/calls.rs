//! Voice events: a call arrives, runs its IVR, waits, is answered by an
//! agent, ends.

use super::{Actor, Call, LegRole, Phase};
use super::{Then, VoiceOp};
use crate::EntryPoint;
use crate::push::{Audience, Push};
use domain::event::AgentState;
use domain::*;
use routing::Task;
use std::collections::VecDeque;
use store::{Identity, NewCustomer, NewInteraction};
use voice::{CallEvent, HangupCause, LegId};

/// The outcome of an inbound caller's lookup ([`identify_caller`]), an
/// input of the engine loop.
pub(crate) struct Identified {
    pub leg: LegId,
    pub caller: String,
    pub entry: EntryPoint,
    pub t: Timestamp,
    pub number: Option<PhoneNumber>,
    pub found: Result<CallerLookup, store::StoreError>,
}

/// Who a caller is.
#[derive(Debug)]
pub(crate) struct CallerLookup {
    pub customer: Option<Customer>,
    /// The customer was created for this call (a `customer_created` event is due).
    pub created: bool,
    /// A known customer with an earlier voice interaction.
    pub has_called_before: bool,
    /// The customer's last interactions, newest first (screen-pop).
    pub history: Vec<Interaction>,
}

/// The customer owning this number (created if unknown) and whether they
/// called before: store reads and one insert, run off the engine loop.
/// Two first calls from one unknown number at once: the insert that loses
/// the race (a conflict on the phone) reads the winner's customer.
pub(crate) async fn identify_caller(
    store: &dyn store::Store,
    number: Option<&PhoneNumber>,
    t: Timestamp,
) -> Result<CallerLookup, store::StoreError> {
    let Some(n) = number else {
        return Ok(CallerLookup {
            customer: None,
            created: false,
            has_called_before: false,
            history: Vec::new(),
        });
    };
    if let Some(c) = known_caller(store, n).await? {
        return Ok(c);
    }
    let created = store
        .create_customer(
            &NewCustomer {
                name: n.to_string(),
                phones: vec![n.clone()],
                ..Default::default()
            },
            t,
        )
        .await;
    match created {
        Ok(c) => Ok(CallerLookup {
            customer: Some(c),
            created: true,
            has_called_before: false,
            history: Vec::new(),
        }),
        Err(store::StoreError::Conflict(e)) => match known_caller(store, n).await? {
            Some(c) => Ok(c),
            None => Err(store::StoreError::Conflict(e)),
        },
        Err(e) => Err(e),
    }
}

/// The customer owning `n`, with whether they called before and their
/// history; `None` if the number is unknown.
pub(crate) async fn known_caller(
    store: &dyn store::Store,
    n: &PhoneNumber,
) -> Result<Option<CallerLookup>, store::StoreError> {
    let Some(c) = store
        .find_customer_by_identity(&Identity::Phone(n.clone()))
        .await?
    else {
        return Ok(None);
    };
    let past = store::InteractionFilter {
        customer_id: Some(c.id),
        channel: Some(Channel::Voice),
        limit: 1,
        ..Default::default()
    };
    let has_called_before = store
        .list_interactions(&past)
        .await
        .map(|v| !v.is_empty())
        .unwrap_or(false);
    let history = super::history(store, Some(&c)).await;
    Ok(Some(CallerLookup {
        customer: Some(c),
        created: false,
        has_called_before,
        history,
    }))
}

impl Actor {
    pub(crate) fn on_voice_event(&mut self, ev: CallEvent) {
        match ev {
            CallEvent::Incoming {
                leg,
                caller,
                callee,
                trunk,
                entry_point,
                from_user,
            } => {
                self.on_incoming(leg, caller, callee, trunk, entry_point, from_user);
            }
            CallEvent::Ringing { .. } => {}
            CallEvent::Answered { leg } => match self.legs.get(&leg).copied() {
                Some(LegRole::Agent { task, agent, offer }) => {
                    if self.callbacks.contains_key(&task) {
                        self.on_callback_agent_answered(leg, task, agent, offer);
                    } else {
                        self.on_agent_answered(leg, task, agent, offer);
                    }
                }
                Some(LegRole::CallbackCustomer(task)) => {
                    self.on_callback_customer_answered(leg, task);
                }
                Some(LegRole::Campaign { campaign, attempt }) => {
                    self.on_campaign_answered(campaign, attempt);
                }
                Some(LegRole::Supervisor(task)) => self.on_supervisor_answered(leg, task),
                _ => {}
            },
            CallEvent::SupervisionMode { supervisor, mode } => {
                self.on_supervisor_dtmf_mode(supervisor, mode);
            }
            CallEvent::Dtmf { leg, digit, .. } => {
                if let Some(LegRole::Caller(id)) = self.legs.get(&leg).copied() {
                    let Some(call) = self.calls.get_mut(&id) else {
                        return;
                    };
                    if call.phase == Phase::Queued
                        && Some(digit) == self.cfg.queue_callback_digit
                        && self.cfg.callback_trunk.is_some()
                    {
                        // "Press * to be called back without losing your place."
                        let number = call.caller.clone();
                        let Some(queue) = call.interaction.queue_id else {
                            return;
                        };
                        let req = crate::CallbackRequest {
                            queue,
                            number,
                            from_interaction: Some(id),
                        };
                        if let Err(e) = self.request_callback(req, None) {
                            tracing::warn!(error = %e, interaction = %id, "callback by DTMF refused");
                        }
                        self.process_decisions();
                        return;
                    }
                    if call.phase != Phase::Ivr {
                        return;
                    }
                    if call.barge_in {
                        call.prompts.clear();
                    }
                    if let Some(s) = call.ivr.as_mut() {
                        s.handle_dtmf(self.now, digit);
                    }
                    self.drive_ivr(id);
                    self.process_decisions();
                }
            }
            CallEvent::PromptFinished { leg, interrupted } => {
                if self.hang_up_after_prompt.remove(&leg) {
                    self.voice(VoiceOp::HangUp(leg));
                    return;
                }
                if let Some(LegRole::Caller(id)) = self.legs.get(&leg).copied() {
                    self.on_prompt_finished(id, interrupted);
                }
            }
            CallEvent::RecordingFinished {
                leg,
                path,
                duration_ms,
            } => {
                let Some(id) = self.recordings.remove(&leg) else {
                    return;
                };
                let file = path.display().to_string();
                if let Some(call) = self.calls.get_mut(&id) {
                    call.interaction.recording = Some(file.clone());
                }
                // Only the recording column: no read-back, no full-row rewrite.
                let w = store::Write::Update {
                    id,
                    change: store::InteractionChange {
                        recording: Some(file),
                        ..Default::default()
                    },
                    events: Vec::new(),
                };
                self.write(w);
                self.record(vec![
                    NewEvent::new(self.now, EventKind::RecordingStopped).with_interaction(id),
                ]);
                tracing::info!(interaction = %id, duration_ms, "recording written");
            }
            CallEvent::MediaQuality { leg, quality } => {
                let Some(&(id, who, agent)) = self.leg_owner.get(&leg) else {
                    return;
                };
                let mut ev = NewEvent::new(
                    self.now,
                    EventKind::MediaQuality {
                        leg: who.into(),
                        loss_pct: quality.loss_pct,
                        jitter_ms: quality.jitter_ms,
                        mos: quality.mos,
                        rtt_ms: quality.rtt_ms,
                    },
                )
                .with_interaction(id);
                ev.agent_id = agent;
                self.record(vec![ev]);
            }
            CallEvent::HungUp { leg, .. } if self.incoming_pending.remove(&leg) => {
                tracing::info!(%leg, "caller left before being identified: no interaction");
            }
            CallEvent::HungUp { leg, cause, .. } => self.on_hung_up(leg, cause),
            CallEvent::TransferRequested { leg, target } => {
                self.on_phone_transfer(leg, target);
                self.process_decisions();
            }
            CallEvent::TransferStatus { leg, status } => {
                tracing::info!(%leg, status, "transfer progress");
            }
            CallEvent::Bindings { user, bindings } => {
                // Kept in the store so that phones stay reachable across a
                // restart (the voice shell takes them back at start).
                let rows: Vec<store::SipBinding> = bindings
                    .into_iter()
                    .map(|b| store::SipBinding {
                        user: b.user,
                        contact: b.contact,
                        source: b.source.to_string(),
                        expires_at: Timestamp::from_millis(b.expires_at_ms),
                        call_id: b.call_id,
                    })
                    .collect();
                self.store_job(move |store| async move {
                    if let Err(e) = store.replace_sip_bindings(&user, &rows).await {
                        tracing::error!(error = %e, %user, "cannot keep the registration");
                    }
                });
            }
            CallEvent::DialogConfirmed(d) => {
                // Kept so that a restart after a crash can end the dialog
                // with a BYE (issue 13); the keeper runs operations in
                // order, so a dialog's removal never overtakes its save.
                let row = store::SavedSipDialog {
                    call_id: d.call_id,
                    local: d.local,
                    local_tag: d.local_tag,
                    remote: d.remote,
                    remote_target: d.remote_target,
                    route_set: d.route_set,
                    transport: d.transport,
                    peer: d.peer.to_string(),
                    local_cseq: d.local_cseq,
                    saved_at: Timestamp::from_millis(d.saved_at_ms),
                };
                self.effects.push_back(super::effects::Effect::Dialog(
                    super::effects::DialogOp::Save(row),
                ));
            }
            CallEvent::DialogEnded { call_id } => {
                self.effects.push_back(super::effects::Effect::Dialog(
                    super::effects::DialogOp::Remove(call_id),
                ));
            }
            CallEvent::Registration(change) => {
                tracing::info!(?change, "registration");
                self.on_registration(change);
            }
        }
    }

    fn on_incoming(
        &mut self,
        leg: LegId,
        caller: String,
        callee: String,
        trunk: Option<String>,
        entry_point: Option<String>,
        from_user: Option<String>,
    ) {
        let entry = entry_point
            .as_ref()
            .and_then(|e| self.cfg.entry_points.get(e))
            .cloned();
        let Some(entry) = entry.filter(|_| trunk.is_some()) else {
            tracing::warn!(%leg, %caller, %callee, ?trunk, ?from_user, "no entry point for this call: refused");
            self.voice(VoiceOp::HangUp(leg));
            return;
        };
        if matches!(entry, EntryPoint::Flow(_))
            && let Some(max) = self.cfg.max_calls_in_ivr
            && self.calls_in_ivr() >= max
        {
            metrics::counter!("switchboard_ivr_calls_shed_total").increment(1);
            tracing::debug!(%leg, %caller, max, "IVR full: call refused with 503");
            self.voice(VoiceOp::RefuseOverload(leg));
            return;
        }
        let t = self.now;
        let number = domain::phone::normalize_e164(&caller, Some(&self.cfg.default_country)).ok();
        // Who calls is a store read: asked off the loop, the call goes on
        // when the answer comes back ([`Self::on_identified`]).
        self.incoming_pending.insert(leg);
        let store = self.store.clone();
        self.task(async move {
            let found = identify_caller(&*store, number.as_ref(), t).await;
            Some(super::Internal::Identified(Box::new(Identified {
                leg,
                caller,
                entry,
                t,
                number,
                found,
            })))
        });
    }

    /// Calls held by IVR flows now: answered calls in [`Phase::Ivr`] running
    /// a flow, plus calls being identified (their entry point is not known
    /// to be a queue until then, so they count, as the limit must hold
    /// while lookups are slow). What
    /// [`crate::EngineConfig::max_calls_in_ivr`] limits. O(live calls).
    pub(crate) fn calls_in_ivr(&self) -> usize {
        self.incoming_pending.len()
            + self
                .calls
                .values()
                .filter(|c| c.phase == Phase::Ivr && c.ivr.is_some())
                .count()
    }

    /// The caller's lookup is back: open the interaction, answer, and run the
    /// entry point (queue or IVR flow). Nothing happens if the caller has
    /// hung up meanwhile.
    pub(crate) fn on_identified(&mut self, x: Identified) {
        let Identified {
            leg,
            caller,
            entry,
            t,
            number,
            found,
        } = x;
        if !self.incoming_pending.remove(&leg) {
            return;
        }
        let (customer, has_called_before, history) = match found {
            Ok(c) => {
                if c.created
                    && let Some(cust) = &c.customer
                {
                    self.record(vec![
                        NewEvent::new(t, EventKind::CustomerCreated).with_customer(cust.id),
                    ]);
                }
                (c.customer, c.has_called_before, c.history)
            }
            Err(e) => {
                tracing::error!(error = %e, "customer lookup failed");
                (None, false, Vec::new())
            }
        };
        let opened = self.open_interaction(
            NewInteraction {
                channel: Channel::Voice,
                direction: Direction::Inbound,
                customer_id: customer.as_ref().map(|c| c.id),
                queue_id: None,
                agent_id: None,
                started_at: t,
            },
            Vec::new(),
        );
        let interaction = match opened {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(error = %e, "cannot create the interaction: call refused");
                self.voice(VoiceOp::HangUp(leg));
                return;
            }
        };
        let id = interaction.id;
        // A failed answer (the caller cancelled meanwhile) ends the call
        // like a hang-up ([`Self::on_voice_outcome`]).
        self.voice_then(VoiceOp::Answer(leg), Then::Answered { leg });
        let lang = customer
            .as_ref()
            .and_then(|c| c.language.clone())
            .unwrap_or_else(|| self.cfg.default_language.clone());
        let segment = customer.as_ref().map(|c| c.segment).unwrap_or_default();
        self.legs.insert(leg, LegRole::Caller(id));
        self.leg_owner.insert(leg, (id, "caller", None));
        self.calls.insert(
            id,
            Call {
                interaction,
                customer: customer.clone(),
                caller: number.as_ref().map(|n| n.to_string()).unwrap_or(caller),
                caller_leg: leg,
                lang,
                segment,
                ivr: None,
                ivr_trace: None,
                ivr_steps_written: 0,
                phase: Phase::Ivr,
                prompts: VecDeque::new(),
                prompts_for_ivr: false,
                barge_in: false,
                queued_at: None,
                agent: None,
                agent_leg: None,
                recording: None,
                history,
                recording_parts: 0,
                on_hold: false,
                hold_pending: None,
                monitor: None,
            },
        );
        match entry {
            EntryPoint::Queue(q) => {
                let priority = segment.priority();
                self.enqueue(id, &q, priority, segment);
            }
            EntryPoint::Flow(name) => {
                let Some(flow) = self.flows.get(&name) else {
                    tracing::error!(flow = %name, "entry point names an unknown flow: call ended");
                    self.voice(VoiceOp::HangUp(leg));
                    return;
                };
                let mut agents_logged_in = std::collections::BTreeMap::new();
                for (qid, q) in &self.queues {
                    if let Some(s) = self.acd.queue_stats(*qid) {
                        let n =
                            s.agents_available + s.agents_busy + s.agents_wrap_up + s.agents_paused;
                        agents_logged_in.insert(q.name.clone(), n as u32);
                    }
                }
                let ctx = ivr::CallContext {
                    caller: number,
                    customer_id: customer.as_ref().map(|c| c.id),
                    language: if has_called_before {
                        customer.as_ref().and_then(|c| c.language.clone())
                    } else {
                        None
                    },
                    segment: customer.as_ref().map(|c| c.segment),
                    has_called_before,
                    maintenance: self.cfg.maintenance,
                    overloaded: false,
                    agents_logged_in,
                    vars: Default::default(),
                };
                let mut session = ivr::IvrSession::new(flow);
                session.handle_start(self.now, ctx);
                if let Some(c) = self.calls.get_mut(&id) {
                    c.ivr = Some(session);
                }
                self.drive_ivr(id);
                self.process_decisions();
            }
        }
    }

    /// Hand a call to the ACD.
    pub(crate) fn enqueue(
        &mut self,
        id: InteractionId,
        queue: &str,
        priority: i32,
        segment: Segment,
    ) {
        let t = self.now;
        let Some(&qid) = self.queue_by_name.get(queue) else {
            tracing::error!(%queue, "IVR names an unknown queue: call ended");
            if let Some(c) = self.calls.get(&id) {
                self.voice(VoiceOp::HangUp(c.caller_leg));
            }
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.phase = Phase::Queued;
        call.queued_at = Some(t);
        call.segment = segment;
        call.interaction.queue_id = Some(qid);
        let i = call.interaction.clone();
        let customer = call.customer.as_ref().map(|c| c.id);
        self.save(&i);
        let mut ev = NewEvent::new(
            t,
            EventKind::Queued {
                queue_id: qid,
                priority,
            },
        )
        .with_interaction(id);
        ev.customer_id = customer;
        self.record(vec![ev]);
        let task = Task {
            priority: priority - segment.priority(),
            ..Task::new(id, qid, Channel::Voice, segment)
        };
        if let Err(e) = self.acd.handle_task_arrived(t, task) {
            tracing::error!(error = %e, "ACD refused the task");
        }
        self.music_on_hold(id);
        self.process_decisions();
    }

    fn on_agent_answered(
        &mut self,
        leg: LegId,
        task: InteractionId,
        agent: AgentId,
        offer: routing::OfferId,
    ) {
        let t = self.now;
        let live = self
            .calls
            .get(&task)
            .map(|c| c.phase == Phase::Queued)
            .unwrap_or(false);
        if !live || self.acd.handle_offer_accepted(t, task, agent).is_err() {
            tracing::info!(%leg, interaction = %task, "agent answered too late: leg released");
            self.legs.remove(&leg);
            self.voice(VoiceOp::HangUp(leg));
            return;
        }
        if let Some(ringing) = self.offers.get_mut(&offer) {
            ringing.retain(|(a, _)| *a != agent);
        }
        let Some(caller_leg) = self.calls.get(&task).map(|c| c.caller_leg) else {
            return;
        };
        self.connect(caller_leg, leg, task, agent);
    }

    /// Bridge the customer's leg to the agent's (the ACD has the task as the
    /// agent's): recording, `answered` event and push, agent busy.
    pub(crate) fn connect(
        &mut self,
        caller_leg: LegId,
        leg: LegId,
        task: InteractionId,
        agent: AgentId,
    ) {
        let t = self.now;
        let Some(call) = self.calls.get_mut(&task) else {
            return;
        };
        call.phase = Phase::Talking;
        call.agent = Some(agent);
        call.agent_leg = Some(leg);
        call.prompts.clear();
        if call.interaction.answered_at.is_none() {
            call.interaction.answered_at = Some(t);
        }
        call.interaction.agent_id = Some(agent);
        let waited = call.queued_at.map(|q| t.millis_since(q)).unwrap_or(0);
        let queue = call.interaction.queue_id;
        let customer = call.customer.as_ref().map(|c| c.id);
        let record = queue
            .and_then(|q| self.queues.get(&q))
            .is_some_and(|q| self.cfg.record_queues.contains(&q.name));
        let i = call.interaction.clone();
        let part = call.recording_parts;
        if record {
            call.recording_parts += 1;
        }
        self.voice(VoiceOp::StopPrompt(caller_leg));
        self.voice_then(
            VoiceOp::Bridge(caller_leg, leg),
            Then::Warn("bridge failed"),
        );
        let events = vec![NewEvent::new(
            t,
            EventKind::Answered {
                queue_id: queue,
                waited_ms: waited,
            },
        )];
        if record {
            // After a transfer, each agent's part is its own file. Its
            // `recording_started` is written once the stack started it.
            let path = match part {
                0 => self.cfg.recordings_dir.join(format!("{}.wav", task.0)),
                n => self
                    .cfg
                    .recordings_dir
                    .join(format!("{}-{}.wav", task.0, n + 1)),
            };
            self.voice_then(
                VoiceOp::RecordStart {
                    leg: caller_leg,
                    path: path.clone(),
                },
                Then::RecordingStarted {
                    task,
                    leg: caller_leg,
                    path,
                    agent,
                },
            );
        }
        let events = events
            .into_iter()
            .map(|e| {
                let mut e = e.with_interaction(task).with_agent(agent);
                e.customer_id = customer;
                e
            })
            .collect();
        self.save(&i);
        self.record(events);
        self.send(
            Audience::Agent(agent),
            Push::Answered {
                interaction_id: task,
            },
        );
        self.agent_state_changed(agent, AgentState::Busy, None);
        if !self.campaigns.is_empty() {
            self.campaign_connected(task, agent);
        }
        self.process_decisions();
    }

    pub(crate) fn on_hung_up(&mut self, leg: LegId, cause: HangupCause) {
        self.leg_owner.remove(&leg);
        let Some(role) = self.legs.remove(&leg) else {
            return;
        };
        match role {
            LegRole::Supervisor(task) => self.on_supervisor_gone(leg, task),
            LegRole::CallbackCustomer(task) => {
                self.on_callback_leg_gone(task, true);
            }
            LegRole::Campaign { campaign, attempt } => {
                self.on_campaign_leg_gone(campaign, attempt, cause);
            }
            LegRole::Agent { task, agent, offer } => {
                if self
                    .callbacks
                    .get(&task)
                    .is_some_and(|cb| cb.customer_leg.is_some())
                {
                    self.on_callback_leg_gone(task, false);
                    return;
                }
                let talking = self
                    .calls
                    .get(&task)
                    .is_some_and(|c| c.agent_leg == Some(leg) && c.phase == Phase::Talking);
                if talking {
                    self.end_talk(task, "agent_hangup");
                    return;
                }
                let still_ringing = self
                    .offers
                    .get(&offer)
                    .is_some_and(|v| v.iter().any(|(a, l)| *a == agent && *l == leg));
                if let Some(v) = self.offers.get_mut(&offer) {
                    v.retain(|(_, l)| *l != leg);
                }
                // Busy or refused before the ACD's ring time-out: the agent
                // rejected the offer. No answer: the ACD's RONA decides.
                if still_ringing && matches!(cause, HangupCause::Busy | HangupCause::Rejected(_)) {
                    let _ = self.acd.handle_offer_rejected(self.now, task, agent);
                    self.record(vec![
                        NewEvent::new(
                            self.now,
                            EventKind::OfferRejected {
                                queue_id: self
                                    .calls
                                    .get(&task)
                                    .and_then(|c| c.interaction.queue_id)
                                    .unwrap_or(QueueId(0)),
                            },
                        )
                        .with_interaction(task)
                        .with_agent(agent),
                    ]);
                    self.process_decisions();
                }
            }
            LegRole::Caller(id) => {
                let Some(phase) = self.calls.get(&id).map(|c| c.phase) else {
                    return;
                };
                match phase {
                    Phase::Ivr => {
                        if let Some(s) = self.calls.get_mut(&id).and_then(|c| c.ivr.as_mut()) {
                            s.handle_hangup(self.now);
                        }
                        self.drive_ivr(id);
                        self.finish_ivr(id);
                        // Cancelled before our answer (CANCEL, RFC 3261 §9):
                        // the caller gave up.
                        let reason = if cause == HangupCause::Cancelled {
                            "abandoned"
                        } else {
                            "ivr_completed"
                        };
                        self.close(id, reason);
                    }
                    Phase::Queued => {
                        self.abandon_queued(id);
                        self.process_decisions();
                    }
                    Phase::Talking => {
                        let reason = if cause == HangupCause::RemoteBye {
                            "caller_hangup"
                        } else {
                            "completed"
                        };
                        self.end_talk(id, reason);
                    }
                    Phase::Ended => {}
                }
            }
        }
    }

    /// A bridged call ended: wrap-up for the agent, survey for the customer.
    pub(crate) fn end_talk(&mut self, id: InteractionId, reason: &str) {
        let t = self.now;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.phase != Phase::Talking {
            return;
        }
        call.phase = Phase::Ended;
        let (caller_leg, agent_leg, agent) = (call.caller_leg, call.agent_leg, call.agent);
        let recording = call.recording.is_some();
        let lang = call.lang.clone();
        let outbound = call.interaction.direction == Direction::Outbound;
        let queue_id = call.interaction.queue_id;
        let queue_name = queue_id
            .and_then(|q| self.queues.get(&q))
            .map(|q| q.name.clone());
        if recording {
            self.voice(VoiceOp::RecordStop(caller_leg));
        }
        self.voice(VoiceOp::HangUp(caller_leg));
        if let Some(l) = agent_leg {
            self.legs.remove(&l);
            self.voice(VoiceOp::HangUp(l));
        }
        if let Err(e) = self.acd.handle_task_ended(t, id) {
            tracing::warn!(error = %e, "ACD task end refused");
        }
        self.close(id, reason);
        if let Some(a) = agent {
            self.start_wrap_up(a, id, reason, t);
        }
        if queue_name.is_some_and(|q| self.cfg.survey_queues.contains(&q)) {
            // We called them (a campaign): not "thank you for calling".
            let text = match (lang == "en", outbound) {
                (true, false) => {
                    "Thank you for calling Demo Telecom. How satisfied are you with our service? Reply with a score from 1 (poor) to 5 (excellent)."
                }
                (true, true) => {
                    "Thank you for talking with Demo Telecom. How satisfied are you with our service? Reply with a score from 1 (poor) to 5 (excellent)."
                }
                (false, false) => {
                    "Merci d'avoir appelé Démo Télécom. Êtes-vous satisfait de notre service ? Répondez par une note de 1 (mauvais) à 5 (excellent)."
                }
                (false, true) => {
                    "Merci pour cet échange avec Démo Télécom. Êtes-vous satisfait de notre service ? Répondez par une note de 1 (mauvais) à 5 (excellent)."
                }
            };
            self.outbox(id, Channel::Sms, None, text.into(), "survey");
        }
        // A queue without wrap-up: the call leaves memory now (with wrap-up
        // it leaves when the wrap-up ends); a later disposition goes to its
        // stored row.
        let wrap_up_s = queue_id
            .and_then(|q| self.queues.get(&q))
            .map(|q| q.wrap_up_s);
        if wrap_up_s == Some(0) {
            self.calls.remove(&id);
        }
        self.process_decisions();
    }

    /// The agent's call ended: `ended` push, `wrap_up_started`, state wrap-up
    /// (the ACD times it; the disposition ends it early).
    pub(crate) fn start_wrap_up(
        &mut self,
        agent: AgentId,
        id: InteractionId,
        reason: &str,
        t: Timestamp,
    ) {
        self.wrap_up_of.insert(agent, id);
        self.record(vec![
            NewEvent::new(t, EventKind::WrapUpStarted)
                .with_interaction(id)
                .with_agent(agent),
        ]);
        self.send(
            Audience::Agent(agent),
            Push::Ended {
                interaction_id: id,
                reason: reason.into(),
            },
        );
        self.agent_state_changed(agent, AgentState::WrapUp, None);
    }

    /// A queued call ends before an agent took it: out of the ACD, an
    /// `abandoned` event (short when under `short_abandon_ms`), closed,
    /// and counted by its campaign when it is a campaign call.
    pub(crate) fn abandon_queued(&mut self, id: InteractionId) {
        let t = self.now;
        let _ = self.acd.handle_abandon(t, id);
        let (queue, waited, customer) = match self.calls.get(&id) {
            Some(c) => (
                c.interaction.queue_id.unwrap_or(QueueId(0)),
                c.queued_at.map(|q| t.millis_since(q)).unwrap_or(0),
                c.customer.as_ref().map(|c| c.id),
            ),
            None => return,
        };
        let short = waited < self.cfg.short_abandon_ms;
        let mut ev = NewEvent::new(
            t,
            EventKind::Abandoned {
                queue_id: queue,
                waited_ms: waited,
                short,
            },
        )
        .with_interaction(id);
        ev.customer_id = customer;
        self.record(vec![ev]);
        self.close(id, "abandoned");
        self.campaign_abandoned(id);
    }

    /// Mark the interaction ended (kept in memory for the disposition only
    /// if an agent handled it).
    fn close(&mut self, id: InteractionId, reason: &str) {
        let t = self.now;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.phase = Phase::Ended;
        call.interaction.ended_at = Some(t);
        call.interaction.end_reason = Some(reason.into());
        let i = call.interaction.clone();
        let customer = call.customer.as_ref().map(|c| c.id);
        let keep = call.agent.is_some();
        let leg = call.caller_leg;
        self.save(&i);
        let mut ev = NewEvent::new(
            t,
            EventKind::Ended {
                reason: reason.into(),
            },
        )
        .with_interaction(id);
        ev.customer_id = customer;
        ev.agent_id = i.agent_id;
        self.record(vec![ev]);
        self.legs.remove(&leg);
        if !keep {
            self.calls.remove(&id);
        }
    }
}

impl Actor {
    /// A phone registered or came back: an agent paused because their phone
    /// could not be rung is ready again. A phone that stops answering
    /// qualify pauses its agent (the ACD must not offer calls to it).
    fn on_registration(&mut self, change: voice::registrar::RegistrationChange) {
        use voice::registrar::RegistrationChange as R;
        let (user, up) = match &change {
            R::Registered { user, .. } => (user.clone(), true),
            R::Reachability {
                user, reachable, ..
            } => (user.clone(), *reachable),
            R::Unregistered { user } => (user.clone(), false),
        };
        let Some(agent) = self
            .agents
            .values()
            .find(|a| a.agent.login == user)
            .map(|a| a.agent.id)
        else {
            return;
        };
        let t = self.now;
        let paused_for_phone = matches!(
            self.acd.agent_status(agent),
            Some(routing::AgentStatus::Paused(r)) if r == super::decisions::PHONE_UNREACHABLE
        );
        let input = match (up, paused_for_phone) {
            (true, true) => routing::AgentInput::Ready,
            (false, false) => routing::AgentInput::Pause {
                reason: super::decisions::PHONE_UNREACHABLE.into(),
            },
            _ => return,
        };
        if self.acd.handle_agent_state(t, agent, input).is_ok() {
            self.sync_agent(agent);
            self.process_decisions();
        }
    }
}
