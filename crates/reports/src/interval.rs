//! Interval boundaries in the site's time zone: 15 min and hours aligned on
//! the local clock, days cut at local midnight (23 or 25 h on the days the
//! clocks change), ISO weeks from Monday, calendar months.

use crate::params::{Interval, ParamsError};
use domain::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// The most interval rows one report may have (a year of 15-min rows).
pub const MAX_INTERVALS: usize = 366 * 96;

/// The interval boundaries covering `[from, to)`: `starts[i]..starts[i+1]`
/// is row `i`; the last boundary is at or after `to`. Lookups walk forward
/// from the last hit, so an ordered event stream costs O(1) per event.
#[derive(Clone, Debug)]
pub struct Buckets {
    bounds: Vec<Timestamp>,
    last: usize,
}

impl Buckets {
    /// Boundaries of the intervals that cover `[from, to)`.
    ///
    /// # Errors
    /// [`ParamsError::TooManyIntervals`] past [`MAX_INTERVALS`] rows.
    pub fn new(
        from: Timestamp,
        to: Timestamp,
        tz: &TimeZone,
        interval: Interval,
    ) -> Result<Self, ParamsError> {
        let mut bounds = vec![floor(from, tz, interval)];
        while *bounds.last().unwrap_or(&to) < to {
            let prev = *bounds.last().unwrap_or(&to);
            let next = next_start(prev, tz, interval);
            bounds.push(next);
            if bounds.len() > MAX_INTERVALS + 1 {
                return Err(ParamsError::TooManyIntervals {
                    rows: estimate_rows(from, to, interval),
                    max: MAX_INTERVALS,
                });
            }
        }
        Ok(Self { bounds, last: 0 })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }

    /// No rows (never: a period has at least one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(start, end)` of row `i`.
    pub fn row(&self, i: usize) -> (Timestamp, Timestamp) {
        (self.bounds[i], self.bounds[i + 1])
    }

    /// The row holding `t`, if it is inside the covered span.
    pub fn index(&mut self, t: Timestamp) -> Option<usize> {
        let n = self.len();
        if n == 0 || t < self.bounds[0] || t >= self.bounds[n] {
            return None;
        }
        let (s, e) = self.row(self.last);
        if s <= t && t < e {
            return Some(self.last);
        }
        if self.last + 1 < n && self.bounds[self.last + 1] <= t && t < self.bounds[self.last + 2] {
            self.last += 1;
            return Some(self.last);
        }
        // partition_point: first bound > t; the row is the one before it.
        let i = self.bounds.partition_point(|b| *b <= t) - 1;
        self.last = i;
        Some(i)
    }
}

fn estimate_rows(from: Timestamp, to: Timestamp, interval: Interval) -> usize {
    let ms = to.millis_since(from).max(0);
    let per = match interval {
        Interval::Min15 => 900_000,
        Interval::Hour => 3_600_000,
        Interval::Day => 86_400_000,
        Interval::Week => 7 * 86_400_000,
        Interval::Month => 28 * 86_400_000,
    };
    usize::try_from(ms / per + 1).unwrap_or(usize::MAX)
}

fn jts(t: Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(t.as_millis()).unwrap_or(if t.as_millis() < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    })
}

fn from_jts(t: jiff::Timestamp) -> Timestamp {
    Timestamp::from_millis(t.as_millisecond())
}

/// Local midnight starting `d` (the first instant of the day when midnight
/// falls in a DST gap).
fn day_start(d: Date, tz: &TimeZone) -> Timestamp {
    match d
        .to_zoned_datetime(tz.clone())
        .and_then(|z| z.start_of_day())
    {
        Ok(z) => from_jts(z.timestamp()),
        Err(_) => Timestamp::from_millis(0),
    }
}

