//! The demo operator: a small SQLite database of subscribers and recharges
//! (`config/demo/operator.sql`) and the web service the demo IVR flow asks
//! for PUK codes, balances and segments (R3, R4; JSON shapes in
//! `config/demo/README.md`). It stands in for the mobile operator's systems;
//! a real deployment points the flow's `services.operator` at those.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;
use std::path::Path;

/// Create (or refresh) the demo operator database from its SQL script.
///
/// # Errors
/// The script cannot be read or run.
pub async fn create_db(db: &Path, script: &Path) -> Result<(), String> {
    let sql = std::fs::read_to_string(script).map_err(|e| format!("{}: {e}", script.display()))?;
    if let Some(p) = db.parent() {
        std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let pool = SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(db)
            .create_if_missing(true),
    )
    .await
    .map_err(|e| format!("{}: {e}", db.display()))?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&pool)
        .await
        .map_err(|e| format!("{}: {e}", script.display()))?;
    pool.close().await;
    Ok(())
}

/// The demo operator's HTTP service over the database at `db`.
///
/// # Errors
/// The database cannot be opened.
pub async fn router(db: &Path) -> Result<Router, sqlx::Error> {
    let pool =
        SqlitePool::connect_with(SqliteConnectOptions::new().filename(db).read_only(true)).await?;
    Ok(Router::new()
        .route("/puk", post(puk))
        .route("/balance", get(balance))
        .route("/customer", get(customer))
        .with_state(pool))
}

#[derive(Deserialize)]
struct PukRequest {
    msisdn: String,
    id_last4: String,
}

#[derive(Deserialize)]
struct Msisdn {
    msisdn: String,
}

type Answer = Result<Json<Value>, StatusCode>;

fn internal(e: sqlx::Error) -> StatusCode {
    tracing::warn!(error = %e, "demo operator database");
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn puk(State(db): State<SqlitePool>, Json(r): Json<PukRequest>) -> Answer {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT puk FROM subscribers WHERE msisdn = ?1 AND id_last4 = ?2")
            .bind(&r.msisdn)
            .bind(&r.id_last4)
            .fetch_optional(&db)
            .await
            .map_err(internal)?;
    Ok(Json(match row {
        Some((puk,)) => json!({"match": true, "puk": puk}),
        None => json!({"match": false}),
    }))
}

async fn balance(State(db): State<SqlitePool>, Query(q): Query<Msisdn>) -> Answer {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT balance_xof FROM subscribers WHERE msisdn = ?1")
            .bind(&q.msisdn)
            .fetch_optional(&db)
            .await
            .map_err(internal)?;
    row.map(|(b,)| Json(json!({"balance": b, "currency": "XOF"})))
        .ok_or(StatusCode::NOT_FOUND)
}

async fn customer(State(db): State<SqlitePool>, Query(q): Query<Msisdn>) -> Answer {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT segment, name FROM subscribers WHERE msisdn = ?1")
            .bind(&q.msisdn)
            .fetch_optional(&db)
            .await
            .map_err(internal)?;
    row.map(|(segment, name)| Json(json!({"segment": segment, "name": name})))
        .ok_or(StatusCode::NOT_FOUND)
}
