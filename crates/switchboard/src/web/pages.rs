//! Page handlers: each checks the session and role, reads what the page
//! shows at load time from the store or the engine, and renders a template.
//! Live data after load comes from the JSON API and the WebSocket.

use super::i18n::Lang;
use super::{cookie, csrf_for, lang_of, same_secret, set_cookie};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{AdminOnly, AnyRole, Auth, RoleSet, SupervisorUp};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{HeaderMap, HeaderName, HeaderValue, LOCATION, SET_COOKIE};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use store::User;

/// `?lang=fr|en` on any page.
#[derive(Deserialize, Default)]
pub struct LangQuery {
    pub(super) lang: Option<String>,
}

/// What the shared layout needs: language, the signed-in user, the logout
/// form's CSRF token, which navigation links to show.
pub(super) struct Nav {
    /// UI language.
    pub lang: Lang,
    /// Username, empty on the login page.
    pub user: String,
    /// CSRF token for the logout form.
    pub csrf: String,
    /// Show the agent desktop link.
    pub agent: bool,
    /// Show the supervisor link.
    pub supervisor: bool,
    /// Show the admin link.
    pub admin: bool,
    /// The current page (`agent`, `supervisor`, `admin`, `login`).
    pub page: &'static str,
}

impl Nav {
    pub(super) fn new(lang: Lang, auth: &Auth<AnyRole>, page: &'static str) -> Nav {
        Nav {
            lang,
            user: auth.user.username.clone(),
            csrf: csrf_for(&auth.token),
            agent: auth.user.agent_id.is_some(),
            supervisor: SupervisorUp::allows(auth.user.role),
            admin: AdminOnly::allows(auth.user.role),
            page,
        }
    }
}

/// Render a template to an HTML response with the page security headers;
/// remember the language in a cookie when it came from the query.
pub(super) fn render<T: Template>(
    t: &T,
    status: StatusCode,
    lang: Lang,
    remember: bool,
) -> Response {
    let mut resp = match t.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    };
    let h = resp.headers_mut();
    h.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    h.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    if remember {
        h.append(
            SET_COOKIE,
            set_cookie("lang", lang.code(), "/", 31_536_000, false, false),
        );
    }
    resp
}

pub(super) fn redirect(to: &'static str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(LOCATION, HeaderValue::from_static(to))],
    )
        .into_response()
}

/// Where a user lands after login.
fn landing(user: &User) -> &'static str {
    if user.agent_id.is_some() {
        "/agent"
    } else {
        "/supervisor"
    }
}

/// `GET /`: the user's landing page, or the login page.
pub async fn home(auth: Result<Auth<AnyRole>, ApiError>) -> Response {
    match auth {
        Ok(a) => redirect(landing(&a.user)),
        Err(_) => redirect("/login"),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Nav,
    lang: Lang,
    error: Option<&'static str>,
    csrf: String,
    username: String,
}

fn login_nav(lang: Lang) -> Nav {
    Nav {
        lang,
        user: String::new(),
        csrf: String::new(),
        agent: false,
        supervisor: false,
        admin: false,
        page: "login",
    }
}

/// The login form's CSRF value: the `sb_csrf` cookie if it looks right,
/// else a new random one (and the cookie to set).
fn login_csrf(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, "sb_csrf") {
        Some(v) if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (v.to_string(), None)
        }
        _ => {
            let (mut t, _) = crate::auth::new_token();
            t.truncate(32);
            let c = set_cookie("sb_csrf", &t, "/login", 3600, true, false);
            (t, Some(c))
        }
    }
}

fn login_page(
    headers: &HeaderMap,
    lang: Lang,
    remember: bool,
    status: StatusCode,
    error: Option<&'static str>,
    username: String,
    secure: bool,
) -> Response {
    let (csrf, new_cookie) = login_csrf(headers);
    let page = LoginPage {
        nav: login_nav(lang),
        lang,
        error,
        csrf,
        username,
    };
    let mut resp = render(&page, status, lang, remember);
    if let Some(mut c) = new_cookie {
        if secure
            && let Ok(v) =
                HeaderValue::from_str(&format!("{}; Secure", c.to_str().unwrap_or_default()))
        {
            c = v;
        }
        resp.headers_mut().append(SET_COOKIE, c);
    }
    resp
}

