//! `cargo run -p dialer --example simulate --release`: 200 seeds per case
//! (agents 5, 10, 25, 50 × live-answer rate 10, 25, 40 %; mean handle time
//! drawn per seed in 90–240 s; 8-hour shifts), for our predictive pacer,
//! progressive mode and VICIdial's ADAPT_TAPERED. Prints per case and mode:
//! mean occupancy, abandon rate (rolling 24 h at shift end: worst seed and
//! share of seeds ≤ 3 %; campaign: mean), connected calls per agent-hour.
//! `SEEDS=n` overrides the seed count.

use dialer::DialMode;
use dialer::sim::{SimCase, SimResult, run};

fn main() {
    let seeds: u64 = std::env::var("SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(2);
    println!(
        "{:>6} {:>5} {:<12} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "agents", "live", "pacer", "occup", "ab24h_max", "seeds<=3%", "ab_camp", "calls/ah"
    );
    for agents in [5u32, 10, 25, 50] {
        for rate in [0.10, 0.25, 0.40] {
            for (name, mode) in [
                ("predictive", DialMode::Predictive),
                ("progressive", DialMode::Progressive),
                ("adapt_taper", DialMode::AdaptTapered),
            ] {
                let cases: Vec<SimCase> = (0..seeds)
                    .map(|seed| SimCase {
                        agents,
                        live_rate: rate,
                        aht_s: 90.0 + 150.0 * ((seed * 7919) % 1000) as f64 / 1000.0,
                        mode: mode.clone(),
                        seed: seed + 1000 * u64::from(agents),
                        shift_h: 8.0,
                    })
                    .collect();
                let results: Vec<SimResult> = std::thread::scope(|s| {
                    let chunks: Vec<_> = cases
                        .chunks(cases.len().div_ceil(threads))
                        .map(|ch| s.spawn(move || ch.iter().map(run).collect::<Vec<_>>()))
                        .collect();
                    chunks
                        .into_iter()
                        .flat_map(|h| h.join().unwrap_or_default())
                        .collect()
                });
                let n = results.len().max(1) as f64;
                let occ = results.iter().map(|r| r.occupancy).sum::<f64>() / n;
                let worst = results
                    .iter()
                    .map(|r| r.abandon_24h_pct)
                    .fold(0.0, f64::max);
                let ok = results
                    .iter()
                    .filter(|r| r.abandon_24h_pct <= 3.0 && r.abandon_campaign_pct <= 3.0)
                    .count() as f64
                    / n;
                let camp = results.iter().map(|r| r.abandon_campaign_pct).sum::<f64>() / n;
                let cph = results.iter().map(|r| r.calls_per_agent_hour).sum::<f64>() / n;
                println!(
                    "{agents:>6} {:>4.0}% {name:<12} {:>6.1}% {worst:>8.2}% {:>8.1}% {camp:>8.2}% {cph:>9.2}",
                    rate * 100.0,
                    occ * 100.0,
                    ok * 100.0
                );
            }
        }
    }
}
