//! EXPERIMENTAL X DM and YouTube comment adapters against a local axum
//! stand-in speaking the documented formats (X API v2 `GET /2/dm_events`,
//! `POST /2/dm_conversations/{id}/messages`; YouTube Data API v3
//! `commentThreads.list`, `comments.insert`). Fixtures follow the public
//! docs' examples with personal data replaced.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use channels::ChannelError;
use channels::social::x::{XAdapter, XConfig};
use channels::social::youtube::{YoutubeAdapter, YoutubeConfig};
use channels::social::{PollingAdapter, SocialReply, SocialSource};
use domain::Timestamp;
use serde_json::Value;

/// What the stand-in saw: `(method path?query, bearer, body)`.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

fn fixture(name: &str) -> String {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn record(seen: &Seen, method: &str, uri: &OriginalUri, headers: &HeaderMap, body: &[u8]) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    seen.lock().unwrap().push((
        format!("{method} {}", uri.0),
        auth,
        String::from_utf8_lossy(body).into_owned(),
    ));
}

fn json(status: StatusCode, body: String) -> axum::response::Response {
    (status, [("content-type", "application/json")], body).into_response()
}

/// The stand-in: the fixtures on the documented paths; page 2 is empty; a
/// `pagination_token`/`pageToken` of `limited` answers 429, `denied` 401,
/// `garbage` a body that is not JSON.
async fn stand_in() -> (String, Seen) {
    let seen: Seen = Arc::default();
    async fn list(
        State(seen): State<Seen>,
        uri: OriginalUri,
        headers: HeaderMap,
    ) -> axum::response::Response {
        record(&seen, "GET", &uri, &headers, b"");
        let q = uri.0.query().unwrap_or("");
        let x = uri.0.path() == "/2/dm_events";
        if q.contains("Token=limited") || q.contains("token=limited") {
            return json(
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"title":"Too Many Requests"}"#.into(),
            );
        }
        if q.contains("denied") {
            return json(
                StatusCode::UNAUTHORIZED,
                r#"{"title":"Unauthorized"}"#.into(),
            );
        }
        if q.contains("garbage") {
            return json(StatusCode::OK, "<html>".into());
        }
        let page2 = q.contains("pagination_token=") || q.contains("pageToken=");
        let body = match (x, page2) {
            (true, false) => fixture("x_dm_events.json"),
            (true, true) => r#"{"meta":{"result_count":0}}"#.into(),
            (false, false) => fixture("youtube_comment_threads.json"),
            (false, true) => r#"{"kind":"youtube#commentThreadListResponse","items":[]}"#.into(),
        };
        json(StatusCode::OK, body)
    }
    async fn send(
        State(seen): State<Seen>,
        uri: OriginalUri,
        headers: HeaderMap,
        body: Bytes,
    ) -> axum::response::Response {
        record(&seen, "POST", &uri, &headers, &body);
        if uri.0.path().starts_with("/2/") {
            json(StatusCode::CREATED, fixture("x_dm_send_response.json"))
        } else {
            json(
                StatusCode::OK,
                fixture("youtube_comment_insert_response.json"),
            )
        }
    }
    let app = Router::new()
        .route("/2/dm_events", get(list))
        .route("/2/dm_conversations/{id}/messages", post(send))
        .route("/youtube/v3/commentThreads", get(list))
        .route("/youtube/v3/comments", post(send))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn x_dms_are_polled_and_answered() {
    let (base, seen) = stand_in().await;
    let x = XAdapter::new(
        XConfig {
            api_base: base,
            access_token: "x-user-token".into(),
            own_user_id: "1470434430398132224".into(),
            max_results: 0,
        },
        reqwest::Client::new(),
    );
    let page = x.poll(None).await.unwrap();
    // Our own message and the join event are skipped.
    assert_eq!(page.messages.len(), 1);
    let m = &page.messages[0];
    assert_eq!(m.source, SocialSource::XDm);
    assert_eq!(m.id, "1582838499983273987");
    assert_eq!(m.author_id, "906948460078698496");
    assert_eq!(m.author_name.as_deref(), Some("Test Customer"));
    assert_eq!(m.text, "Bonjour, ma commande n'est pas arrivée <b>svp</b>");
    assert_eq!(m.thread, "906948460078698496-1470434430398132224");
    assert_eq!(m.created_at, Timestamp::from_millis(1_666_213_080_000));
    assert_eq!(
        page.next_cursor.as_deref(),
        Some("18LAA581J5II7LA00C00ZZZZ")
    );
    let older = x.poll(page.next_cursor.as_deref()).await.unwrap();
    assert!(older.messages.is_empty() && older.next_cursor.is_none());

    let receipt = x
        .reply(&SocialReply {
            thread: m.thread.clone(),
            text: "Nous vérifions votre commande.".into(),
        })
        .await
        .unwrap();
    assert_eq!(receipt.provider_message_ids, vec!["1582838593537556484"]);
    let err = x
        .reply(&SocialReply {
            thread: "../2/users".into(),
            text: "x".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::BadRecipient(_)), "{err}");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "the bad thread id never reached the API");
    assert!(
        seen[0]
            .0
            .starts_with("GET /2/dm_events?event_types=MessageCreate&")
    );
    assert!(seen[0].0.contains("max_results=100"));
    assert!(seen[0].0.contains("expansions=sender_id"));
    assert!(
        seen[1]
            .0
            .ends_with("pagination_token=18LAA581J5II7LA00C00ZZZZ")
    );
    assert_eq!(seen[0].1, "Bearer x-user-token");
    assert_eq!(
        seen[2].0,
        "POST /2/dm_conversations/906948460078698496-1470434430398132224/messages"
    );
    let body: Value = serde_json::from_str(&seen[2].2).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"text": "Nous vérifions votre commande."})
    );
}

