//! Queue state: waiting tasks in priority order and available agents in
//! strategy order, both per channel class and per membership tier, so that
//! a routing decision looks at the heads of a few ordered sets instead of
//! scanning tasks or agents.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use domain::{AgentId, InteractionId, QueueId, Timestamp};

use crate::agent::{AgentKey, ChannelClass, Tier};
use crate::config::QueueConfig;
use crate::decision::{OfferId, Task};
use crate::stats::QueueCounters;

/// Place of a waiting task: higher key first, then earlier arrival; the
/// flag says whether the task has extra skills (checked against the agent).
pub(crate) type WaitKey = (Reverse<i64>, u64, InteractionId, bool);

/// Where a task is in its life inside the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// In `queue.waiting[tier][class]`.
    Waiting,
    /// Ringing.
    Offered(OfferId),
    /// Accepted by an agent.
    Connected {
        agent: AgentId,
        answered_at: Timestamp,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct TaskState {
    pub task: Task,
    /// Index of the current queue.
    pub queue: usize,
    pub class: ChannelClass,
    pub seq: u64,
    /// First arrival in the ACD (aging and SL count from here).
    pub arrived: Timestamp,
    /// Entry into the current queue (overflow, widen and max-wait timers).
    pub entered: Timestamp,
    pub key: i64,
    pub stage: Stage,
    /// The caller left and asked to be called back.
    pub callback: bool,
    pub widened: bool,
    /// Bumped on each queue change, to invalidate the old queue's timers.
    pub generation: u32,
}

impl TaskState {
    pub fn wait_key(&self) -> WaitKey {
        (
            Reverse(self.key),
            self.seq,
            self.task.id,
            !self.task.skills.is_empty(),
        )
    }

    pub fn task_ref(&self) -> crate::timer::TaskRef {
        crate::timer::TaskRef {
            id: self.task.id,
            seq: self.seq,
            generation: self.generation,
        }
    }

    pub fn tier(&self) -> Tier {
        if self.widened {
            Tier::Widened
        } else {
            Tier::Normal
        }
    }
}

#[derive(Debug)]
pub(crate) struct QueueState {
    pub cfg: QueueConfig,
    pub id: QueueId,
    /// Aging rate, points per minute.
    pub rate: u32,
    /// `[tier][class]`: waiting tasks.
    pub waiting: [[BTreeSet<WaitKey>; 3]; 2],
    /// `[tier][class]`: agents of that membership tier who can take the class now.
    pub avail: [[BTreeSet<AgentKey>; 3]; 2],
    /// Logged-in agents with a normal membership.
    pub members: BTreeSet<AgentId>,
    /// Members logged in and not paused (for EWT).
    pub staffed: usize,
    /// Last key offered by round robin.
    pub rr_last: Option<(i64, i64, AgentId)>,
    /// Exponentially weighted average handle time (talk + wrap-up), ms.
    pub aht_ms: f64,
    pub counters: QueueCounters,
    pub announce_armed: bool,
}

impl QueueState {
    pub fn new(cfg: QueueConfig, default_rate: u32, default_aht_s: u32) -> Self {
        Self {
            id: cfg.queue.id,
            rate: cfg.aging_points_per_min.unwrap_or(default_rate),
            cfg,
            waiting: Default::default(),
            avail: Default::default(),
            members: BTreeSet::new(),
            staffed: 0,
            rr_last: None,
            aht_ms: f64::from(default_aht_s) * 1000.0,
            counters: QueueCounters::default(),
            announce_armed: false,
        }
    }

    /// Number of waiting tasks (all tiers and classes).
    pub fn waiting_len(&self) -> usize {
        self.waiting.iter().flatten().map(BTreeSet::len).sum()
    }

    /// 1-based rank of a waiting task among tasks of its class in this queue.
    pub fn position(&self, key: &WaitKey, class: ChannelClass) -> u32 {
        let ahead: usize = (0..2)
            .map(|t| self.waiting[t][class.idx()].range(..key).count())
            .sum();
        u32::try_from(ahead + 1).unwrap_or(u32::MAX)
    }

    /// Required skills at the level that applies to `tier`.
    pub fn min_level(&self, tier: Tier, required: u8) -> u8 {
        match (tier, self.cfg.widen) {
            (Tier::Widened, Some(w)) => w.min_level.min(required),
            _ => required,
        }
    }

    pub fn ring_timeout_ms(&self) -> i64 {
        i64::from(self.cfg.queue.ring_timeout_s.max(1)) * 1000
    }

    pub fn wrap_up_ms(&self) -> i64 {
        i64::from(self.cfg.queue.wrap_up_s) * 1000
    }

    pub fn sl_threshold_ms(&self) -> i64 {
        i64::from(self.cfg.queue.service_level.within_s) * 1000
    }
}
