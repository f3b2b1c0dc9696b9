//! Figures, not tests: fold a month of events (about 10 million) into a
//! report, and export it to xlsx and pdf. Prints the figures.
//!
//! `cargo bench -p reports --features xlsx,pdf`
//! (set `REPORTS_BENCH_CALLS` for another size; default 1,350,000 calls,
//! about 10 million events).

#[path = "../tests/common/synth.rs"]
mod synth;

use domain::Timestamp;
use reports::{Interval, Lang, Report, ReportParams};
use std::time::Instant;

fn main() {
    let calls: u64 = std::env::var("REPORTS_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_350_000);
    // December 2026 in Paris.
    let from = Timestamp::parse_rfc3339("2026-11-30T23:00:00Z").unwrap();
    let to = Timestamp::parse_rfc3339("2026-12-31T23:00:00Z").unwrap();
    let t = Instant::now();
    let events = synth::synth(42, from, to, calls, 300);
    println!(
        "generated {} events ({} interactions, 300 agents) in {:.2} s",
        events.len(),
        calls,
        t.elapsed().as_secs_f64()
    );
    for iv in [Interval::Day, Interval::Min15] {
        let mut best = f64::MAX;
        let mut report = None;
        for _ in 0..3 {
            let mut p = ReportParams::new(from, to, "Europe/Paris").unwrap();
            p.interval = iv;
            let t = Instant::now();
            let r = Report::from_events(p, &events).unwrap();
            best = best.min(t.elapsed().as_secs_f64());
            report = Some(r);
        }
        let r = report.unwrap();
        println!(
            "fold, month report by {:>5}: {:.3} s best of 3 ({:.1} M events/s); offered {}, SL {:.1} %, AHT {:.1} s, {} interval rows",
            iv.as_str(),
            best,
            events.len() as f64 / best / 1e6,
            r.total.offered,
            r.total.service_level(r.params.sl_formula).unwrap_or(0.0),
            r.total.aht_s().unwrap_or(0.0),
            r.by_interval.len(),
        );
        #[cfg(feature = "xlsx")]
        {
            let t = Instant::now();
            let x = reports::xlsx::to_xlsx(&r, Lang::Fr).unwrap();
            println!(
                "  xlsx export: {:.3} s, {} KiB",
                t.elapsed().as_secs_f64(),
                x.len() / 1024
            );
        }
        #[cfg(feature = "pdf")]
        {
            let t = Instant::now();
            let x = reports::pdf::to_pdf(&r, Lang::Fr).unwrap();
            println!(
                "  pdf export:  {:.3} s, {} KiB",
                t.elapsed().as_secs_f64(),
                x.len() / 1024
            );
        }
        let _ = Lang::Fr;
    }
}
