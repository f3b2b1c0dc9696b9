//! Admin edits of existing records: an agent's profile, a user's role, agent
//! link, status and password, a disposition's label and retirement, and the
//! pause reasons. Shared by the REST routes here and the admin pages.
//!
//! No migration carries these: pause reasons and retired disposition codes
//! live in the store's `meta` table as JSON arrays of codes
//! ([`PAUSE_REASONS_KEY`], [`RETIRED_DISPOSITIONS_KEY`]). Until an admin
//! saves the pause reasons, `[desktop] pause_reasons` is the list.
//!
//! The running ACD keeps the profile an agent logged in with: an edited
//! agent gets the new skills and capacity at their next ACD login.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AdminOnly, AnyRole, ApiJson, ApiPath, Auth};
use axum::Json;
use axum::extract::State;
use domain::{Agent, AgentId, DispositionId, Role, UserId};
use serde::{Deserialize, Serialize};
use store::{AgentUpdate, Store, StoreError, User, UserUpdate};

/// `meta` key of the admin-saved pause reasons (JSON array of codes).
pub const PAUSE_REASONS_KEY: &str = "desktop.pause_reasons";
/// `meta` key of the retired disposition codes (JSON array of codes).
pub const RETIRED_DISPOSITIONS_KEY: &str = "dispositions.retired";
/// Most chat-like conversations or e-mails an agent may hold at once.
pub const MAX_DIGITAL_CAPACITY: u8 = 20;

