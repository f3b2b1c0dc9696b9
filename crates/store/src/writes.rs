//! Durable changes of interactions (issue 12): the [`Write`] enum, its
//! idempotency key, the [`WriteStore`] trait (group commit of writes, blocks
//! of interaction ids) and the SQL both backends share.
//!
//! Design:
//! - A [`Write`] is one change of the engine: a new interaction row, a change
//!   of some columns of one row, or events alone, always with its events. It
//!   is applied in the same transaction as its events, and many writes share
//!   one transaction ([`WriteStore::apply_writes`], group commit).
//! - No full-row rewrite: [`InteractionChange`] names only the columns to
//!   set. `customer_id` and `answered_at` are only ever filled when still
//!   NULL, so a customer merge done meanwhile (which re-points the row to the
//!   survivor) is never undone by the engine's cached copy.
//! - Idempotency: every write travels as a [`KeyedWrite`] whose
//!   [`WriteKey`] is `(node, seq)`: `node` names one writer run, `seq`
//!   increases by one per write of that run. The store keeps, per node, the
//!   highest `seq` applied (table `write_progress`, updated in the same
//!   transaction), and skips any write at or below it. Replaying a journal
//!   after a crash between the commit and the journal trim therefore changes
//!   nothing and duplicates no event. This relies on each node's writes being
//!   applied in `seq` order, which the event writer guarantees.
//! - Interaction ids come from a counter row (`id_counters`), shared by
//!   [`crate::InteractionStore::create_interaction`] and
//!   [`WriteStore::reserve_interaction_ids`], so a core can open an
//!   interaction with an id from a reserved block without asking the
//!   database.

use async_trait::async_trait;
use domain::{AgentId, CustomerId, Interaction, InteractionId, NewEvent, QueueId, Timestamp};
use serde::{Deserialize, Serialize};

/// The columns of an interaction row the engine may change; `None` leaves a
/// column as it is (there is no way to clear a column).
///
/// `customer_id` and `answered_at` are written only when the stored value is
/// still NULL: an identified caller fills a missing customer but never
/// replaces one (a customer merge re-points the row to the survivor, and a
/// stale copy must not undo that, SPEC §3.3); a second answer (transfer)
/// keeps the first answer time (ASA counts the first).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InteractionChange {
    /// Customer, set only if the row has none yet. A customer merged into
    /// another is replaced by the survivor; an unknown (deleted) one is
    /// ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<CustomerId>,
    /// The queue it is (now) in: routed, re-queued, transferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
    /// The agent handling it (answered, callback agent, transferred to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// First answer by an agent, set only if not set yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<Timestamp>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// Why it ended (`completed`, `abandoned`, `system_restart`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// Disposition code chosen at wrap-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// Agent notes (replace the stored ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Path of the call recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
}

impl InteractionChange {
    /// Does it change nothing?
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Fold `later` (applied after `self`) into `self`: one change with
    /// the same effect on a row as both in order (`customer_id` and
    /// `answered_at` keep the first value given, the other columns the last).
    pub fn then(&mut self, later: &InteractionChange) {
        fn last<T: Clone>(a: &mut Option<T>, b: &Option<T>) {
            if b.is_some() {
                a.clone_from(b);
            }
        }
        self.customer_id = self.customer_id.or(later.customer_id);
        self.answered_at = self.answered_at.or(later.answered_at);
        last(&mut self.queue_id, &later.queue_id);
        last(&mut self.agent_id, &later.agent_id);
        last(&mut self.ended_at, &later.ended_at);
        last(&mut self.end_reason, &later.end_reason);
        last(&mut self.disposition, &later.disposition);
        last(&mut self.notes, &later.notes);
        last(&mut self.recording, &later.recording);
    }
}

