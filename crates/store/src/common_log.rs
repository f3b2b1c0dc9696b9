//! The journal part of the shared SQL: interactions, the event log, the
//! outbox, users and sessions, and meta facts.

/// Implements `InteractionStore`, `EventStore`, `OutboxStore`, `UserStore`, `MetaStore` for `$store`.
/// Expanded by `impl_common!`, whose imports and row decoders it uses.
macro_rules! impl_log {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Close the open interactions (only calls with `calls_only`)
            /// with `reason`, and write each one's `ended` event, in one
            /// transaction: the row and its event never part (issue 12).
            /// The end time is `end` (see [`crate::CloseAt`]).
            async fn close_open_where(
                &self,
                reason: &str,
                end: crate::CloseAt,
                calls_only: bool,
            ) -> Result<Vec<(i64, Option<i64>, i64)>> {
                let mut tx = Self::begin_write(&self.pool).await?;
                let sql = if calls_only {
                    "SELECT i.id, i.customer_id, i.started_at, \
                     (SELECT MAX(e.at) FROM events e WHERE e.interaction_id = i.id) \
                     FROM interactions i WHERE i.ended_at IS NULL AND i.channel = 'voice'"
                } else {
                    "SELECT i.id, i.customer_id, i.started_at, \
                     (SELECT MAX(e.at) FROM events e WHERE e.interaction_id = i.id) \
                     FROM interactions i WHERE i.ended_at IS NULL"
                };
                let open: Vec<(i64, Option<i64>, i64, Option<i64>)> =
                    sqlx::query_as(sql).fetch_all(&mut *tx).await?;
                let mut rows = Vec::with_capacity(open.len());
                for (id, customer, started, last_event) in open {
                    let at = match end {
                        crate::CloseAt::Now(t) => t.as_millis(),
                        crate::CloseAt::LastActivity { alive_until, now } => last_event
                            .into_iter()
                            .chain(alive_until.map(|t| t.as_millis()))
                            .max()
                            .unwrap_or(now.as_millis())
                            .min(now.as_millis())
                            .max(started),
                    };
                    sqlx::query(
                        "UPDATE interactions SET ended_at = $1, end_reason = $2 \
                         WHERE id = $3 AND ended_at IS NULL",
                    )
                    .bind(at)
                    .bind(reason)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    rows.push((id, customer, at));
                }
                rows.sort();
                let kind = EventKind::Ended {
                    reason: reason.to_string(),
                };
                let payload = to_json(&kind)?;
                for chunk in rows.chunks(1000) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "INSERT INTO events (at, interaction_id, customer_id, agent_id, kind, payload) ",
                    );
                    qb.push_values(chunk, |mut b, (id, customer, at)| {
                        b.push_bind(*at)
                            .push_bind(*id)
                            .push_bind(*customer)
                            .push_bind(None::<i64>)
                            .push_bind(kind.name())
                            .push_bind(payload.clone());
                    });
                    let n = chunk.len();
                    Self::insert_event_rows(&mut tx, qb, n).await?;
                }
                tx.commit().await?;
                Ok(rows)
            }
        }

        #[async_trait::async_trait]
        impl InteractionStore for $store {
            async fn create_interaction(&self, i: &NewInteraction) -> Result<Interaction> {
                // Ids come from the counter shared with `reserve_interaction_ids`.
                let mut tx = Self::begin_write(&self.pool).await?;
                let id = Self::take_interaction_ids(&mut tx, 1).await?.start;
                sqlx::query(
                    "INSERT INTO interactions (id, channel, direction, customer_id, queue_id, agent_id, started_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id)
                .bind(i.channel.as_str())
                .bind(i.direction.as_str())
                .bind(i.customer_id.map(|x| x.0))
                .bind(i.queue_id.map(|x| x.0))
                .bind(i.agent_id.map(|x| x.0))
                .bind(i.started_at.as_millis())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                self.get_interaction(InteractionId(id))
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("interaction {id}")))
            }

            async fn get_interaction(&self, id: InteractionId) -> Result<Option<Interaction>> {
                let r = sqlx::query("SELECT * FROM interactions WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                r.as_ref().map(Self::interaction_from_row).transpose()
            }

            async fn update_interaction(&self, i: &Interaction) -> Result<()> {
                let n = sqlx::query(
                    "UPDATE interactions SET customer_id = $1, queue_id = $2, agent_id = $3, answered_at = $4, \
                     ended_at = $5, end_reason = $6, disposition = $7, notes = $8, recording = $9 WHERE id = $10",
                )
                .bind(i.customer_id.map(|x| x.0))
                .bind(i.queue_id.map(|x| x.0))
                .bind(i.agent_id.map(|x| x.0))
                .bind(i.answered_at.map(|t| t.as_millis()))
                .bind(i.ended_at.map(|t| t.as_millis()))
                .bind(&i.end_reason)
                .bind(&i.disposition)
                .bind(&i.notes)
                .bind(&i.recording)
                .bind(i.id.0)
                .execute(&self.pool)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(format!("interaction {}", i.id)));
                }
                Ok(())
            }

            async fn list_interactions(&self, f: &InteractionFilter) -> Result<Vec<Interaction>> {
                let mut qb = QueryBuilder::<$db>::new("SELECT * FROM interactions WHERE 1 = 1");
                if let Some(v) = f.customer_id {
                    // Merged customers' records count as the survivor's.
                    qb.push(" AND customer_id").push(MERGED_SET_HEAD).push_bind(v.0).push(MERGED_SET_TAIL);
                }
                if let Some(v) = f.agent_id {
                    qb.push(" AND agent_id = ").push_bind(v.0);
                }
                if let Some(v) = f.queue_id {
                    qb.push(" AND queue_id = ").push_bind(v.0);
                }
                if let Some(v) = f.channel {
                    qb.push(" AND channel = ").push_bind(v.as_str());
                }
                if let Some(v) = f.from {
                    qb.push(" AND started_at >= ").push_bind(v.as_millis());
                }
                if let Some(v) = f.to {
                    qb.push(" AND started_at < ").push_bind(v.as_millis());
                }
                qb.push(" ORDER BY started_at DESC, id DESC LIMIT ")
                    .push_bind(f.limit.clamp(1, 1000))
                    .push(" OFFSET ")
                    .push_bind(f.offset.max(0));
                let rows = qb.build().fetch_all(&self.pool).await?;
                rows.iter().map(Self::interaction_from_row).collect()
            }

            async fn close_open_interactions(&self, reason: &str, now: Timestamp) -> Result<Vec<InteractionId>> {
                let rows = self.close_open_where(reason, crate::CloseAt::Now(now), false).await?;
                Ok(rows.into_iter().map(|(id, _, _)| InteractionId(id)).collect())
            }

            async fn close_open_calls(
                &self,
                reason: &str,
                alive_until: Option<Timestamp>,
                now: Timestamp,
            ) -> Result<Vec<(InteractionId, Timestamp)>> {
                let end = crate::CloseAt::LastActivity { alive_until, now };
                let rows = self.close_open_where(reason, end, true).await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, _, at)| (InteractionId(id), Timestamp::from_millis(at)))
                    .collect())
            }

            async fn open_conversations(&self) -> Result<Vec<Interaction>> {
                let rows = sqlx::query(
                    "SELECT * FROM interactions WHERE ended_at IS NULL AND channel <> 'voice' ORDER BY id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::interaction_from_row).collect()
            }
        }

        #[async_trait::async_trait]
        impl EventStore for $store {
            async fn append_events(&self, events: &[NewEvent]) -> Result<Vec<i64>> {
                let mut seqs = Vec::with_capacity(events.len());
                let mut tx = Self::begin_write(&self.pool).await?;
                for chunk in events.chunks(1000) {
                    let payloads = chunk.iter().map(|e| to_json(&e.kind)).collect::<Result<Vec<_>>>()?;
                    let mut qb = QueryBuilder::<$db>::new(
                        "INSERT INTO events (at, interaction_id, customer_id, agent_id, kind, payload) ",
                    );
                    qb.push_values(chunk.iter().zip(payloads), |mut b, (e, payload)| {
                        b.push_bind(e.at.as_millis())
                            .push_bind(e.interaction_id.map(|x| x.0))
                            .push_bind(e.customer_id.map(|x| x.0))
                            .push_bind(e.agent_id.map(|x| x.0))
                            .push_bind(e.kind.name())
                            .push_bind(payload);
                    });
                    let n = chunk.len();
                    seqs.extend(Self::insert_event_rows(&mut tx, qb, n).await?);
                }
                tx.commit().await?;
                Ok(seqs)
            }

            async fn list_events(&self, f: &EventFilter) -> Result<Vec<Event>> {
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT seq, at, interaction_id, customer_id, agent_id, payload FROM events WHERE 1 = 1",
                );
                if let Some(v) = f.interaction_id {
                    qb.push(" AND interaction_id = ").push_bind(v.0);
                }
                if let Some(v) = f.customer_id {
                    // Merged customers' records count as the survivor's.
                    qb.push(" AND customer_id").push(MERGED_SET_HEAD).push_bind(v.0).push(MERGED_SET_TAIL);
                }
                if let Some(v) = f.agent_id {
                    qb.push(" AND agent_id = ").push_bind(v.0);
                }
                if let Some(v) = &f.kind {
                    qb.push(" AND kind = ").push_bind(v.clone());
                }
                if let Some(v) = f.from {
                    qb.push(" AND at >= ").push_bind(v.as_millis());
                }
                if let Some(v) = f.to {
                    qb.push(" AND at < ").push_bind(v.as_millis());
                }
                if let Some(v) = f.after_seq {
                    qb.push(" AND seq > ").push_bind(v);
                }
                qb.push(" ORDER BY seq LIMIT ").push_bind(f.limit.clamp(1, 10_000));
                let rows = qb.build().fetch_all(&self.pool).await?;
                rows.iter().map(Self::event_from_row).collect()
            }

            async fn last_agent_states(&self) -> Result<Vec<Event>> {
                let rows = sqlx::query(
                    "SELECT seq, at, interaction_id, customer_id, agent_id, payload FROM events \
                     WHERE seq IN (SELECT MAX(seq) FROM events \
                                   WHERE kind = 'agent_state_changed' AND agent_id IS NOT NULL \
                                   GROUP BY agent_id) \
                     ORDER BY agent_id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::event_from_row).collect()
            }
        }

        #[async_trait::async_trait]
        impl OutboxStore for $store {
            async fn enqueue_message(&self, m: &NewOutboxMessage, now: Timestamp) -> Result<OutboxMessage> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO outbox (channel, recipient, body, interaction_id, customer_id, purpose, created_at, updated_at, next_attempt_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7) RETURNING id",
                )
                .bind(m.channel.as_str())
                .bind(&m.recipient)
                .bind(&m.body)
                .bind(m.interaction_id.map(|x| x.0))
                .bind(m.customer_id.map(|x| x.0))
                .bind(&m.purpose)
                .bind(now.as_millis())
                .fetch_one(&self.pool)
                .await?;
                Ok(OutboxMessage {
                    id,
                    channel: m.channel,
                    recipient: m.recipient.clone(),
                    body: m.body.clone(),
                    interaction_id: m.interaction_id,
                    customer_id: m.customer_id,
                    purpose: m.purpose.clone(),
                    status: "queued".into(),
                    attempts: 0,
                    created_at: now,
                    next_attempt_at: now,
                    claimed_at: None,
                    last_error: None,
                    provider_message_id: None,
                    sent_at: None,
                    delivered_at: None,
                })
            }

            async fn list_outbox(&self, status: Option<&str>, limit: i64) -> Result<Vec<OutboxMessage>> {
                let mut qb = QueryBuilder::<$db>::new("SELECT * FROM outbox WHERE 1 = 1");
                if let Some(s) = status {
                    qb.push(" AND status = ").push_bind(s.to_string());
                }
                qb.push(" ORDER BY id LIMIT ").push_bind(limit.clamp(1, 10_000));
                let rows = qb.build().fetch_all(&self.pool).await?;
                rows.iter().map(Self::outbox_from_row).collect()
            }
        }

        #[async_trait::async_trait]
        impl UserStore for $store {
            async fn create_user(&self, u: &NewUser, now: Timestamp) -> Result<User> {
                if u.username.trim().is_empty() {
                    return Err(StoreError::Invalid("username: must not be empty".into()));
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO users (username, password_hash, role, agent_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(u.username.trim())
                .bind(&u.password_hash)
                .bind(u.role.as_str())
                .bind(u.agent_id.map(|x| x.0))
                .bind(now.as_millis())
                .fetch_one(&self.pool)
                .await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("user {:?} exists", u.username)),
                    other => other,
                })?;
                self.get_user(UserId(id))
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("user {id}")))
            }

            async fn get_user_by_username(&self, username: &str) -> Result<Option<User>> {
                let r = sqlx::query("SELECT * FROM users WHERE username = $1")
                    .bind(username)
                    .fetch_optional(&self.pool)
                    .await?;
                r.as_ref().map(Self::user_from_row).transpose()
            }

            async fn get_user(&self, id: UserId) -> Result<Option<User>> {
                let r = sqlx::query("SELECT * FROM users WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                r.as_ref().map(Self::user_from_row).transpose()
            }

            async fn list_users(&self) -> Result<Vec<User>> {
                let rows = sqlx::query("SELECT * FROM users ORDER BY id").fetch_all(&self.pool).await?;
                rows.iter().map(Self::user_from_row).collect()
            }

            async fn update_user(&self, id: UserId, u: &UserUpdate) -> Result<User> {
                if let Some(a) = u.agent_id
                    && self.get_agent(a).await?.is_none()
                {
                    return Err(StoreError::NotFound(format!("agent {a}")));
                }
                let mut tx = Self::begin_write(&self.pool).await?;
                let n = sqlx::query("UPDATE users SET role = $1, agent_id = $2, disabled = $3 WHERE id = $4")
                    .bind(u.role.as_str())
                    .bind(u.agent_id.map(|a| a.0))
                    .bind(i64::from(u.disabled))
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(format!("user {id}")));
                }
                if u.disabled {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                self.get_user(id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("user {id}")))
            }

            async fn set_password_hash(&self, id: UserId, hash: &str) -> Result<()> {
                let n = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(hash)
                    .bind(id.0)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(format!("user {id}")));
                }
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.0).execute(&self.pool).await?;
                Ok(())
            }

            async fn create_session(&self, token_hash: &str, user: UserId, now: Timestamp, expires_at: Timestamp) -> Result<()> {
                sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $3)")
                    .bind(token_hash)
                    .bind(user.0)
                    .bind(now.as_millis())
                    .bind(expires_at.as_millis())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn session_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<User>> {
                let r = sqlx::query(
                    "SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
                )
                .bind(token_hash)
                .bind(now.as_millis())
                .fetch_optional(&self.pool)
                .await?;
                r.as_ref().map(Self::user_from_row).transpose()
            }

            async fn delete_session(&self, token_hash: &str) -> Result<()> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
                Ok(())
            }

            async fn use_session(&self, token_hash: &str, now: Timestamp, idle_since: Timestamp) -> Result<Option<User>> {
                let touched = sqlx::query(
                    "UPDATE sessions SET last_seen_at = $2 \
                     WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $3",
                )
                .bind(token_hash)
                .bind(now.as_millis())
                .bind(idle_since.as_millis())
                .execute(&self.pool)
                .await?
                .rows_affected();
                if touched == 0 {
                    // Unknown, expired or idle: whatever is left of it goes.
                    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
                    return Ok(None);
                }
                self.session_user(token_hash, now).await
            }

            async fn change_password_hash(&self, id: UserId, hash: &str, keep_session: &str) -> Result<()> {
                let mut tx = Self::begin_write(&self.pool).await?;
                let n = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(hash)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(format!("user {id}")));
                }
                sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
                    .bind(id.0)
                    .bind(keep_session)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_totp(&self, user: UserId) -> Result<Option<TotpRecord>> {
                let r = sqlx::query("SELECT secret, active, last_step FROM user_totp WHERE user_id = $1")
                    .bind(user.0)
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(r) = r else { return Ok(None) };
                let active: i64 = r.try_get("active")?;
                let last: Option<i64> = r.try_get("last_step")?;
                Ok(Some(TotpRecord {
                    secret: r.try_get("secret")?,
                    active: active != 0,
                    last_step: last.and_then(|v| u64::try_from(v).ok()),
                }))
            }

            async fn begin_totp(&self, user: UserId, secret_b32: &str, now: Timestamp) -> Result<()> {
                let mut tx = Self::begin_write(&self.pool).await?;
                sqlx::query("DELETE FROM totp_recovery WHERE user_id = $1").bind(user.0).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM user_totp WHERE user_id = $1").bind(user.0).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO user_totp (user_id, secret, active, last_step, created_at) VALUES ($1, $2, 0, NULL, $3)")
                    .bind(user.0)
                    .bind(secret_b32)
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn activate_totp(&self, user: UserId, step: u64, recovery_hashes: &[String]) -> Result<bool> {
                let step = i64::try_from(step).map_err(|_| StoreError::Invalid("time step out of range".into()))?;
                let mut tx = Self::begin_write(&self.pool).await?;
                let n = sqlx::query("UPDATE user_totp SET active = 1, last_step = $2 WHERE user_id = $1")
                    .bind(user.0)
                    .bind(step)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM totp_recovery WHERE user_id = $1").bind(user.0).execute(&mut *tx).await?;
                for h in recovery_hashes {
                    sqlx::query("INSERT INTO totp_recovery (user_id, code_hash) VALUES ($1, $2)")
                        .bind(user.0)
                        .bind(h)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn accept_totp_step(&self, user: UserId, step: u64) -> Result<bool> {
                let step = i64::try_from(step).map_err(|_| StoreError::Invalid("time step out of range".into()))?;
                let n = sqlx::query(
                    "UPDATE user_totp SET last_step = $2 \
                     WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)",
                )
                .bind(user.0)
                .bind(step)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(n > 0)
            }

            async fn use_recovery_code(&self, user: UserId, code_hash: &str) -> Result<bool> {
                let n = sqlx::query("DELETE FROM totp_recovery WHERE user_id = $1 AND code_hash = $2")
                    .bind(user.0)
                    .bind(code_hash)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(n > 0)
            }

            async fn remove_totp(&self, user: UserId) -> Result<()> {
                sqlx::query("DELETE FROM totp_recovery WHERE user_id = $1").bind(user.0).execute(&self.pool).await?;
                sqlx::query("DELETE FROM user_totp WHERE user_id = $1").bind(user.0).execute(&self.pool).await?;
                Ok(())
            }

            async fn list_sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<SessionInfo>> {
                let rows = sqlx::query(
                    "SELECT token_hash, created_at, last_seen_at, expires_at FROM sessions \
                     WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, token_hash",
                )
                .bind(user.0)
                .bind(now.as_millis())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let hash: String = r.try_get("token_hash")?;
                        Ok(SessionInfo {
                            id: hash.chars().take(16).collect(),
                            created_at: Timestamp::from_millis(r.try_get("created_at")?),
                            last_seen_at: Timestamp::from_millis(r.try_get("last_seen_at")?),
                            expires_at: Timestamp::from_millis(r.try_get("expires_at")?),
                        })
                    })
                    .collect()
            }

            async fn delete_user_session(&self, user: UserId, id: &str) -> Result<bool> {
                if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Ok(false);
                }
                let n = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND substr(token_hash, 1, 16) = $2")
                    .bind(user.0)
                    .bind(id.to_ascii_lowercase())
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(n > 0)
            }
        }

        #[async_trait::async_trait]
        impl MetaStore for $store {
            async fn get_meta(&self, key: &str) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
                sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(value)
                .execute(&self.pool)
                .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_log;
