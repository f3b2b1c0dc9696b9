//! `GET /api/v1/reports/kpis`: the contact-center report of a period, as
//! JSON (for the `/reports` page's tables and charts), `.xlsx` or `.pdf`.
//! Thin: the events are read and folded by [`crate::report::build`]
//! (`reports` crate), the files rendered by its export features. Every
//! call is written to the audit trail (`exported`, with who, the format and
//! the period).

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiQuery, Auth, SourceAddr, SupervisorUp};
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use reports::labels::Unit;
use reports::{Interval, Lang, Report, ReportParams, SlFormula};
use serde::Deserialize;
use serde_json::{Value, json};

/// The query of a report.
#[derive(Deserialize, Debug, Default)]
#[serde(default)]
pub struct ReportQuery {
    /// Start: a date (`2026-12-01`, local midnight in `tz`) or an RFC 3339
    /// instant. Required.
    pub from: Option<String>,
    /// End (exclusive), same forms. Required.
    pub to: Option<String>,
    /// IANA time zone where days begin (default `UTC`).
    pub tz: Option<String>,
    /// `15min`, `hour`, `day` (default), `week`, `month`.
    pub interval: Option<String>,
    /// Only this queue (id).
    pub queue: Option<i64>,
    /// Service-level threshold T, s (default 20, at most 3600).
    pub sl_threshold: Option<u32>,
    /// Service-level formula ([`SlFormula::as_str`]).
    pub sl_formula: Option<String>,
    /// `fr` (default) or `en`: headings and formulas.
    pub lang: Option<String>,
    /// `json` (default), `xlsx` or `pdf`.
    pub format: Option<String>,
}

/// What the caller asked to receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Output {
    Json,
    File(crate::report::Format),
}

impl Output {
    fn as_str(self) -> &'static str {
        match self {
            Output::Json => "json",
            Output::File(crate::report::Format::Xlsx) => "xlsx",
            Output::File(crate::report::Format::Pdf) => "pdf",
        }
    }
}

/// Check the query and turn it into report parameters.
fn params_of(q: &ReportQuery, site_tz: &str) -> Result<(ReportParams, Lang, Output), ApiError> {
    let tz = q.tz.as_deref().unwrap_or(site_tz);
    let from = q
        .from
        .as_deref()
        .ok_or_else(|| ApiError::invalid("from is required (a date or an RFC 3339 instant)"))?;
    let to =
        q.to.as_deref()
            .ok_or_else(|| ApiError::invalid("to is required (a date or an RFC 3339 instant)"))?;
    let from =
        crate::report::parse_when(from, tz).map_err(|e| ApiError::invalid(format!("from: {e}")))?;
    let to =
        crate::report::parse_when(to, tz).map_err(|e| ApiError::invalid(format!("to: {e}")))?;
    let mut p = ReportParams::new(from, to, tz).map_err(|e| ApiError::invalid(e.to_string()))?;
    if let Some(i) = &q.interval {
        p.interval = Interval::parse(i).ok_or_else(|| {
            ApiError::invalid(format!(
                "interval {i:?}: one of 15min, hour, day, week, month"
            ))
        })?;
    }
    if let Some(t) = q.sl_threshold {
        if !(1..=3600).contains(&t) {
            return Err(ApiError::invalid("sl_threshold: 1 to 3600 s"));
        }
        p.sl_threshold_s = t;
    }
    if let Some(f) = &q.sl_formula {
        p.sl_formula = SlFormula::parse(f).ok_or_else(|| {
            ApiError::invalid(format!(
                "sl_formula {f:?}: one of {}",
                SlFormula::ALL.map(SlFormula::as_str).join(", ")
            ))
        })?;
    }
    p.queue = q.queue.map(domain::QueueId);
    let lang = match q.lang.as_deref() {
        None => Lang::Fr,
        Some(l) => Lang::parse(l).ok_or_else(|| ApiError::invalid("lang: fr or en"))?,
    };
    let out = match q.format.as_deref() {
        None | Some("json") => Output::Json,
        Some(f) => Output::File(
            crate::report::Format::parse(f)
                .ok_or_else(|| ApiError::invalid("format: json, xlsx or pdf"))?,
        ),
    };
    // Refuse an impossible interval count before reading any event.
    reports::ReportBuilder::new(p.clone()).map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok((p, lang, out))
}

