//! Helpers for the tests with real SIP peers: sipp processes, a platform
//! with SIP on loopback (trunk 127.0.0.2), agent phones, desktops on the
//! WebSocket, and event-log polling.

use futures_util::StreamExt;
use serde_json::Value;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(30);
pub const TRUNK_IP: &str = "127.0.0.2";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn sipp_dir() -> PathBuf {
    repo().join("crates/voice/tests/sipp")
}

/// Where the tests' fixed ports come from: below Linux's ephemeral range
/// (32768–60999), so neither the platform's RTP sockets nor any other
/// `bind(0)` can take a port between our check and sipp's bind (CI failed
/// on that race: sipp exit 254, "error binding a socket").
const TEST_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A free UDP port block of `n` on `ip`, from [`TEST_PORTS`]. A cursor shared
/// by the process's tests (started at a pid-derived place, so two test
/// processes rarely meet) hands out each block once; each port is checked
/// by binding it.
pub fn free_ports(ip: &str, n: u16) -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let span = u32::from(TEST_PORTS.end - TEST_PORTS.start);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7919) % span,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..2_000 {
        let at = NEXT.fetch_add(u32::from(n), Ordering::SeqCst) % span;
        if at + u32::from(n) > span {
            continue;
        }
        let base = TEST_PORTS.start + at as u16;
        let all: Vec<_> = (0..n).map(|i| UdpSocket::bind((ip, base + i))).collect();
        if all.iter().all(Result::is_ok) {
            return base;
        }
    }
    panic!("no free ports");
}

