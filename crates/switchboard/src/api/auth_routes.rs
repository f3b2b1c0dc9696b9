//! `POST /api/v1/auth/login`, `POST /api/v1/auth/logout`, `GET /api/v1/auth/me`.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AnyRole, ApiJson, Auth};
use axum::Json;
use axum::extract::State;
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use store::User;

/// Login request.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// The current TOTP code (RFC 6238), needed once the user has enrolled.
    #[serde(default)]
    pub totp_code: Option<String>,
    /// Or one of the user's one-time recovery codes instead of `totp_code`.
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// A new session.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Opaque bearer token (64 hex characters); send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it expires.
    pub expires_at: Timestamp,
    /// The user.
    pub user: User,
}

/// Log in with username and password. Wrong username and wrong password get
/// the same 401 after the same work.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody)), tag = "auth")]
pub async fn login(
    State(s): State<AppState>,
    source: super::extract::SourceAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let factor = SecondFactor {
        totp_code: req.totp_code,
        recovery_code: req.recovery_code,
    };
    Ok(Json(
        authenticate_with(&s, &req.username, &req.password, source.0, &factor).await?,
    ))
}

/// The second factor sent with a login (issue 18).
#[derive(Default)]
pub struct SecondFactor {
    /// A TOTP code.
    pub totp_code: Option<String>,
    /// A one-time recovery code.
    pub recovery_code: Option<String>,
}

/// Check the second factor of `user` if they have an active TOTP: a code
/// accepted by [`iam::totp::verify`] whose step is later than the last one
/// (stored atomically), or an unused recovery code. Audited either way.
///
/// # Errors
/// 401 `second_factor_required` when no code was sent, 401
/// `unauthenticated` for a wrong or replayed code.
async fn check_second_factor(
    s: &AppState,
    user: &User,
    factor: &SecondFactor,
    source: Option<std::net::IpAddr>,
) -> ApiResult<()> {
    use store::AuditAction;
    let Some(rec) = s.store.get_totp(user.id).await? else {
        return Ok(());
    };
    if !rec.active {
        return Ok(());
    }
    let now = crate::now();
    let target = format!("user:{}", user.id.0);
    let outcome: Result<&str, &str> = if let Some(code) = &factor.totp_code {
        let secret = iam::totp::secret_from_base32(&rec.secret).unwrap_or_default();
        let now_s = u64::try_from(now.as_millis() / 1000).unwrap_or(0);
        match iam::totp::verify(&secret, code, now_s, rec.last_step) {
            iam::totp::Verdict::Accepted { step } => {
                if s.store.accept_totp_step(user.id, step).await? {
                    Ok("totp")
                } else {
                    Err("replayed")
                }
            }
            iam::totp::Verdict::Replayed => Err("replayed"),
            iam::totp::Verdict::Wrong => Err("wrong_code"),
        }
    } else if let Some(code) = &factor.recovery_code {
        if s.store
            .use_recovery_code(user.id, &iam::totp::recovery_hash(code))
            .await?
        {
            Ok("recovery_code")
        } else {
            Err("wrong_recovery_code")
        }
    } else {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "second_factor_required",
            "this account needs a TOTP code (totp_code) or a recovery code",
        ));
    };
    let (action, what) = match outcome {
        Ok(w) => (AuditAction::SecondFactor, w),
        Err(w) => (AuditAction::SecondFactorFailed, w),
    };
    let mut e = crate::security::entry(now, Some(user.id), action, target, source);
    e.after = Some(serde_json::json!({ "factor": what }));
    crate::security::audit(&*s.store, e).await;
    match outcome {
        Ok(_) => Ok(()),
        Err(w) => Err(ApiError::unauthenticated(format!(
            "second factor refused: {w}"
        ))),
    }
}

