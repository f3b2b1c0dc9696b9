//! The audit trail (SPEC §7, issue 18): the [`AuditStore`] trait, its input
//! and filter types, and the SQL shared by both backends.
//!
//! Appending reads the last entry's hash and writes the next one in one
//! transaction that first takes the table's write lock, so appends queue up;
//! `seq` is also the primary key, so should two ever race, the loser retries
//! (up to 8 times) on top of the winner. The hash arithmetic is `iam::audit`'s; the rows are refused
//! UPDATE and DELETE by triggers (migration 0009).

use async_trait::async_trait;
use domain::{Timestamp, UserId};
pub use iam::audit::{AuditAction, AuditEntry, Checkpoint, Digest};

/// An entry to append.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who; `None` for the system or an unknown login.
    pub actor: Option<UserId>,
    /// What.
    pub action: AuditAction,
    /// On what (`"user:12"`, `"interaction:40"`, a login name).
    pub target: String,
    /// From where (IP address).
    pub source: Option<String>,
    /// State before a change.
    pub before: Option<serde_json::Value>,
    /// State after a change.
    pub after: Option<serde_json::Value>,
}

impl NewAuditEntry {
    /// An entry with no source and no before/after.
    pub fn new(
        at: Timestamp,
        actor: Option<UserId>,
        action: AuditAction,
        target: impl Into<String>,
    ) -> Self {
        NewAuditEntry {
            at,
            actor,
            action,
            target: target.into(),
            source: None,
            before: None,
            after: None,
        }
    }
}

/// Which entries to list (all given conditions hold), newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditFilter {
    /// Only this actor's.
    pub actor: Option<UserId>,
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only this exact target.
    pub target: Option<String>,
    /// At or after.
    pub since: Option<Timestamp>,
    /// Before.
    pub until: Option<Timestamp>,
    /// At most this many (0 → 100, capped at 10 000).
    pub limit: i64,
}

/// Storage of the audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Append an entry, chained to the last one; returns it as stored.
    ///
    /// # Errors
    /// [`crate::StoreError::Conflict`] if 8 attempts all lost a race;
    /// database errors.
    async fn append_audit(&self, e: &NewAuditEntry) -> crate::Result<AuditEntry>;
    /// Entries with `seq > after_seq`, oldest first, at most `limit` (the
    /// verifier pages through the whole chain with this).
    async fn audit_chain(&self, after_seq: i64, limit: i64) -> crate::Result<Vec<AuditEntry>>;
    /// Entries matching `filter`, newest first (the viewer).
    async fn list_audit(&self, filter: &AuditFilter) -> crate::Result<Vec<AuditEntry>>;
    /// Store a signed checkpoint (one per hour; a second for the same hour
    /// is a conflict).
    async fn add_audit_checkpoint(&self, c: &Checkpoint) -> crate::Result<()>;
    /// Every checkpoint, oldest first.
    async fn audit_checkpoints(&self) -> crate::Result<Vec<Checkpoint>>;
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn unhex(s: &str) -> crate::Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return Err(crate::StoreError::Corrupt("odd hex length".into()));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| crate::StoreError::Corrupt("bad hex".into()))
        })
        .collect()
}

pub(crate) fn sig_hex(c: &Checkpoint) -> String {
    hex(&c.signature)
}

/// A stored hash that does not parse is kept as all-ones so that the
/// verifier reports the entry instead of the reader failing.
pub(crate) fn digest_or_bad(s: &str) -> Digest {
    Digest::from_hex(s).unwrap_or(Digest([0xff; 32]))
}

