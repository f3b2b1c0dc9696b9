//! The messaging part of the shared SQL: the outbox dispatcher's claims and
//! outcomes, and the provider message id index.

/// Implements `MessagingStore` for `$store`, and the outbox row decoder the
/// journal part uses. Expanded by `impl_common!`, whose imports it uses.
macro_rules! impl_messaging {
    ($store:ty, $db:ty) => {
        impl $store {
            fn outbox_from_row(r: &<$db as sqlx::Database>::Row) -> Result<OutboxMessage> {
                let channel: String = r.try_get("channel")?;
                let ts = |col: &str| -> Result<Option<Timestamp>> {
                    Ok(r.try_get::<Option<i64>, _>(col)?.map(Timestamp::from_millis))
                };
                Ok(OutboxMessage {
                    id: r.try_get("id")?,
                    channel: Channel::parse(&channel)
                        .ok_or_else(|| StoreError::Corrupt(format!("channel {channel:?}")))?,
                    recipient: r.try_get("recipient")?,
                    body: r.try_get("body")?,
                    interaction_id: r.try_get::<Option<i64>, _>("interaction_id")?.map(InteractionId),
                    customer_id: r.try_get::<Option<i64>, _>("customer_id")?.map(CustomerId),
                    purpose: r.try_get("purpose")?,
                    status: r.try_get("status")?,
                    attempts: r.try_get("attempts")?,
                    created_at: Timestamp::from_millis(r.try_get("created_at")?),
                    next_attempt_at: Timestamp::from_millis(r.try_get("next_attempt_at")?),
                    claimed_at: ts("claimed_at")?,
                    last_error: r.try_get("last_error")?,
                    provider_message_id: r.try_get("provider_message_id")?,
                    sent_at: ts("sent_at")?,
                    delivered_at: ts("delivered_at")?,
                })
            }

            fn message_ref_from_row(r: &<$db as sqlx::Database>::Row) -> Result<MessageRef> {
                let channel: String = r.try_get("channel")?;
                Ok(MessageRef {
                    channel: Channel::parse(&channel)
                        .ok_or_else(|| StoreError::Corrupt(format!("channel {channel:?}")))?,
                    message_id: r.try_get("message_id")?,
                    interaction_id: r.try_get::<Option<i64>, _>("interaction_id")?.map(InteractionId),
                    outbox_id: r.try_get("outbox_id")?,
                    subject: r.try_get("subject")?,
                    at: Timestamp::from_millis(r.try_get("at")?),
                })
            }
        }

        #[async_trait::async_trait]
        impl MessagingStore for $store {
            async fn claim_due_messages(
                &self,
                channels: &[Channel],
                now: Timestamp,
                limit: i64,
            ) -> Result<Vec<OutboxMessage>> {
                if channels.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = QueryBuilder::<$db>::new("UPDATE outbox SET status = 'sending', claimed_at = ");
                qb.push_bind(now.as_millis())
                    .push(", updated_at = ")
                    .push_bind(now.as_millis())
                    .push(", attempts = attempts + 1 WHERE status = 'queued' AND id IN (SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= ")
                    .push_bind(now.as_millis())
                    .push(" AND channel IN (");
                let mut sep = qb.separated(", ");
                for c in channels {
                    sep.push_bind(c.as_str());
                }
                qb.push(") ORDER BY id LIMIT ")
                    .push_bind(limit.clamp(1, 1000))
                    .push(") RETURNING *");
                let rows = qb.build().fetch_all(&self.pool).await?;
                let mut out = rows.iter().map(Self::outbox_from_row).collect::<Result<Vec<_>>>()?;
                out.sort_by_key(|m| m.id);
                Ok(out)
            }

            async fn requeue_interrupted(&self, now: Timestamp) -> Result<u64> {
                Ok(sqlx::query(
                    "UPDATE outbox SET status = 'queued', next_attempt_at = $1, updated_at = $1, \
                     last_error = 'interrupted by restart' WHERE status = 'sending'",
                )
                .bind(now.as_millis())
                .execute(&self.pool)
                .await?
                .rows_affected())
            }

            async fn update_outbox(&self, id: i64, t: &OutboxTransition, now: Timestamp) -> Result<()> {
                let mut tx = Self::begin_write(&self.pool).await?;
                let n = match t {
                    OutboxTransition::Retry { due, error } => sqlx::query(
                        "UPDATE outbox SET status = 'queued', next_attempt_at = $1, last_error = $2, \
                         claimed_at = NULL, updated_at = $3 WHERE id = $4",
                    )
                    .bind(due.as_millis())
                    .bind(error)
                    .bind(now.as_millis())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?,
                    OutboxTransition::Sent { provider_message_ids } => {
                        let r = sqlx::query(
                            "UPDATE outbox SET status = 'sent', sent_at = $1, provider_message_id = $2, \
                             claimed_at = NULL, updated_at = $1 WHERE id = $3",
                        )
                        .bind(now.as_millis())
                        .bind(provider_message_ids.first())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                        let row = sqlx::query("SELECT channel, interaction_id FROM outbox WHERE id = $1")
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await?;
                        if let Some(row) = row {
                            let channel: String = row.try_get("channel")?;
                            let interaction: Option<i64> = row.try_get("interaction_id")?;
                            for pid in provider_message_ids {
                                sqlx::query(
                                    "INSERT INTO message_ids (channel, message_id, interaction_id, outbox_id, at) \
                                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel, message_id) DO UPDATE SET \
                                     interaction_id = excluded.interaction_id, outbox_id = excluded.outbox_id, at = excluded.at",
                                )
                                .bind(&channel)
                                .bind(pid)
                                .bind(interaction)
                                .bind(id)
                                .bind(now.as_millis())
                                .execute(&mut *tx)
                                .await?;
                            }
                        }
                        r
                    }
                    OutboxTransition::Delivered => sqlx::query(
                        "UPDATE outbox SET status = 'delivered', delivered_at = $1, updated_at = $1 WHERE id = $2",
                    )
                    .bind(now.as_millis())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?,
                    OutboxTransition::Failed { reason } => sqlx::query(
                        "UPDATE outbox SET status = 'failed', last_error = $1, delivered_at = $2, \
                         claimed_at = NULL, updated_at = $2 WHERE id = $3",
                    )
                    .bind(reason)
                    .bind(now.as_millis())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?,
                };
                if n.rows_affected() == 0 {
                    return Err(StoreError::NotFound(format!("outbox message {id}")));
                }
                tx.commit().await?;
                Ok(())
            }

            async fn note_unsendable(&self, channels: &[Channel], error: &str, now: Timestamp) -> Result<u64> {
                if channels.is_empty() {
                    return Ok(0);
                }
                let mut qb = QueryBuilder::<$db>::new("UPDATE outbox SET last_error = ");
                qb.push_bind(error.to_string())
                    .push(", updated_at = ")
                    .push_bind(now.as_millis())
                    .push(" WHERE status = 'queued' AND (last_error IS NULL OR last_error <> ")
                    .push_bind(error.to_string())
                    .push(") AND channel IN (");
                let mut sep = qb.separated(", ");
                for c in channels {
                    sep.push_bind(c.as_str());
                }
                qb.push(")");
                Ok(qb.build().execute(&self.pool).await?.rows_affected())
            }

            async fn get_outbox(&self, id: i64) -> Result<Option<OutboxMessage>> {
                let r = sqlx::query("SELECT * FROM outbox WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                r.as_ref().map(Self::outbox_from_row).transpose()
            }

            async fn latest_outbox_to(
                &self,
                recipient: &str,
                purpose: &str,
                since: Timestamp,
            ) -> Result<Option<OutboxMessage>> {
                let r = sqlx::query(
                    "SELECT * FROM outbox WHERE recipient = $1 AND purpose = $2 AND created_at >= $3 \
                     ORDER BY created_at DESC, id DESC LIMIT 1",
                )
                .bind(recipient)
                .bind(purpose)
                .bind(since.as_millis())
                .fetch_optional(&self.pool)
                .await?;
                r.as_ref().map(Self::outbox_from_row).transpose()
            }

            async fn record_message_ref(&self, m: &MessageRef) -> Result<()> {
                let conflict = if m.outbox_id.is_some() {
                    "DO UPDATE SET interaction_id = excluded.interaction_id, outbox_id = excluded.outbox_id, \
                     subject = excluded.subject, at = excluded.at"
                } else {
                    "DO NOTHING"
                };
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO message_ids (channel, message_id, interaction_id, outbox_id, subject, at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (channel, message_id) {conflict}"
                )))
                .bind(m.channel.as_str())
                .bind(&m.message_id)
                .bind(m.interaction_id.map(|x| x.0))
                .bind(m.outbox_id)
                .bind(&m.subject)
                .bind(m.at.as_millis())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn find_message_ref(&self, channel: Channel, message_id: &str) -> Result<Option<MessageRef>> {
                let r = sqlx::query("SELECT * FROM message_ids WHERE channel = $1 AND message_id = $2")
                    .bind(channel.as_str())
                    .bind(message_id)
                    .fetch_optional(&self.pool)
                    .await?;
                r.as_ref().map(Self::message_ref_from_row).transpose()
            }

            async fn message_refs_of(&self, interaction: InteractionId) -> Result<Vec<MessageRef>> {
                let rows = sqlx::query("SELECT * FROM message_ids WHERE interaction_id = $1 ORDER BY at, message_id")
                    .bind(interaction.0)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::message_ref_from_row).collect()
            }
        }
    };
}

pub(crate) use impl_messaging;