/// `GET /login`.
pub async fn login_form(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let (lang, remember) = lang_of(&headers, q.lang.as_deref());
    login_page(
        &headers,
        lang,
        remember,
        StatusCode::OK,
        None,
        String::new(),
        s.settings.http.secure_cookies,
    )
}

/// The login form's fields (missing ones are empty, so a bad post is a
/// failed login, not a framework error page).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    /// The second factor, for accounts with TOTP: a 6–8 digit code from the
    /// authenticator app, or else a recovery code.
    #[serde(default)]
    code: String,
}

/// `POST /login`: check the CSRF cookie, then the password; on success set
/// the session cookie and go to the user's landing page.
pub async fn login_submit(
    State(s): State<AppState>,
    source: crate::api::extract::SourceAddr,
    headers: HeaderMap,
    axum::Form(f): axum::Form<LoginForm>,
) -> Response {
    let (lang, _) = lang_of(&headers, None);
    let secure = s.settings.http.secure_cookies;
    let fail = |status, key: &'static str, username: String| {
        login_page(
            &headers,
            lang,
            false,
            status,
            Some(lang.t(key)),
            username,
            secure,
        )
    };
    let csrf_ok = cookie(&headers, "sb_csrf").is_some_and(|c| same_secret(c, &f.csrf));
    if !csrf_ok {
        return fail(StatusCode::FORBIDDEN, "bad_csrf", f.username);
    }
    let code = f.code.trim();
    let factor = crate::api::auth_routes::SecondFactor {
        totp_code: (!code.is_empty() && code.chars().all(|c| c.is_ascii_digit()))
            .then(|| code.to_string()),
        recovery_code: (!code.is_empty() && !code.chars().all(|c| c.is_ascii_digit()))
            .then(|| code.to_string()),
    };
    match crate::api::auth_routes::authenticate_with(
        &s,
        &f.username,
        &f.password,
        source.0,
        &factor,
    )
    .await
    {
        Ok(session) => {
            let mut resp = redirect(landing(&session.user));
            resp.headers_mut().append(
                SET_COOKIE,
                set_cookie(
                    "sb_session",
                    &session.token,
                    "/",
                    s.settings.auth.session_ttl_s,
                    true,
                    secure,
                ),
            );
            resp
        }
        Err(e) if e.code == "second_factor_required" => {
            fail(StatusCode::UNAUTHORIZED, "code_required", f.username)
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            fail(StatusCode::UNAUTHORIZED, "bad_login", f.username)
        }
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => {
            fail(StatusCode::TOO_MANY_REQUESTS, "bad_login", f.username)
        }
        Err(e) => {
            tracing::error!(error = %e.message, "web login failed");
            fail(StatusCode::INTERNAL_SERVER_ERROR, "login_error", f.username)
        }
    }
}