fn unit_name(u: Unit) -> &'static str {
    match u {
        Unit::Count => "count",
        Unit::Percent => "percent",
        Unit::Seconds => "seconds",
        Unit::Score => "score",
    }
}

/// The report as JSON: parameters, formulas, every table, and the
/// per-interval series the page charts.
pub fn report_json(r: &Report, lang: Lang) -> Value {
    let tables: Vec<Value> = r
        .tables(lang)
        .into_iter()
        .map(|t| {
            json!({
                "id": t.id,
                "title": t.title,
                "key_heading": t.key_heading,
                "headings": t.headings,
                "units": t.units.iter().map(|u| unit_name(*u)).collect::<Vec<_>>(),
                "rows": t.rows.iter().map(|(label, cells)| json!({"label": label, "values": cells})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let f = r.params.sl_formula;
    let series: Vec<Value> = r
        .by_interval
        .iter()
        .map(|row| {
            json!({
                "start": row.start.to_string(),
                "start_ms": row.start.as_millis(),
                "label": reports::table::local_label(r, row.start),
                "offered": row.tally.offered,
                "answered": row.tally.answered,
                "service_level_pct": row.tally.service_level(f),
                "aht_s": row.tally.aht_s(),
            })
        })
        .collect();
    json!({
        "params": {
            "from": r.params.from.to_string(),
            "to": r.params.to.to_string(),
            "tz": r.params.tz_name,
            "interval": r.params.interval.as_str(),
            "sl_threshold_s": r.params.sl_threshold_s,
            "sl_formula": f.as_str(),
            "short_abandon_s": r.params.short_abandon_s,
            "fcr_window_s": r.params.fcr_window_s,
            "queue": r.params.queue.map(|q| q.0),
        },
        "formulas": r.params.formulas(lang).into_iter().map(|(k, v)| json!({"name": k, "formula": v})).collect::<Vec<_>>(),
        "tables": tables,
        "intervals": series,
        "events_read": r.events_read,
        "events_ignored": r.events_ignored,
    })
}

/// Contact-center report of a period (supervisors and admins): KPIs per
/// queue, agent, channel, interval, pauses, with the formula and
/// parameters of each KPI. `format=json` (default) for the page,
/// `xlsx`/`pdf` for a download. Audited as `exported`.
#[utoipa::path(get, path = "/api/v1/reports/kpis",
    params(
        ("from" = String, Query, description = "start: 2026-12-01 (local midnight in tz) or RFC 3339"),
        ("to" = String, Query, description = "end (exclusive), same forms"),
        ("tz" = Option<String>, Query, description = "IANA time zone, default the site's (`[site] time_zone`)"),
        ("interval" = Option<String>, Query, description = "15min, hour, day (default), week, month"),
        ("queue" = Option<i64>, Query, description = "only this queue"),
        ("sl_threshold" = Option<u32>, Query, description = "service-level threshold T, s (default 20)"),
        ("sl_formula" = Option<String>, Query, description = "service-level formula id"),
        ("lang" = Option<String>, Query, description = "fr (default) or en"),
        ("format" = Option<String>, Query, description = "json (default), xlsx or pdf"),
    ),
    responses((status = 200, description = "the report (JSON, xlsx or pdf)"), (status = 422, description = "bad parameters")),
    tag = "reports", security(("bearer" = [])))]
pub async fn kpis(
    State(s): State<AppState>,
    auth: Auth<SupervisorUp>,
    source: SourceAddr,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let (params, lang, out) = params_of(&q, &s.settings.site.time_zone).inspect_err(|e| {
        tracing::info!(error = %e.message, "report refused");
    })?;
    let detail = json!({
        "format": out.as_str(),
        "from": params.from.to_string(),
        "to": params.to.to_string(),
        "tz": params.tz_name,
        "interval": params.interval.as_str(),
        "queue": params.queue.map(|q| q.0),
        "lang": match lang { Lang::Fr => "fr", Lang::En => "en" },
    });
    let report = crate::report::build(&*s.store, params, false)
        .await
        .map_err(ApiError::internal)?;
    let mut e = crate::security::entry(
        crate::now(),
        Some(auth.user.id),
        store::AuditAction::Exported,
        format!("report:kpis.{}", out.as_str()),
        source.0,
    );
    e.after = Some(detail);
    crate::security::audit(&*s.store, e).await;
    tracing::info!(user = %auth.user.username, format = out.as_str(), events = report.events_read, "report served");
    let fmt = match out {
        Output::Json => return Ok(axum::Json(report_json(&report, lang)).into_response()),
        Output::File(f) => f,
    };
    let name = format!(
        "report-{}-{}.{}",
        reports::table::local_label(&report, report.params.from)
            .split(' ')
            .next()
            .unwrap_or("period"),
        reports::table::local_label(&report, report.params.to)
            .split(' ')
            .next()
            .unwrap_or("period"),
        out.as_str()
    );
    let bytes = tokio::task::spawn_blocking(move || crate::report::render(&report, fmt, lang))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let ty = match fmt {
        crate::report::Format::Xlsx => {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        }
        crate::report::Format::Pdf => "application/pdf",
    };
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(ty));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> ReportQuery {
        let s: String = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let uri: axum::http::Uri = format!("/r?{s}").parse().unwrap();
        axum::extract::Query::<ReportQuery>::try_from_uri(&uri)
            .unwrap()
            .0
    }

    #[test]
    fn bad_queries_are_refused_with_the_reason() {
        let e = params_of(&q(&[("to", "2026-12-02")]), "UTC").unwrap_err();
        assert!(e.message.contains("from is required"), "{}", e.message);
        let e = params_of(&q(&[("from", "2026-12-02"), ("to", "2026-12-01")]), "UTC").unwrap_err();
        assert!(e.message.contains("empty or reversed"), "{}", e.message);
        let e = params_of(
            &q(&[
                ("from", "2026-12-01"),
                ("to", "2026-12-02"),
                ("interval", "year"),
            ]),
            "UTC",
        )
        .unwrap_err();
        assert!(e.message.contains("interval"), "{}", e.message);
        let e = params_of(
            &q(&[
                ("from", "2026-12-01"),
                ("to", "2026-12-02"),
                ("format", "doc"),
            ]),
            "UTC",
        )
        .unwrap_err();
        assert!(e.message.contains("format"), "{}", e.message);
        let e = params_of(
            &q(&[
                ("from", "2026-12-01"),
                ("to", "2026-12-02"),
                ("tz", "Mars/Olympus"),
            ]),
            "UTC",
        )
        .unwrap_err();
        assert!(e.message.contains("Mars/Olympus"), "{}", e.message);
        let e = params_of(
            &q(&[
                ("from", "2020-01-01"),
                ("to", "2026-01-01"),
                ("interval", "15min"),
            ]),
            "UTC",
        )
        .unwrap_err();
        assert!(e.message.contains("at most"), "{}", e.message);
    }

    #[test]
    fn a_good_query_becomes_parameters() {
        let (p, lang, out) = params_of(
            &q(&[
                ("from", "2026-12-01"),
                ("to", "2026-12-02"),
                ("tz", "Europe/Paris"),
                ("interval", "hour"),
                ("queue", "3"),
                ("sl_threshold", "30"),
                ("lang", "en"),
                ("format", "xlsx"),
            ]),
            "UTC",
        )
        .unwrap();
        assert_eq!(p.from.to_string(), "2026-11-30T23:00:00Z");
        assert_eq!(p.interval, Interval::Hour);
        assert_eq!(p.queue, Some(domain::QueueId(3)));
        assert_eq!(p.sl_threshold_s, 30);
        assert_eq!(lang, Lang::En);
        assert_eq!(out, Output::File(crate::report::Format::Xlsx));
        // Without `tz`, days are cut in the site's time zone (UTC+1 here).
        let (p, _, _) = params_of(
            &q(&[("from", "2026-12-01"), ("to", "2026-12-02")]),
            "Africa/Porto-Novo",
        )
        .unwrap();
        assert_eq!(p.from.to_string(), "2026-11-30T23:00:00Z");
    }
}

/// A scheduled report (`[[reports.schedules]]`).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ScheduledReport {
    /// Name.
    pub name: String,
    /// `day`, `week` or `month`.
    pub every: String,
    /// Local time of day it runs, `HH:MM` in `[site] time_zone`.
    pub at: String,
    /// `xlsx` or `pdf`.
    pub format: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Next run (RFC 3339).
    pub next_run: Option<domain::Timestamp>,
}

/// The scheduled reports and when each runs next.
#[utoipa::path(get, path = "/api/v1/reports/schedules",
    responses((status = 200, body = Vec<ScheduledReport>), (status = 422, body = super::error::ErrorBody)),
    tag = "reports", security(("bearer" = [])))]