/// Check a username and password and open a session (shared by the JSON
/// login and the web login form).
///
/// Brute-force defence (`iam::limiter`, issue 18): per account and per
/// `source` address, a doubling delay after a few failures and a lockout
/// after 10; while delayed or locked the password is not even checked and
/// the answer is 429 `too_many_attempts` with the wait in the message. Every
/// success, failure, refusal and lockout is written to the audit trail.
///
/// # Errors
/// 401 `unauthenticated` for a wrong or disabled account (same answer and
/// same work either way); 429 while delayed or locked; 500 on store errors.
pub async fn authenticate(
    s: &AppState,
    username: &str,
    password: &str,
    source: Option<std::net::IpAddr>,
) -> ApiResult<LoginResponse> {
    authenticate_with(s, username, password, source, &SecondFactor::default()).await
}

/// [`authenticate`] with the second factor checked after the password
/// (issue 18): a user with an active TOTP gets no session without it.
///
/// # Errors
/// As [`authenticate`], and 401 from the second factor check.
pub async fn authenticate_with(
    s: &AppState,
    username: &str,
    password: &str,
    source: Option<std::net::IpAddr>,
    factor: &SecondFactor,
) -> ApiResult<LoginResponse> {
    use iam::limiter::Verdict;
    use store::AuditAction;
    let fail = || ApiError::unauthenticated("wrong username or password");
    let now = crate::now();
    let login: String = username.trim().chars().take(128).collect();
    let ip = source.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let refused_for_ms = match s.security.check_login(now, &login, ip) {
        Verdict::Allow => None,
        Verdict::Delay { retry_at_ms, .. } => Some(retry_at_ms - now.as_millis()),
        Verdict::Locked { until_ms, .. } => Some(until_ms - now.as_millis()),
    };
    if let Some(wait_ms) = refused_for_ms {
        let mut e = crate::security::entry(
            now,
            None,
            AuditAction::LoginFailed,
            format!("login:{login}"),
            source,
        );
        e.after =
            Some(serde_json::json!({ "refused": "too_many_attempts", "retry_after_ms": wait_ms }));
        crate::security::audit(&*s.store, e).await;
        let secs = (wait_ms + 999) / 1000;
        return Err(ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("too many failed logins: retry in {secs} s"),
        ));
    }
    let result = check_password(s, &login, username, password, source).await;
    match &result {
        Ok(Some(user)) => {
            crate::security::audit(
                &*s.store,
                crate::security::entry(
                    now,
                    Some(user.id),
                    AuditAction::Login,
                    format!("user:{}", user.id.0),
                    source,
                ),
            )
            .await;
        }
        Ok(None) => {
            let effects = s.security.login_failed(now, &login, ip);
            crate::security::audit(
                &*s.store,
                crate::security::entry(
                    now,
                    None,
                    AuditAction::LoginFailed,
                    format!("login:{login}"),
                    source,
                ),
            )
            .await;
            crate::security::audit_lockouts(&*s.store, now, effects, source).await;
        }
        Err(_) => {}
    }
    let Some(user) = result? else {
        return Err(fail());
    };
    if let Err(err) = check_second_factor(s, &user, factor, source).await {
        // A wrong or replayed code counts like a wrong password (issue 18);
        // the prompt for a missing code does not.
        if err.status == axum::http::StatusCode::UNAUTHORIZED
            && err.code != "second_factor_required"
        {
            let effects = s.security.login_failed(now, &login, ip);
            crate::security::audit_lockouts(&*s.store, now, effects, source).await;
        }
        return Err(err);
    }
    // Only a complete login (password and second factor) forgets failures.
    s.security.login_succeeded(now, &login);
    open_session(s, user).await
}