/// One durable change, applied with its events in one transaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Write {
    /// A new interaction row, its id already chosen by the caller (from
    /// [`WriteStore::reserve_interaction_ids`]), and its events (usually
    /// `interaction_created`). Every column of `interaction` is written;
    /// a customer merged into another is replaced by the survivor, an
    /// unknown (deleted) customer by none.
    Open {
        /// The row to insert.
        interaction: Interaction,
        /// Its events, in order.
        events: Vec<NewEvent>,
    },
    /// Some columns of one interaction, and events. A missing row is not an
    /// error: the change is skipped with a warning, the events are kept.
    Update {
        /// The interaction.
        id: InteractionId,
        /// The columns to set.
        change: InteractionChange,
        /// Its events, in order.
        events: Vec<NewEvent>,
    },
    /// Events with no row change (agent states, IVR steps...).
    Events(Vec<NewEvent>),
}

impl Write {
    /// Open an interaction: the row `id` (from
    /// [`WriteStore::reserve_interaction_ids`]) built from `new`, its
    /// `interaction_created` event, then `extra` (set on this interaction).
    /// The one place an interaction's opening is built, for every channel
    /// and entry point: the engine (calls, callbacks, IVR conversations),
    /// the messaging ingest and the API ([`open_interaction`]).
    pub fn open(id: InteractionId, new: &crate::NewInteraction, extra: Vec<NewEvent>) -> Write {
        let interaction = Interaction {
            id,
            channel: new.channel,
            direction: new.direction,
            customer_id: new.customer_id,
            queue_id: new.queue_id,
            agent_id: new.agent_id,
            started_at: new.started_at,
            answered_at: None,
            ended_at: None,
            end_reason: None,
            disposition: None,
            notes: None,
            recording: None,
        };
        let mut created = NewEvent::new(
            new.started_at,
            domain::EventKind::InteractionCreated {
                channel: new.channel,
                direction: new.direction,
            },
        )
        .with_interaction(id);
        created.customer_id = new.customer_id;
        created.agent_id = new.agent_id;
        let mut events = vec![created];
        events.extend(extra.into_iter().map(|e| e.with_interaction(id)));
        Write::Open {
            interaction,
            events,
        }
    }

    /// The events of this write, in order.
    pub fn events(&self) -> &[NewEvent] {
        match self {
            Write::Open { events, .. } | Write::Update { events, .. } | Write::Events(events) => {
                events
            }
        }
    }

    /// The interaction whose row it writes, if any.
    pub fn interaction(&self) -> Option<InteractionId> {
        match self {
            Write::Open { interaction, .. } => Some(interaction.id),
            Write::Update { id, .. } => Some(*id),
            Write::Events(_) => None,
        }
    }
}

/// The idempotency key of a write: `node` names one writer run (random at
/// its start), `seq` counts that run's writes from 1. Stored as two BIGINTs
/// (bit patterns of the `u64`s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WriteKey {
    /// The writer run.
    pub node: u64,
    /// Position within that run, from 1, strictly increasing.
    pub seq: u64,
}

/// A [`Write`] with its key: what is journaled and applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyedWrite {
    /// Idempotency key.
    pub key: WriteKey,
    /// The change.
    pub write: Write,
}

/// This process's write keys for [`open_interaction`] (outside the
/// engine's writer): one node per process run, `seq` taken and applied
/// under the lock so keys reach the store in increasing order.
static DIRECT: tokio::sync::Mutex<Option<WriteKey>> = tokio::sync::Mutex::const_new(None);

/// Open one interaction now, outside the engine (a message that starts a
/// conversation, `POST /api/v1/interactions`): an id reserved in the store
/// and [`Write::open`] applied in one transaction (row and events
/// together). Returns the row as written.
///
/// # Errors
/// The store's errors ([`WriteStore::reserve_interaction_ids`],
/// [`WriteStore::apply_writes`]).
pub async fn open_interaction(
    store: &dyn WriteStore,
    new: &crate::NewInteraction,
    extra: Vec<NewEvent>,
) -> crate::Result<Interaction> {
    let ids = store.reserve_interaction_ids(1).await?;
    let id = InteractionId(ids.start);
    let write = Write::open(id, new, extra);
    let Write::Open { interaction, .. } = &write else {
        unreachable!("Write::open builds an Open");
    };
    let interaction = interaction.clone();
    apply_now(store, write).await?;
    Ok(interaction)
}

