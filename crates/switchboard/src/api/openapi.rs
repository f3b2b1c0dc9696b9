//! The OpenAPI 3 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The API description served at `/api/v1/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard API", version = "1", description = "Contact-center platform API. Errors: {\"error\":{\"code\",\"message\"}}."),
    paths(
        super::auth_routes::login, super::auth_routes::logout, super::auth_routes::me,
        super::auth_routes::list_sessions, super::auth_routes::revoke_session,
        super::auth_routes::change_password,
        super::auth_routes::totp_enrol, super::auth_routes::totp_confirm,
        super::auth_routes::totp_remove, super::auth_routes::user_totp_remove,
        super::customers::search, super::customers::create, super::customers::get_one,
        super::customers::update, super::customers::delete, super::customers::lookup,
        super::customers::timeline,
        super::merges::merge, super::merges::list, super::merges::undo,
        super::positions::post_position, super::positions::latest, super::positions::track,
        super::positions::add_visit, super::positions::visits,
        super::incidents::list, super::incidents::acknowledge, super::incidents::resolve,
        super::bot::list, super::bot::create, super::bot::update, super::bot::delete,
        super::directory::list_agents, super::directory::get_agent, super::directory::create_agent,
        super::directory::list_queues, super::directory::get_queue, super::directory::create_queue,
        super::directory::update_queue, super::directory::list_dispositions,
        super::directory::create_disposition, super::directory::list_users, super::directory::create_user,
        super::admin_edit::update_agent, super::admin_edit::update_user,
        super::admin_edit::reset_user_password, super::admin_edit::reset_sip_password, super::admin_edit::update_disposition,
        super::admin_edit::get_pause_reasons, super::admin_edit::put_pause_reasons,
        super::interactions::list, super::interactions::get_one, super::interactions::create,
        super::interactions::events_of, super::interactions::list_events,
        super::recording::recording,
        super::agent::login, super::agent::logout, super::agent::state, super::agent::preview_call, super::agent::preview_skip, super::agent::disposition,
        super::agent::hangup, super::agent::hold, super::agent::queue_stats, super::agent::agent_stats,
        super::agent::outbox, super::agent::reload_flows, super::agent::my_state,
        super::work::transfer, super::work::accept, super::work::reject, super::work::reply,
        super::work::typing,
        super::work::callback,
        super::dialer::start, super::dialer::list, super::dialer::pause,
        super::dialer::resume, super::dialer::stop, super::dialer::upload,
        super::chat::rooms, super::chat::history, super::chat::post,
        super::campaigns::create, super::campaigns::list, super::campaigns::get_one,
        super::campaigns::start, super::campaigns::pause, super::campaigns::recipients,
        super::campaigns::opt_outs,
        super::reports::kpis, super::reports::schedules, super::reports::run_schedule,
        super::supervision::monitor, super::supervision::stop, super::supervision::take_over,
    ),
    components(schemas(super::error::ErrorBody, domain::EventKind, domain::event::AgentState)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sessions"),
        (name = "customers", description = "Customers, identities, timeline, merge and undo"),
        (name = "directory", description = "Agents, queues, dispositions, users"),
        (name = "interactions", description = "Interactions and the event log"),
        (name = "chat", description = "Internal chat: team and agent-supervisor rooms (WebSocket: /api/v1/chat/ws)"),
        (name = "campaigns", description = "Outbound message campaigns on the digital channels, delivery figures, opt-outs (STOP)"),
        (name = "supervision", description = "Listen, whisper, barge into live calls (supervisors)"),
        (name = "dialer", description = "Outbound voice campaigns: progressive / predictive / preview dialling with the abandon cap"),
        (name = "bot", description = "The chatbot's knowledge base: FAQ articles edited by admins at run time (audited; the bot's index is rebuilt at once)"),
        (name = "incidents", description = "SLA incidents raised by the platform: list, acknowledge, resolve (supervisors, admins; audited)"),
        (name = "reports", description = "Contact-center KPIs of a period as JSON, xlsx or pdf (audited)"),
        (name = "agent", description = "ACD login, state, disposition, call control, live statistics (WebSocket: /api/v1/ws)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/v1/openapi.json`
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
