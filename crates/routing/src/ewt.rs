//! Expected wait time (EWT) for announcements.
//!
//! # Estimator
//!
//! ```text
//! EWT(position p) = p × AHT / N        (seconds, rounded up)
//! ```
//!
//! `N` is the number of agents staffed on the queue (logged in with a normal
//! membership and not paused; busy and wrap-up agents count, they will free
//! up), and `AHT` the queue's average handle time (talk + wrap-up). With `N`
//! agents each finishing a task every `AHT` on average, one agent frees up
//! every `AHT / N`, and the task at position `p` is served at the `p`-th
//! release. This is the position × hold-time estimate of Asterisk's
//! `app_queue`, divided by the staffing; it ignores abandonment ahead of the
//! caller, so it errs on the long side.
//!
//! `AHT` is an exponentially weighted moving average over handled tasks,
//! `AHT ← AHT + α (x − AHT)` with `α = 0.1`, starting from
//! `AcdConfig::default_aht_s`. When no agent is staffed the EWT is unknown
//! (`None`).

/// Weight of the newest handle time in the moving average.
pub const AHT_ALPHA: f64 = 0.1;

/// EWT in seconds for the task at `position` (1 = next).
pub fn estimate(position: u32, aht_ms: f64, staffed: usize) -> Option<u32> {
    if staffed == 0 {
        return None;
    }
    let s = f64::from(position) * aht_ms / 1000.0 / staffed as f64;
    Some(s.ceil().clamp(0.0, f64::from(u32::MAX)) as u32)
}

/// Folds one handle time (ms) into the moving average.
pub fn update_aht(aht_ms: f64, sample_ms: i64) -> f64 {
    aht_ms + AHT_ALPHA * (sample_ms.max(0) as f64 - aht_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_times_aht_over_staff() {
        assert_eq!(estimate(6, 180_000.0, 3), Some(360));
        assert_eq!(estimate(1, 100_500.0, 2), Some(51));
        assert_eq!(estimate(4, 180_000.0, 0), None);
    }

    #[test]
    fn moving_average() {
        assert_eq!(update_aht(100_000.0, 200_000), 110_000.0);
    }
}
