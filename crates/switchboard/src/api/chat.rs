//! Internal chat between agents and supervisors, stored (`chat_messages`)
//! and live over its own WebSocket (it works with the engine off).
//!
//! Rooms: `team` (everyone signed in) and `agent:<user id>` (that agent and
//! every supervisor and admin). An agent reads and writes `team` and their
//! own room; supervisors and admins every room.
//!
//! Live messages on `GET /api/v1/chat/ws`:
//! `{"v":1,"type":"chat","id","room","sender_id","sender","body","at"}`.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AnyRole, ApiJson, ApiPath, ApiQuery, Auth, RoleSet, SupervisorUp};
use axum::Json;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use domain::Role;
use serde::{Deserialize, Serialize};
use store::{ChatMessage, NewChatMessage, User};
use tokio::sync::broadcast;

/// Longest chat message, characters.
pub const MAX_CHAT_CHARS: usize = 2000;

/// Fan-out of new chat messages to the chat WebSockets of this node.
#[derive(Clone, Debug)]
pub struct ChatHub {
    tx: broadcast::Sender<ChatMessage>,
}

impl Default for ChatHub {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(256).0,
        }
    }
}

impl ChatHub {
    /// Hand a stored message to every listener (none listening is fine).
    pub fn publish(&self, m: ChatMessage) {
        let _ = self.tx.send(m);
    }

    /// Listen to new messages (all rooms; filter with [`may_use`]).
    pub fn subscribe(&self) -> broadcast::Receiver<ChatMessage> {
        self.tx.subscribe()
    }
}

/// May `user` read and write `room`?
pub fn may_use(user: &User, room: &str) -> bool {
    if room == "team" {
        return true;
    }
    let Some(id) = room
        .strip_prefix("agent:")
        .and_then(|i| i.parse::<i64>().ok())
    else {
        return false;
    };
    SupervisorUp::allows(user.role) || user.id.0 == id
}

fn check_room(user: &User, room: &str) -> ApiResult<()> {
    if may_use(user, room) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "room {room:?}: not yours (rooms: team, agent:<your user id>)"
        )))
    }
}

/// A room the caller may use.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Room {
    /// Room id for the other chat routes.
    pub room: String,
    /// `team`, or `agent` (one agent and the supervisors).
    pub kind: &'static str,
    /// For `agent` rooms: the agent's username.
    pub user: Option<String>,
}

/// The rooms the caller may use: `team`, then their own agent room (agents)
/// or every agent user's room (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/chat/rooms", responses((status = 200, body = Vec<Room>)), tag = "chat", security(("bearer" = [])))]
pub async fn rooms(State(s): State<AppState>, auth: Auth<AnyRole>) -> ApiResult<Json<Vec<Room>>> {
    let mut out = vec![Room {
        room: "team".into(),
        kind: "team",
        user: None,
    }];
    let agent_room = |u: &User| Room {
        room: format!("agent:{}", u.id.0),
        kind: "agent",
        user: Some(u.username.clone()),
    };
    if SupervisorUp::allows(auth.user.role) {
        for u in s.store.list_users().await? {
            if u.role == Role::Agent && !u.disabled {
                out.push(agent_room(&u));
            }
        }
    } else {
        out.push(agent_room(&auth.user));
    }
    Ok(Json(out))
}

/// Paging of a room's history.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChatQuery {
    /// Only messages with an id below this (older pages).
    pub before: Option<i64>,
    /// How many (default 50, max 500).
    pub limit: Option<i64>,
}

/// A room's latest messages, oldest first.
#[utoipa::path(get, path = "/api/v1/chat/{room}/messages", params(("room" = String, Path, description = "room"), ChatQuery),
    responses((status = 200, body = Vec<ChatMessage>), (status = 403, body = ErrorBody)), tag = "chat", security(("bearer" = [])))]
pub async fn history(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiPath(room): ApiPath<String>,
    ApiQuery(q): ApiQuery<ChatQuery>,
) -> ApiResult<Json<Vec<ChatMessage>>> {
    check_room(&auth.user, &room)?;
    Ok(Json(
        s.store
            .list_chat_messages(&room, q.before, q.limit.unwrap_or(50))
            .await?,
    ))
}

/// A chat message to send.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatInput {
    /// Text, 1 to 2000 characters.
    pub text: String,
}

/// Write in a room: stored, then pushed to the room's live listeners.
#[utoipa::path(post, path = "/api/v1/chat/{room}/messages", params(("room" = String, Path, description = "room")), request_body = ChatInput,
    responses((status = 201, body = ChatMessage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), tag = "chat", security(("bearer" = [])))]
pub async fn post(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    ApiPath(room): ApiPath<String>,
    ApiJson(i): ApiJson<ChatInput>,
) -> ApiResult<(StatusCode, Json<ChatMessage>)> {
    check_room(&auth.user, &room)?;
    if i.text.trim().is_empty() || i.text.chars().count() > MAX_CHAT_CHARS {
        return Err(ApiError::invalid(format!(
            "text: 1 to {MAX_CHAT_CHARS} characters"
        )));
    }
    let m = s
        .store
        .add_chat_message(
            &NewChatMessage {
                room,
                sender_id: auth.user.id,
                sender: auth.user.username.clone(),
                body: i.text,
            },
            crate::now(),
        )
        .await?;
    s.chat.publish(m.clone());
    Ok((StatusCode::CREATED, Json(m)))
}

/// The chat's live channel (WebSocket): each new message of a room the
/// user may use, as `{"v":1,"type":"chat",...}`.
pub async fn ws(
    State(s): State<AppState>,
    auth: Auth<AnyRole>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let rx = s.chat.subscribe();
    let user = auth.user;
    upgrade.on_upgrade(move |socket| chat_loop(socket, rx, user))
}

async fn chat_loop(mut socket: WebSocket, mut rx: broadcast::Receiver<ChatMessage>, user: User) {
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(m) if may_use(&user, &m.room) => {
                    let mut v = serde_json::to_value(&m).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("v".into(), 1.into());
                        o.insert("type".into(), "chat".into());
                    }
                    if socket.send(Message::Text(v.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(user = %user.username, skipped = n, "slow chat client skipped messages");
                }
                Err(_) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Timestamp, UserId};

    fn user(id: i64, role: Role) -> User {
        User {
            id: UserId(id),
            username: format!("u{id}"),
            password_hash: String::new(),
            role,
            agent_id: None,
            disabled: false,
            created_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn rooms_and_roles() {
        let agent = user(7, Role::Agent);
        assert!(may_use(&agent, "team"));
        assert!(may_use(&agent, "agent:7"));
        assert!(!may_use(&agent, "agent:8"), "another agent's room");
        assert!(!may_use(&agent, "agent:x"));
        assert!(!may_use(&agent, "lobby"));
        let sup = user(2, Role::Supervisor);
        assert!(may_use(&sup, "agent:7") && may_use(&sup, "team"));
        assert!(!may_use(&sup, "agent:"));
    }
}
