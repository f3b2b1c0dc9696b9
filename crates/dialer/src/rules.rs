//! The rules a regulator checks: calling windows, attempts per 30 days,
//! the abandon cap (rolling 24 h and per 30-day period), retry rules.

use std::collections::VecDeque;

use domain::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

const DAY_MS: i64 = 86_400_000;

/// One calling interval of a weekday, in local minutes since midnight
/// (`start_min` inclusive, `end_min` exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    /// The day.
    pub day: Weekday,
    /// Start, minutes after local midnight.
    pub start_min: u16,
    /// End, minutes after local midnight (≤ 1440).
    pub end_min: u16,
}

/// Where a calling window's public holidays come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Holidays {
    /// None.
    None,
    /// The 11 French public holidays (Code du travail L3133-1), computed per year.
    France,
    /// An explicit list of local dates.
    List(Vec<Date>),
}

/// When a contact may be called, in the contact's own time zone.
///
/// Default ([`CallingWindow::france_2022_1313`]): décret n° 2022-1313 du 13
/// octobre 2022, art. 1–2: Monday to Friday 10:00–13:00 and 14:00–20:00, never
/// on Saturdays, Sundays or public holidays, at most 4 calls per 30 days.
#[derive(Clone, Debug, PartialEq)]
pub struct CallingWindow {
    /// Allowed intervals.
    pub intervals: Vec<Interval>,
    /// Days without calls.
    pub holidays: Holidays,
    /// Most attempts to one contact in any 30 days (décret 2022-1313 art. 2: 4).
    pub max_attempts_per_30d: u32,
}

impl CallingWindow {
    /// Décret 2022-1313 defaults (see the type).
    pub fn france_2022_1313() -> Self {
        let mut intervals = Vec::new();
        for day in [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ] {
            intervals.push(Interval {
                day,
                start_min: 600,
                end_min: 780,
            });
            intervals.push(Interval {
                day,
                start_min: 840,
                end_min: 1200,
            });
        }
        Self {
            intervals,
            holidays: Holidays::France,
            max_attempts_per_30d: 4,
        }
    }

    /// Every day, all day, no attempt limit (simulations, tests).
    pub fn always() -> Self {
        let intervals = (0..7)
            .map(|i| Interval {
                day: Weekday::from_monday_zero_offset(i).unwrap_or(Weekday::Monday),
                start_min: 0,
                end_min: 1440,
            })
            .collect();
        Self {
            intervals,
            holidays: Holidays::None,
            max_attempts_per_30d: u32::MAX,
        }
    }

    fn is_holiday(&self, d: Date) -> bool {
        match &self.holidays {
            Holidays::None => false,
            Holidays::France => french_holidays(d.year()).contains(&d),
            Holidays::List(l) => l.contains(&d),
        }
    }

    /// Whether `now` is inside the window in time zone `tz`.
    pub fn is_open(&self, now: Timestamp, tz: &TimeZone) -> bool {
        let Ok(ts) = jiff::Timestamp::from_millisecond(now.as_millis()) else {
            return false;
        };
        let dt = tz.to_datetime(ts);
        if self.is_holiday(dt.date()) {
            return false;
        }
        let m = u16::try_from(i32::from(dt.hour()) * 60 + i32::from(dt.minute())).unwrap_or(0);
        self.intervals
            .iter()
            .any(|i| i.day == dt.weekday() && i.start_min <= m && m < i.end_min)
    }

