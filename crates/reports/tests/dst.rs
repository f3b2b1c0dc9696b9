//! Days cut at local midnight: 23 and 25 hour days in Europe/Paris, none in
//! Africa/Porto-Novo (UTC+1 all year).

mod common;

use common::{Script, created, queued};
use domain::{Channel, Direction, Timestamp};
use reports::{Interval, Report, ReportParams};

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

const HOUR: i64 = 3_600_000;

fn report(from: &str, to: &str, tz: &str, iv: Interval, events: &[domain::Event]) -> Report {
    let mut p = ReportParams::new(at(from), at(to), tz).unwrap();
    p.interval = iv;
    Report::from_events(p, events).unwrap()
}

fn lengths_h(r: &Report) -> Vec<i64> {
    r.by_interval
        .iter()
        .map(|row| row.end.millis_since(row.start) / HOUR)
        .collect()
}

/// One inbound call created at each instant.
fn calls(instants: &[&str]) -> Vec<domain::Event> {
    let mut s = Script::new("1970-01-01T00:00:00Z");
    for (i, t) in instants.iter().enumerate() {
        let secs = at(t).as_millis() / 1000;
        s.at(
            secs,
            i as i64 + 1,
            None,
            None,
            created(Channel::Voice, Direction::Inbound),
        );
        s.at(secs, i as i64 + 1, None, None, queued(1));
    }
    s.sorted()
}

#[test]
fn paris_spring_forward_day_has_23_hours() {
    // 2026-03-28 00:00 CET .. 2026-03-31 00:00 CEST.
    let ev = calls(&[
        "2026-03-28T23:30:00Z",
        "2026-03-29T21:59:59Z",
        "2026-03-29T22:00:00Z",
    ]);
    let r = report(
        "2026-03-27T23:00:00Z",
        "2026-03-30T22:00:00Z",
        "Europe/Paris",
        Interval::Day,
        &ev,
    );
    assert_eq!(lengths_h(&r), vec![24, 23, 24]);
    assert_eq!(r.by_interval[1].start, at("2026-03-28T23:00:00Z"));
    assert_eq!(r.by_interval[1].end, at("2026-03-29T22:00:00Z"));
    // 00:30 CET and 23:59:59 CEST are both the 29th; 00:00 CEST is the 30th.
    let offered: Vec<u64> = r.by_interval.iter().map(|row| row.tally.offered).collect();
    assert_eq!(offered, vec![0, 2, 1]);
    // Hourly rows of the 29th: 23, no 02:00 local.
    let h = report(
        "2026-03-28T23:00:00Z",
        "2026-03-29T22:00:00Z",
        "Europe/Paris",
        Interval::Hour,
        &ev,
    );
    assert_eq!(h.by_interval.len(), 23);
    assert!(lengths_h(&h).iter().all(|&l| l == 1));
    let labels: Vec<String> = h.tables(reports::Lang::En)[3]
        .rows
        .iter()
        .map(|(l, _)| l.clone())
        .collect();
    assert_eq!(labels[1], "2026-03-29 01:00");
    assert_eq!(labels[2], "2026-03-29 03:00");
}

#[test]
fn paris_fall_back_day_has_25_hours_and_two_hours_at_two() {
    // 02:30 CEST (00:30Z) and 02:30 CET (01:30Z) are different hours.
    let ev = calls(&[
        "2026-10-25T00:30:00Z",
        "2026-10-25T01:30:00Z",
        "2026-10-25T01:40:00Z",
    ]);
    let r = report(
        "2026-10-24T22:00:00Z",
        "2026-10-25T23:00:00Z",
        "Europe/Paris",
        Interval::Day,
        &ev,
    );
    assert_eq!(lengths_h(&r), vec![25]);
    assert_eq!(r.by_interval[0].tally.offered, 3);
    let h = report(
        "2026-10-24T22:00:00Z",
        "2026-10-25T23:00:00Z",
        "Europe/Paris",
        Interval::Hour,
        &ev,
    );
    assert_eq!(h.by_interval.len(), 25);
    let labels: Vec<String> = h.tables(reports::Lang::Fr)[3]
        .rows
        .iter()
        .map(|(l, _)| l.clone())
        .collect();
    assert_eq!(labels[2], "2026-10-25 02:00");
    assert_eq!(labels[3], "2026-10-25 02:00");
    assert_eq!(h.by_interval[2].tally.offered, 1);
    assert_eq!(h.by_interval[3].tally.offered, 2);
    // 15-min rows: 100 of them on that day.
    let q = report(
        "2026-10-24T22:00:00Z",
        "2026-10-25T23:00:00Z",
        "Europe/Paris",
        Interval::Min15,
        &ev,
    );
    assert_eq!(q.by_interval.len(), 100);
}

#[test]
fn porto_novo_has_no_dst_and_cuts_days_at_23_utc() {
    let ev = calls(&["2026-03-28T23:30:00Z", "2026-10-25T00:30:00Z"]);
    let r = report(
        "2026-03-27T23:00:00Z",
        "2026-03-30T23:00:00Z",
        "Africa/Porto-Novo",
        Interval::Day,
        &ev,
    );
    assert_eq!(lengths_h(&r), vec![24, 24, 24]);
    assert_eq!(r.by_interval[1].start, at("2026-03-28T23:00:00Z"));
    assert_eq!(r.by_interval[1].tally.offered, 1);
    let o = report(
        "2026-10-24T23:00:00Z",
        "2026-10-25T23:00:00Z",
        "Africa/Porto-Novo",
        Interval::Hour,
        &ev,
    );
    assert_eq!(o.by_interval.len(), 24);
}

#[test]
fn the_same_instant_is_in_different_months_in_paris_and_porto_novo() {
    // 2026-06-30T22:30Z is 00:30 on 1 July in Paris (CEST), 23:30 on 30
    // June in Porto-Novo (WAT).
    let ev = calls(&["2026-06-30T22:30:00Z"]);
    let paris = report(
        "2026-05-31T22:00:00Z",
        "2026-07-31T22:00:00Z",
        "Europe/Paris",
        Interval::Month,
        &ev,
    );
    let pn = report(
        "2026-05-31T23:00:00Z",
        "2026-07-31T23:00:00Z",
        "Africa/Porto-Novo",
        Interval::Month,
        &ev,
    );
    let months = |r: &Report| {
        r.by_interval
            .iter()
            .map(|row| row.tally.offered)
            .collect::<Vec<_>>()
    };
    assert_eq!(months(&paris), vec![0, 1]);
    assert_eq!(months(&pn), vec![1, 0]);
    // Weeks start on Monday at local midnight: 29 June 2026 is a Monday.
    let w = report(
        "2026-06-28T22:00:00Z",
        "2026-07-05T22:00:00Z",
        "Europe/Paris",
        Interval::Week,
        &ev,
    );
    assert_eq!(w.by_interval[0].start, at("2026-06-28T22:00:00Z"));
    assert_eq!(lengths_h(&w), vec![168]);
}

#[test]
fn unknown_zone_and_empty_period_are_errors() {
    let e = ReportParams::new(
        at("2026-01-01T00:00:00Z"),
        at("2026-01-02T00:00:00Z"),
        "Mars/Olympus",
    );
    assert!(e.unwrap_err().to_string().contains("Mars/Olympus"));
    let e = ReportParams::new(
        at("2026-01-02T00:00:00Z"),
        at("2026-01-01T00:00:00Z"),
        "UTC",
    );
    assert!(matches!(e, Err(reports::ParamsError::EmptyPeriod { .. })));
}
