//! Contact lists from CSV and .xlsx (calamine), as pure functions over
//! bytes: every good row becomes an [`ImportedContact`] with its number in
//! E.164 ([`domain::phone::normalize_e164`]); every bad row is a
//! [`RowError`] with its line and reason; a number seen on an earlier row is
//! a [`Duplicate`]. Nothing is lost: each data row lands in exactly one of
//! the three lists.
//!
//! Columns are found by header (case-insensitive): `number` (or `phone`,
//! `telephone`, `msisdn`; required), `name`, `time_zone` (or `tz`; IANA,
//! default from [`ImportOptions`]), `consent` (`yes`/`no`/empty).

use std::collections::HashMap;
use std::io::Cursor;

use domain::PhoneNumber;
use domain::phone::normalize_e164;

use crate::model::{Consent, Contact, ContactId};

/// Import settings.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// ISO 3166-1 alpha-2 country for national numbers (e.g. `"FR"`).
    pub default_country: Option<String>,
    /// Time zone of rows without one.
    pub default_tz: jiff::tz::TimeZone,
    /// Most data rows read (bounds memory); further rows are errors.
    pub max_rows: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            default_country: None,
            default_tz: jiff::tz::TimeZone::UTC,
            max_rows: 1_000_000,
        }
    }
}

/// One good row.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedContact {
    /// Line in the file (1 = header).
    pub line: usize,
    /// E.164 number.
    pub number: PhoneNumber,
    /// Name, when given.
    pub name: Option<String>,
    /// Time zone.
    pub tz: jiff::tz::TimeZone,
    /// Consent.
    pub consent: Consent,
}

impl ImportedContact {
    /// The dialer's contact, with list row id `id`.
    pub fn to_contact(&self, id: ContactId) -> Contact {
        Contact {
            id,
            number: self.number.clone(),
            tz: self.tz.clone(),
            consent: self.consent,
            customer: None,
        }
    }
}

/// A bad row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// Line in the file.
    pub line: usize,
    /// Why (e.g. `invalid phone number "12"`).
    pub reason: String,
}

/// A row whose number an earlier row already has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    /// Line of the duplicate.
    pub line: usize,
    /// Line where the number was first seen.
    pub first_line: usize,
    /// The number.
    pub number: PhoneNumber,
}

/// The result of an import.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportReport {
    /// Good rows, in file order.
    pub contacts: Vec<ImportedContact>,
    /// Bad rows.
    pub errors: Vec<RowError>,
    /// Duplicate numbers.
    pub duplicates: Vec<Duplicate>,
}

/// A file that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// No header row, or no number column.
    #[error("no number column (expected a header with number, phone, telephone or msisdn)")]
    NoNumberColumn,
    /// Not a readable .xlsx workbook.
    #[error("not a readable .xlsx workbook: {0}")]
    Xlsx(String),
    /// The workbook has no sheet.
    #[error("the workbook has no sheet")]
    NoSheet,
}

struct Columns {
    number: usize,
    name: Option<usize>,
    tz: Option<usize>,
    consent: Option<usize>,
}

fn columns(header: &[String]) -> Result<Columns, ImportError> {
    let find = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.contains(&h.trim().to_ascii_lowercase().as_str()))
    };
    Ok(Columns {
        number: find(&["number", "phone", "telephone", "msisdn", "phone_number"])
            .ok_or(ImportError::NoNumberColumn)?,
        name: find(&["name", "full_name"]),
        tz: find(&["time_zone", "timezone", "tz"]),
        consent: find(&["consent"]),
    })
}

