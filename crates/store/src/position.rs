//! Mobile agents (issue 22, SPEC §6.1): the positions a consenting agent's
//! browser shares (Geolocation API, WGS 84) and field visits, a mobile
//! agent's check-in at a customer. The [`PositionStore`] trait, its types,
//! and the SQL shared by both backends.

use async_trait::async_trait;
use domain::{AgentId, CustomerId, Timestamp};
use serde::{Deserialize, Serialize};

/// Most rows one track read returns (a position every 10 s for a day is
/// 8,640).
pub const MAX_TRACK_POINTS: i64 = 20_000;

/// A point on the earth as a browser's Geolocation API reports it
/// (W3C Geolocation §`GeolocationCoordinates`): latitude and longitude in
/// decimal degrees (WGS 84), accuracy in metres (95 % confidence radius).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Latitude, degrees, −90..=90.
    pub lat: f64,
    /// Longitude, degrees, −180..=180.
    pub lon: f64,
    /// Accuracy radius, metres, ≥ 0.
    pub accuracy_m: f64,
}

impl GeoPoint {
    /// Check the ranges.
    ///
    /// # Errors
    /// [`crate::StoreError::Invalid`] naming the field out of range (NaN
    /// and infinities included).
    pub fn validate(&self) -> crate::Result<()> {
        if !(self.lat.is_finite() && (-90.0..=90.0).contains(&self.lat)) {
            return Err(crate::StoreError::Invalid(format!(
                "lat {} outside -90..=90 degrees",
                self.lat
            )));
        }
        if !(self.lon.is_finite() && (-180.0..=180.0).contains(&self.lon)) {
            return Err(crate::StoreError::Invalid(format!(
                "lon {} outside -180..=180 degrees",
                self.lon
            )));
        }
        if !(self.accuracy_m.is_finite() && self.accuracy_m >= 0.0) {
            return Err(crate::StoreError::Invalid(format!(
                "accuracy_m {} must be a non-negative number of metres",
                self.accuracy_m
            )));
        }
        Ok(())
    }
}

/// One stored position of an agent.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentPosition {
    /// Row id; increases with time of receipt.
    pub id: i64,
    /// The agent.
    pub agent_id: AgentId,
    /// When the server received it.
    pub at: Timestamp,
    /// Where.
    #[serde(flatten)]
    pub point: GeoPoint,
}

/// A field visit to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewFieldVisit {
    /// The visiting agent.
    pub agent_id: AgentId,
    /// The customer visited.
    pub customer_id: CustomerId,
    /// Where the agent was when checking in, if the browser could tell.
    pub point: Option<GeoPoint>,
    /// The agent's notes (may be empty).
    pub notes: String,
}

/// A stored field visit.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldVisit {
    /// Row id.
    pub id: i64,
    /// The visiting agent.
    pub agent_id: AgentId,
    /// The customer visited.
    pub customer_id: CustomerId,
    /// Check-in time.
    pub at: Timestamp,
    /// Where, if known.
    pub point: Option<GeoPoint>,
    /// Notes.
    pub notes: String,
}

/// Agent positions and field visits.
#[async_trait]
pub trait PositionStore: Send + Sync {
    /// Store a position of `agent` received at `now`.
    ///
    /// # Errors
    /// [`crate::StoreError::Invalid`] for a point out of range (see
    /// [`GeoPoint::validate`]); a database error for an unknown agent.
    async fn add_position(
        &self,
        agent: AgentId,
        point: GeoPoint,
        now: Timestamp,
    ) -> crate::Result<AgentPosition>;
    /// Each agent's latest position (agents that never shared one are
    /// absent), by agent id.
    async fn latest_positions(&self) -> crate::Result<Vec<AgentPosition>>;
    /// An agent's positions received in `[from, to)`, oldest first, at most
    /// [`MAX_TRACK_POINTS`].
    async fn agent_track(
        &self,
        agent: AgentId,
        from: Timestamp,
        to: Timestamp,
    ) -> crate::Result<Vec<AgentPosition>>;
    /// Delete positions received before `before` (the retention period);
    /// returns how many.
    async fn prune_positions(&self, before: Timestamp) -> crate::Result<u64>;
    /// Store a field visit checked in at `now`.
    ///
    /// # Errors
    /// [`crate::StoreError::Invalid`] for a point out of range;
    /// [`crate::StoreError::NotFound`] for an unknown customer.
    async fn add_field_visit(&self, v: &NewFieldVisit, now: Timestamp)
    -> crate::Result<FieldVisit>;
    /// A customer's field visits, newest first, at most `limit` (1..=500).
    async fn customer_field_visits(
        &self,
        customer: CustomerId,
        limit: i64,
    ) -> crate::Result<Vec<FieldVisit>>;
}

