//! [`Tally`]: the sums one report row holds, and the KPIs derived from them.
//! Counts are plain; durations are summed in ms; KPIs come out in s and %.

use crate::params::SlFormula;
use std::collections::BTreeMap;

/// The class of an inbound interaction: each one is in exactly one, so
/// `offered` is their sum ([`Tally::classes_sum`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// An agent answered it.
    Answered,
    /// Ended before reaching a queue (hung up in the IVR).
    AbandonedInIvr,
    /// Left the queue after the short-abandon threshold.
    AbandonedInQueue,
    /// Left the queue before the short-abandon threshold.
    ShortAbandon,
    /// Asked to be called back instead of waiting.
    CallbackRequested,
    /// Ended in a queue without an abandon (timed out, system restart).
    EndedInQueue,
    /// Not ended when the events ran out.
    Open,
}

/// Sums for one row (a queue, an agent, a channel, an interval or the
/// whole period). Durations in ms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Inbound interactions that began in the period.
    pub offered: u64,
    /// … of which answered by an agent.
    pub answered: u64,
    /// … answered within the service-level threshold T.
    pub answered_within: u64,
    /// … hung up in the IVR before reaching a queue.
    pub abandoned_ivr: u64,
    /// … abandoned in queue after the short threshold.
    pub abandoned_queue: u64,
    /// … of `abandoned_queue`, those that had waited no more than T.
    pub abandoned_within: u64,
    /// … short abandons (under the threshold).
    pub abandoned_short: u64,
    /// … callback requests.
    pub callbacks: u64,
    /// … ended in queue otherwise (no abandon event: timed out, restart).
    pub ended_in_queue: u64,
    /// … still going when the events ran out.
    pub open: u64,
    /// Interactions transferred at least once (per agent: transfers made).
    pub transferred: u64,
    /// Interactions answered (any direction; per agent: each answer), the
    /// AHT denominator.
    pub handled: u64,
    /// Sum of the waits of answered inbound calls (ASA numerator), ms.
    pub wait_answered_ms: i64,
    /// Longest wait in queue, answered or not, ms.
    pub longest_wait_ms: i64,
    /// Connected time with an agent, hold excluded, ms.
    pub talk_ms: i64,
    /// Time on hold, ms.
    pub hold_ms: i64,
    /// After-call work, ms.
    pub wrap_ms: i64,
    /// Offers that rang out (ring-no-answer).
    pub ronas: u64,
    /// Logged-in time (any ACD state but logged out), ms: per agent, and
    /// summed over agents for the period total. The occupancy and
    /// utilisation denominators.
    pub staffed_ms: i64,
    /// Paused time by reason code, ms (agents and the period total).
    pub pause_ms: BTreeMap<String, i64>,
    /// Answered contacts of a known customer (FCR denominator).
    pub fcr_eligible: u64,
    /// … with no repeat contact within the window.
    pub fcr_resolved: u64,
    /// Survey answers.
    pub csat_answers: u64,
    /// … scoring 4 or 5.
    pub csat_satisfied: u64,
    /// Sum of scores (1..=5).
    pub csat_sum: u64,
    /// Digital conversations with a first agent reply.
    pub first_response_n: u64,
    /// Sum of first-response times, ms.
    pub first_response_ms: i64,
    /// Digital conversations ended.
    pub resolved_n: u64,
    /// Sum of their durations (start to end), ms.
    pub resolution_ms: i64,
}

fn pct(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| 100.0 * num as f64 / den as f64)
}

fn avg_s(sum_ms: i64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum_ms as f64 / 1000.0 / n as f64)
}

impl Tally {
    /// Sum of the outcome classes; equals `offered`.
    pub fn classes_sum(&self) -> u64 {
        self.answered
            + self.abandoned_ivr
            + self.abandoned_queue
            + self.abandoned_short
            + self.callbacks
            + self.ended_in_queue
            + self.open
    }

    /// Inbound calls that reached a queue and have an outcome (`O` of
    /// [`SlFormula`]): answered + abandoned in queue + short abandons +
    /// callback requests + ended in queue otherwise.
    pub fn offered_to_queue(&self) -> u64 {
        self.answered
            + self.abandoned_queue
            + self.abandoned_short
            + self.callbacks
            + self.ended_in_queue
    }

    /// Service level, %, by `formula`; `None` with an empty denominator.
    pub fn service_level(&self, formula: SlFormula) -> Option<f64> {
        match formula {
            SlFormula::AnsweredOverAnsweredAndAbandoned => {
                pct(self.answered_within, self.answered + self.abandoned_queue)
            }
            SlFormula::AnsweredOverOffered => pct(self.answered_within, self.offered_to_queue()),
            SlFormula::AnsweredOverAnswered => pct(self.answered_within, self.answered),
            SlFormula::AnsweredAndAbandonedWithinOverOffered => pct(
                self.answered_within + self.abandoned_within,
                self.offered_to_queue(),
            ),
        }
    }