    /// The first instant at or after `now` inside the window, within 400
    /// days; `None` when the window is empty.
    pub fn next_open(&self, now: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        if self.is_open(now, tz) {
            return Some(now);
        }
        let ts = jiff::Timestamp::from_millisecond(now.as_millis()).ok()?;
        let today = tz.to_datetime(ts).date();
        let mut best: Option<Timestamp> = None;
        for d in 0..400 {
            let date = today.checked_add(jiff::Span::new().days(d)).ok()?;
            if self.is_holiday(date) {
                continue;
            }
            for i in self.intervals.iter().filter(|i| i.day == date.weekday()) {
                let local = date.at(
                    i8::try_from(i.start_min / 60).unwrap_or(0),
                    i8::try_from(i.start_min % 60).unwrap_or(0),
                    0,
                    0,
                );
                let start = tz.to_timestamp(local).ok()?.as_millisecond();
                let end_ms = start + i64::from(i.end_min - i.start_min) * 60_000;
                if end_ms > now.as_millis() {
                    let at = Timestamp::from_millis(start.max(now.as_millis()));
                    if best.is_none_or(|b| at < b) {
                        best = Some(at);
                    }
                }
            }
            if best.is_some() {
                return best;
            }
        }
        None
    }
}

/// Easter Sunday (anonymous Gregorian computus, Meeus/Jones/Butcher).
pub fn easter(year: i16) -> Option<Date> {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

/// The French public holidays of `year` (Code du travail, art. L3133-1).
pub fn french_holidays(year: i16) -> Vec<Date> {
    let mut v: Vec<Date> = [
        (1, 1),
        (5, 1),
        (5, 8),
        (7, 14),
        (8, 15),
        (11, 1),
        (11, 11),
        (12, 25),
    ]
    .iter()
    .filter_map(|&(m, d)| Date::new(year, m, d).ok())
    .collect();
    if let Some(e) = easter(year) {
        for off in [1, 39, 50] {
            if let Ok(d) = e.checked_add(jiff::Span::new().days(off)) {
                v.push(d);
            }
        }
    }
    v
}

/// The abandon cap of a campaign.
///
/// - Ofcom, *Revised statement of policy on the persistent misuse of an
///   electronic communications network or service* (2016), A1.13: abandoned
///   calls ≤ 3 % of live calls per campaign over any 24 hours.
/// - US FTC Telemarketing Sales Rule, 16 CFR 310.4(b)(4)(i): ≤ 3 % of calls
///   answered by a person, over the campaign if shorter than 30 days, else
///   over each successive 30-day period.
///
/// AMD false positives count as abandoned (Ofcom A1.14): a reasoned estimate
/// of the fraction of machine-classified answers that were people is added to
/// both the abandoned and the live counts.
#[derive(Clone, Debug, PartialEq)]
pub struct AbandonCap {
    /// Cap, % of live-answered calls (default 3.0).
    pub cap_pct: f64,
    /// Estimated AMD false-positive rate, fraction of machine answers (0–1).
    pub amd_false_positive_rate: f64,
}

impl Default for AbandonCap {
    fn default() -> Self {
        Self {
            cap_pct: 3.0,
            amd_false_positive_rate: 0.0,
        }
    }
}

/// Rolling counts of live answers and abandons of one campaign: per minute
/// for the rolling 24 h (a ring of at most 1 440 buckets; older buckets are
/// dropped), and per successive 30-day period since the campaign started.
#[derive(Clone, Debug)]
pub struct AbandonTracker {
    start: Timestamp,
    buckets: VecDeque<(i64, f64, f64)>,
    day_live: f64,
    day_abandoned: f64,
    period: i64,
    period_live: f64,
    period_abandoned: f64,
    /// Totals since the campaign started: (live, abandoned).
    pub total: (f64, f64),
}

/// What an [`AbandonTracker`] needs to go on after a restart, so that a
/// restart does not reset the abandon rate the cap is checked against
/// (Ofcom 2016 statement A1.3: 24 h; FTC TSR 16 CFR 310.4(b)(4)(i): 30 days).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AbandonHistory {
    /// When the campaign started: 30-day periods count from it.
    pub start: Timestamp,
    /// (minute since the Unix epoch, live answers, abandons) of the last
    /// 24 h, oldest first.
    pub minutes: Vec<(i64, f64, f64)>,
    /// The current 30-day period (0 = the first).
    pub period: i64,
    /// Live answers in the current period.
    pub period_live: f64,
    /// Abandons in the current period.
    pub period_abandoned: f64,
    /// Totals since the campaign started: (live, abandoned).
    pub total: (f64, f64),
}