/// Implements [`PositionStore`] for `$store`; expanded by `impl_common!`.
macro_rules! impl_position {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl crate::position::PositionStore for $store {
            async fn add_position(
                &self,
                agent: AgentId,
                point: crate::position::GeoPoint,
                now: Timestamp,
            ) -> Result<crate::position::AgentPosition> {
                point.validate()?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO agent_positions (agent_id, at, lat, lon, accuracy_m) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(agent.0)
                .bind(now.as_millis())
                .bind(point.lat)
                .bind(point.lon)
                .bind(point.accuracy_m)
                .fetch_one(&self.pool)
                .await?;
                Ok(crate::position::AgentPosition {
                    id,
                    agent_id: agent,
                    at: now,
                    point,
                })
            }

            async fn latest_positions(&self) -> Result<Vec<crate::position::AgentPosition>> {
                let rows = sqlx::query(
                    "SELECT p.id, p.agent_id, p.at, p.lat, p.lon, p.accuracy_m \
                     FROM agent_positions p \
                     JOIN (SELECT agent_id, MAX(id) AS id FROM agent_positions GROUP BY agent_id) m \
                       ON p.id = m.id \
                     ORDER BY p.agent_id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(crate::position::position_row).collect()
            }

            async fn agent_track(
                &self,
                agent: AgentId,
                from: Timestamp,
                to: Timestamp,
            ) -> Result<Vec<crate::position::AgentPosition>> {
                let rows = sqlx::query(
                    "SELECT id, agent_id, at, lat, lon, accuracy_m FROM agent_positions \
                     WHERE agent_id = $1 AND at >= $2 AND at < $3 ORDER BY at, id LIMIT $4",
                )
                .bind(agent.0)
                .bind(from.as_millis())
                .bind(to.as_millis())
                .bind(crate::position::MAX_TRACK_POINTS)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(crate::position::position_row).collect()
            }

            async fn prune_positions(&self, before: Timestamp) -> Result<u64> {
                Ok(sqlx::query("DELETE FROM agent_positions WHERE at < $1")
                    .bind(before.as_millis())
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            async fn add_field_visit(
                &self,
                v: &crate::position::NewFieldVisit,
                now: Timestamp,
            ) -> Result<crate::position::FieldVisit> {
                if let Some(p) = &v.point {
                    p.validate()?;
                }
                let known: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM customers WHERE id = $1")
                        .bind(v.customer_id.0)
                        .fetch_optional(&self.pool)
                        .await?;
                if known.is_none() {
                    return Err(StoreError::NotFound(format!("customer {}", v.customer_id.0)));
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO field_visits (agent_id, customer_id, at, lat, lon, accuracy_m, notes) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(v.agent_id.0)
                .bind(v.customer_id.0)
                .bind(now.as_millis())
                .bind(v.point.map(|p| p.lat))
                .bind(v.point.map(|p| p.lon))
                .bind(v.point.map(|p| p.accuracy_m))
                .bind(&v.notes)
                .fetch_one(&self.pool)
                .await?;
                Ok(crate::position::FieldVisit {
                    id,
                    agent_id: v.agent_id,
                    customer_id: v.customer_id,
                    at: now,
                    point: v.point,
                    notes: v.notes.clone(),
                })
            }

            async fn customer_field_visits(
                &self,
                customer: CustomerId,
                limit: i64,
            ) -> Result<Vec<crate::position::FieldVisit>> {
                let rows = sqlx::query(
                    "SELECT id, agent_id, customer_id, at, lat, lon, accuracy_m, notes \
                     FROM field_visits WHERE customer_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
                )
                .bind(customer.0)
                .bind(limit.clamp(1, 500))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let lat: Option<f64> = r.try_get("lat")?;
                        let lon: Option<f64> = r.try_get("lon")?;
                        let acc: Option<f64> = r.try_get("accuracy_m")?;
                        Ok(crate::position::FieldVisit {
                            id: r.try_get("id")?,
                            agent_id: AgentId(r.try_get("agent_id")?),
                            customer_id: CustomerId(r.try_get("customer_id")?),
                            at: Timestamp::from_millis(r.try_get("at")?),
                            point: match (lat, lon, acc) {
                                (Some(lat), Some(lon), Some(accuracy_m)) => {
                                    Some(crate::position::GeoPoint { lat, lon, accuracy_m })
                                }
                                _ => None,
                            },
                            notes: r.try_get("notes")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_position;

/// Decode an `agent_positions` row (either backend).
pub(crate) fn position_row<R>(r: &R) -> crate::Result<AgentPosition>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    f64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(AgentPosition {
        id: r.try_get("id")?,
        agent_id: AgentId(r.try_get("agent_id")?),
        at: Timestamp::from_millis(r.try_get("at")?),
        point: GeoPoint {
            lat: r.try_get("lat")?,
            lon: r.try_get("lon")?,
            accuracy_m: r.try_get("accuracy_m")?,
        },
    })
}
