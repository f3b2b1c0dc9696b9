//! Call recording playback: the WAV file of an interaction, streamed to
//! supervisors and admins (agents get 403), with single byte ranges
//! (RFC 9110 §14) so a browser's `<audio>` can seek. Each play is audited as
//! a `recording_played` event on the interaction.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::ApiPath;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{EventKind, InteractionId, NewEvent};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// A `Range: bytes=...` request over a body of `len` bytes, as the
/// inclusive `(first, last)` byte positions (RFC 9110 §14.1.2). `None`: no
/// range or one we do not serve (several ranges, other units); then the
/// whole body goes out. `Some(Err(()))`: unsatisfiable (416).
pub fn byte_range(header: Option<&str>, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = header?.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let r = if a.is_empty() {
        // Suffix: the last `b` bytes.
        let n: u64 = b.parse().ok()?;
        if n == 0 || len == 0 {
            return Some(Err(()));
        }
        (len.saturating_sub(n), len - 1)
    } else {
        let first: u64 = a.parse().ok()?;
        let last = if b.is_empty() {
            len.saturating_sub(1)
        } else {
            b.parse::<u64>().ok()?.min(len.saturating_sub(1))
        };
        if first >= len || last < first {
            return Some(Err(()));
        }
        (first, last)
    };
    Some(Ok(r))
}

/// An interaction as the API shows it: `recording` is the playback URL
/// (`/api/v1/interactions/{id}/recording`), never the server's file path
/// (issue 18: no server path in API responses).
pub fn public(mut i: domain::Interaction) -> domain::Interaction {
    if i.recording.is_some() {
        i.recording = Some(format!("/api/v1/interactions/{}/recording", i.id.0));
    }
    i
}

/// Stream an interaction's call recording (`audio/wav`), whole or one byte
/// range. Needs `recordings.play` (supervisors, quality analysts;
/// not agents, not admins: least privilege, issue 18). A request for the whole file or a
/// range starting at byte 0 (how a player starts) writes a
/// `recording_played {user}` event; seeking does not.
#[utoipa::path(get, path = "/api/v1/interactions/{id}/recording", params(("id" = i64, Path, description = "interaction id")),
    responses((status = 200, description = "audio/wav"), (status = 206, description = "audio/wav, one byte range"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 416, body = ErrorBody)),
    tag = "interactions", security(("bearer" = [])))]
pub async fn recording(
    State(s): State<AppState>,
    auth: super::extract::Can<super::extract::perm::RecordingsPlay>,
    source: super::extract::SourceAddr,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let i = s
        .store
        .get_interaction(InteractionId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("interaction {id} not found")))?;
    let path = i
        .recording
        .clone()
        .ok_or_else(|| ApiError::not_found(format!("interaction {id} has no recording")))?;
    let mut file = tokio::fs::File::open(&path).await.map_err(|e| {
        tracing::warn!(interaction = id, error = %e, "recording file missing");
        ApiError::not_found(format!(
            "the recording of interaction {id} is not on this node"
        ))
    })?;
    let len = file.metadata().await.map_err(ApiError::internal)?.len();
    let range = byte_range(headers.get(RANGE).and_then(|v| v.to_str().ok()), len);
    let (status, first, last) = match range {
        None => (StatusCode::OK, 0, len.saturating_sub(1)),
        Some(Ok((a, b))) => (StatusCode::PARTIAL_CONTENT, a, b),
        Some(Err(())) => {
            let mut r = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("the recording has {len} bytes"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    if first == 0 {
        let mut ev = NewEvent::new(
            crate::now(),
            EventKind::RecordingPlayed {
                user: auth.user.username.clone(),
            },
        )
        .with_interaction(i.id);
        ev.customer_id = i.customer_id;
        ev.agent_id = i.agent_id;
        s.store.append_events(&[ev]).await?;
        // The timeline keeps its event; the tamper-evident trail gets the access.
        crate::security::audit(
            &*s.store,
            crate::security::entry(
                crate::now(),
                Some(auth.user.id),
                store::AuditAction::RecordingPlayed,
                format!("interaction:{id}"),
                source.0,
            ),
        )
        .await;
        tracing::info!(interaction = id, user = %auth.user.username, "recording played");
    }
    let count = if len == 0 { 0 } else { last - first + 1 };
    file.seek(std::io::SeekFrom::Start(first))
        .await
        .map_err(ApiError::internal)?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file.take(count)));
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(CONTENT_LENGTH, HeaderValue::from(count));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {first}-{last}/{len}"))
    {
        h.insert(CONTENT_RANGE, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn no_server_path_in_interaction_json() {
        let mut i: domain::Interaction = serde_json::from_value(serde_json::json!({
            "id": 42, "channel": "voice", "direction": "inbound", "customer_id": null,
            "queue_id": null, "agent_id": null, "started_at": 0, "answered_at": null,
            "ended_at": null, "end_reason": null, "disposition": null, "notes": null,
            "recording": "/var/lib/switchboard/recordings/42.wav"
        }))
        .unwrap();
        let shown = serde_json::to_string(&super::public(i.clone())).unwrap();
        assert!(!shown.contains("/var/lib"), "{shown}");
        assert!(
            shown.contains(r#""recording":"/api/v1/interactions/42/recording""#),
            "{shown}"
        );
        i.recording = None;
        assert!(super::public(i).recording.is_none());
    }

    #[test]
    fn ranges() {
        assert_eq!(byte_range(None, 100), None);
        assert_eq!(byte_range(Some("bytes=0-"), 100), Some(Ok((0, 99))));
        assert_eq!(byte_range(Some("bytes=10-19"), 100), Some(Ok((10, 19))));
        assert_eq!(byte_range(Some("bytes=90-500"), 100), Some(Ok((90, 99))));
        assert_eq!(byte_range(Some("bytes=-10"), 100), Some(Ok((90, 99))));
        assert_eq!(byte_range(Some("bytes=100-"), 100), Some(Err(())));
        assert_eq!(byte_range(Some("bytes=20-10"), 100), Some(Err(())));
        assert_eq!(byte_range(Some("bytes=0-1,5-6"), 100), None);
        assert_eq!(byte_range(Some("items=0-1"), 100), None);
        assert_eq!(byte_range(Some("bytes=x-1"), 100), None);
    }
}
