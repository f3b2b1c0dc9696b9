//! A token-bucket rate limiter (pure: `now` passed in), used by the SMPP shell
//! for the operator's messages-per-second limit.

use domain::Timestamp;

/// A token bucket: `rate_per_s` tokens per second, holding at most `burst`.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    rate_per_s: u32,
    burst: u32,
    /// Tokens × 1000, so that sub-token refills over a few ms are not lost.
    milli_tokens: i64,
    last: Option<Timestamp>,
}

impl RateLimiter {
    /// A full bucket. `rate_per_s` 0 means "no limit".
    pub fn new(rate_per_s: u32, burst: u32) -> Self {
        let burst = burst.max(1);
        Self {
            rate_per_s,
            burst,
            milli_tokens: i64::from(burst) * 1000,
            last: None,
        }
    }

    fn refill(&mut self, now: Timestamp) {
        if let Some(last) = self.last {
            let dt = now.millis_since(last).max(0);
            let add = dt.saturating_mul(i64::from(self.rate_per_s));
            self.milli_tokens = self
                .milli_tokens
                .saturating_add(add)
                .min(i64::from(self.burst) * 1000);
        }
        self.last = Some(now.max(self.last.unwrap_or(now)));
    }

    /// Take one token at `now`. `Ok(())` if one was available, else `Err(wait_ms)`:
    /// how long until one will be (call again then).
    pub fn try_acquire(&mut self, now: Timestamp) -> Result<(), i64> {
        if self.rate_per_s == 0 {
            return Ok(());
        }
        self.refill(now);
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            Ok(())
        } else {
            let missing = 1000 - self.milli_tokens;
            let rate = i64::from(self.rate_per_s);
            Err((missing + rate - 1) / rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn ten_per_second_with_burst_two() {
        let mut r = RateLimiter::new(10, 2);
        assert_eq!(r.try_acquire(t(0)), Ok(()));
        assert_eq!(r.try_acquire(t(0)), Ok(()));
        assert_eq!(r.try_acquire(t(0)), Err(100));
        assert_eq!(r.try_acquire(t(60)), Err(40));
        assert_eq!(r.try_acquire(t(100)), Ok(()));
        // A long idle refills only up to the burst.
        assert_eq!(r.try_acquire(t(10_000)), Ok(()));
        assert_eq!(r.try_acquire(t(10_000)), Ok(()));
        assert!(r.try_acquire(t(10_000)).is_err());
    }

    #[test]
    fn zero_rate_is_unlimited_and_time_going_back_is_harmless() {
        let mut r = RateLimiter::new(0, 1);
        for _ in 0..1000 {
            assert_eq!(r.try_acquire(t(0)), Ok(()));
        }
        let mut r = RateLimiter::new(1, 1);
        assert_eq!(r.try_acquire(t(5_000)), Ok(()));
        assert_eq!(r.try_acquire(t(1_000)), Err(1000));
    }
}
