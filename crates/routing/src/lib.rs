//! # routing — the ACD core of Switchboard
//!
//! An automatic call distributor as a plain state machine: it takes events
//! (task arrived, agent logged in/paused/ready, offer accepted or rejected,
//! task ended, caller abandoned or asked for a callback, time passed) with an
//! explicit `now`, and gives back [`Decision`]s (offer task T to agent A,
//! stop ringing, announce position and expected wait, overflow, max-wait
//! exit, pause an agent after ring-no-answer). It routes calls, chats, SMS,
//! WhatsApp and e-mail alike, with per-channel agent capacity.
//!
//! It must not know about I/O: no sockets, no database, no async runtime and
//! no clock. The engine feeds it, carries out its decisions and re-arms one
//! timer to [`Acd::poll_timeout`]. Time must only move forward; an earlier
//! `now` is treated as the latest one seen.
//!
//! ```
//! use domain::*;
//! use routing::{Acd, AcdConfig, AgentProfile, Decision, QueueConfig, Task};
//!
//! let queue = Queue {
//!     id: QueueId(1),
//!     name: "general".into(),
//!     required_skills: vec![SkillLevel { skill: "french".into(), level: 3 }],
//!     strategy: Strategy::LongestIdle,
//!     service_level: ServiceLevel::default(),
//!     wrap_up_s: 10,
//!     max_wait_s: 600,
//!     ring_timeout_s: 15,
//!     priority: 0,
//! };
//! let config = AcdConfig { queues: vec![QueueConfig::new(queue)], ..AcdConfig::default() };
//! let mut acd = Acd::new(config)?;
//! let t0 = Timestamp::from_millis(1_700_000_000_000);
//!
//! let skills = vec![SkillLevel { skill: "french".into(), level: 5 }];
//! acd.handle_agent_login(t0, AgentProfile::new(AgentId(7), skills))?;
//! let call = Task::new(InteractionId(42), QueueId(1), Channel::Voice, Segment::Vip);
//! acd.handle_task_arrived(t0, call)?;
//!
//! // The engine's loop: carry out every decision, then sleep until the
//! // next deadline and call `handle_timeout`.
//! while let Some(d) = acd.poll_decision() {
//!     if let Decision::Offer { task, agents, .. } = d {
//!         // ring the agent's phone; here the agent answers at once
//!         acd.handle_offer_accepted(t0.add_millis(2_000), task, agents[0])?;
//!     }
//! }
//! acd.handle_task_ended(t0.add_millis(60_000), InteractionId(42))?;
//! // 10 s of wrap-up: the next deadline is its end
//! assert_eq!(acd.poll_timeout(), Some(t0.add_millis(70_000)));
//! acd.handle_timeout(t0.add_millis(70_000));
//! assert_eq!(acd.queue_stats(QueueId(1)).map(|s| s.counters.answered), Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Layout
//! - [`config`]: queues (overflow, widening, announcements), agent profiles,
//!   engine knobs.
//! - [`agent`]: agent presence, capacity per channel class, displayed status.
//! - `queue` (private): waiting tasks and able agents as ordered sets.
//! - [`strategy`]: the seven agent-selection strategies.
//! - [`priority`]: segment priority plus aging (the formula).
//! - [`ewt`]: the expected-wait estimator (the formula).
//! - `dispatch` (private): the matching loop; `acd` (private): the
//!   `handle_*` inputs; `timer` (private): the per-queue timer table.
//! - [`decision`]: the [`Task`] input, the [`Decision`] outputs and the
//!   [`Explanation`] of each offer; [`error`]: refused inputs.
//! - [`stats`]: wallboard figures per queue and per agent.
//! - [`erlang`]: Erlang C, to check the simulator.
//! - [`sim`]: a discrete-event simulation of a day of traffic;
//!   [`rng`]: the seeded generator it and the random strategy use.
//!
//! ## Cost of a decision
//! No decision scans all tasks or all agents. Waiting tasks sit in ordered
//! sets per queue, channel class and tier, sorted by a time-free priority
//! key ([`priority`]); able agents sit in ordered sets per queue, class and
//! tier, sorted by the queue's strategy key ([`strategy`]). An agent freed
//! while tasks wait compares the heads of its queues' sets and takes the
//! best task without entering any index; a task arriving where agents wait
//! takes the head of its queue's agent set. Timers are FIFO lanes per queue
//! and kind. See `benches/routing.rs` (10 000 agents, 100 000 tasks).
//!
//! ## Method groups (quinn-proto style)
//! - inputs: `handle_task_arrived`, `handle_agent_login`, `handle_agent_logout`,
//!   `handle_agent_state`, `handle_offer_accepted`, `handle_offer_rejected`,
//!   `handle_task_ended`, `handle_abandon`, `handle_callback_requested`,
//!   `handle_timeout`;
//! - outputs: [`Acd::poll_decision`], [`Acd::poll_timeout`];
//! - getters: [`Acd::queue_stats`], [`Acd::agent_stats`], [`Acd::explain`],
//!   [`Acd::position`], [`Acd::ewt_s`];
//! - mutators: [`Acd::reset_stats`].

