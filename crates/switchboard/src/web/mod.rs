//! The browser UI: server-rendered pages (askama templates, checked at
//! compile time and HTML-escaped by default) plus small vanilla ES modules
//! that call the JSON API (`/api/v1`) and listen to the push WebSocket.
//! Assets are embedded in the binary; no Node build is needed.
//!
//! Pages: `GET /login` (+ `POST /login`, `POST /logout`), `GET /agent` (agent
//! desktop), `GET /supervisor` (live queues and agents), `GET /admin`
//! (lists, add a disposition or a user; `GET|POST /admin/queues/{id}` edits
//! a queue: see `admin`; agents, users, dispositions and pause reasons are
//! edited under `/admin/...`: see `admin_edit`; the chatbot's articles
//! under `/admin/knowledge-base`: see `knowledge_base`), `GET /reports` (KPI
//! tables and charts of a period, xlsx and pdf export), `GET /wallboard`
//! (live per-queue figures in large type), `GET /map` (mobile agents on a
//! Leaflet map, their tracks), `GET /assets/{file}`, and for the installable
//! agent desktop `GET /manifest.webmanifest` and `GET /sw.js`.
//!
//! Sessions: the login form opens the same opaque session as the JSON login
//! and stores its token in the `sb_session` cookie (HttpOnly,
//! SameSite=Strict, `Secure` when `http.secure_cookies` is set). Forms carry
//! a CSRF token: for a session, a SHA-256 of the session token (so it needs no
//! storage); for the login form, a double-submit cookie `sb_csrf`. The pages'
//! scripts call the JSON API with `Content-Type: application/json`, which a
//! cross-site form cannot send, and the cookie is SameSite=Strict.
//! UI language: `?lang=fr|en` (remembered in the `lang` cookie), default `fr`.

mod admin;
mod admin_edit;
pub mod i18n;
mod knowledge_base;
mod pages;

use crate::api::AppState;
use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use i18n::Lang;

/// The web pages and their assets (merged into the API router).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login_submit))
        .route("/logout", post(pages::logout))
        .route("/agent", get(pages::agent))
        .route("/supervisor", get(pages::supervisor))
        .route("/campaigns", get(pages::campaigns))
        .route("/reports", get(pages::reports))
        .route("/wallboard", get(pages::wallboard))
        .route("/map", get(pages::map))
        .route("/admin", get(admin::admin))
        .route("/admin/dispositions", post(admin::add_disposition))
        .route("/admin/users", post(admin::add_user))
        .route(
            "/admin/agents/{id}",
            get(admin_edit::agent_form).post(admin_edit::agent_save),
        )
        .route(
            "/admin/users/{id}",
            get(admin_edit::user_form).post(admin_edit::user_save),
        )
        .route(
            "/admin/users/{id}/password",
            post(admin_edit::user_password),
        )
        .route(
            "/admin/agents/{id}/sip-password",
            post(admin_edit::agent_sip_password),
        )
        .route(
            "/admin/dispositions/{id}",
            get(admin_edit::disposition_form).post(admin_edit::disposition_save),
        )
        .route("/admin/pause-reasons", post(admin_edit::pause_reason))
        .route(
            "/admin/knowledge-base",
            get(knowledge_base::list).post(knowledge_base::add),
        )
        .route(
            "/admin/knowledge-base/{id}",
            get(knowledge_base::edit_form).post(knowledge_base::edit_save),
        )
        .route(
            "/admin/knowledge-base/{id}/delete",
            post(knowledge_base::delete),
        )
        .route(
            "/admin/queues/{id}",
            get(admin::queue_form).post(admin::queue_save),
        )
        .route("/assets/{file}", get(asset))
        .route("/sw.js", get(service_worker))
        .route("/manifest.webmanifest", get(manifest))
}

/// A cookie's value from the request, if present.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The UI language: `?lang=` first, then the `lang` cookie, then French.
/// The second value is true when it came from the query (to remember it).
pub(crate) fn lang_of(headers: &HeaderMap, query: Option<&str>) -> (Lang, bool) {
    if let Some(l) = query.and_then(Lang::parse) {
        return (l, true);
    }
    (
        cookie(headers, "lang")
            .and_then(Lang::parse)
            .unwrap_or_default(),
        false,
    )
}

/// The CSRF token of a session: 32 hex characters of
/// SHA-256(`"sb-csrf:" + session token`). Unguessable without the token,
/// stable for the session's life, nothing to store.
pub(crate) fn csrf_for(session_token: &str) -> String {
    let mut h = crate::auth::token_hash(&format!("sb-csrf:{session_token}"));
    h.truncate(32);
    h
}

/// Compare secrets in time independent of where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A `Set-Cookie` value. `http_only` for secrets; `max_age_s` 0 deletes.
pub(crate) fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age_s: u64,
    http_only: bool,
    secure: bool,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; Max-Age={max_age_s}; SameSite=Strict");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
}

