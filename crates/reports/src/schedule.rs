//! When a scheduled report runs and which period it covers (pure: the
//! caller gives `now` and sends what [`Schedule::period`] says).
//!
//! A schedule runs once per day, week (on Mondays) or month (on the 1st) at
//! a local time of day in an IANA zone, and reports on the last complete
//! period before the run: yesterday, last week (Monday to Monday) or last
//! month, cut at local midnight (so DST days have 23 or 25 hours).
//!
//! ```
//! use domain::Timestamp;
//! use reports::schedule::{Every, Schedule};
//!
//! let s = Schedule::new(Every::Day, "07:00", "Europe/Paris").unwrap();
//! // 2026-12-04 06:59 Paris: the next run is 07:00 the same day.
//! let now = Timestamp::parse_rfc3339("2026-12-04T05:59:00Z").unwrap();
//! let run = s.next_run(now).unwrap();
//! assert_eq!(run, Timestamp::parse_rfc3339("2026-12-04T06:00:00Z").unwrap());
//! // ... reporting on 2026-12-03, midnight to midnight in Paris.
//! let (from, to) = s.period(run).unwrap();
//! assert_eq!(from, Timestamp::parse_rfc3339("2026-12-02T23:00:00Z").unwrap());
//! assert_eq!(to, Timestamp::parse_rfc3339("2026-12-03T23:00:00Z").unwrap());
//! ```

use domain::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{ToSpan, ZonedDateTime};

/// How often a scheduled report runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    /// Every day, on yesterday.
    Day,
    /// Every Monday, on the week before (Monday 00:00 to Monday 00:00).
    Week,
    /// Every 1st of the month, on the month before.
    Month,
}

impl Every {
    /// `day`, `week` or `month`.
    pub fn parse(s: &str) -> Option<Every> {
        match s {
            "day" => Some(Every::Day),
            "week" => Some(Every::Week),
            "month" => Some(Every::Month),
            _ => None,
        }
    }
}

/// Why a schedule cannot be built or computed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    /// `at` is not `HH:MM`.
    #[error("at: {0:?} is not a time of day HH:MM")]
    BadTime(String),
    /// Not an IANA zone.
    #[error("unknown time zone {0:?}")]
    BadZone(String),
    /// Date arithmetic out of range.
    #[error("date out of range")]
    OutOfRange,
}

/// One scheduled report's timing.
#[derive(Clone, Debug)]
pub struct Schedule {
    every: Every,
    at: Time,
    tz: TimeZone,
}

impl Schedule {
    /// A schedule running `every` at local time `at` (`HH:MM`) in `tz`.
    ///
    /// # Errors
    /// [`ScheduleError::BadTime`], [`ScheduleError::BadZone`].
    pub fn new(every: Every, at: &str, tz: &str) -> Result<Schedule, ScheduleError> {
        let at: Time = at
            .parse()
            .ok()
            .filter(|_| at.len() == 5)
            .ok_or_else(|| ScheduleError::BadTime(at.to_string()))?;
        let tz = TimeZone::get(tz).map_err(|_| ScheduleError::BadZone(tz.to_string()))?;
        Ok(Schedule { every, at, tz })
    }

    /// The first run strictly after `now`. A local time skipped by a DST
    /// change runs at the first instant after the gap.
    ///
    /// # Errors
    /// [`ScheduleError::OutOfRange`].
    pub fn next_run(&self, now: Timestamp) -> Result<Timestamp, ScheduleError> {
        let today = self.zoned(now)?.date();
        // At most a month and a day ahead.
        let mut d = today;
        for _ in 0..33 {
            if self.runs_on(d) {
                let run = self.at_on(d)?;
                if run > now {
                    return Ok(run);
                }
            }
            d = d.tomorrow().map_err(|_| ScheduleError::OutOfRange)?;
        }
        Err(ScheduleError::OutOfRange)
    }

    /// The period a run at `run` reports on: `[from, to)`, `to` being the
    /// local midnight that starts the run's day (its Monday, its 1st).
    ///
    /// # Errors
    /// [`ScheduleError::OutOfRange`].
    pub fn period(&self, run: Timestamp) -> Result<(Timestamp, Timestamp), ScheduleError> {
        let day = self.zoned(run)?.date();
        let end = match self.every {
            Every::Day => day,
            Every::Week => {
                let back = i64::from(day.weekday().to_monday_zero_offset());
                day.checked_sub(back.days())
                    .map_err(|_| ScheduleError::OutOfRange)?
            }
            Every::Month => day.first_of_month(),
        };
        let start = match self.every {
            Every::Day => end.yesterday().map_err(|_| ScheduleError::OutOfRange)?,
            Every::Week => end
                .checked_sub(7.days())
                .map_err(|_| ScheduleError::OutOfRange)?,
            Every::Month => end
                .checked_sub(1.month())
                .map_err(|_| ScheduleError::OutOfRange)?,
        };
        Ok((self.midnight(start)?, self.midnight(end)?))
    }

