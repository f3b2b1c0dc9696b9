//! Internal chat storage (agents ↔ supervisors, the team channel): the
//! [`ChatStore`] trait, its types, and the SQL shared by both backends.

use async_trait::async_trait;
use domain::{Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// A chat message to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewChatMessage {
    /// Room: `team`, or `agent:<user id>` (one agent and the supervisors).
    pub room: String,
    /// Who wrote it.
    pub sender_id: UserId,
    /// Their username, kept with the message.
    pub sender: String,
    /// Text.
    pub body: String,
}

/// A stored chat message.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Row id; increases with time.
    pub id: i64,
    /// Room.
    pub room: String,
    /// Sender's user id.
    pub sender_id: UserId,
    /// Sender's username.
    pub sender: String,
    /// Text.
    pub body: String,
    /// When it was written.
    pub at: Timestamp,
}

/// Internal chat messages.
#[async_trait]
pub trait ChatStore: Send + Sync {
    /// Store a message; returns it with its id.
    async fn add_chat_message(
        &self,
        m: &NewChatMessage,
        now: Timestamp,
    ) -> crate::Result<ChatMessage>;
    /// The last `limit` (1..=500) messages of `room` with an id below
    /// `before` (all when `None`), oldest first.
    async fn list_chat_messages(
        &self,
        room: &str,
        before: Option<i64>,
        limit: i64,
    ) -> crate::Result<Vec<ChatMessage>>;
}

/// Implements [`ChatStore`] for `$store`; expanded by `impl_common!`.
macro_rules! impl_chat {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl crate::chat::ChatStore for $store {
            async fn add_chat_message(
                &self,
                m: &crate::chat::NewChatMessage,
                now: Timestamp,
            ) -> Result<crate::chat::ChatMessage> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO chat_messages (room, sender_id, sender, body, at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(&m.room)
                .bind(m.sender_id.0)
                .bind(&m.sender)
                .bind(&m.body)
                .bind(now.as_millis())
                .fetch_one(&self.pool)
                .await?;
                Ok(crate::chat::ChatMessage {
                    id,
                    room: m.room.clone(),
                    sender_id: m.sender_id,
                    sender: m.sender.clone(),
                    body: m.body.clone(),
                    at: now,
                })
            }

            async fn list_chat_messages(
                &self,
                room: &str,
                before: Option<i64>,
                limit: i64,
            ) -> Result<Vec<crate::chat::ChatMessage>> {
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT id, room, sender_id, sender, body, at FROM chat_messages WHERE room = ",
                );
                qb.push_bind(room.to_string());
                if let Some(b) = before {
                    qb.push(" AND id < ").push_bind(b);
                }
                qb.push(" ORDER BY id DESC LIMIT ")
                    .push_bind(limit.clamp(1, 500));
                let rows = qb.build().fetch_all(&self.pool).await?;
                let mut out = rows
                    .iter()
                    .map(|r| {
                        Ok(crate::chat::ChatMessage {
                            id: r.try_get("id")?,
                            room: r.try_get("room")?,
                            sender_id: UserId(r.try_get("sender_id")?),
                            sender: r.try_get("sender")?,
                            body: r.try_get("body")?,
                            at: Timestamp::from_millis(r.try_get("at")?),
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                out.reverse();
                Ok(out)
            }
        }
    };
}

pub(crate) use impl_chat;
