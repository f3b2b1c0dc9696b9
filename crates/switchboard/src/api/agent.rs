//! The agent desktop's live calls: ACD login and state, disposition, call
//! control, live statistics, the outbox, and the WebSocket push channel.
//! These need the engine (SIP on); without it they answer 503.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AnyRole, ApiJson, ApiPath, Auth, SupervisorUp};
use axum::Json;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use domain::{AgentId, InteractionId, Role};
use engine::push::{Audience, to_json};
use engine::{AgentRequest, EngineError, EngineHandle};
use serde::Deserialize;
use store::User;

pub(super) fn engine(s: &AppState) -> ApiResult<&EngineHandle> {
    s.engine.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_engine",
            "SIP and the engine are off on this node",
        )
    })
}

pub(super) fn agent_of(user: &User) -> ApiResult<AgentId> {
    user.agent_id
        .ok_or_else(|| ApiError::forbidden("this user is not an agent"))
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotLoggedIn(_) | EngineError::Invalid(_) | EngineError::Routing(_) => {
                ApiError::new(StatusCode::CONFLICT, "invalid_state", e.to_string())
            }
            EngineError::UnknownAgent(_) | EngineError::UnknownInteraction(_) => {
                ApiError::not_found(e.to_string())
            }
            EngineError::NotYours(_) => ApiError::forbidden(e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

/// Log in to the ACD: the agent becomes available and their phone (SIP user
/// = login) is rung for offers.
#[utoipa::path(post, path = "/api/v1/agent/login", responses((status = 204), (status = 409, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn login(State(s): State<AppState>, auth: Auth<AnyRole>) -> ApiResult<StatusCode> {
    engine(&s)?.agent_login(agent_of(&auth.user)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Log out of the ACD.
#[utoipa::path(post, path = "/api/v1/agent/logout", responses((status = 204), (status = 409, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn logout(State(s): State<AppState>, auth: Auth<AnyRole>) -> ApiResult<StatusCode> {
    engine(&s)?.agent_logout(agent_of(&auth.user)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The calling agent's own ACD state (status, time in state, current tasks);
/// 404 when not logged in to the ACD. Besides the ACD's figures it carries
/// `current_interaction` (the first task held now, or null) and
/// `wrap_up_interaction` (in wrap-up: the interaction awaiting a
/// disposition, or null), so a reloaded desktop can resume.
#[utoipa::path(get, path = "/api/v1/agent/state", responses((status = 200, description = "{agent, status, in_status_ms, tasks, offered (the task ringing now), wrap_up_until, current_interaction, wrap_up_interaction, ...}"), (status = 404, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn my_state(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
) -> ApiResult<Json<serde_json::Value>> {
    let me = agent_of(&auth.user)?;
    let stats = engine(&s)?.agent_stats().await?;
    let mine = stats
        .into_iter()
        .find(|a| a.agent == me)
        .ok_or_else(|| ApiError::not_found("not logged in to the ACD"))?;
    let current = mine.tasks.first().map(|t| t.0);
    let wrap_up = if matches!(mine.status, routing::AgentStatus::WrapUp) {
        wrap_up_interaction(&s, me, mine.in_status_ms).await?
    } else {
        None
    };
    let mut v = serde_json::to_value(&mine).map_err(ApiError::internal)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("current_interaction".into(), current.into());
        o.insert("wrap_up_interaction".into(), wrap_up.into());
    }
    Ok(Json(v))
}

/// Slack added to the time in wrap-up when looking for the interaction that
/// started it (the engine's and the store's clocks are read separately), ms.
const WRAP_UP_SLACK_MS: i64 = 60_000;

/// The interaction an agent in wrap-up still has to dispose of. The ACD's
/// statistics drop a task once it ends, so it is derived from the store:
/// the agent's latest interaction that has ended, has no disposition, and
/// ended within the current wrap-up (time in state plus
/// [`WRAP_UP_SLACK_MS`]).
async fn wrap_up_interaction(
    s: &AppState,
    agent: AgentId,
    in_status_ms: i64,
) -> ApiResult<Option<i64>> {
    let f = store::InteractionFilter {
        agent_id: Some(agent),
        limit: 20,
        ..Default::default()
    };
    let since = crate::now().add_millis(-(in_status_ms.max(0) + WRAP_UP_SLACK_MS));
    Ok(s.store
        .list_interactions(&f)
        .await?
        .into_iter()
        .filter(|i| i.disposition.is_none())
        .filter_map(|i| i.ended_at.map(|e| (e, i.id)))
        .filter(|(e, _)| *e >= since)
        .max_by_key(|(e, _)| *e)
        .map(|(_, id)| id.0))
}

/// A state change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateInput {
    /// `ready` or `paused`.
    pub state: String,
    /// Pause reason code (`break`, `lunch`, `training`...), for `paused`.
    pub reason: Option<String>,
}

/// Ready, or pause with a reason. The reason must be one of the pause
/// reasons in force (`GET /api/v1/pause-reasons`; 400 otherwise).
#[utoipa::path(post, path = "/api/v1/agent/state", request_body = StateInput,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn state(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiJson(i): ApiJson<StateInput>,
) -> ApiResult<StatusCode> {
    let reasons = super::admin_edit::pause_reasons(&s).await;
    let req = match (i.state.as_str(), i.reason) {
        ("ready", None) => AgentRequest::Ready,
        ("paused", Some(r)) if !reasons.contains(&r) => {
            return Err(ApiError::bad_request(format!(
                "reason: {r:?} is not a pause reason; choose one of {}",
                reasons.join(", ")
            )));
        }
        ("paused", Some(r)) if !r.trim().is_empty() && r.len() <= 32 => AgentRequest::Pause(r),
        ("paused", _) => {
            return Err(ApiError::invalid(
                "reason: a pause needs a reason code of 1 to 32 characters",
            ));
        }
        _ => {
            return Err(ApiError::invalid(
                "state: `ready`, or `paused` with a reason",
            ));
        }
    };
    engine(&s)?.agent_state(agent_of(&auth.user)?, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Dial the campaign contact previewed to you now (preview campaigns: the
/// push message `preview`). 409 when nothing is previewed to you.
#[utoipa::path(post, path = "/api/v1/agent/preview/call",
    responses((status = 204), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn preview_call(State(s): State<AppState>, auth: Auth<AnyRole>) -> ApiResult<StatusCode> {
    engine(&s)?
        .preview(agent_of(&auth.user)?, engine::PreviewChoice::Call)
        .await
        .map_err(preview_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Skip the contact previewed to you: it is offered again in an hour and the
/// next contact is previewed. 409 when nothing is previewed to you.
#[utoipa::path(post, path = "/api/v1/agent/preview/skip",
    responses((status = 204), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn preview_skip(State(s): State<AppState>, auth: Auth<AnyRole>) -> ApiResult<StatusCode> {
    engine(&s)?
        .preview(agent_of(&auth.user)?, engine::PreviewChoice::Skip)
        .await
        .map_err(preview_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Nothing previewed is a conflict with the agent's state, not bad input.
fn preview_error(e: engine::EngineError) -> ApiError {
    match e {
        engine::EngineError::Invalid(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
        e => e.into(),
    }
}

/// Disposition and notes.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispositionInput {
    /// A disposition code (`GET /api/v1/dispositions`).
    pub code: String,
    /// Notes (up to 4000 characters).
    pub notes: Option<String>,
}

/// Record the outcome of an interaction the agent handled; ends wrap-up.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/disposition", params(("id" = i64, Path, description = "interaction id")),
    request_body = DispositionInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn disposition(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<DispositionInput>,
) -> ApiResult<StatusCode> {
    if i.notes.as_ref().is_some_and(|n| n.chars().count() > 4000) {
        return Err(ApiError::invalid("notes: at most 4000 characters"));
    }
    if !s
        .store
        .list_dispositions()
        .await?
        .iter()
        .any(|d| d.code == i.code)
    {
        return Err(ApiError::invalid(format!(
            "code: {:?} is not a disposition code (GET /api/v1/dispositions)",
            i.code
        )));
    }
    engine(&s)?
        .disposition(agent_of(&auth.user)?, InteractionId(id), i.code, i.notes)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Hang up the agent's call.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/hangup", params(("id" = i64, Path, description = "interaction id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn hangup(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    engine(&s)?
        .hang_up(agent_of(&auth.user)?, InteractionId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Hold on or off.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldInput {
    /// `true`: on hold with music; `false`: back.
    pub on: bool,
}

/// Put the caller on hold or take them off.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/hold", params(("id" = i64, Path, description = "interaction id")), request_body = HoldInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn hold(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<HoldInput>,
) -> ApiResult<StatusCode> {
    engine(&s)?
        .hold(agent_of(&auth.user)?, InteractionId(id), i.on)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Live figures of every queue (supervisors).
#[utoipa::path(get, path = "/api/v1/stats/queues", responses((status = 200, description = "[{name, queue, waiting, longest_wait_ms, agents_available, agents_busy, agents_wrap_up, agents_paused, service_level_pct, asa_s, counters, aht_s}]")), tag = "agent", security(("bearer" = [])))]
pub async fn queue_stats(
    State(s): State<AppState>,
    _a: Auth<SupervisorUp>,
) -> ApiResult<Json<serde_json::Value>> {
    let stats = engine(&s)?.queue_stats().await?;
    let v: Vec<serde_json::Value> = stats
        .into_iter()
        .map(|(name, st)| {
            let mut v = serde_json::to_value(st).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("name".into(), name.into());
            }
            v
        })
        .collect();
    Ok(Json(serde_json::Value::Array(v)))
}

/// Live state of every logged-in agent (supervisors).
#[utoipa::path(get, path = "/api/v1/stats/agents", responses((status = 200, description = "[{agent, status, ...}]")), tag = "agent", security(("bearer" = [])))]
pub async fn agent_stats(
    State(s): State<AppState>,
    _a: Auth<SupervisorUp>,
) -> ApiResult<Json<serde_json::Value>> {
    let stats = engine(&s)?.agent_stats().await?;
    Ok(Json(
        serde_json::to_value(stats).map_err(ApiError::internal)?,
    ))
}

/// Re-read the IVR flow files (admins). Calls in progress keep their version;
/// a bad file is reported with file, line and column and replaces nothing.
#[utoipa::path(post, path = "/api/v1/flows/reload", responses((status = 200, description = "{loaded: [[name, version]], errors: [\"file:line:col: message\"]}")), tag = "agent", security(("bearer" = [])))]
pub async fn reload_flows(
    State(s): State<AppState>,
    _a: Auth<super::extract::AdminOnly>,
) -> ApiResult<Json<engine::FlowReload>> {
    Ok(Json(engine(&s)?.reload_flows().await?))
}

/// Messages waiting in or sent from the outbox (supervisors).
#[utoipa::path(get, path = "/api/v1/outbox", responses((status = 200, body = Vec<store::OutboxMessage>)), tag = "agent", security(("bearer" = [])))]
pub async fn outbox(
    State(s): State<AppState>,
    _a: Auth<SupervisorUp>,
) -> ApiResult<Json<Vec<store::OutboxMessage>>> {
    Ok(Json(s.store.list_outbox(None, 1000).await?))
}

/// The push channel (WebSocket, JSON messages `{"v":1,"type":...}`; schema in
/// the `engine::push` docs). Agents get their offers and states; supervisors
/// get every agent's state and the queues' figures. Authenticate with the
/// `Authorization` header, the `sb_session` cookie, or `?token=`.
pub async fn ws(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    let engine = engine(&s)?.clone();
    let user = auth.user;
    Ok(upgrade.on_upgrade(move |socket| push_loop(socket, engine, user)))
}

async fn push_loop(mut socket: WebSocket, engine: EngineHandle, user: User) {
    let mut rx = engine.subscribe();
    let hello = serde_json::json!({"v": 1, "type": "hello", "user": user.username, "role": user.role.as_str(), "agent_id": user.agent_id});
    if socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    let supervisor = matches!(user.role, Role::Supervisor | Role::Admin);
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(env) => {
                    let mine = match env.audience {
                        Audience::Agent(a) => Some(a) == user.agent_id,
                        Audience::Supervisors => supervisor,
                    };
                    if mine && socket.send(Message::Text(to_json(&env.message).into())).await.is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(user = %user.username, skipped = n, "slow WebSocket client skipped messages");
                }
                Err(_) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