/// Apply one write now, outside the engine's writer (its row change and
/// events in one transaction), with this process's direct write keys.
///
/// # Errors
/// The store's errors ([`WriteStore::apply_writes`]).
pub async fn apply_now(store: &dyn WriteStore, write: Write) -> crate::Result<()> {
    let mut last = DIRECT.lock().await;
    let key = match *last {
        Some(k) => WriteKey {
            node: k.node,
            seq: k.seq + 1,
        },
        None => WriteKey {
            node: new_write_node(),
            seq: 1,
        },
    };
    store.apply_writes(&[KeyedWrite { key, write }]).await?;
    *last = Some(key);
    Ok(())
}

/// A new node id for write keys ([`WriteKey::node`]): random (the
/// process's hasher keys come from the OS) mixed with the time and the
/// process id. The engine's writer takes one per run, [`apply_now`] one per
/// process.
pub fn new_write_node() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::hash::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    h.finish()
}

/// What [`WriteStore::apply_writes`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppliedWrites {
    /// Writes applied now.
    pub applied: usize,
    /// Writes skipped because their key was applied before (replay).
    pub skipped: usize,
    /// Events inserted.
    pub events: usize,
}

/// Durable interaction changes (issue 12): what the event writer drives.
#[async_trait]
pub trait WriteStore: Send + Sync {
    /// Apply `writes` in order, all in ONE transaction (group commit): each
    /// write's row change and its events, and the per-node high-water mark
    /// of applied keys. A write whose key is at or below its node's mark is
    /// skipped (already applied: journal replay), so applying the same slice
    /// twice changes nothing the second time. Within one node, keys must
    /// come in increasing `seq` order.
    ///
    /// # Errors
    /// Nothing is applied on error. [`crate::StoreError::Conflict`] when an
    /// `Open` id exists already; [`crate::StoreError::Invalid`] for an
    /// event payload that cannot be serialised; database errors (see
    /// [`crate::StoreError::is_transient`]).
    async fn apply_writes(&self, writes: &[KeyedWrite]) -> crate::Result<AppliedWrites>;

    /// Reserve `n` consecutive interaction ids nobody else will use (not
    /// this node, another node, nor `create_interaction`). `n = 0` returns
    /// an empty range.
    ///
    /// # Errors
    /// Database errors.
    async fn reserve_interaction_ids(&self, n: u32) -> crate::Result<std::ops::Range<i64>>;
}

