//! Brute-force limiter core (OWASP authentication cheat sheet, NIST SP
//! 800-63B §5.2.2 "rate limiting"): failures are counted per account and per
//! source address; after a few free failures each further attempt must wait
//! a doubling delay; after [`LimiterConfig::lockout_after`] failures the key
//! is locked for [`LimiterConfig::lockout_ms`]. A quiet period forgets.
//!
//! Pure: the clock is an input (`now_ms`, Unix ms); the shell asks
//! [`Limiter::check`] before verifying a secret, then reports the outcome
//! with [`Limiter::handle_failure`] / [`Limiter::handle_success`], and
//! drains [`Limiter::poll_effect`] to audit lockouts.
//!
//! Bounded: at most [`LimiterConfig::max_keys`] keys are tracked; when full,
//! keys whose failures are forgotten go first, then the key with the oldest
//! last failure (overflow policy: evict oldest). At most 1024 effects wait;
//! beyond that the oldest is dropped (the lockout itself still holds).

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// What is counted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum LimitKey {
    /// A login (case-folded by [`LimitKey::account`]), or a SIP AOR.
    Account(String),
    /// A source address.
    Source(IpAddr),
}

impl LimitKey {
    /// The account key for `login`, case-folded and trimmed.
    pub fn account(login: &str) -> LimitKey {
        LimitKey::Account(login.trim().to_lowercase())
    }
}

/// The numbers (missing fields take their default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimiterConfig {
    /// Failures allowed without delay (default 3).
    pub free_failures: u32,
    /// First delay, ms (default 1 000); doubles with each further failure.
    pub base_delay_ms: i64,
    /// Longest delay, ms (default 60 000).
    pub max_delay_ms: i64,
    /// Failures on one account that lock it (default 10).
    pub lockout_after: u32,
    /// Failures from one source that lock it (default 30: a contact centre's
    /// agents often share one NAT address).
    pub source_lockout_after: u32,
    /// Lockout length, ms (default 15 min).
    pub lockout_ms: i64,
    /// Quiet time after which failures are forgotten, ms (default 15 min).
    pub forget_after_ms: i64,
    /// Most keys tracked (default 100 000).
    pub max_keys: usize,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            free_failures: 3,
            base_delay_ms: 1_000,
            max_delay_ms: 60_000,
            lockout_after: 10,
            source_lockout_after: 30,
            lockout_ms: 15 * 60_000,
            forget_after_ms: 15 * 60_000,
            max_keys: 100_000,
        }
    }
}

/// May an attempt go ahead?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Verdict {
    /// Verify the secret.
    Allow,
    /// Too soon: refuse without verifying (HTTP 429, `Retry-After`).
    Delay {
        /// When the next attempt is allowed, Unix ms.
        retry_at_ms: i64,
        /// The key that imposes it.
        key: LimitKey,
    },
    /// Locked out: refuse without verifying.
    Locked {
        /// End of the lockout, Unix ms.
        until_ms: i64,
        /// The key that is locked.
        key: LimitKey,
    },
}

/// What the shell must record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum LimiterEffect {
    /// A key was just locked (audit it).
    LockedOut {
        /// The key.
        key: LimitKey,
        /// Failures counted.
        failures: u32,
        /// End of the lockout, Unix ms.
        until_ms: i64,
    },
}

#[derive(Clone, Debug, Default)]
struct Entry {
    failures: u32,
    last_failure_ms: i64,
    locked_until_ms: Option<i64>,
}

const MAX_EFFECTS: usize = 1024;

/// The limiter's state.
#[derive(Debug, Default)]
pub struct Limiter {
    config: LimiterConfig,
    entries: HashMap<LimitKey, Entry>,
    effects: VecDeque<LimiterEffect>,
}

impl Limiter {
    /// A limiter with `config`.
    pub fn new(config: LimiterConfig) -> Self {
        Limiter {
            config,
            entries: HashMap::new(),
            effects: VecDeque::new(),
        }
    }