mod acd;
pub mod agent;
pub mod config;
pub mod decision;
mod dispatch;
pub mod erlang;
pub mod error;
pub mod ewt;
mod idmap;
pub mod priority;
mod queue;
mod reconfig;
pub mod rng;
pub mod sim;
pub mod stats;
pub mod strategy;
mod timer;

use std::collections::{HashMap, VecDeque};

use domain::{AgentId, InteractionId, QueueId, Timestamp};

pub use acd::AgentInput;
pub use agent::{AgentStatus, ChannelClass, Tier};
pub use config::{AcdConfig, AgentProfile, OverflowTo, QueueConfig, Widen};
pub use decision::{
    AgentScore, CancelReason, Decision, Explanation, OfferId, RequeueReason, Task, Trigger,
};
pub use error::{ConfigError, RoutingError};
pub use stats::{AgentStats, QueueCounters, QueueStats};

use agent::AgentState;
use dispatch::OfferState;
use idmap::IdMap;
use queue::{QueueState, Stage, TaskState};
use rng::SplitMix64;
use timer::Timers;

/// The ACD: every queue, agent, waiting task and pending offer of one
/// routing partition (ARCHITECTURE.md: one node owns a queue at a time).
#[derive(Debug)]
pub struct Acd {
    cfg: AcdConfig,
    queues: Vec<QueueState>,
    queue_idx: HashMap<QueueId, usize>,
    agents: IdMap<AgentId, AgentState>,
    tasks: IdMap<InteractionId, TaskState>,
    offers: IdMap<OfferId, OfferState>,
    explanations: IdMap<InteractionId, Explanation>,
    decisions: VecDeque<Decision>,
    timers: Timers,
    rng: SplitMix64,
    next_offer: u64,
    next_seq: u64,
    last_now: Timestamp,
    dirty_agents: Vec<AgentId>,
    dirty_pools: Vec<(usize, ChannelClass)>,
    /// Queues whose timer lanes may have stale heads.
    touched: Vec<usize>,
}

impl Acd {
    /// An ACD with the configured queues and no agents or tasks.
    ///
    /// # Errors
    /// [`ConfigError`] when the configuration is inconsistent.
    pub fn new(mut cfg: AcdConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let queue_cfgs = std::mem::take(&mut cfg.queues);
        let queues: Vec<QueueState> = queue_cfgs
            .into_iter()
            .map(|q| QueueState::new(q, cfg.aging_points_per_min, cfg.default_aht_s))
            .collect();
        let queue_idx = queues.iter().enumerate().map(|(i, q)| (q.id, i)).collect();
        let timers = Timers::new(queues.len());
        Ok(Self {
            rng: SplitMix64::new(cfg.seed),
            cfg,
            queues,
            queue_idx,
            agents: IdMap::default(),
            tasks: IdMap::default(),
            offers: IdMap::default(),
            explanations: IdMap::default(),
            decisions: VecDeque::new(),
            timers,
            touched: Vec::new(),
            next_offer: 1,
            next_seq: 0,
            last_now: Timestamp::from_millis(i64::MIN),
            dirty_agents: Vec::new(),
            dirty_pools: Vec::new(),
        })
    }

