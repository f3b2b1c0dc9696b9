//! Mobile agents (issue 22, SPEC §6.1): positions shared by a consenting
//! agent's browser, the supervisors' view of them, and field visits.
//!
//! - `POST /api/v1/agent/position` (an agent user, while their session
//!   lives): `{"lat", "lon", "accuracy_m"}` from the Geolocation API. The
//!   browser sends only after the agent turned sharing on (`/agent`), every
//!   `[positions] interval_s`.
//! - `GET /api/v1/agents/positions` (supervisors, admins): each agent's latest
//!   position with their live ACD state. Audited (`positions_viewed`).
//! - `GET /api/v1/agents/{id}/track?date=YYYY-MM-DD` (supervisors, admins):
//!   an agent's positions of one day in the site's time zone. Audited.
//! - `POST|GET /api/v1/customers/{id}/visits`: a field visit (an agent checks
//!   in at a customer with position and notes) and a customer's visits.
//!
//! Positions are kept `[positions] retention_days` ([`spawn_pruning`]).

use super::AppState;
use super::agent::agent_of;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AnyRole, ApiJson, ApiPath, ApiQuery, Auth, SourceAddr, SupervisorUp};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::{AgentId, CustomerId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use store::{AgentPosition, AuditAction, FieldVisit, GeoPoint, NewFieldVisit, Store};

/// Longest field-visit note, characters.
pub const MAX_VISIT_NOTES: usize = 4000;

/// How often expired positions are deleted.
pub const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

const DAY_MS: i64 = 86_400_000;

/// A position as the browser reports it (W3C Geolocation
/// `GeolocationCoordinates`: latitude, longitude in degrees WGS 84,
/// accuracy in metres).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionInput {
    /// Latitude, degrees, −90..=90.
    pub lat: f64,
    /// Longitude, degrees, −180..=180.
    pub lon: f64,
    /// Accuracy radius, metres, ≥ 0.
    pub accuracy_m: f64,
}

fn positions_on(s: &AppState) -> ApiResult<()> {
    if s.settings.positions.enabled {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::CONFLICT,
            "positions_off",
            "position sharing is turned off on this server ([positions] enabled = false)",
        ))
    }
}

/// Shortest gap between two positions of one agent, ms: a second position
/// within it is refused (429), which bounds what one session can write to
/// one row per 2 s (the page sends every `[positions] interval_s`, ≥ 5 s).
pub const MIN_GAP_MS: i64 = 2_000;

/// Store the calling agent's position (received now). 201 with the stored
/// row; 403 for a user who is not an agent; 409 when positions are off;
/// 422 for a value out of range; 429 within [`MIN_GAP_MS`] of the previous.
#[utoipa::path(post, path = "/api/v1/agent/position", request_body = PositionInput,
    responses((status = 201, body = store::AgentPosition), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    tag = "agent", security(("bearer" = [])))]
pub async fn post_position(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiJson(p): ApiJson<PositionInput>,
) -> ApiResult<(StatusCode, Json<AgentPosition>)> {
    positions_on(&s)?;
    let agent = agent_of(&auth.user)?;
    let point = GeoPoint {
        lat: p.lat,
        lon: p.lon,
        accuracy_m: p.accuracy_m,
    };
    point.validate()?;
    let now = crate::now();
    let recent = s
        .store
        .agent_track(agent, now.add_millis(-MIN_GAP_MS), now.add_millis(1))
        .await?;
    if !recent.is_empty() {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_frequent",
            format!("one position per {} s at most", MIN_GAP_MS / 1000),
        ));
    }
    let stored = s.store.add_position(agent, point, now).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// An agent's latest position and live state.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AgentOnMap {
    /// The agent.
    pub agent_id: AgentId,
    /// Login.
    pub login: String,
    /// Display name.
    pub name: String,
    /// ACD state: `logged_out`, `reserved` (ringing), `busy`, `wrap_up`,
    /// `paused`, `available`; `unknown` when the engine is off.
    pub state: &'static str,
    /// The pause reason when `paused`.
    pub pause_reason: Option<String>,
    /// When the position was received.
    pub at: Timestamp,
    /// Age of the position at the time of the answer, seconds.
    pub age_s: i64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Accuracy radius, metres.
    pub accuracy_m: f64,
}

/// `routing::AgentStatus` as a stable snake_case word and pause reason.
fn state_word(st: &routing::AgentStatus) -> (&'static str, Option<String>) {
    use routing::AgentStatus::*;
    match st {
        LoggedOut => ("logged_out", None),
        Reserved => ("reserved", None),
        Busy => ("busy", None),
        WrapUp => ("wrap_up", None),
        Paused(r) => ("paused", Some(r.clone())),
        Available => ("available", None),
    }
}

