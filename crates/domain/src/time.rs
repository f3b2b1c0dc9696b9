//! [`Timestamp`]: an instant in UTC with millisecond resolution.
//!
//! Stored as `i64` milliseconds since the Unix epoch in both database
//! backends; shown as RFC 3339 (`2026-11-29T21:00:00.123Z`) in JSON.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Milliseconds since 1970-01-01T00:00:00Z. The domain never reads the clock:
/// shells create timestamps and hand them in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// `self + ms` milliseconds (saturating).
    pub const fn add_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self` (negative if `earlier` is later).
    pub const fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The first local midnight strictly after `self` in `tz` (the start of
    /// the next calendar day there). Days are 23 or 25 hours long at DST
    /// changes, and where a day starts at 01:00 because midnight does not
    /// exist, that instant is returned (jiff's disambiguation). The engine
    /// resets its live "today" counters at this instant.
    ///
    /// ```
    /// use domain::Timestamp;
    /// let tz = jiff::tz::TimeZone::get("Africa/Porto-Novo").unwrap(); // UTC+1
    /// let t = Timestamp::parse_rfc3339("2026-12-04T22:30:00Z").unwrap();
    /// assert_eq!(t.next_local_midnight(&tz).to_string(), "2026-12-04T23:00:00Z");
    /// ```
    pub fn next_local_midnight(self, tz: &jiff::tz::TimeZone) -> Timestamp {
        let Ok(ts) = jiff::Timestamp::from_millisecond(self.0) else {
            return self.add_millis(86_400_000);
        };
        let local = ts.to_zoned_datetime(tz.clone());
        let next = local
            .date()
            .tomorrow()
            .and_then(|d| d.to_zoned_datetime(tz.clone()));
        match next {
            Ok(z) => Timestamp(z.timestamp().as_millisecond()),
            Err(_) => self.add_millis(86_400_000),
        }
    }

    /// Parse RFC 3339 (`2026-11-29T21:00:00Z`, offsets allowed).
    ///
    /// # Errors
    /// [`TimestampError`] when the text is not an RFC 3339 instant.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimestampError> {
        let ts: jiff::Timestamp = s.parse().map_err(|_| TimestampError(s.to_string()))?;
        Ok(Self(ts.as_millisecond()))
    }
}

/// Text that is not an RFC 3339 timestamp.
#[derive(Debug, thiserror::Error)]
#[error("not an RFC 3339 timestamp: {0:?}")]
pub struct TimestampError(pub String);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(ts) => write!(f, "{ts}"),
            Err(_) => write!(f, "{}ms", self.0),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    /// Accepts an RFC 3339 string or an integer of milliseconds.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Millis(i64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Millis(ms) => Ok(Self(ms)),
            Repr::Text(s) => Self::parse_rfc3339(&s).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some(
                "RFC 3339 instant in UTC (input also accepts integer ms since the Unix epoch)",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Days of 23 and 25 hours at the DST changes (Europe/Paris, 2026), 24
    /// hours where there is no DST (Africa/Porto-Novo).
    #[test]
    fn next_local_midnight_follows_the_zone() {
        let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        let spring = at("2026-03-29T10:00:00Z").next_local_midnight(&paris);
        assert_eq!(spring, at("2026-03-29T22:00:00Z"));
        let day_start = at("2026-03-28T23:00:00Z");
        assert_eq!(day_start.next_local_midnight(&paris), spring, "23 h day");
        assert_eq!(spring.millis_since(day_start), 23 * 3_600_000);
        let autumn_start = at("2026-10-24T22:00:00Z");
        let autumn_end = autumn_start.next_local_midnight(&paris);
        assert_eq!(autumn_end, at("2026-10-25T23:00:00Z"));
        assert_eq!(autumn_end.millis_since(autumn_start), 25 * 3_600_000);
        let pn = jiff::tz::TimeZone::get("Africa/Porto-Novo").unwrap();
        let t = at("2026-12-04T23:00:00Z");
        assert_eq!(t.next_local_midnight(&pn), at("2026-12-05T23:00:00Z"));
    }

    #[test]
    fn json_round_trip_is_rfc3339() {
        let t = Timestamp::from_millis(1_764_450_000_123);
        let j = serde_json::to_string(&t).unwrap();
        assert_eq!(j, "\"2025-11-29T21:00:00.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&j).unwrap(), t);
        assert_eq!(
            serde_json::from_str::<Timestamp>("42").unwrap().as_millis(),
            42
        );
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
