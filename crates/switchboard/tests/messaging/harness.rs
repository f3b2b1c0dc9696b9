//! Shared pieces: the SMSC simulator, servers without SIP, outbox polling,
//! the visitor's chat socket.

use super::common;
use super::common::sip::*;
use serde_json::Value;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use switchboard::settings::Settings;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// The SMSC simulator, driven over stdin/stdout (see smsc.js).
pub struct Smsc {
    _child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<Value>,
    pub port: u16,
}

impl Smsc {
    pub async fn start() -> Smsc {
        let peers = repo().join("crates/channels/tests/peers");
        assert!(
            peers.join("node_modules/smpp").exists(),
            "SMSC simulator missing: run `npm install --no-audit --no-fund --prefix crates/channels/tests/peers`"
        );
        let mut child = Command::new("node")
            .arg(peers.join("smsc.js"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node must be installed to run the SMSC simulator");
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take().expect("piped stdin");
        let (tx, mut lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut r = BufReader::new(stdout).lines();
            while let Ok(Some(l)) = r.next_line().await {
                if let Ok(v) = serde_json::from_str::<Value>(&l)
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        let first = tokio::time::timeout(WAIT, lines.recv())
            .await
            .expect("simulator did not start")
            .expect("simulator exited");
        assert_eq!(first["event"], "listening");
        let port = u16::try_from(first["port"].as_u64().expect("port")).expect("port range");
        Smsc {
            _child: child,
            stdin,
            lines,
            port,
        }
    }

    pub async fn next(&mut self, name: &str) -> Value {
        loop {
            let v = tokio::time::timeout(WAIT, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("no {name} from the simulator"))
                .expect("simulator exited");
            if v["event"] == name {
                return v;
            }
        }
    }

    pub async fn cmd(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to simulator");
        self.stdin.flush().await.expect("flush");
    }
}

/// The store behind a test server (a second pool on the same SQLite file).
pub async fn store_of(dir: &std::path::Path) -> Arc<dyn store::Store> {
    store::open(&format!("sqlite://{}/switchboard.db", dir.display()))
        .await
        .unwrap()
}

pub async fn outbox_row(p: &Platform, token: &str, id: i64) -> Value {
    let all = get(p, token, "/api/v1/outbox").await;
    all.as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Poll the outbox until row `id` has `status`.
pub async fn wait_status(p: &Platform, token: &str, id: i64, status: &str) -> Value {
    for _ in 0..300 {
        let r = outbox_row(p, token, id).await;
        if r["status"] == status {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "outbox {id} never {status}: {}",
        outbox_row(p, token, id).await
    );
}

/// A server without SIP (no engine), with `tune` applied.
pub async fn server(tune: impl FnOnce(&mut Settings)) -> Platform {
    server_in(tempfile::tempdir().unwrap(), tune).await
}

/// [`server`] on the data folder `dir` (which may hold a database already).
pub async fn server_in(dir: tempfile::TempDir, tune: impl FnOnce(&mut Settings)) -> Platform {
    let url = format!("sqlite://{}/switchboard.db", dir.path().display());
    server_at(dir, &url, tune).await
}

/// [`server_in`] with the store at `url`.
pub async fn server_at(
    dir: tempfile::TempDir,
    url: &str,
    tune: impl FnOnce(&mut Settings),
) -> Platform {
    let mut s = common::settings(dir.path(), url);
    tune(&mut s);
    let settings = s.clone();
    let state = switchboard::server::prepare(&s).await.unwrap();
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
    let srv = common::TestServer {
        addr,
        dir,
        http: reqwest::Client::new(),
        stop: Some(tx),
        task,
    };
    Platform {
        srv,
        sip: "127.0.0.1:9".parse().unwrap(),
        settings,
    }
}

pub type Chat =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn chat(p: &Platform) -> Chat {
    tokio_tungstenite::connect_async(format!("ws://{}/webchat/ws", p.srv.addr))
        .await
        .unwrap()
        .0
}

pub async fn chat_send(ws: &mut Chat, v: Value) {
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        v.to_string().into(),
    ))
    .await
    .unwrap();
}

pub async fn chat_next(ws: &mut Chat, ty: &str) -> Value {
    use futures_util::StreamExt;
    loop {
        let m = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a chat frame in time")
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == ty {
                return v;
            }
        }
    }
}
