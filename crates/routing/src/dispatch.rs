//! The matching engine behind every `handle_*`: keeping the availability
//! indexes in step with agent state, putting tasks in and out of queues, and
//! the dispatch loop that pairs free agents with waiting tasks.
//!
//! Two triggers, one rule each:
//! - an agent becomes able to take work ([`crate::decision::Trigger::AgentFreed`]):
//!   it gets the highest-scored task at the head of any queue it serves
//!   (heads of at most 2 ordered sets per queue and channel class);
//! - a task waits in a queue that has able agents
//!   ([`crate::decision::Trigger::TaskWaiting`]): the queue's strategy picks
//!   the agent(s) from the head of the availability index.
//!
//! After the loop, no waiting task (within the scan window, see
//! `AcdConfig::scan_limit`) has an able agent that could take it.

use domain::{AgentId, InteractionId, Timestamp};

use crate::Acd;
use crate::agent::{AgentState, AgentStatus, ChannelClass, Tier};
use crate::decision::{
    AgentScore, CancelReason, Decision, Explanation, OfferId, RequeueReason, Trigger,
};
use crate::priority::{TaskScore, score_units};
use crate::queue::{Stage, TaskState, WaitKey};
use crate::strategy;
use crate::timer::TimerKind;

/// A pending offer.
#[derive(Clone, Debug)]
pub(crate) struct OfferState {
    pub task: InteractionId,
    pub agents: Vec<AgentId>,
    pub ring_all: bool,
    pub queue: usize,
}

/// Does the agent hold the task's extra skills?
pub(crate) fn fits(agent: &AgentState, task: &TaskState) -> bool {
    task.task
        .skills
        .iter()
        .all(|s| agent.level(&s.skill) >= s.level)
}

impl Acd {
    /// Takes an agent out of the availability indexes, refreshes its
    /// displayed status and, if it can take anything, marks it for the
    /// dispatch loop. It is indexed again only if the loop finds no task
    /// for it ([`Acd::assign_agent`]), so an agent freed while tasks wait
    /// goes straight to its next task without touching any index.
    ///
    /// Used on every change of an agent except being reserved for an offer
    /// and having an offer cancelled ([`Acd::refresh_agent`]): an indexed
    /// agent stays indexed while ringing (picks skip it), so ringing 32
    /// agents of a ring-all queue and cancelling 31 costs no index work.
    pub(crate) fn reindex_agent(&mut self, id: AgentId, now: Timestamp) {
        self.unindex_agent(id);
        self.refresh_agent(id, now);
    }

    /// Refreshes the displayed status and marks the agent for dispatch if
    /// it can take anything; index entries (whose keys have not changed)
    /// stay.
    pub(crate) fn refresh_agent(&mut self, id: AgentId, now: Timestamp) {
        let Some(agent) = self.agents.get_mut(&id) else {
            return;
        };
        let status = agent.derive_status();
        if status != agent.status {
            agent.status = status;
            agent.status_since = now;
        }
        if ChannelClass::ALL.iter().any(|c| agent.can_take(*c)) {
            self.dirty_agents.push(id);
        }
    }

    /// Removes every index entry of an agent.
    pub(crate) fn unindex_agent(&mut self, id: AgentId) {
        let Some(agent) = self.agents.get_mut(&id) else {
            return;
        };
        for (q, tier, class, key) in agent.indexed.drain(..) {
            if let Some(qs) = self.queues.get_mut(q) {
                qs.avail[tier.idx()][class.idx()].remove(&key);
            }
        }
    }

    /// Inserts an (unindexed) agent in the availability index of each
    /// membership and channel class it can take now.
    fn index_agent(&mut self, id: AgentId) {
        let Some(agent) = self.agents.get_mut(&id) else {
            return;
        };
        for class in ChannelClass::ALL {
            if !agent.can_take(class) {
                continue;
            }
            for m in &agent.memberships {
                let Some(qs) = self.queues.get_mut(m.queue) else {
                    continue;
                };
                let key = strategy::agent_key(qs.cfg.queue.strategy, agent, m, &mut self.rng);
                qs.avail[m.tier.idx()][class.idx()].insert(key);
                agent.indexed.push((m.queue, m.tier, class, key));
            }
        }
    }

