//! A discrete-event simulation of one queue over a day: Poisson arrivals,
//! exponential handle times, optional exponential patience (abandonment)
//! and wrap-up, driven through the real [`Acd`] on a virtual clock (the same
//! loop the engine runs, with agents who answer at once).
//!
//! Used by the Erlang C test and `cargo run -p routing --example simday
//! --release`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use domain::{
    AgentId, Channel, InteractionId, Queue, QueueId, Segment, ServiceLevel, SkillLevel, Strategy,
    Timestamp,
};
use serde::Serialize;

use crate::rng::SplitMix64;
use crate::{Acd, AcdConfig, AgentProfile, Decision, QueueConfig, Task};

/// What to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Agents staffed all day.
    pub agents: u32,
    /// Mean arrivals per hour (Poisson).
    pub arrivals_per_hour: f64,
    /// Mean talk time, s (exponential).
    pub aht_s: f64,
    /// Wrap-up after each call, s.
    pub wrap_up_s: u32,
    /// Mean patience, s (exponential); `None` = callers never abandon.
    pub patience_s: Option<f64>,
    /// Length of the arrival window, s (the simulation then drains).
    pub duration_s: u64,
    /// Service-level threshold, s.
    pub sl_threshold_s: u32,
    /// Agent-selection strategy.
    pub strategy: Strategy,
    /// Random seed (arrivals, handle times, patience).
    pub seed: u64,
}

