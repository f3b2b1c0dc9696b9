//! The directory part of the shared SQL: customers and their identities,
//! agents, queues, dispositions.

/// Implements `CustomerStore`, `AgentStore`, `QueueStore`, `DispositionStore` for `$store`.
/// Expanded by `impl_common!`, whose imports and row decoders it uses.
macro_rules! impl_directory {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl CustomerStore for $store {
            async fn create_customer(&self, c: &NewCustomer, now: Timestamp) -> Result<Customer> {
                let mut tx = Self::begin_write(&self.pool).await?;
                let id = Self::insert_customer_tx(&mut tx, c, now).await?;
                tx.commit().await?;
                self.get_customer(CustomerId(id))
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("customer {id}")))
            }

            async fn import_customers(
                &self,
                rows: &[NewCustomer],
                now: Timestamp,
            ) -> Result<Vec<Result<CustomerId>>> {
                let mut tx = Self::begin_write(&self.pool).await?;
                let mut out = Vec::with_capacity(rows.len());
                for c in rows {
                    let mut sp = sqlx::Acquire::begin(&mut tx).await?;
                    match Self::insert_customer_tx(&mut sp, c, now).await {
                        Ok(id) => {
                            sp.commit().await?;
                            out.push(Ok(CustomerId(id)));
                        }
                        Err(e) => {
                            sp.rollback().await?;
                            out.push(Err(e));
                        }
                    }
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn get_customer(&self, id: CustomerId) -> Result<Option<Customer>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CUSTOMER_COLS} FROM customers WHERE id = $1"
                )))
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    None => Ok(None),
                    Some(r) => Ok(self.load_customers(vec![customer_row(&r)?]).await?.pop()),
                }
            }

            async fn update_customer(
                &self,
                id: CustomerId,
                p: &CustomerPatch,
                now: Timestamp,
            ) -> Result<Customer> {
                let current = self
                    .get_customer(id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("customer {id}")))?;
                if let Some(into) = current.merged_into {
                    return Err(StoreError::Conflict(format!(
                        "customer {id} was merged into customer {into}: change that one"
                    )));
                }
                let name = p.name.clone().unwrap_or(current.name.clone());
                if name.trim().is_empty() {
                    return Err(StoreError::Invalid("name: must not be empty".into()));
                }
                let mut tx = Self::begin_write(&self.pool).await?;
                sqlx::query(
                    "UPDATE customers SET name = $1, segment = $2, language = $3, attributes = $4, \
                     updated_at = $5 WHERE id = $6",
                )
                .bind(name.trim())
                .bind(p.segment.unwrap_or(current.segment).as_str())
                .bind(p.language.clone().or(current.language.clone()))
                .bind(to_json(p.attributes.as_ref().unwrap_or(&current.attributes))?)
                .bind(now.as_millis())
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                if p.phones.is_some() || p.emails.is_some() || p.channel_ids.is_some() {
                    let idents = identities_of(
                        p.phones.as_ref().unwrap_or(&current.phones),
                        p.emails.as_ref().unwrap_or(&current.emails),
                        p.channel_ids.as_ref().unwrap_or(&current.channel_ids),
                    );
                    sqlx::query("DELETE FROM customer_identities WHERE customer_id = $1")
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await?;
                    Self::insert_identities(&mut *tx, id.0, &idents).await?;
                }
                tx.commit().await?;
                self.get_customer(id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("customer {id}")))
            }

            async fn delete_customer(&self, id: CustomerId) -> Result<bool> {
                let mut tx = Self::begin_write(&self.pool).await?;
                sqlx::query("DELETE FROM customer_identities WHERE customer_id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                let n = sqlx::query("DELETE FROM customers WHERE id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n > 0)
            }

            async fn customers_by_phones(
                &self,
                phones: &[domain::PhoneNumber],
            ) -> Result<std::collections::HashMap<domain::PhoneNumber, CustomerId>> {
                let mut out = std::collections::HashMap::new();
                for chunk in phones.chunks(500) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT value, customer_id FROM customer_identities WHERE kind = ",
                    );
                    qb.push_bind(Identity::Phone(chunk[0].clone()).key().0)
                        .push(" AND value IN (");
                    let mut list = qb.separated(", ");
                    for p in chunk {
                        list.push_bind(p.as_str());
                    }
                    qb.push(")");
                    let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
                    for (value, id) in rows {
                        if let Ok(p) = domain::PhoneNumber::try_from(value) {
                            out.insert(p, CustomerId(id));
                        }
                    }
                }
                Ok(out)
            }

            async fn find_customer_by_identity(&self, identity: &Identity) -> Result<Option<Customer>> {
                let (kind, value) = identity.key();
                // One indexed join for the record, one query for its identities.
                let row = sqlx::query(
                    "SELECT c.id, c.name, c.segment, c.language, c.attributes, c.created_at, c.updated_at, c.merged_into \
                     FROM customer_identities i JOIN customers c ON c.id = i.customer_id \
                     WHERE i.kind = $1 AND i.value = $2",
                )
                .bind(kind)
                .bind(value)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    Some(r) => Ok(self.load_customers(vec![customer_row(&r)?]).await?.pop()),
                    None => Ok(None),
                }
            }

            async fn search_customers(&self, q: &str, limit: i64, offset: i64) -> Result<Vec<Customer>> {
                let pattern = format!(
                    "%{}%",
                    q.trim().to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CUSTOMER_COLS} FROM customers c WHERE c.merged_into IS NULL AND (lower(c.name) LIKE $1 ESCAPE '\\' \
                     OR EXISTS (SELECT 1 FROM customer_identities i WHERE i.customer_id = c.id \
                     AND lower(i.value) LIKE $1 ESCAPE '\\')) ORDER BY c.id LIMIT $2 OFFSET $3"
                )))
                .bind(pattern)
                .bind(limit.clamp(1, 1000))
                .bind(offset.max(0))
                .fetch_all(&self.pool)
                .await?;
                let rows = rows.iter().map(customer_row).collect::<Result<Vec<_>>>()?;
                self.load_customers(rows).await
            }

            async fn count_customers(&self) -> Result<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE merged_into IS NULL").fetch_one(&self.pool).await?)
            }
        }

        #[async_trait::async_trait]
        impl AgentStore for $store {
            async fn create_agent(&self, a: &NewAgent) -> Result<Agent> {
                validate_skills(&a.skills)?;
                if a.login.trim().is_empty() {
                    return Err(StoreError::Invalid("login: must not be empty".into()));
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO agents (login, name, skills, languages, capacity) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(a.login.trim())
                .bind(&a.name)
                .bind(to_json(&a.skills)?)
                .bind(to_json(&a.languages)?)
                .bind(to_json(&a.capacity)?)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("agent login {:?} exists", a.login)),
                    other => other,
                })?;
                self.get_agent(AgentId(id))
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("agent {id}")))
            }

            async fn get_agent(&self, id: AgentId) -> Result<Option<Agent>> {
                let r = sqlx::query("SELECT id, login, name, skills, languages, capacity FROM agents WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                r.as_ref().map(Self::agent_from_row).transpose()
            }

            async fn update_agent(&self, id: AgentId, a: &AgentUpdate) -> Result<Agent> {
                validate_skills(&a.skills)?;
                if a.name.trim().is_empty() {
                    return Err(StoreError::Invalid("name: must not be empty".into()));
                }
                if a.capacity.voice > 1 {
                    return Err(StoreError::Invalid("capacity.voice: 0 or 1".into()));
                }
                let n = sqlx::query(
                    "UPDATE agents SET name = $1, skills = $2, languages = $3, capacity = $4 WHERE id = $5",
                )
                .bind(a.name.trim())
                .bind(to_json(&a.skills)?)
                .bind(to_json(&a.languages)?)
                .bind(to_json(&a.capacity)?)
                .bind(id.0)
                .execute(&self.pool)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(format!("agent {id}")));
                }
                self.get_agent(id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("agent {id}")))
            }

            async fn set_sip_password(&self, id: AgentId, password: &str) -> Result<()> {
                let n = sqlx::query("UPDATE agents SET sip_password = $1 WHERE id = $2")
                    .bind(password)
                    .bind(id.0)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(format!("agent {id}")));
                }
                Ok(())
            }

            async fn sip_credentials(&self) -> Result<Vec<(String, String)>> {
                let rows = sqlx::query("SELECT login, sip_password FROM agents WHERE sip_password IS NOT NULL ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(|r| Ok((r.try_get("login")?, r.try_get("sip_password")?))).collect()
            }

            async fn list_agents(&self) -> Result<Vec<Agent>> {
                let rows = sqlx::query("SELECT id, login, name, skills, languages, capacity FROM agents ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::agent_from_row).collect()
            }
        }

        #[async_trait::async_trait]
        impl QueueStore for $store {
            async fn create_queue(&self, q: &NewQueue) -> Result<Queue> {
                q.validate().map_err(StoreError::Invalid)?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO queues (name, required_skills, strategy, sl_percent, sl_within_s, wrap_up_s, \
                     max_wait_s, ring_timeout_s, priority) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(q.name.trim())
                .bind(to_json(&q.required_skills)?)
                .bind(q.strategy.as_str())
                .bind(q.service_level.percent)
                .bind(i64::from(q.service_level.within_s))
                .bind(i64::from(q.wrap_up_s))
                .bind(i64::from(q.max_wait_s))
                .bind(i64::from(q.ring_timeout_s))
                .bind(i64::from(q.priority))
                .fetch_one(&self.pool)
                .await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("queue {:?} exists", q.name)),
                    other => other,
                })?;
                self.get_queue(QueueId(id))
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("queue {id}")))
            }

            async fn update_queue(&self, id: QueueId, q: &NewQueue) -> Result<Queue> {
                q.validate().map_err(StoreError::Invalid)?;
                let n = sqlx::query(
                    "UPDATE queues SET name = $1, required_skills = $2, strategy = $3, sl_percent = $4, \
                     sl_within_s = $5, wrap_up_s = $6, max_wait_s = $7, ring_timeout_s = $8, priority = $9 \
                     WHERE id = $10",
                )
                .bind(q.name.trim())
                .bind(to_json(&q.required_skills)?)
                .bind(q.strategy.as_str())
                .bind(q.service_level.percent)
                .bind(i64::from(q.service_level.within_s))
                .bind(i64::from(q.wrap_up_s))
                .bind(i64::from(q.max_wait_s))
                .bind(i64::from(q.ring_timeout_s))
                .bind(i64::from(q.priority))
                .bind(id.0)
                .execute(&self.pool)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(format!("queue {id}")));
                }
                self.get_queue(id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("queue {id}")))
            }

            async fn get_queue(&self, id: QueueId) -> Result<Option<Queue>> {
                let r = sqlx::query("SELECT * FROM queues WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                r.as_ref().map(Self::queue_from_row).transpose()
            }

            async fn list_queues(&self) -> Result<Vec<Queue>> {
                let rows = sqlx::query("SELECT * FROM queues ORDER BY id").fetch_all(&self.pool).await?;
                rows.iter().map(Self::queue_from_row).collect()
            }
        }

        #[async_trait::async_trait]
        impl DispositionStore for $store {
            async fn create_disposition(&self, code: &str, label: &str) -> Result<Disposition> {
                if code.trim().is_empty() {
                    return Err(StoreError::Invalid("code: must not be empty".into()));
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO dispositions (code, label) VALUES ($1, $2) RETURNING id",
                )
                .bind(code.trim())
                .bind(label)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("disposition {code:?} exists")),
                    other => other,
                })?;
                Ok(Disposition { id: DispositionId(id), code: code.trim().to_string(), label: label.to_string() })
            }

            async fn rename_disposition(&self, id: DispositionId, label: &str) -> Result<Disposition> {
                if label.trim().is_empty() {
                    return Err(StoreError::Invalid("label: must not be empty".into()));
                }
                let code: Option<String> = sqlx::query_scalar(
                    "UPDATE dispositions SET label = $1 WHERE id = $2 RETURNING code",
                )
                .bind(label.trim())
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
                let code = code.ok_or_else(|| StoreError::NotFound(format!("disposition {}", id.0)))?;
                Ok(Disposition { id, code, label: label.trim().to_string() })
            }

            async fn list_dispositions(&self) -> Result<Vec<Disposition>> {
                let rows = sqlx::query("SELECT id, code, label FROM dispositions ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(Disposition {
                            id: DispositionId(r.try_get("id")?),
                            code: r.try_get("code")?,
                            label: r.try_get("label")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_directory;
