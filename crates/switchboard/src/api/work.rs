//! Work on interactions beyond answering: blind transfer, accepting or
//! rejecting digital offers, replying on a conversation, and callbacks.
//! Like `agent`, these need the engine (503 without it).

use super::AppState;
use super::agent::{agent_of, engine};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AnyRole, ApiJson, ApiPath, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::{AgentId, InteractionId, QueueId};
use engine::{CallbackRequest, TransferTarget};
use serde::{Deserialize, Serialize};

/// Where to transfer: exactly one of `queue` (id) or `agent` (id).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    /// Target queue id.
    pub queue: Option<i64>,
    /// Target agent id.
    pub agent: Option<i64>,
}

/// Blind transfer of the agent's live call or conversation to a queue or an
/// agent. The agent is released; the interaction keeps its id.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/transfer", params(("id" = i64, Path, description = "interaction id")),
    request_body = TransferInput,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn transfer(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<TransferInput>,
) -> ApiResult<StatusCode> {
    let target = match (i.queue, i.agent) {
        (Some(q), None) => TransferTarget::Queue(QueueId(q)),
        (None, Some(a)) => TransferTarget::Agent(AgentId(a)),
        _ => {
            return Err(ApiError::invalid(
                "give exactly one of `queue` or `agent` (ids)",
            ));
        }
    };
    engine(&s)?
        .transfer(agent_of(&auth.user)?, InteractionId(id), target)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept an offered digital task (chat, SMS, e-mail, WhatsApp...).
#[utoipa::path(post, path = "/api/v1/interactions/{id}/accept", params(("id" = i64, Path, description = "interaction id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn accept(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    engine(&s)?
        .answer_offer(agent_of(&auth.user)?, InteractionId(id), true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reject an offered digital task; it goes back to the queue.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/reject", params(("id" = i64, Path, description = "interaction id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn reject(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    engine(&s)?
        .answer_offer(agent_of(&auth.user)?, InteractionId(id), false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An agent's reply on a conversation.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyInput {
    /// Text, 1 to 4096 characters.
    pub text: String,
}

/// Where a reply went.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Queued {
    /// Outbox row id (`GET /api/v1/outbox`).
    pub outbox_id: i64,
}

/// Reply on the same channel as the conversation; the message goes through
/// the outbox.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/messages", params(("id" = i64, Path, description = "interaction id")),
    request_body = ReplyInput,
    responses((status = 202, body = Queued), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn reply(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<ReplyInput>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    let n = i.text.trim().chars().count();
    if n == 0 || i.text.chars().count() > 4096 {
        return Err(ApiError::invalid("text: 1 to 4096 characters"));
    }
    let outbox_id = engine(&s)?
        .reply(agent_of(&auth.user)?, InteractionId(id), i.text)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { outbox_id })))
}

/// A callback request.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackInput {
    /// The queue whose agents call back (id).
    pub queue: i64,
    /// The number to call, any format.
    pub number: String,
    /// The waiting call that asked for it, if any (it is then ended).
    pub interaction: Option<i64>,
}

/// The callback's interaction.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CallbackCreated {
    /// The new outbound voice interaction.
    pub interaction_id: i64,
}

/// Queue a callback: when its turn comes an agent's phone rings, then the
/// customer is dialled through the trunk.
#[utoipa::path(post, path = "/api/v1/callbacks", request_body = CallbackInput,
    responses((status = 201, body = CallbackCreated), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn callback(
    State(s): State<AppState>,
    _auth: Auth<AnyRole>,
    ApiJson(i): ApiJson<CallbackInput>,
) -> ApiResult<(StatusCode, Json<CallbackCreated>)> {
    if let Err(e) =
        domain::phone::normalize_e164(&i.number, Some(&s.settings.phone.default_country))
    {
        return Err(ApiError::invalid(format!("number: {e}")));
    }
    if !s
        .store
        .list_queues()
        .await?
        .iter()
        .any(|q| q.id.0 == i.queue)
    {
        return Err(ApiError::not_found(format!("queue {} not found", i.queue)));
    }
    let id = engine(&s)?
        .request_callback(CallbackRequest {
            queue: QueueId(i.queue),
            number: i.number,
            from_interaction: i.interaction.map(InteractionId),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CallbackCreated {
            interaction_id: id.0,
        }),
    ))
}

/// The agent is typing a reply: the customer sees it where the channel can
/// show it (the web chat widget). Call at most every few seconds.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/typing", params(("id" = i64, Path, description = "interaction id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), tag = "agent", security(("bearer" = [])))]
pub async fn typing(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let (channel, address) = engine(&s)?
        .agent_typing(agent_of(&auth.user)?, InteractionId(id))
        .await?;
    if channel == domain::Channel::Webchat
        && let Some(m) = &s.messaging
    {
        m.show_agent_typing(&address);
    }
    Ok(StatusCode::NO_CONTENT)
}
