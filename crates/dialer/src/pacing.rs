//! Pacing: how many unconnected calls (ringing, or answered and waiting
//! for an agent) a campaign may have in flight at one tick.
//!
//! - [`DialMode::Progressive`](crate::DialMode): one call per available agent.
//! - [`Predictive`]: from live measurements (answer rate, time to answer,
//!   handle-time distribution, agents about to free up), the largest number
//!   of calls whose expected abandons stay under a target share of the live
//!   answers, with a feedback gain on the measured abandon rate.
//! - [`AdaptTapered`]: VICIdial's `ADAPT_TAPERED`, the baseline.

use domain::Timestamp;

/// What the pacer sees at one tick (filled by [`crate::Dialer`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measurements {
    /// The tick's time.
    pub now: Timestamp,
    /// Agents logged in and not paused for the campaign.
    pub agents: u32,
    /// Agents free and not reserved.
    pub available: u32,
    /// Agents on a campaign call.
    pub on_call: u32,
    /// For each busy or wrapping-up agent, the probability that they are free
    /// within [`Measurements::horizon_ms`] (from the handle-time distribution
    /// conditioned on the call's age, and wrap-up expected ends).
    pub free_soon: Vec<f64>,
    /// Calls ringing.
    pub ringing: u32,
    /// Calls answered live, waiting (≤ 2 s) for an agent.
    pub waiting_live: u32,
    /// Share of resolved attempts answered by a person (0–1).
    pub answer_rate: f64,
    /// Dial-to-answer time plus the 2 s agent wait, ms.
    pub horizon_ms: f64,
    /// Abandons still allowed under the cap in its tightest window.
    pub abandon_budget: f64,
    /// Measured abandon rate, % (worst of rolling 24 h and 30-day period).
    pub abandon_pct: f64,
    /// The cap, %.
    pub cap_pct: f64,
    /// Live answers counted in the 24 h window.
    pub live_24h: f64,
    /// Time since the campaign (shift) started, ms.
    pub elapsed_ms: i64,
}

impl Measurements {
    /// Progressive limit: one call per available agent.
    pub fn progressive(&self) -> u32 {
        self.available
    }
}

/// Standard normal density.
fn phi(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal distribution function (Abramowitz–Stegun 7.1.26 erf).
fn cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + y)
    } else {
        0.5 * (1.0 - y)
    }
}

/// Expected overflow E[max(0, D)] of a normal D ~ N(mu, sigma²).
fn expected_excess(mu: f64, sigma: f64) -> f64 {
    if sigma <= 1e-9 {
        return mu.max(0.0);
    }
    let z = mu / sigma;
    sigma * phi(z) + mu * cdf(z)
}

/// Our predictive pacer.
///
/// At each tick, live answers from `N` calls in flight are X ~ Bin(N, p)
/// (p = measured answer rate) and agents free at answer time are
/// Y = available + Σ Bernoulli(free_soon) − waiting; with both taken as
/// normal, the expected abandons are E[max(0, X − Y)]. The pacer takes the
/// largest `N` with E[max(0, X − Y)] ≤ `target` × E[X], never fewer than
/// the progressive limit. `target` is `target_share` × cap × a gain that
/// shrinks while the measured rate runs above `cap × 0.7` and grows back
/// below half the cap; over the cap in either window it falls back to
/// progressive.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictive {
    /// Share of the cap aimed at per tick (default 0.65).
    pub target_share: f64,
    /// Feedback gain (starts at 1, kept in 0.05..=2).
    pub gain: f64,
    /// Calls in flight per logged-in agent, at most (default 6).
    pub max_ratio: f64,
}

impl Default for Predictive {
    fn default() -> Self {
        Self {
            target_share: 0.65,
            gain: 1.0,
            max_ratio: 6.0,
        }
    }
}

impl Predictive {
    /// The limit on unconnected calls in flight.
    pub fn limit(&mut self, m: &Measurements) -> u32 {
        if m.agents == 0 {
            return 0;
        }
        let floor = m.progressive();
        // over the cap (in either window): progressive until back under it
        if m.abandon_budget < 0.0 {
            return floor;
        }
        // feedback on the measured rate, once it means something
        if m.live_24h >= 20.0 {
            if m.abandon_pct > m.cap_pct * 0.7 {
                self.gain *= 0.99;
            } else if m.abandon_pct < m.cap_pct * 0.5 {
                self.gain *= 1.002;
            }
            self.gain = self.gain.clamp(0.05, 2.0);
        }
        let p = m.answer_rate.clamp(0.01, 1.0);
        let target = self.target_share * m.cap_pct / 100.0 * self.gain;
        let soon: f64 = m.free_soon.iter().sum();
        let soon_var: f64 = m.free_soon.iter().map(|q| q * (1.0 - q)).sum();
        let supply = f64::from(m.available) + soon - f64::from(m.waiting_live);
        let max = (f64::from(m.agents) * self.max_ratio).ceil() as u32;
        let ok = |n: u32| {
            let nf = f64::from(n);
            let mu = nf * p - supply;
            let sigma = (nf * p * (1.0 - p) + soon_var).sqrt();
            expected_excess(mu, sigma) <= target * nf * p
        };
        // ok(n) is monotone in n: binary search the largest n that passes
        let (mut lo, mut hi) = (floor, max.max(floor));
        if !ok(lo) {
            return floor;
        }
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if ok(mid) { lo = mid } else { hi = mid - 1 }
        }
        lo
    }
}