impl AbandonTracker {
    /// The tracker's state, to store ([`AbandonTracker::restored`]).
    pub fn history(&self) -> AbandonHistory {
        AbandonHistory {
            start: self.start,
            minutes: self.buckets.iter().copied().collect(),
            period: self.period,
            period_live: self.period_live,
            period_abandoned: self.period_abandoned,
            total: self.total,
        }
    }

    /// A tracker that goes on from a stored `h` at `now`: minutes older
    /// than 24 h and a period that has ended are dropped.
    pub fn restored(h: AbandonHistory, now: Timestamp) -> Self {
        let mut t = Self {
            start: h.start,
            buckets: h.minutes.into_iter().collect(),
            day_live: 0.0,
            day_abandoned: 0.0,
            period: h.period,
            period_live: h.period_live,
            period_abandoned: h.period_abandoned,
            total: h.total,
        };
        t.day_live = t.buckets.iter().map(|b| b.1).sum();
        t.day_abandoned = t.buckets.iter().map(|b| b.2).sum();
        t.roll(now);
        t
    }

    /// A tracker for a campaign started at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            start,
            buckets: VecDeque::with_capacity(1441),
            day_live: 0.0,
            day_abandoned: 0.0,
            period: 0,
            period_live: 0.0,
            period_abandoned: 0.0,
            total: (0.0, 0.0),
        }
    }

    fn roll(&mut self, now: Timestamp) {
        let minute = now.as_millis().div_euclid(60_000);
        while let Some(&(m, l, a)) = self.buckets.front() {
            if m > minute - 1440 {
                break;
            }
            self.day_live -= l;
            self.day_abandoned -= a;
            self.buckets.pop_front();
        }
        let period = now.millis_since(self.start).max(0) / (30 * DAY_MS);
        if period != self.period {
            self.period = period;
            self.period_live = 0.0;
            self.period_abandoned = 0.0;
        }
    }

    /// Record `live` live answers and `abandoned` abandons at `now` (both may
    /// be fractional: AMD false-positive estimates).
    pub fn record(&mut self, now: Timestamp, live: f64, abandoned: f64) {
        self.roll(now);
        let minute = now.as_millis().div_euclid(60_000);
        match self.buckets.back_mut() {
            Some(b) if b.0 == minute => {
                b.1 += live;
                b.2 += abandoned;
            }
            _ => self.buckets.push_back((minute, live, abandoned)),
        }
        self.day_live += live;
        self.day_abandoned += abandoned;
        self.period_live += live;
        self.period_abandoned += abandoned;
        self.total.0 += live;
        self.total.1 += abandoned;
    }

    /// Abandon rate over the last 24 h, % (0 with no live answer).
    pub fn rate_24h_pct(&mut self, now: Timestamp) -> f64 {
        self.roll(now);
        pct(self.day_abandoned, self.day_live)
    }

    /// Abandon rate over the current 30-day period, %.
    pub fn rate_period_pct(&mut self, now: Timestamp) -> f64 {
        self.roll(now);
        pct(self.period_abandoned, self.period_live)
    }

    /// How many more abandons fit under `cap_pct` in both windows now,
    /// counting `extra_live` more live answers (may be negative).
    pub fn budget(&mut self, now: Timestamp, cap_pct: f64, extra_live: f64) -> f64 {
        self.roll(now);
        let c = cap_pct / 100.0;
        let day = c * (self.day_live + extra_live) - self.day_abandoned;
        let period = c * (self.period_live + extra_live) - self.period_abandoned;
        day.min(period)
    }
}

fn pct(a: f64, l: f64) -> f64 {
    if l <= 0.0 { 0.0 } else { 100.0 * a / l }
}

/// Retry of one outcome: wait `delay_s` seconds, at most `max` times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryRule {
    /// Delay before the next attempt, s.
    pub delay_s: u32,
    /// Most retries after this outcome.
    pub max: u32,
}