    /// Delay owed after `failures` failures, ms (0 while free).
    pub fn delay_for(&self, failures: u32) -> i64 {
        let c = &self.config;
        if failures <= c.free_failures {
            return 0;
        }
        let exp = (failures - c.free_failures - 1).min(30);
        c.base_delay_ms.saturating_mul(1 << exp).min(c.max_delay_ms)
    }

    fn verdict_for(&self, key: &LimitKey, now_ms: i64) -> Verdict {
        let Some(e) = self.entries.get(key) else {
            return Verdict::Allow;
        };
        if let Some(until) = e.locked_until_ms
            && now_ms < until
        {
            return Verdict::Locked {
                until_ms: until,
                key: key.clone(),
            };
        }
        if now_ms - e.last_failure_ms >= self.config.forget_after_ms {
            return Verdict::Allow;
        }
        let retry = e.last_failure_ms + self.delay_for(e.failures);
        if now_ms < retry {
            return Verdict::Delay {
                retry_at_ms: retry,
                key: key.clone(),
            };
        }
        Verdict::Allow
    }

    /// Whether an attempt on `login` from `source` may be verified now. A
    /// lockout wins over a delay; the account is looked at first.
    pub fn check(&self, now_ms: i64, login: &str, source: IpAddr) -> Verdict {
        let a = self.verdict_for(&LimitKey::account(login), now_ms);
        let s = self.verdict_for(&LimitKey::Source(source), now_ms);
        match (a, s) {
            (l @ Verdict::Locked { .. }, _) | (_, l @ Verdict::Locked { .. }) => l,
            (d @ Verdict::Delay { .. }, _) | (_, d @ Verdict::Delay { .. }) => d,
            _ => Verdict::Allow,
        }
    }

    fn fail(&mut self, key: LimitKey, threshold: u32, now_ms: i64) {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.config.max_keys {
            self.evict(now_ms);
        }
        let forget = self.config.forget_after_ms;
        let e = self.entries.entry(key.clone()).or_default();
        let lock_over = e.locked_until_ms.is_some_and(|u| now_ms >= u);
        if lock_over || (e.failures > 0 && now_ms - e.last_failure_ms >= forget) {
            *e = Entry::default();
        }
        e.failures += 1;
        e.last_failure_ms = now_ms;
        if e.failures >= threshold && e.locked_until_ms.is_none() {
            let until = now_ms + self.config.lockout_ms;
            e.locked_until_ms = Some(until);
            let failures = e.failures;
            if self.effects.len() >= MAX_EFFECTS {
                self.effects.pop_front();
            }
            self.effects.push_back(LimiterEffect::LockedOut {
                key,
                failures,
                until_ms: until,
            });
        }
    }

