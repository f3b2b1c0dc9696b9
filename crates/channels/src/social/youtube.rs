//! EXPERIMENTAL: YouTube comments over the YouTube Data API v3.
//!
//! Read: `GET {api_base}/youtube/v3/commentThreads?part=snippet&order=time&
//! textFormat=plainText&allThreadsRelatedToChannelId={channel_id}`, paged by
//! `pageToken` (answer `nextPageToken`): each thread's top-level comment is a
//! customer message. Write: `POST {api_base}/youtube/v3/comments?part=snippet`
//! with `{"snippet":{"parentId": <thread id>, "textOriginal": ...}}` (answer:
//! the new `youtube#comment`). Both with an OAuth 2.0 access token (scope
//! `youtube.force-ssl`) as a bearer.

use super::{PollPage, PollingAdapter, SocialMessage, SocialReply, SocialSource, call_json};
use crate::{ChannelError, DeliveryReceipt};
use async_trait::async_trait;
use domain::Timestamp;
use serde::{Deserialize, Serialize};

/// `[channels.youtube]` as the adapter needs it (experimental, off by default).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct YoutubeConfig {
    /// API base URL (the server's default is `https://www.googleapis.com`).
    pub api_base: String,
    /// OAuth 2.0 access token of the channel owner.
    pub access_token: String,
    /// Our channel id (`UC…`): threads on its videos are read; its own
    /// comments are skipped.
    pub channel_id: String,
    /// Page size, 1..=100 (0 means 100).
    pub max_results: u32,
}

impl std::fmt::Debug for YoutubeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YoutubeConfig")
            .field("api_base", &self.api_base)
            .field("access_token", &"<redacted>")
            .field("channel_id", &self.channel_id)
            .field("max_results", &self.max_results)
            .finish()
    }
}

/// `authorChannelId` of a comment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorChannelId {
    /// The author's channel id.
    #[serde(default)]
    pub value: String,
}

/// `snippet` of a `youtube#comment` (the fields we use).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentSnippet {
    /// Author's display name.
    #[serde(default)]
    pub author_display_name: Option<String>,
    /// Author's channel.
    #[serde(default)]
    pub author_channel_id: Option<AuthorChannelId>,
    /// The video commented on.
    #[serde(default)]
    pub video_id: Option<String>,
    /// Text as displayed (plain text when `textFormat=plainText`).
    #[serde(default)]
    pub text_display: Option<String>,
    /// Text as written (only returned to the author).
    #[serde(default)]
    pub text_original: Option<String>,
    /// The top-level comment a reply answers.
    #[serde(default)]
    pub parent_id: Option<String>,
    /// RFC 3339 time of posting.
    #[serde(default)]
    pub published_at: Option<Timestamp>,
}

/// A `youtube#comment` resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// `youtube#comment`.
    #[serde(default)]
    pub kind: String,
    /// Comment id.
    pub id: String,
    /// Details.
    pub snippet: CommentSnippet,
}

/// `snippet` of a `youtube#commentThread`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentThreadSnippet {
    /// The channel the thread belongs to.
    #[serde(default)]
    pub channel_id: Option<String>,
    /// The video, if on a video.
    #[serde(default)]
    pub video_id: Option<String>,
    /// The top-level comment.
    pub top_level_comment: Comment,
    /// Whether the viewer may reply.
    #[serde(default)]
    pub can_reply: bool,
    /// Replies so far.
    #[serde(default)]
    pub total_reply_count: u32,
}

/// A `youtube#commentThread` resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentThread {
    /// `youtube#commentThread`.
    #[serde(default)]
    pub kind: String,
    /// Thread id (the top-level comment's id).
    pub id: String,
    /// Details.
    pub snippet: CommentThreadSnippet,
}

/// The answer of `GET /youtube/v3/commentThreads`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentThreadListResponse {
    /// `youtube#commentThreadListResponse`.
    #[serde(default)]
    pub kind: String,
    /// Cursor of the next page.
    #[serde(default)]
    pub next_page_token: Option<String>,
    /// Threads, newest first with `order=time`.
    #[serde(default)]
    pub items: Vec<CommentThread>,
}

/// Turn a thread page into messages: each thread's top-level comment, unless
/// written by `own_channel_id`. Comments without a time are skipped.
pub fn messages_of(page: &CommentThreadListResponse, own_channel_id: &str) -> Vec<SocialMessage> {
    page.items
        .iter()
        .filter_map(|t| {
            let c = &t.snippet.top_level_comment;
            let author = c
                .snippet
                .author_channel_id
                .as_ref()
                .map(|a| a.value.clone())
                .unwrap_or_default();
            if !own_channel_id.is_empty() && author == own_channel_id {
                return None;
            }
            Some(SocialMessage {
                source: SocialSource::YoutubeComment,
                id: c.id.clone(),
                author_id: author,
                author_name: c.snippet.author_display_name.clone(),
                text: c
                    .snippet
                    .text_original
                    .clone()
                    .or_else(|| c.snippet.text_display.clone())
                    .unwrap_or_default(),
                thread: t.id.clone(),
                context: t
                    .snippet
                    .video_id
                    .clone()
                    .or_else(|| c.snippet.video_id.clone()),
                created_at: c.snippet.published_at?,
            })
        })
        .collect()
}

/// The YouTube comments adapter (experimental).
#[derive(Clone, Debug)]
pub struct YoutubeAdapter {
    config: YoutubeConfig,
    http: reqwest::Client,
}

impl YoutubeAdapter {
    /// Build it; `http` lets the server share one client and its TLS set-up.
    pub fn new(config: YoutubeConfig, http: reqwest::Client) -> Self {
        Self { config, http }
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<reqwest::Url, ChannelError> {
        super::api_url(&self.config.api_base, path, query)
    }
}

#[async_trait]
impl PollingAdapter for YoutubeAdapter {
    fn source(&self) -> SocialSource {
        SocialSource::YoutubeComment
    }

    async fn poll(&self, cursor: Option<&str>) -> Result<PollPage, ChannelError> {
        let max = match self.config.max_results {
            0 => 100,
            n => n.min(100),
        }
        .to_string();
        let mut q = vec![
            ("part", "snippet"),
            ("order", "time"),
            ("textFormat", "plainText"),
            (
                "allThreadsRelatedToChannelId",
                self.config.channel_id.as_str(),
            ),
            ("maxResults", max.as_str()),
        ];
        if let Some(c) = cursor {
            q.push(("pageToken", c));
        }
        let page: CommentThreadListResponse = call_json(
            "YouTube Data API",
            self.http
                .get(self.url("youtube/v3/commentThreads", &q)?)
                .bearer_auth(&self.config.access_token),
        )
        .await?;
        Ok(PollPage {
            messages: messages_of(&page, &self.config.channel_id),
            next_cursor: page.next_page_token,
        })
    }

    async fn reply(&self, r: &SocialReply) -> Result<DeliveryReceipt, ChannelError> {
        if r.thread.is_empty() {
            return Err(ChannelError::BadRecipient("empty comment thread id".into()));
        }
        let body = serde_json::json!({
            "snippet": { "parentId": r.thread, "textOriginal": r.text }
        });
        let c: Comment = call_json(
            "YouTube Data API",
            self.http
                .post(self.url("youtube/v3/comments", &[("part", "snippet")])?)
                .bearer_auth(&self.config.access_token)
                .json(&body),
        )
        .await?;
        Ok(DeliveryReceipt {
            provider_message_ids: vec![c.id],
        })
    }
}