/// The password check proper: `Some(user)` when it matches an enabled account.
/// A local account is checked against its hash; a directory account (its
/// hash is [`DIRECTORY_HASH_PREFIX`] + DN), or an unknown login while
/// `[auth.ldap]` is set, is checked against the directory.
///
/// # Errors
/// 503 `directory_unavailable` when the directory cannot answer (logged and
/// audited, not counted as a failed login); 500 on store errors.
async fn check_password(
    s: &AppState,
    login: &str,
    username: &str,
    password: &str,
    source: Option<std::net::IpAddr>,
) -> ApiResult<Option<User>> {
    if username.len() > 128 || password.len() > 1024 {
        crate::auth::verify_dummy(password);
        return Ok(None);
    }
    let user = s.store.get_user_by_username(username.trim()).await?;
    let directory_user = user
        .as_ref()
        .is_some_and(|u| u.password_hash.starts_with(DIRECTORY_HASH_PREFIX));
    if let Some(ldap) = &s.settings.auth.ldap
        && (user.is_none() || directory_user)
    {
        return directory_check(s, ldap, login, password, user, source).await;
    }
    let password = password.to_string();
    let ok = match user {
        Some(u) if !directory_user => {
            let hash = u.password_hash.clone();
            let good =
                tokio::task::spawn_blocking(move || crate::auth::verify_password(&password, &hash))
                    .await
                    .map_err(ApiError::internal)?;
            (good && !u.disabled).then_some(u)
        }
        _ => {
            tokio::task::spawn_blocking(move || crate::auth::verify_dummy(&password))
                .await
                .map_err(ApiError::internal)?;
            None
        }
    };
    if ok.is_none() {
        tracing::warn!(username = %username.chars().take(64).collect::<String>(), "failed login");
    }
    Ok(ok)
}

/// The stored "password hash" of a user created by a directory login: this
/// prefix and their DN. It is no PHC string, so no local password matches it.
pub const DIRECTORY_HASH_PREFIX: &str = "ldap:";

/// Log in through the directory: on success the local record is created on
/// first login (role from the groups, audited `user_created`) or its role
/// brought in line with the groups (audited `role_changed`).
async fn directory_check(
    s: &AppState,
    ldap: &iam::directory::LdapSettings,
    login: &str,
    password: &str,
    user: Option<User>,
    source: Option<std::net::IpAddr>,
) -> ApiResult<Option<User>> {
    use crate::directory::{DirectoryError, LdapDirectory, directory_login};
    use store::AuditAction;
    let now = crate::now();
    let dir = LdapDirectory::new(ldap.clone());
    let found = match directory_login(&dir, ldap, login, password).await {
        Ok(found) => found,
        Err(DirectoryError::Refused) => {
            tracing::warn!(username = %login.chars().take(64).collect::<String>(), "failed directory login");
            return Ok(None);
        }
        Err(DirectoryError::NoRole(dn)) => {
            tracing::warn!(%dn, "directory login refused: no group mapped to a role");
            return Ok(None);
        }
        Err(DirectoryError::Unavailable(why)) => {
            tracing::error!(url = %ldap.url, error = %why, "directory unavailable for login");
            let mut e = crate::security::entry(
                now,
                None,
                AuditAction::LoginFailed,
                format!("login:{login}"),
                source,
            );
            e.after = Some(serde_json::json!({ "refused": "directory_unavailable", "error": why }));
            crate::security::audit(&*s.store, e).await;
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "directory_unavailable",
                "the directory (LDAP) cannot be reached; local accounts still work",
            ));
        }
    };
    let hash = format!("{DIRECTORY_HASH_PREFIX}{}", found.dn);
    let Some(user) = user else {
        let created = s
            .store
            .create_user(
                &store::NewUser {
                    username: login.to_owned(),
                    password_hash: hash,
                    role: found.role,
                    agent_id: None,
                },
                now,
            )
            .await?;
        let mut e = crate::security::entry(
            now,
            None,
            AuditAction::UserCreated,
            format!("user:{}", created.id.0),
            source,
        );
        e.after = Some(serde_json::json!({
            "username": created.username, "role": created.role.as_str(), "source": "ldap", "dn": found.dn
        }));
        crate::security::audit(&*s.store, e).await;
        return Ok(Some(created));
    };
    if user.disabled {
        return Ok(None);
    }
    if user.role == found.role {
        return Ok(Some(user));
    }
    let updated = s
        .store
        .update_user(
            user.id,
            &store::UserUpdate {
                role: found.role,
                agent_id: user.agent_id,
                disabled: false,
            },
        )
        .await?;
    let mut e = crate::security::entry(
        now,
        None,
        AuditAction::RoleChanged,
        format!("user:{}", user.id.0),
        source,
    );
    e.before = Some(serde_json::json!({ "role": user.role.as_str() }));
    e.after = Some(serde_json::json!({ "role": found.role.as_str(), "source": "ldap" }));
    crate::security::audit(&*s.store, e).await;
    Ok(Some(updated))
}

