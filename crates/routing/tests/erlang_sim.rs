//! The simulator, driving the real ACD, against Erlang C on a single queue
//! with no abandonment and no wrap-up (the M/M/N assumptions).
//!
//! Size: 1 500 simulated hours (~240 000 calls) with a fixed seed, so the
//! result is deterministic and the test runs in a few seconds in a debug
//! build; at that size the sampling error of SL is well under 1 point.

use routing::erlang;
use routing::sim::{SimConfig, run};

const HOURS: u64 = 1_500;

fn check(agents: u32, per_hour: f64, aht_s: f64) -> Result<(), String> {
    let cfg = SimConfig {
        agents,
        arrivals_per_hour: per_hour,
        aht_s,
        duration_s: HOURS * 3600,
        seed: 20_261_129,
        ..SimConfig::default()
    };
    let r = run(&cfg)?;
    let a = per_hour * aht_s / 3600.0;
    let sl = 100.0 * erlang::service_level(agents, a, aht_s, 20.0).ok_or("unstable")?;
    let asa = erlang::asa_s(agents, a, aht_s).ok_or("unstable")?;
    let occ = 100.0 * a / f64::from(agents);
    println!(
        "N={agents} A={a:.2}: sim SL {:.2} % ASA {:.2} s occ {:.2} % ({} calls) | Erlang C SL {sl:.2} % ASA {asa:.2} s occ {occ:.2} %",
        r.service_level_pct, r.asa_s, r.occupancy_pct, r.calls
    );
    assert!(r.calls > 100_000, "simulation too small: {} calls", r.calls);
    assert_eq!(r.abandoned, 0);
    assert!(
        (r.service_level_pct - sl).abs() < 2.0,
        "SL {} vs Erlang C {sl}",
        r.service_level_pct
    );
    assert!(
        (r.asa_s - asa).abs() / asa < 0.08,
        "ASA {} vs Erlang C {asa}",
        r.asa_s
    );
    assert!(
        (r.occupancy_pct - occ).abs() < 1.5,
        "occupancy {} vs {occ}",
        r.occupancy_pct
    );
    Ok(())
}

#[test]
fn single_queue_matches_erlang_c() -> Result<(), String> {
    // 10 agents, 160 calls/h of 180 s: 8 Erlangs, SL(20 s) ≈ 67 %, ASA ≈ 37 s
    check(10, 160.0, 180.0)
}

#[test]
fn larger_group_matches_erlang_c() -> Result<(), String> {
    // 25 agents, 100 calls/h of 13.2 min: 22 Erlangs
    check(25, 100.0, 792.0)
}