    /// Puts a waiting task into its queue's ordered set.
    pub(crate) fn enqueue(&mut self, id: InteractionId) {
        let Some(t) = self.tasks.get(&id) else {
            return;
        };
        if let Some(q) = self.queues.get_mut(t.queue) {
            q.waiting[t.tier().idx()][t.class.idx()].insert(t.wait_key());
            self.dirty_pools.push((t.queue, t.class));
        }
    }

    /// Takes a waiting task out of its queue's ordered set.
    pub(crate) fn dequeue(&mut self, id: InteractionId) {
        let Some(t) = self.tasks.get(&id) else {
            return;
        };
        if let Some(q) = self.queues.get_mut(t.queue) {
            q.waiting[t.tier().idx()][t.class.idx()].remove(&t.wait_key());
        }
    }

    /// Runs the matching loop until nothing more can be paired.
    pub(crate) fn dispatch(&mut self, now: Timestamp) {
        loop {
            // Queues first: a requeued task then gets the queue's strategy
            // over every able agent, not just the agent that declined it.
            if let Some((q, c)) = self.dirty_pools.pop() {
                self.assign_pool(q, c, now);
            } else if let Some(a) = self.dirty_agents.pop() {
                self.assign_agent(a, now);
            } else {
                break;
            }
        }
        self.prune_timers();
    }

    /// Drops stale timers at the heads of the touched queues' lanes, so
    /// that [`Acd::poll_timeout`] names a deadline that still matters.
    fn prune_timers(&mut self) {
        while let Some(q) = self.touched.pop() {
            let (offers, agents, tasks) = (&self.offers, &self.agents, &self.tasks);
            self.timers.prune(q, |at, k| match k {
                TimerKind::Ring(o) => !offers.contains_key(o),
                TimerKind::WrapUp(a) => {
                    agents.get(a).and_then(|x| x.wrap_until) != Some(Timestamp::from_millis(at))
                }
                TimerKind::Widen(r) | TimerKind::Overflow(r) | TimerKind::MaxWait(r) => {
                    tasks.get(&r.id).is_none_or(|t| {
                        t.seq != r.seq
                            || t.generation != r.generation
                            || matches!(t.stage, Stage::Connected { .. })
                            || (matches!(k, TimerKind::Widen(_)) && t.widened)
                            || (matches!(k, TimerKind::MaxWait(_)) && t.callback)
                    })
                }
                TimerKind::Announce => false,
            });
        }
    }

    /// An agent became able: give it the best task among its queues, or
    /// index it as available if there is none.
    fn assign_agent(&mut self, id: AgentId, now: Timestamp) {
        let Some(agent) = self.agents.get(&id) else {
            return;
        };
        let scan = self.cfg.scan_limit.max(1);
        let mut best: Option<(i64, u64, InteractionId, usize)> = None;
        let mut examined = 0usize;
        for class in ChannelClass::ALL {
            if !agent.can_take(class) {
                continue;
            }
            for m in &agent.memberships {
                let Some(q) = self.queues.get(m.queue) else {
                    continue;
                };
                let tiers: &[usize] = match m.tier {
                    Tier::Normal => &[0, 1],
                    Tier::Widened => &[1],
                };
                for &t in tiers {
                    let found = q.waiting[t][class.idx()]
                        .iter()
                        .take(scan)
                        .inspect(|_| examined += 1)
                        .find(|wk| {
                            !wk.3 || self.tasks.get(&wk.2).is_some_and(|ts| fits(agent, ts))
                        });
                    if let Some(wk) = found {
                        let score = score_units(wk.0.0, q.rate, now.as_millis());
                        let better = match best {
                            None => true,
                            Some((s, seq, _, _)) => score > s || (score == s && wk.1 < seq),
                        };
                        if better {
                            best = Some((score, wk.1, wk.2, m.queue));
                        }
                    }
                }
            }
        }
        if let Some((_, _, task, qi)) = best {
            let key = self.agent_rank_key(id, qi);
            self.make_offer(task, vec![(id, key)], Trigger::AgentFreed, examined, now);
        } else if agent.indexed.is_empty() {
            self.index_agent(id);
        }
    }

    /// The agent's strategy key in a queue (for explanations).
    fn agent_rank_key(&mut self, id: AgentId, qi: usize) -> (i64, i64) {
        let (Some(a), Some(q)) = (self.agents.get(&id), self.queues.get(qi)) else {
            return (0, 0);
        };
        a.memberships
            .iter()
            .find(|m| m.queue == qi)
            .map_or((0, 0), |m| {
                let k = strategy::agent_key(q.cfg.queue.strategy, a, m, &mut self.rng);
                (k.0, k.1)
            })
    }

