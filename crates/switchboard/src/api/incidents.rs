//! SLA incidents (issue 19, SPEC §8): what the incident desk of `serve`
//! raised ([`crate::incidents`]), for supervisors and admins.
//!
//! - `GET /api/v1/incidents?open=true&limit=N`: incidents, newest first
//!   (`open=true`: only those open or acknowledged).
//! - `POST /api/v1/incidents/{id}/acknowledge`: staff take it (audited
//!   `incident_acknowledged`); the SLA timer goes on.
//! - `POST /api/v1/incidents/{id}/resolve`: staff declare service restored
//!   (audited `incident_resolved`).

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiPath, ApiQuery, Auth, SourceAddr, SupervisorUp};
use crate::incidents::StaffAction;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use continuity::incidents::IncidentError;
use serde::Deserialize;
use store::{AuditAction, IncidentRecord};

/// Query of the list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only open or acknowledged incidents (default false).
    #[serde(default)]
    pub open: bool,
    /// At most this many (default 100, 1..=1000).
    pub limit: Option<i64>,
}

/// Incidents, newest first.
#[utoipa::path(get, path = "/api/v1/incidents", params(ListQuery),
    responses((status = 200, body = [store::IncidentRecord]), (status = 403, body = ErrorBody)),
    tag = "incidents", security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    _auth: Auth<SupervisorUp>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<IncidentRecord>>> {
    Ok(Json(
        s.store
            .list_incidents(q.open, q.limit.unwrap_or(100))
            .await?,
    ))
}

async fn act(
    s: &AppState,
    auth: &Auth<SupervisorUp>,
    source: SourceAddr,
    id: i64,
    action: StaffAction,
) -> ApiResult<Json<IncidentRecord>> {
    let Ok(uid) = u64::try_from(id) else {
        return Err(ApiError::not_found(format!("no incident {id}")));
    };
    let row = s
        .incidents
        .staff(uid, auth.user.id.0, action)
        .await
        .map_err(|e| match e {
            IncidentError::NotFound(_) => ApiError::not_found(e.to_string()),
            IncidentError::Resolved(_) => {
                ApiError::new(StatusCode::CONFLICT, "incident_resolved", e.to_string())
            }
        })?;
    let audit = match action {
        StaffAction::Acknowledge => AuditAction::IncidentAcknowledged,
        StaffAction::Resolve => AuditAction::IncidentResolved,
    };
    let mut e = crate::security::entry(
        crate::now(),
        Some(auth.user.id),
        audit,
        format!("incident:{id}"),
        source.0,
    );
    e.after = Some(
        serde_json::json!({ "state": row.state, "category": row.category, "source": row.source }),
    );
    crate::security::audit(&*s.store, e).await;
    Ok(Json(row))
}

/// Acknowledge incident `id`. 404 unknown (or from an earlier run and
/// already resolved); 409 resolved.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/acknowledge",
    responses((status = 200, body = store::IncidentRecord), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    tag = "incidents", security(("bearer" = [])))]
pub async fn acknowledge(
    State(s): State<AppState>,
    auth: Auth<SupervisorUp>,
    source: SourceAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<IncidentRecord>> {
    act(&s, &auth, source, id, StaffAction::Acknowledge).await
}

/// Resolve incident `id`. 404 unknown; 409 already resolved.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/resolve",
    responses((status = 200, body = store::IncidentRecord), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    tag = "incidents", security(("bearer" = [])))]
pub async fn resolve(
    State(s): State<AppState>,
    auth: Auth<SupervisorUp>,
    source: SourceAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<IncidentRecord>> {
    act(&s, &auth, source, id, StaffAction::Resolve).await
}
