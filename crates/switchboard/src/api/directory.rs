//! Agents, queues, dispositions and users: read by everyone who needs them,
//! changed by admins.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AdminOnly, AnyRole, ApiJson, ApiPath, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::{Agent, AgentId, Disposition, Queue, QueueId, Role, UserId};
use serde::Deserialize;
use store::{NewAgent, NewQueue, NewUser, User};

/// All agents.
#[utoipa::path(get, path = "/api/v1/agents", responses((status = 200, body = Vec<Agent>)), tag = "directory", security(("bearer" = [])))]
pub async fn list_agents(
    State(s): State<AppState>,
    _a: Auth<AnyRole>,
) -> ApiResult<Json<Vec<Agent>>> {
    Ok(Json(s.store.list_agents().await?))
}

/// One agent.
#[utoipa::path(get, path = "/api/v1/agents/{id}", params(("id" = i64, Path, description = "agent id")),
    responses((status = 200, body = Agent), (status = 404, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn get_agent(
    State(s): State<AppState>,
    _a: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Agent>> {
    s.store
        .get_agent(AgentId(id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("agent {id} not found")))
}

/// Create an agent (admin).
#[utoipa::path(post, path = "/api/v1/agents", request_body = NewAgent,
    responses((status = 201, body = Agent), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn create_agent(
    State(s): State<AppState>,
    _a: Auth<AdminOnly>,
    ApiJson(a): ApiJson<NewAgent>,
) -> ApiResult<(StatusCode, Json<Agent>)> {
    Ok((StatusCode::CREATED, Json(s.store.create_agent(&a).await?)))
}

/// All queues.
#[utoipa::path(get, path = "/api/v1/queues", responses((status = 200, body = Vec<Queue>)), tag = "directory", security(("bearer" = [])))]
pub async fn list_queues(
    State(s): State<AppState>,
    _a: Auth<AnyRole>,
) -> ApiResult<Json<Vec<Queue>>> {
    Ok(Json(s.store.list_queues().await?))
}

/// One queue.
#[utoipa::path(get, path = "/api/v1/queues/{id}", params(("id" = i64, Path, description = "queue id")),
    responses((status = 200, body = Queue), (status = 404, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn get_queue(
    State(s): State<AppState>,
    _a: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Queue>> {
    s.store
        .get_queue(QueueId(id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("queue {id} not found")))
}

/// Create a queue (admin).
#[utoipa::path(post, path = "/api/v1/queues", request_body = NewQueue,
    responses((status = 201, body = Queue), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn create_queue(
    State(s): State<AppState>,
    _a: Auth<AdminOnly>,
    ApiJson(q): ApiJson<NewQueue>,
) -> ApiResult<(StatusCode, Json<Queue>)> {
    let q = s.store.create_queue(&q).await?;
    apply_queue_live(&s, &q).await;
    Ok((StatusCode::CREATED, Json(q)))
}

/// Hand a stored queue to the running ACD (if the engine runs): new and
/// changed queues take effect without a restart.
pub(crate) async fn apply_queue_live(s: &AppState, q: &Queue) {
    if let Some(engine) = &s.engine
        && let Err(e) = engine.queue_changed(q.clone()).await
    {
        tracing::error!(queue = %q.name, error = %e, "the ACD refused the queue's new settings; they apply at the next start");
    }
}

/// Replace a queue's settings (admin).
#[utoipa::path(put, path = "/api/v1/queues/{id}", params(("id" = i64, Path, description = "queue id")), request_body = NewQueue,
    responses((status = 200, body = Queue), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn update_queue(
    State(s): State<AppState>,
    _a: Auth<AdminOnly>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(q): ApiJson<NewQueue>,
) -> ApiResult<Json<Queue>> {
    let q = s.store.update_queue(QueueId(id), &q).await?;
    apply_queue_live(&s, &q).await;
    Ok(Json(q))
}

/// All disposition codes.
#[utoipa::path(get, path = "/api/v1/dispositions", responses((status = 200, body = Vec<Disposition>)), tag = "directory", security(("bearer" = [])))]
pub async fn list_dispositions(
    State(s): State<AppState>,
    _a: Auth<AnyRole>,
) -> ApiResult<Json<Vec<Disposition>>> {
    Ok(Json(s.store.list_dispositions().await?))
}

/// A disposition to create.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispositionInput {
    /// Stable code (`resolved`).
    pub code: String,
    /// Label shown to agents.
    pub label: String,
}

/// Create a disposition code (admin).
#[utoipa::path(post, path = "/api/v1/dispositions", request_body = DispositionInput,
    responses((status = 201, body = Disposition), (status = 409, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn create_disposition(
    State(s): State<AppState>,
    _a: Auth<AdminOnly>,
    ApiJson(d): ApiJson<DispositionInput>,
) -> ApiResult<(StatusCode, Json<Disposition>)> {
    if d.code.len() > 64
        || !d
            .code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(ApiError::invalid(
            "code: 1 to 64 characters of a-z, 0-9 and _",
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_disposition(&d.code, &d.label).await?),
    ))
}

/// All users (admin).
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Vec<User>)), tag = "directory", security(("bearer" = [])))]
pub async fn list_users(
    State(s): State<AppState>,
    _a: Auth<AdminOnly>,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(s.store.list_users().await?))
}

/// A user to create.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// Login name.
    pub username: String,
    /// Password, at least 10 characters.
    pub password: String,
    /// Role.
    pub role: Role,
    /// For agents: their agent record.
    pub agent_id: Option<AgentId>,
}

/// Create a user (admin).
#[utoipa::path(post, path = "/api/v1/users", request_body = UserInput,
    responses((status = 201, body = User), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn create_user(
    State(s): State<AppState>,
    auth: Auth<AdminOnly>,
    source: super::extract::SourceAddr,
    ApiJson(u): ApiJson<UserInput>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let user = create_user_checked(&*s.store, &u.username, &u.password, u.role, u.agent_id).await?;
    tracing::info!(by = %auth.user.username, user = %user.username, role = user.role.as_str(), "user created");
    let mut e = crate::security::entry(
        crate::now(),
        Some(auth.user.id),
        store::AuditAction::UserCreated,
        format!("user:{}", user.id.0),
        source.0,
    );
    e.after = Some(
        serde_json::json!({ "username": user.username, "role": user.role.as_str(), "agent_id": user.agent_id }),
    );
    crate::security::audit(&*s.store, e).await;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Validate and create a user (shared by the API and the CLI).
///
/// # Errors
/// 422 for a short password, a bad username or an unknown agent; 409 if the
/// username exists.
pub async fn create_user_checked(
    store: &dyn store::Store,
    username: &str,
    password: &str,
    role: Role,
    agent_id: Option<AgentId>,
) -> ApiResult<User> {
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(ApiError::invalid(
            "username: 1 to 64 characters of a-z, 0-9, '.', '_', '-'",
        ));
    }
    if password.chars().count() < 10 {
        return Err(ApiError::invalid("password: at least 10 characters"));
    }
    if role == Role::Agent && agent_id.is_none() {
        return Err(ApiError::invalid(
            "agent_id: a user with role agent needs an agent record (CLI: --agent LOGIN)",
        ));
    }
    if let Some(a) = agent_id
        && store.get_agent(a).await?.is_none()
    {
        return Err(ApiError::invalid(format!(
            "agent_id: agent {a} does not exist"
        )));
    }
    let pw = password.to_string();
    let hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&pw))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let user = store
        .create_user(
            &NewUser {
                username: username.to_string(),
                password_hash: hash,
                role,
                agent_id,
            },
            crate::now(),
        )
        .await?;
    Ok(user)
}

/// Replace a user's password (CLI `user passwd`); ends their sessions.
///
/// # Errors
/// 404 unknown user, 422 short password.
pub async fn set_password(
    store: &dyn store::Store,
    username: &str,
    password: &str,
) -> ApiResult<UserId> {
    if password.chars().count() < 10 {
        return Err(ApiError::invalid("password: at least 10 characters"));
    }
    let user = store
        .get_user_by_username(username)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {username:?} not found")))?;
    let pw = password.to_string();
    let hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&pw))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    store.set_password_hash(user.id, &hash).await?;
    Ok(user.id)
}
