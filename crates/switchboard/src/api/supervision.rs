//! Supervision of live calls (SPEC §4.2; issue 16): a supervisor listens to,
//! whispers to or barges into an agent's call from the supervisor page or
//! the API. The engine rings the supervisor's registered phone and joins it
//! to the call when it answers; the mode switches without re-INVITE. Every
//! start, mode change and stop is in the call's timeline (engine events
//! `monitoring_*`) and in the tamper-evident audit trail (here).

use super::AppState;
use super::agent::engine;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, Auth, SourceAddr, SupervisorUp};
use axum::extract::State;
use axum::http::StatusCode;
use domain::{InteractionId, SupervisionMode};
use serde::Deserialize;
use serde_json::json;

/// How to take part in the call.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorInput {
    /// `listen` (silent), `whisper` (the agent hears you, the caller does
    /// not) or `barge` (three-way).
    pub mode: SupervisionMode,
}

/// Start monitoring a live call, or switch mode. The first request rings
/// your registered phone (its SIP user is the login of the agent record
/// your user is linked to — a team leader's own extension — or else your
/// username); it joins the call when you answer.
#[utoipa::path(put, path = "/api/v1/interactions/{id}/monitor", params(("id" = i64, Path, description = "interaction id of a live call")),
    request_body = MonitorInput,
    responses((status = 204, description = "ringing your phone, or mode switched"),
        (status = 403, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody, description = "not connected to an agent, someone else monitors it, or your phone is not registered"),
        (status = 400, body = super::error::ErrorBody, description = "not a mode")),
    tag = "supervision", security(("bearer" = [])))]
pub async fn monitor(
    State(s): State<AppState>,
    auth: Auth<SupervisorUp>,
    source: SourceAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<MonitorInput>,
) -> ApiResult<StatusCode> {
    let phone = match auth.user.agent_id {
        Some(a) => s
            .store
            .get_agent(a)
            .await?
            .map(|a| a.login)
            .unwrap_or_else(|| auth.user.username.clone()),
        None => auth.user.username.clone(),
    };
    engine(&s)?
        .supervise(auth.user.username.clone(), phone, InteractionId(id), i.mode)
        .await
        .map_err(ApiError::from)
        .inspect_err(|e| {
            tracing::info!(interaction = id, user = %auth.user.username, error = %e.message, "monitoring refused");
        })?;
    audit(&s, &auth, source, id, i.mode.as_str()).await;
    tracing::info!(interaction = id, user = %auth.user.username, mode = i.mode.as_str(), "monitoring");
    Ok(StatusCode::NO_CONTENT)
}

/// Leave a call you monitor: your phone is hung up.
#[utoipa::path(delete, path = "/api/v1/interactions/{id}/monitor", params(("id" = i64, Path, description = "interaction id")),
    responses((status = 204), (status = 403, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody, description = "you do not monitor this call")),
    tag = "supervision", security(("bearer" = [])))]
pub async fn stop(
    State(s): State<AppState>,
    auth: Auth<SupervisorUp>,
    source: SourceAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    engine(&s)?
        .stop_supervising(auth.user.username.clone(), InteractionId(id))
        .await?;
    audit(&s, &auth, source, id, "ended").await;
    Ok(StatusCode::NO_CONTENT)
}

/// Take over a call you monitor (SPEC §4.2, "reprise d'appel"): the customer
/// talks with you from now on, the agent's phone is hung up and the agent
/// goes to wrap-up; the interaction keeps its id (`taken_over` in its
/// timeline). Monitor the call first (`PUT .../monitor`) and answer your
/// phone.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/take-over", params(("id" = i64, Path, description = "interaction id of a live call")),
    responses((status = 204, description = "the call is yours"),
        (status = 403, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody, description = "you are not on this call")),
    tag = "supervision", security(("bearer" = [])))]
pub async fn take_over(
    State(s): State<AppState>,
    auth: Auth<SupervisorUp>,
    source: SourceAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    engine(&s)?
        .take_over(auth.user.username.clone(), InteractionId(id))
        .await
        .map_err(ApiError::from)
        .inspect_err(|e| {
            tracing::info!(interaction = id, user = %auth.user.username, error = %e.message, "take over refused");
        })?;
    audit(&s, &auth, source, id, "take_over").await;
    Ok(StatusCode::NO_CONTENT)
}

/// One `monitoring` entry of the audit trail: who, which call, and `mode`
/// (`listen`, `whisper`, `barge`, `take_over` or `ended`).
async fn audit(s: &AppState, auth: &Auth<SupervisorUp>, source: SourceAddr, id: i64, mode: &str) {
    let mut e = crate::security::entry(
        crate::now(),
        Some(auth.user.id),
        store::AuditAction::Monitoring,
        format!("interaction:{id}"),
        source.0,
    );
    e.after = Some(json!({ "mode": mode }));
    crate::security::audit(&*s.store, e).await;
}