pub async fn schedules(
    State(s): State<AppState>,
    _auth: Auth<SupervisorUp>,
) -> ApiResult<axum::Json<Vec<ScheduledReport>>> {
    let jobs = crate::scheduled_reports::jobs(&s.settings).map_err(ApiError::invalid)?;
    let now = crate::now();
    Ok(axum::Json(
        s.settings
            .reports
            .schedules
            .iter()
            .zip(jobs)
            .map(|(c, j)| ScheduledReport {
                name: c.name.clone(),
                every: c.every.clone(),
                at: c.at.clone(),
                format: c.format.clone(),
                to: c.to.clone(),
                next_run: j.schedule.next_run(now).ok(),
            })
            .collect(),
    ))
}

/// What a run sent.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ScheduledRun {
    /// The period reported on: start (RFC 3339).
    pub from: domain::Timestamp,
    /// … and end (exclusive).
    pub to: domain::Timestamp,
}

/// Run a scheduled report now (the period its run today would cover: the
/// last complete day, week or month) and e-mail it; audited as an export.
/// 404 for an unknown name, 502 when the mail relay refuses.
#[utoipa::path(post, path = "/api/v1/reports/schedules/{name}/run", params(("name" = String, Path, description = "schedule name")),
    responses((status = 200, body = ScheduledRun), (status = 404, body = super::error::ErrorBody), (status = 502, body = super::error::ErrorBody)),
    tag = "reports", security(("bearer" = [])))]
pub async fn run_schedule(
    State(s): State<AppState>,
    auth: Auth<SupervisorUp>,
    source: SourceAddr,
    super::extract::ApiPath(name): super::extract::ApiPath<String>,
) -> ApiResult<axum::Json<ScheduledRun>> {
    let jobs = crate::scheduled_reports::jobs(&s.settings).map_err(ApiError::invalid)?;
    let job = jobs
        .iter()
        .find(|j| j.name == name)
        .ok_or_else(|| ApiError::not_found(format!("no scheduled report named {name:?}")))?;
    let (from, to) = crate::scheduled_reports::run(&*s.store, &s.settings, job, crate::now())
        .await
        .map_err(|e| ApiError::new(axum::http::StatusCode::BAD_GATEWAY, "not_sent", e))?;
    let mut e = crate::security::entry(
        crate::now(),
        Some(auth.user.id),
        store::AuditAction::Exported,
        format!("report:{name}"),
        source.0,
    );
    e.after = Some(json!({ "from": from, "to": to, "to_addresses": job.to }));
    crate::security::audit(&*s.store, e).await;
    Ok(axum::Json(ScheduledRun { from, to }))
}
