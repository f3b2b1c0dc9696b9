//! Golden test: the scripted day of `common::golden_day` and every KPI
//! worked out by hand (the working is in the comments).

mod common;

use domain::{AgentId, Channel, QueueId, Timestamp};
use reports::{Interval, Report, ReportParams, SlFormula};

fn paris_day() -> ReportParams {
    // 2026-12-01 00:00 Paris (CET, UTC+1) = 2026-11-30T23:00Z.
    ReportParams::new(
        Timestamp::parse_rfc3339("2026-11-30T23:00:00Z").unwrap(),
        Timestamp::parse_rfc3339("2026-12-01T23:00:00Z").unwrap(),
        "Europe/Paris",
    )
    .unwrap()
}

fn close(a: Option<f64>, b: f64) {
    let a = a.expect("a figure");
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn every_kpi_of_the_scripted_day() {
    let r = Report::from_events(paris_day(), &common::golden_day()).unwrap();
    let t = &r.total;
    // Inbound in the period: 1,2,3,4,5,7,8,9,10 (6 is outbound, 50 began
    // the day before).
    assert_eq!(t.offered, 9);
    // Classes: answered 1,7,8,9; IVR 2; short 3; queue 4; callback 5; open 10.
    assert_eq!(
        (
            t.answered,
            t.abandoned_ivr,
            t.abandoned_short,
            t.abandoned_queue,
            t.callbacks,
            t.ended_in_queue,
            t.open
        ),
        (4, 1, 1, 1, 1, 0, 1)
    );
    assert_eq!(t.classes_sum(), t.offered);
    // Within T = 20 s: 1 (20 s) and 9 (5 s); 7 (40 s) and 8 (29 s) are not.
    assert_eq!(t.answered_within, 2);
    assert_eq!(t.abandoned_within, 0);
    assert_eq!(t.transferred, 1);
    // Handled (AHT denominator): 1, 6, 7, 8, 9.
    assert_eq!(t.handled, 5);
    // SL = A_T ÷ (A + L) = 2 ÷ (4 + 1).
    close(
        t.service_level(SlFormula::AnsweredOverAnsweredAndAbandoned),
        40.0,
    );
    // O = A + L + S + C + E = 4 + 1 + 1 + 1 + 0 = 7.
    assert_eq!(t.offered_to_queue(), 7);
    close(t.service_level(SlFormula::AnsweredOverOffered), 200.0 / 7.0);
    close(t.service_level(SlFormula::AnsweredOverAnswered), 50.0);
    close(
        t.service_level(SlFormula::AnsweredAndAbandonedWithinOverOffered),
        200.0 / 7.0,
    );
    close(t.abandon_rate(), 100.0 / 7.0);
    // ASA = (20 + 40 + 29 + 5) ÷ 4.
    close(t.asa_s(), 23.5);
    // Longest wait: the callback request after 60 s in queue.
    assert_eq!(t.longest_wait_ms, 60_000);
    // Talk (hold excluded): 1: 120-30; 6: 60; 7: (120-20) + 60; 8: 570; 9: 60.
    assert_eq!(t.talk_ms, 940_000);
    assert_eq!(t.hold_ms, 50_000);
    // Wrap-up: 30 + 10 + 20 + 15.
    assert_eq!(t.wrap_ms, 75_000);
    // AHT = (940 + 50 + 75) ÷ 5.
    close(t.aht_s(), 213.0);
    close(t.avg_talk_s(), 188.0);
    close(t.avg_hold_s(), 10.0);
    close(t.avg_wrap_s(), 15.0);
    assert_eq!(t.ronas, 1);
    assert_eq!(t.pause_ms.get("lunch"), Some(&5_400_000));
    assert_eq!(t.pause_ms.get("training"), Some(&1_800_000));
    assert_eq!(t.pause_ms.get("break"), Some(&900_000));
    // FCR: answered inbound of known customers 1, 7, 8, 9; 1 is repeated
    // by 9 ten hours later.
    assert_eq!((t.fcr_eligible, t.fcr_resolved), (4, 3));
    close(t.fcr_pct(), 75.0);
    // CSAT: 5 and 3 (the 9 is refused).
    assert_eq!((t.csat_answers, t.csat_satisfied, t.csat_sum), (2, 1, 8));
    close(t.csat_pct(), 50.0);
    close(t.csat_mean(), 4.0);
    close(t.avg_first_response_s(), 60.0);
    close(t.avg_resolution_s(), 600.0);
    assert_eq!(r.events_ignored, 2, "the lone unhold and the score 9");
}

#[test]
fn by_queue_a_transferred_call_counts_once_for_its_first_queue() {
    let r = Report::from_events(paris_day(), &common::golden_day()).unwrap();
    let q1 = &r.by_queue[&Some(QueueId(1))];
    // 1, 3, 4, 9, 10 (7 was transferred in from queue 2: not counted here).
    assert_eq!(q1.offered, 5);
    assert_eq!(
        (q1.answered, q1.abandoned_short, q1.abandoned_queue, q1.open),
        (2, 1, 1, 1)
    );
    close(q1.service_level(SlFormula::default()), 200.0 / 3.0);
    close(q1.asa_s(), 12.5);
    assert_eq!(q1.longest_wait_ms, 45_000);
    assert_eq!(
        (q1.talk_ms, q1.hold_ms, q1.wrap_ms),
        (150_000, 30_000, 45_000)
    );
    close(q1.aht_s(), 112.5);
    assert_eq!(q1.ronas, 1);
    close(q1.fcr_pct(), 50.0);
    close(q1.csat_mean(), 5.0);

    let q2 = &r.by_queue[&Some(QueueId(2))];
    assert_eq!(
        (q2.offered, q2.answered, q2.callbacks, q2.transferred),
        (2, 1, 1, 1)
    );
    close(q2.service_level(SlFormula::default()), 0.0);
    close(q2.asa_s(), 40.0);
    assert_eq!(q2.longest_wait_ms, 60_000);
    // 6 (callback): 60 talk, 10 wrap; 7: 160 talk, 20 hold, 20 wrap.
    assert_eq!(
        (q2.talk_ms, q2.hold_ms, q2.wrap_ms, q2.handled),
        (220_000, 20_000, 30_000, 2)
    );
    close(q2.aht_s(), 135.0);
    close(q2.csat_pct(), 0.0);

    let q3 = &r.by_queue[&Some(QueueId(3))];
    assert_eq!((q3.offered, q3.answered, q3.talk_ms), (1, 1, 570_000));
    close(q3.avg_first_response_s(), 60.0);

    let ivr = &r.by_queue[&None];
    assert_eq!((ivr.offered, ivr.abandoned_ivr), (1, 1));

    assert_eq!(r.by_channel[&Channel::Voice].offered, 8);
    assert_eq!(r.by_channel[&Channel::Webchat].offered, 1);
    assert_eq!(r.by_channel[&Channel::Webchat].resolution_ms, 600_000);
}

#[test]
fn by_agent_and_the_sums_reconcile() {
    let r = Report::from_events(paris_day(), &common::golden_day()).unwrap();
    let a10 = &r.by_agent[&AgentId(10)];
    // 7 (first part): 100 talk, 20 hold; 9: 60 talk, 15 wrap. The call of
    // the day before is not counted.
    assert_eq!(
        (a10.handled, a10.talk_ms, a10.hold_ms, a10.wrap_ms),
        (2, 160_000, 20_000, 15_000)
    );
    assert_eq!((a10.ronas, a10.transferred), (1, 1));
    close(a10.aht_s(), 97.5);
    assert_eq!(a10.pause_ms.get("lunch"), Some(&3_600_000));
    close(a10.fcr_pct(), 100.0);
    let a11 = &r.by_agent[&AgentId(11)];
    // 1: 90 talk, 30 hold, 30 wrap; 7 (second part): 60 talk, 20 wrap.
    assert_eq!(
        (a11.handled, a11.talk_ms, a11.hold_ms, a11.wrap_ms),
        (2, 150_000, 30_000, 50_000)
    );
    close(a11.aht_s(), 115.0);
    close(a11.csat_mean(), 4.0);
    close(a11.fcr_pct(), 50.0);
    assert_eq!(a11.pause_total_ms(), 3_600_000);
    let a12 = &r.by_agent[&AgentId(12)];
    assert_eq!(
        (a12.handled, a12.talk_ms, a12.wrap_ms),
        (2, 630_000, 10_000)
    );
    assert_eq!(a12.pause_ms.get("break"), Some(&900_000));
    // Logged in from 1 000 s to the end of the log (51 800 s), 11 until its
    // logout at 40 000 s.
    assert_eq!(
        (a10.staffed_ms, a11.staffed_ms, a12.staffed_ms),
        (50_800_000, 39_000_000, 50_800_000)
    );
    assert_eq!(r.total.staffed_ms, 140_600_000);
    // Occupancy: talk + hold + wrap over logged-in time less pauses;
    // utilisation: over the whole logged-in time.
    close(a10.occupancy_pct(), 100.0 * 195.0 / (50_800.0 - 3_600.0));
    close(a11.occupancy_pct(), 100.0 * 230.0 / (39_000.0 - 3_600.0));
    close(a10.utilisation_pct(), 100.0 * 195.0 / 50_800.0);
    common::assert_reconciles(&r);
}

#[test]
fn hourly_rows_follow_the_local_clock() {
    let mut p = paris_day();
    p.interval = Interval::Hour;
    let r = Report::from_events(p, &common::golden_day()).unwrap();
    assert_eq!(r.by_interval.len(), 24);
    // 09:00 local: 1, 2, 3, 4, 5 (6 is outbound).
    let h9 = &r.by_interval[9];
    assert_eq!(
        h9.start,
        Timestamp::parse_rfc3339("2026-12-01T08:00:00Z").unwrap()
    );
    assert_eq!((h9.tally.offered, h9.tally.answered), (5, 1));
    assert_eq!(r.by_interval[10].tally.offered, 1); // 7
    assert_eq!(r.by_interval[11].tally.offered, 1); // 8
    assert_eq!(r.by_interval[19].tally.offered, 1); // 9
    assert_eq!(r.by_interval[22].tally.open, 1); // 10
    assert_eq!(r.by_interval[0].tally.offered, 0);
    common::assert_reconciles(&r);
}

#[test]
fn a_queue_filter_keeps_its_calls_and_their_agents_parts() {
    let mut p = paris_day();
    p.queue = Some(QueueId(1));
    let r = Report::from_events(p, &common::golden_day()).unwrap();
    assert_eq!(r.total.offered, 5);
    assert_eq!(r.total.talk_ms, 150_000);
    // Agent 10: 9 only (7 belongs to queue 2), plus the RONA of 1.
    assert_eq!(r.by_agent[&AgentId(10)].talk_ms, 60_000);
    assert_eq!(r.by_agent[&AgentId(10)].ronas, 1);
    common::assert_reconciles(&r);
}

#[test]
fn every_report_carries_its_formulas() {
    let mut p = paris_day();
    p.sl_threshold_s = 30;
    p.sl_formula = SlFormula::AnsweredOverOffered;
    let fr = p.formulas(reports::Lang::Fr);
    let en = p.formulas(reports::Lang::En);
    let sl = |v: &Vec<(String, String)>| {
        v.iter()
            .find(|(k, _)| k.contains("ervice"))
            .cloned()
            .unwrap()
            .1
    };
    assert_eq!(sl(&en), "answered within 30 s ÷ calls offered to the queue");
    assert_eq!(
        sl(&fr),
        "décrochés en 30 s ou moins ÷ appels présentés à la file"
    );
    assert!(en.iter().any(|(k, v)| k == "FCR" && v.contains("72 h")));
    // With T = 30 s, 8 (29 s) is within: 3 of the 7 offered to a queue.
    let r = Report::from_events(p, &common::golden_day()).unwrap();
    close(r.total.service_level(r.params.sl_formula), 300.0 / 7.0);
}
