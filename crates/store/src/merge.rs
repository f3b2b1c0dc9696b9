//! Customer merge and undo (SPEC §3.3, issue 8): the [`MergeStore`] trait,
//! its record type, and the SQL shared by both backends.
//!
//! Design: the event log is append-only (a trigger refuses UPDATE and
//! DELETE), so a merge never rewrites events. Instead:
//! - the merged-away customer row stays, with `merged_into` set to the
//!   survivor; search and counts skip it, a GET still shows it;
//! - its identities (phones, e-mails, channel ids) move to the survivor, so a
//!   lookup by any of them finds the survivor;
//! - its interactions are re-pointed to the survivor (interactions are
//!   mutable records);
//! - readers filtering events or interactions by customer take the customer
//!   and every customer merged into it (recursively), so the survivor's
//!   timeline shows both histories, old events included, even if a stale
//!   writer later puts the old id back on an interaction;
//! - a `customer_merges` row lists exactly which identities and interactions
//!   moved; an undo moves back those still on the survivor and clears
//!   `merged_into`. What happened after the merge (a new call found through a
//!   moved phone) stays with the survivor.
//!
//! Both operations run in one transaction and append their audit event
//! ([`domain::EventKind::CustomersMerged`], [`domain::EventKind::MergeUndone`])
//! in it.

use async_trait::async_trait;
use domain::{CustomerId, InteractionId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// One identity a merge moved, as stored in `customer_identities`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedIdentity {
    /// `phone`, `email`, or a channel name (`whatsapp`, `webchat`...).
    pub kind: String,
    /// The E.164 number, the lower-cased address or the channel id.
    pub value: String,
}

/// A merge of customer `from` into customer `into`, with what it moved.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerMerge {
    /// Row id.
    pub id: i64,
    /// The customer merged away (now hidden, resolving to `into`).
    pub from: CustomerId,
    /// The surviving customer.
    pub into: CustomerId,
    /// The user who merged.
    pub by: UserId,
    /// When.
    pub merged_at: Timestamp,
    /// The identities that moved from `from` to `into`.
    pub identities: Vec<MovedIdentity>,
    /// The interactions re-pointed from `from` to `into`.
    pub interactions: Vec<InteractionId>,
    /// When it was undone, if it was.
    pub undone_at: Option<Timestamp>,
    /// Who undid it.
    pub undone_by: Option<UserId>,
}

/// Merging duplicate customers by hand, and undoing it.
#[async_trait]
pub trait MergeStore: Send + Sync {
    /// Merge customer `from` into `into` in one transaction: move identities,
    /// re-point interactions, mark `from` merged, record the merge, append a
    /// `customers_merged` event on `into`.
    ///
    /// # Errors
    /// [`crate::StoreError::Conflict`] when `from == into` or either is
    /// already merged into another; [`crate::StoreError::NotFound`] when one
    /// does not exist.
    async fn merge_customers(
        &self,
        from: CustomerId,
        into: CustomerId,
        by: UserId,
        now: Timestamp,
    ) -> crate::Result<CustomerMerge>;
    /// Undo merge `id` in one transaction: the identities and interactions it
    /// moved that are still on `into` go back to `from`, `from` is live
    /// again, and a `merge_undone` event is appended on `into`.
    ///
    /// # Errors
    /// [`crate::StoreError::NotFound`] for an unknown merge or a deleted
    /// customer; [`crate::StoreError::Conflict`] when already undone, or when
    /// `into` has since been merged into another customer (undo that first).
    async fn undo_merge(&self, id: i64, by: UserId, now: Timestamp)
    -> crate::Result<CustomerMerge>;
    /// One merge record.
    async fn get_merge(&self, id: i64) -> crate::Result<Option<CustomerMerge>>;
    /// The merges a customer took part in (as `from` or `into`), newest first.
    async fn list_merges(&self, customer: CustomerId) -> crate::Result<Vec<CustomerMerge>>;
}