/// The logout form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /logout`: end the session (CSRF-checked) and clear the cookie.
pub async fn logout(
    State(s): State<AppState>,
    auth: Result<Auth<AnyRole>, ApiError>,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Response {
    let Ok(auth) = auth else {
        return redirect("/login");
    };
    if !same_secret(&csrf_for(&auth.token), &f.csrf) {
        return (StatusCode::FORBIDDEN, "CSRF token mismatch").into_response();
    }
    if let Err(e) = s
        .store
        .delete_session(&crate::auth::token_hash(&auth.token))
        .await
    {
        tracing::error!(error = %e, "logout failed");
    }
    let mut resp = redirect("/login");
    resp.headers_mut().append(
        SET_COOKIE,
        set_cookie(
            "sb_session",
            "",
            "/",
            0,
            true,
            s.settings.http.secure_cookies,
        ),
    );
    resp
}

/// A disposition in the wrap-up list (also a pause reason).
pub(super) struct DispOption {
    pub(super) code: String,
    pub(super) label: String,
}

#[derive(Template)]
#[template(path = "agent.html")]
struct AgentPage {
    nav: Nav,
    lang: Lang,
    i18n: String,
    has_agent: bool,
    engine_on: bool,
    /// `logged_out`, `available`, `reserved`, `busy`, `wrap_up`, `paused`.
    state: &'static str,
    reason: String,
    in_state_ms: i64,
    dispositions: Vec<DispOption>,
    /// Transfer targets: queues.
    transfer_queues: Vec<Choice>,
    /// Transfer targets: the other agents logged in to the ACD at load time.
    transfer_agents: Vec<Choice>,
    /// The user holds `recordings.play` (supervisors).
    can_play: bool,
    /// Pause reasons in force (admin's list, else `[desktop] pause_reasons`).
    pause_reasons: Vec<DispOption>,
    /// Offer position sharing (`[positions] enabled` and an agent user).
    geo_enabled: bool,
    /// Seconds between two positions sent (`[positions] interval_s`, ≥ 5).
    geo_interval_s: u64,
}

/// An `<option>`: id and label.
struct Choice {
    id: i64,
    label: String,
}

/// The push schema's state names for the routing core's statuses.
fn state_name(s: &routing::AgentStatus) -> (&'static str, String) {
    use routing::AgentStatus as S;
    match s {
        S::LoggedOut => ("logged_out", String::new()),
        S::Reserved => ("reserved", String::new()),
        S::Busy => ("busy", String::new()),
        S::WrapUp => ("wrap_up", String::new()),
        S::Paused(r) => ("paused", r.clone()),
        S::Available => ("available", String::new()),
    }
}

/// A pause reason's label: the UI string `reason_<code>`, else the code.
fn reason_label(lang: Lang, code: &str) -> String {
    match lang.t(&format!("reason_{code}")) {
        "??" => code.to_string(),
        label => label.to_string(),
    }
}

/// `GET /agent`: the agent desktop.
pub async fn agent(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    auth: Result<Auth<AnyRole>, ApiError>,
) -> Response {
    let Ok(auth) = auth else {
        return redirect("/login");
    };
    let (lang, remember) = lang_of(&headers, q.lang.as_deref());
    let (mut state, mut reason, mut in_state_ms) = ("logged_out", String::new(), 0);
    let mut logged_in = Vec::new();
    if let Some(e) = &s.engine
        && let Ok(all) = e.agent_stats().await
    {
        for st in &all {
            if Some(st.agent) == auth.user.agent_id {
                (state, reason) = state_name(&st.status);
                in_state_ms = st.in_status_ms;
            } else if !matches!(st.status, routing::AgentStatus::LoggedOut) {
                logged_in.push(st.agent);
            }
        }
    }
    let transfer_agents = match s.store.list_agents().await {
        Ok(a) => a
            .into_iter()
            .filter(|a| logged_in.contains(&a.id))
            .map(|a| Choice {
                id: a.id.0,
                label: a.name,
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "agents for the transfer list");
            Vec::new()
        }
    };
    let transfer_queues = match s.store.list_queues().await {
        Ok(q) => q
            .into_iter()
            .map(|q| Choice {
                id: q.id.0,
                label: q.name,
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "queues for the transfer list");
            Vec::new()
        }
    };
    // Retired codes stay on past interactions but are not offered.
    let retired = crate::api::admin_edit::retired_dispositions(&*s.store)
        .await
        .unwrap_or_default();
    let dispositions = match s.store.list_dispositions().await {
        Ok(d) => d
            .into_iter()
            .filter(|d| !retired.contains(&d.code))
            .map(|d| DispOption {
                code: d.code,
                label: d.label,
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "dispositions for the agent page");
            Vec::new()
        }
    };
    let page = AgentPage {
        geo_enabled: s.settings.positions.enabled && auth.user.agent_id.is_some(),
        geo_interval_s: s.settings.positions.interval_s.max(5),
        nav: Nav::new(lang, &auth, "agent"),
        lang,
        i18n: lang.json(),
        has_agent: auth.user.agent_id.is_some(),
        engine_on: s.engine.is_some(),
        state,
        reason,
        in_state_ms,
        dispositions,
        transfer_queues,
        transfer_agents,
        can_play: iam::can(
            &crate::api::extract::subject_of(&auth.user),
            iam::Permission::RecordingsPlay,
            iam::Scope::Global,
            crate::now().as_millis(),
        ),
        pause_reasons: crate::api::admin_edit::pause_reasons(&s)
            .await
            .into_iter()
            .map(|code| DispOption {
                label: reason_label(lang, &code),
                code,
            })
            .collect(),
    };
    render(&page, StatusCode::OK, lang, remember)
}

#[derive(Template)]
#[template(path = "supervisor.html")]
struct SupervisorPage {
    nav: Nav,
    lang: Lang,
    i18n: String,
    engine_on: bool,
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct CampaignsPage {
    nav: Nav,
    lang: Lang,
    i18n: String,
    engine_on: bool,
}

/// The common start of a supervisors' page: no session → the login page;
/// a role below supervisor → the 403 page; else its navigation bar,
/// language and whether to remember it.
fn supervisor_page(
    headers: &HeaderMap,
    q: &LangQuery,
    auth: Result<Auth<AnyRole>, ApiError>,
    page: &'static str,
) -> Result<(Nav, Lang, bool), Box<Response>> {
    let Ok(auth) = auth else {
        return Err(Box::new(redirect("/login")));
    };
    let (lang, remember) = lang_of(headers, q.lang.as_deref());
    let nav = Nav::new(lang, &auth, page);
    if !SupervisorUp::allows(auth.user.role) {
        return Err(Box::new(render(
            &ForbiddenPage { nav, lang },
            StatusCode::FORBIDDEN,
            lang,
            remember,
        )));
    }
    Ok((nav, lang, remember))
}

/// `GET /campaigns`: outbound call campaigns (supervisors and admins).
pub async fn campaigns(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    auth: Result<Auth<AnyRole>, ApiError>,
) -> Response {
    let (nav, lang, remember) = match supervisor_page(&headers, &q, auth, "campaigns") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let page = CampaignsPage {
        nav,
        lang,
        i18n: lang.json(),
        engine_on: s.engine.is_some(),
    };
    render(&page, StatusCode::OK, lang, remember)
}

#[derive(Template)]
#[template(path = "forbidden.html")]
pub(super) struct ForbiddenPage {
    pub(super) nav: Nav,
    pub(super) lang: Lang,
}

/// `GET /supervisor`: live queues and agents (supervisors and admins).
pub async fn supervisor(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    auth: Result<Auth<AnyRole>, ApiError>,
) -> Response {
    let (nav, lang, remember) = match supervisor_page(&headers, &q, auth, "supervisor") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let page = SupervisorPage {
        nav,
        lang,
        i18n: lang.json(),
        engine_on: s.engine.is_some(),
    };
    render(&page, StatusCode::OK, lang, remember)
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    nav: Nav,
    lang: Lang,
    i18n: String,
    /// The queues for the filter.
    queues: Vec<Choice>,
    /// Default period: the last 7 local days (`YYYY-MM-DD`), UTC.
    from: String,
    to: String,
    /// The site's time zone, the default of the filter.
    tz: String,
}

/// `GET /reports`: the KPI report of a period (supervisors and admins):
/// filters, the table of the chosen dimension, charts, exports. The figures
/// come from `GET /api/v1/reports/kpis`.
pub async fn reports(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    auth: Result<Auth<AnyRole>, ApiError>,
) -> Response {
    let (nav, lang, remember) = match supervisor_page(&headers, &q, auth, "reports") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let queues = match s.store.list_queues().await {
        Ok(q) => q
            .into_iter()
            .map(|q| Choice {
                id: q.id.0,
                label: q.name,
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "queues for the report filter");
            Vec::new()
        }
    };
    let day = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.strftime("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let now = crate::now().as_millis();
    let page = ReportsPage {
        nav,
        lang,
        i18n: lang.json(),
        queues,
        from: day(now - 6 * 86_400_000),
        to: day(now + 86_400_000),
        tz: s.settings.site.time_zone.clone(),
    };
    render(&page, StatusCode::OK, lang, remember)
}

#[derive(Template)]
#[template(path = "wallboard.html")]
struct WallboardPage {
    nav: Nav,
    lang: Lang,
    i18n: String,
    engine_on: bool,
}

/// `GET /wallboard`: per-queue waiting, longest wait, service level of
/// today (the live figures restart at midnight in `[site] time_zone`) and
/// agents by state in large type, kept live by the `queue_stats` push
/// (supervisors and admins).
pub async fn wallboard(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    auth: Result<Auth<AnyRole>, ApiError>,
) -> Response {
    let (nav, lang, remember) = match supervisor_page(&headers, &q, auth, "wallboard") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let page = WallboardPage {
        nav,
        lang,
        i18n: lang.json(),
        engine_on: s.engine.is_some(),
    };
    render(&page, StatusCode::OK, lang, remember)
}

#[derive(Template)]
#[template(path = "map.html")]
struct MapPage {
    nav: Nav,
    lang: Lang,
    i18n: String,
    engine_on: bool,
    /// `[map] tile_url`; empty: the offline background.
    tile_url: String,
    attribution: String,
    center_lat: f64,
    center_lon: f64,
    zoom: u8,
    /// How often the page re-reads the positions, seconds.
    refresh_s: u64,
    /// Today in the site's time zone, `YYYY-MM-DD` (the track's default day).
    today: String,
}

/// The origin a tile URL template loads from, as a CSP source: the
/// scheme and host, `{s}` (Leaflet's subdomain letter) as a `*` wildcard.
/// `None` for a template that is not an absolute http(s) URL.
pub(super) fn tile_origin(template: &str) -> Option<String> {
    let (scheme, rest) = template.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split('/').next()?.replace("{s}", "*");
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'))
    {
        return None;
    }
    Some(format!("{scheme}://{host}"))
}

/// `GET /map`: agents' latest positions coloured by ACD state and an
/// agent's track for a day, on Leaflet (supervisors and admins). Tiles from
/// `[map] tile_url` (allowed in the page's CSP `img-src`), else an offline
/// grid background.
pub async fn map(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    auth: Result<Auth<AnyRole>, ApiError>,
) -> Response {
    let (nav, lang, remember) = match supervisor_page(&headers, &q, auth, "map") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let m = &s.settings.map;
    let origin = tile_origin(&m.tile_url);
    if !m.tile_url.is_empty() && origin.is_none() {
        tracing::warn!(tile_url = %m.tile_url, "[map] tile_url is not an http(s) URL: offline background used");
    }
    let today = jiff::tz::TimeZone::get(&s.settings.site.time_zone)
        .ok()
        .and_then(|z| {
            jiff::Timestamp::from_millisecond(crate::now().as_millis())
                .ok()
                .map(|t| t.to_zoned_datetime(z).date().to_string())
        })
        .unwrap_or_default();
    let page = MapPage {
        nav,
        lang,
        i18n: lang.json(),
        engine_on: s.engine.is_some(),
        tile_url: if origin.is_some() {
            m.tile_url.clone()
        } else {
            String::new()
        },
        attribution: m.attribution.clone(),
        center_lat: m.center[0],
        center_lon: m.center[1],
        zoom: m.zoom.clamp(1, 18),
        refresh_s: s.settings.positions.interval_s.max(5),
        today,
    };
    let mut resp = render(&page, StatusCode::OK, lang, remember);
    if let Some(origin) = origin
        && let Ok(v) = HeaderValue::from_str(&format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: {origin}; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        ))
    {
        resp.headers_mut()
            .insert(HeaderName::from_static("content-security-policy"), v);
    }
    resp
}
