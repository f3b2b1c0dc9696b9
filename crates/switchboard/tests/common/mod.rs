//! Shared helpers for the server's integration tests.
#![allow(dead_code)]

use sqlx::Connection;
use std::net::SocketAddr;
use switchboard::settings::Settings;

/// Settings for a test: data in `dir`, the given database URL.
pub fn settings(dir: &std::path::Path, db_url: &str) -> Settings {
    let mut s = Settings::load(None).expect("defaults load");
    s.data_dir = dir.to_path_buf();
    s.database.url = db_url.to_string();
    s.http.listen = "127.0.0.1:0".into();
    s.http.max_body_bytes = 64 * 1024;
    // The API tests run without SIP; tests/calls.rs turns it on.
    s.sip.enabled = false;
    s.engine.demo_operator_listen = String::new();
    // Digital conversations go to agents at once unless a test turns the
    // chatbot on (tests/messaging/bot.rs).
    s.bot.enabled = false;
    s
}

/// A server running in this process on an ephemeral port.
pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Password of a demo account from the credentials file.
    pub fn password(&self, username: &str) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("demo-credentials.txt")).unwrap();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.get(1) == Some(&username)).then(|| f[2].to_string())
            })
            .unwrap_or_else(|| panic!("no demo account {username}"))
    }

    /// Log in and return the bearer token.
    pub async fn login(&self, username: &str) -> String {
        let r = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": self.password(username)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login {username}");
        r.json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.unwrap();
    }
}

/// Start a server on SQLite (`pg: false`) or on a fresh PostgreSQL database.
pub async fn start(pg: bool) -> TestServer {
    start_with(pg, |_| {}).await
}

/// [`start`] with a chance to change the settings first.
pub async fn start_with(pg: bool, adjust: impl FnOnce(&mut Settings)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let url = if pg {
        fresh_pg_database().await
    } else {
        format!("sqlite://{}/switchboard.db", dir.path().display())
    };
    let mut settings = settings(dir.path(), &url);
    adjust(&mut settings);
    let state = switchboard::server::prepare(&settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        switchboard::server::run(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestServer {
        addr,
        dir,
        http: reqwest::Client::new(),
        stop: Some(tx),
        task,
    }
}

/// Create an empty PostgreSQL database on the server named by
/// `SWITCHBOARD_TEST_PG` and return its URL.
pub async fn fresh_pg_database() -> String {
    let base = std::env::var("SWITCHBOARD_TEST_PG").expect(
        "SWITCHBOARD_TEST_PG is not set: point it at a PostgreSQL server (scripts/test does this)",
    );
    let name = format!(
        "sbapi_{}_{}",
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
    let i = base
        .rfind('/')
        .expect("SWITCHBOARD_TEST_PG must end with /DBNAME");
    format!("{}/{name}", &base[..i])
}

pub mod sip;
pub mod smtp;

pub mod history;
pub mod pg;
pub mod serve;
