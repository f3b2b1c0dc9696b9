//! Interactions and the event log.

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AnyRole, ApiJson, ApiPath, ApiQuery, Auth, SupervisorUp};
use super::{AppState, page};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::{
    AgentId, Channel, CustomerId, Event, Interaction, InteractionId, QueueId, Role, Timestamp,
};
use serde::Deserialize;
use store::{EventFilter, InteractionFilter, NewInteraction};

/// Interaction list filter.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InteractionQuery {
    /// Of this customer.
    pub customer_id: Option<i64>,
    /// Handled by this agent.
    pub agent_id: Option<i64>,
    /// Through this queue.
    pub queue_id: Option<i64>,
    /// On this channel.
    pub channel: Option<Channel>,
    /// Started at or after (RFC 3339).
    pub from: Option<String>,
    /// Started before (RFC 3339).
    pub to: Option<String>,
    /// Page size (default 50, max 500).
    pub limit: Option<i64>,
    /// Offset.
    pub offset: Option<i64>,
}

fn parse_time(field: &str, v: Option<String>) -> ApiResult<Option<Timestamp>> {
    v.map(|s| {
        Timestamp::parse_rfc3339(&s).map_err(|e| ApiError::bad_request(format!("{field}: {e}")))
    })
    .transpose()
}

/// Interactions, newest first. Agents must filter by a customer (history for
/// screen-pop) or by themselves.
#[utoipa::path(get, path = "/api/v1/interactions", params(InteractionQuery),
    responses((status = 200, body = Vec<Interaction>), (status = 403, body = ErrorBody)), tag = "interactions", security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiQuery(q): ApiQuery<InteractionQuery>,
) -> ApiResult<Json<Vec<Interaction>>> {
    if auth.user.role == Role::Agent
        && q.customer_id.is_none()
        && (q.agent_id.is_none() || q.agent_id != auth.user.agent_id.map(|a| a.0))
    {
        return Err(ApiError::forbidden(
            "agents list interactions of one customer or their own (agent_id)",
        ));
    }
    let (limit, offset) = page(q.limit, q.offset, 50, 500);
    let f = InteractionFilter {
        customer_id: q.customer_id.map(CustomerId),
        agent_id: q.agent_id.map(AgentId),
        queue_id: q.queue_id.map(QueueId),
        channel: q.channel,
        from: parse_time("from", q.from)?,
        to: parse_time("to", q.to)?,
        limit,
        offset,
    };
    Ok(Json(
        s.store
            .list_interactions(&f)
            .await?
            .into_iter()
            .map(super::recording::public)
            .collect(),
    ))
}

/// One interaction.
#[utoipa::path(get, path = "/api/v1/interactions/{id}", params(("id" = i64, Path, description = "interaction id")),
    responses((status = 200, body = Interaction), (status = 404, body = ErrorBody)), tag = "interactions", security(("bearer" = [])))]
pub async fn get_one(
    State(s): State<AppState>,
    _a: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Interaction>> {
    s.store
        .get_interaction(InteractionId(id))
        .await?
        .map(|i| Json(super::recording::public(i)))
        .ok_or_else(|| ApiError::not_found(format!("interaction {id} not found")))
}

/// Create an interaction (integrations; supervisors and admins). Writes an
/// `interaction_created` event.
#[utoipa::path(post, path = "/api/v1/interactions", request_body = NewInteraction,
    responses((status = 201, body = Interaction), (status = 422, body = ErrorBody)), tag = "interactions", security(("bearer" = [])))]
pub async fn create(
    State(s): State<AppState>,
    _a: Auth<SupervisorUp>,
    ApiJson(n): ApiJson<NewInteraction>,
) -> ApiResult<(StatusCode, Json<Interaction>)> {
    if let Some(c) = n.customer_id
        && s.store.get_customer(c).await?.is_none()
    {
        return Err(ApiError::invalid(format!(
            "customer_id: customer {c} does not exist"
        )));
    }
    if let Some(q) = n.queue_id
        && s.store.get_queue(q).await?.is_none()
    {
        return Err(ApiError::invalid(format!(
            "queue_id: queue {q} does not exist"
        )));
    }
    if let Some(a) = n.agent_id
        && s.store.get_agent(a).await?.is_none()
    {
        return Err(ApiError::invalid(format!(
            "agent_id: agent {a} does not exist"
        )));
    }
    let i = store::open_interaction(&*s.store, &n, Vec::new()).await?;
    Ok((StatusCode::CREATED, Json(super::recording::public(i))))
}

/// Events of one interaction, in order.
#[utoipa::path(get, path = "/api/v1/interactions/{id}/events", params(("id" = i64, Path, description = "interaction id")),
    responses((status = 200, body = Vec<Event>), (status = 404, body = ErrorBody)), tag = "interactions", security(("bearer" = [])))]
pub async fn events_of(
    State(s): State<AppState>,
    _a: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Event>>> {
    if s.store.get_interaction(InteractionId(id)).await?.is_none() {
        return Err(ApiError::not_found(format!("interaction {id} not found")));
    }
    let f = EventFilter {
        interaction_id: Some(InteractionId(id)),
        limit: 10_000,
        ..EventFilter::default()
    };
    Ok(Json(s.store.list_events(&f).await?))
}

/// Event log filter.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Of this interaction.
    pub interaction_id: Option<i64>,
    /// Of this customer.
    pub customer_id: Option<i64>,
    /// Of this agent.
    pub agent_id: Option<i64>,
    /// Of this kind (`answered`, `abandoned`, ...).
    pub kind: Option<String>,
    /// At or after (RFC 3339).
    pub from: Option<String>,
    /// Before (RFC 3339).
    pub to: Option<String>,
    /// Only events after this sequence number (tail the log).
    pub after_seq: Option<i64>,
    /// Page size (default 1000, max 10000).
    pub limit: Option<i64>,
}

/// The event log, filtered, in sequence order (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/events", params(EventQuery),
    responses((status = 200, body = Vec<Event>)), tag = "interactions", security(("bearer" = [])))]
pub async fn list_events(
    State(s): State<AppState>,
    _a: Auth<SupervisorUp>,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> ApiResult<Json<Vec<Event>>> {
    let f = EventFilter {
        interaction_id: q.interaction_id.map(InteractionId),
        customer_id: q.customer_id.map(CustomerId),
        agent_id: q.agent_id.map(AgentId),
        kind: q.kind,
        from: parse_time("from", q.from)?,
        to: parse_time("to", q.to)?,
        after_seq: q.after_seq,
        limit: q.limit.unwrap_or(1000).clamp(1, 10_000),
    };
    Ok(Json(s.store.list_events(&f).await?))
}
