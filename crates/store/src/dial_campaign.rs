//! Outbound voice campaigns kept across restarts (issue 15): the
//! [`DialCampaignStore`] trait, its rows and its SQL (shared by SQLite and
//! PostgreSQL, migration 0011).
//!
//! The engine owns the campaigns: it assigns their ids and their contacts'
//! ids, and writes every change through its in-order store lane; at start
//! it reads them back and resumes each campaign where it was. The settings,
//! the counters and a contact's progress are JSON documents the engine
//! defines (`engine::DialSettings`, …); the store keeps them whole.

use async_trait::async_trait;
use domain::{CustomerId, PhoneNumber, QueueId, Timestamp};

/// A campaign's run state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialRunState {
    /// The dialer paces calls.
    Running,
    /// No new calls; may be resumed.
    Paused,
    /// No new calls; final (not resumable).
    Stopped,
}

impl DialRunState {
    /// The stored text: `running`, `paused`, `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
        }
    }

    /// The state named `s` ([`Self::as_str`]), if any.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => Self::Running,
            "paused" => Self::Paused,
            "stopped" => Self::Stopped,
            _ => return None,
        })
    }
}

/// A stored campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialCampaignRow {
    /// Engine-assigned id (from 1).
    pub id: i64,
    /// Name shown to supervisors.
    pub name: String,
    /// The queue whose agents take its calls.
    pub queue_id: QueueId,
    /// Outbound trunk name.
    pub trunk: String,
    /// From user of its calls.
    pub caller_id: Option<String>,
    /// The engine's settings document (JSON).
    pub settings: String,
    /// Run state.
    pub state: DialRunState,
    /// The engine's counters document (JSON; `{}` when none yet).
    pub counters: String,
    /// Created at.
    pub created_at: Timestamp,
}

/// A contact of a stored campaign's list, with its progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialContactRow {
    /// Contact id, unique in the campaign (engine-assigned).
    pub contact_id: i64,
    /// E.164 number; unique in the campaign.
    pub number: PhoneNumber,
    /// Name from the list.
    pub name: Option<String>,
    /// IANA time zone of the calling window.
    pub tz: String,
    /// `given`, `unknown` or `refused`.
    pub consent: String,
    /// The customer record, when known.
    pub customer_id: Option<CustomerId>,
    /// Progress.
    pub progress: DialContactProgress,
}

/// Where a contact is: its status, attempts, last disposition and the
/// engine's full progress document.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DialContactProgress {
    /// `due`, `in_flight` or `closed:<reason>`.
    pub status: String,
    /// Calls placed to it.
    pub attempts: i64,
    /// The last attempt's disposition (system or the agent's code).
    pub last_disposition: Option<String>,
    /// The engine's progress document (JSON); `None` before the first call.
    pub progress: Option<String>,
}

/// Campaign 0 in `dial_dnc`: the global do-not-call list.
const GLOBAL: i64 = 0;

/// Stored outbound voice campaigns, their lists and the do-not-call list.
#[async_trait]
pub trait DialCampaignStore: Send + Sync {
    /// Insert a campaign (its id chosen by the engine). An id already
    /// stored is left as it is (`Ok(false)`).
    ///
    /// # Errors
    /// Database errors.
    async fn insert_dial_campaign(&self, c: &DialCampaignRow) -> crate::Result<bool>;

    /// Set a campaign's run state at `at`.
    ///
    /// # Errors
    /// Database errors.
    async fn set_dial_campaign_state(
        &self,
        id: i64,
        state: DialRunState,
        at: Timestamp,
    ) -> crate::Result<()>;

    /// Replace a campaign's counters document.
    ///
    /// # Errors
    /// Database errors.
    async fn save_dial_counters(&self, id: i64, counters: &str, at: Timestamp)
    -> crate::Result<()>;

    /// Add contacts to a campaign's list; a contact whose id or number the
    /// list already has is skipped. Returns how many were added.
    ///
    /// # Errors
    /// Database errors (an unknown campaign is a foreign-key error).
    async fn insert_dial_contacts(
        &self,
        campaign: i64,
        contacts: &[DialContactRow],
    ) -> crate::Result<u64>;