impl Default for SimConfig {
    /// A 10-hour day: 160 calls/h, 3 min calls, 10 agents, 20 s threshold.
    fn default() -> Self {
        Self {
            agents: 10,
            arrivals_per_hour: 160.0,
            aht_s: 180.0,
            wrap_up_s: 0,
            patience_s: None,
            duration_s: 10 * 3600,
            sl_threshold_s: 20,
            strategy: Strategy::LongestIdle,
            seed: 1,
        }
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimReport {
    /// Calls that arrived.
    pub calls: u64,
    /// Calls answered.
    pub answered: u64,
    /// Calls abandoned.
    pub abandoned: u64,
    /// Answered within the threshold / (answered + abandoned), %.
    pub service_level_pct: f64,
    /// Average speed of answer, s.
    pub asa_s: f64,
    /// Abandoned / arrived, %.
    pub abandon_rate_pct: f64,
    /// Agents' busy time (talk + wrap-up) / staffed time, %.
    pub occupancy_pct: f64,
    /// Mean talk time realised, s.
    pub aht_s: f64,
    /// Routing decisions (offers) made.
    pub offers: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrival,
    End(InteractionId),
    Abandon(InteractionId),
}

/// Runs the simulation.
///
/// # Errors
/// A message if the router refuses an input (a bug, reported not panicked).
pub fn run(cfg: &SimConfig) -> Result<SimReport, String> {
    let queue = Queue {
        id: QueueId(1),
        name: "sim".into(),
        required_skills: vec![SkillLevel {
            skill: "sim".into(),
            level: 1,
        }],
        strategy: cfg.strategy,
        service_level: ServiceLevel {
            percent: 80.0,
            within_s: cfg.sl_threshold_s,
        },
        wrap_up_s: cfg.wrap_up_s,
        max_wait_s: 0,
        ring_timeout_s: 30,
        priority: 0,
    };
    let mut qc = QueueConfig::new(queue);
    qc.announce_on_arrival = false;
    let mut acd = Acd::new(AcdConfig {
        queues: vec![qc],
        seed: cfg.seed,
        ..AcdConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let mut rng = SplitMix64::new(cfg.seed);
    let t0 = Timestamp::from_millis(0);
    for i in 0..cfg.agents {
        let p = AgentProfile::new(
            AgentId(i64::from(i) + 1),
            vec![SkillLevel {
                skill: "sim".into(),
                level: 5,
            }],
        );
        acd.handle_agent_login(t0, p).map_err(|e| e.to_string())?;
    }
    let mean_gap_ms = 3_600_000.0 / cfg.arrivals_per_hour.max(1e-9);
    let end_of_arrivals = i64::try_from(cfg.duration_s)
        .unwrap_or(i64::MAX / 2)
        .saturating_mul(1000);
    let mut events: BinaryHeap<Reverse<(i64, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |events: &mut BinaryHeap<_>, at: i64, ev: Ev| {
        seq += 1;
        events.push(Reverse((at, seq, ev)));
    };
    push(&mut events, rng.exp(mean_gap_ms) as i64, Ev::Arrival);
    let (mut calls, mut abandoned, mut offers) = (0u64, 0u64, 0u64);
    let mut talk_ms_total = 0i64;
    let mut connected: HashSet<InteractionId> = HashSet::new();
    let mut last = 0i64;
    loop {
        let next_ev = events.peek().map(|Reverse((t, _, _))| *t);
        let next_timer = acd.poll_timeout().map(Timestamp::as_millis);
        let now = match (next_ev, next_timer) {
            (None, None) => break,
            (Some(e), Some(t)) if t < e => {
                acd.handle_timeout(Timestamp::from_millis(t));
                t
            }
            (None, Some(t)) => {
                acd.handle_timeout(Timestamp::from_millis(t));
                t
            }
            (Some(_), _) => {
                let Some(Reverse((t, _, ev))) = events.pop() else {
                    break;
                };
                let now = Timestamp::from_millis(t);
                match ev {
                    Ev::Arrival => {
                        calls += 1;
                        let id = InteractionId(i64::try_from(calls).unwrap_or(i64::MAX));
                        acd.handle_task_arrived(
                            now,
                            Task::new(id, QueueId(1), Channel::Voice, Segment::Mass),
                        )
                        .map_err(|e| e.to_string())?;
                        if let Some(p) = cfg.patience_s {
                            push(
                                &mut events,
                                t + (rng.exp(p * 1000.0) as i64).max(1),
                                Ev::Abandon(id),
                            );
                        }
                        let next = t + (rng.exp(mean_gap_ms) as i64).max(1);
                        if next < end_of_arrivals {
                            push(&mut events, next, Ev::Arrival);
                        }
                    }
                    Ev::End(id) => {
                        connected.remove(&id);
                        acd.handle_task_ended(now, id).map_err(|e| e.to_string())?;
                    }
                    Ev::Abandon(id) => {
                        if !connected.contains(&id) && acd.handle_abandon(now, id).is_ok() {
                            abandoned += 1;
                        }
                    }
                }
                t
            }
        };
        last = last.max(now);
        while let Some(d) = acd.poll_decision() {
            if let Decision::Offer { task, agents, .. } = d {
                offers += 1;
                let Some(agent) = agents.first().copied() else {
                    continue;
                };
                let at = Timestamp::from_millis(now);
                acd.handle_offer_accepted(at, task, agent)
                    .map_err(|e| e.to_string())?;
                connected.insert(task);
                let talk = (rng.exp(cfg.aht_s * 1000.0) as i64).max(1);
                talk_ms_total += talk;
                push(&mut events, now + talk, Ev::End(task));
            }
        }
    }
    let stats = acd.queue_stats(QueueId(1)).ok_or("queue vanished")?;
    let answered = stats.counters.answered;
    let busy_ms = talk_ms_total as f64 + answered as f64 * f64::from(cfg.wrap_up_s) * 1000.0;
    let staffed_ms = f64::from(cfg.agents) * last.max(1) as f64;
    Ok(SimReport {
        calls,
        answered,
        abandoned,
        service_level_pct: stats.service_level_pct,
        asa_s: stats.asa_s,
        abandon_rate_pct: if calls == 0 {
            0.0
        } else {
            100.0 * abandoned as f64 / calls as f64
        },
        occupancy_pct: 100.0 * busy_ms / staffed_ms,
        aht_s: if answered == 0 {
            0.0
        } else {
            talk_ms_total as f64 / 1000.0 / answered as f64
        },
        offers,
    })
}
