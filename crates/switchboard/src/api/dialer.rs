//! Outbound voice campaigns (issue 15): start one from a contact list (CSV
//! text), add contacts from an uploaded .csv or .xlsx file, pause, resume
//! or stop it, read its figures. The dialer itself runs in the engine,
//! which keeps the campaigns in the store across restarts.

use super::AppState;
use super::agent::engine;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, Auth, SupervisorUp};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// Dialling mode.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModeInput {
    /// The agent sees the contact first, then the call starts after
    /// `preview_auto_dial_s` (or when the agent clicks Call).
    Preview,
    /// One call per available agent.
    Progressive,
    /// More calls than free agents, paced to keep abandons under the cap.
    Predictive,
}

/// When contacts may be called.
#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowInput {
    /// French rules (décret 2022-1313): weekdays 10:00–13:00 and
    /// 14:00–20:00 in the contact's time zone, no Sundays or public holidays.
    #[default]
    France,
    /// Any time (tests, consenting customers who asked for a call).
    Always,
}

/// A campaign to start.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DialCampaignInput {
    /// Name shown to supervisors.
    pub name: String,
    /// The queue whose agents take its calls (name).
    pub queue: String,
    /// Dialling mode.
    pub mode: ModeInput,
    /// Calling window (default `france`).
    #[serde(default)]
    pub window: WindowInput,
    /// Ring time before no answer, s (15–60, default 20; Ofcom A1.20: at
    /// least 15 s).
    #[serde(default)]
    pub ring_timeout_s: Option<u32>,
    /// Auto-dial delay of preview mode, s.
    #[serde(default)]
    pub preview_auto_dial_s: Option<u32>,
    /// The SMS sent after a busy, no-answer or answering-machine attempt,
    /// with `{{reason}}` and `{{number}}` placeholders; `""` for none.
    /// Absent: a default French text when an SMS channel
    /// (`[channels.smpp]`) is enabled, else none.
    #[serde(default)]
    pub follow_up_sms: Option<String>,
    /// What the agent says, on the outbound card of the screen-pop, with
    /// `{{name}}`, `{{number}}` and `{{campaign}}` placeholders.
    #[serde(default)]
    pub script: Option<String>,
    /// Contact list: CSV text with a header naming a `number` (or `phone`,
    /// `telephone`, `msisdn`) column; optional `name`, `tz`, `consent`.
    /// Absent: the campaign starts with an empty list, filled by uploads
    /// (`POST /api/v1/dialer/campaigns/{id}/contacts`, .csv or .xlsx).
    #[serde(default)]
    pub contacts_csv: Option<String>,
}

/// A bad row of the list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RowProblem {
    /// Line in the CSV (1 = header).
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// The started campaign.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DialCampaignStarted {
    /// Campaign id.
    pub id: u32,
    /// Contacts loaded.
    pub contacts: usize,
    /// Rows refused (bad numbers) and duplicates skipped.
    pub rejected: Vec<RowProblem>,
}

/// A running campaign's figures.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DialCampaignFigures {
    /// Campaign id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// `running`, `paused` or `stopped`.
    pub state: String,
    /// Contacts on its list.
    pub contacts: usize,
    /// Calls placed.
    pub dialed: u64,
    /// Live answers.
    pub live: u64,
    /// Machine answers (AMD).
    pub machine: u64,
    /// Busy.
    pub busy: u64,
    /// No answer.
    pub no_answer: u64,
    /// Failed.
    pub failed: u64,
    /// Abandoned: answered, no agent within 2 s (or the person hung up first).
    pub abandoned: u64,
    /// Connected to an agent.
    pub connected: u64,
    /// Abandoned ÷ live answers, % (the regulated drop rate).
    pub drop_rate_pct: f64,
    /// Abandoned ÷ live answers over the last 24 h, % (what the cap is
    /// checked against; kept across restarts).
    pub abandon_24h_pct: f64,
    /// The same over the current 30-day period, %.
    pub abandon_period_pct: f64,
    /// Agents logged in for the campaign (serving its queue).
    pub agents: u32,
    /// … of whom free for its next call.
    pub agents_free: u32,
    /// Calls ringing or answered and waiting for an agent.
    pub calls_in_flight: u32,
    /// Calls allowed in flight per logged-in agent at the last pacing step.
    pub dial_level: f64,
}

/// Start an outbound voice campaign: the list is checked row by row (bad
/// rows are reported, the others loaded), then the dialer starts at once.
#[utoipa::path(post, path = "/api/v1/dialer/campaigns", request_body = DialCampaignInput,
    responses((status = 201, body = DialCampaignStarted), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)), tag = "dialer", security(("bearer" = [])))]
