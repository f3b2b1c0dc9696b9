//! Wallboard statistics: per queue and per agent, since the last
//! [`crate::Acd::reset_stats`] (the engine calls it at midnight; the core
//! knows no calendar).
//!
//! Service level is `answered in threshold / (answered + abandoned after
//! the short-abandon threshold + exits)` (exits = max-wait exits): the
//! reports' default formula (`reports::SlFormula`'s `A_T ÷ (A + L)`, short
//! abandons left out), so the wallboard and the day's report agree; 100 %
//! when nothing has been closed yet.

use domain::{AgentId, InteractionId, QueueId, Timestamp};
use serde::Serialize;

use crate::agent::AgentStatus;

/// Running counters of one queue.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct QueueCounters {
    /// Tasks that entered the queue (arrivals and overflows in).
    pub entered: u64,
    /// Offers accepted.
    pub answered: u64,
    /// Of which within the service-level threshold (from first arrival).
    pub answered_in_sl: u64,
    /// Callers who hung up while waiting or ringing.
    pub abandoned: u64,
    /// Of which after a wait under [`crate::AcdConfig::short_abandon_ms`]
    /// (left out of the service level).
    pub abandoned_short: u64,
    /// Tasks that reached max wait.
    pub max_wait_exits: u64,
    /// Tasks moved to another queue.
    pub overflowed_out: u64,
    /// Sum of waits of answered tasks (first arrival to accept), ms.
    pub answered_wait_ms: u64,
}

/// One queue on a wallboard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueStats {
    /// The queue.
    pub queue: QueueId,
    /// Tasks waiting (including callbacks keeping their place).
    pub waiting: usize,
    /// Of which callbacks.
    pub callbacks_waiting: usize,
    /// Longest current wait since first arrival, ms (0 when empty).
    pub longest_wait_ms: i64,
    /// Members (normal tier) available.
    pub agents_available: usize,
    /// Members ringing or busy.
    pub agents_busy: usize,
    /// Members in wrap-up.
    pub agents_wrap_up: usize,
    /// Members paused.
    pub agents_paused: usize,
    /// Service level so far, % (see the module doc).
    pub service_level_pct: f64,
    /// Average speed of answer so far, s.
    pub asa_s: f64,
    /// Counters.
    pub counters: QueueCounters,
    /// Current average handle time estimate, s.
    pub aht_s: f64,
}

/// One agent on a wallboard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentStats {
    /// The agent.
    pub agent: AgentId,
    /// State.
    pub status: AgentStatus,
    /// Time in that state, ms.
    pub in_status_ms: i64,
    /// Tasks held now.
    pub tasks: Vec<InteractionId>,
    /// The task ringing for this agent now (an offer not yet accepted).
    pub offered: Option<InteractionId>,
    /// Offers accepted since the last reset.
    pub calls_today: u32,
    /// Ring-no-answers in a row.
    pub rona_misses: u32,
    /// End of wrap-up, if in wrap-up.
    pub wrap_up_until: Option<Timestamp>,
}

impl QueueCounters {
    /// Service level, % (100 when nothing has been closed).
    pub fn service_level_pct(&self) -> f64 {
        let closed = self.answered
            + self.abandoned.saturating_sub(self.abandoned_short)
            + self.max_wait_exits;
        if closed == 0 {
            100.0
        } else {
            100.0 * self.answered_in_sl as f64 / closed as f64
        }
    }

    /// Average speed of answer, s (0 when nothing answered).
    pub fn asa_s(&self) -> f64 {
        if self.answered == 0 {
            0.0
        } else {
            self.answered_wait_ms as f64 / 1000.0 / self.answered as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sl_counts_abandons_against() {
        let c = QueueCounters {
            answered: 8,
            answered_in_sl: 6,
            abandoned: 2,
            answered_wait_ms: 80_000,
            ..Default::default()
        };
        assert_eq!(c.service_level_pct(), 60.0);
        assert_eq!(c.asa_s(), 10.0);
        assert_eq!(QueueCounters::default().service_level_pct(), 100.0);
        // One of the two abandons was short: out of the denominator (6/9).
        let c = QueueCounters {
            abandoned_short: 1,
            ..c
        };
        assert_eq!(format!("{:.2}", c.service_level_pct()), "66.67");
    }
}