    /// A queue has waiting tasks of `class`: pair them with able agents.
    fn assign_pool(&mut self, qi: usize, class: ChannelClass, now: Timestamp) {
        let scan = self.cfg.scan_limit.max(1);
        loop {
            let Some(q) = self.queues.get(qi) else {
                return;
            };
            let c = class.idx();
            let strat = q.cfg.queue.strategy;
            // Normal tasks need normal members; widened tasks take either.
            let normal_able = !q.avail[0][c].is_empty();
            if !normal_able && (q.avail[1][c].is_empty() || q.waiting[1][c].is_empty()) {
                return;
            }
            // Merge the two tiers in priority order, up to `scan` tasks
            // (only the widened tier when no normal member is able).
            let empty = std::collections::BTreeSet::new();
            let normal_set = if normal_able {
                &q.waiting[0][c]
            } else {
                &empty
            };
            let mut normal = normal_set.iter().peekable();
            let mut wide = q.waiting[1][c].iter().peekable();
            let mut chosen = None;
            for _ in 0..scan {
                let next: Option<&WaitKey> = match (normal.peek(), wide.peek()) {
                    (Some(a), Some(b)) if a <= b => normal.next(),
                    (Some(_), Some(_)) => wide.next(),
                    (Some(_), None) => normal.next(),
                    (None, _) => wide.next(),
                };
                let Some(wk) = next else { break };
                let Some(ts) = self.tasks.get(&wk.2) else {
                    continue;
                };
                let both = [&q.avail[0][c], &q.avail[1][c]];
                let sets = if ts.widened { &both[..] } else { &both[..1] };
                let agents = &self.agents;
                let draw = if strat == domain::Strategy::Random {
                    self.rng.next_u64()
                } else {
                    0
                };
                let (picked, examined) = strategy::pick(
                    strat,
                    sets,
                    q.rr_last,
                    self.cfg.ring_all_limit,
                    scan,
                    draw,
                    &|k| {
                        agents
                            .get(&k.2)
                            .is_some_and(|a| a.can_take(class) && fits(a, ts))
                    },
                );
                if !picked.is_empty() {
                    chosen = Some((wk.2, picked, examined));
                    break;
                }
            }
            let Some((task, picked, examined)) = chosen else {
                return;
            };
            if strat == domain::Strategy::RoundRobin
                && let Some(k) = picked.first().copied()
                && let Some(qm) = self.queues.get_mut(qi)
            {
                qm.rr_last = Some(k);
            }
            let agents = picked.iter().map(|k| (k.2, (k.0, k.1))).collect();
            self.make_offer(task, agents, Trigger::TaskWaiting, examined, now);
        }
    }

    /// Reserves the agents and rings them with the task.
    fn make_offer(
        &mut self,
        task: InteractionId,
        agents: Vec<(AgentId, (i64, i64))>,
        trigger: Trigger,
        examined: usize,
        now: Timestamp,
    ) {
        self.dequeue(task);
        let offer = OfferId(self.next_offer);
        self.next_offer += 1;
        let Some(ts) = self.tasks.get_mut(&task) else {
            return;
        };
        ts.stage = Stage::Offered(offer);
        let (qi, callback) = (ts.queue, ts.callback);
        let Some(q) = self.queues.get(qi) else {
            return;
        };
        let ring_until = now.add_millis(q.ring_timeout_ms());
        let strategy = q.cfg.queue.strategy;
        let qid = q.id;
        let task_score = TaskScore::new(
            ts.task.segment.priority(),
            q.cfg.queue.priority,
            ts.task.priority,
            q.rate,
            now.millis_since(ts.arrived),
        );
        let mut scores = Vec::with_capacity(agents.len());
        for (a, key) in &agents {
            if let Some(st) = self.agents.get_mut(a) {
                st.offer = Some(offer);
                let m = st.memberships.iter().find(|m| m.queue == qi);
                scores.push(AgentScore {
                    agent: *a,
                    tier: m.map_or(Tier::Normal, |m| m.tier),
                    skill_level_sum: m.map_or(0, |m| m.level_sum),
                    idle_ms: now.as_millis() - st.idle_since,
                    calls_today: st.calls_today,
                    rank_key: *key,
                });
            }
        }
        let ids: Vec<AgentId> = agents.iter().map(|(a, _)| *a).collect();
        for a in &ids {
            self.refresh_agent(*a, now);
        }
        self.explanations.insert(
            task,
            Explanation {
                offer,
                task,
                queue: qid,
                strategy,
                trigger,
                task_score,
                agents: scores,
                candidates_examined: examined,
                at: now,
            },
        );
        self.offers.insert(
            offer,
            OfferState {
                task,
                agents: ids.clone(),
                ring_all: strategy == domain::Strategy::RingAll,
                queue: qi,
            },
        );
        self.timers.arm(qi, ring_until, TimerKind::Ring(offer));
        match (callback, ids.as_slice()) {
            (true, [agent]) => self.decisions.push_back(Decision::CallbackDue {
                offer,
                task,
                agent: *agent,
                ring_until,
            }),
            _ => self.decisions.push_back(Decision::Offer {
                offer,
                task,
                agents: ids,
                ring_until,
            }),
        }
    }