fn rows<I: Iterator<Item = (usize, Result<Vec<String>, String>)>>(
    mut it: I,
    o: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let header = match it.next() {
        Some((_, Ok(h))) => h,
        _ => return Err(ImportError::NoNumberColumn),
    };
    let cols = columns(&header)?;
    let mut rep = ImportReport::default();
    let mut seen: HashMap<PhoneNumber, usize> = HashMap::new();
    for (n, (line, row)) in it.enumerate() {
        if n >= o.max_rows {
            rep.errors.push(RowError {
                line,
                reason: format!("more than {} rows", o.max_rows),
            });
            continue;
        }
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                rep.errors.push(RowError { line, reason: e });
                continue;
            }
        };
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |i: Option<usize>| {
            i.and_then(|i| row.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        let Some(raw) = cell(Some(cols.number)) else {
            rep.errors.push(RowError {
                line,
                reason: "no phone number".into(),
            });
            continue;
        };
        let number = match normalize_e164(raw, o.default_country.as_deref()) {
            Ok(n) => n,
            Err(e) => {
                rep.errors.push(RowError {
                    line,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let tz = match cell(cols.tz) {
            None => o.default_tz.clone(),
            Some(name) => match jiff::tz::db().get(name) {
                Ok(tz) => tz,
                Err(_) => {
                    rep.errors.push(RowError {
                        line,
                        reason: format!("unknown time zone {name:?}"),
                    });
                    continue;
                }
            },
        };
        let consent = match cell(cols.consent).map(str::to_ascii_lowercase).as_deref() {
            None | Some("unknown") => Consent::Unknown,
            Some("yes" | "y" | "true" | "1" | "oui") => Consent::Given,
            Some("no" | "n" | "false" | "0" | "non") => Consent::Refused,
            Some(other) => {
                rep.errors.push(RowError {
                    line,
                    reason: format!("consent {other:?} is not yes or no"),
                });
                continue;
            }
        };
        if let Some(&first_line) = seen.get(&number) {
            rep.duplicates.push(Duplicate {
                line,
                first_line,
                number,
            });
            continue;
        }
        seen.insert(number.clone(), line);
        rep.contacts.push(ImportedContact {
            line,
            number,
            name: cell(cols.name).map(str::to_string),
            tz,
            consent,
        });
    }
    Ok(rep)
}

/// Parse a CSV list (comma, UTF-8, header row).
///
/// # Errors
/// [`ImportError::NoNumberColumn`] when the header has no number column;
/// bad rows are in the report, not errors.
pub fn parse_csv(bytes: &[u8], o: &ImportOptions) -> Result<ImportReport, ImportError> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let it = r.records().enumerate().map(|(i, rec)| {
        let line = rec
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(i + 1, |p| p.line() as usize);
        (
            line,
            rec.map(|r| r.iter().map(str::to_string).collect())
                .map_err(|e| e.to_string()),
        )
    });
    rows(it, o)
}

/// Parse the first sheet of an .xlsx workbook (header row first).
///
/// # Errors
/// [`ImportError::Xlsx`] when the bytes are not a workbook,
/// [`ImportError::NoSheet`], [`ImportError::NoNumberColumn`].
pub fn parse_xlsx(bytes: &[u8], o: &ImportOptions) -> Result<ImportReport, ImportError> {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| ImportError::Xlsx(e.to_string()))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or(ImportError::NoSheet)?
        .map_err(|e| ImportError::Xlsx(e.to_string()))?;
    let start = range.start().map_or(0, |(r, _)| r as usize);
    let it = range
        .rows()
        .enumerate()
        .map(|(i, row)| (start + i + 1, Ok(row.iter().map(cell_text).collect())));
    rows(it, o)
}

fn cell_text(c: &calamine::Data) -> String {
    match c {
        // numbers typed into Excel cells lose their leading + or 0: keep digits
        calamine::Data::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_errors_and_duplicates() {
        let csv = "Name,Phone,Time_zone,Consent\n\
                   Ada,06 12 34 56 78,Europe/Paris,yes\n\
                   Bob,12,,\n\
                   Cy,+33 6 12 34 56 78,,no\n\
                   Di,+22997000000,Mars/Olympus,\n\
                   Ed,,,\n\
                   Fay,0022997000001,Africa/Porto-Novo,maybe\n\
                   Gus,+22997000002,,\n";
        let o = ImportOptions {
            default_country: Some("FR".into()),
            ..ImportOptions::default()
        };
        let r = parse_csv(csv.as_bytes(), &o).unwrap();
        assert_eq!(r.contacts.len(), 2);
        assert_eq!(r.contacts[0].number.as_str(), "+33612345678");
        assert_eq!(r.contacts[0].line, 2);
        assert_eq!(r.contacts[0].consent, Consent::Given);
        assert_eq!(r.contacts[1].number.as_str(), "+22997000002");
        assert_eq!(r.contacts[1].line, 8);
        assert_eq!(
            r.duplicates,
            vec![Duplicate {
                line: 4,
                first_line: 2,
                number: r.contacts[0].number.clone()
            }]
        );
        let lines: Vec<usize> = r.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 5, 6, 7]);
        assert!(
            r.errors[0].reason.contains("invalid phone number"),
            "{:?}",
            r.errors[0]
        );
        assert!(r.errors[1].reason.contains("time zone"));
        assert!(r.errors[2].reason.contains("no phone number"));
        assert!(r.errors[3].reason.contains("consent"));
    }

    #[test]
    fn missing_number_column_and_bad_workbook() {
        assert!(matches!(
            parse_csv(b"name\nAda\n", &ImportOptions::default()),
            Err(ImportError::NoNumberColumn)
        ));
        assert!(matches!(
            parse_xlsx(b"not a zip", &ImportOptions::default()),
            Err(ImportError::Xlsx(_))
        ));
    }
}