    /// Abandon rate, %: abandoned in queue (short excluded) ÷ offered to a
    /// queue.
    pub fn abandon_rate(&self) -> Option<f64> {
        pct(self.abandoned_queue, self.offered_to_queue())
    }

    /// Average speed of answer, s.
    pub fn asa_s(&self) -> Option<f64> {
        avg_s(self.wait_answered_ms, self.answered)
    }

    /// Average handle time = (talk + hold + wrap-up) ÷ handled, s.
    pub fn aht_s(&self) -> Option<f64> {
        avg_s(self.talk_ms + self.hold_ms + self.wrap_ms, self.handled)
    }

    /// Average talk (hold excluded) per handled interaction, s.
    pub fn avg_talk_s(&self) -> Option<f64> {
        avg_s(self.talk_ms, self.handled)
    }

    /// Average hold per handled interaction, s.
    pub fn avg_hold_s(&self) -> Option<f64> {
        avg_s(self.hold_ms, self.handled)
    }

    /// Average wrap-up per handled interaction, s.
    pub fn avg_wrap_s(&self) -> Option<f64> {
        avg_s(self.wrap_ms, self.handled)
    }

    /// Total pause, ms, every reason.
    pub fn pause_total_ms(&self) -> i64 {
        self.pause_ms.values().sum()
    }

    /// Time spent on contacts (talk, hold and wrap-up), ms.
    pub fn busy_ms(&self) -> i64 {
        self.talk_ms + self.hold_ms + self.wrap_ms
    }

    /// Occupancy, %: time on contacts (talk, hold, wrap-up) over the
    /// logged-in time less pauses, i.e. over the time agents were
    /// available or busy (the usual contact-center definition, e.g.
    /// Genesys and Amazon Connect "occupancy"). `None` without such time.
    pub fn occupancy_pct(&self) -> Option<f64> {
        let den = self.staffed_ms - self.pause_total_ms();
        (den > 0).then(|| 100.0 * self.busy_ms() as f64 / den as f64)
    }

    /// Utilisation, %: time on contacts over the whole logged-in time
    /// (pauses included in the denominator). `None` without logged-in time.
    pub fn utilisation_pct(&self) -> Option<f64> {
        (self.staffed_ms > 0).then(|| 100.0 * self.busy_ms() as f64 / self.staffed_ms as f64)
    }

    /// First-contact resolution, %.
    pub fn fcr_pct(&self) -> Option<f64> {
        pct(self.fcr_resolved, self.fcr_eligible)
    }

    /// CSAT, % of answers scoring 4 or 5.
    pub fn csat_pct(&self) -> Option<f64> {
        pct(self.csat_satisfied, self.csat_answers)
    }

    /// Mean CSAT score (1..=5).
    pub fn csat_mean(&self) -> Option<f64> {
        (self.csat_answers > 0).then(|| self.csat_sum as f64 / self.csat_answers as f64)
    }

    /// Average first response of digital conversations, s.
    pub fn avg_first_response_s(&self) -> Option<f64> {
        avg_s(self.first_response_ms, self.first_response_n)
    }

    /// Average resolution time of digital conversations, s.
    pub fn avg_resolution_s(&self) -> Option<f64> {
        avg_s(self.resolution_ms, self.resolved_n)
    }

    /// Add another row's sums to this one.
    pub fn merge(&mut self, o: &Tally) {
        self.offered += o.offered;
        self.answered += o.answered;
        self.answered_within += o.answered_within;
        self.abandoned_ivr += o.abandoned_ivr;
        self.abandoned_queue += o.abandoned_queue;
        self.abandoned_within += o.abandoned_within;
        self.abandoned_short += o.abandoned_short;
        self.callbacks += o.callbacks;
        self.ended_in_queue += o.ended_in_queue;
        self.open += o.open;
        self.transferred += o.transferred;
        self.handled += o.handled;
        self.wait_answered_ms += o.wait_answered_ms;
        self.longest_wait_ms = self.longest_wait_ms.max(o.longest_wait_ms);
        self.talk_ms += o.talk_ms;
        self.hold_ms += o.hold_ms;
        self.wrap_ms += o.wrap_ms;
        self.staffed_ms += o.staffed_ms;
        self.ronas += o.ronas;
        for (k, v) in &o.pause_ms {
            *self.pause_ms.entry(k.clone()).or_default() += v;
        }
        self.fcr_eligible += o.fcr_eligible;
        self.fcr_resolved += o.fcr_resolved;
        self.csat_answers += o.csat_answers;
        self.csat_satisfied += o.csat_satisfied;
        self.csat_sum += o.csat_sum;
        self.first_response_n += o.first_response_n;
        self.first_response_ms += o.first_response_ms;
        self.resolved_n += o.resolved_n;
        self.resolution_ms += o.resolution_ms;
    }
}