/// A pause reason code: 1 to 32 characters of `a-z`, `0-9`, `_`.
pub fn is_pause_code(c: &str) -> bool {
    (1..=32).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A language tag as we accept it (BCP 47 shape, RFC 5646 §2.1): a 2 or 3
/// letter primary subtag, then subtags of 1 to 8 letters or digits, `-`
/// separated (`fr`, `en-GB`, `yo`).
pub fn is_language_tag(t: &str) -> bool {
    let mut parts = t.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The rules an agent's new profile must meet beyond the store's own (skill
/// levels 1..=10, voice 0 or 1): `(field, message)` per broken rule. Fields:
/// `name` (1 to 100 characters), `languages` (tags, see
/// [`is_language_tag`]), `chat` and `email` (0 to [`MAX_DIGITAL_CAPACITY`]),
/// `voice` (0 or 1), `skills` (levels 1 to 10, names 1 to 64 of a-z, 0-9,
/// `_`, `-`).
pub fn agent_update_problems(a: &AgentUpdate) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let n = a.name.trim().chars().count();
    if n == 0 || n > 100 {
        out.push(("name", "1 to 100 characters".to_string()));
    }
    if let Some(s) = a.skills.iter().find(|s| {
        !(1..=10).contains(&s.level)
            || s.skill.is_empty()
            || s.skill.len() > 64
            || !s
                .skill
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }) {
        out.push((
            "skills",
            format!("{:?}: a skill name and a level from 1 to 10", s.skill),
        ));
    }
    if let Some(l) = a.languages.iter().find(|l| !is_language_tag(l)) {
        out.push((
            "languages",
            format!("{l:?}: a language tag such as fr or en-GB"),
        ));
    }
    if a.capacity.voice > 1 {
        out.push(("voice", "0 or 1".to_string()));
    }
    if a.capacity.chat > MAX_DIGITAL_CAPACITY {
        out.push((
            "chat",
            format!("a whole number from 0 to {MAX_DIGITAL_CAPACITY}"),
        ));
    }
    if a.capacity.email > MAX_DIGITAL_CAPACITY {
        out.push((
            "email",
            format!("a whole number from 0 to {MAX_DIGITAL_CAPACITY}"),
        ));
    }
    out
}

/// The pause reasons in force: the admin-saved list, else `[desktop]
/// pause_reasons`. A store error is logged and the setting used.
pub async fn pause_reasons(s: &AppState) -> Vec<String> {
    let read = tokio::time::timeout(
        super::extract::STORE_WAIT,
        s.store.get_meta(PAUSE_REASONS_KEY),
    )
    .await;
    match read {
        Ok(Ok(Some(v))) => match serde_json::from_str::<Vec<String>>(&v) {
            Ok(list) => return list,
            Err(e) => {
                tracing::error!(error = %e, "stored pause reasons are not a JSON list; using the setting")
            }
        },
        Ok(Ok(None)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "reading the pause reasons; using the setting"),
        Err(_) => tracing::error!("the store does not answer: using the setting's pause reasons"),
    }
    s.settings.desktop.pause_reasons.clone()
}

/// Save the pause reasons (order kept, duplicates dropped).
///
/// # Errors
/// 422 when a code is not 1 to 32 of `a-z`, `0-9`, `_`, or the list is empty.
pub async fn save_pause_reasons(store: &dyn Store, reasons: &[String]) -> ApiResult<Vec<String>> {
    let mut list: Vec<String> = Vec::new();
    for r in reasons {
        let r = r.trim();
        if !is_pause_code(r) {
            return Err(ApiError::invalid(format!(
                "reasons: {r:?} is not 1 to 32 characters of a-z, 0-9 and _"
            )));
        }
        if !list.iter().any(|x| x == r) {
            list.push(r.to_string());
        }
    }
    if list.is_empty() {
        return Err(ApiError::invalid("reasons: keep at least one pause reason"));
    }
    let json = serde_json::to_string(&list).map_err(ApiError::internal)?;
    store.set_meta(PAUSE_REASONS_KEY, &json).await?;
    Ok(list)
}

/// The retired disposition codes (kept on past interactions, not offered at
/// wrap-up).
///
/// # Errors
/// The store's, or [`StoreError::Corrupt`] if the stored value is not a list.
pub async fn retired_dispositions(store: &dyn Store) -> Result<Vec<String>, StoreError> {
    match store.get_meta(RETIRED_DISPOSITIONS_KEY).await? {
        None => Ok(Vec::new()),
        Some(v) => serde_json::from_str(&v)
            .map_err(|e| StoreError::Corrupt(format!("{RETIRED_DISPOSITIONS_KEY}: {e}"))),
    }
}

/// Retire a disposition code, or offer it again.
///
/// # Errors
/// The store's.
pub async fn set_disposition_retired(
    store: &dyn Store,
    code: &str,
    retired: bool,
) -> Result<(), StoreError> {
    let mut list = retired_dispositions(store).await?;
    list.retain(|c| c != code);
    if retired {
        list.push(code.to_string());
    }
    let json = serde_json::to_string(&list).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    store.set_meta(RETIRED_DISPOSITIONS_KEY, &json).await
}

/// Change a user's role, agent link and status, refusing what an admin may
/// not do to themselves.
///
/// # Errors
/// 422 `role: ...` when `by` would demote or disable themselves, 422
/// `agent_id: ...` for an agent without an agent record or an unknown
/// agent, 404 for an unknown user.
pub async fn update_user_checked(
    store: &dyn Store,
    by: &User,
    id: UserId,
    u: &UserUpdate,
) -> ApiResult<User> {
    if id == by.id && u.role != by.role {
        return Err(ApiError::invalid("role: you cannot change your own role"));
    }
    if id == by.id && u.disabled {
        return Err(ApiError::invalid("disabled: you cannot disable yourself"));
    }
    if u.role == Role::Agent && u.agent_id.is_none() {
        return Err(ApiError::invalid(
            "agent_id: a user with role agent needs an agent record",
        ));
    }
    if let Some(a) = u.agent_id
        && store.get_agent(a).await?.is_none()
    {
        return Err(ApiError::invalid(format!(
            "agent_id: agent {a} does not exist"
        )));
    }
    let user = store.update_user(id, u).await?;
    tracing::info!(by = %by.username, user = %user.username, role = user.role.as_str(), disabled = user.disabled, "user changed");
    Ok(user)
}

/// Give a user a new random password (14 characters); their sessions end.
/// The password is returned once and never stored in clear.
///
/// # Errors
/// 404 for an unknown user.
pub async fn reset_password(store: &dyn Store, by: &User, id: UserId) -> ApiResult<(User, String)> {
    let user = store
        .get_user(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id} not found")))?;
    let pw = crate::auth::random_password(14);
    let clear = pw.clone();
    let hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&pw))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    store.set_password_hash(id, &hash).await?;
    tracing::info!(by = %by.username, user = %user.username, "password reset");
    Ok((user, clear))
}