/// VICIdial's `ADAPT_TAPERED` dial method, from its public description
/// (VICIdial manager manual, "Dial Method" and "Adaptive" settings): every
/// 15 s the dial level becomes `level × (1 + differential / agents ×
/// intensity)`, where the differential is the average of (agents waiting −
/// calls waiting) over the period, kept within `1.0..=max_level`; when the
/// drop percentage is over the allowed one the level falls to 1.0 (the
/// breaker). "Tapered" allows running over the drop percentage early in the
/// shift: the allowed rate goes from 2 × cap at the start to the cap at the
/// end of `shift_ms`. Calls in flight = ⌈level × (available + on call)⌉ −
/// on call.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaptTapered {
    /// Current dial level (calls per agent).
    pub level: f64,
    /// Adapt intensity (1.0 = VICIdial's neutral 0).
    pub intensity: f64,
    /// `adaptive_maximum_level` (VICIdial default 3.0).
    pub max_level: f64,
    /// Shift length over which the drop limit tapers, ms.
    pub shift_ms: i64,
    last: Option<Timestamp>,
    diff_sum: f64,
    diff_n: u32,
}

impl Default for AdaptTapered {
    fn default() -> Self {
        Self {
            level: 1.0,
            intensity: 1.0,
            max_level: 3.0,
            shift_ms: 8 * 3_600_000,
            last: None,
            diff_sum: 0.0,
            diff_n: 0,
        }
    }
}

impl AdaptTapered {
    /// The limit on unconnected calls in flight.
    pub fn limit(&mut self, m: &Measurements) -> u32 {
        if m.agents == 0 {
            return 0;
        }
        self.diff_sum += f64::from(m.available) - f64::from(m.waiting_live);
        self.diff_n += 1;
        let last = *self.last.get_or_insert(m.now);
        if m.now.millis_since(last) >= 15_000 {
            let diff = self.diff_sum / f64::from(self.diff_n.max(1));
            self.level *= 1.0 + diff / f64::from(m.agents) * self.intensity;
            let frac = (m.elapsed_ms as f64 / self.shift_ms as f64).clamp(0.0, 1.0);
            let allowed = m.cap_pct * (2.0 - frac);
            if m.live_24h >= 1.0 && m.abandon_pct > allowed {
                self.level = 1.0;
            }
            self.level = self.level.clamp(1.0, self.max_level);
            self.last = Some(m.now);
            self.diff_sum = 0.0;
            self.diff_n = 0;
        }
        let goal = (self.level * f64::from(m.available + m.on_call)).ceil() as u32;
        goal.saturating_sub(m.on_call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(available: u32, on_call: u32, p: f64) -> Measurements {
        Measurements {
            agents: available + on_call,
            available,
            on_call,
            answer_rate: p,
            abandon_budget: 10.0,
            cap_pct: 3.0,
            horizon_ms: 10_000.0,
            ..Measurements::default()
        }
    }

    #[test]
    fn predictive_dials_more_when_answer_rate_is_low() {
        let mut p = Predictive::default();
        let low = p.limit(&m(10, 0, 0.1));
        let high = p.limit(&m(10, 0, 0.4));
        assert!(low > high, "{low} {high}");
        assert!(high >= 10);
        // no agent: no call
        assert_eq!(p.limit(&m(0, 0, 0.3)), 0);
        // out of budget: progressive
        let mut spent = m(4, 6, 0.2);
        spent.abandon_budget = -0.5;
        assert_eq!(p.limit(&spent), 4);
    }

    #[test]
    fn normal_helpers() {
        assert!((cdf(0.0) - 0.5).abs() < 1e-6);
        assert!((cdf(1.96) - 0.975).abs() < 1e-3);
        assert!((expected_excess(0.0, 1.0) - phi(0.0)).abs() < 1e-9);
        assert_eq!(expected_excess(-5.0, 0.0), 0.0);
    }

    #[test]
    fn adapt_tapered_raises_level_while_agents_wait() {
        let mut a = AdaptTapered::default();
        let mut meas = m(5, 5, 0.2);
        for s in 0..=15 {
            meas.now = Timestamp::from_millis(s * 1000);
            a.limit(&meas);
        }
        assert!((a.level - 1.5).abs() < 1e-9, "{}", a.level);
        // breaker: over 2 × cap at the start
        meas.abandon_pct = 7.0;
        meas.live_24h = 50.0;
        meas.now = Timestamp::from_millis(31_000);
        a.limit(&meas);
        assert_eq!(a.level, 1.0);
    }
}
