//! The router's timers. Each kind is a variant of [`TimerKind`]; all live in
//! one ordered set keyed by deadline, so [`crate::Acd::poll_timeout`] is its
//! first entry. Timers whose reason goes away (offer answered, task ended)
//! are disarmed; when one fires, its handler still checks it applies (the
//! task is waiting in the same queue generation...), so a late-stale timer
//! costs one spurious wake-up and nothing else.

use std::collections::BTreeSet;

use domain::{AgentId, InteractionId, Timestamp};

use crate::decision::OfferId;

/// What a timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TimerKind {
    /// Ring time-out of an offer (RONA).
    Ring(OfferId),
    /// End of an agent's wrap-up.
    WrapUp(AgentId),
    /// Widen a task to lower skill levels (task, queue generation).
    Widen(InteractionId, u32),
    /// Overflow a task to another queue.
    Overflow(InteractionId, u32),
    /// Max wait of a task.
    MaxWait(InteractionId, u32),
    /// Periodic announcement of a queue (queue index).
    Announce(usize),
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    set: BTreeSet<(i64, TimerKind)>,
}

impl Timers {
    pub fn arm(&mut self, at: Timestamp, kind: TimerKind) {
        self.set.insert((at.as_millis(), kind));
    }

    pub fn disarm(&mut self, at: Timestamp, kind: TimerKind) {
        self.set.remove(&(at.as_millis(), kind));
    }

    pub fn next(&self) -> Option<Timestamp> {
        self.set.first().map(|(t, _)| Timestamp::from_millis(*t))
    }

    /// Pops the earliest timer if it is due at `now`.
    pub fn pop_due(&mut self, now: Timestamp) -> Option<TimerKind> {
        match self.set.first() {
            Some((t, _)) if *t <= now.as_millis() => self.set.pop_first().map(|(_, k)| k),
            _ => None,
        }
    }
}
