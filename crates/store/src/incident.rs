//! SLA incidents (issue 19, SPEC §8): the rows of the incident desk that
//! `serve` runs (the pure core is `continuity::incidents`). The
//! [`IncidentStore`] trait, its record and the SQL shared by both backends.
//! Category and state are stored as the desk's snake_case names; the store
//! does not interpret them beyond the state's `CHECK`.

use async_trait::async_trait;
use domain::Timestamp;
use serde::{Deserialize, Serialize};

/// Most incidents one list returns.
pub const MAX_INCIDENTS: i64 = 1_000;

/// One incident as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRecord {
    /// The desk's id (≥ 1).
    pub id: i64,
    /// Register category (`server_crash`, `equipment`, `trunk_loss`, ...).
    pub category: String,
    /// Source within the category (`node`, `backup`, `database`, a trunk name).
    pub source: String,
    /// `open`, `acknowledged` or `resolved`.
    pub state: String,
    /// When it opened.
    pub opened_at: Timestamp,
    /// When staff acknowledged it.
    pub acknowledged_at: Option<Timestamp>,
    /// Who acknowledged it (user id).
    pub acknowledged_by: Option<i64>,
    /// When it was resolved.
    pub resolved_at: Option<Timestamp>,
    /// Who resolved it (user id); `None` when it resolved by itself.
    pub resolved_by: Option<i64>,
    /// The SLA of its category, minutes.
    pub sla_minutes: i64,
    /// Escalations so far.
    pub escalations: i64,
    /// Recurrences folded into it (flapping).
    pub flaps: i64,
}

/// Incident rows.
#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Insert or replace incident `r.id` (the desk's state wins; the
    /// `*_by` columns keep their stored value when `r` has `None`).
    ///
    /// # Errors
    /// [`crate::StoreError::Invalid`] for an id < 1 or an unknown state.
    async fn save_incident(&self, r: &IncidentRecord) -> crate::Result<()>;
    /// Incidents, newest first, at most `limit` (1..=[`MAX_INCIDENTS`]);
    /// `unresolved_only` keeps those open or acknowledged.
    async fn list_incidents(
        &self,
        unresolved_only: bool,
        limit: i64,
    ) -> crate::Result<Vec<IncidentRecord>>;
    /// The highest incident id stored (0 when none): the desk resumes after it.
    async fn max_incident_id(&self) -> crate::Result<i64>;
}

/// Implements [`IncidentStore`] for `$store`; expanded by `impl_common!`.
macro_rules! impl_incidents {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl crate::incident::IncidentStore for $store {
            async fn save_incident(&self, r: &crate::incident::IncidentRecord) -> Result<()> {
                if r.id < 1 {
                    return Err(StoreError::Invalid(format!("incident id {} < 1", r.id)));
                }
                if !matches!(r.state.as_str(), "open" | "acknowledged" | "resolved") {
                    return Err(StoreError::Invalid(format!(
                        "incident state {:?} is not open, acknowledged or resolved",
                        r.state
                    )));
                }
                sqlx::query(
                    "INSERT INTO incidents (id, category, source, state, opened_at, \
                       acknowledged_at, acknowledged_by, resolved_at, resolved_by, \
                       sla_minutes, escalations, flaps) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (id) DO UPDATE SET category = excluded.category, \
                       source = excluded.source, state = excluded.state, \
                       opened_at = excluded.opened_at, \
                       acknowledged_at = excluded.acknowledged_at, \
                       acknowledged_by = COALESCE(excluded.acknowledged_by, incidents.acknowledged_by), \
                       resolved_at = excluded.resolved_at, \
                       resolved_by = CASE WHEN excluded.resolved_at IS NULL THEN NULL \
                         ELSE COALESCE(excluded.resolved_by, incidents.resolved_by) END, \
                       sla_minutes = excluded.sla_minutes, \
                       escalations = excluded.escalations, flaps = excluded.flaps",
                )
                .bind(r.id)
                .bind(&r.category)
                .bind(&r.source)
                .bind(&r.state)
                .bind(r.opened_at.as_millis())
                .bind(r.acknowledged_at.map(|t| t.as_millis()))
                .bind(r.acknowledged_by)
                .bind(r.resolved_at.map(|t| t.as_millis()))
                .bind(r.resolved_by)
                .bind(r.sla_minutes)
                .bind(r.escalations)
                .bind(r.flaps)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn list_incidents(
                &self,
                unresolved_only: bool,
                limit: i64,
            ) -> Result<Vec<crate::incident::IncidentRecord>> {
                let rows = sqlx::query(
                    "SELECT id, category, source, state, opened_at, acknowledged_at, \
                       acknowledged_by, resolved_at, resolved_by, sla_minutes, escalations, flaps \
                     FROM incidents WHERE ($1 = 0 OR state <> 'resolved') \
                     ORDER BY opened_at DESC, id DESC LIMIT $2",
                )
                .bind(i64::from(unresolved_only))
                .bind(limit.clamp(1, crate::incident::MAX_INCIDENTS))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let ms = |c: &str| -> Result<Option<Timestamp>> {
                            Ok(r.try_get::<Option<i64>, _>(c)?.map(Timestamp::from_millis))
                        };
                        Ok(crate::incident::IncidentRecord {
                            id: r.try_get("id")?,
                            category: r.try_get("category")?,
                            source: r.try_get("source")?,
                            state: r.try_get("state")?,
                            opened_at: Timestamp::from_millis(r.try_get("opened_at")?),
                            acknowledged_at: ms("acknowledged_at")?,
                            acknowledged_by: r.try_get("acknowledged_by")?,
                            resolved_at: ms("resolved_at")?,
                            resolved_by: r.try_get("resolved_by")?,
                            sla_minutes: r.try_get("sla_minutes")?,
                            escalations: r.try_get("escalations")?,
                            flaps: r.try_get("flaps")?,
                        })
                    })
                    .collect()
            }

            async fn max_incident_id(&self) -> Result<i64> {
                let m: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM incidents")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(m.unwrap_or(0))
            }
        }
    };
}

pub(crate) use impl_incidents;