    /// Ends a pending offer: frees every agent still on it, telling the
    /// engine to stop ringing them. `rekey` when the agents' strategy keys
    /// changed (idle time reset by RONA or a decline).
    pub(crate) fn end_offer(
        &mut self,
        offer: OfferId,
        now: Timestamp,
        rekey: bool,
        reason: CancelReason,
    ) -> Option<OfferState> {
        let st = self.offers.remove(&offer)?;
        self.touched.push(st.queue);
        for a in &st.agents {
            if let Some(agent) = self.agents.get_mut(a)
                && agent.offer == Some(offer)
            {
                agent.offer = None;
                self.decisions.push_back(Decision::CancelOffer {
                    offer,
                    task: st.task,
                    agent: *a,
                    reason,
                });
                if rekey {
                    self.reindex_agent(*a, now);
                } else {
                    self.refresh_agent(*a, now);
                }
            }
        }
        Some(st)
    }

    /// A task whose offer ended without an answer goes back to its queue
    /// with its original key (it keeps its place), unless a deadline passed
    /// meanwhile.
    pub(crate) fn requeue(&mut self, id: InteractionId, reason: RequeueReason, now: Timestamp) {
        let Some(t) = self.tasks.get_mut(&id) else {
            return;
        };
        t.stage = Stage::Waiting;
        let Some(q) = self.queues.get(t.queue) else {
            return;
        };
        let in_queue = now.millis_since(t.entered);
        let max_wait = i64::from(q.cfg.queue.max_wait_s) * 1000;
        if !t.callback && max_wait > 0 && in_queue >= max_wait {
            let qid = q.id;
            self.finish_max_wait(id, qid);
            return;
        }
        if let Some(o) = q.cfg.overflow_to
            && in_queue >= i64::from(o.after_s) * 1000
        {
            self.decisions
                .push_back(Decision::Requeued { task: id, reason });
            self.move_to_queue(id, o.queue, now);
            return;
        }
        if let Some(w) = q.cfg.widen
            && in_queue >= i64::from(w.after_s) * 1000
        {
            t.widened = true;
        }
        self.decisions
            .push_back(Decision::Requeued { task: id, reason });
        self.enqueue(id);
    }

    /// Max wait reached: the task leaves the ACD.
    pub(crate) fn finish_max_wait(&mut self, id: InteractionId, queue: domain::QueueId) {
        if let Some(q) = self
            .remove_task(id)
            .and_then(|t| self.queues.get_mut(t.queue))
        {
            q.counters.max_wait_exits += 1;
        }
        self.decisions
            .push_back(Decision::MaxWaitExit { task: id, queue });
    }

    /// Moves a task (not in any waiting set) to another queue, keeping its
    /// arrival time; arms the new queue's timers and enqueues it.
    pub(crate) fn move_to_queue(&mut self, id: InteractionId, to: domain::QueueId, now: Timestamp) {
        let Some(&to_idx) = self.queue_idx.get(&to) else {
            self.enqueue(id);
            return;
        };
        let Some(t) = self.tasks.get_mut(&id) else {
            return;
        };
        let from_idx = t.queue;
        self.touched.push(from_idx);
        t.queue = to_idx;
        t.generation = t.generation.wrapping_add(1);
        t.entered = now;
        t.widened = false;
        let mut from = to;
        if let Some(q) = self.queues.get_mut(from_idx) {
            q.counters.overflowed_out += 1;
            from = q.id;
        }
        self.decisions
            .push_back(Decision::Overflow { task: id, from, to });
        self.enter_queue(id, now);
    }