    fn runs_on(&self, d: Date) -> bool {
        match self.every {
            Every::Day => true,
            Every::Week => d.weekday() == Weekday::Monday,
            Every::Month => d.day() == 1,
        }
    }

    fn zoned(&self, t: Timestamp) -> Result<ZonedDateTime, ScheduleError> {
        jiff::Timestamp::from_millisecond(t.as_millis())
            .map(|ts| ts.to_zoned_datetime(self.tz.clone()))
            .map_err(|_| ScheduleError::OutOfRange)
    }

    fn at_on(&self, d: Date) -> Result<Timestamp, ScheduleError> {
        let z = d
            .to_datetime(self.at)
            .to_zoned_datetime(self.tz.clone())
            .map_err(|_| ScheduleError::OutOfRange)?;
        Ok(Timestamp::from_millis(z.timestamp().as_millisecond()))
    }

    fn midnight(&self, d: Date) -> Result<Timestamp, ScheduleError> {
        let z = d
            .to_zoned_datetime(self.tz.clone())
            .and_then(|z| z.start_of_day())
            .map_err(|_| ScheduleError::OutOfRange)?;
        Ok(Timestamp::from_millis(z.timestamp().as_millisecond()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn bad_times_and_zones_are_refused() {
        assert_eq!(
            Schedule::new(Every::Day, "7h", "Europe/Paris").unwrap_err(),
            ScheduleError::BadTime("7h".into())
        );
        assert_eq!(
            Schedule::new(Every::Day, "25:00", "Europe/Paris").unwrap_err(),
            ScheduleError::BadTime("25:00".into())
        );
        assert_eq!(
            Schedule::new(Every::Day, "07:00", "Mars/Olympus").unwrap_err(),
            ScheduleError::BadZone("Mars/Olympus".into())
        );
    }

    #[test]
    fn a_daily_run_at_its_time_goes_to_the_next_day() {
        let s = Schedule::new(Every::Day, "07:00", "Africa/Porto-Novo").unwrap();
        // Exactly at 07:00 (06:00Z): the next run is tomorrow's.
        assert_eq!(
            s.next_run(t("2026-12-04T06:00:00Z")).unwrap(),
            t("2026-12-05T06:00:00Z")
        );
    }

    #[test]
    fn weekly_runs_on_monday_for_the_week_before() {
        let s = Schedule::new(Every::Week, "06:30", "Europe/Paris").unwrap();
        // Friday 2026-12-04 → Monday 2026-12-07 06:30 Paris (05:30Z).
        let run = s.next_run(t("2026-12-04T10:00:00Z")).unwrap();
        assert_eq!(run, t("2026-12-07T05:30:00Z"));
        let (from, to) = s.period(run).unwrap();
        assert_eq!(
            (from, to),
            (t("2026-11-29T23:00:00Z"), t("2026-12-06T23:00:00Z"))
        );
    }

    #[test]
    fn monthly_runs_on_the_first_for_the_month_before_across_dst() {
        let s = Schedule::new(Every::Month, "08:00", "Europe/Paris").unwrap();
        let run = s.next_run(t("2026-03-15T12:00:00Z")).unwrap();
        // 1 April is in summer time (UTC+2).
        assert_eq!(run, t("2026-04-01T06:00:00Z"));
        let (from, to) = s.period(run).unwrap();
        // March: from winter midnight (UTC+1) to summer midnight (UTC+2),
        // one hour short of 31 days.
        assert_eq!(
            (from, to),
            (t("2026-02-28T23:00:00Z"), t("2026-03-31T22:00:00Z"))
        );
        assert_eq!(to.millis_since(from), (31 * 24 - 1) * 3_600_000);
    }

    #[test]
    fn a_time_skipped_by_dst_runs_after_the_gap() {
        // 2026-03-29 02:30 does not exist in Paris (02:00 → 03:00).
        let s = Schedule::new(Every::Day, "02:30", "Europe/Paris").unwrap();
        let run = s.next_run(t("2026-03-28T12:00:00Z")).unwrap();
        assert_eq!(run, t("2026-03-29T01:30:00Z"), "03:30 summer time");
    }
}
