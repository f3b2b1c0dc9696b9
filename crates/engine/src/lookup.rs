//! Executors of the IVR's self-service lookups (SPEC §1.3 R3, §5.4): a web
//! service (HTTP/JSON) or a parameterised SQL query on a named database. The
//! IVR core only describes the lookup; this is the I/O.

use ivr::io::{LookupError, LookupKind};
use serde_json::{Map, Value};
use sqlx::sqlite::SqlitePool;
use sqlx::{Column, Row};
use std::collections::HashMap;
use std::time::Duration;

/// Runs lookups. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct LookupRunner {
    http: reqwest::Client,
    dbs: HashMap<String, SqlitePool>,
}

impl LookupRunner {
    /// Open the named databases (`sqlite://PATH`, read-only).
    ///
    /// # Errors
    /// A database that cannot be opened.
    pub async fn new(sql: &HashMap<String, String>) -> Result<Self, sqlx::Error> {
        let mut dbs = HashMap::new();
        for (name, url) in sql {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .read_only(true);
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts)
                .await?;
            dbs.insert(name.clone(), pool);
        }
        Ok(Self {
            http: reqwest::Client::new(),
            dbs,
        })
    }

    /// Run one lookup. The answer is a JSON object; for SQL
    /// `{"rows": [{column: value}...], "row_count": n}`.
    ///
    /// # Errors
    /// [`LookupError`]: time-out, HTTP status, unreachable service or
    /// database, an answer that is not a JSON object.
    pub async fn run(&self, kind: LookupKind) -> Result<Map<String, Value>, LookupError> {
        match kind {
            LookupKind::Http {
                method,
                url,
                body,
                timeout_ms,
            } => {
                let t = Duration::from_millis(u64::from(timeout_ms));
                let req = match method.to_ascii_uppercase().as_str() {
                    "POST" => self.http.post(&url).json(&body.unwrap_or(Value::Null)),
                    _ => self.http.get(&url),
                };
                let fut = async {
                    let resp = req.timeout(t).send().await.map_err(|e| {
                        if e.is_timeout() {
                            LookupError::Timeout
                        } else {
                            LookupError::Unavailable(e.to_string())
                        }
                    })?;
                    if !resp.status().is_success() {
                        return Err(LookupError::Status(resp.status().as_u16()));
                    }
                    let bytes = resp
                        .bytes()
                        .await
                        .map_err(|e| LookupError::Unavailable(e.to_string()))?;
                    match serde_json::from_slice::<Value>(&bytes) {
                        Ok(Value::Object(m)) => Ok(m),
                        Ok(_) => Err(LookupError::BadAnswer("not a JSON object".into())),
                        Err(e) => Err(LookupError::BadAnswer(format!("not JSON: {e}"))),
                    }
                };
                tokio::time::timeout(t, fut)
                    .await
                    .unwrap_or(Err(LookupError::Timeout))
            }
            LookupKind::Sql {
                db,
                query,
                params,
                timeout_ms,
            } => {
                let pool = self
                    .dbs
                    .get(&db)
                    .ok_or_else(|| LookupError::Unavailable(format!("no database named {db:?}")))?;
                let t = Duration::from_millis(u64::from(timeout_ms));
                let fut = async {
                    // The flow validator checked the text is one statement with
                    // `?N` placeholders; values are bound, never spliced.
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(query));
                    for p in params {
                        q = q.bind(p);
                    }
                    let rows = q
                        .fetch_all(pool)
                        .await
                        .map_err(|e| LookupError::Unavailable(e.to_string()))?;
                    let rows: Vec<Value> = rows.iter().map(row_to_json).collect();
                    let mut m = Map::new();
                    m.insert("row_count".into(), Value::from(rows.len()));
                    m.insert("rows".into(), Value::Array(rows));
                    Ok(m)
                };
                tokio::time::timeout(t, fut)
                    .await
                    .unwrap_or(Err(LookupError::Timeout))
            }
        }
    }
}

fn row_to_json(r: &sqlx::sqlite::SqliteRow) -> Value {
    let mut m = Map::new();
    for (i, c) in r.columns().iter().enumerate() {
        let v = if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
            v.map(Value::from).unwrap_or(Value::Null)
        } else if let Ok(v) = r.try_get::<Option<f64>, _>(i) {
            v.map(Value::from).unwrap_or(Value::Null)
        } else if let Ok(v) = r.try_get::<Option<String>, _>(i) {
            v.map(Value::from).unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        m.insert(c.name().to_string(), v);
    }
    Value::Object(m)
}