pub async fn start(
    State(s): State<AppState>,
    _auth: Auth<SupervisorUp>,
    ApiJson(i): ApiJson<DialCampaignInput>,
) -> ApiResult<(StatusCode, Json<DialCampaignStarted>)> {
    let engine = engine(&s)?;
    if i.name.trim().is_empty() {
        return Err(ApiError::invalid("name: required"));
    }
    let queue = s
        .store
        .list_queues()
        .await?
        .into_iter()
        .find(|q| q.name == i.queue)
        .ok_or_else(|| ApiError::invalid(format!("queue: no queue named {:?}", i.queue)))?;
    let trunk = s
        .settings
        .sip
        .trunks
        .iter()
        .find(|t| t.outbound.is_some())
        .ok_or_else(|| ApiError::invalid("no SIP trunk with an outbound address is configured"))?;
    let ring = i.ring_timeout_s.unwrap_or(20);
    if !(15..=60).contains(&ring) {
        return Err(ApiError::invalid("ring_timeout_s: 15 to 60"));
    }
    let opts = dialer::import::ImportOptions {
        default_country: Some(s.settings.phone.default_country.clone()),
        max_rows: 200_000,
        ..Default::default()
    };
    let report = match &i.contacts_csv {
        Some(csv) => {
            let r = dialer::import::parse_csv(csv.as_bytes(), &opts)
                .map_err(|e| ApiError::invalid(format!("contacts_csv: {e}")))?;
            if r.contacts.is_empty() {
                return Err(ApiError::invalid("contacts_csv: no valid row"));
            }
            r
        }
        None => dialer::import::ImportReport::default(),
    };
    let mut rejected: Vec<RowProblem> = report
        .errors
        .iter()
        .map(|e| RowProblem {
            line: e.line,
            reason: e.reason.clone(),
        })
        .collect();
    rejected.extend(report.duplicates.iter().map(|d| RowProblem {
        line: d.line,
        reason: format!("duplicate of line {} ({})", d.first_line, d.number),
    }));
    let mut contacts: Vec<dialer::Contact> = report
        .contacts
        .iter()
        .enumerate()
        .map(|(n, c)| c.to_contact(dialer::ContactId(n as i64 + 1)))
        .collect();
    link_customers(&s, &mut contacts).await?;
    let settings = engine::DialSettings {
        mode: match i.mode {
            ModeInput::Preview => engine::DialModeSetting::Preview,
            ModeInput::Progressive => engine::DialModeSetting::Progressive,
            ModeInput::Predictive => engine::DialModeSetting::Predictive,
        },
        window: match i.window {
            WindowInput::France => engine::WindowSetting::France,
            WindowInput::Always => engine::WindowSetting::Always,
        },
        ring_timeout_s: ring,
        preview_auto_dial_s: i.preview_auto_dial_s,
        follow_up_sms: match i.follow_up_sms {
            Some(t) if t.trim().is_empty() => None,
            Some(t) => Some(t),
            None if s.settings.channels.smpp.enabled => {
                Some(engine::DEFAULT_FOLLOW_UP_SMS.to_string())
            }
            None => None,
        },
        script: i.script,
    };
    if let Some(e) = settings.text_error() {
        return Err(ApiError::invalid(e));
    }
    let n = contacts.len();
    let id = engine
        .start_campaign(engine::DialCampaign {
            name: i.name.trim().to_string(),
            queue: queue.id,
            trunk: trunk.name.clone(),
            caller_id: trunk.caller_id.clone(),
            settings,
            contacts,
        })
        .await?;
    tracing::info!(campaign = %id, contacts = n, rejected = rejected.len(), "dialer campaign started");
    Ok((
        StatusCode::CREATED,
        Json(DialCampaignStarted {
            id: id.0,
            contacts: n,
            rejected,
        }),
    ))
}

/// Link each contact to the customer owning its number (E.164), so that
/// the list shows who they are and the screen-pop has the record.
async fn link_customers(s: &AppState, contacts: &mut [dialer::Contact]) -> ApiResult<()> {
    let phones: Vec<_> = contacts.iter().map(|c| c.number.clone()).collect();
    let owners = s.store.customers_by_phones(&phones).await?;
    for c in contacts {
        c.customer = owners.get(&c.number).copied();
    }
    Ok(())
}

/// Every campaign (running, paused, stopped) and its figures.
#[utoipa::path(get, path = "/api/v1/dialer/campaigns",
    responses((status = 200, body = Vec<DialCampaignFigures>)), tag = "dialer", security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    _auth: Auth<SupervisorUp>,
) -> ApiResult<Json<Vec<DialCampaignFigures>>> {
    let stats = engine(&s)?.campaign_stats().await?;
    Ok(Json(
        stats
            .into_iter()
            .map(|c| DialCampaignFigures {
                id: c.id.0,
                name: c.name,
                state: c.state.as_str().to_string(),
                contacts: c.contacts,
                dialed: c.dialed,
                live: c.live,
                machine: c.machine,
                busy: c.busy,
                no_answer: c.no_answer,
                failed: c.failed,
                abandoned: c.abandoned,
                connected: c.connected,
                drop_rate_pct: if c.live == 0 {
                    0.0
                } else {
                    100.0 * c.abandoned as f64 / c.live as f64
                },
                abandon_24h_pct: c.abandon_24h_pct,
                abandon_period_pct: c.abandon_period_pct,
                agents: c.agents,
                agents_free: c.agents_free,
                calls_in_flight: c.calls_in_flight,
                dial_level: c.dial_level,
            })
            .collect(),
    ))
}

