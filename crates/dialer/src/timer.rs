//! The dialer's named timers: one ordered set of (deadline, timer).
//! Timers are removed when their reason goes away, so a firing timer always
//! applies; at most one pacing tick, one ring guard and one agent wait per
//! attempt, and one preview auto-dial per agent are armed.

use std::collections::BTreeSet;

use domain::{AgentId, Timestamp};

use crate::model::AttemptId;

/// What a timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// The next pacing tick (every `tick_ms` ≤ 1 s while running).
    PacingTick,
    /// An attempt got no outcome 10 s after its ring time-out: hang up, no answer.
    RingGuard(AttemptId),
    /// A live answer has waited `agent_wait_ms` (2 s) for an agent: abandon.
    AgentWait(AttemptId),
    /// A preview's auto-dial delay ended.
    PreviewAutoDial(AgentId),
}

/// The timer table.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timers {
    set: BTreeSet<(Timestamp, Timer)>,
}

impl Timers {
    pub fn arm(&mut self, at: Timestamp, t: Timer) {
        self.set.insert((at, t));
    }
    pub fn cancel(&mut self, at: Timestamp, t: Timer) {
        self.set.remove(&(at, t));
    }
    pub fn next(&self) -> Option<Timestamp> {
        self.set.first().map(|e| e.0)
    }
    /// Pop the first timer due at `now`.
    pub fn pop_due(&mut self, now: Timestamp) -> Option<(Timestamp, Timer)> {
        match self.set.first() {
            Some(&(at, _)) if at <= now => self.set.pop_first(),
            _ => None,
        }
    }
}
