//! The router's timers, as an enum-indexed table per queue.
//!
//! Every timer belongs to a queue and is one of six kinds ([`Slot`]): ring
//! time-out (RONA), wrap-up end, widening, overflow, max wait and the
//! periodic announcement. Within one queue and kind the delay is a constant
//! of the queue, and `now` only moves forward, so deadlines arrive in order:
//! each (queue, kind) lane is a FIFO and arming is O(1). A small ordered set
//! holds the head of every non-empty lane (at most 6 × queues entries), so
//! [`crate::Acd::poll_timeout`] is its first entry.
//!
//! Timers are not removed when their reason goes away (offer answered, task
//! ended); stale heads are pruned after each input, and a handler still
//! checks that a firing timer applies, so a stale timer costs at most one
//! spurious wake-up.

use std::collections::{BTreeSet, VecDeque};

use domain::{AgentId, InteractionId, Timestamp};

use crate::decision::OfferId;

/// Identifies a task's stay in one queue (`seq` is unique per arrival,
/// `generation` grows with each overflow).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct TaskRef {
    pub id: InteractionId,
    pub seq: u64,
    pub generation: u32,
}

/// What a timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TimerKind {
    /// Ring time-out of an offer (RONA).
    Ring(OfferId),
    /// End of an agent's wrap-up.
    WrapUp(AgentId),
    /// Widen a task to lower skill levels.
    Widen(TaskRef),
    /// Overflow a task to another queue.
    Overflow(TaskRef),
    /// Max wait of a task.
    MaxWait(TaskRef),
    /// Periodic announcement of the queue.
    Announce,
}

/// Index of a timer kind in a queue's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Slot {
    Ring,
    WrapUp,
    Widen,
    Overflow,
    MaxWait,
    Announce,
}

impl TimerKind {
    fn slot(&self) -> Slot {
        match self {
            TimerKind::Ring(_) => Slot::Ring,
            TimerKind::WrapUp(_) => Slot::WrapUp,
            TimerKind::Widen(_) => Slot::Widen,
            TimerKind::Overflow(_) => Slot::Overflow,
            TimerKind::MaxWait(_) => Slot::MaxWait,
            TimerKind::Announce => Slot::Announce,
        }
    }
}

const SLOTS: usize = 6;

type Lane = VecDeque<(i64, TimerKind)>;

#[derive(Debug, Default)]
pub(crate) struct Timers {
    lanes: Vec<[Lane; SLOTS]>,
    heads: BTreeSet<(i64, usize, usize)>,
}

impl Timers {
    pub fn new(queues: usize) -> Self {
        Self {
            lanes: (0..queues).map(|_| Default::default()).collect(),
            heads: BTreeSet::new(),
        }
    }

    /// Adds the (empty) lanes of a new queue, numbered after the others.
    pub fn add_queue(&mut self) {
        self.lanes.push(Default::default());
    }

    /// Arms a timer of queue `q`.
    pub fn arm(&mut self, q: usize, at: Timestamp, kind: TimerKind) {
        let s = kind.slot() as usize;
        let Some(lane) = self.lanes.get_mut(q).map(|l| &mut l[s]) else {
            return;
        };
        let at = at.as_millis();
        let old_head = lane.front().map(|h| h.0);
        if lane.back().is_none_or(|b| b.0 <= at) {
            lane.push_back((at, kind));
        } else {
            // Out of order (a queue's delay changed): keep the lane sorted.
            let i = lane.partition_point(|e| e.0 <= at);
            lane.insert(i, (at, kind));
        }
        let new_head = lane.front().map(|h| h.0);
        if old_head != new_head {
            if let Some(h) = old_head {
                self.heads.remove(&(h, q, s));
            }
            if let Some(h) = new_head {
                self.heads.insert((h, q, s));
            }
        }
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Timestamp> {
        self.heads
            .first()
            .map(|(t, _, _)| Timestamp::from_millis(*t))
    }

    /// Pops the earliest timer if it is due at `now`, with its queue.
    pub fn pop_due(&mut self, now: Timestamp) -> Option<(usize, TimerKind)> {
        let &(t, q, s) = self.heads.first()?;
        if t > now.as_millis() {
            return None;
        }
        self.heads.pop_first();
        let lane = &mut self.lanes.get_mut(q)?[s];
        let (_, kind) = lane.pop_front()?;
        if let Some(h) = lane.front() {
            self.heads.insert((h.0, q, s));
        }
        Some((q, kind))
    }

    /// Drops the stale timers at the head of each lane of queue `q`.
    pub fn prune(&mut self, q: usize, stale: impl Fn(i64, &TimerKind) -> bool) {
        let Some(lanes) = self.lanes.get_mut(q) else {
            return;
        };
        for (s, lane) in lanes.iter_mut().enumerate() {
            let Some(old) = lane.front().map(|h| h.0) else {
                continue;
            };
            while lane.front().is_some_and(|(t, k)| stale(*t, k)) {
                lane.pop_front();
            }
            let new = lane.front().map(|h| h.0);
            if new != Some(old) {
                self.heads.remove(&(old, q, s));
                if let Some(h) = new {
                    self.heads.insert((h, q, s));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn earliest_head_over_queues_and_kinds() {
        let mut t = Timers::new(2);
        t.arm(0, ts(50), TimerKind::Ring(OfferId(1)));
        t.arm(1, ts(30), TimerKind::Announce);
        t.arm(0, ts(60), TimerKind::Ring(OfferId(2)));
        t.arm(0, ts(40), TimerKind::WrapUp(AgentId(1)));
        assert_eq!(t.next(), Some(ts(30)));
        assert_eq!(t.pop_due(ts(45)), Some((1, TimerKind::Announce)));
        assert_eq!(t.pop_due(ts(45)), Some((0, TimerKind::WrapUp(AgentId(1)))));
        assert_eq!(t.pop_due(ts(45)), None);
        t.prune(0, |_, k| *k == TimerKind::Ring(OfferId(1)));
        assert_eq!(t.next(), Some(ts(60)));
        // out-of-order arm stays sorted
        t.arm(0, ts(55), TimerKind::Ring(OfferId(3)));
        assert_eq!(t.pop_due(ts(100)), Some((0, TimerKind::Ring(OfferId(3)))));
        assert_eq!(t.pop_due(ts(100)), Some((0, TimerKind::Ring(OfferId(2)))));
        assert_eq!(t.next(), None);
    }
}
