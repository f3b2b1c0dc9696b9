//! `switchboard report`: read the event log from the store, page by page,
//! into the `reports` fold, and render the report to xlsx or pdf. Thin: the
//! arithmetic is in `reports`, the rendering in its export features.

use domain::Timestamp;
use reports::{Lang, Report, ReportBuilder, ReportParams};
use store::{EventFilter, Store};

/// Events asked for per page (the store's cap).
const PAGE: i64 = 10_000;

/// Export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Excel workbook.
    Xlsx,
    /// PDF document.
    Pdf,
}

impl Format {
    /// `xlsx` or `pdf`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "xlsx" => Some(Format::Xlsx),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }
}

/// `2026-12-01` (local midnight in `tz`) or an RFC 3339 instant.
///
/// # Errors
/// A message naming the text when it is neither.
pub fn parse_when(s: &str, tz: &str) -> Result<Timestamp, String> {
    if let Ok(t) = Timestamp::parse_rfc3339(s) {
        return Ok(t);
    }
    let zone = jiff::tz::TimeZone::get(tz).map_err(|_| format!("unknown time zone {tz:?}"))?;
    let date: jiff::civil::Date = s
        .parse()
        .map_err(|_| format!("{s:?} is neither a date (2026-12-01) nor an RFC 3339 instant"))?;
    let z = date
        .to_zoned_datetime(zone)
        .and_then(|z| z.start_of_day())
        .map_err(|e| format!("{s:?}: {e}"))?;
    Ok(Timestamp::from_millis(z.timestamp().as_millisecond()))
}

/// Fold the events of `[params.from, params.to + FCR window)` into a report
/// (the window after the period lets FCR see repeat contacts). `progress`
/// shows a spinner with the events read on stderr.
///
/// # Errors
/// The store's error, as text.
pub async fn build(
    store: &dyn Store,
    params: ReportParams,
    progress: bool,
) -> Result<Report, String> {
    let until = params.to.add_millis(i64::from(params.fcr_window_s) * 1000);
    let from = params.from;
    let mut b = ReportBuilder::new(params).map_err(|e| e.to_string())?;
    let bar = if progress {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message("events read");
        Some(pb)
    } else {
        None
    };
    let mut after = None;
    loop {
        let page = store
            .list_events(&EventFilter {
                from: Some(from),
                to: Some(until),
                after_seq: after,
                limit: PAGE,
                ..EventFilter::default()
            })
            .await
            .map_err(|e| format!("reading the event log: {e}"))?;
        for e in &page {
            b.push(e);
        }
        if let Some(pb) = &bar {
            pb.inc(page.len() as u64);
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = Some(last.seq),
            _ => break,
        }
    }
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    Ok(b.finish())
}

/// Render `r` as `format` in `lang`.
///
/// # Errors
/// The exporter's error, as text.
pub fn render(r: &Report, format: Format, lang: Lang) -> Result<Vec<u8>, String> {
    match format {
        Format::Xlsx => reports::xlsx::to_xlsx(r, lang).map_err(|e| e.to_string()),
        Format::Pdf => reports::pdf::to_pdf(r, lang).map_err(|e| e.to_string()),
    }
}

/// `YYYY-MM-DD` of `t` in the zone `tz` (UTC when the zone is unknown).
pub fn local_date(t: Timestamp, tz: &str) -> String {
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(t.as_millis())
        .map(|ts| ts.to_zoned_datetime(zone).date().to_string())
        .unwrap_or_default()
}
