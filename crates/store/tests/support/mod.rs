//! Shared by the store's test suites: a fresh PostgreSQL database per test.

use sqlx::Connection;

/// A database created on the server named by `SWITCHBOARD_TEST_PG` (which
/// `scripts/test` sets), dropped by [`FreshPg::drop_db`].
pub struct FreshPg {
    /// URL of the new database.
    pub url: String,
    name: String,
    admin: sqlx::PgConnection,
}

impl FreshPg {
    /// Creates `{prefix}_{pid}_{nanos}`; panics with the reason when the
    /// variable is unset or does not end with `/DBNAME`.
    pub async fn create(prefix: &str) -> FreshPg {
        let base = std::env::var("SWITCHBOARD_TEST_PG").expect(
            "SWITCHBOARD_TEST_PG is not set: point it at a PostgreSQL server (scripts/test does this)",
        );
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = match base.rfind('/') {
            Some(i) if base[..i].contains("//") => format!("{}/{name}", &base[..i]),
            _ => panic!("SWITCHBOARD_TEST_PG must end with /DBNAME"),
        };
        FreshPg { url, name, admin }
    }

    /// Drops the database (every pool on it must be closed first).
    pub async fn drop_db(mut self) {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {}", self.name)))
            .execute(&mut self.admin)
            .await
            .unwrap();
    }
}
