//! The embedded default: one SQLite file in WAL mode.

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

/// [`crate::Store`] on an embedded SQLite database.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Open (creating if missing) `sqlite://PATH`, switch to WAL, enforce
    /// foreign keys, and apply migrations. The parent directory is created.
    ///
    /// # Errors
    /// I/O, connection or migration errors.
    pub async fn open(url: &str) -> crate::Result<Self> {
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                crate::StoreError::Invalid(format!("cannot create {parent:?}: {e}"))
            })?;
        }
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait::async_trait]
impl crate::Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> crate::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        // Fold the WAL back into the main file so a copy of the .db alone is whole.
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint at close failed");
        }
        self.pool.close().await;
    }
}

impl SqliteStore {
    /// Begin a transaction holding the write lock from its first statement
    /// (`BEGIN IMMEDIATE`): no read-to-write upgrade that could fail with
    /// `SQLITE_BUSY` at once; a locked file is waited for (busy time-out).
    async fn begin_write(
        pool: &SqlitePool,
    ) -> crate::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Run one multi-row event INSERT; its `n` rows got consecutive sequence
    /// numbers ending at `last_insert_rowid` (one statement, under the
    /// database's single write lock, AUTOINCREMENT). Cheaper than streaming
    /// `RETURNING` rows back through the driver.
    async fn insert_event_rows(
        conn: &mut sqlx::SqliteConnection,
        mut qb: sqlx::QueryBuilder<sqlx::Sqlite>,
        n: usize,
    ) -> crate::Result<Vec<i64>> {
        let last = qb.build().execute(&mut *conn).await?.last_insert_rowid();
        let n = n as i64;
        Ok((last - n + 1..=last).collect())
    }
}

crate::common::impl_common!(SqliteStore, sqlx::Sqlite);
