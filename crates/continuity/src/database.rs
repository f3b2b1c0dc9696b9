//! Consistent database copies: SQLite by `VACUUM INTO` on a live database
//! (a transaction-consistent snapshot, readers and writers keep going), and
//! PostgreSQL by `pg_dump --format=custom` / `pg_restore`, both run as child
//! processes with the password passed in `PGPASSWORD`, never on the command line.

use crate::{Error, Result};
use sqlx::Connection;
use std::path::{Path, PathBuf};

/// Where the platform's database is.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseSource {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://user:password@host:port/db`).
    Postgres(String),
}

impl std::fmt::Debug for DatabaseSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseSource::Sqlite(p) => write!(f, "Sqlite({})", p.display()),
            DatabaseSource::Postgres(u) => write!(f, "Postgres({})", split_password(u).0),
        }
    }
}

impl DatabaseSource {
    /// From the platform's database URL (`sqlite://PATH` or `postgres://...`).
    ///
    /// # Errors
    /// [`Error::Invalid`] for any other scheme (the URL is not echoed: it may
    /// hold a password).
    pub fn from_url(url: &str) -> Result<Self> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or(rest);
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_string()));
        }
        Err(Error::Invalid(
            "database URL must be sqlite://PATH or postgres://...".into(),
        ))
    }
}

/// `url` without its password, and the password (percent-decoded).
pub fn split_password(url: &str) -> (String, Option<String>) {
    let Some(s) = url.find("://") else {
        return (url.to_string(), None);
    };
    let head = &url[..s + 3];
    let rest = &url[s + 3..];
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..auth_end].rfind('@') else {
        return (url.to_string(), None);
    };
    let userinfo = &rest[..at];
    let Some(colon) = userinfo.find(':') else {
        return (url.to_string(), None);
    };
    let user = &userinfo[..colon];
    let password = percent_decode(&userinfo[colon + 1..]);
    (format!("{head}{user}{}", &rest[at..]), Some(password))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Write a consistent copy of the database to `out` (which must not exist).
///
/// # Errors
/// [`Error::Database`] when the copy fails (with the tool's message).
pub async fn dump(source: &DatabaseSource, out: &Path) -> Result<()> {
    match source {
        DatabaseSource::Sqlite(path) => {
            if !path.exists() {
                return Err(Error::Database(format!(
                    "no SQLite database at {}",
                    path.display()
                )));
            }
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .busy_timeout(std::time::Duration::from_secs(30));
            let mut conn = sqlx::SqliteConnection::connect_with(&opts)
                .await
                .map_err(|e| Error::Database(format!("opening {}: {e}", path.display())))?;
            let target = out.to_string_lossy().into_owned();
            sqlx::query("VACUUM INTO ?")
                .bind(target)
                .execute(&mut conn)
                .await
                .map_err(|e| Error::Database(format!("VACUUM INTO: {e}")))?;
            conn.close().await.ok();
            Ok(())
        }
        DatabaseSource::Postgres(url) => {
            let (safe, password) = split_password(url);
            let mut cmd = tokio::process::Command::new("pg_dump");
            cmd.arg("--format=custom")
                .arg("--no-owner")
                .arg("--no-privileges")
                .arg("--file")
                .arg(out)
                .arg("--dbname")
                .arg(&safe);
            run_pg(cmd, password, "pg_dump").await
        }
    }
}

async fn run_pg(
    mut cmd: tokio::process::Command,
    password: Option<String>,
    tool: &str,
) -> Result<()> {
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.stdin(std::process::Stdio::null());
    let out = cmd
        .output()
        .await
        .map_err(|e| Error::Database(format!("cannot run {tool}: {e}")))?;
    if !out.status.success() {
        return Err(Error::Database(format!(
            "{tool} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Load a `pg_dump` archive into the database at `url`, which must be empty
/// (no table in schema `public`), in one transaction.
///
/// # Errors
/// [`Error::NotEmpty`] when the target has tables; [`Error::Database`] when
/// `pg_restore` fails.
pub async fn pg_restore(url: &str, archive: &Path) -> Result<()> {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| Error::Database(format!("connecting to the target: {e}")))?;
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| Error::Database(e.to_string()))?;
    conn.close().await.ok();
    if tables > 0 {
        return Err(Error::NotEmpty(format!(
            "database {} has {tables} tables",
            split_password(url).0
        )));
    }
    let (safe, password) = split_password(url);
    let mut cmd = tokio::process::Command::new("pg_restore");
    cmd.arg("--no-owner")
        .arg("--no-privileges")
        .arg("--exit-on-error")
        .arg("--single-transaction")
        .arg("--dbname")
        .arg(&safe)
        .arg(archive);
    run_pg(cmd, password, "pg_restore").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_the_url() {
        let (u, p) = split_password("postgres://postgres:s%40cret@127.0.0.1:5432/db?x=1");
        assert_eq!(u, "postgres://postgres@127.0.0.1:5432/db?x=1");
        assert_eq!(p.as_deref(), Some("s@cret"));
        let (u, p) = split_password("postgres://me@h/db");
        assert_eq!((u.as_str(), p), ("postgres://me@h/db", None));
        let d = DatabaseSource::from_url("postgres://a:zzz@h/db").unwrap();
        assert!(!format!("{d:?}").contains("zzz"));
        assert_eq!(
            DatabaseSource::from_url("sqlite://data/switchboard.db").unwrap(),
            DatabaseSource::Sqlite("data/switchboard.db".into())
        );
        assert!(DatabaseSource::from_url("mysql://x").is_err());
    }
}