/// Implements [`WriteStore`] for `$store`; expanded by `impl_common!`.
macro_rules! impl_writes {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Take `n` ids from the interaction counter inside `conn`'s
            /// transaction.
            async fn take_interaction_ids(
                conn: &mut <$db as sqlx::Database>::Connection,
                n: u32,
            ) -> Result<std::ops::Range<i64>> {
                let next: i64 = sqlx::query_scalar(
                    "UPDATE id_counters SET next_id = next_id + $1 WHERE name = 'interaction' RETURNING next_id",
                )
                .bind(i64::from(n))
                .fetch_one(&mut *conn)
                .await?;
                Ok(next - i64::from(n)..next)
            }

            /// The customer to write for `c`: itself, the survivor it was
            /// merged into (following chains), or none if it does not exist.
            async fn live_customer(
                conn: &mut <$db as sqlx::Database>::Connection,
                c: Option<CustomerId>,
            ) -> Result<Option<CustomerId>> {
                let Some(mut id) = c else { return Ok(None) };
                // A merge chain is short; the bound only guards against a cycle.
                for _ in 0..32 {
                    let row: Option<Option<i64>> =
                        sqlx::query_scalar("SELECT merged_into FROM customers WHERE id = $1")
                            .bind(id.0)
                            .fetch_optional(&mut *conn)
                            .await?;
                    match row {
                        None => return Ok(None),
                        Some(None) => return Ok(Some(id)),
                        Some(Some(next)) => id = CustomerId(next),
                    }
                }
                Ok(Some(id))
            }

            async fn insert_events_tx(
                conn: &mut <$db as sqlx::Database>::Connection,
                events: &[&NewEvent],
            ) -> Result<()> {
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
                    qb.build().execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Insert new interaction rows (multi-row INSERTs).
            async fn open_rows_tx(
                conn: &mut <$db as sqlx::Database>::Connection,
                rows: &[&Interaction],
            ) -> Result<()> {
                let mut customers = Vec::with_capacity(rows.len());
                for i in rows {
                    customers.push(Self::live_customer(&mut *conn, i.customer_id).await?);
                }
                for (chunk, custs) in rows.chunks(500).zip(customers.chunks(500)) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "INSERT INTO interactions (id, channel, direction, customer_id, queue_id, agent_id, started_at, \
                         answered_at, ended_at, end_reason, disposition, notes, recording) ",
                    );
                    qb.push_values(chunk.iter().zip(custs), |mut b, (i, customer)| {
                        b.push_bind(i.id.0)
                            .push_bind(i.channel.as_str())
                            .push_bind(i.direction.as_str())
                            .push_bind(customer.map(|x| x.0))
                            .push_bind(i.queue_id.map(|x| x.0))
                            .push_bind(i.agent_id.map(|x| x.0))
                            .push_bind(i.started_at.as_millis())
                            .push_bind(i.answered_at.map(|t| t.as_millis()))
                            .push_bind(i.ended_at.map(|t| t.as_millis()))
                            .push_bind(i.end_reason.clone())
                            .push_bind(i.disposition.clone())
                            .push_bind(i.notes.clone())
                            .push_bind(i.recording.clone());
                    });
                    qb.push(" ON CONFLICT (id) DO NOTHING");
                    let n = qb.build().execute(&mut *conn).await?.rows_affected();
                    if n < chunk.len() as u64 {
                        let ids: Vec<String> = chunk.iter().map(|i| i.id.to_string()).collect();
                        return Err(StoreError::Conflict(format!(
                            "interaction exists already (one of {})",
                            ids.join(", ")
                        )));
                    }
                }
                Ok(())
            }

            async fn update_row_tx(
                conn: &mut <$db as sqlx::Database>::Connection,
                id: InteractionId,
                c: &InteractionChange,
            ) -> Result<()> {
                if c.is_empty() {
                    return Ok(());
                }
                let customer = Self::live_customer(&mut *conn, c.customer_id).await?;
                let rest = InteractionChange {
                    customer_id: None,
                    ..c.clone()
                };
                if customer.is_none() && rest.is_empty() {
                    // Only a customer that no longer exists: nothing to set.
                    return Ok(());
                }
                let mut qb = QueryBuilder::<$db>::new("UPDATE interactions SET ");
                let mut set = qb.separated(", ");
                if let Some(v) = customer {
                    set.push("customer_id = COALESCE(customer_id, ").push_bind_unseparated(v.0).push_unseparated(")");
                }
                if let Some(v) = c.queue_id {
                    set.push("queue_id = ").push_bind_unseparated(v.0);
                }
                if let Some(v) = c.agent_id {
                    set.push("agent_id = ").push_bind_unseparated(v.0);
                }
                if let Some(v) = c.answered_at {
                    set.push("answered_at = COALESCE(answered_at, ")
                        .push_bind_unseparated(v.as_millis())
                        .push_unseparated(")");
                }
                if let Some(v) = c.ended_at {
                    set.push("ended_at = ").push_bind_unseparated(v.as_millis());
                }
                if let Some(v) = &c.end_reason {
                    set.push("end_reason = ").push_bind_unseparated(v.clone());
                }
                if let Some(v) = &c.disposition {
                    set.push("disposition = ").push_bind_unseparated(v.clone());
                }
                if let Some(v) = &c.notes {
                    set.push("notes = ").push_bind_unseparated(v.clone());
                }
                if let Some(v) = &c.recording {
                    set.push("recording = ").push_bind_unseparated(v.clone());
                }
                qb.push(" WHERE id = ").push_bind(id.0);
                let n = qb.build().execute(&mut *conn).await?.rows_affected();
                if n == 0 {
                    tracing::warn!(interaction = %id, "write for an unknown interaction: row change skipped, events kept");
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl WriteStore for $store {
            async fn apply_writes(&self, writes: &[KeyedWrite]) -> Result<AppliedWrites> {
                let mut out = AppliedWrites::default();
                if writes.is_empty() {
                    return Ok(out);
                }
                let mut tx = Self::begin_write(&self.pool).await?;
                // Per node: (mark stored before, highest seq applied now).
                let mut marks: std::collections::BTreeMap<u64, (Option<u64>, u64)> =
                    std::collections::BTreeMap::new();
                let mut events: Vec<&NewEvent> = Vec::new();
                // Row changes are gathered, then applied: new rows first, then
                // one folded change per row (same effect as in order, fewer
                // statements). An Update that comes before its row's Open in
                // the same batch (an engine bug) is applied too.
                let mut opens: Vec<&Interaction> = Vec::new();
                let mut changes: Vec<(InteractionId, InteractionChange)> = Vec::new();
                let mut change_of: std::collections::HashMap<InteractionId, usize> =
                    std::collections::HashMap::new();
                for kw in writes {
                    let node = kw.key.node;
                    if !marks.contains_key(&node) {
                        let stored: Option<i64> =
                            sqlx::query_scalar("SELECT last_seq FROM write_progress WHERE node = $1")
                                .bind(node as i64)
                                .fetch_optional(&mut *tx)
                                .await?;
                        let stored = stored.map(|s| s as u64);
                        marks.insert(node, (stored, stored.unwrap_or(0)));
                    }
                    let mark = marks.get_mut(&node).expect("inserted above");
                    if kw.key.seq <= mark.1 {
                        out.skipped += 1;
                        continue;
                    }
                    mark.1 = kw.key.seq;
                    match &kw.write {
                        Write::Open { interaction, .. } => opens.push(interaction),
                        Write::Update { id, change, .. } => match change_of.get(id) {
                            Some(&k) => changes[k].1.then(change),
                            None => {
                                change_of.insert(*id, changes.len());
                                changes.push((*id, change.clone()));
                            }
                        },
                        Write::Events(_) => {}
                    }
                    events.extend(kw.write.events());
                    out.applied += 1;
                }
                Self::open_rows_tx(&mut tx, &opens).await?;
                for (id, change) in &changes {
                    Self::update_row_tx(&mut tx, *id, change).await?;
                }
                Self::insert_events_tx(&mut tx, &events).await?;
                out.events = events.len();
                for (node, (stored, last)) in marks {
                    if stored == Some(last) {
                        continue;
                    }
                    sqlx::query(
                        "INSERT INTO write_progress (node, last_seq) VALUES ($1, $2) \
                         ON CONFLICT (node) DO UPDATE SET last_seq = excluded.last_seq",
                    )
                    .bind(node as i64)
                    .bind(last as i64)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn reserve_interaction_ids(&self, n: u32) -> Result<std::ops::Range<i64>> {
                let mut tx = Self::begin_write(&self.pool).await?;
                let r = Self::take_interaction_ids(&mut tx, n).await?;
                tx.commit().await?;
                Ok(r)
            }
        }
    };
}

pub(crate) use impl_writes;
