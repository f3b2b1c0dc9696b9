//! The HTTP API under `/api/v1`, plus `/health`, `/ready` and `/metrics`.
//!
//! Every route under `/api/v1` except `POST /api/v1/auth/login` and the
//! OpenAPI document requires a session, and each handler names the roles it
//! admits in its signature (`Auth<AdminOnly>`, `Auth<SupervisorUp>`,
//! `Auth<AnyRole>`).

pub mod admin_edit;
mod agent;
pub mod auth_routes;
pub mod bot;
mod campaigns;
pub mod chat;
mod customers;
mod dialer;
mod directory;
pub(crate) use directory::apply_queue_live;
pub mod error;
pub mod extract;
pub mod incidents;
mod interactions;
mod merges;
mod openapi;
mod ops;
pub mod positions;
mod recording;
pub mod reports;
mod supervision;
mod work;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use store::Store;

pub use customers::{parse_emails, parse_phones};
pub use directory::{create_user_checked, set_password};
pub use openapi::ApiDoc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Settings.
    pub settings: Arc<crate::settings::Settings>,
    /// Prometheus registry handle, for `/metrics`.
    pub metrics: PrometheusHandle,
    /// The digital channels (webhooks, web chat, outbox dispatcher).
    pub messaging: Option<crate::messaging::Messaging>,
    /// The engine, when SIP is on.
    pub engine: Option<engine::EngineHandle>,
    /// Stops SIP and the engine in order at shutdown (with `engine`).
    pub telephony: Option<Arc<crate::telephony::Stop>>,
    /// The SIP address, when SIP is on.
    pub sip_addr: Option<std::net::SocketAddr>,
    /// The registrar's phone credentials, when SIP is on (a phone password
    /// set by an admin applies at once).
    pub sip_directory: Option<Arc<crate::telephony::StoreDirectory>>,
    /// Live fan-out of internal chat messages.
    pub chat: chat::ChatHub,
    /// Login limiter (issue 18).
    pub security: crate::security::Security,
    /// The SLA incident desk (issue 19).
    pub incidents: crate::incidents::Incidents,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.http.max_body_bytes;
    let channels = state
        .messaging
        .as_ref()
        .map(crate::messaging::Messaging::routes)
        .unwrap_or_default();
    let v1 = Router::new()
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/auth/login", post(auth_routes::login))
        .route("/auth/logout", post(auth_routes::logout))
        .route("/auth/me", get(auth_routes::me))
        .route("/auth/sessions", get(auth_routes::list_sessions))
        .route("/auth/sessions/{id}", delete(auth_routes::revoke_session))
        .route("/auth/password", post(auth_routes::change_password))
        .route("/auth/totp/enrol", post(auth_routes::totp_enrol))
        .route("/auth/totp/confirm", post(auth_routes::totp_confirm))
        .route("/auth/totp/remove", post(auth_routes::totp_remove))
        .route("/customers", get(customers::search).post(customers::create))
        .route("/customers/lookup", get(customers::lookup))
        .route(
            "/customers/{id}",
            get(customers::get_one)
                .patch(customers::update)
                .delete(customers::delete),
        )
        .route("/customers/{id}/timeline", get(customers::timeline))
        .route("/customers/{id}/merge", post(merges::merge))
        .route("/customers/{id}/merges", get(merges::list))
        .route("/merges/{id}/undo", post(merges::undo))
        .route(
            "/agents",
            get(directory::list_agents).post(directory::create_agent),
        )
        .route("/agents/positions", get(positions::latest))
        .route("/bot/articles", get(bot::list).post(bot::create))
        .route("/bot/articles/{id}", put(bot::update).delete(bot::delete))
        .route("/incidents", get(incidents::list))
        .route("/incidents/{id}/acknowledge", post(incidents::acknowledge))
        .route("/incidents/{id}/resolve", post(incidents::resolve))
        .route("/agents/{id}/track", get(positions::track))
        .route(
            "/agents/{id}/sip-password",
            post(admin_edit::reset_sip_password),
        )
        .route(
            "/agents/{id}",
            get(directory::get_agent).put(admin_edit::update_agent),
        )
        .route(
            "/queues",
            get(directory::list_queues).post(directory::create_queue),
        )
        .route(
            "/queues/{id}",
            get(directory::get_queue).put(directory::update_queue),
        )
        .route(
            "/dispositions",
            get(directory::list_dispositions).post(directory::create_disposition),
        )
        .route("/dispositions/{id}", put(admin_edit::update_disposition))
        .route(
            "/pause-reasons",
            get(admin_edit::get_pause_reasons).put(admin_edit::put_pause_reasons),
        )
        .route(
            "/users",
            get(directory::list_users).post(directory::create_user),
        )
        .route("/users/{id}", put(admin_edit::update_user))
        .route("/users/{id}/totp", delete(auth_routes::user_totp_remove))
        .route(
            "/users/{id}/password",
            post(admin_edit::reset_user_password),
        )
        .route(
            "/interactions",
            get(interactions::list).post(interactions::create),
        )
        .route("/interactions/{id}", get(interactions::get_one))
        .route("/interactions/{id}/events", get(interactions::events_of))
        .route("/interactions/{id}/recording", get(recording::recording))
        .route("/events", get(interactions::list_events))
        .route("/agent/login", post(agent::login))
        .route("/agent/logout", post(agent::logout))
        .route("/agent/state", get(agent::my_state).post(agent::state))
        .route("/agent/preview/call", post(agent::preview_call))
        .route("/agent/preview/skip", post(agent::preview_skip))
        .route("/agent/position", post(positions::post_position))
        .route(
            "/customers/{id}/visits",
            get(positions::visits).post(positions::add_visit),
        )
        .route("/interactions/{id}/disposition", post(agent::disposition))
        .route("/interactions/{id}/hangup", post(agent::hangup))
        .route("/interactions/{id}/hold", post(agent::hold))
        .route("/interactions/{id}/transfer", post(work::transfer))
        .route("/interactions/{id}/accept", post(work::accept))
        .route("/interactions/{id}/reject", post(work::reject))
        .route("/interactions/{id}/messages", post(work::reply))
        .route("/interactions/{id}/typing", post(work::typing))
        .route("/callbacks", post(work::callback))
        .route("/dialer/campaigns", get(dialer::list).post(dialer::start))
        .route("/dialer/campaigns/{id}/pause", post(dialer::pause))
        .route("/dialer/campaigns/{id}/resume", post(dialer::resume))
        .route("/dialer/campaigns/{id}/stop", post(dialer::stop))
        .route("/dialer/campaigns/{id}/contacts", post(dialer::upload))
        .route("/reports/kpis", get(reports::kpis))
        .route("/reports/schedules", get(reports::schedules))
        .route("/reports/schedules/{name}/run", post(reports::run_schedule))
        .route(
            "/interactions/{id}/monitor",
            axum::routing::put(supervision::monitor).delete(supervision::stop),
        )
        .route("/interactions/{id}/take-over", post(supervision::take_over))
        .route("/stats/queues", get(agent::queue_stats))
        .route("/stats/agents", get(agent::agent_stats))
        .route("/outbox", get(agent::outbox))
        .route("/channels", get(crate::messaging::status::channels_status))
        .route("/flows/reload", post(agent::reload_flows))
        .route("/campaigns", get(campaigns::list).post(campaigns::create))
        .route("/campaigns/{id}", get(campaigns::get_one))
        .route("/campaigns/{id}/start", post(campaigns::start))
        .route("/campaigns/{id}/pause", post(campaigns::pause))
        .route("/campaigns/{id}/recipients", get(campaigns::recipients))
        .route("/opt-outs", get(campaigns::opt_outs))
        .route("/ws", get(agent::ws))
        .route("/chat/rooms", get(chat::rooms))
        .route("/chat/ws", get(chat::ws))
        .route("/chat/{room}/messages", get(chat::history).post(chat::post))
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed);
    Router::new()
        .nest("/api/v1", v1)
        .merge(crate::web::router())
        .merge(channels)
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(axum::middleware::from_fn(ops::track_metrics))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Default page size and ceiling for list endpoints.
pub(crate) fn page(limit: Option<i64>, offset: Option<i64>, default: i64, max: i64) -> (i64, i64) {
    (
        limit.unwrap_or(default).clamp(1, max),
        offset.unwrap_or(0).max(0),
    )
}