    /// Record a contact's progress.
    ///
    /// # Errors
    /// Database errors.
    async fn save_dial_progress(
        &self,
        campaign: i64,
        contact: i64,
        p: &DialContactProgress,
    ) -> crate::Result<()>;

    /// Every stored campaign, by id.
    ///
    /// # Errors
    /// Database errors; a row with an unknown state is [`crate::StoreError::Corrupt`].
    async fn list_dial_campaigns(&self) -> crate::Result<Vec<DialCampaignRow>>;

    /// A campaign's list, by contact id.
    ///
    /// # Errors
    /// Database errors; an invalid number is [`crate::StoreError::Corrupt`].
    async fn list_dial_contacts(&self, campaign: i64) -> crate::Result<Vec<DialContactRow>>;

    /// Put `number` on the do-not-call list of `campaign` (`None`: every
    /// campaign). `Ok(false)`: it was already there.
    ///
    /// # Errors
    /// Database errors.
    async fn add_dial_dnc(
        &self,
        number: &PhoneNumber,
        campaign: Option<i64>,
        source: &str,
        at: Timestamp,
    ) -> crate::Result<bool>;

    /// The do-not-call list: each number with its campaign (`None`: global).
    ///
    /// # Errors
    /// Database errors.
    async fn list_dial_dnc(&self) -> crate::Result<Vec<(PhoneNumber, Option<i64>)>>;
}

pub(crate) fn dnc_campaign(c: Option<i64>) -> i64 {
    c.unwrap_or(GLOBAL)
}

pub(crate) fn dnc_scope(c: i64) -> Option<i64> {
    (c != GLOBAL).then_some(c)
}

