//! `GET /api/v1/channels` (supervisors and admins): what is running.

use crate::api::AppState;
use crate::api::error::ApiResult;
use crate::api::extract::{Auth, SupervisorUp};
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

/// `{"adapters": ["sms", "webchat", ...], "sms_bound": bool, "email_in":
/// "127.0.0.1:2525" | null, "meta_webhook": bool, "webchat": bool}`: the
/// channels whose outbox rows are sent, whether the SMSC bind is up, where
/// the inbound SMTP listener listens.
pub async fn channels_status(
    State(s): State<AppState>,
    _a: Auth<SupervisorUp>,
) -> ApiResult<Json<Value>> {
    let Some(m) = &s.messaging else {
        return Ok(Json(
            json!({"adapters": [], "sms_bound": false, "email_in": null, "meta_webhook": false, "webchat": false}),
        ));
    };
    let adapters: Vec<&str> = m.adapter_channels().iter().map(|c| c.as_str()).collect();
    Ok(Json(json!({
        "adapters": adapters,
        "sms_bound": m.sms_bound(),
        "email_in": m.smtp_addr().map(|a| a.to_string()),
        "meta_webhook": m.inner.cfg.meta.enabled,
        "webchat": m.inner.cfg.webchat.enabled,
    })))
}
