//! The production backend: PostgreSQL.

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

/// [`crate::Store`] on PostgreSQL.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connect to `postgres://...` and apply migrations.
    ///
    /// # Errors
    /// Connection or migration errors.
    pub async fn open(url: &str) -> crate::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait::async_trait]
impl crate::Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> crate::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

impl PgStore {
    /// Begin a transaction (row locks are taken by the statements).
    async fn begin_write(
        pool: &PgPool,
    ) -> crate::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(pool.begin().await?)
    }

    /// Run one multi-row event INSERT and read back its sequence numbers
    /// (`RETURNING`; values are handed out in VALUES order, the returned row
    /// order is not promised, so they are sorted).
    async fn insert_event_rows(
        conn: &mut sqlx::PgConnection,
        mut qb: sqlx::QueryBuilder<sqlx::Postgres>,
        _n: usize,
    ) -> crate::Result<Vec<i64>> {
        qb.push(" RETURNING seq");
        let mut seqs: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *conn).await?;
        seqs.sort_unstable();
        Ok(seqs)
    }
}

crate::common::impl_common!(PgStore, sqlx::Postgres);
