//! A discrete-event simulation of one 8-hour shift of an outbound campaign,
//! driving a real [`Dialer`] on a virtual clock (used by
//! `examples/simulate.rs` and the abandon-cap unit test).
//!
//! Agents log in during the first 10 minutes, each takes one 15-minute break
//! (logs out and back in) between hours 2 and 6, and logs out during the
//! last 10 minutes (after the call in hand). Each call is, with the case's
//! live-answer rate, answered by a person 4–16 s after dialling; otherwise a
//! machine (35 % of the rest, known 3 s after a 4–12 s answer), busy (10 %),
//! failed (3 %) or rings out. 1 % of live answers are taken for machines by
//! AMD (false positives); the dialer is told that estimate and counts it.
//! Talk time is lognormal (σ = 0.5) with mean `aht_s` − 10 s, then 10 s of
//! wrap-up. The calling window is always open.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use domain::{AgentId, DispositionId, PhoneNumber, Timestamp};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::rules::{AbandonCap, CallingWindow};
use crate::{
    Action, AttemptId, CampaignConfig, Consent, Contact, ContactId, DialMode, Dialer, Outcome,
};

/// One simulated shift.
#[derive(Clone, Debug, PartialEq)]
pub struct SimCase {
    /// Agents in the team.
    pub agents: u32,
    /// Share of calls answered by a person (0–1).
    pub live_rate: f64,
    /// Mean handle time (talk + 10 s wrap-up), s.
    pub aht_s: f64,
    /// Pacing under test.
    pub mode: DialMode,
    /// Seed of the generator.
    pub seed: u64,
    /// Shift length, h.
    pub shift_h: f64,
}

/// What one shift gave.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SimResult {
    /// Share of logged-in time agents spent talking or wrapping up (0–1).
    pub occupancy: f64,
    /// Abandon rate over the rolling 24 h ending at the end of the shift, %.
    pub abandon_24h_pct: f64,
    /// Abandon rate over the campaign, % (abandoned / live, AMD estimate included).
    pub abandon_campaign_pct: f64,
    /// Calls connected to agents per logged-in agent-hour.
    pub calls_per_agent_hour: f64,
    /// Calls placed.
    pub dialed: u64,
    /// Most unconnected calls in flight seen.
    pub max_in_flight: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Login(u32),
    Logout(u32),
    Result(u64, u8),
    CallEnd(u32, u64),
    WrapEnd(u32),
}

#[derive(Clone, Copy, Debug, Default)]
struct Agent {
    logged_in: bool,
    since: i64,
    logged_ms: i64,
    busy_ms: i64,
    working: bool,
    pending_logout: bool,
}

