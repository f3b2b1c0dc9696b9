//! One simulated day of a single voice queue through the real ACD, compared
//! with Erlang C. Run: `cargo run -p routing --example simday --release`.

use routing::erlang;
use routing::sim::{SimConfig, run};

fn main() {
    let base = SimConfig::default();
    let a = base.arrivals_per_hour * base.aht_s / 3600.0;
    println!(
        "one day: {} agents, {:.0} calls/h, AHT {:.0} s, {:.1} Erlangs, {} h",
        base.agents,
        base.arrivals_per_hour,
        base.aht_s,
        a,
        base.duration_s / 3600
    );
    let cases = [
        ("no abandon, no wrap-up", base.clone()),
        (
            "patience 120 s, wrap-up 15 s",
            SimConfig {
                patience_s: Some(120.0),
                wrap_up_s: 15,
                ..base.clone()
            },
        ),
        (
            "60 agents, 1000/h, ACW 20 s",
            SimConfig {
                agents: 60,
                arrivals_per_hour: 1000.0,
                wrap_up_s: 20,
                patience_s: Some(180.0),
                ..base.clone()
            },
        ),
    ];
    for (name, cfg) in cases {
        let started = std::time::Instant::now();
        match run(&cfg) {
            Ok(r) => println!(
                "{name:30} calls {:6} SL {:5.1} %  ASA {:5.1} s  abandon {:4.1} %  occupancy {:4.1} %  ({} offers, {:.2} s)",
                r.calls,
                r.service_level_pct,
                r.asa_s,
                r.abandon_rate_pct,
                r.occupancy_pct,
                r.offers,
                started.elapsed().as_secs_f64()
            ),
            Err(e) => eprintln!("{name}: {e}"),
        }
    }
    let t = f64::from(base.sl_threshold_s);
    println!(
        "{:30} SL {:5.1} %  ASA {:5.1} s  abandon  0.0 %  occupancy {:4.1} %",
        "Erlang C (first case)",
        100.0 * erlang::service_level(base.agents, a, base.aht_s, t).unwrap_or(f64::NAN),
        erlang::asa_s(base.agents, a, base.aht_s).unwrap_or(f64::NAN),
        100.0 * a / f64::from(base.agents)
    );
}
