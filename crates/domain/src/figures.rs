//! The contact-center figures of one interaction, recomputed from its
//! events alone (ARCHITECTURE.md principle 3: the log is the truth; a report
//! never needs another table). Durations in ms.
//!
//! ```
//! use domain::{figures::Figures, Event, EventKind, Timestamp};
//! let ev = |seq, at, kind| Event { seq, at: Timestamp::from_millis(at),
//!     interaction_id: None, customer_id: None, agent_id: None, kind };
//! let f = Figures::from_events(&[
//!     ev(1, 0, EventKind::Queued { queue_id: domain::QueueId(1), priority: 0 }),
//!     ev(2, 8_000, EventKind::Answered { queue_id: None, waited_ms: 8_000 }),
//!     ev(3, 68_000, EventKind::Ended { reason: "caller_hangup".into() }),
//! ]);
//! assert_eq!((f.wait_ms, f.talk_ms), (Some(8_000), 60_000));
//! assert_eq!(f.within_service_level(20), Some(true));
//! ```

use crate::{Event, EventKind, Timestamp};

/// What the events of one interaction say, in ms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// First entry into a queue.
    pub queued_at: Option<Timestamp>,
    /// Wait before the first answer (the `answered` event's `waited_ms`):
    /// the ASA sample. `None` if never answered.
    pub wait_ms: Option<i64>,
    /// Connected time with agents, hold included (answer → transfer, end).
    pub talk_ms: i64,
    /// Time on hold (held → unheld, or → end).
    pub hold_ms: i64,
    /// Wrap-up (after-call work) time: wrap-up started → ended.
    pub wrap_up_ms: i64,
    /// Abandoned while waiting: the wait (ms) and whether it was a short
    /// abandon (under the threshold, left out of the abandon rate).
    pub abandoned: Option<(i64, bool)>,
    /// How many agents answered it (more than one after a transfer).
    pub answers: u32,
    /// Transfers.
    pub transfers: u32,
    /// Offers that rang out (RONA).
    pub ronas: u32,
}

impl Figures {
    /// Fold the events of one interaction (in sequence order).
    pub fn from_events(events: &[Event]) -> Self {
        let mut f = Figures::default();
        let mut talking_since: Option<Timestamp> = None;
        let mut held_since: Option<Timestamp> = None;
        let mut wrap_since: Option<Timestamp> = None;
        for e in events {
            match &e.kind {
                EventKind::Queued { .. } if f.queued_at.is_none() => f.queued_at = Some(e.at),
                EventKind::Answered { waited_ms, .. } => {
                    if f.answers == 0 {
                        f.wait_ms = Some(*waited_ms);
                    }
                    f.answers += 1;
                    talking_since = Some(e.at);
                }
                EventKind::Held => held_since = held_since.or(Some(e.at)),
                EventKind::Unheld => {
                    if let Some(h) = held_since.take() {
                        f.hold_ms += e.at.millis_since(h);
                    }
                }
                EventKind::Transferred { .. } | EventKind::Ended { .. } => {
                    if matches!(e.kind, EventKind::Transferred { .. }) {
                        f.transfers += 1;
                    }
                    if let Some(h) = held_since.take() {
                        f.hold_ms += e.at.millis_since(h);
                    }
                    if let Some(t) = talking_since.take() {
                        f.talk_ms += e.at.millis_since(t);
                    }
                }
                EventKind::Abandoned {
                    waited_ms, short, ..
                } => f.abandoned = Some((*waited_ms, *short)),
                EventKind::Rona { .. } => f.ronas += 1,
                EventKind::WrapUpStarted => wrap_since = Some(e.at),
                EventKind::WrapUpEnded => {
                    if let Some(w) = wrap_since.take() {
                        f.wrap_up_ms += e.at.millis_since(w);
                    }
                }
                _ => {}
            }
        }
        f
    }

    /// Answered within the service-level threshold (`threshold_s`, e.g. the
    /// "80 % in 20 s" target's 20)? `None` when never answered (an abandon
    /// counts against the service level unless short; the caller decides).
    pub fn within_service_level(&self, threshold_s: u32) -> Option<bool> {
        self.wait_ms.map(|w| w <= i64::from(threshold_s) * 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AgentId, QueueId};

    fn ev(at: i64, kind: EventKind) -> Event {
        Event {
            seq: at,
            at: Timestamp::from_millis(at),
            interaction_id: None,
            customer_id: None,
            agent_id: None,
            kind,
        }
    }

    #[test]
    fn a_transferred_call_with_hold_and_wrap_up() {
        let q = QueueId(1);
        let f = Figures::from_events(&[
            ev(
                1_000,
                EventKind::Queued {
                    queue_id: q,
                    priority: 0,
                },
            ),
            ev(16_000, EventKind::Rona { queue_id: q }),
            ev(
                26_000,
                EventKind::Answered {
                    queue_id: Some(q),
                    waited_ms: 25_000,
                },
            ),
            ev(30_000, EventKind::Held),
            ev(40_000, EventKind::Unheld),
            ev(
                50_000,
                EventKind::Transferred {
                    to_queue: None,
                    to_agent: Some(AgentId(2)),
                },
            ),
            ev(
                55_000,
                EventKind::Answered {
                    queue_id: Some(q),
                    waited_ms: 5_000,
                },
            ),
            ev(60_000, EventKind::Held),
            ev(
                95_000,
                EventKind::Ended {
                    reason: "caller_hangup".into(),
                },
            ),
            ev(95_000, EventKind::WrapUpStarted),
            ev(125_000, EventKind::WrapUpEnded),
        ]);
        assert_eq!(f.queued_at, Some(Timestamp::from_millis(1_000)));
        assert_eq!(f.wait_ms, Some(25_000), "ASA counts the first answer");
        assert_eq!(f.talk_ms, 24_000 + 40_000);
        assert_eq!(f.hold_ms, 10_000 + 35_000, "hold until the end counts");
        assert_eq!(f.wrap_up_ms, 30_000);
        assert_eq!((f.answers, f.transfers, f.ronas), (2, 1, 1));
        assert_eq!(f.within_service_level(20), Some(false));
        assert_eq!(f.within_service_level(30), Some(true));
        assert_eq!(f.abandoned, None);
    }

    #[test]
    fn an_abandon() {
        let f = Figures::from_events(&[
            ev(
                0,
                EventKind::Queued {
                    queue_id: QueueId(1),
                    priority: 0,
                },
            ),
            ev(
                3_000,
                EventKind::Abandoned {
                    queue_id: QueueId(1),
                    waited_ms: 3_000,
                    short: true,
                },
            ),
            ev(
                3_000,
                EventKind::Ended {
                    reason: "abandoned".into(),
                },
            ),
        ]);
        assert_eq!(f.abandoned, Some((3_000, true)));
        assert_eq!((f.wait_ms, f.talk_ms, f.answers), (None, 0, 0));
        assert_eq!(f.within_service_level(20), None);
    }
}
