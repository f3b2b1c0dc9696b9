//! The Meta webhook (WhatsApp Business Cloud API, Messenger, Instagram), at
//! `/webhooks/meta`:
//!
//! - `GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`: the
//!   subscription handshake; answers `C` when `T` is `[channels.meta]
//!   verify_token`, else 403.
//! - `POST` with `X-Hub-Signature-256: sha256=<hex HMAC of the body keyed
//!   with the app secret>`: 401 (and a warning in the log) when the signature
//!   is missing or wrong, 400 for a body that is not a Meta payload, else
//!   every message is ingested and every status applied, then 200.

use super::{Inbound, dispatcher};
use crate::api::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use channels::ChannelEvent;
use std::collections::HashMap;

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

/// `GET /webhooks/meta`: the verification handshake.
pub async fn verify(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(m) = &s.messaging else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let token = m.inner.cfg.meta.verify_token.expose().to_string();
    let params = q.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    match channels::meta::webhook::verify_subscription(params, &token) {
        Ok(challenge) => (StatusCode::OK, challenge).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "Meta webhook verification refused");
            (status(e.http_status()), e.to_string()).into_response()
        }
    }
}

/// `POST /webhooks/meta`: messages and statuses.
pub async fn receive(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(m) = &s.messaging else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let secret = m.inner.cfg.meta.app_secret.expose().as_bytes().to_vec();
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    let events = match channels::meta::handle_webhook_post(&secret, signature, &body, crate::now())
    {
        Ok(evs) => evs,
        Err(e) => {
            return (status(e.http_status()), e.to_string()).into_response();
        }
    };
    for ev in events {
        match ev {
            ChannelEvent::Inbound(msg) => {
                let channel = msg.channel;
                if let Err(e) = m.ingest(Inbound::new(msg)).await {
                    tracing::error!(channel = channel.as_str(), error = %e, "webhook message not ingested");
                    return (StatusCode::INTERNAL_SERVER_ERROR, "not stored").into_response();
                }
            }
            ChannelEvent::Status(st) => dispatcher::apply_status(&m.inner, &st).await,
        }
    }
    StatusCode::OK.into_response()
}
