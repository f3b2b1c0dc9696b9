//! The `handle_*` inputs of [`Acd`]. Each one checks its input against the
//! current state (refusing with [`RoutingError`] and changing nothing when it
//! does not fit), applies it, then runs the dispatch loop so that every
//! decision it implies is ready in [`Acd::poll_decision`].

use domain::{AgentId, InteractionId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::Acd;
use crate::agent::{AgentState, ChannelClass, Membership, Presence, Tier};
use crate::config::AgentProfile;
use crate::decision::{CancelReason, Decision, RequeueReason, Task};
use crate::error::RoutingError;
use crate::queue::{Stage, TaskState};
use crate::timer::TimerKind;

/// A change of agent state reported by the agent desktop or the phone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentInput {
    /// Ready for work (ends a pause; clears the RONA miss count).
    Ready,
    /// Pause with a reason code (`break`, `lunch`, `training`...). A pending
    /// offer keeps ringing; tasks held stay held.
    Pause {
        /// Reason code.
        reason: String,
    },
    /// The agent ended wrap-up early.
    WrapUpDone,
    /// The agent is on a call that did not come through the ACD (direct or
    /// outbound): counts as a voice call for capacity.
    ExternalCallStarted,
    /// That call ended.
    ExternalCallEnded,
}

/// The reason code the router uses when it pauses an agent after RONA.
pub const RONA_REASON: &str = "rona";

impl Acd {
    pub(crate) fn clock(&mut self, now: Timestamp) -> Timestamp {
        if now > self.last_now {
            self.last_now = now;
        }
        self.last_now
    }

    /// A task arrives in a queue. It is offered at once if an agent can take
    /// it, otherwise it waits (and is announced if the queue says so).
    ///
    /// # Errors
    /// [`RoutingError::UnknownQueue`], [`RoutingError::DuplicateTask`].
    pub fn handle_task_arrived(&mut self, now: Timestamp, task: Task) -> Result<(), RoutingError> {
        let now = self.clock(now);
        let qi = *self
            .queue_idx
            .get(&task.queue)
            .ok_or(RoutingError::UnknownQueue(task.queue))?;
        if self.tasks.contains_key(&task.id) {
            return Err(RoutingError::DuplicateTask(task.id));
        }
        let id = task.id;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.tasks.insert(
            id,
            TaskState {
                class: ChannelClass::of(task.channel),
                task,
                queue: qi,
                seq,
                arrived: now,
                entered: now,
                key: 0,
                stage: Stage::Waiting,
                callback: false,
                widened: false,
                generation: 0,
            },
        );
        self.enter_queue(id, now);
        self.dispatch(now);
        let announce = self
            .tasks
            .get(&id)
            .and_then(|t| self.queues.get(t.queue))
            .is_some_and(|q| q.cfg.announce_on_arrival);
        if announce && let Some(d) = self.announcement(id) {
            self.decisions.push_back(d);
        }
        Ok(())
    }

    /// An agent logs in (ready). Queue memberships follow from the skills.
    ///
    /// # Errors
    /// [`RoutingError::AlreadyLoggedIn`], [`RoutingError::BadSkill`].
    pub fn handle_agent_login(
        &mut self,
        now: Timestamp,
        profile: AgentProfile,
    ) -> Result<(), RoutingError> {
        let now = self.clock(now);
        let id = profile.id;
        for s in &profile.skills {
            s.validate().map_err(|e| RoutingError::BadSkill(id, e))?;
        }
        let previous = self.agents.get(&id);
        if previous.is_some_and(|a| a.presence != Presence::LoggedOut) {
            return Err(RoutingError::AlreadyLoggedIn(id));
        }
        let mut agent = AgentState::new(profile, now);
        agent.presence = Presence::LoggedOut;
        if let Some(prev) = previous {
            // tasks still held from before the logout stay held
            agent.tasks = prev.tasks.clone();
            agent.held = prev.held;
            agent.calls_today = prev.calls_today;
        }
        agent.memberships = memberships(&self.queues, &agent);
        for m in agent.memberships.iter().filter(|m| m.tier == Tier::Normal) {
            if let Some(q) = self.queues.get_mut(m.queue) {
                q.members.insert(id);
            }
        }
        self.agents.insert(id, agent);
        self.set_presence(id, Presence::Ready);
        self.reindex_agent(id, now);
        self.dispatch(now);
        Ok(())
    }