/// Replace an agent's name, skills, languages and capacity (admin). An agent
/// logged in to the ACD keeps the old profile until their next ACD login.
#[utoipa::path(put, path = "/api/v1/agents/{id}", params(("id" = i64, Path, description = "agent id")), request_body = AgentUpdate,
    responses((status = 200, body = Agent), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn update_agent(
    State(s): State<AppState>,
    auth: Auth<AdminOnly>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(a): ApiJson<AgentUpdate>,
) -> ApiResult<Json<Agent>> {
    if let Some((field, msg)) = agent_update_problems(&a).into_iter().next() {
        return Err(ApiError::invalid(format!("{field}: {msg}")));
    }
    let agent = s.store.update_agent(AgentId(id), &a).await?;
    tracing::info!(by = %auth.user.username, agent = %agent.login, "agent profile changed (applies at the agent's next ACD login)");
    Ok(Json(agent))
}

/// A user's new role, agent link and status.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    /// Role.
    pub role: Role,
    /// The agent record (needed for role `agent`), or null.
    #[serde(default)]
    pub agent_id: Option<AgentId>,
    /// Suspend the account (ends its sessions).
    #[serde(default)]
    pub disabled: bool,
}

/// Change a user's role, agent link and status (admin; not one's own role or
/// status).
#[utoipa::path(put, path = "/api/v1/users/{id}", params(("id" = i64, Path, description = "user id")), request_body = UserChange,
    responses((status = 200, body = User), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn update_user(
    State(s): State<AppState>,
    auth: Auth<AdminOnly>,
    source: super::extract::SourceAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(c): ApiJson<UserChange>,
) -> ApiResult<Json<User>> {
    let u = UserUpdate {
        role: c.role,
        agent_id: c.agent_id,
        disabled: c.disabled,
    };
    let before = s.store.get_user(UserId(id)).await?;
    let user = update_user_checked(&*s.store, &auth.user, UserId(id), &u).await?;
    log_out_if_disabled(&s, &user).await;
    audit_user_change(&s, &auth.user, before.as_ref(), &user, source.0).await;
    Ok(Json(user))
}

/// Write a user change to the audit trail: a suspension, a reactivation, a
/// role change, else a modification, with the state before and after.
async fn audit_user_change(
    s: &AppState,
    by: &User,
    before: Option<&User>,
    after: &User,
    source: Option<std::net::IpAddr>,
) {
    use store::AuditAction as A;
    let state = |u: &User| serde_json::json!({ "role": u.role.as_str(), "disabled": u.disabled, "agent_id": u.agent_id });
    let action = match before {
        Some(b) if !b.disabled && after.disabled => A::UserSuspended,
        Some(b) if b.disabled && !after.disabled => A::UserReactivated,
        Some(b) if b.role != after.role => A::RoleChanged,
        _ => A::UserModified,
    };
    let mut e = crate::security::entry(
        crate::now(),
        Some(by.id),
        action,
        format!("user:{}", after.id.0),
        source,
    );
    e.before = before.map(state);
    e.after = Some(state(after));
    crate::security::audit(&*s.store, e).await;
}

/// A disabled user who is an agent is also logged out of the ACD, so that
/// no call is offered to them any more.
pub(crate) async fn log_out_if_disabled(s: &AppState, user: &User) {
    if let (true, Some(engine), Some(agent)) = (user.disabled, &s.engine, user.agent_id) {
        match engine.agent_logout(agent).await {
            Ok(()) => tracing::info!(user = %user.username, "disabled user logged out of the ACD"),
            Err(engine::EngineError::NotLoggedIn(_)) => {}
            Err(e) => {
                tracing::warn!(user = %user.username, error = %e, "cannot log the disabled user out of the ACD")
            }
        }
    }
}

/// A new password, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewPassword {
    /// The user's login name.
    pub username: String,
    /// The new password (14 characters).
    pub password: String,
}

