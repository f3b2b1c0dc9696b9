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