#[tokio::test]
async fn youtube_comments_are_polled_and_answered() {
    let (base, seen) = stand_in().await;
    let yt = YoutubeAdapter::new(
        YoutubeConfig {
            api_base: format!("{base}/"),
            access_token: "yt-oauth-token".into(),
            channel_id: "UCtestchannel00000000000".into(),
            max_results: 20,
        },
        reqwest::Client::new(),
    );
    let page = yt.poll(None).await.unwrap();
    assert_eq!(page.messages.len(), 1, "our own comment is skipped");
    let m = &page.messages[0];
    assert_eq!(m.source, SocialSource::YoutubeComment);
    assert_eq!(m.author_id, "UCtestviewer000000000000");
    assert_eq!(m.author_name.as_deref(), Some("Test Viewer"));
    assert_eq!(m.text, "Le service client ne répond pas au 3333");
    assert_eq!(m.thread, "UgzDE2tasfmrYLyNkGt4AaABAg");
    assert_eq!(m.context.as_deref(), Some("testvideo01"));
    assert_eq!(m.created_at, Timestamp::from_millis(1_714_644_900_000));
    assert_eq!(page.next_cursor.as_deref(), Some("QURTSl9pMk5HYVhVRkFtZw"));
    let older = yt.poll(page.next_cursor.as_deref()).await.unwrap();
    assert!(older.messages.is_empty() && older.next_cursor.is_none());

    let receipt = yt
        .reply(&SocialReply {
            thread: m.thread.clone(),
            text: "Bonjour, écrivez-nous en privé.".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        receipt.provider_message_ids,
        vec!["UgzDE2tasfmrYLyNkGt4AaABAg.9zTestReply01"]
    );
    let seen = seen.lock().unwrap().clone();
    assert!(seen[0].0.starts_with("GET /youtube/v3/commentThreads?part=snippet&order=time&textFormat=plainText&allThreadsRelatedToChannelId=UCtestchannel00000000000&maxResults=20"), "{}", seen[0].0);
    assert!(seen[1].0.ends_with("pageToken=QURTSl9pMk5HYVhVRkFtZw"));
    assert_eq!(seen[2].0, "POST /youtube/v3/comments?part=snippet");
    assert_eq!(seen[2].1, "Bearer yt-oauth-token");
    let body: Value = serde_json::from_str(&seen[2].2).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"snippet": {"parentId": "UgzDE2tasfmrYLyNkGt4AaABAg", "textOriginal": "Bonjour, écrivez-nous en privé."}})
    );
}

#[tokio::test]
async fn provider_errors_are_classified() {
    let (base, _seen) = stand_in().await;
    let yt = YoutubeAdapter::new(
        YoutubeConfig {
            api_base: base.clone(),
            ..YoutubeConfig::default()
        },
        reqwest::Client::new(),
    );
    let x = XAdapter::new(
        XConfig {
            api_base: base,
            ..XConfig::default()
        },
        reqwest::Client::new(),
    );
    let e = yt.poll(Some("limited")).await.unwrap_err();
    assert!(
        matches!(e, ChannelError::Temporary(_)) && e.is_retryable(),
        "{e}"
    );
    let e = x.poll(Some("denied")).await.unwrap_err();
    assert!(
        matches!(e, ChannelError::Rejected(ref m) if m.contains("401")),
        "{e}"
    );
    let e = x.poll(Some("garbage")).await.unwrap_err();
    assert!(matches!(e, ChannelError::Protocol(_)), "{e}");
    // Nothing listening: temporary.
    let down = XAdapter::new(
        XConfig {
            api_base: "http://127.0.0.1:1".into(),
            ..XConfig::default()
        },
        reqwest::Client::new(),
    );
    assert!(matches!(
        down.poll(None).await,
        Err(ChannelError::Temporary(_))
    ));
    // Tokens never show in Debug.
    let cfg = XConfig {
        access_token: "secret-token".into(),
        ..XConfig::default()
    };
    assert!(!format!("{cfg:?}").contains("secret-token"));
}
