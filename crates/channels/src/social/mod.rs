//! EXPERIMENTAL: Twitter/X direct messages and YouTube comments (issue 8:
//! "adapter interfaces and config only, marked experimental").
//!
//! Both providers are pull-based for us: X API v2 lists DM events
//! (`GET /2/dm_events`, newest first, paged by `pagination_token`) and the
//! YouTube Data API v3 lists comment threads (`GET /youtube/v3/commentThreads`,
//! paged by `pageToken`). So they do not implement the push-shaped
//! [`crate::ChannelAdapter`]; they implement [`PollingAdapter`]: the caller
//! polls a page with the cursor it kept, and replies on a thread.
//!
//! There is no `domain::Channel` variant for them yet (adding one touches
//! every exhaustive match in the routing and engine crates), so messages are
//! [`SocialMessage`]s tagged with a [`SocialSource`], not
//! [`crate::InboundMessage`]s. Nothing in the server wires these adapters; the
//! `[channels.x]` and `[channels.youtube]` settings exist, off by default.
//!
//! ```
//! use channels::social::{PollingAdapter, x::{XAdapter, XConfig}};
//! let x = XAdapter::new(XConfig::default(), reqwest::Client::new());
//! assert_eq!(x.source(), channels::social::SocialSource::XDm);
//! ```

pub mod x;
pub mod youtube;

use crate::{ChannelError, DeliveryReceipt};
use async_trait::async_trait;
use domain::Timestamp;
use serde::{Deserialize, Serialize};

/// Which experimental source a message came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SocialSource {
    /// A Twitter/X direct message (X API v2 `MessageCreate` DM event).
    XDm,
    /// A public YouTube comment (Data API v3 `youtube#comment`).
    YoutubeComment,
}

/// A message from a customer on an experimental source, normalised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialMessage {
    /// Where it came from.
    pub source: SocialSource,
    /// The provider's id of the message (DM event id, comment id).
    pub id: String,
    /// The author's id (X user id, YouTube channel id).
    pub author_id: String,
    /// The author's display name, when the provider gives it.
    pub author_name: Option<String>,
    /// Plain text.
    pub text: String,
    /// What a reply names: the DM conversation id, or the top-level comment
    /// (thread) id.
    pub thread: String,
    /// Where it was posted: the YouTube video id; `None` for DMs.
    pub context: Option<String>,
    /// When the provider says it was written.
    pub created_at: Timestamp,
}

/// One page of a poll.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollPage {
    /// Messages on this page, in the provider's order (newest first for both).
    pub messages: Vec<SocialMessage>,
    /// Cursor of the next (older) page, if any.
    pub next_cursor: Option<String>,
}

/// A reply to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocialReply {
    /// The thread, as in [`SocialMessage::thread`].
    pub thread: String,
    /// Text (X: up to 10 000 characters; YouTube: a comment's limit).
    pub text: String,
}

/// A pull-based experimental adapter (a shell: it does the HTTP).
#[async_trait]
pub trait PollingAdapter: Send + Sync {
    /// The source it reads.
    fn source(&self) -> SocialSource;
    /// One page of recent messages, starting at `cursor` (`None`: newest).
    ///
    /// # Errors
    /// [`ChannelError::Temporary`] for network errors, 429 and 5xx;
    /// [`ChannelError::Rejected`] for other HTTP errors (bad token, no
    /// access); [`ChannelError::Protocol`] for an answer we cannot read.
    async fn poll(&self, cursor: Option<&str>) -> Result<PollPage, ChannelError>;
    /// Reply on a thread; returns the provider's id of the reply.
    ///
    /// # Errors
    /// As [`PollingAdapter::poll`].
    async fn reply(&self, r: &SocialReply) -> Result<DeliveryReceipt, ChannelError>;
}

/// `{base}/{path}?{query}` with the query percent-encoded.
pub(crate) fn api_url(
    base: &str,
    path: &str,
    query: &[(&str, &str)],
) -> Result<reqwest::Url, ChannelError> {
    let raw = format!("{}/{path}", base.trim_end_matches('/'));
    let url = if query.is_empty() {
        reqwest::Url::parse(&raw)
    } else {
        reqwest::Url::parse_with_params(&raw, query)
    };
    url.map_err(|e| ChannelError::Rejected(format!("bad API URL {raw:?}: {e}")))
}

/// Send a request and read a JSON answer, mapping HTTP errors the same way for
/// both providers.
pub(crate) async fn call_json<T: serde::de::DeserializeOwned>(
    what: &str,
    req: reqwest::RequestBuilder,
) -> Result<T, ChannelError> {
    let resp = req
        .send()
        .await
        .map_err(|e| ChannelError::Temporary(format!("{what} unreachable: {e}")))?;
    let status = resp.status().as_u16();
    let body = resp
        .bytes()
        .await
        .map_err(|e| ChannelError::Temporary(format!("{what} answer (HTTP {status}): {e}")))?;
    if !(200..300).contains(&status) {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        let detail = format!("{what}: HTTP {status}: {text}");
        return Err(if status == 429 || status >= 500 {
            ChannelError::Temporary(detail)
        } else {
            ChannelError::Rejected(detail)
        });
    }
    serde_json::from_slice(&body)
        .map_err(|e| ChannelError::Protocol(format!("{what} answer (HTTP {status}): {e}")))
}
