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
    pub merged_into: Option<i64>,
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
            merged_into: self.merged_into.map(domain::CustomerId),
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
            "id, name, segment, language, attributes, created_at, updated_at, merged_into";

        /// `IN (...)` body: the customer bound next and every customer merged
        /// into it, directly or through a chain (A into B, then B into C).
        /// Push it, bind the id, then push [`MERGED_SET_TAIL`].
        const MERGED_SET_HEAD: &str = " IN (WITH RECURSIVE m(id) AS (SELECT CAST(";
        /// The end of the `IN (...)` started by [`MERGED_SET_HEAD`].
        const MERGED_SET_TAIL: &str = " AS BIGINT) UNION SELECT c.id FROM customers c JOIN m ON c.merged_into = m.id) \
             SELECT id FROM m)";

        fn customer_row(r: &<$db as sqlx::Database>::Row) -> Result<CustomerRow> {
            Ok(CustomerRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                segment: r.try_get("segment")?,
                language: r.try_get("language")?,
                attributes: r.try_get("attributes")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
                merged_into: r.try_get("merged_into")?,
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

        crate::common_messaging::impl_messaging!($store, $db);
        crate::common_directory::impl_directory!($store, $db);
        crate::common_log::impl_log!($store, $db);
        crate::chat::impl_chat!($store, $db);
        crate::common_campaign::impl_campaign!($store, $db);
        crate::merge::impl_merge!($store, $db);
        crate::position::impl_position!($store, $db);
        crate::incident::impl_incidents!($store, $db);
        crate::kb::impl_kb!($store, $db);
        crate::writes::impl_writes!($store, $db);
        crate::audit::impl_audit!($store, $db);
        crate::dial::impl_dial!($store, $db);
        crate::dial::impl_sip_bindings!($store, $db);
        crate::dial::impl_sip_dialogs!($store, $db);
        crate::dial_campaign::impl_dial_campaigns!($store, $db);
    };
}

pub(crate) use impl_common;
