//! Customer merge and undo (SPEC §3.3): an agent merges a duplicate customer
//! into another by hand; the merge is audited and can be undone.
//!
//! Who may undo: a supervisor or an admin at any time; the agent who made the
//! merge within [`UNDO_WINDOW_MS`] (24 h) of it. Everyone else gets 403.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AnyRole, ApiJson, ApiPath, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::{CustomerId, Role, Timestamp};
use serde::{Deserialize, Serialize};
use store::{CustomerMerge, User};

/// How long the agent who merged may undo their own merge: 24 h, in ms.
pub const UNDO_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// The customer to merge into the one named in the path.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// Id of the duplicate customer; it is hidden afterwards and resolves to
    /// the path's customer.
    pub from: i64,
}

/// A merge record, with whether the caller may undo it now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MergeView {
    /// The record: who, when, what moved, whether undone.
    #[serde(flatten)]
    pub merge: CustomerMerge,
    /// Whether the calling user may undo it now (not undone yet, and a
    /// supervisor/admin or its author within 24 h).
    pub can_undo: bool,
}

/// Whether `user` may undo `m` at `now` (see the module doc).
pub fn may_undo(user: &User, m: &CustomerMerge, now: Timestamp) -> bool {
    m.undone_at.is_none()
        && match user.role {
            Role::Admin | Role::Supervisor => true,
            Role::Agent => {
                m.by == user.id && now.as_millis() - m.merged_at.as_millis() <= UNDO_WINDOW_MS
            }
        }
}

fn view(user: &User, merge: CustomerMerge, now: Timestamp) -> MergeView {
    MergeView {
        can_undo: may_undo(user, &merge, now),
        merge,
    }
}

/// Merge customer `from` into customer `id`: `from`'s identities and
/// interactions move to `id`, `from` is hidden from search and resolves to
/// `id`, and a `customers_merged` event is logged.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge",
    params(("id" = i64, Path, description = "the surviving customer")),
    request_body = MergeInput,
    responses((status = 201, body = MergeView),
        (status = 404, body = ErrorBody, description = "either customer does not exist"),
        (status = 409, body = ErrorBody, description = "merging a customer into itself, or one already merged")),
    tag = "customers", security(("bearer" = [])))]
pub async fn merge(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    source: super::extract::SourceAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<MergeInput>,
) -> ApiResult<(StatusCode, Json<MergeView>)> {
    let now = crate::now();
    let m = s
        .store
        .merge_customers(CustomerId(input.from), CustomerId(id), auth.user.id, now)
        .await?;
    let mut e = crate::security::entry(
        now,
        Some(auth.user.id),
        store::AuditAction::CustomerMerged,
        format!("customer:{id}"),
        source.0,
    );
    e.after = Some(
        serde_json::json!({ "merge": m.id, "from": input.from, "into": id, "identities": m.identities, "interactions": m.interactions }),
    );
    crate::security::audit(&*s.store, e).await;
    tracing::info!(by = %auth.user.username, from = input.from, into = id, merge = m.id, "customers merged");
    Ok((StatusCode::CREATED, Json(view(&auth.user, m, now))))
}

/// The merges a customer took part in (merged away or merged into), newest
/// first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/merges",
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, body = Vec<MergeView>), (status = 404, body = ErrorBody)),
    tag = "customers", security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<MergeView>>> {
    if s.store.get_customer(CustomerId(id)).await?.is_none() {
        return Err(ApiError::not_found(format!("customer {id} not found")));
    }
    let now = crate::now();
    let merges = s.store.list_merges(CustomerId(id)).await?;
    Ok(Json(
        merges
            .into_iter()
            .map(|m| view(&auth.user, m, now))
            .collect(),
    ))
}

/// Undo a merge: the identities and interactions it moved (those still on
/// the survivor) go back, the merged customer is live again, and a
/// `merge_undone` event is logged. Supervisors and admins may always; the
/// agent who merged within 24 h.
#[utoipa::path(post, path = "/api/v1/merges/{id}/undo",
    params(("id" = i64, Path, description = "merge id")),
    responses((status = 200, body = MergeView),
        (status = 403, body = ErrorBody, description = "an agent undoing another's merge, or after 24 h"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "already undone, or the survivor was merged since")),
    tag = "customers", security(("bearer" = [])))]
pub async fn undo(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    source: super::extract::SourceAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<MergeView>> {
    let now = crate::now();
    let m = s
        .store
        .get_merge(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("merge {id} not found")))?;
    if m.undone_at.is_none() && !may_undo(&auth.user, &m, now) {
        return Err(ApiError::forbidden(
            "only a supervisor, or the agent who merged within 24 hours, may undo this merge",
        ));
    }
    let m = s.store.undo_merge(id, auth.user.id, now).await?;
    let mut e = crate::security::entry(
        now,
        Some(auth.user.id),
        store::AuditAction::CustomerMergeUndone,
        format!("customer:{}", m.from.0),
        source.0,
    );
    e.after = Some(serde_json::json!({ "merge": id, "from": m.from.0, "into": m.into.0 }));
    crate::security::audit(&*s.store, e).await;
    tracing::info!(by = %auth.user.username, merge = id, from = m.from.0, into = m.into.0, "merge undone");
    Ok(Json(view(&auth.user, m, now)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::UserId;

    fn user(id: i64, role: Role) -> User {
        User {
            id: UserId(id),
            username: format!("u{id}"),
            password_hash: String::new(),
            role,
            agent_id: None,
            disabled: false,
            created_at: Timestamp::from_millis(0),
        }
    }

    fn merge_by(by: i64, at: i64) -> CustomerMerge {
        CustomerMerge {
            id: 1,
            from: CustomerId(2),
            into: CustomerId(3),
            by: UserId(by),
            merged_at: Timestamp::from_millis(at),
            identities: Vec::new(),
            interactions: Vec::new(),
            undone_at: None,
            undone_by: None,
        }
    }

    #[test]
    fn undo_rights() {
        let m = merge_by(7, 1_000);
        let within = Timestamp::from_millis(1_000 + UNDO_WINDOW_MS);
        let after = Timestamp::from_millis(1_001 + UNDO_WINDOW_MS);
        assert!(may_undo(&user(7, Role::Agent), &m, within));
        assert!(!may_undo(&user(7, Role::Agent), &m, after));
        assert!(!may_undo(&user(8, Role::Agent), &m, within));
        assert!(may_undo(&user(8, Role::Supervisor), &m, after));
        assert!(may_undo(&user(9, Role::Admin), &m, after));
        let mut done = m;
        done.undone_at = Some(within);
        assert!(!may_undo(&user(9, Role::Admin), &done, within));
    }
}