/// Pause a campaign: no new calls (calls on the wire go on).
#[utoipa::path(post, path = "/api/v1/dialer/campaigns/{id}/pause", params(("id" = u32, Path, description = "campaign id")),
    responses((status = 204), (status = 409, body = ErrorBody)), tag = "dialer", security(("bearer" = [])))]
pub async fn pause(
    State(s): State<AppState>,
    _auth: Auth<SupervisorUp>,
    ApiPath(id): ApiPath<u32>,
) -> ApiResult<StatusCode> {
    engine(&s)?
        .pause_campaign(engine::DialCampaignId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resume a paused campaign (a running or stopped one: 409).
#[utoipa::path(post, path = "/api/v1/dialer/campaigns/{id}/resume", params(("id" = u32, Path, description = "campaign id")),
    responses((status = 204), (status = 409, body = ErrorBody)), tag = "dialer", security(("bearer" = [])))]
pub async fn resume(
    State(s): State<AppState>,
    _auth: Auth<SupervisorUp>,
    ApiPath(id): ApiPath<u32>,
) -> ApiResult<StatusCode> {
    engine(&s)?
        .resume_campaign(engine::DialCampaignId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop a campaign for good: no new calls, calls on the wire go on to
/// their end; it cannot be resumed.
#[utoipa::path(post, path = "/api/v1/dialer/campaigns/{id}/stop", params(("id" = u32, Path, description = "campaign id")),
    responses((status = 204), (status = 409, body = ErrorBody)), tag = "dialer", security(("bearer" = [])))]
pub async fn stop(
    State(s): State<AppState>,
    _auth: Auth<SupervisorUp>,
    ApiPath(id): ApiPath<u32>,
) -> ApiResult<StatusCode> {
    engine(&s)?
        .stop_campaign(engine::DialCampaignId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Content type of an .xlsx upload.
pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The list's contacts added.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ContactsUploaded {
    /// Contacts added to the campaign's list.
    pub added: usize,
    /// Rows not added, with their line (1 = header) and why: a bad
    /// number or time zone, a duplicate in the file, a number the list
    /// already has.
    pub rejected: Vec<RowProblem>,
}

/// Add contacts to a campaign from an uploaded list: the raw file as the
/// body, `Content-Type: text/csv` or
/// `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`
/// (.xlsx, first sheet). Columns by header: `number` (or `phone`,
/// `telephone`, `msisdn`), optional `name`, `tz`, `consent`. Bad rows are
/// reported one by one and do not stop the good ones.
#[utoipa::path(post, path = "/api/v1/dialer/campaigns/{id}/contacts", params(("id" = u32, Path, description = "campaign id")),
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses((status = 200, body = ContactsUploaded), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)), tag = "dialer", security(("bearer" = [])))]
pub async fn upload(
    State(s): State<AppState>,
    _auth: Auth<SupervisorUp>,
    ApiPath(id): ApiPath<u32>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<ContactsUploaded>> {
    let engine = engine(&s)?;
    let ctype = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let opts = dialer::import::ImportOptions {
        default_country: Some(s.settings.phone.default_country.clone()),
        max_rows: 200_000,
        ..Default::default()
    };
    let parsed = match ctype.as_str() {
        "text/csv" | "text/plain" => dialer::import::parse_csv(&body, &opts),
        XLSX_MIME => dialer::import::parse_xlsx(&body, &opts),
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("content type {other:?}: send text/csv or {XLSX_MIME} (.xlsx)"),
            ));
        }
    };
    let report = parsed.map_err(|e| {
        tracing::warn!(error = %e, campaign = id, "contact list refused");
        ApiError::invalid(format!("list: {e}"))
    })?;
    let mut rejected: Vec<RowProblem> = report
        .errors
        .iter()
        .map(|e| RowProblem {
            line: e.line,
            reason: e.reason.clone(),
        })
        .collect();
    rejected.extend(report.duplicates.iter().map(|d| RowProblem {
        line: d.line,
        reason: format!("duplicate of line {} ({})", d.first_line, d.number),
    }));
    let mut contacts: Vec<dialer::Contact> = report
        .contacts
        .iter()
        .map(|c| c.to_contact(dialer::ContactId(0)))
        .collect();
    link_customers(&s, &mut contacts).await?;
    let added = engine
        .add_campaign_contacts(engine::DialCampaignId(id), contacts)
        .await?;
    for n in &added.already_listed {
        if let Some(c) = report.contacts.iter().find(|c| &c.number == n) {
            rejected.push(RowProblem {
                line: c.line,
                reason: format!("{n} is already on the campaign's list"),
            });
        }
    }
    rejected.sort_by_key(|r| r.line);
    tracing::info!(
        campaign = id,
        added = added.added,
        rejected = rejected.len(),
        "contacts uploaded"
    );
    Ok(Json(ContactsUploaded {
        added: added.added,
        rejected,
    }))
}

use super::error::ErrorBody;
