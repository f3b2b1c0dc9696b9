//! The durable outbox's per-message state machine (pure: no I/O, `now` passed in).
//!
//! Every outbound message (agent replies, IVR R1/R4 messages, surveys, campaign
//! templates) is one [`OutboxEntry`]. The store persists the entry (it is
//! `serde`-serialisable) after every transition, so nothing is lost on restart:
//! [`OutboxEntry::recover`] turns an entry caught in `Sending` back into `Queued`
//! (at-least-once delivery; SMSCs and Meta de-duplicate nothing, so a crash in the
//! middle of a send may duplicate one message, never lose one).
//!
//! ```text
//! Queued{due} --begin_send(now ≥ due)--> Sending --handle_sent--> Sent --DELIVRD--> Delivered
//!    ^                                      |                       |
//!    +------ retryable error, attempts<max --+                       +--failed DLR--> Failed
//!                                           +-- permanent or max ---------------> Failed
//! ```

use domain::Timestamp;
use serde::{Deserialize, Serialize};

use crate::adapter::{DeliveryReceipt, DeliveryState};

/// Retry schedule: exponential back-off with a cap, and a maximum attempt count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Delay before the 2nd attempt, ms.
    pub initial_delay_ms: i64,
    /// Multiplier applied for each further attempt (2 doubles).
    pub factor: u32,
    /// Upper bound of any delay, ms.
    pub max_delay_ms: i64,
    /// Attempts in all, the first included; after the last failure the entry is
    /// `Failed`.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 5 s, ×2, capped at 10 min, 8 attempts (≈ 21 min of trying).
    fn default() -> Self {
        Self {
            initial_delay_ms: 5_000,
            factor: 2,
            max_delay_ms: 600_000,
            max_attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// Delay after failed attempt number `attempt` (1-based), ms:
    /// `min(initial × factor^(attempt-1), max)`.
    pub fn delay_after(&self, attempt: u32) -> i64 {
        let mut d = self.initial_delay_ms.max(0);
        for _ in 1..attempt {
            d = d.saturating_mul(i64::from(self.factor));
            if d >= self.max_delay_ms {
                return self.max_delay_ms;
            }
        }
        d.min(self.max_delay_ms)
    }
}

/// Where one outbound message is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be (re)sent at `due`.
    Queued {
        /// Earliest time of the next attempt.
        due: Timestamp,
    },
    /// Handed to the adapter at `since`; the answer has not come back.
    Sending {
        /// When the attempt began.
        since: Timestamp,
    },
    /// The provider accepted it.
    Sent {
        /// Provider ids, one per part.
        provider_message_ids: Vec<String>,
        /// When it was accepted.
        at: Timestamp,
    },
    /// The provider reported delivery (or read): final.
    Delivered {
        /// When delivery was reported.
        at: Timestamp,
    },
    /// Given up: final.
    Failed {
        /// The last error or the provider's failure status.
        reason: String,
        /// When it was given up.
        at: Timestamp,
    },
}

/// A transition that the current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    /// `begin_send` before `due`.
    #[error("not due before {0}")]
    NotDue(Timestamp),
    /// The input makes no sense in this state (e.g. a send result while queued).
    #[error("{input} not allowed in state {state}")]
    BadTransition {
        /// The input's name.
        input: &'static str,
        /// The state's name.
        state: &'static str,
    },
}

/// One message's outbox record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The current state.
    pub state: OutboxState,
    /// Attempts begun so far.
    pub attempts: u32,
    /// The last send error, kept for the agent's view even after a retry.
    pub last_error: Option<String>,
    /// When the entry was created.
    pub created_at: Timestamp,
}