/// Implements [`MergeStore`] for `$store`; expanded by `impl_common!`.
macro_rules! impl_merge {
    ($store:ty, $db:ty) => {
        const MERGE_COLS: &str = "id, from_id, into_id, by_user, merged_at, identities, interactions, undone_at, undone_by";

        impl $store {
            fn merge_from_row(r: &<$db as sqlx::Database>::Row) -> Result<CustomerMerge> {
                Ok(CustomerMerge {
                    id: r.try_get("id")?,
                    from: CustomerId(r.try_get("from_id")?),
                    into: CustomerId(r.try_get("into_id")?),
                    by: UserId(r.try_get("by_user")?),
                    merged_at: Timestamp::from_millis(r.try_get("merged_at")?),
                    identities: from_json(&r.try_get::<String, _>("identities")?, "merge identities")?,
                    interactions: from_json(&r.try_get::<String, _>("interactions")?, "merge interactions")?,
                    undone_at: r.try_get::<Option<i64>, _>("undone_at")?.map(Timestamp::from_millis),
                    undone_by: r.try_get::<Option<i64>, _>("undone_by")?.map(UserId),
                })
            }

            /// Check-and-set one customer row inside a merge transaction: set
            /// its `merged_into` to `set` when given, to NULL when `clear`,
            /// else only touch `updated_at`; only if the row currently has
            /// `merged_into = expect` (NULL for `None`). Returns whether it matched.
            async fn merge_touch(
                conn: &mut <$db as sqlx::Database>::Connection,
                id: CustomerId,
                set: Option<CustomerId>,
                clear: bool,
                expect: Option<CustomerId>,
                now: Timestamp,
            ) -> Result<bool> {
                let mut qb = QueryBuilder::<$db>::new("UPDATE customers SET updated_at = ");
                qb.push_bind(now.as_millis());
                if let Some(s) = set {
                    qb.push(", merged_into = ").push_bind(s.0);
                } else if clear {
                    qb.push(", merged_into = NULL");
                }
                qb.push(" WHERE id = ").push_bind(id.0);
                match expect {
                    Some(e) => {
                        qb.push(" AND merged_into = ").push_bind(e.0);
                    }
                    None => {
                        qb.push(" AND merged_into IS NULL");
                    }
                }
                Ok(qb.build().execute(&mut *conn).await?.rows_affected() == 1)
            }

            async fn customer_exists(
                conn: &mut <$db as sqlx::Database>::Connection,
                id: CustomerId,
            ) -> Result<Option<Option<i64>>> {
                Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT merged_into FROM customers WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&mut *conn)
                    .await?)
            }

            async fn merge_audit(
                conn: &mut <$db as sqlx::Database>::Connection,
                kind: &EventKind,
                into: CustomerId,
                now: Timestamp,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO events (at, interaction_id, customer_id, agent_id, kind, payload) \
                     VALUES ($1, NULL, $2, NULL, $3, $4)",
                )
                .bind(now.as_millis())
                .bind(into.0)
                .bind(kind.name())
                .bind(to_json(kind)?)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl MergeStore for $store {
            async fn merge_customers(
                &self,
                from: CustomerId,
                into: CustomerId,
                by: UserId,
                now: Timestamp,
            ) -> Result<CustomerMerge> {
                if from == into {
                    return Err(StoreError::Conflict(format!(
                        "cannot merge customer {from} into itself"
                    )));
                }
                let mut tx = Self::begin_write(&self.pool).await?;
                // Write first: SQLite takes its write lock now (waiting on the
                // busy timeout) instead of failing to upgrade a read later;
                // PostgreSQL locks both rows in index (id) order.
                let touched = sqlx::query("UPDATE customers SET updated_at = $1 WHERE id = $2 OR id = $3")
                    .bind(now.as_millis())
                    .bind(from.0)
                    .bind(into.0)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if touched < 2 {
                    for id in [from, into] {
                        if Self::customer_exists(&mut tx, id).await?.is_none() {
                            return Err(StoreError::NotFound(format!("customer {id}")));
                        }
                    }
                }
                // In id order (no deadlock between A→B and B→A); each update
                // re-checks `merged_into IS NULL` under the row lock.
                let mut order = [(from, Some(into)), (into, None)];
                order.sort_by_key(|(id, _)| id.0);
                for (id, set) in order {
                    if !Self::merge_touch(&mut tx, id, set, false, None, now).await? {
                        return Err(match Self::customer_exists(&mut tx, id).await? {
                            None => StoreError::NotFound(format!("customer {id}")),
                            Some(_) => StoreError::Conflict(format!(
                                "customer {id} is already merged into another customer"
                            )),
                        });
                    }
                }
                let identities: Vec<MovedIdentity> = sqlx::query(
                    "SELECT kind, value FROM customer_identities WHERE customer_id = $1 ORDER BY kind, value",
                )
                .bind(from.0)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| Ok(MovedIdentity { kind: r.try_get("kind")?, value: r.try_get("value")? }))
                .collect::<Result<_>>()?;
                sqlx::query("UPDATE customer_identities SET customer_id = $1 WHERE customer_id = $2")
                    .bind(into.0)
                    .bind(from.0)
                    .execute(&mut *tx)
                    .await?;
                let interactions: Vec<InteractionId> = sqlx::query_scalar::<_, i64>(
                    "SELECT id FROM interactions WHERE customer_id = $1 ORDER BY id",
                )
                .bind(from.0)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(InteractionId)
                .collect();
                sqlx::query("UPDATE interactions SET customer_id = $1 WHERE customer_id = $2")
                    .bind(into.0)
                    .bind(from.0)
                    .execute(&mut *tx)
                    .await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO customer_merges (from_id, into_id, by_user, merged_at, identities, interactions) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(from.0)
                .bind(into.0)
                .bind(by.0)
                .bind(now.as_millis())
                .bind(to_json(&identities)?)
                .bind(to_json(&interactions)?)
                .fetch_one(&mut *tx)
                .await?;
                let kind = EventKind::CustomersMerged { merge_id: id, from, into, by };
                Self::merge_audit(&mut tx, &kind, into, now).await?;
                tx.commit().await?;
                Ok(CustomerMerge {
                    id,
                    from,
                    into,
                    by,
                    merged_at: now,
                    identities,
                    interactions,
                    undone_at: None,
                    undone_by: None,
                })
            }

            async fn undo_merge(&self, id: i64, by: UserId, now: Timestamp) -> Result<CustomerMerge> {
                let mut tx = Self::begin_write(&self.pool).await?;
                // Claim the record first: a second undo of the same merge
                // waits here and then finds it undone.
                let claimed = sqlx::query(
                    "UPDATE customer_merges SET undone_at = $1, undone_by = $2 WHERE id = $3 AND undone_at IS NULL",
                )
                .bind(now.as_millis())
                .bind(by.0)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {MERGE_COLS} FROM customer_merges WHERE id = $1"
                )))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let m = match row {
                    None => return Err(StoreError::NotFound(format!("merge {id}"))),
                    Some(r) => Self::merge_from_row(&r)?,
                };
                if claimed == 0 {
                    return Err(StoreError::Conflict(format!("merge {id} was already undone")));
                }
                let mut order = [(m.from, Some(m.into)), (m.into, None)];
                order.sort_by_key(|(c, _)| c.0);
                for (c, expect) in order {
                    if !Self::merge_touch(&mut tx, c, None, expect.is_some(), expect, now).await? {
                        return Err(match Self::customer_exists(&mut tx, c).await? {
                            None => StoreError::NotFound(format!("customer {c}")),
                            Some(Some(other)) => StoreError::Conflict(format!(
                                "customer {c} is now merged into customer {other}: undo that merge first"
                            )),
                            Some(None) => StoreError::Conflict(format!(
                                "customer {c} is no longer merged into customer {}", m.into
                            )),
                        });
                    }
                }
                for ident in &m.identities {
                    sqlx::query(
                        "UPDATE customer_identities SET customer_id = $1 \
                         WHERE kind = $2 AND value = $3 AND customer_id = $4",
                    )
                    .bind(m.from.0)
                    .bind(&ident.kind)
                    .bind(&ident.value)
                    .bind(m.into.0)
                    .execute(&mut *tx)
                    .await?;
                }
                for chunk in m.interactions.chunks(500) {
                    let mut qb = QueryBuilder::<$db>::new("UPDATE interactions SET customer_id = ");
                    qb.push_bind(m.from.0);
                    qb.push(" WHERE customer_id = ").push_bind(m.into.0);
                    qb.push(" AND id IN (");
                    let mut sep = qb.separated(", ");
                    for i in chunk {
                        sep.push_bind(i.0);
                    }
                    qb.push(")");
                    qb.build().execute(&mut *tx).await?;
                }
                let kind = EventKind::MergeUndone { merge_id: id, from: m.from, into: m.into, by };
                Self::merge_audit(&mut tx, &kind, m.into, now).await?;
                tx.commit().await?;
                Ok(m)
            }

            async fn get_merge(&self, id: i64) -> Result<Option<CustomerMerge>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {MERGE_COLS} FROM customer_merges WHERE id = $1"
                )))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::merge_from_row).transpose()
            }

            async fn list_merges(&self, customer: CustomerId) -> Result<Vec<CustomerMerge>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {MERGE_COLS} FROM customer_merges WHERE from_id = $1 OR into_id = $1 ORDER BY id DESC"
                )))
                .bind(customer.0)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::merge_from_row).collect()
            }
        }
    };
}

pub(crate) use impl_merge;