/// Start of the interval holding `t`.
pub fn floor(t: Timestamp, tz: &TimeZone, interval: Interval) -> Timestamp {
    let ts = jts(t);
    match interval {
        Interval::Min15 | Interval::Hour => {
            let step: i64 = if interval == Interval::Min15 {
                900_000
            } else {
                3_600_000
            };
            let off = i64::from(tz.to_offset(ts).seconds()) * 1000;
            let local = t.as_millis() + off;
            Timestamp::from_millis(local - local.rem_euclid(step) - off)
        }
        Interval::Day | Interval::Week | Interval::Month => {
            let d = ts.to_zoned_datetime(tz.clone()).date();
            let d = match interval {
                Interval::Day => d,
                Interval::Week => {
                    let back = i64::from(d.weekday().to_monday_zero_offset());
                    d.checked_sub(jiff::Span::new().days(back)).unwrap_or(d)
                }
                _ => d.first_of_month(),
            };
            day_start(d, tz)
        }
    }
}

/// Start of the interval after the one starting at `start`.
pub fn next_start(start: Timestamp, tz: &TimeZone, interval: Interval) -> Timestamp {
    match interval {
        Interval::Min15 | Interval::Hour => {
            let step = if interval == Interval::Min15 {
                900_000
            } else {
                3_600_000
            };
            let n = floor(start.add_millis(step), tz, interval);
            // A backward offset change of less than a step (Lord Howe's
            // 30 min) could floor back before `start`: never go backwards.
            if n <= start {
                start.add_millis(step)
            } else {
                n
            }
        }
        Interval::Day | Interval::Week | Interval::Month => {
            let d = jts(start).to_zoned_datetime(tz.clone()).date();
            let span = match interval {
                Interval::Day => jiff::Span::new().days(1),
                Interval::Week => jiff::Span::new().weeks(1),
                _ => jiff::Span::new().months(1),
            };
            match d.checked_add(span) {
                Ok(n) => day_start(n, tz),
                Err(_) => start.add_millis(86_400_000),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn quarter_hours_follow_the_local_clock_in_india() {
        let tz = TimeZone::get("Asia/Kolkata").unwrap();
        // 10:07 UTC is 15:37 IST; the quarter starts 15:30 IST = 10:00 UTC.
        assert_eq!(
            floor(at("2026-06-01T10:07:00Z"), &tz, Interval::Min15),
            at("2026-06-01T10:00:00Z")
        );
        // The hour starts 15:00 IST = 09:30 UTC.
        assert_eq!(
            floor(at("2026-06-01T10:07:00Z"), &tz, Interval::Hour),
            at("2026-06-01T09:30:00Z")
        );
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        // Thursday 2026-12-03 → Monday 2026-11-30 00:00 CET.
        assert_eq!(
            floor(at("2026-12-03T12:00:00Z"), &tz, Interval::Week),
            at("2026-11-29T23:00:00Z")
        );
        assert_eq!(
            floor(at("2026-12-03T12:00:00Z"), &tz, Interval::Month),
            at("2026-11-30T23:00:00Z")
        );
        assert_eq!(
            next_start(at("2026-11-30T23:00:00Z"), &tz, Interval::Month),
            at("2026-12-31T23:00:00Z")
        );
    }

    #[test]
    fn lookups_find_every_row() {
        let tz = TimeZone::get("UTC").unwrap();
        let mut b = Buckets::new(
            at("2026-01-01T00:00:00Z"),
            at("2026-01-01T02:00:00Z"),
            &tz,
            Interval::Min15,
        )
        .unwrap();
        assert_eq!(b.len(), 8);
        assert_eq!(b.index(at("2026-01-01T01:59:59Z")), Some(7));
        assert_eq!(b.index(at("2026-01-01T00:00:00Z")), Some(0));
        assert_eq!(b.index(at("2026-01-01T00:16:00Z")), Some(1));
        assert_eq!(b.index(at("2026-01-01T00:31:00Z")), Some(2));
        assert_eq!(b.index(at("2026-01-01T02:00:00Z")), None);
        assert_eq!(b.index(at("2025-12-31T23:59:59Z")), None);
    }

    #[test]
    fn too_many_rows_is_an_error() {
        let tz = TimeZone::get("UTC").unwrap();
        let r = Buckets::new(
            at("2000-01-01T00:00:00Z"),
            at("2026-01-01T00:00:00Z"),
            &tz,
            Interval::Min15,
        );
        assert!(matches!(r, Err(ParamsError::TooManyIntervals { .. })));
    }
}