async fn audit_read(s: &AppState, auth: &Auth<SupervisorUp>, source: SourceAddr, target: String) {
    crate::security::audit(
        &*s.store,
        crate::security::entry(
            crate::now(),
            Some(auth.user.id),
            AuditAction::PositionsViewed,
            target,
            source.0,
        ),
    )
    .await;
}

/// Every agent's latest position with their ACD state (supervisors and
/// admins), by agent id. Each read is audited (`positions_viewed`,
/// target `agents:positions`).
#[utoipa::path(get, path = "/api/v1/agents/positions",
    responses((status = 200, body = Vec<AgentOnMap>), (status = 403, body = ErrorBody)),
    tag = "agent", security(("bearer" = [])))]
pub async fn latest(
    State(s): State<AppState>,
    auth: Auth<SupervisorUp>,
    source: SourceAddr,
) -> ApiResult<Json<Vec<AgentOnMap>>> {
    let positions = s.store.latest_positions().await?;
    let agents: HashMap<AgentId, domain::Agent> = s
        .store
        .list_agents()
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let states: Option<HashMap<AgentId, routing::AgentStatus>> = match &s.engine {
        Some(e) => Some(
            e.agent_stats()
                .await?
                .into_iter()
                .map(|a| (a.agent, a.status))
                .collect(),
        ),
        None => None,
    };
    audit_read(&s, &auth, source, "agents:positions".into()).await;
    let now = crate::now();
    let out = positions
        .into_iter()
        .filter_map(|p| {
            let a = agents.get(&p.agent_id)?;
            let (state, pause_reason) = match &states {
                None => ("unknown", None),
                Some(m) => m
                    .get(&p.agent_id)
                    .map(state_word)
                    .unwrap_or(("logged_out", None)),
            };
            Some(AgentOnMap {
                agent_id: p.agent_id,
                login: a.login.clone(),
                name: a.name.clone(),
                state,
                pause_reason,
                at: p.at,
                age_s: (now.as_millis() - p.at.as_millis()).max(0) / 1000,
                lat: p.point.lat,
                lon: p.point.lon,
                accuracy_m: p.point.accuracy_m,
            })
        })
        .collect();
    Ok(Json(out))
}

/// The day of a track.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrackQuery {
    /// `YYYY-MM-DD`, a day in the site's time zone (`[site] time_zone`);
    /// default today there.
    pub date: Option<String>,
}

/// An agent's track of one day.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Track {
    /// The agent.
    pub agent_id: AgentId,
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// The time zone the day is cut in.
    pub time_zone: String,
    /// Start of the day (inclusive).
    pub from: Timestamp,
    /// Start of the next day (exclusive; 23 or 25 h later on DST days).
    pub to: Timestamp,
    /// Positions, oldest first (at most `store::MAX_TRACK_POINTS`).
    pub points: Vec<AgentPosition>,
}

/// `[from, to)` of a local day in `tz`.
fn day_bounds(date: &str, tz: &str) -> ApiResult<(jiff::civil::Date, Timestamp, Timestamp)> {
    let zone = jiff::tz::TimeZone::get(tz)
        .map_err(|e| ApiError::internal(format!("[site] time_zone {tz:?}: {e}")))?;
    let day: jiff::civil::Date = date
        .parse()
        .map_err(|_| ApiError::bad_request(format!("date {date:?}: expected YYYY-MM-DD")))?;
    let start = day
        .to_zoned_datetime(zone.clone())
        .and_then(|z| z.start_of_day())
        .map_err(|e| ApiError::bad_request(format!("date {date:?}: {e}")))?;
    let next = day
        .tomorrow()
        .and_then(|d| d.to_zoned_datetime(zone))
        .and_then(|z| z.start_of_day())
        .map_err(|e| ApiError::bad_request(format!("date {date:?}: {e}")))?;
    Ok((
        day,
        Timestamp::from_millis(start.timestamp().as_millisecond()),
        Timestamp::from_millis(next.timestamp().as_millisecond()),
    ))
}

/// One agent's positions of a day (supervisors and admins). Audited
/// (`positions_viewed`, target `agent:<id>:track:<date>`). 404 for an
/// unknown agent; 400 for a bad date.
#[utoipa::path(get, path = "/api/v1/agents/{id}/track", params(("id" = i64, Path, description = "agent id"), TrackQuery),
    responses((status = 200, body = Track), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    tag = "agent", security(("bearer" = [])))]