async fn open_session(s: &AppState, user: User) -> ApiResult<LoginResponse> {
    let (token, hash) = crate::auth::new_token();
    let now = crate::now();
    let ttl_ms = i64::try_from(s.settings.auth.session_ttl_s)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    let expires_at = now.add_millis(ttl_ms);
    s.store
        .create_session(&hash, user.id, now, expires_at)
        .await?;
    tracing::info!(user = %user.username, role = user.role.as_str(), "login");
    Ok(LoginResponse {
        token,
        expires_at,
        user,
    })
}

/// End the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204)), tag = "auth",
    security(("bearer" = [])))]
pub async fn logout(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
) -> ApiResult<axum::http::StatusCode> {
    let hash = crate::auth::token_hash(&auth.token);
    s.security.session_gone(&hash);
    s.store.delete_session(&hash).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The current user.
#[utoipa::path(get, path = "/api/v1/auth/me", responses((status = 200, body = User)), tag = "auth",
    security(("bearer" = [])))]
pub async fn me(auth: Auth<AnyRole>) -> Json<User> {
    Json(auth.user)
}

/// One of the caller's sessions.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// The session (public id, times).
    #[serde(flatten)]
    pub session: store::SessionInfo,
    /// Whether this is the session making the request.
    pub current: bool,
}

/// The caller's open sessions, newest first (issue 18).
#[utoipa::path(get, path = "/api/v1/auth/sessions", responses((status = 200, body = [SessionView])),
    tag = "auth", security(("bearer" = [])))]
pub async fn list_sessions(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
) -> ApiResult<Json<Vec<SessionView>>> {
    let mine = crate::auth::token_hash(&auth.token);
    let list = s.store.list_sessions(auth.user.id, crate::now()).await?;
    Ok(Json(
        list.into_iter()
            .map(|session| SessionView {
                current: mine.starts_with(&session.id),
                session,
            })
            .collect(),
    ))
}

/// End one of the caller's sessions by its id (from `GET /auth/sessions`).
/// Audited as a logout.
///
/// # Errors
/// 404 when the caller has no session with that id.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}",
    params(("id" = String, Path, description = "session id (16 hex characters)")),
    responses((status = 204), (status = 404, body = ErrorBody)), tag = "auth", security(("bearer" = [])))]
pub async fn revoke_session(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    source: super::extract::SourceAddr,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<axum::http::StatusCode> {
    if !s.store.delete_user_session(auth.user.id, &id).await? {
        return Err(ApiError::not_found(format!("no session {id:?}")));
    }
    let mine = crate::auth::token_hash(&auth.token);
    if mine.starts_with(&id.to_ascii_lowercase()) {
        s.security.session_gone(&mine);
    }
    let mut e = crate::security::entry(
        crate::now(),
        Some(auth.user.id),
        store::AuditAction::Logout,
        format!("user:{}", auth.user.id.0),
        source.0,
    );
    e.after = Some(serde_json::json!({ "revoked_session": id }));
    crate::security::audit(&*s.store, e).await;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Change my password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new one (at least 10 characters).
    pub new_password: String,
}

/// Change the caller's password; every other session of the caller ends,
/// this one goes on (issue 18). Audited.
///
/// # Errors
/// 401 wrong current password; 422 new password shorter than 10 characters.
#[utoipa::path(post, path = "/api/v1/auth/password", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    tag = "auth", security(("bearer" = [])))]
pub async fn change_password(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    source: super::extract::SourceAddr,
    ApiJson(req): ApiJson<PasswordChange>,
) -> ApiResult<axum::http::StatusCode> {
    if req.new_password.chars().count() < 10 || req.new_password.len() > 1024 {
        return Err(ApiError::invalid("new_password: 10 to 1024 characters"));
    }
    if auth.user.password_hash.starts_with(DIRECTORY_HASH_PREFIX) {
        return Err(ApiError::invalid(
            "a directory (LDAP) account's password is changed in the directory",
        ));
    }
    let ok = check_password(
        &s,
        &auth.user.username,
        &auth.user.username,
        &req.current_password,
        source.0,
    )
    .await?;
    if ok.is_none() {
        return Err(ApiError::unauthenticated("wrong current password"));
    }
    let pw = req.new_password;
    let hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&pw))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let mine = crate::auth::token_hash(&auth.token);
    s.store
        .change_password_hash(auth.user.id, &hash, &mine)
        .await?;
    crate::security::audit(
        &*s.store,
        crate::security::entry(
            crate::now(),
            Some(auth.user.id),
            store::AuditAction::PasswordChanged,
            format!("user:{}", auth.user.id.0),
            source.0,
        ),
    )
    .await;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// A TOTP enrolment in progress: add the secret to an authenticator app.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TotpEnrolment {
    /// The secret, Base32 (RFC 4648), for typing in by hand.
    pub secret: String,
    /// `otpauth://totp/...` URI (Key Uri Format), for a QR code.
    pub otpauth_uri: String,
}