    /// The next decision for the engine, in the order they were taken.
    pub fn poll_decision(&mut self) -> Option<Decision> {
        self.decisions.pop_front()
    }

    /// The earliest deadline at which [`Acd::handle_timeout`] must be
    /// called. It may be early (a timer whose reason has gone), never late.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.next()
    }

    /// Statistics of one queue as of the core's last input, `None` if it is
    /// not configured.
    pub fn queue_stats(&self, queue: QueueId) -> Option<QueueStats> {
        self.queue_stats_at(queue, self.last_now)
    }

    /// Statistics of one queue with the waits measured up to `now` (a
    /// caller asking between inputs passes its clock so the longest wait is
    /// current; a `now` before the last input counts as the last input).
    /// `None` if the queue is not configured.
    pub fn queue_stats_at(&self, queue: QueueId, now: Timestamp) -> Option<QueueStats> {
        let q = self.queues.get(*self.queue_idx.get(&queue)?)?;
        let now = now.max(self.last_now);
        let mut longest = 0i64;
        let mut callbacks = 0usize;
        for wk in q.waiting.iter().flatten().flatten() {
            if let Some(t) = self.tasks.get(&wk.2) {
                longest = longest.max(now.millis_since(t.arrived));
                callbacks += usize::from(t.callback);
            }
        }
        let (mut avail, mut busy, mut wrap, mut paused) = (0, 0, 0, 0);
        for m in &q.members {
            match self.member_status(m) {
                Some(AgentStatus::Available) => avail += 1,
                Some(AgentStatus::Busy | AgentStatus::Reserved) => busy += 1,
                Some(AgentStatus::WrapUp) => wrap += 1,
                Some(AgentStatus::Paused(_)) => paused += 1,
                _ => {}
            }
        }
        Some(QueueStats {
            queue,
            waiting: q.waiting_len(),
            callbacks_waiting: callbacks,
            longest_wait_ms: longest,
            agents_available: avail,
            agents_busy: busy,
            agents_wrap_up: wrap,
            agents_paused: paused,
            service_level_pct: q.counters.service_level_pct(),
            asa_s: q.counters.asa_s(),
            counters: q.counters.clone(),
            aht_s: q.aht_ms / 1000.0,
        })
    }

    /// Statistics of one agent at `now`, `None` if never seen.
    pub fn agent_stats(&self, agent: AgentId, now: Timestamp) -> Option<AgentStats> {
        let a = self.agents.get(&agent)?;
        Some(AgentStats {
            agent,
            status: a.status.clone(),
            in_status_ms: now.millis_since(a.status_since).max(0),
            tasks: a.tasks.clone(),
            offered: a.offer.and_then(|o| self.offers.get(&o)).map(|o| o.task),
            calls_today: a.calls_today,
            rona_misses: a.rona_misses,
            wrap_up_until: a.wrap_until,
        })
    }

    /// The displayed state of an agent, `None` if never seen.
    pub fn agent_status(&self, agent: AgentId) -> Option<&AgentStatus> {
        self.agents.get(&agent).map(|a| &a.status)
    }

    /// Why the task's current or last offer went to whom (kept until the
    /// task leaves the ACD).
    pub fn explain(&self, task: InteractionId) -> Option<&Explanation> {
        self.explanations.get(&task)
    }

    /// 1-based position of a waiting task among tasks of its queue and
    /// channel class; `None` if it is not waiting.
    pub fn position(&self, task: InteractionId) -> Option<u32> {
        match self.announcement(task)? {
            Decision::Announce { position, .. } => Some(position),
            _ => None,
        }
    }

    /// Expected wait of a waiting task in seconds (see [`ewt`]).
    pub fn ewt_s(&self, task: InteractionId) -> Option<u32> {
        match self.announcement(task)? {
            Decision::Announce { ewt_s, .. } => ewt_s,
            _ => None,
        }
    }

    /// Number of tasks in the ACD (waiting, ringing or connected).
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// Number of waiting tasks over all queues.
    pub fn waiting_count(&self) -> usize {
        self.queues.iter().map(QueueState::waiting_len).sum()
    }

    /// Tasks held by an agent (empty if unknown).
    pub fn agent_tasks(&self, agent: AgentId) -> &[InteractionId] {
        self.agents.get(&agent).map_or(&[], |a| a.tasks.as_slice())
    }

    /// Zeroes queue counters and agents' call counts (the engine calls it
    /// at the start of the day).
    pub fn reset_stats(&mut self) {
        for q in &mut self.queues {
            q.counters = QueueCounters::default();
        }
        let ids: Vec<AgentId> = self.agents.keys().copied().collect();
        for id in &ids {
            if let Some(a) = self.agents.get_mut(id) {
                a.calls_today = 0;
            }
        }
        let now = self.last_now;
        for id in ids {
            self.reindex_agent(id, now);
        }
        self.dispatch(now);
    }

    /// Checks the internal consistency of indexes, offers and capacities;
    /// meant for tests and debugging (cost: linear in the state size).
    ///
    /// # Errors
    /// A description of the first inconsistency found.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (id, t) in &self.tasks {
            let q = self.queues.get(t.queue).ok_or("task in unknown queue")?;
            let in_set = q.waiting[t.tier().idx()][t.class.idx()].contains(&t.wait_key());
            match t.stage {
                Stage::Waiting if !in_set => {
                    return Err(format!("task {id} waiting but not queued"));
                }
                Stage::Offered(o) => {
                    let off = self
                        .offers
                        .get(&o)
                        .ok_or(format!("task {id}: offer {o:?} missing"))?;
                    if off.task != *id || off.agents.is_empty() {
                        return Err(format!("task {id}: offer {o:?} inconsistent"));
                    }
                    if !off.ring_all && off.agents.len() != 1 {
                        return Err(format!("task {id} offered to {} agents", off.agents.len()));
                    }
                }
                Stage::Connected { agent, .. } => {
                    let a = self
                        .agents
                        .get(&agent)
                        .ok_or("connected to unknown agent")?;
                    if !a.tasks.contains(id) {
                        return Err(format!("task {id} connected but not held by {agent}"));
                    }
                }
                _ => {}
            }
            if t.stage != Stage::Waiting && in_set {
                return Err(format!("task {id} queued but not waiting"));
            }
        }
        for q in &self.queues {
            for wk in q.waiting.iter().flatten().flatten() {
                if !self
                    .tasks
                    .get(&wk.2)
                    .is_some_and(|t| t.stage == Stage::Waiting)
                {
                    return Err(format!("stale waiting entry {}", wk.2));
                }
            }
        }
        for (id, a) in &self.agents {
            for class in ChannelClass::ALL {
                if a.held[class.idx()] > class.limit(&a.profile.capacity) {
                    return Err(format!("agent {id} over capacity in {class:?}"));
                }
            }
            if a.held.iter().map(|h| usize::from(*h)).sum::<usize>() != a.tasks.len() {
                return Err(format!("agent {id}: held counts differ from tasks"));
            }
            if let Some(o) = a.offer
                && !self
                    .offers
                    .get(&o)
                    .is_some_and(|off| off.agents.contains(id))
            {
                return Err(format!("agent {id} reserved for ended offer {o:?}"));
            }
            if a.status == AgentStatus::Reserved && a.offer.is_none() {
                return Err(format!("agent {id} shown reserved without offer"));
            }
            let able = ChannelClass::ALL.iter().any(|c| a.can_take(*c));
            if able && !a.memberships.is_empty() && a.indexed.is_empty() {
                return Err(format!("agent {id} can take work but is not indexed"));
            }
            for (q, tier, class, key) in &a.indexed {
                // a ringing agent stays indexed; picks skip it
                let able = a.can_take(*class) || (a.offer.is_some() && a.able(*class, true));
                if !able || !self.queues[*q].avail[tier.idx()][class.idx()].contains(key) {
                    return Err(format!("agent {id} wrongly indexed"));
                }
            }
        }
        for (o, off) in &self.offers {
            for ag in &off.agents {
                if self.agents.get(ag).and_then(|a| a.offer) != Some(*o) {
                    return Err(format!("offer {o:?} lists agent {ag} not reserved for it"));
                }
            }
        }
        Ok(())
    }
}