/// Reset a user's password to a random one, returned once (admin); the
/// user's sessions end.
#[utoipa::path(post, path = "/api/v1/users/{id}/password", params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = NewPassword), (status = 404, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn reset_user_password(
    State(s): State<AppState>,
    auth: Auth<AdminOnly>,
    source: super::extract::SourceAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<NewPassword>> {
    let (user, password) = reset_password(&*s.store, &auth.user, UserId(id)).await?;
    crate::security::audit(
        &*s.store,
        crate::security::entry(
            crate::now(),
            Some(auth.user.id),
            store::AuditAction::PasswordChanged,
            format!("user:{}", user.id.0),
            source.0,
        ),
    )
    .await;
    Ok(Json(NewPassword {
        username: user.username,
        password,
    }))
}

/// An agent phone's new SIP digest password, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewSipPassword {
    /// The SIP user name: the agent's login.
    pub login: String,
    /// The new digest password (16 characters).
    pub password: String,
}

/// Give an agent's phone a new random SIP digest password (RFC 3261 §22.4),
/// returned once (admin; audited as `sip_password_set`, without the
/// password). It applies at once: the phone must register again with it;
/// its current registration stays until it expires. Errors: 404 unknown
/// agent.
#[utoipa::path(post, path = "/api/v1/agents/{id}/sip-password", params(("id" = i64, Path, description = "agent id")),
    responses((status = 200, body = NewSipPassword), (status = 404, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn reset_sip_password(
    State(s): State<AppState>,
    auth: Auth<AdminOnly>,
    source: super::extract::SourceAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<NewSipPassword>> {
    let (agent, password) = set_sip_password(&s, &auth.user, AgentId(id), source).await?;
    Ok(Json(NewSipPassword {
        login: agent.login,
        password,
    }))
}

/// The rule behind [`reset_sip_password`] (REST and admin page): a random
/// 16-character password, stored, handed to the running registrar, audited.
///
/// # Errors
/// 404 unknown agent; store errors.
pub(crate) async fn set_sip_password(
    s: &AppState,
    by: &User,
    agent: AgentId,
    source: super::extract::SourceAddr,
) -> ApiResult<(Agent, String)> {
    let agent = s
        .store
        .get_agent(agent)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("agent {} not found", agent.0)))?;
    let password = crate::auth::random_password(16);
    s.store.set_sip_password(agent.id, &password).await?;
    if let Some(d) = &s.sip_directory {
        d.set(&agent.login, &password);
    }
    crate::security::audit(
        &*s.store,
        crate::security::entry(
            crate::now(),
            Some(by.id),
            store::AuditAction::SipPasswordSet,
            format!("agent:{}", agent.id.0),
            source.0,
        ),
    )
    .await;
    tracing::info!(by = %by.username, agent = %agent.login, "SIP phone password set");
    Ok((agent, password))
}

/// A disposition's new label and/or status.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispositionChange {
    /// New label, 1 to 100 characters.
    #[serde(default)]
    pub label: Option<String>,
    /// Retire the code (kept on past interactions, not offered at wrap-up),
    /// or offer it again.
    #[serde(default)]
    pub retired: Option<bool>,
}