pub async fn track(
    State(s): State<AppState>,
    auth: Auth<SupervisorUp>,
    source: SourceAddr,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<TrackQuery>,
) -> ApiResult<Json<Track>> {
    let tz = s.settings.site.time_zone.clone();
    let date = match q.date {
        Some(d) => d,
        None => {
            let zone = jiff::tz::TimeZone::get(&tz)
                .map_err(|e| ApiError::internal(format!("[site] time_zone {tz:?}: {e}")))?;
            jiff::Timestamp::from_millisecond(crate::now().as_millis())
                .map_err(ApiError::internal)?
                .to_zoned_datetime(zone)
                .date()
                .to_string()
        }
    };
    let (day, from, to) = day_bounds(&date, &tz)?;
    let agent = AgentId(id);
    if s.store.get_agent(agent).await?.is_none() {
        return Err(ApiError::not_found(format!("agent {id}")));
    }
    let points = s.store.agent_track(agent, from, to).await?;
    audit_read(&s, &auth, source, format!("agent:{id}:track:{day}")).await;
    Ok(Json(Track {
        agent_id: agent,
        date: day.to_string(),
        time_zone: tz,
        from,
        to,
        points,
    }))
}

/// A field visit: the agent checks in at the customer.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitInput {
    /// Notes (up to 4,000 characters; may be empty).
    #[serde(default)]
    pub notes: String,
    /// Where the agent is, if the browser could tell (all three or none).
    pub lat: Option<f64>,
    /// Longitude, degrees.
    pub lon: Option<f64>,
    /// Accuracy radius, metres.
    pub accuracy_m: Option<f64>,
}

/// Check in at a customer (an agent user). 201 with the visit; 403 for a
/// user who is not an agent; 404 for an unknown customer; 422 for a
/// position out of range, a partial position or notes too long.
#[utoipa::path(post, path = "/api/v1/customers/{id}/visits", params(("id" = i64, Path, description = "customer id")), request_body = VisitInput,
    responses((status = 201, body = store::FieldVisit), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    tag = "customers", security(("bearer" = [])))]
pub async fn add_visit(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(v): ApiJson<VisitInput>,
) -> ApiResult<(StatusCode, Json<FieldVisit>)> {
    let agent = agent_of(&auth.user)?;
    if v.notes.chars().count() > MAX_VISIT_NOTES {
        return Err(ApiError::invalid(format!(
            "notes: at most {MAX_VISIT_NOTES} characters"
        )));
    }
    let point = match (v.lat, v.lon, v.accuracy_m) {
        (Some(lat), Some(lon), Some(accuracy_m)) => Some(GeoPoint {
            lat,
            lon,
            accuracy_m,
        }),
        (None, None, None) => None,
        _ => {
            return Err(ApiError::invalid(
                "lat, lon and accuracy_m: give all three or none",
            ));
        }
    };
    let visit = s
        .store
        .add_field_visit(
            &NewFieldVisit {
                agent_id: agent,
                customer_id: CustomerId(id),
                point,
                notes: v.notes.trim().to_string(),
            },
            crate::now(),
        )
        .await?;
    tracing::info!(customer = id, agent = agent.0, "field visit checked in");
    Ok((StatusCode::CREATED, Json(visit)))
}

/// A customer's field visits, newest first (up to 100).
#[utoipa::path(get, path = "/api/v1/customers/{id}/visits", params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, body = Vec<store::FieldVisit>)),
    tag = "customers", security(("bearer" = [])))]
pub async fn visits(
    State(s): State<AppState>,
    _auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<FieldVisit>>> {
    Ok(Json(
        s.store.customer_field_visits(CustomerId(id), 100).await?,
    ))
}

/// Delete the positions received more than `retention_days` (at least 1)
/// days before `now`; returns how many.
///
/// # Errors
/// The store's.
pub async fn prune_expired(
    store: &dyn Store,
    retention_days: u32,
    now: Timestamp,
) -> store::Result<u64> {
    let keep_ms = i64::from(retention_days.max(1)) * DAY_MS;
    store.prune_positions(now.add_millis(-keep_ms)).await
}

/// Run [`prune_expired`] now and every [`PRUNE_EVERY`], until the process
/// ends.
pub fn spawn_pruning(store: Arc<dyn Store>, retention_days: u32) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        loop {
            tick.tick().await;
            match prune_expired(&*store, retention_days, crate::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "expired agent positions deleted"),
                Err(e) => tracing::warn!(error = %e, "agent positions not pruned"),
            }
        }
    });
}
