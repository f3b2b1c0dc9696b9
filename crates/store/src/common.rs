//! The SQL both backends share. SQLite and PostgreSQL both accept `$N`
//! placeholders, `RETURNING` and `ON CONFLICT`, so one text serves both; the
//! macro is instantiated once per typed pool (`sqlx::Any` cannot carry our
//! types, ARCHITECTURE.md stack table).

use crate::{Result, StoreError};
use domain::{Capacity, ChannelIdentity, SkillLevel};
use std::collections::BTreeMap;

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn validate_skills(skills: &[SkillLevel]) -> Result<()> {
    for s in skills {
        s.validate().map_err(StoreError::Invalid)?;
    }
    Ok(())
}

/// Columns of a customer row, before identities are attached.
pub(crate) struct CustomerRow {
    pub id: i64,
    pub name: String,
    pub segment: String,
    pub language: Option<String>,
    pub attributes: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl CustomerRow {
    pub(crate) fn into_customer(self, idents: &[(String, String)]) -> Result<domain::Customer> {
        let mut phones = Vec::new();
        let mut emails = Vec::new();
        let mut channel_ids = Vec::new();
        for (kind, value) in idents {
            match kind.as_str() {
                "phone" => phones.push(
                    domain::PhoneNumber::try_from(value.clone())
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ),
                "email" => emails.push(value.clone()),
                other => {
                    let channel = domain::Channel::parse(other)
                        .ok_or_else(|| StoreError::Corrupt(format!("identity kind {other:?}")))?;
                    channel_ids.push(ChannelIdentity {
                        channel,
                        id: value.clone(),
                    });
                }
            }
        }
        let attributes: BTreeMap<String, String> = from_json(&self.attributes, "attributes")?;
        Ok(domain::Customer {
            id: domain::CustomerId(self.id),
            name: self.name,
            phones,
            emails,
            channel_ids,
            segment: domain::Segment::parse(&self.segment)
                .ok_or_else(|| StoreError::Corrupt(format!("segment {:?}", self.segment)))?,
            language: self.language,
            attributes,
            created_at: domain::Timestamp::from_millis(self.created_at),
            updated_at: domain::Timestamp::from_millis(self.updated_at),
        })
    }
}

pub(crate) fn agent_from_parts(
    id: i64,
    login: String,
    name: String,
    skills: &str,
    languages: &str,
    capacity: &str,
) -> Result<domain::Agent> {
    Ok(domain::Agent {
        id: domain::AgentId(id),
        login,
        name,
        skills: from_json(skills, "skills")?,
        languages: from_json(languages, "languages")?,
        capacity: from_json::<Capacity>(capacity, "capacity")?,
    })
}

/// Implements every storage trait for `$store` (which has `pool: Pool<$db>`).
macro_rules! impl_common {
    ($store:ty, $db:ty) => {
        use crate::common::{CustomerRow, agent_from_parts, from_json, to_json, validate_skills};
        use crate::types::identities_of;
        use crate::*;
        use domain::*;
        use sqlx::{QueryBuilder, Row};

        const CUSTOMER_COLS: &str =
            "id, name, segment, language, attributes, created_at, updated_at";

        fn customer_row(r: &<$db as sqlx::Database>::Row) -> Result<CustomerRow> {
            Ok(CustomerRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                segment: r.try_get("segment")?,
                language: r.try_get("language")?,
                attributes: r.try_get("attributes")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        impl $store {
            async fn insert_identities(
                conn: &mut <$db as sqlx::Database>::Connection,
                customer: i64,
                idents: &[Identity],
            ) -> Result<()> {
                for ident in idents {
                    let (kind, value) = ident.key();
                    let res = sqlx::query(
                        "INSERT INTO customer_identities (kind, value, customer_id) VALUES ($1, $2, $3) \
                         ON CONFLICT (kind, value) DO NOTHING",
                    )
                    .bind(kind)
                    .bind(&value)
                    .bind(customer)
                    .execute(&mut *conn)
                    .await?;
                    if res.rows_affected() == 0 {
                        let owner: i64 = sqlx::query_scalar(
                            "SELECT customer_id FROM customer_identities WHERE kind = $1 AND value = $2",
                        )
                        .bind(kind)
                        .bind(&value)
                        .fetch_one(&mut *conn)
                        .await?;
                        if owner != customer {
                            return Err(StoreError::Conflict(format!(
                                "{kind} {value} already belongs to customer {owner}"
                            )));
                        }
                    }
                }
                Ok(())
            }

            async fn insert_customer_tx(
                conn: &mut <$db as sqlx::Database>::Connection,
                c: &NewCustomer,
                now: Timestamp,
            ) -> Result<i64> {
                if c.name.trim().is_empty() {
                    return Err(StoreError::Invalid("name: must not be empty".into()));
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO customers (name, segment, language, attributes, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                )
                .bind(c.name.trim())
                .bind(c.segment.as_str())
                .bind(&c.language)
                .bind(to_json(&c.attributes)?)
                .bind(now.as_millis())
                .fetch_one(&mut *conn)
                .await?;
                Self::insert_identities(&mut *conn, id, &c.identities()).await?;
                Ok(id)
            }

            async fn load_customers(&self, rows: Vec<CustomerRow>) -> Result<Vec<Customer>> {
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT customer_id, kind, value FROM customer_identities WHERE customer_id IN (",
                );
                let mut sep = qb.separated(", ");
                for r in &rows {
                    sep.push_bind(r.id);
                }
                qb.push(") ORDER BY kind, value");
                let mut by_customer: std::collections::HashMap<i64, Vec<(String, String)>> =
                    std::collections::HashMap::new();
                for r in qb.build().fetch_all(&self.pool).await? {
                    by_customer
                        .entry(r.try_get("customer_id")?)
                        .or_default()
                        .push((r.try_get("kind")?, r.try_get("value")?));
                }
                rows.into_iter()
                    .map(|r| {
                        let idents = by_customer.remove(&r.id).unwrap_or_default();
                        r.into_customer(&idents)
                    })
                    .collect()
            }

            fn interaction_from_row(r: &<$db as sqlx::Database>::Row) -> Result<Interaction> {
                let channel: String = r.try_get("channel")?;
                let direction: String = r.try_get("direction")?;
                Ok(Interaction {
                    id: InteractionId(r.try_get("id")?),
                    channel: Channel::parse(&channel)
                        .ok_or_else(|| StoreError::Corrupt(format!("channel {channel:?}")))?,
                    direction: Direction::parse(&direction)
                        .ok_or_else(|| StoreError::Corrupt(format!("direction {direction:?}")))?,
                    customer_id: r.try_get::<Option<i64>, _>("customer_id")?.map(CustomerId),
                    queue_id: r.try_get::<Option<i64>, _>("queue_id")?.map(QueueId),
                    agent_id: r.try_get::<Option<i64>, _>("agent_id")?.map(AgentId),
                    started_at: Timestamp::from_millis(r.try_get("started_at")?),
                    answered_at: r.try_get::<Option<i64>, _>("answered_at")?.map(Timestamp::from_millis),
                    ended_at: r.try_get::<Option<i64>, _>("ended_at")?.map(Timestamp::from_millis),
                    end_reason: r.try_get("end_reason")?,
                    disposition: r.try_get("disposition")?,
                    notes: r.try_get("notes")?,
                    recording: r.try_get("recording")?,
                })
            }

            fn agent_from_row(r: &<$db as sqlx::Database>::Row) -> Result<Agent> {
                agent_from_parts(
                    r.try_get("id")?,
                    r.try_get("login")?,
                    r.try_get("name")?,
                    &r.try_get::<String, _>("skills")?,
                    &r.try_get::<String, _>("languages")?,
                    &r.try_get::<String, _>("capacity")?,
                )
            }

            fn queue_from_row(r: &<$db as sqlx::Database>::Row) -> Result<Queue> {
                let strategy: String = r.try_get("strategy")?;
                let skills: String = r.try_get("required_skills")?;
                Ok(Queue {
                    id: QueueId(r.try_get("id")?),
                    name: r.try_get("name")?,
                    required_skills: from_json(&skills, "required_skills")?,
                    strategy: Strategy::parse(&strategy)
                        .ok_or_else(|| StoreError::Corrupt(format!("strategy {strategy:?}")))?,
                    service_level: ServiceLevel {
                        percent: r.try_get("sl_percent")?,
                        within_s: u32::try_from(r.try_get::<i64, _>("sl_within_s")?).unwrap_or(0),
                    },
                    wrap_up_s: u32::try_from(r.try_get::<i64, _>("wrap_up_s")?).unwrap_or(0),
                    max_wait_s: u32::try_from(r.try_get::<i64, _>("max_wait_s")?).unwrap_or(0),
                    ring_timeout_s: u32::try_from(r.try_get::<i64, _>("ring_timeout_s")?).unwrap_or(0),
                    priority: i32::try_from(r.try_get::<i64, _>("priority")?).unwrap_or(0),
                })
            }

            fn user_from_row(r: &<$db as sqlx::Database>::Row) -> Result<User> {
                let role: String = r.try_get("role")?;
                Ok(User {
                    id: UserId(r.try_get("id")?),
                    username: r.try_get("username")?,
                    password_hash: r.try_get("password_hash")?,
                    role: Role::parse(&role)
                        .ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
                    agent_id: r.try_get::<Option<i64>, _>("agent_id")?.map(AgentId),
                    disabled: r.try_get::<i64, _>("disabled")? != 0,
                    created_at: Timestamp::from_millis(r.try_get("created_at")?),
                })
            }

            fn event_from_row(r: &<$db as sqlx::Database>::Row) -> Result<Event> {
                let payload: String = r.try_get("payload")?;
                Ok(Event {
                    seq: r.try_get("seq")?,
                    at: Timestamp::from_millis(r.try_get("at")?),
                    interaction_id: r.try_get::<Option<i64>, _>("interaction_id")?.map(InteractionId),
                    customer_id: r.try_get::<Option<i64>, _>("customer_id")?.map(CustomerId),
                    agent_id: r.try_get::<Option<i64>, _>("agent_id")?.map(AgentId),
                    kind: from_json(&payload, "event payload")?,
                })
            }
        }

        #[async_trait::async_trait]
        impl CustomerStore for $store {
            async fn create_customer(&self, c: &NewCustomer, now: Timestamp) -> Result<Customer> {
                let mut tx = self.pool.begin().await?;
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
                let mut tx = self.pool.begin().await?;
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
                let name = p.name.clone().unwrap_or(current.name.clone());
                if name.trim().is_empty() {
                    return Err(StoreError::Invalid("name: must not be empty".into()));
                }
                let mut tx = self.pool.begin().await?;
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
                let mut tx = self.pool.begin().await?;
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

            async fn find_customer_by_identity(&self, identity: &Identity) -> Result<Option<Customer>> {
                let (kind, value) = identity.key();
                // One indexed join for the record, one query for its identities.
                let row = sqlx::query(
                    "SELECT c.id, c.name, c.segment, c.language, c.attributes, c.created_at, c.updated_at \
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
                    "SELECT {CUSTOMER_COLS} FROM customers c WHERE lower(c.name) LIKE $1 ESCAPE '\\' \
                     OR EXISTS (SELECT 1 FROM customer_identities i WHERE i.customer_id = c.id \
                     AND lower(i.value) LIKE $1 ESCAPE '\\') ORDER BY c.id LIMIT $2 OFFSET $3"
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
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM customers").fetch_one(&self.pool).await?)
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
        impl OutboxStore for $store {
            async fn enqueue_message(&self, m: &NewOutboxMessage, now: Timestamp) -> Result<OutboxMessage> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO outbox (channel, recipient, body, interaction_id, customer_id, purpose, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
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
                })
            }

            async fn list_outbox(&self, status: Option<&str>, limit: i64) -> Result<Vec<OutboxMessage>> {
                let mut qb = QueryBuilder::<$db>::new("SELECT * FROM outbox WHERE 1 = 1");
                if let Some(s) = status {
                    qb.push(" AND status = ").push_bind(s.to_string());
                }
                qb.push(" ORDER BY id LIMIT ").push_bind(limit.clamp(1, 10_000));
                let rows = qb.build().fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| {
                        let channel: String = r.try_get("channel")?;
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
                        })
                    })
                    .collect()
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

        #[async_trait::async_trait]
        impl InteractionStore for $store {
            async fn create_interaction(&self, i: &NewInteraction) -> Result<Interaction> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO interactions (channel, direction, customer_id, queue_id, agent_id, started_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(i.channel.as_str())
                .bind(i.direction.as_str())
                .bind(i.customer_id.map(|x| x.0))
                .bind(i.queue_id.map(|x| x.0))
                .bind(i.agent_id.map(|x| x.0))
                .bind(i.started_at.as_millis())
                .fetch_one(&self.pool)
                .await?;
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
                    qb.push(" AND customer_id = ").push_bind(v.0);
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
                let ids: Vec<i64> = sqlx::query_scalar(
                    "UPDATE interactions SET ended_at = $1, end_reason = $2 WHERE ended_at IS NULL RETURNING id",
                )
                .bind(now.as_millis())
                .bind(reason)
                .fetch_all(&self.pool)
                .await?;
                let mut ids: Vec<InteractionId> = ids.into_iter().map(InteractionId).collect();
                ids.sort();
                Ok(ids)
            }
        }

        #[async_trait::async_trait]
        impl EventStore for $store {
            async fn append_events(&self, events: &[NewEvent]) -> Result<Vec<i64>> {
                let mut seqs = Vec::with_capacity(events.len());
                let mut tx = self.pool.begin().await?;
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
                    qb.push(" AND customer_id = ").push_bind(v.0);
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
                sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
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

pub(crate) use impl_common;
