//! EXPERIMENTAL: Twitter/X direct messages over the X API v2.
//!
//! Read: `GET {api_base}/2/dm_events` with `event_types=MessageCreate`,
//! `dm_event.fields=id,text,event_type,created_at,sender_id,dm_conversation_id`,
//! `expansions=sender_id`, `user.fields=username`, paged by
//! `pagination_token` (answer `meta.next_token`). Write:
//! `POST {api_base}/2/dm_conversations/{dm_conversation_id}/messages` with
//! `{"text": ...}` (answer `data.dm_event_id`). Both with an OAuth 2.0 user
//! access token (scopes `dm.read`, `dm.write`, `users.read`) as a bearer.

use super::{PollPage, PollingAdapter, SocialMessage, SocialReply, SocialSource, call_json};
use crate::{ChannelError, DeliveryReceipt};
use async_trait::async_trait;
use domain::Timestamp;
use serde::{Deserialize, Serialize};

/// `[channels.x]` as the adapter needs it (experimental, off by default).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct XConfig {
    /// API base URL (the server's default is `https://api.x.com`).
    pub api_base: String,
    /// OAuth 2.0 user access token of our account.
    pub access_token: String,
    /// Our own X user id: DM events we sent are skipped when polling.
    pub own_user_id: String,
    /// Page size, 1..=100 (0 means 100).
    pub max_results: u32,
}

impl std::fmt::Debug for XConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XConfig")
            .field("api_base", &self.api_base)
            .field("access_token", &"<redacted>")
            .field("own_user_id", &self.own_user_id)
            .field("max_results", &self.max_results)
            .finish()
    }
}

/// One DM event (X API v2 `DmEvent` object, the fields we ask for).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmEvent {
    /// Event id.
    pub id: String,
    /// `MessageCreate`, `ParticipantsJoin` or `ParticipantsLeave`.
    pub event_type: String,
    /// Message text (`MessageCreate` only).
    #[serde(default)]
    pub text: Option<String>,
    /// Author's user id.
    #[serde(default)]
    pub sender_id: Option<String>,
    /// The conversation (`"<low id>-<high id>"` for one-to-one).
    #[serde(default)]
    pub dm_conversation_id: Option<String>,
    /// RFC 3339 creation time.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
}

/// A user in `includes.users`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XUser {
    /// User id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Handle without `@`.
    #[serde(default)]
    pub username: Option<String>,
}

/// `includes` of a DM events answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmIncludes {
    /// Expanded senders.
    #[serde(default)]
    pub users: Vec<XUser>,
}

/// `meta` of a DM events answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmMeta {
    /// Events on this page.
    #[serde(default)]
    pub result_count: u32,
    /// Cursor of the next (older) page.
    #[serde(default)]
    pub next_token: Option<String>,
    /// Cursor of the previous (newer) page.
    #[serde(default)]
    pub previous_token: Option<String>,
}

/// The answer of `GET /2/dm_events`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmEventsResponse {
    /// Events, newest first (absent when there are none).
    #[serde(default)]
    pub data: Vec<DmEvent>,
    /// Expansions.
    #[serde(default)]
    pub includes: DmIncludes,
    /// Paging.
    #[serde(default)]
    pub meta: DmMeta,
}

/// `data` of the answer to a DM send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmSent {
    /// The conversation.
    pub dm_conversation_id: String,
    /// The new event's id.
    pub dm_event_id: String,
}

/// The answer of `POST /2/dm_conversations/{id}/messages`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmSendResponse {
    /// What was created.
    pub data: DmSent,
}

/// Turn a DM events page into messages: `MessageCreate` events not sent by
/// `own_user_id`, with the sender's name from `includes`. Events missing a
/// sender, conversation or time are skipped.
pub fn messages_of(page: &DmEventsResponse, own_user_id: &str) -> Vec<SocialMessage> {
    page.data
        .iter()
        .filter(|e| e.event_type == "MessageCreate")
        .filter_map(|e| {
            let sender = e.sender_id.clone()?;
            if sender == own_user_id {
                return None;
            }
            let author_name = page
                .includes
                .users
                .iter()
                .find(|u| u.id == sender)
                .and_then(|u| u.name.clone().or_else(|| u.username.clone()));
            Some(SocialMessage {
                source: SocialSource::XDm,
                id: e.id.clone(),
                author_id: sender,
                author_name,
                text: e.text.clone().unwrap_or_default(),
                thread: e.dm_conversation_id.clone()?,
                context: None,
                created_at: e.created_at?,
            })
        })
        .collect()
}

/// The X DM adapter (experimental).
#[derive(Clone, Debug)]
pub struct XAdapter {
    config: XConfig,
    http: reqwest::Client,
}

impl XAdapter {
    /// Build it; `http` lets the server share one client and its TLS set-up.
    pub fn new(config: XConfig, http: reqwest::Client) -> Self {
        Self { config, http }
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<reqwest::Url, ChannelError> {
        super::api_url(&self.config.api_base, path, query)
    }
}

#[async_trait]
impl PollingAdapter for XAdapter {
    fn source(&self) -> SocialSource {
        SocialSource::XDm
    }

    async fn poll(&self, cursor: Option<&str>) -> Result<PollPage, ChannelError> {
        let max = match self.config.max_results {
            0 => 100,
            n => n.min(100),
        }
        .to_string();
        let mut q = vec![
            ("event_types", "MessageCreate"),
            (
                "dm_event.fields",
                "id,text,event_type,created_at,sender_id,dm_conversation_id",
            ),
            ("expansions", "sender_id"),
            ("user.fields", "username"),
            ("max_results", max.as_str()),
        ];
        if let Some(c) = cursor {
            q.push(("pagination_token", c));
        }
        let page: DmEventsResponse = call_json(
            "X API",
            self.http
                .get(self.url("2/dm_events", &q)?)
                .bearer_auth(&self.config.access_token),
        )
        .await?;
        Ok(PollPage {
            messages: messages_of(&page, &self.config.own_user_id),
            next_cursor: page.meta.next_token,
        })
    }

    async fn reply(&self, r: &SocialReply) -> Result<DeliveryReceipt, ChannelError> {
        if r.thread.is_empty() || !r.thread.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return Err(ChannelError::BadRecipient(format!(
                "{:?} is not an X DM conversation id",
                r.thread
            )));
        }
        let sent: DmSendResponse = call_json(
            "X API",
            self.http
                .post(self.url(&format!("2/dm_conversations/{}/messages", r.thread), &[])?)
                .bearer_auth(&self.config.access_token)
                .json(&serde_json::json!({ "text": r.text })),
        )
        .await?;
        Ok(DeliveryReceipt {
            provider_message_ids: vec![sent.data.dm_event_id],
        })
    }
}
