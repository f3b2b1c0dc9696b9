//! Open-hours calendars for `condition` nodes (R1: closed hours): weekly
//! opening ranges in local time, a fixed UTC offset, and a holiday list.
//!
//! The offset is fixed (`+01:00` for Benin, `+00:00` for Senegal): the
//! operator's countries keep no daylight-saving time, and a fixed offset keeps
//! the core free of a time-zone database.

use crate::error::{Diag, Location};
use crate::yaml::Node;
use domain::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::Offset;
use serde::Serialize;

/// One calendar: `hours` per weekday (minutes since local midnight,
/// half-open `[start, end)`), holidays as local dates.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Calendar {
    /// UTC offset in seconds (east positive).
    pub utc_offset_s: i32,
    /// Opening ranges per weekday, Monday first, in minutes of the local day.
    pub hours: [Vec<(u16, u16)>; 7],
    /// Local dates on which the calendar is closed all day.
    #[serde(skip)]
    pub holidays: Vec<Date>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Calendar {
    fn local(&self, now: Timestamp) -> Option<jiff::civil::DateTime> {
        let ts = jiff::Timestamp::from_millisecond(now.as_millis()).ok()?;
        let off = Offset::from_seconds(self.utc_offset_s).ok()?;
        Some(off.to_datetime(ts))
    }

    /// True when `now` falls on a holiday of this calendar.
    pub fn is_holiday(&self, now: Timestamp) -> bool {
        self.local(now)
            .is_some_and(|dt| self.holidays.contains(&dt.date()))
    }

    /// True when `now` is inside an opening range and not a holiday.
    pub fn is_open(&self, now: Timestamp) -> bool {
        let Some(dt) = self.local(now) else {
            return false;
        };
        if self.holidays.contains(&dt.date()) {
            return false;
        }
        let day = match dt.weekday() {
            Weekday::Monday => 0,
            Weekday::Tuesday => 1,
            Weekday::Wednesday => 2,
            Weekday::Thursday => 3,
            Weekday::Friday => 4,
            Weekday::Saturday => 5,
            Weekday::Sunday => 6,
        };
        let minute = u16::try_from(i32::from(dt.hour()) * 60 + i32::from(dt.minute())).unwrap_or(0);
        self.hours[day]
            .iter()
            .any(|&(s, e)| s <= minute && minute < e)
    }

    /// Read a calendar mapping:
    /// `{utc_offset: "+01:00", hours: {mon-fri: "08:00-20:00", sat: ["09:00-12:00"]}, holidays: [2026-12-25]}`.
    pub(crate) fn parse(node: &Node, errs: &mut Vec<Diag>) -> Option<Calendar> {
        let mut f = match node.map("calendar") {
            Ok(f) => f,
            Err(e) => {
                errs.push(e);
                return None;
            }
        };
        let mut cal = Calendar {
            utc_offset_s: 0,
            hours: Default::default(),
            holidays: Vec::new(),
        };
        let mut ok = true;
        if let Some(n) = f.opt("utc_offset") {
            match n.text("utc_offset").ok().and_then(|t| parse_offset(&t)) {
                Some(s) => cal.utc_offset_s = s,
                None => {
                    errs.push(Diag::schema(n.loc, "`utc_offset` must look like +01:00"));
                    ok = false;
                }
            }
        }
        match f.req("hours").and_then(|n| n.entries("hours")) {
            Ok(entries) => {
                for (k, v) in entries {
                    let Some(days) = parse_days(&k.name) else {
                        errs.push(Diag::schema(
                            k.loc,
                            format!("unknown day or range `{}` (mon..sun, mon-fri)", k.name),
                        ));
                        ok = false;
                        continue;
                    };
                    for item in v.one_or_many() {
                        match item.text("hours").ok().and_then(|t| parse_range(&t)) {
                            Some(r) => {
                                for d in &days {
                                    cal.hours[*d].push(r);
                                }
                            }
                            None => {
                                errs.push(Diag::schema(
                                    item.loc,
                                    "opening range must look like 08:00-20:00",
                                ));
                                ok = false;
                            }
                        }
                    }
                }
            }
            Err(e) => {
                errs.push(e);
                ok = false;
            }
        }
        if let Some(n) = f.opt("holidays") {
            match n.seq("holidays") {
                Ok(items) => {
                    for i in items {
                        match i.text("holiday").ok().and_then(|t| t.parse::<Date>().ok()) {
                            Some(d) => cal.holidays.push(d),
                            None => {
                                errs.push(Diag::schema(i.loc, "holiday must be a date YYYY-MM-DD"));
                                ok = false;
                            }
                        }
                    }
                }
                Err(e) => {
                    errs.push(e);
                    ok = false;
                }
            }
        }
        f.finish(errs);
        ok.then_some(cal)
    }
}

fn parse_offset(t: &str) -> Option<i32> {
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    ((0..=14).contains(&h) && (0..60).contains(&m)).then_some(sign * (h * 3600 + m * 60))
}

fn parse_days(k: &str) -> Option<Vec<usize>> {
    let idx = |d: &str| DAYS.iter().position(|x| *x == d.trim());
    match k.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (idx(a)?, idx(b)?);
            (a <= b).then(|| (a..=b).collect())
        }
        None => Some(vec![idx(k)?]),
    }
}

fn hm(t: &str) -> Option<u16> {
    let (h, m) = t.trim().split_once(':')?;
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
}

fn parse_range(t: &str) -> Option<(u16, u16)> {
    let (a, b) = t.split_once('-')?;
    let (a, b) = (hm(a)?, hm(b)?);
    (a < b).then_some((a, b))
}

/// Location helper for callers that report on a calendar reference.
pub(crate) fn unknown_calendar(loc: Location, name: &str) -> Diag {
    Diag::invalid(loc, format!("unknown calendar `{name}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_document;

    fn cal() -> Calendar {
        let n = parse_document(
            "utc_offset: \"+01:00\"\nhours:\n  mon-fri: \"08:00-20:00\"\n  sat: [\"09:00-12:00\"]\nholidays: [2026-12-25]\n",
        )
        .unwrap();
        let mut errs = Vec::new();
        let c = Calendar::parse(&n, &mut errs).unwrap();
        assert!(errs.is_empty(), "{errs:?}");
        c
    }

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn open_hours_in_local_time() {
        let c = cal();
        // Monday 2026-11-30 07:30 UTC = 08:30 local: open.
        assert!(c.is_open(at("2026-11-30T07:30:00Z")));
        // 06:59 UTC = 07:59 local: closed.
        assert!(!c.is_open(at("2026-11-30T06:59:00Z")));
        // 19:00 UTC = 20:00 local: closed (half-open range).
        assert!(!c.is_open(at("2026-11-30T19:00:00Z")));
        // Saturday 11:00 local open, Sunday closed.
        assert!(c.is_open(at("2026-12-05T10:00:00Z")));
        assert!(!c.is_open(at("2026-12-06T10:00:00Z")));
        // Christmas (a Friday) closed, and flagged as holiday.
        assert!(!c.is_open(at("2026-12-25T10:00:00Z")));
        assert!(c.is_holiday(at("2026-12-25T10:00:00Z")));
        assert!(!c.is_holiday(at("2026-12-24T10:00:00Z")));
    }

    #[test]
    fn bad_calendar_fields_are_reported() {
        let n =
            parse_document("hours:\n  funday: \"08:00-09:00\"\n  mon: \"9h\"\nextra: 1\n").unwrap();
        let mut errs = Vec::new();
        assert!(Calendar::parse(&n, &mut errs).is_none());
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert_eq!(errs[0].loc.line, 2);
    }
}
