//! `switchboard import customers FILE.csv`: bulk customer import.
//!
//! The first line names the columns. Known columns: `name` (required),
//! `phone` / `phones` (several separated by `;`, any common format, national
//! numbers in the default country), `email` / `emails` (`;`-separated),
//! `segment` (`mass`, `business`, `vip`), `language` (BCP 47). Any other
//! column becomes a free attribute. Each bad row is reported with its line,
//! column and reason and skipped; the good rows are committed (in batches of
//! 500, each row on its own savepoint), so nothing is half-imported.

use domain::{PhoneNumber, Segment, Timestamp};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use store::{NewCustomer, Store, StoreError};

/// One rejected row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    /// The column at fault (or `row` for the whole row).
    pub column: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: column {}: {}",
            self.line, self.column, self.reason
        )
    }
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Rows committed.
    pub imported: usize,
    /// Rows rejected, in file order.
    pub rejected: Vec<RowError>,
}

/// Errors that stop the whole import.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read or has no usable header.
    #[error("{0}")]
    File(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Import customers from a CSV file.
///
/// # Errors
/// [`ImportError::File`] when the file cannot be opened or lacks a `name`
/// column; store errors. Bad rows are not errors: they are in the report.
pub async fn import_customers_csv(
    store: &dyn Store,
    path: &Path,
    default_country: &str,
    now: Timestamp,
    show_progress: bool,
) -> Result<ImportReport, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_path(path)
        .map_err(|e| ImportError::File(format!("{}: {e}", path.display())))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ImportError::File(format!("{}: header: {e}", path.display())))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    if !headers.iter().any(|h| h == "name") {
        return Err(ImportError::File(format!(
            "{}: no `name` column in the header",
            path.display()
        )));
    }
    let mut report = ImportReport::default();
    let mut good: Vec<(u64, NewCustomer)> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (i, rec) in reader.records().enumerate() {
        let fallback_line = i as u64 + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(fallback_line);
                report.rejected.push(RowError {
                    line,
                    column: "row".into(),
                    reason: csv_reason(&e),
                });
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(fallback_line);
        match parse_row(&headers, &rec, default_country) {
            Ok(c) => {
                // Duplicates inside the file are reported against the first occurrence.
                let dup = c
                    .phones
                    .iter()
                    .map(|p| ("phone", p.as_str().to_string()))
                    .chain(c.emails.iter().map(|e| ("email", e.clone())))
                    .find_map(|(k, v)| seen.get(&format!("{k}:{v}")).map(|first| (k, v, *first)));
                if let Some((k, v, first)) = dup {
                    report.rejected.push(RowError {
                        line,
                        column: k.into(),
                        reason: format!("{v} already appears on line {first}"),
                    });
                    continue;
                }
                for p in &c.phones {
                    seen.insert(format!("phone:{}", p.as_str()), line);
                }
                for e in &c.emails {
                    seen.insert(format!("email:{e}"), line);
                }
                good.push((line, c));
            }
            Err(e) => report.rejected.push(RowError { line, ..e }),
        }
    }
    let bar = if show_progress {
        ProgressBar::new(good.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} customers ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    for batch in good.chunks(500) {
        let rows: Vec<NewCustomer> = batch.iter().map(|(_, c)| c.clone()).collect();
        let results = store.import_customers(&rows, now).await?;
        for ((line, _), r) in batch.iter().zip(results) {
            match r {
                Ok(_) => report.imported += 1,
                Err(StoreError::Conflict(m)) => report.rejected.push(RowError {
                    line: *line,
                    column: m.split_whitespace().next().unwrap_or("row").to_string(),
                    reason: m,
                }),
                Err(e) => report.rejected.push(RowError {
                    line: *line,
                    column: "row".into(),
                    reason: e.to_string(),
                }),
            }
        }
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    report.rejected.sort_by_key(|e| e.line);
    Ok(report)
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("has {len} fields, the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".into(),
        _ => e.to_string(),
    }
}

fn split_list(v: &str) -> impl Iterator<Item = &str> {
    v.split(';').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_row(
    headers: &[String],
    rec: &csv::StringRecord,
    country: &str,
) -> Result<NewCustomer, RowError> {
    let err = |column: &str, reason: String| RowError {
        line: 0,
        column: column.into(),
        reason,
    };
    let mut c = NewCustomer::default();
    let mut attributes = BTreeMap::new();
    for (h, v) in headers.iter().zip(rec.iter()) {
        match h.as_str() {
            "name" => {
                if v.is_empty() || v.chars().count() > 200 {
                    return Err(err("name", "must be 1 to 200 characters".into()));
                }
                c.name = v.to_string();
            }
            "phone" | "phones" => {
                for p in split_list(v) {
                    let n: PhoneNumber = domain::phone::normalize_e164(p, Some(country))
                        .map_err(|e| err(h, e.to_string()))?;
                    if !c.phones.contains(&n) {
                        c.phones.push(n);
                    }
                }
            }
            "email" | "emails" => {
                let list: Vec<String> = split_list(v).map(String::from).collect();
                let parsed = crate::api::parse_emails(&list).map_err(|e| err(h, e.message))?;
                c.emails.extend(parsed);
            }
            "segment" => {
                if !v.is_empty() {
                    c.segment = Segment::parse(v).ok_or_else(|| {
                        err(
                            "segment",
                            format!("{v:?} is not one of mass, business, vip"),
                        )
                    })?;
                }
            }
            "language" => {
                if !v.is_empty() {
                    if v.len() > 12 || !v.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
                    {
                        return Err(err("language", format!("{v:?} is not a BCP 47 tag")));
                    }
                    c.language = Some(v.to_string());
                }
            }
            other => {
                if !v.is_empty() {
                    attributes.insert(other.to_string(), v.to_string());
                }
            }
        }
    }
    if c.phones.is_empty() && c.emails.is_empty() {
        return Err(err(
            "phone",
            "a customer needs at least one phone number or e-mail".into(),
        ));
    }
    c.attributes = attributes;
    Ok(c)
}
