//! On synthetic days with every outcome: each inbound interaction is in
//! exactly one class, agents' sums equal the totals, and queues, channels
//! and intervals add up to the total — with and without a queue filter,
//! at every interval length.

mod common;

use common::synth::synth;
use domain::{QueueId, Timestamp};
use reports::{Interval, Report, ReportParams};

#[test]
fn synthetic_days_reconcile() {
    let from = Timestamp::parse_rfc3339("2026-10-24T22:00:00Z").unwrap();
    let to = from.add_millis(3 * 86_400_000);
    for seed in 1..=5u64 {
        // Events start an hour before the period and end after it.
        let events = synth(
            seed,
            from.add_millis(-3_600_000),
            to.add_millis(3_600_000),
            3_000,
            25,
        );
        for (iv, queue) in [
            (Interval::Day, None),
            (Interval::Min15, None),
            (Interval::Hour, Some(QueueId(2))),
            (Interval::Week, Some(QueueId(4))),
        ] {
            let mut p = ReportParams::new(from, to, "Europe/Paris").unwrap();
            p.interval = iv;
            p.queue = queue;
            let r = Report::from_events(p, &events).unwrap();
            assert!(r.total.offered > 100, "seed {seed}: {}", r.total.offered);
            assert!(
                r.total.transferred > 0 && r.total.callbacks > 0 && r.total.abandoned_short > 0
            );
            common::assert_reconciles(&r);
            assert_eq!(r.events_ignored, 0, "seed {seed} {iv:?}");
        }
    }
}
