//! The campaign part of the shared SQL: campaigns, recipients, opt-outs.

/// Implements [`crate::CampaignStore`] for `$store`; expanded by
/// `impl_common!`, whose imports it uses.
macro_rules! impl_campaign {
    ($store:ty, $db:ty) => {
        impl $store {
            fn campaign_from_row(r: &<$db as sqlx::Database>::Row) -> Result<Campaign> {
                let channel: String = r.try_get("channel")?;
                let status: String = r.try_get("status")?;
                let ts = |col: &str| -> Result<Option<Timestamp>> {
                    Ok(r.try_get::<Option<i64>, _>(col)?.map(Timestamp::from_millis))
                };
                Ok(Campaign {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    channel: Channel::parse(&channel)
                        .ok_or_else(|| StoreError::Corrupt(format!("channel {channel:?}")))?,
                    template: r.try_get("template")?,
                    status: CampaignStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("campaign status {status:?}")))?,
                    rate_per_s: u32::try_from(r.try_get::<i64, _>("rate_per_s")?).unwrap_or(1),
                    created_by: r.try_get::<Option<i64>, _>("created_by")?.map(UserId),
                    whatsapp_template: r
                        .try_get::<Option<String>, _>("whatsapp_template")?
                        .map(|t| from_json(&t, "whatsapp_template"))
                        .transpose()?,
                    created_at: Timestamp::from_millis(r.try_get("created_at")?),
                    updated_at: Timestamp::from_millis(r.try_get("updated_at")?),
                    started_at: ts("started_at")?,
                    finished_at: ts("finished_at")?,
                })
            }

            fn recipient_from_row(r: &<$db as sqlx::Database>::Row) -> Result<CampaignRecipient> {
                let state: String = r.try_get("state")?;
                let vars: String = r.try_get("vars")?;
                Ok(CampaignRecipient {
                    id: r.try_get("id")?,
                    campaign_id: r.try_get("campaign_id")?,
                    customer_id: r.try_get::<Option<i64>, _>("customer_id")?.map(CustomerId),
                    address: r.try_get("address")?,
                    vars: from_json(&vars, "recipient vars")?,
                    state: RecipientState::parse(&state)
                        .ok_or_else(|| StoreError::Corrupt(format!("recipient state {state:?}")))?,
                    outbox_id: r.try_get("outbox_id")?,
                    error: r.try_get("error")?,
                    updated_at: Timestamp::from_millis(r.try_get("updated_at")?),
                })
            }

            fn opt_out_from_row(r: &<$db as sqlx::Database>::Row) -> Result<OptOut> {
                let channel: String = r.try_get("channel")?;
                Ok(OptOut {
                    channel: Channel::parse(&channel)
                        .ok_or_else(|| StoreError::Corrupt(format!("channel {channel:?}")))?,
                    address: r.try_get("address")?,
                    at: Timestamp::from_millis(r.try_get("at")?),
                    source: r.try_get("source")?,
                })
            }

            async fn campaign_or_404(&self, id: i64) -> Result<Campaign> {
                self.get_campaign(id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("campaign {id}")))
            }
        }

        #[async_trait::async_trait]
        impl CampaignStore for $store {
            async fn create_campaign(&self, c: &NewCampaign, now: Timestamp) -> Result<Campaign> {
                crate::campaign::validate_campaign(c)?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO campaigns (name, channel, template, status, rate_per_s, created_by, created_at, updated_at, whatsapp_template) \
                     VALUES ($1, $2, $3, 'draft', $4, $5, $6, $6, $7) RETURNING id",
                )
                .bind(c.name.trim())
                .bind(c.channel.as_str())
                .bind(&c.template)
                .bind(i64::from(c.rate_per_s))
                .bind(c.created_by.map(|u| u.0))
                .bind(now.as_millis())
                .bind(c.whatsapp_template.as_ref().map(to_json).transpose()?)
                .fetch_one(&self.pool)
                .await?;
                self.campaign_or_404(id).await
            }

            async fn get_campaign(&self, id: i64) -> Result<Option<Campaign>> {
                let r = sqlx::query("SELECT * FROM campaigns WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                r.as_ref().map(Self::campaign_from_row).transpose()
            }

            async fn list_campaigns(&self, status: Option<CampaignStatus>) -> Result<Vec<Campaign>> {
                let mut qb = QueryBuilder::<$db>::new("SELECT * FROM campaigns");
                if let Some(s) = status {
                    qb.push(" WHERE status = ").push_bind(s.as_str());
                }
                qb.push(" ORDER BY id DESC");
                let rows = qb.build().fetch_all(&self.pool).await?;
                rows.iter().map(Self::campaign_from_row).collect()
            }

            async fn set_campaign_status(
                &self,
                id: i64,
                from: &[CampaignStatus],
                to: CampaignStatus,
                now: Timestamp,
            ) -> Result<Campaign> {
                let mut qb = QueryBuilder::<$db>::new("UPDATE campaigns SET status = ");
                qb.push_bind(to.as_str())
                    .push(", updated_at = ")
                    .push_bind(now.as_millis());
                if to == CampaignStatus::Running {
                    qb.push(", started_at = COALESCE(started_at, ").push_bind(now.as_millis()).push(")");
                }
                if to == CampaignStatus::Done {
                    qb.push(", finished_at = ").push_bind(now.as_millis());
                }
                qb.push(" WHERE id = ").push_bind(id).push(" AND status IN (");
                let mut sep = qb.separated(", ");
                for s in from {
                    sep.push_bind(s.as_str());
                }
                qb.push(")");
                let n = if from.is_empty() { 0 } else { qb.build().execute(&self.pool).await?.rows_affected() };
                let c = self.campaign_or_404(id).await?;
                if n == 0 {
                    return Err(StoreError::Conflict(format!(
                        "campaign {id} is {}: it cannot become {}",
                        c.status.as_str(),
                        to.as_str()
                    )));
                }
                Ok(c)
            }

            async fn add_recipients(&self, campaign: i64, rows: &[NewRecipient], now: Timestamp) -> Result<u64> {
                self.campaign_or_404(campaign).await?;
                let mut tx = Self::begin_write(&self.pool).await?;
                let mut added = 0;
                for r in rows {
                    if r.address.trim().is_empty() {
                        return Err(StoreError::Invalid("address: must not be empty".into()));
                    }
                    added += sqlx::query(
                        "INSERT INTO campaign_recipients (campaign_id, customer_id, address, vars, state, updated_at) \
                         VALUES ($1, $2, $3, $4, 'pending', $5) ON CONFLICT (campaign_id, address) DO NOTHING",
                    )
                    .bind(campaign)
                    .bind(r.customer_id.map(|c| c.0))
                    .bind(r.address.trim())
                    .bind(to_json(&r.vars)?)
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                Ok(added)
            }

            async fn add_customer_recipients(
                &self,
                campaign: i64,
                sel: &CustomerSelection,
                now: Timestamp,
            ) -> Result<u64> {
                let c = self.campaign_or_404(campaign).await?;
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT c.id, c.name, c.segment, c.language, c.attributes, MIN(ci.value) AS address \
                     FROM customers c JOIN customer_identities ci ON ci.customer_id = c.id AND ci.kind = ",
                );
                qb.push_bind(crate::campaign::identity_kind(c.channel));
                qb.push(" WHERE 1 = 1");
                if let Some(s) = sel.segment {
                    qb.push(" AND c.segment = ").push_bind(s.as_str());
                }
                if let Some(l) = &sel.language {
                    qb.push(" AND c.language = ").push_bind(l.clone());
                }
                qb.push(" GROUP BY c.id, c.name, c.segment, c.language, c.attributes ORDER BY c.id");
                let rows = qb.build().fetch_all(&self.pool).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let attributes: String = r.try_get("attributes")?;
                    let mut vars: std::collections::BTreeMap<String, String> =
                        from_json(&attributes, "attributes")?;
                    vars.insert("name".into(), r.try_get("name")?);
                    vars.insert("segment".into(), r.try_get("segment")?);
                    if let Some(l) = r.try_get::<Option<String>, _>("language")? {
                        vars.insert("language".into(), l);
                    }
                    out.push(NewRecipient {
                        customer_id: Some(CustomerId(r.try_get("id")?)),
                        address: r.try_get("address")?,
                        vars,
                    });
                }
                self.add_recipients(campaign, &out, now).await
            }

            async fn next_pending(&self, campaign: i64, limit: i64) -> Result<Vec<CampaignRecipient>> {
                let rows = sqlx::query(
                    "SELECT * FROM campaign_recipients WHERE campaign_id = $1 AND state = 'pending' ORDER BY id LIMIT $2",
                )
                .bind(campaign)
                .bind(limit.clamp(1, 10_000))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::recipient_from_row).collect()
            }

            async fn queue_recipient(
                &self,
                recipient: i64,
                m: &NewOutboxMessage,
                now: Timestamp,
            ) -> Result<Option<OutboxMessage>> {
                let mut tx = Self::begin_write(&self.pool).await?;
                let taken = sqlx::query(
                    "UPDATE campaign_recipients SET state = 'queued', updated_at = $1 WHERE id = $2 AND state = 'pending'",
                )
                .bind(now.as_millis())
                .bind(recipient)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if taken == 0 {
                    return Ok(None);
                }
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
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("UPDATE campaign_recipients SET outbox_id = $1 WHERE id = $2")
                    .bind(id)
                    .bind(recipient)
                    .execute(&mut *tx)
                    .await?;
                let row = sqlx::query("SELECT * FROM outbox WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                let out = Self::outbox_from_row(&row)?;
                tx.commit().await?;
                Ok(Some(out))
            }

            async fn settle_recipient(
                &self,
                recipient: i64,
                state: RecipientState,
                error: &str,
                now: Timestamp,
            ) -> Result<bool> {
                if !matches!(state, RecipientState::OptedOut | RecipientState::Skipped) {
                    return Err(StoreError::Invalid(format!(
                        "state: a recipient is settled as opted_out or skipped, not {}",
                        state.as_str()
                    )));
                }
                let n = sqlx::query(
                    "UPDATE campaign_recipients SET state = $1, error = $2, updated_at = $3 WHERE id = $4 AND state = 'pending'",
                )
                .bind(state.as_str())
                .bind(error)
                .bind(now.as_millis())
                .bind(recipient)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(n > 0)
            }

            async fn sync_campaign_outcomes(&self, campaign: i64, now: Timestamp) -> Result<u64> {
                let n = sqlx::query(
                    "UPDATE campaign_recipients SET \
                     state = (SELECT o.status FROM outbox o WHERE o.id = campaign_recipients.outbox_id), \
                     error = COALESCE((SELECT o.last_error FROM outbox o WHERE o.id = campaign_recipients.outbox_id AND o.status = 'failed'), error), \
                     updated_at = $1 \
                     WHERE campaign_id = $2 AND state IN ('queued', 'sent') AND EXISTS (SELECT 1 FROM outbox o \
                       WHERE o.id = campaign_recipients.outbox_id AND o.status IN ('sent', 'delivered', 'failed') \
                       AND o.status <> campaign_recipients.state)",
                )
                .bind(now.as_millis())
                .bind(campaign)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(n)
            }

            async fn campaign_stats(&self, campaign: i64) -> Result<CampaignStats> {
                let rows = sqlx::query(
                    "SELECT state, COUNT(*) AS n FROM campaign_recipients WHERE campaign_id = $1 GROUP BY state",
                )
                .bind(campaign)
                .fetch_all(&self.pool)
                .await?;
                let mut by_state: std::collections::BTreeMap<String, i64> = RecipientState::ALL
                    .iter()
                    .map(|s| (s.as_str().to_string(), 0))
                    .collect();
                for r in &rows {
                    by_state.insert(r.try_get("state")?, r.try_get("n")?);
                }
                let n = |s: RecipientState| by_state.get(s.as_str()).copied().unwrap_or(0);
                let handed = n(RecipientState::Sent) + n(RecipientState::Delivered) + n(RecipientState::Failed);
                let delivered_percent = if handed > 0 {
                    (n(RecipientState::Delivered) as f64) * 100.0 / (handed as f64)
                } else {
                    0.0
                };
                Ok(CampaignStats {
                    total: by_state.values().sum(),
                    by_state,
                    delivered_percent,
                })
            }

            async fn recipient_by_outbox(&self, outbox_id: i64) -> Result<Option<CampaignRecipient>> {
                let r = sqlx::query("SELECT * FROM campaign_recipients WHERE outbox_id = $1")
                    .bind(outbox_id)
                    .fetch_optional(&self.pool)
                    .await?;
                r.as_ref().map(Self::recipient_from_row).transpose()
            }

            async fn list_recipients(
                &self,
                campaign: i64,
                state: Option<RecipientState>,
                limit: i64,
                offset: i64,
            ) -> Result<Vec<CampaignRecipient>> {
                let mut qb = QueryBuilder::<$db>::new("SELECT * FROM campaign_recipients WHERE campaign_id = ");
                qb.push_bind(campaign);
                if let Some(s) = state {
                    qb.push(" AND state = ").push_bind(s.as_str());
                }
                qb.push(" ORDER BY id LIMIT ")
                    .push_bind(limit.clamp(1, 10_000))
                    .push(" OFFSET ")
                    .push_bind(offset.max(0));
                let rows = qb.build().fetch_all(&self.pool).await?;
                rows.iter().map(Self::recipient_from_row).collect()
            }

            async fn add_opt_out(&self, o: &OptOut) -> Result<bool> {
                let n = sqlx::query(
                    "INSERT INTO opt_outs (channel, address, at, source) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (channel, address) DO NOTHING",
                )
                .bind(o.channel.as_str())
                .bind(&o.address)
                .bind(o.at.as_millis())
                .bind(&o.source)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(n > 0)
            }

            async fn remove_opt_out(&self, channel: Channel, address: &str) -> Result<bool> {
                let n = sqlx::query("DELETE FROM opt_outs WHERE channel = $1 AND address = $2")
                    .bind(channel.as_str())
                    .bind(address)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(n > 0)
            }

            async fn get_opt_out(&self, channel: Channel, address: &str) -> Result<Option<OptOut>> {
                let r = sqlx::query("SELECT * FROM opt_outs WHERE channel = $1 AND address = $2")
                    .bind(channel.as_str())
                    .bind(address)
                    .fetch_optional(&self.pool)
                    .await?;
                r.as_ref().map(Self::opt_out_from_row).transpose()
            }

            async fn list_opt_outs(&self, channel: Option<Channel>, limit: i64, offset: i64) -> Result<Vec<OptOut>> {
                let mut qb = QueryBuilder::<$db>::new("SELECT * FROM opt_outs");
                if let Some(c) = channel {
                    qb.push(" WHERE channel = ").push_bind(c.as_str());
                }
                qb.push(" ORDER BY at DESC, address LIMIT ")
                    .push_bind(limit.clamp(1, 10_000))
                    .push(" OFFSET ")
                    .push_bind(offset.max(0));
                let rows = qb.build().fetch_all(&self.pool).await?;
                rows.iter().map(Self::opt_out_from_row).collect()
            }
        }
    };
}

pub(crate) use impl_campaign;