/// Start (or restart) TOTP enrolment for the caller. Not active until
/// confirmed with `POST /auth/totp/confirm`.
#[utoipa::path(post, path = "/api/v1/auth/totp/enrol", responses((status = 200, body = TotpEnrolment)),
    tag = "auth", security(("bearer" = [])))]
pub async fn totp_enrol(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
) -> ApiResult<Json<TotpEnrolment>> {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut secret = [0u8; iam::totp::SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    let b32 = iam::totp::secret_base32(&secret);
    let uri = iam::totp::otpauth_uri(&secret, "Switchboard", &auth.user.username)
        .map_err(ApiError::invalid)?;
    s.store.begin_totp(auth.user.id, &b32, crate::now()).await?;
    Ok(Json(TotpEnrolment {
        secret: b32,
        otpauth_uri: uri,
    }))
}

/// A TOTP code.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// The code the app shows now.
    pub code: String,
}

/// Recovery codes, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Ten one-time codes; only their hashes are kept.
    pub recovery_codes: Vec<String>,
}

/// Confirm enrolment with a first valid code: TOTP becomes active and ten
/// recovery codes are issued. Audited.
///
/// # Errors
/// 404 without an enrolment; 422 for a wrong code.
#[utoipa::path(post, path = "/api/v1/auth/totp/confirm", request_body = TotpCode,
    responses((status = 200, body = RecoveryCodes), (status = 422, body = ErrorBody)),
    tag = "auth", security(("bearer" = [])))]