const APP_CSS: &str = include_str!("../../assets/app.css");
const COMMON_JS: &str = include_str!("../../assets/common.js");
const AGENT_JS: &str = include_str!("../../assets/agent.js");
const SUPERVISOR_JS: &str = include_str!("../../assets/supervisor.js");
const CHAT_JS: &str = include_str!("../../assets/chat.js");
const MERGE_JS: &str = include_str!("../../assets/merge.js");
const CAMPAIGNS_JS: &str = include_str!("../../assets/campaigns.js");
const REPORTS_JS: &str = include_str!("../../assets/reports.js");
const WALLBOARD_JS: &str = include_str!("../../assets/wallboard.js");
const MAP_JS: &str = include_str!("../../assets/map.js");
const FIELD_JS: &str = include_str!("../../assets/field.js");
const ICON_SVG: &str = include_str!("../../assets/icon.svg");
const SW_JS: &str = include_str!("../../assets/sw.js");
const MANIFEST: &str = include_str!("../../assets/manifest.webmanifest");
/// uPlot 1.6.32 (MIT, `assets/vendor/uPlot.LICENSE`), vendored from its npm
/// package: the `/reports` charts, no CDN.
const UPLOT_JS: &str = include_str!("../../assets/vendor/uPlot.esm.js");
const UPLOT_CSS: &str = include_str!("../../assets/vendor/uPlot.min.css");
/// Leaflet 1.9.4 (BSD-2-Clause, `assets/vendor/leaflet.LICENSE`), vendored
/// from its npm package (`dist/leaflet.js`, `dist/leaflet.css`): the `/map`
/// page, no CDN.
const LEAFLET_JS: &str = include_str!("../../assets/vendor/leaflet.js");
const LEAFLET_CSS: &str = include_str!("../../assets/vendor/leaflet.css");

/// `GET /assets/{file}`: the embedded CSS and ES modules.
async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, ty) = match file.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "common.js" => (COMMON_JS, "text/javascript; charset=utf-8"),
        "agent.js" => (AGENT_JS, "text/javascript; charset=utf-8"),
        "supervisor.js" => (SUPERVISOR_JS, "text/javascript; charset=utf-8"),
        "chat.js" => (CHAT_JS, "text/javascript; charset=utf-8"),
        "merge.js" => (MERGE_JS, "text/javascript; charset=utf-8"),
        "campaigns.js" => (CAMPAIGNS_JS, "text/javascript; charset=utf-8"),
        "reports.js" => (REPORTS_JS, "text/javascript; charset=utf-8"),
        "wallboard.js" => (WALLBOARD_JS, "text/javascript; charset=utf-8"),
        "uPlot.esm.js" => (UPLOT_JS, "text/javascript; charset=utf-8"),
        "uPlot.min.css" => (UPLOT_CSS, "text/css; charset=utf-8"),
        "map.js" => (MAP_JS, "text/javascript; charset=utf-8"),
        "field.js" => (FIELD_JS, "text/javascript; charset=utf-8"),
        "icon.svg" => (ICON_SVG, "image/svg+xml"),
        "leaflet.js" => (LEAFLET_JS, "text/javascript; charset=utf-8"),
        "leaflet.css" => (LEAFLET_CSS, "text/css; charset=utf-8"),
        _ => return crate::api::error::ApiError::not_found("no such asset").into_response(),
    };
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(ty)),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// `GET /sw.js`: the service worker of the installable agent desktop
/// (issue 22). Served from the root so its scope is the whole site; `no-cache`
/// so browsers check for a new one at each load.
async fn service_worker() -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        SW_JS,
    )
        .into_response()
}

/// `GET /manifest.webmanifest`: the web app manifest (W3C Web Application
/// Manifest): name, start URL `/agent`, standalone display, icon.
async fn manifest() -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("application/manifest+json"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        MANIFEST,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_language() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("a=1; lang=en; sb_session=abc"),
        );
        assert_eq!(cookie(&h, "sb_session"), Some("abc"));
        assert_eq!(cookie(&h, "nope"), None);
        assert_eq!(lang_of(&h, None), (Lang::En, false));
        assert_eq!(lang_of(&h, Some("fr")), (Lang::Fr, true));
        assert_eq!(lang_of(&HeaderMap::new(), Some("xx")), (Lang::Fr, false));
    }

    #[test]
    fn csrf_tokens() {
        let a = csrf_for("token-a");
        assert_eq!(a.len(), 32);
        assert_eq!(a, csrf_for("token-a"));
        assert_ne!(a, csrf_for("token-b"));
        assert!(same_secret(&a, &csrf_for("token-a")));
        assert!(!same_secret(&a, &csrf_for("token-b")));
        assert!(!same_secret("", ""));
    }

    #[test]
    fn session_cookie_flags() {
        let c = set_cookie("sb_session", "t", "/", 60, true, true);
        assert_eq!(
            c.to_str().unwrap(),
            "sb_session=t; Path=/; Max-Age=60; SameSite=Strict; HttpOnly; Secure"
        );
    }
}