macro_rules! impl_audit {
    ($store:ty, $db:ty) => {
        const AUDIT_COLS: &str =
            "seq, at, actor, action, target, source, before_state, after_state, prev_hash, hash";

        impl $store {
            fn audit_from_row(r: &<$db as sqlx::Database>::Row) -> Result<crate::audit::AuditEntry> {
                Ok(crate::audit::AuditEntry {
                    seq: r.try_get("seq")?,
                    at_ms: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    source: r.try_get("source")?,
                    before: r.try_get("before_state")?,
                    after: r.try_get("after_state")?,
                    prev_hash: crate::audit::digest_or_bad(&r.try_get::<String, _>("prev_hash")?),
                    hash: crate::audit::digest_or_bad(&r.try_get::<String, _>("hash")?),
                })
            }
        }

        #[async_trait::async_trait]
        impl crate::audit::AuditStore for $store {
            async fn append_audit(&self, e: &crate::audit::NewAuditEntry) -> Result<crate::audit::AuditEntry> {
                let before = e.before.as_ref().map(to_json).transpose()?;
                let after = e.after.as_ref().map(to_json).transpose()?;
                for _ in 0..8 {
                    let mut tx = Self::begin_write(&self.pool).await?;
                    // Take the table's write lock first, so appends queue up
                    // instead of racing: SQLite takes it at the first write
                    // (waiting its busy timeout), PostgreSQL with a
                    // self-conflicting lock mode that still lets readers in.
                    let lock = if <$db as sqlx::Database>::NAME == "PostgreSQL" {
                        "LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"
                    } else {
                        "UPDATE audit_log SET seq = seq WHERE 1 = 0"
                    };
                    sqlx::query(lock).execute(&mut *tx).await?;
                    let last: Option<(i64, String)> =
                        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                            .fetch_optional(&mut *tx)
                            .await?;
                    let (prev_seq, prev) = match last {
                        Some((s, h)) => (s, crate::audit::digest_or_bad(&h)),
                        None => (0, crate::audit::Digest::default()),
                    };
                    let entry = iam::audit::next_entry(
                        prev,
                        prev_seq + 1,
                        e.at.as_millis(),
                        e.actor.map(|u| u.0),
                        e.action,
                        &e.target,
                        e.source.as_deref(),
                        before.as_deref(),
                        after.as_deref(),
                    );
                    let ins = sqlx::query(
                        "INSERT INTO audit_log (seq, at, actor, action, target, source, before_state, after_state, prev_hash, hash) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(entry.seq)
                    .bind(entry.at_ms)
                    .bind(entry.actor)
                    .bind(&entry.action)
                    .bind(&entry.target)
                    .bind(&entry.source)
                    .bind(&entry.before)
                    .bind(&entry.after)
                    .bind(entry.prev_hash.to_hex())
                    .bind(entry.hash.to_hex())
                    .execute(&mut *tx)
                    .await;
                    match ins.map_err(StoreError::from) {
                        Ok(_) => {}
                        Err(StoreError::Conflict(_)) => continue,
                        Err(other) => return Err(other),
                    }
                    match tx.commit().await.map_err(StoreError::from) {
                        Ok(()) => return Ok(entry),
                        Err(StoreError::Conflict(_)) => continue,
                        Err(other) => return Err(other),
                    }
                }
                Err(StoreError::Conflict("audit append lost 8 races in a row".into()))
            }

            async fn audit_chain(&self, after_seq: i64, limit: i64) -> Result<Vec<crate::audit::AuditEntry>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {AUDIT_COLS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
                )))
                .bind(after_seq)
                .bind(limit.clamp(1, 100_000))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::audit_from_row).collect()
            }

            async fn list_audit(&self, f: &crate::audit::AuditFilter) -> Result<Vec<crate::audit::AuditEntry>> {
                let mut qb = QueryBuilder::<$db>::new(format!("SELECT {AUDIT_COLS} FROM audit_log WHERE 1 = 1"));
                if let Some(a) = f.actor {
                    qb.push(" AND actor = ").push_bind(a.0);
                }
                if let Some(a) = f.action {
                    qb.push(" AND action = ").push_bind(a.as_str());
                }
                if let Some(t) = &f.target {
                    qb.push(" AND target = ").push_bind(t.clone());
                }
                if let Some(s) = f.since {
                    qb.push(" AND at >= ").push_bind(s.as_millis());
                }
                if let Some(u) = f.until {
                    qb.push(" AND at < ").push_bind(u.as_millis());
                }
                let limit = if f.limit <= 0 { 100 } else { f.limit.min(10_000) };
                qb.push(" ORDER BY seq DESC LIMIT ").push_bind(limit);
                let rows = qb.build().fetch_all(&self.pool).await?;
                rows.iter().map(Self::audit_from_row).collect()
            }

            async fn add_audit_checkpoint(&self, c: &crate::audit::Checkpoint) -> Result<()> {
                sqlx::query(
                    "INSERT INTO audit_checkpoints (hour_start, first_seq, last_seq, root, signature) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(c.hour_start_ms)
                .bind(c.first_seq)
                .bind(c.last_seq)
                .bind(c.root.to_hex())
                .bind(crate::audit::sig_hex(c))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn audit_checkpoints(&self) -> Result<Vec<crate::audit::Checkpoint>> {
                let rows = sqlx::query(
                    "SELECT hour_start, first_seq, last_seq, root, signature FROM audit_checkpoints ORDER BY hour_start",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(crate::audit::Checkpoint {
                            hour_start_ms: r.try_get("hour_start")?,
                            first_seq: r.try_get("first_seq")?,
                            last_seq: r.try_get("last_seq")?,
                            root: crate::audit::digest_or_bad(&r.try_get::<String, _>("root")?),
                            signature: crate::audit::unhex(&r.try_get::<String, _>("signature")?)?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_audit;
