//! Task priority: customer segment plus aging, so that no task starves.
//!
//! # Formula
//!
//! A waiting task's score, in priority points, is
//!
//! ```text
//! score(now) = segment + queue_priority + task_priority + r × wait_s / 60
//! ```
//!
//! where `segment` is [`domain::Segment::priority`] (mass 0, business 50,
//! VIP 100), `queue_priority` is the queue's base priority, `task_priority` an
//! extra set by the engine (e.g. from the IVR), `r` the aging rate in points
//! per minute (queue setting, default 10) and `wait_s` the time since the
//! task first arrived (it survives RONA, overflow and callbacks). The task
//! with the highest score is served first; ties go to the earlier arrival.
//!
//! Aging bounds starvation: a task that has waited `W` minutes outranks every
//! newer task whose base is less than `r × W` points higher. With the defaults
//! a mass-market caller who has waited 5 min ranks with a business caller who
//! just arrived, and after 10 min with a VIP.
//!
//! Because the aging term grows at the same rate for every task of a queue,
//! the order inside a queue never changes with time. The router stores the
//! time-free key `60 000 × base − r × arrived_ms` (exact integers) and gets the
//! score at `now` as `key + r × now_ms`, in units of 1/60 000 point; this is
//! what lets the heads of different queues be compared without re-sorting.

use serde::Serialize;

/// Score units per priority point (one point per minute = one unit per ms).
pub const UNITS_PER_POINT: i64 = 60_000;

/// Highest aging rate accepted, points per minute (keeps keys within `i64`).
pub const MAX_AGING_RATE: u32 = 100_000;

/// The time-free ordering key of a task (larger is served first).
pub fn static_key(base_points: i64, rate_per_min: u32, arrived_ms: i64) -> i64 {
    base_points
        .saturating_mul(UNITS_PER_POINT)
        .saturating_sub(i64::from(rate_per_min.min(MAX_AGING_RATE)).saturating_mul(arrived_ms))
}

/// Score at `now_ms` in units of 1/60 000 point.
pub fn score_units(key: i64, rate_per_min: u32, now_ms: i64) -> i64 {
    key.saturating_add(i64::from(rate_per_min.min(MAX_AGING_RATE)).saturating_mul(now_ms))
}

/// The parts of a task's score, for [`crate::Explanation`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskScore {
    /// Points from the customer segment.
    pub segment: i32,
    /// Points from the queue's base priority.
    pub queue: i32,
    /// Extra points set on the task.
    pub task: i32,
    /// Points earned by waiting (`r × wait_s / 60`).
    pub aging: f64,
    /// Wait since first arrival, ms.
    pub wait_ms: i64,
    /// Sum of the above, points.
    pub total: f64,
}

impl TaskScore {
    /// Breaks down the score of a task at `now_ms`.
    pub fn new(segment: i32, queue: i32, task: i32, rate_per_min: u32, wait_ms: i64) -> Self {
        let aging = f64::from(rate_per_min.min(MAX_AGING_RATE)) * wait_ms.max(0) as f64 / 60_000.0;
        let total = f64::from(segment) + f64::from(queue) + f64::from(task) + aging;
        Self {
            segment,
            queue,
            task,
            aging,
            wait_ms,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_plus_rate_now_is_the_score() {
        let k = static_key(50, 10, 1_000_000);
        // waited 60 s at 10 points/min: 50 + 10 points
        assert_eq!(score_units(k, 10, 1_060_000), 60 * UNITS_PER_POINT);
    }

    #[test]
    fn aging_overtakes_segment() {
        // a mass task that arrived 5 min before a business task ties with it
        let mass = static_key(0, 10, 0);
        let business = static_key(50, 10, 300_000);
        assert_eq!(
            score_units(mass, 10, 400_000),
            score_units(business, 10, 400_000)
        );
        let mass_earlier = static_key(0, 10, -1);
        assert!(score_units(mass_earlier, 10, 400_000) > score_units(business, 10, 400_000));
    }

    #[test]
    fn breakdown_adds_up() {
        let s = TaskScore::new(100, 5, 1, 10, 90_000);
        assert_eq!(s.aging, 15.0);
        assert_eq!(s.total, 121.0);
    }
}