    fn evict(&mut self, now_ms: i64) {
        let forget = self.config.forget_after_ms;
        self.entries.retain(|_, e| {
            now_ms - e.last_failure_ms < forget || e.locked_until_ms.is_some_and(|u| now_ms < u)
        });
        if self.entries.len() >= self.config.max_keys
            && let Some(k) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_failure_ms)
                .map(|(k, _)| k.clone())
        {
            self.entries.remove(&k);
        }
    }

    /// A failed attempt: count it for the account and the source; may lock.
    pub fn handle_failure(&mut self, now_ms: i64, login: &str, source: IpAddr) {
        self.fail(LimitKey::account(login), self.config.lockout_after, now_ms);
        self.fail(
            LimitKey::Source(source),
            self.config.source_lockout_after,
            now_ms,
        );
    }

    /// A successful attempt: forget the account's failures (the source's
    /// stay: one good password must not launder a spraying source).
    pub fn handle_success(&mut self, _now_ms: i64, login: &str) {
        self.entries.remove(&LimitKey::account(login));
    }

    /// Lift a lockout by hand (an admin's unlock).
    pub fn unlock(&mut self, key: &LimitKey) {
        self.entries.remove(key);
    }

    /// The next effect, oldest first.
    pub fn poll_effect(&mut self) -> Option<LimiterEffect> {
        self.effects.pop_front()
    }

    /// Keys tracked now.
    pub fn tracked(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, n])
    }

    #[test]
    fn twenty_wrong_passwords_delay_then_lock() {
        let mut l = Limiter::new(LimiterConfig::default());
        let mut now = 1_000_000;
        let mut verified = 0;
        let mut delays = Vec::new();
        let mut locked_at = None;
        for attempt in 1..=20 {
            match l.check(now, "Admin", ip(1)) {
                Verdict::Allow => {
                    verified += 1;
                    l.handle_failure(now, "admin", ip(1));
                }
                Verdict::Delay { retry_at_ms, key } => {
                    assert_eq!(key, LimitKey::account("admin"));
                    delays.push(retry_at_ms - now);
                    now = retry_at_ms; // the attacker waits, then tries again
                    continue;
                }
                Verdict::Locked { until_ms, .. } => {
                    locked_at.get_or_insert((attempt, until_ms));
                }
            }
            now += 10;
        }
        assert_eq!(
            verified, 10,
            "exactly 10 passwords are verified before the lockout"
        );
        // Waits after failures 4..9: 1 s, 2 s, ... 32 s (minus the 10 ms step).
        assert_eq!(delays, vec![990, 1_990, 3_990, 7_990, 15_990, 31_990]);
        let (_, until) = locked_at.unwrap();
        assert_eq!(
            l.poll_effect(),
            Some(LimiterEffect::LockedOut {
                key: LimitKey::account("admin"),
                failures: 10,
                until_ms: until
            })
        );
        assert_eq!(l.poll_effect(), None);
        // Still locked a minute before the end, free afterwards.
        assert!(matches!(
            l.check(until - 60_000, "admin", ip(9)),
            Verdict::Locked { .. }
        ));
        assert_eq!(l.check(until, "admin", ip(9)), Verdict::Allow);
        // After the lockout the count restarts.
        l.handle_failure(until, "admin", ip(9));
        assert_eq!(l.check(until + 1, "admin", ip(9)), Verdict::Allow);
    }

    #[test]
    fn source_spraying_many_accounts_is_locked() {
        let mut l = Limiter::new(LimiterConfig {
            free_failures: 100,
            ..LimiterConfig::default()
        });
        for n in 0..30 {
            assert_eq!(l.check(n, &format!("user{n}"), ip(7)), Verdict::Allow);
            l.handle_failure(n, &format!("user{n}"), ip(7));
        }
        assert!(matches!(
            l.check(31, "someone", ip(7)),
            Verdict::Locked {
                key: LimitKey::Source(_),
                ..
            }
        ));
        assert_eq!(l.check(31, "someone", ip(8)), Verdict::Allow);
    }

    #[test]
    fn success_and_quiet_forget() {
        let mut l = Limiter::new(LimiterConfig::default());
        for n in 0..5 {
            l.handle_failure(n * 100_000, "ana", ip(1));
        }
        assert!(matches!(
            l.check(400_001, "ana", ip(2)),
            Verdict::Delay { .. }
        ));
        l.handle_success(400_001, "ana");
        assert_eq!(l.check(400_002, "ana", ip(2)), Verdict::Allow);
        for n in 0..5 {
            l.handle_failure(n, "bo", ip(3));
        }
        assert!(matches!(l.check(10, "bo", ip(4)), Verdict::Delay { .. }));
        assert_eq!(l.check(15 * 60_000 + 4, "bo", ip(4)), Verdict::Allow);
    }

    #[test]
    fn bounded_keys() {
        let mut l = Limiter::new(LimiterConfig {
            max_keys: 10,
            ..LimiterConfig::default()
        });
        for n in 0..100u8 {
            l.handle_failure(i64::from(n), &format!("u{n}"), ip(n));
        }
        assert!(l.tracked() <= 10);
        // The newest are kept.
        assert_eq!(
            l.entries.get(&LimitKey::Source(ip(99))).map(|e| e.failures),
            Some(1)
        );
    }
}