    /// Computes the key in the task's current queue, arms its timers,
    /// counts it and enqueues it.
    pub(crate) fn enter_queue(&mut self, id: InteractionId, now: Timestamp) {
        let Some(t) = self.tasks.get_mut(&id) else {
            return;
        };
        let Some(q) = self.queues.get_mut(t.queue) else {
            return;
        };
        let base = i64::from(t.task.segment.priority())
            + i64::from(q.cfg.queue.priority)
            + i64::from(t.task.priority);
        t.key = crate::priority::static_key(base, q.rate, t.arrived.as_millis());
        q.counters.entered += 1;
        let r = t.task_ref();
        let qi = t.queue;
        let secs = |s: u32| now.add_millis(i64::from(s) * 1000);
        if let Some(w) = q.cfg.widen {
            self.timers.arm(qi, secs(w.after_s), TimerKind::Widen(r));
        }
        if let Some(o) = q.cfg.overflow_to {
            self.timers.arm(qi, secs(o.after_s), TimerKind::Overflow(r));
        }
        if q.cfg.queue.max_wait_s > 0 {
            self.timers
                .arm(qi, secs(q.cfg.queue.max_wait_s), TimerKind::MaxWait(r));
        }
        if q.cfg.announce_every_s > 0 && !q.announce_armed {
            q.announce_armed = true;
            self.timers
                .arm(qi, secs(q.cfg.announce_every_s), TimerKind::Announce);
        }
        self.enqueue(id);
    }

    /// Removes a task from the ACD with its timers and explanation (it must
    /// not be in a waiting set or an offer).
    pub(crate) fn remove_task(&mut self, id: InteractionId) -> Option<TaskState> {
        let t = self.tasks.remove(&id)?;
        self.touched.push(t.queue);
        self.explanations.remove(&id);
        Some(t)
    }

    /// Position/EWT announcement for one waiting task.
    pub(crate) fn announcement(&self, id: InteractionId) -> Option<Decision> {
        let t = self.tasks.get(&id)?;
        if t.stage != Stage::Waiting || t.callback {
            return None;
        }
        let q = self.queues.get(t.queue)?;
        let position = q.position(&t.wait_key(), t.class);
        Some(Decision::Announce {
            task: id,
            position,
            ewt_s: crate::ewt::estimate(position, q.aht_ms, q.staffed),
        })
    }

    /// Announces every waiting task of a queue, in order (one walk).
    pub(crate) fn announce_queue(&mut self, qi: usize) {
        let Some(q) = self.queues.get(qi) else {
            return;
        };
        for class in ChannelClass::ALL {
            let mut all: Vec<&WaitKey> = q.waiting[0][class.idx()]
                .iter()
                .chain(q.waiting[1][class.idx()].iter())
                .collect();
            all.sort_unstable();
            let mut position = 0u32;
            for wk in all {
                position = position.saturating_add(1);
                if self.tasks.get(&wk.2).is_some_and(|t| !t.callback) {
                    self.decisions.push_back(Decision::Announce {
                        task: wk.2,
                        position,
                        ewt_s: crate::ewt::estimate(position, q.aht_ms, q.staffed),
                    });
                }
            }
        }
    }

    /// Adjusts staffing counts when an agent's presence changes.
    pub(crate) fn set_presence(&mut self, id: AgentId, presence: crate::agent::Presence) {
        let Some(a) = self.agents.get_mut(&id) else {
            return;
        };
        let was = a.presence == crate::agent::Presence::Ready;
        let will = presence == crate::agent::Presence::Ready;
        a.presence = presence;
        if was != will {
            for m in a.memberships.iter().filter(|m| m.tier == Tier::Normal) {
                if let Some(q) = self.queues.get_mut(m.queue) {
                    if will {
                        q.staffed += 1;
                    } else {
                        q.staffed = q.staffed.saturating_sub(1);
                    }
                }
            }
        }
    }

    /// Status of a member agent (for queue statistics).
    pub(crate) fn member_status(&self, id: &AgentId) -> Option<&AgentStatus> {
        self.agents.get(id).map(|a| &a.status)
    }
}