/// A disposition with its status.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DispositionStatus {
    /// Row id.
    pub id: i64,
    /// Stable code.
    pub code: String,
    /// Label shown to agents.
    pub label: String,
    /// Not offered at wrap-up.
    pub retired: bool,
}

/// Rename or retire a disposition (admin).
#[utoipa::path(put, path = "/api/v1/dispositions/{id}", params(("id" = i64, Path, description = "disposition id")), request_body = DispositionChange,
    responses((status = 200, body = DispositionStatus), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn update_disposition(
    State(s): State<AppState>,
    _a: Auth<AdminOnly>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(c): ApiJson<DispositionChange>,
) -> ApiResult<Json<DispositionStatus>> {
    let mut d = s
        .store
        .list_dispositions()
        .await?
        .into_iter()
        .find(|d| d.id == DispositionId(id))
        .ok_or_else(|| ApiError::not_found(format!("disposition {id} not found")))?;
    if let Some(label) = &c.label {
        let n = label.trim().chars().count();
        if n == 0 || n > 100 {
            return Err(ApiError::invalid("label: 1 to 100 characters"));
        }
        d = s.store.rename_disposition(d.id, label).await?;
    }
    if let Some(r) = c.retired {
        set_disposition_retired(&*s.store, &d.code, r).await?;
    }
    let retired = retired_dispositions(&*s.store).await?.contains(&d.code);
    Ok(Json(DispositionStatus {
        id: d.id.0,
        code: d.code,
        label: d.label,
        retired,
    }))
}

/// The pause reasons in force (the admin's list, else `[desktop]
/// pause_reasons`).
#[utoipa::path(get, path = "/api/v1/pause-reasons", responses((status = 200, body = Vec<String>)), tag = "directory", security(("bearer" = [])))]
pub async fn get_pause_reasons(
    State(s): State<AppState>,
    _a: Auth<AnyRole>,
) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(pause_reasons(&s).await))
}

/// Replace the pause reasons (admin): codes of 1 to 32 `a-z`, `0-9`, `_`.
#[utoipa::path(put, path = "/api/v1/pause-reasons", request_body = Vec<String>,
    responses((status = 200, body = Vec<String>), (status = 422, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn put_pause_reasons(
    State(s): State<AppState>,
    auth: Auth<AdminOnly>,
    ApiJson(list): ApiJson<Vec<String>>,
) -> ApiResult<Json<Vec<String>>> {
    let saved = save_pause_reasons(&*s.store, &list).await?;
    tracing::info!(by = %auth.user.username, reasons = ?saved, "pause reasons changed");
    Ok(Json(saved))
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Capacity, SkillLevel};

    #[test]
    fn pause_codes_and_language_tags() {
        assert!(is_pause_code("lunch") && is_pause_code("break_2"));
        assert!(!is_pause_code("") && !is_pause_code("Lunch") && !is_pause_code("a-b"));
        assert!(!is_pause_code(&"a".repeat(33)) && is_pause_code(&"a".repeat(32)));
        assert!(is_language_tag("fr") && is_language_tag("en-GB") && is_language_tag("yo"));
        assert!(!is_language_tag("f") && !is_language_tag("fr_FR") && !is_language_tag(""));
    }

    #[test]
    fn agent_update_rules() {
        let mut a = AgentUpdate {
            name: "Awa".into(),
            skills: vec![SkillLevel {
                skill: "billing".into(),
                level: 10,
            }],
            languages: vec!["fr".into()],
            capacity: Capacity::default(),
        };
        assert!(agent_update_problems(&a).is_empty());
        a.name = " ".into();
        a.skills[0].level = 0;
        a.languages.push("french!".into());
        a.capacity.voice = 2;
        a.capacity.chat = 21;
        let p = agent_update_problems(&a);
        let fields: Vec<_> = p.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["name", "skills", "languages", "voice", "chat"]);
    }
}
