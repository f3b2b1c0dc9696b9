//! Configuration of the ACD: queues (with their overflow rules and
//! announcement period), agents' routing profiles and engine-wide knobs
//! (RONA misses, aging rate, ring-all fan-out, random seed).

use domain::{AgentId, Capacity, Queue, QueueId, SkillLevel};
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// After `after_s` seconds in the queue, a waiting task may also be offered to
/// agents whose level in each required skill is at least `min_level`
/// (instead of the queue's own minimum). Skill names stay the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Widen {
    /// Seconds after entering the queue.
    pub after_s: u32,
    /// Lowest accepted level (1..=10) once widened.
    pub min_level: u8,
}

/// After `after_s` seconds in the queue, a waiting task moves to another
/// queue (it keeps its original arrival time, hence its aging).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverflowTo {
    /// Seconds after entering the queue.
    pub after_s: u32,
    /// Destination queue (must be configured).
    pub queue: QueueId,
}

/// One ACD queue as the router sees it: the domain [`Queue`] record plus the
/// routing-only settings.
///
/// From `queue`, the router uses `required_skills` (names and minimum
/// levels), `strategy`, `service_level`, `wrap_up_s`, `max_wait_s`
/// (0 = no limit), `ring_timeout_s` (0 is treated as 1 s) and `priority`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueConfig {
    /// The queue record from the domain.
    pub queue: Queue,
    /// Widen to a lower skill level after a while, if set.
    pub widen: Option<Widen>,
    /// Overflow to another queue after a while, if set.
    pub overflow_to: Option<OverflowTo>,
    /// Period of position/EWT announcements in seconds (0 = only on arrival).
    pub announce_every_s: u32,
    /// Announce position and EWT when a task arrives.
    pub announce_on_arrival: bool,
    /// Aging rate in priority points per minute of waiting (see
    /// [`crate::priority`]). `None` uses [`AcdConfig::aging_points_per_min`].
    pub aging_points_per_min: Option<u32>,
}

impl QueueConfig {
    /// A queue with no overflow, announcements only on arrival and the
    /// engine-wide aging rate.
    pub fn new(queue: Queue) -> Self {
        Self {
            queue,
            widen: None,
            overflow_to: None,
            announce_every_s: 0,
            announce_on_arrival: true,
            aging_points_per_min: None,
        }
    }
}

/// Engine-wide settings of the ACD.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcdConfig {
    /// The queues.
    pub queues: Vec<QueueConfig>,
    /// Ring-no-answer misses in a row after which an agent is paused with
    /// reason `rona` (0 = never pause).
    pub rona_max_misses: u32,
    /// Default aging rate, priority points per minute of waiting.
    pub aging_points_per_min: u32,
    /// Most agents rung at once by a ring-all queue.
    pub ring_all_limit: usize,
    /// Handle time (talk + wrap-up) assumed by the EWT estimator before any
    /// task has been handled, in seconds.
    pub default_aht_s: u32,
    /// How many candidates (tasks or agents) are examined, in order, to
    /// honour a task's extra skills before giving up for this round.
    pub scan_limit: usize,
    /// Seed of the random strategy (the core never reads an entropy source).
    pub seed: u64,
    /// Abandons after a wait shorter than this, ms, are "short": counted in
    /// [`crate::QueueCounters::abandoned_short`] and left out of the service
    /// level (the usual 5 s; the engine passes its `short_abandon_ms`).
    #[serde(default = "default_short_abandon_ms")]
    pub short_abandon_ms: i64,
}

fn default_short_abandon_ms() -> i64 {
    5_000
}

impl Default for AcdConfig {
    fn default() -> Self {
        Self {
            queues: Vec::new(),
            rona_max_misses: 1,
            aging_points_per_min: 10,
            ring_all_limit: 32,
            default_aht_s: 180,
            scan_limit: 64,
            seed: 0x5EED,
            short_abandon_ms: default_short_abandon_ms(),
        }
    }
}

impl AcdConfig {
    /// Checks levels, ids and overflow targets.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first problem found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for q in &self.queues {
            if !seen.insert(q.queue.id) {
                return Err(ConfigError::DuplicateQueue(q.queue.id));
            }
            for s in &q.queue.required_skills {
                s.validate()
                    .map_err(|e| ConfigError::BadSkill(q.queue.id, e))?;
            }
            if let Some(w) = q.widen
                && !(1..=10).contains(&w.min_level)
            {
                return Err(ConfigError::BadSkill(
                    q.queue.id,
                    format!("widen level {} is not within 1..=10", w.min_level),
                ));
            }
        }
        for q in &self.queues {
            if let Some(o) = q.overflow_to {
                if !seen.contains(&o.queue) {
                    return Err(ConfigError::UnknownOverflowTarget(q.queue.id, o.queue));
                }
                if o.queue == q.queue.id {
                    return Err(ConfigError::UnknownOverflowTarget(q.queue.id, o.queue));
                }
            }
        }
        Ok(())
    }
}

/// What the router needs to know about an agent at login.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentProfile {
    /// The agent.
    pub id: AgentId,
    /// Skills with levels 1..=10. Queue membership follows from them: an
    /// agent serves a queue when they hold every required skill at the
    /// queue's minimum level (or the widened level, once a task is widened).
    pub skills: Vec<SkillLevel>,
    /// Per-channel capacity.
    pub capacity: Capacity,
    /// Rank in the fixed order used by the linear and round-robin strategies
    /// (lower first; ties by agent id).
    pub order: i64,
}

impl AgentProfile {
    /// A profile with default capacity and `order` = the agent id.
    pub fn new(id: AgentId, skills: Vec<SkillLevel>) -> Self {
        Self {
            id,
            skills,
            capacity: Capacity::default(),
            order: id.0,
        }
    }
}