    /// An agent logs out. A pending offer is cancelled (the task goes back
    /// to its queue); tasks held stay held until ended.
    ///
    /// # Errors
    /// [`RoutingError::NotLoggedIn`].
    pub fn handle_agent_logout(
        &mut self,
        now: Timestamp,
        agent: AgentId,
    ) -> Result<(), RoutingError> {
        let now = self.clock(now);
        let a = self.logged_in(agent)?;
        let (offer, wrap) = (a.offer, a.wrap_until);
        let memberships = a.memberships.clone();
        if let Some(o) = offer {
            self.leave_offer(o, agent, RequeueReason::AgentLoggedOut, now);
        }
        self.set_presence(agent, Presence::LoggedOut);
        if let Some(a) = self.agents.get_mut(&agent)
            && wrap.is_some()
        {
            a.wrap_until = None;
            self.touched.push(a.wrap_queue);
        }
        for m in memberships {
            if let Some(q) = self.queues.get_mut(m.queue) {
                q.members.remove(&agent);
            }
        }
        self.reindex_agent(agent, now);
        self.dispatch(now);
        Ok(())
    }

    /// A change of agent state (ready, pause, wrap-up done, non-ACD call).
    ///
    /// # Errors
    /// [`RoutingError::NotLoggedIn`].
    pub fn handle_agent_state(
        &mut self,
        now: Timestamp,
        agent: AgentId,
        input: AgentInput,
    ) -> Result<(), RoutingError> {
        let now = self.clock(now);
        self.logged_in(agent)?;
        match input {
            AgentInput::Ready => {
                self.set_presence(agent, Presence::Ready);
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.rona_misses = 0;
                    if a.is_idle() {
                        a.idle_since = now.as_millis();
                    }
                }
            }
            AgentInput::Pause { reason } => self.set_presence(agent, Presence::Paused(reason)),
            AgentInput::WrapUpDone => self.end_wrap_up(agent, now),
            AgentInput::ExternalCallStarted => {
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.external_busy = true;
                }
            }
            AgentInput::ExternalCallEnded => {
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.external_busy = false;
                    if a.is_idle() {
                        a.idle_since = now.as_millis();
                    }
                }
            }
        }
        self.reindex_agent(agent, now);
        self.dispatch(now);
        Ok(())
    }

    /// The agent answered the offer: the task is connected to them. In a
    /// ring-all offer the other agents get [`Decision::CancelOffer`].
    ///
    /// # Errors
    /// [`RoutingError::UnknownTask`], [`RoutingError::NoSuchOffer`].
    pub fn handle_offer_accepted(
        &mut self,
        now: Timestamp,
        task: InteractionId,
        agent: AgentId,
    ) -> Result<(), RoutingError> {
        let now = self.clock(now);
        let offer = self.pending_offer(task, agent)?;
        if let Some(a) = self.agents.get_mut(&agent) {
            a.offer = None;
        }
        self.end_offer(offer, now, false, CancelReason::AnsweredElsewhere);
        let Some(t) = self.tasks.get_mut(&task) else {
            return Err(RoutingError::UnknownTask(task));
        };
        t.stage = Stage::Connected {
            agent,
            answered_at: now,
        };
        self.touched.push(t.queue);
        let wait = now.millis_since(t.arrived).max(0);
        let class = t.class;
        if let Some(q) = self.queues.get_mut(t.queue) {
            q.counters.answered += 1;
            q.counters.answered_wait_ms += wait.unsigned_abs();
            if wait <= q.sl_threshold_ms() {
                q.counters.answered_in_sl += 1;
            }
        }
        if let Some(a) = self.agents.get_mut(&agent) {
            a.tasks.push(task);
            a.held[class.idx()] = a.held[class.idx()].saturating_add(1);
            a.calls_today += 1;
            a.rona_misses = 0;
        }
        self.reindex_agent(agent, now);
        self.dispatch(now);
        Ok(())
    }

    /// The agent declined the offer. The task goes back to its place in the
    /// queue (in ring-all, it keeps ringing the others). The agent moves to
    /// the back of longest-idle order; no RONA miss is counted.
    ///
    /// # Errors
    /// [`RoutingError::UnknownTask`], [`RoutingError::NoSuchOffer`].
    pub fn handle_offer_rejected(
        &mut self,
        now: Timestamp,
        task: InteractionId,
        agent: AgentId,
    ) -> Result<(), RoutingError> {
        let now = self.clock(now);
        let offer = self.pending_offer(task, agent)?;
        if let Some(a) = self.agents.get_mut(&agent) {
            a.idle_since = now.as_millis();
        }
        self.leave_offer(offer, agent, RequeueReason::Rejected, now);
        self.dispatch(now);
        Ok(())
    }

    /// A connected task ended (hang-up, conversation closed). The agent
    /// enters the queue's wrap-up, which blocks offers from every queue.
    ///
    /// # Errors
    /// [`RoutingError::UnknownTask`], or [`RoutingError::WrongTaskState`]
    /// if it was not connected (use [`Acd::handle_abandon`]).
    pub fn handle_task_ended(
        &mut self,
        now: Timestamp,
        task: InteractionId,
    ) -> Result<(), RoutingError> {
        let now = self.clock(now);
        let t = self
            .tasks
            .get(&task)
            .ok_or(RoutingError::UnknownTask(task))?;
        let Stage::Connected { agent, answered_at } = t.stage else {
            return Err(RoutingError::WrongTaskState(task, "not connected"));
        };
        let Some(t) = self.remove_task(task) else {
            return Err(RoutingError::UnknownTask(task));
        };
        let mut wrap_ms = 0;
        if let Some(q) = self.queues.get_mut(t.queue) {
            wrap_ms = q.wrap_up_ms();
            q.aht_ms = crate::ewt::update_aht(q.aht_ms, now.millis_since(answered_at) + wrap_ms);
        }
        if let Some(a) = self.agents.get_mut(&agent) {
            a.tasks.retain(|x| *x != task);
            a.held[t.class.idx()] = a.held[t.class.idx()].saturating_sub(1);
            if wrap_ms > 0 && a.presence != Presence::LoggedOut {
                let until = now.add_millis(wrap_ms);
                match a.wrap_until {
                    Some(old) if old >= until => {}
                    old => {
                        if old.is_some() {
                            self.touched.push(a.wrap_queue);
                        }
                        a.wrap_until = Some(until);
                        a.wrap_queue = t.queue;
                        self.timers.arm(t.queue, until, TimerKind::WrapUp(agent));
                    }
                }
            } else if a.is_idle() {
                a.idle_since = now.as_millis();
            }
        }
        self.reindex_agent(agent, now);
        self.dispatch(now);
        Ok(())
    }

    /// The customer left while waiting or ringing (or the engine cancels a
    /// callback). Ringing agents get [`Decision::CancelOffer`].
    ///
    /// # Errors
    /// [`RoutingError::UnknownTask`], or [`RoutingError::WrongTaskState`]
    /// if it was already connected (use [`Acd::handle_task_ended`]).
    pub fn handle_abandon(
        &mut self,
        now: Timestamp,
        task: InteractionId,
    ) -> Result<(), RoutingError> {
        let now = self.clock(now);
        let t = self
            .tasks
            .get(&task)
            .ok_or(RoutingError::UnknownTask(task))?;
        match t.stage {
            Stage::Connected { .. } => {
                return Err(RoutingError::WrongTaskState(task, "already connected"));
            }
            Stage::Waiting => self.dequeue(task),
            Stage::Offered(o) => {
                self.end_offer(o, now, false, CancelReason::Abandoned);
            }
        }
        let short_ms = self.cfg.short_abandon_ms;
        if let Some(t) = self.remove_task(task) {
            let short = now.millis_since(t.arrived) < short_ms;
            if let Some(q) = self.queues.get_mut(t.queue) {
                q.counters.abandoned += 1;
                if short {
                    q.counters.abandoned_short += 1;
                }
            }
        }
        self.dispatch(now);
        Ok(())
    }

    /// The caller asked to be called back: they hang up but the task keeps
    /// its place; when it reaches an agent the router emits
    /// [`Decision::CallbackDue`]. Callbacks are not announced and have no
    /// max-wait exit.
    ///
    /// # Errors
    /// [`RoutingError::UnknownTask`], or [`RoutingError::WrongTaskState`]
    /// if it is not waiting.
    pub fn handle_callback_requested(
        &mut self,
        now: Timestamp,
        task: InteractionId,
    ) -> Result<(), RoutingError> {
        let now = self.clock(now);
        let t = self
            .tasks
            .get_mut(&task)
            .ok_or(RoutingError::UnknownTask(task))?;
        if t.stage != Stage::Waiting {
            return Err(RoutingError::WrongTaskState(task, "not waiting"));
        }
        t.callback = true;
        self.dispatch(now);
        Ok(())
    }

    /// Time has reached `now`: fires every due timer (RONA, wrap-up end,
    /// widening, overflow, max wait, announcements).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let now = self.clock(now);
        while let Some((qi, kind)) = self.timers.pop_due(now) {
            match kind {
                TimerKind::Ring(o) => self.ring_timeout(o, now),
                TimerKind::WrapUp(a) => {
                    if self
                        .agents
                        .get(&a)
                        .and_then(|x| x.wrap_until)
                        .is_some_and(|w| w <= now)
                    {
                        self.end_wrap_up(a, now);
                        self.reindex_agent(a, now);
                    }
                }
                TimerKind::Widen(r) => {
                    let id = r.id;
                    if let Some(qid) = self.waiting_in_generation(r, false) {
                        self.dequeue(id);
                        let mut level = 0;
                        if let Some(t) = self.tasks.get_mut(&id) {
                            t.widened = true;
                            level = self
                                .queues
                                .get(t.queue)
                                .and_then(|q| q.cfg.widen)
                                .map_or(0, |w| w.min_level);
                        }
                        self.enqueue(id);
                        self.decisions.push_back(Decision::Widened {
                            task: id,
                            queue: qid,
                            min_level: level,
                        });
                    }
                }
                TimerKind::Overflow(r) => {
                    let id = r.id;
                    if self.waiting_in_generation(r, false).is_some() {
                        let to = self
                            .tasks
                            .get(&id)
                            .and_then(|t| self.queues.get(t.queue))
                            .and_then(|q| q.cfg.overflow_to);
                        if let Some(o) = to {
                            self.dequeue(id);
                            self.move_to_queue(id, o.queue, now);
                        }
                    }
                }
                TimerKind::MaxWait(r) => {
                    let id = r.id;
                    if let Some(qid) = self.waiting_in_generation(r, true) {
                        self.dequeue(id);
                        self.finish_max_wait(id, qid);
                    }
                }
                TimerKind::Announce => {
                    let period = self
                        .queues
                        .get(qi)
                        .map_or(0, |q| i64::from(q.cfg.announce_every_s) * 1000);
                    self.announce_queue(qi);
                    if let Some(q) = self.queues.get_mut(qi) {
                        if q.waiting_len() > 0 && period > 0 {
                            self.timers
                                .arm(qi, now.add_millis(period), TimerKind::Announce);
                        } else {
                            q.announce_armed = false;
                        }
                    }
                }
            }
        }
        self.dispatch(now);
    }

    /// Ring-no-answer: stop ringing, count a miss (not for ring-all), pause
    /// the agent with reason `rona` after `rona_max_misses`, requeue the task.
    fn ring_timeout(&mut self, offer: crate::OfferId, now: Timestamp) {
        let Some(st) = self.offers.get(&offer).cloned() else {
            return;
        };
        let max = self.cfg.rona_max_misses;
        for a in &st.agents {
            let mut pause = false;
            if let Some(ag) = self.agents.get_mut(a) {
                ag.idle_since = now.as_millis();
                if !st.ring_all {
                    ag.rona_misses += 1;
                    pause = max > 0 && ag.rona_misses >= max && ag.presence == Presence::Ready;
                }
            }
            if pause {
                self.set_presence(*a, Presence::Paused(RONA_REASON.into()));
                self.decisions.push_back(Decision::AgentPaused {
                    agent: *a,
                    reason: RONA_REASON.into(),
                });
            }
        }
        self.end_offer(offer, now, true, CancelReason::Rona);
        self.requeue(st.task, RequeueReason::Rona, now);
    }

    fn end_wrap_up(&mut self, agent: AgentId, now: Timestamp) {
        if let Some(a) = self.agents.get_mut(&agent)
            && a.wrap_until.take().is_some()
        {
            self.touched.push(a.wrap_queue);
            if a.is_idle() {
                a.idle_since = now.as_millis();
            }
            self.decisions.push_back(Decision::WrapUpEnded { agent });
        }
    }

    /// One agent leaves an offer: in ring-all with others still ringing the
    /// offer goes on, otherwise it ends and the task is requeued.
    fn leave_offer(
        &mut self,
        offer: crate::OfferId,
        agent: AgentId,
        reason: RequeueReason,
        now: Timestamp,
    ) {
        let Some(st) = self.offers.get_mut(&offer) else {
            return;
        };
        if st.agents.len() > 1 {
            st.agents.retain(|a| *a != agent);
            let task = st.task;
            if let Some(a) = self.agents.get_mut(&agent) {
                a.offer = None;
            }
            self.decisions.push_back(Decision::CancelOffer {
                offer,
                task,
                agent,
                reason: reason.into(),
            });
            self.reindex_agent(agent, now);
        } else if let Some(st) = self.end_offer(offer, now, true, reason.into()) {
            self.requeue(st.task, reason, now);
        }
    }

    fn logged_in(&self, agent: AgentId) -> Result<&AgentState, RoutingError> {
        self.agents
            .get(&agent)
            .filter(|a| a.presence != Presence::LoggedOut)
            .ok_or(RoutingError::NotLoggedIn(agent))
    }

    fn pending_offer(
        &self,
        task: InteractionId,
        agent: AgentId,
    ) -> Result<crate::OfferId, RoutingError> {
        let t = self
            .tasks
            .get(&task)
            .ok_or(RoutingError::UnknownTask(task))?;
        match t.stage {
            Stage::Offered(o)
                if self
                    .offers
                    .get(&o)
                    .is_some_and(|st| st.agents.contains(&agent)) =>
            {
                Ok(o)
            }
            _ => Err(RoutingError::NoSuchOffer { task, agent }),
        }
    }

    /// The task's queue id if it is waiting in the queue stay `r` (and,
    /// with `skip_callback`, is not a callback).
    fn waiting_in_generation(
        &self,
        r: crate::timer::TaskRef,
        skip_callback: bool,
    ) -> Option<domain::QueueId> {
        let t = self.tasks.get(&r.id)?;
        if t.stage != Stage::Waiting || t.task_ref() != r || (skip_callback && t.callback) {
            return None;
        }
        self.queues.get(t.queue).map(|q| q.id)
    }
}

/// The queues an agent's skills let them serve, and at which tier.
pub(crate) fn memberships(
    queues: &[crate::queue::QueueState],
    agent: &AgentState,
) -> Vec<Membership> {
    queues
        .iter()
        .enumerate()
        .filter_map(|(qi, q)| {
            let reqs = &q.cfg.queue.required_skills;
            let sum = reqs.iter().map(|r| i64::from(agent.level(&r.skill))).sum();
            let meets = |tier| {
                reqs.iter()
                    .all(|r| agent.level(&r.skill) >= q.min_level(tier, r.level))
            };
            let tier = if meets(Tier::Normal) {
                Tier::Normal
            } else if q.cfg.widen.is_some() && meets(Tier::Widened) {
                Tier::Widened
            } else {
                return None;
            };
            Some(Membership {
                queue: qi,
                tier,
                level_sum: sum,
            })
        })
        .collect()
}