/// Run sipp (bounded: one call, 20 s) against `target`.
pub fn sipp(target: SocketAddr, scenario: &str, args: &[&str]) -> tokio::process::Child {
    // Scenarios of the engine's own tests first, then the voice crate's.
    let own = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(scenario);
    let file = if own.exists() {
        own
    } else {
        sipp_dir().join(scenario)
    };
    tokio::process::Command::new("sipp")
        .arg(target.to_string())
        .arg("-sf")
        .arg(file)
        .args(["-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin"])
        .args(args)
        .current_dir(sipp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp must be installed (Debian package sip-tester)")
}

pub async fn exit_code(mut c: tokio::process::Child) -> i32 {
    tokio::time::timeout(WAIT, c.wait())
        .await
        .expect("sipp ended in time")
        .unwrap()
        .code()
        .unwrap_or(-1)
}

pub struct Platform {
    pub srv: super::TestServer,
    pub sip: SocketAddr,
    /// What it was started with (for [`restart`]).
    pub settings: switchboard::settings::Settings,
}

/// Stop the server and start it again on the same data and database (SIP
/// on a new port): what a restart of `serve` keeps, the test can check.
pub async fn restart(p: Platform) -> Platform {
    let Platform { srv, settings, .. } = p;
    let super::TestServer {
        dir, stop, task, ..
    } = srv;
    if let Some(s) = stop {
        let _ = s.send(());
    }
    task.await.unwrap();
    let state = switchboard::server::prepare(&settings).await.unwrap();
    let sip = state.sip_addr.expect("SIP is on");
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
    let srv = super::TestServer {
        addr,
        dir,
        http: reqwest::Client::new(),
        stop: Some(tx),
        task,
    };
    Platform { srv, sip, settings }
}

/// A server with SIP on loopback: trunk 127.0.0.2, DID 3902 → queue
/// `general`, DID 3905 → the test flow `ivrtest`.
pub async fn platform() -> Platform {
    platform_with(None, false).await
}

pub async fn platform_with_general(adjust: fn(&mut store::NewQueue)) -> Platform {
    platform_with(Some(adjust), false).await
}

/// Like [`platform`]; `general` changes queue `general`'s settings in the
/// store before the engine loads its queues.
/// `pg`: the store on a fresh PostgreSQL database instead of SQLite.
pub async fn platform_with(general: Option<fn(&mut store::NewQueue)>, pg: bool) -> Platform {
    platform_full(general, pg, |_| {}).await
}

/// Like [`platform_with`]; `adjust` changes the settings last (e.g. an
/// outbound trunk).
pub async fn platform_full(
    general: Option<fn(&mut store::NewQueue)>,
    pg: bool,
    adjust: impl FnOnce(&mut switchboard::settings::Settings),
) -> Platform {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    std::fs::write(
        flows.join("ivrtest.yaml"),
        r#"
name: ivrtest
languages: [fr, en]
start: first
nodes:
  first:
    type: menu
    prompts: welcome
    options: { "1": second }
    on_failure: bye
  second:
    type: menu
    prompts: main_menu
    options: { "2": advisor }
    on_failure: bye
  advisor:
    type: queue
    queue: general
  bye:
    type: hangup
"#,
    )
    .unwrap();
    // The demo flow `main`, open around the clock (the real one keeps office
    // hours), asking a demo operator service started for this test.
    let operator_db = dir.path().join("operator.db");
    switchboard::demo_operator::create_db(&operator_db, &repo().join("config/demo/operator.sql"))
        .await
        .unwrap();
    let operator = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let operator_url = format!("http://{}", operator.local_addr().unwrap());
    let app = switchboard::demo_operator::router(&operator_db)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(operator, app).await;
    });
    let main = std::fs::read_to_string(repo().join("config/demo/flows/main.yaml")).unwrap();
    let main = main
        .replace("mon-fri: \"07:00-21:00\"", "mon-sun: \"00:00-24:00\"")
        .replace("      sat: \"08:00-18:00\"\n", "")
        .replace(
            "holidays: [2026-08-01, 2026-12-25, 2027-01-01]",
            "holidays: []",
        )
        .replace("http://127.0.0.1:8089", &operator_url);
    assert!(
        main.contains("mon-sun") && main.contains(&operator_url),
        "demo flow shape changed"
    );
    std::fs::write(flows.join("main.yaml"), main).unwrap();
    let url = if pg {
        super::fresh_pg_database().await
    } else {
        format!("sqlite://{}/switchboard.db", dir.path().display())
    };
    let mut s = super::settings(dir.path(), &url);
    s.sip.enabled = true;
    s.sip.listen = "127.0.0.1:0".into();
    s.sip.qualify_interval_s = 0;
    s.sip.trunks[0].allowed_ips = vec![TRUNK_IP.into()];
    s.sip.trunks[0].dids.insert("3905".into(), "ivrtest".into());
    s.engine
        .entry_points
        .insert("ivrtest".into(), "flow:ivrtest".into());
    s.engine.flows_dir = flows;
    s.engine.prompts_dir = repo().join("assets/prompts");
    s.engine.music_on_hold = repo().join("assets/moh/default.wav").display().to_string();
    adjust(&mut s);
    if let Some(adjust) = general {
        let mut seed = s.clone();
        seed.sip.enabled = false;
        let st = switchboard::server::prepare(&seed).await.unwrap();
        let general = st
            .store
            .list_queues()
            .await
            .unwrap()
            .into_iter()
            .find(|q| q.name == "general")
            .unwrap();
        let mut q = store::NewQueue {
            name: general.name,
            required_skills: general.required_skills,
            strategy: general.strategy,
            service_level: general.service_level,
            wrap_up_s: general.wrap_up_s,
            max_wait_s: general.max_wait_s,
            ring_timeout_s: general.ring_timeout_s,
            priority: general.priority,
        };
        adjust(&mut q);
        st.store.update_queue(general.id, &q).await.unwrap();
        st.store.close().await;
    }
    let settings = s.clone();
    let state = switchboard::server::prepare(&s).await.unwrap();
    let sip = state.sip_addr.expect("SIP is on");
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
    let srv = super::TestServer {
        addr,
        dir,
        http: reqwest::Client::new(),
        stop: Some(tx),
        task,
    };
    Platform { srv, sip, settings }
}

pub fn sip_password(srv: &super::TestServer, login: &str) -> String {
    std::fs::read_to_string(srv.dir.path().join("demo-credentials.txt"))
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[0] == "sip-phone" && f[1] == login).then(|| f[2].to_string())
        })
        .unwrap()
}

/// Register the agent's phone (digest auth) from a fresh port; returns the port.
pub async fn register_phone(p: &Platform, login: &str) -> u16 {
    let (code, port) = register_with(p, login, &sip_password(&p.srv, login)).await;
    assert_eq!(
        code, 0,
        "the agent phone registers with its digest password"
    );
    port
}