/// Retry rules per outcome, and the campaign's maximum attempts per contact.
/// A contact whose call was abandoned is never called again within 72 h
/// unless an agent is reserved for the call (Ofcom 2016 statement A1.16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryRules {
    /// After a busy line (default 10 min, 3 times).
    pub busy: RetryRule,
    /// After no answer (default 2 h, 3 times).
    pub no_answer: RetryRule,
    /// After an answering machine (default 4 h, 2 times).
    pub machine: RetryRule,
    /// After a failure (default 30 min, 2 times).
    pub failed: RetryRule,
    /// After an abandon (default 72 h, 1 time).
    pub abandoned: RetryRule,
    /// Most attempts per contact in all.
    pub max_attempts: u32,
}

impl Default for RetryRules {
    fn default() -> Self {
        Self {
            busy: RetryRule {
                delay_s: 600,
                max: 3,
            },
            no_answer: RetryRule {
                delay_s: 7_200,
                max: 3,
            },
            machine: RetryRule {
                delay_s: 14_400,
                max: 2,
            },
            failed: RetryRule {
                delay_s: 1_800,
                max: 2,
            },
            abandoned: RetryRule {
                delay_s: 72 * 3600,
                max: 1,
            },
            max_attempts: 6,
        }
    }
}

/// No repeat call to an abandoned number within 72 h unless an agent is
/// reserved (Ofcom 2016 statement A1.16), ms.
pub const ABANDON_QUIET_MS: i64 = 72 * 3_600_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn french_window_in_contact_zone() {
        let w = CallingWindow::france_2022_1313();
        let paris = jiff::tz::db().get("Europe/Paris").unwrap();
        // Tue 2026-12-01 09:30Z = 10:30 Paris: open
        assert!(w.is_open(ts("2026-12-01T09:30:00Z"), &paris));
        // 12:30Z = 13:30 Paris: lunch, closed
        assert!(!w.is_open(ts("2026-12-01T12:30:00Z"), &paris));
        assert_eq!(
            w.next_open(ts("2026-12-01T12:30:00Z"), &paris),
            Some(ts("2026-12-01T13:00:00Z"))
        );
        // Friday 19:30Z = 20:30 Paris: closed, next is Monday 10:00 Paris
        assert_eq!(
            w.next_open(ts("2026-12-04T19:30:00Z"), &paris),
            Some(ts("2026-12-07T09:00:00Z"))
        );
        // Christmas (Friday) closed; Saturday closed
        assert!(!w.is_open(ts("2026-12-25T10:00:00Z"), &paris));
        assert!(!w.is_open(ts("2026-12-05T10:00:00Z"), &paris));
        // Easter Monday 2026 = April 6
        assert_eq!(easter(2026), Date::new(2026, 4, 5).ok());
        assert!(!w.is_open(ts("2026-04-06T10:00:00Z"), &paris));
        // same instant, other zone: 09:30Z is 04:30 in New York
        let ny = jiff::tz::db().get("America/New_York").unwrap();
        assert!(!w.is_open(ts("2026-12-01T09:30:00Z"), &ny));
    }

    #[test]
    fn abandon_windows() {
        let t0 = ts("2026-12-01T09:00:00Z");
        let mut t = AbandonTracker::new(t0);
        t.record(t0, 100.0, 3.0);
        assert!((t.rate_24h_pct(t0) - 3.0).abs() < 1e-9);
        assert!(t.budget(t0, 3.0, 0.0).abs() < 1e-9);
        // 24 h later the day window is empty, the 30-day period is not
        let t1 = t0.add_millis(DAY_MS + 60_000);
        assert_eq!(t.rate_24h_pct(t1), 0.0);
        assert!((t.rate_period_pct(t1) - 3.0).abs() < 1e-9);
        // a new 30-day period starts afresh
        let t2 = t0.add_millis(30 * DAY_MS);
        assert_eq!(t.rate_period_pct(t2), 0.0);
        assert_eq!(t.total, (100.0, 3.0));
    }
}