pub async fn totp_confirm(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    source: super::extract::SourceAddr,
    ApiJson(req): ApiJson<TotpCode>,
) -> ApiResult<Json<RecoveryCodes>> {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let rec = s
        .store
        .get_totp(auth.user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("no TOTP enrolment: POST /auth/totp/enrol first"))?;
    let secret = iam::totp::secret_from_base32(&rec.secret).unwrap_or_default();
    let now = crate::now();
    let now_s = u64::try_from(now.as_millis() / 1000).unwrap_or(0);
    let iam::totp::Verdict::Accepted { step } =
        iam::totp::verify(&secret, &req.code, now_s, rec.last_step)
    else {
        return Err(ApiError::invalid("code: wrong code"));
    };
    let mut random = vec![0u8; 10 * iam::totp::RECOVERY_CODES];
    OsRng.fill_bytes(&mut random);
    let codes =
        iam::totp::recovery_codes(&random).ok_or_else(|| ApiError::internal("recovery codes"))?;
    let hashes: Vec<String> = codes.iter().map(|c| iam::totp::recovery_hash(c)).collect();
    if !s.store.activate_totp(auth.user.id, step, &hashes).await? {
        return Err(ApiError::not_found("no TOTP enrolment"));
    }
    let mut e = crate::security::entry(
        now,
        Some(auth.user.id),
        store::AuditAction::SecondFactorChanged,
        format!("user:{}", auth.user.id.0),
        source.0,
    );
    e.after = Some(serde_json::json!({ "totp": "enrolled" }));
    crate::security::audit(&*s.store, e).await;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Remove the caller's own TOTP, proven with a current code (a used code is
/// refused, as at login). Audited `second_factor_changed`; a wrong code is
/// audited `second_factor_failed`. A role that `[auth] require_2fa_roles`
/// names is then confined to the enrolment again.
///
/// # Errors
/// 404 without an active TOTP; 422 for a wrong or replayed code.
#[utoipa::path(post, path = "/api/v1/auth/totp/remove", request_body = TotpCode,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    tag = "auth", security(("bearer" = [])))]
pub async fn totp_remove(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    source: super::extract::SourceAddr,
    ApiJson(req): ApiJson<TotpCode>,
) -> ApiResult<axum::http::StatusCode> {
    use store::AuditAction;
    let rec = s
        .store
        .get_totp(auth.user.id)
        .await?
        .filter(|r| r.active)
        .ok_or_else(|| ApiError::not_found("no active TOTP"))?;
    let secret = iam::totp::secret_from_base32(&rec.secret).unwrap_or_default();
    let now = crate::now();
    let now_s = u64::try_from(now.as_millis() / 1000).unwrap_or(0);
    let target = format!("user:{}", auth.user.id.0);
    let accepted = match iam::totp::verify(&secret, &req.code, now_s, rec.last_step) {
        iam::totp::Verdict::Accepted { step } => {
            s.store.accept_totp_step(auth.user.id, step).await?
        }
        _ => false,
    };
    if !accepted {
        let mut e = crate::security::entry(
            now,
            Some(auth.user.id),
            AuditAction::SecondFactorFailed,
            target,
            source.0,
        );
        e.after = Some(serde_json::json!({ "factor": "totp", "purpose": "removal" }));
        crate::security::audit(&*s.store, e).await;
        return Err(ApiError::invalid("code: wrong or already used code"));
    }
    s.store.remove_totp(auth.user.id).await?;
    audit_totp_removed(&s, &auth.user, &auth.user, source.0).await;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Remove another user's TOTP (`users.manage`, e.g. a lost phone with no
/// recovery codes left). Audited `second_factor_changed` with the actor.
///
/// # Errors
/// 404 for an unknown user or one without TOTP; 403 without `users.manage`.
#[utoipa::path(delete, path = "/api/v1/users/{id}/totp", params(("id" = i64, Path, description = "user id")),
    responses((status = 204), (status = 404, body = ErrorBody)), tag = "directory", security(("bearer" = [])))]
pub async fn user_totp_remove(
    State(s): State<AppState>,
    auth: super::extract::Can<super::extract::perm::UsersManage>,
    source: super::extract::SourceAddr,
    super::extract::ApiPath(id): super::extract::ApiPath<i64>,
) -> ApiResult<axum::http::StatusCode> {
    let user = s
        .store
        .get_user(domain::UserId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user {id}")))?;
    if s.store.get_totp(user.id).await?.is_none() {
        return Err(ApiError::not_found(format!("user {id} has no TOTP")));
    }
    s.store.remove_totp(user.id).await?;
    audit_totp_removed(&s, &auth.user, &user, source.0).await;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

async fn audit_totp_removed(
    s: &AppState,
    actor: &User,
    user: &User,
    source: Option<std::net::IpAddr>,
) {
    tracing::info!(actor = %actor.username, user = %user.username, "TOTP removed");
    let mut e = crate::security::entry(
        crate::now(),
        Some(actor.id),
        store::AuditAction::SecondFactorChanged,
        format!("user:{}", user.id.0),
        source,
    );
    e.before = Some(serde_json::json!({ "totp": "active" }));
    e.after = Some(serde_json::json!({ "totp": "removed" }));
    crate::security::audit(&*s.store, e).await;
}