impl OutboxEntry {
    /// A new entry, due at once.
    pub fn new(now: Timestamp) -> Self {
        Self {
            state: OutboxState::Queued { due: now },
            attempts: 0,
            last_error: None,
            created_at: now,
        }
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            OutboxState::Queued { .. } => "queued",
            OutboxState::Sending { .. } => "sending",
            OutboxState::Sent { .. } => "sent",
            OutboxState::Delivered { .. } => "delivered",
            OutboxState::Failed { .. } => "failed",
        }
    }

    fn bad(&self, input: &'static str) -> OutboxError {
        OutboxError::BadTransition {
            input,
            state: self.state_name(),
        }
    }

    /// The next time this entry wants attention: its `due` when queued, `None`
    /// otherwise (a send in flight is bounded by the adapter's own time-out).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match self.state {
            OutboxState::Queued { due } => Some(due),
            _ => None,
        }
    }

    /// True in `Delivered` or `Failed`, which nothing leaves. `Sent` is not
    /// final: a delivery receipt may still fail it.
    pub fn is_final(&self) -> bool {
        matches!(
            self.state,
            OutboxState::Delivered { .. } | OutboxState::Failed { .. }
        )
    }

    /// Start an attempt: `Queued` (due) → `Sending`. Returns the attempt number
    /// (1-based).
    ///
    /// # Errors
    /// [`OutboxError::NotDue`] before `due`; [`OutboxError::BadTransition`] in
    /// any other state.
    pub fn begin_send(&mut self, now: Timestamp) -> Result<u32, OutboxError> {
        match self.state {
            OutboxState::Queued { due } if now >= due => {
                self.attempts = self.attempts.saturating_add(1);
                self.state = OutboxState::Sending { since: now };
                Ok(self.attempts)
            }
            OutboxState::Queued { due } => Err(OutboxError::NotDue(due)),
            _ => Err(self.bad("begin_send")),
        }
    }

    /// The adapter accepted the message: `Sending` → `Sent`.
    ///
    /// # Errors
    /// [`OutboxError::BadTransition`] unless `Sending`.
    pub fn handle_sent(
        &mut self,
        now: Timestamp,
        receipt: &DeliveryReceipt,
    ) -> Result<(), OutboxError> {
        if !matches!(self.state, OutboxState::Sending { .. }) {
            return Err(self.bad("handle_sent"));
        }
        self.state = OutboxState::Sent {
            provider_message_ids: receipt.provider_message_ids.clone(),
            at: now,
        };
        Ok(())
    }

    /// The attempt failed: back to `Queued` after the policy's delay if
    /// `retryable` and attempts remain, else `Failed`.
    ///
    /// # Errors
    /// [`OutboxError::BadTransition`] unless `Sending`.
    pub fn handle_send_error(
        &mut self,
        now: Timestamp,
        policy: &RetryPolicy,
        retryable: bool,
        reason: &str,
    ) -> Result<(), OutboxError> {
        if !matches!(self.state, OutboxState::Sending { .. }) {
            return Err(self.bad("handle_send_error"));
        }
        self.last_error = Some(reason.to_string());
        self.state = if retryable && self.attempts < policy.max_attempts {
            OutboxState::Queued {
                due: now.add_millis(policy.delay_after(self.attempts)),
            }
        } else {
            OutboxState::Failed {
                reason: reason.to_string(),
                at: now,
            }
        };
        Ok(())
    }

    /// A delivery report for one of this entry's provider ids. `Delivered`/`Read`
    /// → `Delivered`; `Failed` → `Failed`; `Sent` changes nothing. Reports that
    /// arrive after a final state are ignored (providers repeat themselves).
    ///
    /// # Errors
    /// [`OutboxError::BadTransition`] when nothing was sent yet.
    pub fn handle_status(
        &mut self,
        now: Timestamp,
        state: &DeliveryState,
        detail: &str,
    ) -> Result<(), OutboxError> {
        match self.state {
            OutboxState::Sent { .. } => {
                match state {
                    DeliveryState::Delivered | DeliveryState::Read => {
                        self.state = OutboxState::Delivered { at: now }
                    }
                    DeliveryState::Failed => {
                        self.state = OutboxState::Failed {
                            reason: detail.to_string(),
                            at: now,
                        }
                    }
                    DeliveryState::Sent => {}
                }
                Ok(())
            }
            OutboxState::Delivered { .. } | OutboxState::Failed { .. } => Ok(()),
            _ => Err(self.bad("handle_status")),
        }
    }

    /// After a restart: an entry left in `Sending` did not get its answer
    /// persisted; queue it again at `now` (the attempt counts as used).
    pub fn recover(&mut self, now: Timestamp) {
        if matches!(self.state, OutboxState::Sending { .. }) {
            self.last_error = Some("interrupted by restart".to_string());
            self.state = OutboxState::Queued { due: now };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    fn receipt() -> DeliveryReceipt {
        DeliveryReceipt {
            provider_message_ids: vec!["m1".into(), "m2".into()],
        }
    }

    #[test]
    fn backoff_doubles_then_caps() {
        let p = RetryPolicy {
            initial_delay_ms: 1_000,
            factor: 2,
            max_delay_ms: 10_000,
            max_attempts: 10,
        };
        let d: Vec<i64> = (1..=6).map(|a| p.delay_after(a)).collect();
        assert_eq!(d, vec![1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
        assert_eq!(p.delay_after(u32::MAX), 10_000);
    }

    #[test]
    fn happy_path_to_delivered() {
        let mut e = OutboxEntry::new(t(100));
        assert_eq!(e.poll_timeout(), Some(t(100)));
        assert_eq!(e.begin_send(t(100)), Ok(1));
        assert_eq!(e.poll_timeout(), None);
        e.handle_sent(t(150), &receipt()).unwrap();
        assert!(!e.is_final());
        e.handle_status(t(900), &DeliveryState::Delivered, "DELIVRD")
            .unwrap();
        assert_eq!(e.state, OutboxState::Delivered { at: t(900) });
        // A repeated report after the final state is ignored.
        e.handle_status(t(950), &DeliveryState::Failed, "UNDELIV")
            .unwrap();
        assert_eq!(e.state, OutboxState::Delivered { at: t(900) });
    }

    #[test]
    fn retries_on_schedule_then_fails_at_max_attempts() {
        let p = RetryPolicy {
            initial_delay_ms: 1_000,
            factor: 2,
            max_delay_ms: 3_000,
            max_attempts: 3,
        };
        let mut e = OutboxEntry::new(t(0));
        e.begin_send(t(0)).unwrap();
        e.handle_send_error(t(10), &p, true, "timeout").unwrap();
        assert_eq!(e.state, OutboxState::Queued { due: t(1_010) });
        assert_eq!(e.begin_send(t(1_009)), Err(OutboxError::NotDue(t(1_010))));
        assert_eq!(e.begin_send(t(1_010)), Ok(2));
        e.handle_send_error(t(1_020), &p, true, "throttled")
            .unwrap();
        assert_eq!(e.state, OutboxState::Queued { due: t(3_020) });
        assert_eq!(e.begin_send(t(3_020)), Ok(3));
        e.handle_send_error(t(3_030), &p, true, "timeout again")
            .unwrap();
        assert_eq!(
            e.state,
            OutboxState::Failed {
                reason: "timeout again".into(),
                at: t(3_030)
            }
        );
        assert!(e.is_final());
    }

    #[test]
    fn permanent_error_fails_at_once() {
        let mut e = OutboxEntry::new(t(0));
        e.begin_send(t(0)).unwrap();
        e.handle_send_error(t(5), &RetryPolicy::default(), false, "bad number")
            .unwrap();
        assert!(matches!(e.state, OutboxState::Failed { .. }));
        assert_eq!(e.attempts, 1);
    }

    #[test]
    fn failed_dlr_fails_a_sent_message() {
        let mut e = OutboxEntry::new(t(0));
        e.begin_send(t(0)).unwrap();
        e.handle_sent(t(1), &receipt()).unwrap();
        e.handle_status(t(2), &DeliveryState::Sent, "ENROUTE")
            .unwrap();
        assert!(matches!(e.state, OutboxState::Sent { .. }));
        e.handle_status(t(3), &DeliveryState::Failed, "UNDELIV")
            .unwrap();
        assert_eq!(
            e.state,
            OutboxState::Failed {
                reason: "UNDELIV".into(),
                at: t(3)
            }
        );
    }

    #[test]
    fn bad_transitions_are_refused_not_panicking() {
        let mut e = OutboxEntry::new(t(0));
        assert!(e.handle_sent(t(0), &receipt()).is_err());
        assert!(
            e.handle_status(t(0), &DeliveryState::Delivered, "")
                .is_err()
        );
        assert!(
            e.handle_send_error(t(0), &RetryPolicy::default(), true, "x")
                .is_err()
        );
        e.begin_send(t(0)).unwrap();
        assert!(e.begin_send(t(0)).is_err());
    }

    #[test]
    fn restart_requeues_a_message_caught_sending() {
        let mut e = OutboxEntry::new(t(0));
        e.begin_send(t(0)).unwrap();
        let json = serde_json::to_string(&e).unwrap();
        let mut back: OutboxEntry = serde_json::from_str(&json).unwrap();
        back.recover(t(60_000));
        assert_eq!(back.state, OutboxState::Queued { due: t(60_000) });
        assert_eq!(back.begin_send(t(60_000)), Ok(2));
    }
}