fn normal(rng: &mut SmallRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Lognormal with the given mean and σ of the underlying normal.
pub fn lognormal(rng: &mut SmallRng, mean: f64, sigma: f64) -> f64 {
    let mu = mean.ln() - sigma * sigma / 2.0;
    (mu + sigma * normal(rng)).exp()
}

/// Run one shift.
///
/// # Panics
/// Never on valid cases (the configuration is a fixed valid one).
pub fn run(case: &SimCase) -> SimResult {
    let mut rng = SmallRng::seed_from_u64(case.seed);
    let t0 = Timestamp::from_millis(1_764_576_000_000);
    let end = (case.shift_h * 3_600_000.0) as i64;
    let fp = 0.01 * case.live_rate / (0.01 * case.live_rate + 0.35 * (1.0 - case.live_rate));
    let cfg = CampaignConfig {
        mode: case.mode.clone(),
        window: CallingWindow::always(),
        abandon: AbandonCap {
            cap_pct: 3.0,
            amd_false_positive_rate: fp,
        },
        ..CampaignConfig::default()
    };
    let Ok(mut d) = Dialer::new(t0, cfg) else {
        return SimResult::default();
    };
    let n_contacts = i64::from(case.agents) * 600;
    let contacts = (1..=n_contacts)
        .filter_map(|i| {
            let number = PhoneNumber::try_from(format!("+336{:08}", i)).ok()?;
            Some(Contact {
                id: ContactId(i),
                number,
                tz: jiff::tz::TimeZone::UTC,
                consent: Consent::Given,
                customer: None,
            })
        })
        .collect();
    d.handle_contacts_added(t0, contacts);
    d.handle_start(t0);

    let mut heap: BinaryHeap<Reverse<(i64, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<Reverse<(i64, u64, Ev)>>, t: i64, e: Ev| {
        seq += 1;
        heap.push(Reverse((t, seq, e)));
    };
    let mut agents = vec![Agent::default(); case.agents as usize];
    for i in 0..case.agents {
        push(&mut heap, rng.random_range(0..600_000), Ev::Login(i));
        let brk = rng.random_range(2 * 3_600_000..6 * 3_600_000);
        push(&mut heap, brk, Ev::Logout(i));
        push(&mut heap, brk + 900_000, Ev::Login(i));
        push(&mut heap, end - rng.random_range(0..600_000), Ev::Logout(i));
    }
    let mut attempt_agent: HashMap<u64, u32> = HashMap::new();
    let mut connected = 0u64;
    let mut max_in_flight = 0;
    loop {
        let ev_t = heap.peek().map(|Reverse((t, _, _))| *t);
        let d_t = d.poll_timeout().map(|t| t.millis_since(t0));
        let t = match (ev_t, d_t) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => break,
        };
        if t > end {
            break;
        }
        let now = t0.add_millis(t);
        if d_t == Some(t) && ev_t.is_none_or(|e| e > t) {
            d.handle_timeout(now);
        } else if let Some(Reverse((_, _, ev))) = heap.pop() {
            match ev {
                Ev::Login(i) => {
                    let a = &mut agents[i as usize];
                    if !a.logged_in {
                        a.logged_in = true;
                        a.since = t;
                        a.pending_logout = false;
                        d.handle_agent_available(now, AgentId(i64::from(i)));
                    }
                }
                Ev::Logout(i) => {
                    let a = &mut agents[i as usize];
                    if a.working {
                        a.pending_logout = true;
                    } else if a.logged_in {
                        a.logged_in = false;
                        a.logged_ms += t - a.since;
                        d.handle_agent_logged_out(now, AgentId(i64::from(i)));
                    }
                }
                Ev::Result(at, o) => {
                    let outcome = match o {
                        0 => Outcome::AnsweredLive,
                        1 => Outcome::AnsweredMachine,
                        2 => Outcome::Busy,
                        3 => Outcome::Failed,
                        _ => Outcome::NoAnswer,
                    };
                    let _ = d.handle_outcome(now, AttemptId(at), outcome);
                }
                Ev::CallEnd(i, at) => {
                    let ag = AgentId(i64::from(i));
                    d.handle_agent_wrap_up(now, ag, now.add_millis(10_000));
                    let _ = d.handle_outcome(
                        now,
                        AttemptId(at),
                        Outcome::Disposition {
                            code: DispositionId(1),
                            callback_at: None,
                        },
                    );
                    push(&mut heap, t + 10_000, Ev::WrapEnd(i));
                }
                Ev::WrapEnd(i) => {
                    let a = &mut agents[i as usize];
                    a.working = false;
                    let ag = AgentId(i64::from(i));
                    if a.pending_logout || !a.logged_in {
                        a.pending_logout = false;
                        if a.logged_in {
                            a.logged_in = false;
                            a.logged_ms += t - a.since;
                        }
                        d.handle_agent_logged_out(now, ag);
                    } else {
                        d.handle_agent_available(now, ag);
                    }
                }
            }
        }
        max_in_flight = max_in_flight.max(d.calls_in_flight());
        while let Some(a) = d.poll_action() {
            match a {
                Action::PlaceCall {
                    attempt,
                    ring_timeout_ms,
                    ..
                } => {
                    let u: f64 = rng.random();
                    let (delay, o) = if u < case.live_rate {
                        let dl = rng.random_range(4_000..16_000);
                        if rng.random::<f64>() < 0.01 {
                            (dl + 3_000, 1)
                        } else {
                            (dl, 0)
                        }
                    } else {
                        let v: f64 = rng.random();
                        if v < 0.35 {
                            (rng.random_range(4_000..12_000) + 3_000, 1)
                        } else if v < 0.45 {
                            (rng.random_range(2_000..5_000), 2)
                        } else if v < 0.48 {
                            (1_000, 3)
                        } else {
                            (i64::from(ring_timeout_ms), 4)
                        }
                    };
                    push(&mut heap, t + delay, Ev::Result(attempt.0, o));
                }
                Action::ConnectAgent { attempt, agent, .. } => {
                    // the simulated agent answers at once
                    let _ = d.handle_outcome(now, attempt, Outcome::AgentConnected(agent));
                    let i = agent.0 as u32;
                    connected += 1;
                    agents[i as usize].working = true;
                    attempt_agent.insert(attempt.0, i);
                    let talk = lognormal(&mut rng, (case.aht_s - 10.0).max(5.0), 0.5);
                    let talk_ms = (talk * 1000.0) as i64;
                    let a = &mut agents[i as usize];
                    a.busy_ms += (talk_ms + 10_000).min(end - t);
                    push(&mut heap, t + talk_ms, Ev::CallEnd(i, attempt.0));
                }
                _ => {}
            }
        }
    }
    let mut logged = 0i64;
    let mut busy = 0i64;
    for a in &agents {
        let mut l = a.logged_ms;
        if a.logged_in {
            l += end - a.since;
        }
        logged += l;
        busy += a.busy_ms;
    }
    let endt = t0.add_millis(end);
    let (r24, _) = d.abandon_rate_pct(endt);
    let c = d.counters();
    let fp_est = fp * c.machine as f64;
    let live = c.live as f64 + fp_est;
    SimResult {
        occupancy: if logged > 0 {
            (busy as f64 / logged as f64).min(1.0)
        } else {
            0.0
        },
        abandon_24h_pct: r24,
        abandon_campaign_pct: if live > 0.0 {
            100.0 * (c.abandoned as f64 + fp_est) / live
        } else {
            0.0
        },
        calls_per_agent_hour: if logged > 0 {
            connected as f64 / (logged as f64 / 3_600_000.0)
        } else {
            0.0
        },
        dialed: c.dialed,
        max_in_flight,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictive_keeps_the_abandon_cap_over_a_few_seeds() {
        for seed in 1..=4 {
            for (agents, rate) in [(10, 0.2), (25, 0.3)] {
                let case = SimCase {
                    agents,
                    live_rate: rate,
                    aht_s: 150.0,
                    mode: DialMode::Predictive,
                    seed,
                    shift_h: 2.0,
                };
                let r = run(&case);
                assert!(r.abandon_campaign_pct <= 3.0, "{case:?}: {r:?}");
                assert!(r.abandon_24h_pct <= 3.0, "{case:?}: {r:?}");
                assert!(r.occupancy > 0.5, "{case:?}: {r:?}");
                let prog = run(&SimCase {
                    mode: DialMode::Progressive,
                    ..case.clone()
                });
                assert!(
                    r.calls_per_agent_hour > prog.calls_per_agent_hour,
                    "{r:?} vs {prog:?}"
                );
            }
        }
    }
}