/// Implements [`DialCampaignStore`] for `$store`; expanded by `impl_common!`.
macro_rules! impl_dial_campaigns {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl crate::dial_campaign::DialCampaignStore for $store {
            async fn insert_dial_campaign(
                &self,
                c: &crate::dial_campaign::DialCampaignRow,
            ) -> Result<bool> {
                let r = sqlx::query(
                    "INSERT INTO dial_campaigns (id, name, queue_id, trunk, caller_id, settings, state, counters, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (id) DO NOTHING",
                )
                .bind(c.id)
                .bind(&c.name)
                .bind(c.queue_id.0)
                .bind(&c.trunk)
                .bind(&c.caller_id)
                .bind(&c.settings)
                .bind(c.state.as_str())
                .bind(&c.counters)
                .bind(c.created_at.as_millis())
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn set_dial_campaign_state(
                &self,
                id: i64,
                state: crate::dial_campaign::DialRunState,
                at: Timestamp,
            ) -> Result<()> {
                sqlx::query("UPDATE dial_campaigns SET state = $1, updated_at = $2 WHERE id = $3")
                    .bind(state.as_str())
                    .bind(at.as_millis())
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn save_dial_counters(&self, id: i64, counters: &str, at: Timestamp) -> Result<()> {
                sqlx::query("UPDATE dial_campaigns SET counters = $1, updated_at = $2 WHERE id = $3")
                    .bind(counters)
                    .bind(at.as_millis())
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn insert_dial_contacts(
                &self,
                campaign: i64,
                contacts: &[crate::dial_campaign::DialContactRow],
            ) -> Result<u64> {
                let mut tx = Self::begin_write(&self.pool).await?;
                let mut n = 0;
                for c in contacts {
                    let r = sqlx::query(
                        "INSERT INTO dial_contacts (campaign_id, contact_id, number, name, tz, consent, customer_id, \
                         status, attempts, last_disposition, progress) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
                    )
                    .bind(campaign)
                    .bind(c.contact_id)
                    .bind(c.number.as_str())
                    .bind(&c.name)
                    .bind(&c.tz)
                    .bind(&c.consent)
                    .bind(c.customer_id.map(|x| x.0))
                    .bind(&c.progress.status)
                    .bind(c.progress.attempts)
                    .bind(&c.progress.last_disposition)
                    .bind(&c.progress.progress)
                    .execute(&mut *tx)
                    .await?;
                    n += r.rows_affected();
                }
                tx.commit().await?;
                Ok(n)
            }

            async fn save_dial_progress(
                &self,
                campaign: i64,
                contact: i64,
                p: &crate::dial_campaign::DialContactProgress,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE dial_contacts SET status = $1, attempts = $2, \
                     last_disposition = COALESCE($3, last_disposition), progress = $4 \
                     WHERE campaign_id = $5 AND contact_id = $6",
                )
                .bind(&p.status)
                .bind(p.attempts)
                .bind(&p.last_disposition)
                .bind(&p.progress)
                .bind(campaign)
                .bind(contact)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn list_dial_campaigns(&self) -> Result<Vec<crate::dial_campaign::DialCampaignRow>> {
                let rows: Vec<(i64, String, i64, String, Option<String>, String, String, String, i64)> =
                    sqlx::query_as(
                        "SELECT id, name, queue_id, trunk, caller_id, settings, state, counters, created_at \
                         FROM dial_campaigns ORDER BY id",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter()
                    .map(|(id, name, queue, trunk, caller_id, settings, state, counters, at)| {
                        Ok(crate::dial_campaign::DialCampaignRow {
                            id,
                            name,
                            queue_id: QueueId(queue),
                            trunk,
                            caller_id,
                            settings,
                            state: crate::dial_campaign::DialRunState::parse(&state).ok_or_else(|| {
                                StoreError::Corrupt(format!("dial campaign state {state:?}"))
                            })?,
                            counters,
                            created_at: Timestamp::from_millis(at),
                        })
                    })
                    .collect()
            }

            async fn list_dial_contacts(
                &self,
                campaign: i64,
            ) -> Result<Vec<crate::dial_campaign::DialContactRow>> {
                #[allow(clippy::type_complexity)]
                let rows: Vec<(
                    i64,
                    String,
                    Option<String>,
                    String,
                    String,
                    Option<i64>,
                    String,
                    i64,
                    Option<String>,
                    Option<String>,
                )> = sqlx::query_as(
                    "SELECT contact_id, number, name, tz, consent, customer_id, status, attempts, last_disposition, progress \
                     FROM dial_contacts WHERE campaign_id = $1 ORDER BY contact_id",
                )
                .bind(campaign)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(contact_id, number, name, tz, consent, customer, status, attempts, last, progress)| {
                        Ok(crate::dial_campaign::DialContactRow {
                            contact_id,
                            number: PhoneNumber::try_from(number.clone()).map_err(|_| {
                                StoreError::Corrupt(format!("dial contact number {number:?}"))
                            })?,
                            name,
                            tz,
                            consent,
                            customer_id: customer.map(CustomerId),
                            progress: crate::dial_campaign::DialContactProgress {
                                status,
                                attempts,
                                last_disposition: last,
                                progress,
                            },
                        })
                    })
                    .collect()
            }

            async fn add_dial_dnc(
                &self,
                number: &PhoneNumber,
                campaign: Option<i64>,
                source: &str,
                at: Timestamp,
            ) -> Result<bool> {
                let r = sqlx::query(
                    "INSERT INTO dial_dnc (number, campaign_id, source, added_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (number, campaign_id) DO NOTHING",
                )
                .bind(number.as_str())
                .bind(crate::dial_campaign::dnc_campaign(campaign))
                .bind(source)
                .bind(at.as_millis())
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn list_dial_dnc(&self) -> Result<Vec<(PhoneNumber, Option<i64>)>> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT number, campaign_id FROM dial_dnc ORDER BY campaign_id, number",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(n, c)| {
                        let number = PhoneNumber::try_from(n.clone())
                            .map_err(|_| StoreError::Corrupt(format!("dnc number {n:?}")))?;
                        Ok((number, crate::dial_campaign::dnc_scope(c)))
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_dial_campaigns;
