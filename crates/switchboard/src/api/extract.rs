//! Extractors that answer bad input with [`ApiError`]'s shape, and the
//! role-checked [`Auth`] extractor: a handler that takes `Auth<AdminOnly>`
//! cannot run for anyone but an admin (permissions in the types).

use super::AppState;
use super::error::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use domain::Role;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use store::User;

/// JSON body; unknown fields, wrong types, bad syntax and oversized bodies
/// become 400/413/415 errors in the API's shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected Content-Type: application/json",
            )),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "request body too large",
                ))
            }
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// Query string, with bad parameters as 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| ApiError::bad_request(e.body_text()))
    }
}

/// Path parameters, with bad ones (`/customers/abc`) as 400.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| {
                tracing::debug!(detail = %e.body_text(), "bad path parameter");
                ApiError::bad_request("bad path parameter: ids are integers")
            })
    }
}

/// A set of roles allowed through an [`Auth`] extractor.
pub trait RoleSet: Send + Sync + 'static {
    /// Does the set include `role`?
    fn allows(role: Role) -> bool;
}

/// Any logged-in user.
pub struct AnyRole;
impl RoleSet for AnyRole {
    fn allows(_: Role) -> bool {
        true
    }
}

/// Supervisors and admins.
pub struct SupervisorUp;
impl RoleSet for SupervisorUp {
    fn allows(role: Role) -> bool {
        matches!(role, Role::Supervisor | Role::Admin)
    }
}

/// Admins only.
pub struct AdminOnly;
impl RoleSet for AdminOnly {
    fn allows(role: Role) -> bool {
        role == Role::Admin
    }
}

/// The authenticated caller, whose role is in `R`. Reads
/// `Authorization: Bearer <token>` (or the `sb_session` cookie).
/// 401 without a valid session, 403 with a role outside `R`.
pub struct Auth<R: RoleSet> {
    /// The user.
    pub user: User,
    /// The raw token (for logout).
    pub token: String,
    _roles: PhantomData<R>,
}

fn bearer(parts: &Parts) -> Option<String> {
    if let Some(h) = parts.headers.get(axum::http::header::AUTHORIZATION)
        && let Ok(v) = h.to_str()
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some(t.trim().to_string());
    }
    // Browsers cannot set headers on a WebSocket: `?token=` is accepted too.
    if let Some(q) = parts.uri.query()
        && let Some(t) = q.split('&').find_map(|kv| kv.strip_prefix("token="))
    {
        return Some(t.to_string());
    }
    let cookies = parts
        .headers
        .get(axum::http::header::COOKIE)?
        .to_str()
        .ok()?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == "sb_session")
        .map(|(_, v)| v.to_string())
}

impl<R: RoleSet> FromRequestParts<AppState> for Auth<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::unauthenticated("log in first: Authorization: Bearer <token>")
        })?;
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::unauthenticated("invalid or expired session"));
        }
        let hash = crate::auth::token_hash(&token);
        let now = crate::now();
        let idle_ms = i64::try_from(state.settings.auth.session_idle_s)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        let idle_since = now.add_millis(-idle_ms);
        let asked =
            tokio::time::timeout(STORE_WAIT, state.store.use_session(&hash, now, idle_since)).await;
        let user = match asked {
            Ok(Ok(Some(user))) => {
                state.security.session_confirmed(&hash, &user);
                user
            }
            Ok(Ok(None)) => {
                state.security.session_gone(&hash);
                return Err(ApiError::unauthenticated("invalid or expired session"));
            }
            // The store fails or is slow (a restart): a session it confirmed
            // recently goes on; any other request is refused with the error.
            failed => match state.security.recent_session(&hash) {
                Some(user) => {
                    tracing::warn!(
                        "store unavailable: session served from the recent confirmations"
                    );
                    user
                }
                None => {
                    return Err(match failed {
                        Ok(Err(e)) => e.into(),
                        _ => ApiError::new(
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            "store_unavailable",
                            "the database does not answer; try again",
                        ),
                    });
                }
            },
        };
        if !R::allows(user.role) {
            return Err(ApiError::forbidden(format!(
                "role {} may not do this",
                user.role.as_str()
            )));
        }
        if state.settings.auth.require_2fa_roles.contains(&user.role) {
            const OPEN: [&str; 4] = [
                "/auth/totp/enrol",
                "/auth/totp/confirm",
                "/auth/me",
                "/auth/logout",
            ];
            let path = parts.uri.path();
            if !OPEN.iter().any(|p| path.ends_with(p)) {
                let active = matches!(state.store.get_totp(user.id).await, Ok(Some(r)) if r.active);
                if !active {
                    return Err(ApiError::new(
                        axum::http::StatusCode::FORBIDDEN,
                        "second_factor_enrolment_required",
                        "your role requires two-factor authentication: POST /api/v1/auth/totp/enrol",
                    ));
                }
            }
        }
        Ok(Auth {
            user,
            token,
            _roles: PhantomData,
        })
    }
}

/// How long a request waits for the store to confirm its session before
/// using a recent confirmation ([`crate::security::Security`]).
pub const STORE_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// The client's IP address, when the server runs with connection info
/// (`into_make_service_with_connect_info`); `None` otherwise. Never fails.
#[derive(Clone, Copy, Debug)]
pub struct SourceAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SourceAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(SourceAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// A permission named at the type level, for [`Can`].
pub trait PermissionMarker: Send + Sync + 'static {
    /// The permission.
    const PERMISSION: iam::Permission;
}

/// Type-level permissions (one unit type per `iam::Permission` used by a handler).
pub mod perm {
    macro_rules! markers {
        ($($name:ident),* $(,)?) => {$(
            #[doc = concat!("`iam::Permission::", stringify!($name), "` at the type level.")]
            pub struct $name;
            impl super::PermissionMarker for $name {
                const PERMISSION: iam::Permission = iam::Permission::$name;
            }
        )*};
    }
    markers!(
        RecordingsPlay,
        RecordingsDownload,
        ReportsExport,
        QueuesEdit,
        UsersManage,
        UsersGrant,
        CampaignsRun,
        SupervisionBarge,
        InteractionsEditClosed,
        AuditView,
    );
}

/// The `iam` view of a stored user: one global role (admin, supervisor,
/// agent map to the `iam` roles of the same name); a disabled account holds
/// nothing.
pub fn subject_of(u: &User) -> iam::Subject {
    let role = match u.role {
        Role::Admin => iam::Role::Admin,
        Role::Supervisor => iam::Role::Supervisor,
        Role::Agent => iam::Role::Agent,
    };
    let mut s = iam::Subject::with_role(u.id, role);
    if u.disabled {
        s.state = iam::AccountState::Suspended;
    }
    s
}

/// Witness that the caller holds permission `P` (platform-wide): the only
/// way to get one is this extractor, which asks `iam::can`; a handler taking
/// `Can<perm::RecordingsPlay>` cannot run for anyone else. 401 without a
/// session, 403 without the permission.
pub struct Can<P: PermissionMarker> {
    /// The user.
    pub user: User,
    _p: PhantomData<P>,
}

impl<P: PermissionMarker> FromRequestParts<AppState> for Can<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let a = Auth::<AnyRole>::from_request_parts(parts, state).await?;
        let subject = subject_of(&a.user);
        if !iam::can(
            &subject,
            P::PERMISSION,
            iam::Scope::Global,
            crate::now().as_millis(),
        ) {
            return Err(ApiError::forbidden(format!(
                "permission {} required (role {})",
                P::PERMISSION,
                a.user.role.as_str()
            )));
        }
        Ok(Can {
            user: a.user,
            _p: PhantomData,
        })
    }
}