/// A REGISTER of `login`'s phone with digest password `pw` from a fresh
/// port: sipp's exit code (0: registered) and the port.
pub async fn register_with(p: &Platform, login: &str, pw: &str) -> (i32, u16) {
    let port = free_ports("127.0.0.1", 1);
    let code = exit_code(sipp(
        p.sip,
        "register.xml",
        &[
            "-s",
            login,
            "-au",
            login,
            "-ap",
            pw,
            "-p",
            &port.to_string(),
        ],
    ))
    .await;
    (code, port)
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn desktop(p: &Platform, token: &str) -> Ws {
    let (ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/ws?token={token}", p.srv.addr))
            .await
            .unwrap();
    ws
}

/// Next JSON message of `type` on the WebSocket, bounded.
pub async fn next_of(ws: &mut Ws, ty: &str, seen: &mut Vec<String>) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a push in time")
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            let got = v["type"].as_str().unwrap_or_default().to_string();
            seen.push(got.clone());
            if got == ty {
                return v;
            }
        }
    }
}

pub async fn post(p: &Platform, token: &str, path: &str, body: Value) -> u16 {
    p.srv
        .http
        .post(p.srv.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The agent hangs up their call from the desktop; the HTTP status.
pub async fn hang_up(p: &Platform, token: &str, id: i64) -> u16 {
    post(
        p,
        token,
        &format!("/api/v1/interactions/{id}/hangup"),
        serde_json::json!({}),
    )
    .await
}

/// One queue's live figures (`GET /api/v1/stats/queues`).
pub async fn queue_figures(p: &Platform, token: &str, name: &str) -> Value {
    get(p, token, "/api/v1/stats/queues")
        .await
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["name"] == name).cloned())
        .unwrap_or_else(|| panic!("no queue {name}"))
}

pub async fn get(p: &Platform, token: &str, path: &str) -> Value {
    p.srv
        .http
        .get(p.srv.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The last sequence number of the event log (the demo seeds some history).
pub async fn last_seq(p: &Platform, token: &str) -> i64 {
    let evs = get(p, token, "/api/v1/events?limit=10000").await;
    evs.as_array()
        .and_then(|a| a.last())
        .and_then(|e| e["seq"].as_i64())
        .unwrap_or(0)
}

/// Poll the event log until an event of `kind` newer than `after` exists.
pub async fn next_event(p: &Platform, token: &str, kind: &str, after: i64) -> Value {
    for _ in 0..300 {
        let evs = get(
            p,
            token,
            &format!("/api/v1/events?kind={kind}&after_seq={after}"),
        )
        .await;
        if let Some(e) = evs.as_array().and_then(|a| a.first()) {
            return e.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {kind} event in 30 s");
}

/// Poll the outbox until a message matching `wanted` is there (the
/// `message_out` event and the outbox row are separate writes).
pub async fn outbox_message(p: &Platform, token: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..300 {
        let outbox = get(p, token, "/api/v1/outbox").await;
        if let Some(m) = outbox.as_array().and_then(|a| a.iter().find(|m| wanted(m))) {
            return m.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no such outbox message in 30 s");
}

/// IVR nodes visited (with digits) of an interaction, from its events.
pub async fn ivr_path(p: &Platform, token: &str, id: i64) -> Vec<(String, Option<String>)> {
    let evs = get(p, token, &format!("/api/v1/interactions/{id}/events")).await;
    evs.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"]["type"] == "ivr_step")
        .map(|e| {
            (
                e["kind"]["node"].as_str().unwrap().to_string(),
                e["kind"]["digits"].as_str().map(String::from),
            )
        })
        .collect()
}

/// A customer calling `did` through the trunk (from 127.0.0.2) with a sipp
/// scenario.
pub fn trunk_call(p: &Platform, scenario: &str, did: &str) -> tokio::process::Child {
    let port = free_ports(TRUNK_IP, 1).to_string();
    let media = free_ports(TRUNK_IP, 4).to_string();
    sipp(
        p.sip,
        scenario,
        &["-s", did, "-i", TRUNK_IP, "-p", &port, "-mp", &media],
    )
}

/// An agent phone registered on `port` that answers one call and echoes its
/// audio (`agent_uas.xml`).
pub fn answering_phone(p: &Platform, port: u16) -> tokio::process::Child {
    let media = free_ports("127.0.0.1", 4).to_string();
    sipp(
        p.sip,
        "agent_uas.xml",
        &["-p", &port.to_string(), "-mp", &media, "-rtp_echo"],
    )
}
