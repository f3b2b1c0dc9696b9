//! E.164 phone numbers (ITU-T E.164), normalised with the `phonenumber` crate
//! (a port of Google's libphonenumber metadata).
//!
//! `+229 97 00 00 00`, `0022997000000` and `97000000` (default country `BJ`)
//! all normalise to `+22997000000`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number in E.164 form: `+` then 8 to 15 digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// The E.164 text, e.g. `+22997000000`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;
    /// Accepts only numbers already in E.164 form (`+` and digits), strictly.
    fn try_from(s: String) -> Result<Self, PhoneError> {
        let digits = s
            .strip_prefix('+')
            .ok_or_else(|| PhoneError::Invalid(s.clone()))?;
        if (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s))
        } else {
            Err(PhoneError::Invalid(s))
        }
    }
}

/// Why a phone number could not be normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Not parseable as a phone number, or not a valid number for its country.
    #[error("invalid phone number {0:?}")]
    Invalid(String),
    /// A national number was given but no default country is configured.
    #[error("phone number {0:?} has no country code and no default country is set")]
    NoCountry(String),
    /// The default country is not an ISO 3166-1 alpha-2 code.
    #[error("unknown country code {0:?}")]
    UnknownCountry(String),
}

/// Normalise `input` to E.164.
///
/// Accepts `+CC…`, the international prefix `00CC…`, and national numbers
/// (with `default_country`, ISO 3166-1 alpha-2 such as `"BJ"`, `"FR"`). Spaces,
/// dots, dashes and parentheses are ignored.
///
/// # Errors
/// [`PhoneError`] when the input is not a valid number.
pub fn normalize_e164(
    input: &str,
    default_country: Option<&str>,
) -> Result<PhoneNumber, PhoneError> {
    let trimmed = input.trim();
    if trimmed.is_empty() || trimmed.len() > 32 {
        return Err(PhoneError::Invalid(input.to_string()));
    }
    let mut compact: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '/' | '\u{a0}'))
        .collect();
    if let Some(rest) = compact.strip_prefix("00") {
        compact = format!("+{rest}");
    }
    if !compact.starts_with('+') && !compact.chars().all(|c| c.is_ascii_digit()) {
        return Err(PhoneError::Invalid(input.to_string()));
    }
    let country = if compact.starts_with('+') {
        None
    } else {
        let code = default_country.ok_or_else(|| PhoneError::NoCountry(input.to_string()))?;
        Some(
            code.to_ascii_uppercase()
                .parse::<phonenumber::country::Id>()
                .map_err(|_| PhoneError::UnknownCountry(code.to_string()))?,
        )
    };
    let parsed = phonenumber::parse(country, &compact)
        .map_err(|_| PhoneError::Invalid(input.to_string()))?;
    // libphonenumber's metadata follows the current numbering plans; numbers
    // of a plan just replaced (Benin's 8-digit numbers before its 2024 move to
    // 10 digits, still printed on customer files) are kept when their length
    // is plausible (ITU-T E.164 §6: at most 15 digits in all).
    let national_len = parsed.national().value().to_string().len();
    if !phonenumber::is_valid(&parsed) && !(7..=12).contains(&national_len) {
        return Err(PhoneError::Invalid(input.to_string()));
    }
    let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
    PhoneNumber::try_from(e164)
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for PhoneNumber {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"^\+[0-9]{8,15}$"))
            .description(Some("E.164 phone number"))
            .examples([serde_json::json!("+2290197000001")])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for PhoneNumber {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn common_formats_agree() {
        let want = "+22997000000";
        for s in ["+229 97 00 00 00", "0022997000000", "+229-97.00.00.00"] {
            assert_eq!(normalize_e164(s, None).unwrap().as_str(), want, "{s}");
        }
        assert_eq!(
            normalize_e164("97000000", Some("BJ")).unwrap().as_str(),
            want
        );
        assert_eq!(
            normalize_e164("06 12 34 56 78", Some("fr"))
                .unwrap()
                .as_str(),
            "+33612345678"
        );
    }

    #[test]
    fn bad_numbers_are_errors() {
        assert!(matches!(
            normalize_e164("97000000", None),
            Err(PhoneError::NoCountry(_))
        ));
        assert!(matches!(
            normalize_e164("12", Some("BJ")),
            Err(PhoneError::Invalid(_))
        ));
        assert!(matches!(
            normalize_e164("call me", Some("BJ")),
            Err(PhoneError::Invalid(_))
        ));
        assert!(matches!(
            normalize_e164("97000000", Some("XX")),
            Err(PhoneError::UnknownCountry(_))
        ));
        assert!(PhoneNumber::try_from("22997000000".to_string()).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = normalize_e164(&s, Some("BJ"));
        }
    }
}
