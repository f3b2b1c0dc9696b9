//! The main job end to end with real SIP peers (Debian `sip-tester`, sipp):
//! a trunk call enters a queue or an IVR flow, the ACD rings a registered
//! agent phone while the agent's desktop gets the screen-pop over the
//! WebSocket, the agent answers, the call is recorded, the caller hangs up,
//! the agent posts a disposition, and a survey waits in the outbox.

mod common;

use futures_util::StreamExt;
use serde_json::{Value, json};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const TRUNK_IP: &str = "127.0.0.2";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sipp_dir() -> PathBuf {
    repo().join("crates/voice/tests/sipp")
}

/// A free UDP port block of `n` on `ip`.
fn free_ports(ip: &str, n: u16) -> u16 {
    for _ in 0..200 {
        let Ok(s) = UdpSocket::bind((ip, 0)) else {
            continue;
        };
        let base = s.local_addr().unwrap().port();
        drop(s);
        if base > 65000 {
            continue;
        }
        let all: Vec<_> = (0..n).map(|i| UdpSocket::bind((ip, base + i))).collect();
        if all.iter().all(Result::is_ok) {
            return base;
        }
    }
    panic!("no free ports");
}

/// Run sipp (bounded: one call, 20 s) against `target`.
fn sipp(target: SocketAddr, scenario: &str, args: &[&str]) -> tokio::process::Child {
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

async fn exit_code(mut c: tokio::process::Child) -> i32 {
    tokio::time::timeout(WAIT, c.wait())
        .await
        .expect("sipp ended in time")
        .unwrap()
        .code()
        .unwrap_or(-1)
}

struct Platform {
    srv: common::TestServer,
    sip: SocketAddr,
}

/// A server with SIP on loopback: trunk 127.0.0.2, DID 3902 → queue
/// `general`, DID 3905 → the test flow `ivrtest`.
async fn platform() -> Platform {
    platform_with(None, false).await
}

async fn platform_with_general(adjust: fn(&mut store::NewQueue)) -> Platform {
    platform_with(Some(adjust), false).await
}

/// Like [`platform`]; `general` changes queue `general`'s settings in the
/// store before the engine loads its queues.
/// `pg`: the store on a fresh PostgreSQL database instead of SQLite.
async fn platform_with(general: Option<fn(&mut store::NewQueue)>, pg: bool) -> Platform {
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
        common::fresh_pg_database().await
    } else {
        format!("sqlite://{}/switchboard.db", dir.path().display())
    };
    let mut s = common::settings(dir.path(), &url);
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
    let srv = common::TestServer {
        addr,
        dir,
        http: reqwest::Client::new(),
        stop: Some(tx),
        task,
    };
    Platform { srv, sip }
}

fn sip_password(srv: &common::TestServer, login: &str) -> String {
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
async fn register_phone(p: &Platform, login: &str) -> u16 {
    let port = free_ports("127.0.0.1", 1);
    let pw = sip_password(&p.srv, login);
    let code = exit_code(sipp(
        p.sip,
        "register.xml",
        &[
            "-s",
            login,
            "-au",
            login,
            "-ap",
            &pw,
            "-p",
            &port.to_string(),
        ],
    ))
    .await;
    assert_eq!(
        code, 0,
        "the agent phone registers with its digest password"
    );
    port
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn desktop(p: &Platform, token: &str) -> Ws {
    let (ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/ws?token={token}", p.srv.addr))
            .await
            .unwrap();
    ws
}

/// Next JSON message of `type` on the WebSocket, bounded.
async fn next_of(ws: &mut Ws, ty: &str, seen: &mut Vec<String>) -> Value {
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

async fn post(p: &Platform, token: &str, path: &str, body: Value) -> u16 {
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

async fn get(p: &Platform, token: &str, path: &str) -> Value {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunk_call_queued_answered_recorded_dispositioned_and_surveyed() {
    main_scenario(platform().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_call_with_the_store_on_postgresql() {
    main_scenario(platform_with(None, true).await).await;
}

async fn main_scenario(p: Platform) {
    let token = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let mut ws = desktop(&p, &token).await;
    let mut sup_ws = desktop(&p, &sup).await;
    let mut seen = Vec::new();
    assert_eq!(next_of(&mut ws, "hello", &mut seen).await["user"], "amina");

    // Without ACD login the agent gets nothing; with it, they are available.
    let phone = register_phone(&p, "amina").await;
    assert_eq!(
        post(&p, &token, "/api/v1/agent/login", json!({})).await,
        204
    );
    assert_eq!(
        next_of(&mut ws, "agent_state", &mut seen).await["state"],
        "available"
    );
    assert_eq!(
        post(&p, &token, "/api/v1/agent/login", json!({})).await,
        409,
        "already logged in"
    );

    // The agent phone answers and echoes RTP; the caller plays 2 s of tone and hangs up.
    let media = free_ports("127.0.0.1", 4).to_string();
    let agent = sipp(
        p.sip,
        "agent_uas.xml",
        &["-p", &phone.to_string(), "-mp", &media, "-rtp_echo"],
    );
    let cport = free_ports(TRUNK_IP, 1).to_string();
    let cmedia = free_ports(TRUNK_IP, 4).to_string();
    let caller = sipp(
        p.sip,
        "caller_audio.xml",
        &["-s", "3902", "-i", TRUNK_IP, "-p", &cport, "-mp", &cmedia],
    );

    // Screen-pop first, with the caller's record.
    let offer = next_of(&mut ws, "offer", &mut seen).await;
    assert_eq!(offer["v"], 1);
    assert_eq!(offer["channel"], "voice");
    assert_eq!(offer["queue"], "general");
    assert_eq!(offer["screen_pop"]["caller"], "+33612345678");
    assert_eq!(offer["screen_pop"]["customer"]["phones"][0], "+33612345678");
    let id = offer["interaction_id"].as_i64().unwrap();
    let answered = next_of(&mut ws, "answered", &mut seen).await;
    assert_eq!(answered["interaction_id"], id);
    let pos_offer = seen.iter().position(|t| t == "offer").unwrap();
    let pos_answered = seen.iter().position(|t| t == "answered").unwrap();
    assert!(
        pos_offer < pos_answered,
        "the screen-pop comes before the answer: {seen:?}"
    );
    let ended = next_of(&mut ws, "ended", &mut seen).await;
    assert_eq!(ended["interaction_id"], id);
    assert_eq!(
        next_of(&mut ws, "agent_state", &mut seen).await["state"],
        "wrap_up"
    );
    assert_eq!(exit_code(caller).await, 0, "caller scenario completed");
    assert_eq!(exit_code(agent).await, 0, "agent phone got its BYE");

    // Supervisors saw the queue figures move.
    let q = next_of(&mut sup_ws, "queue_stats", &mut Vec::new()).await;
    assert!(q["name"].is_string());

    // Disposition ends wrap-up; the events tell the whole story.
    assert_eq!(
        post(
            &p,
            &token,
            &format!("/api/v1/interactions/{id}/disposition"),
            json!({"code": "nope"})
        )
        .await,
        422
    );
    assert_eq!(
        post(
            &p,
            &token,
            &format!("/api/v1/interactions/{id}/disposition"),
            json!({"code": "resolved", "notes": "PUK given"})
        )
        .await,
        204
    );
    assert_eq!(
        next_of(&mut ws, "agent_state", &mut seen).await["state"],
        "available"
    );
    let me = get(&p, &token, "/api/v1/agent/state").await;
    assert_eq!(me["agent"], 1, "{me}");
    let i = get(&p, &token, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(i["disposition"], "resolved");
    assert_eq!(i["end_reason"], "caller_hangup");
    assert_eq!(i["agent_id"], 1);
    let evs = get(&p, &token, &format!("/api/v1/interactions/{id}/events")).await;
    let kinds: Vec<&str> = evs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"]["type"].as_str().unwrap())
        .collect();
    for k in [
        "interaction_created",
        "queued",
        "offered",
        "answered",
        "recording_started",
        "ended",
        "wrap_up_started",
        "disposition_set",
        "wrap_up_ended",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    // Receive quality of both legs is kept on the interaction.
    let quality: Vec<&Value> = evs
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"]["type"] == "media_quality")
        .collect();
    let mut legs: Vec<&str> = quality
        .iter()
        .map(|e| e["kind"]["leg"].as_str().unwrap())
        .collect();
    legs.sort();
    assert_eq!(legs, vec!["agent", "caller"], "{quality:?}");
    for q in &quality {
        let mos = q["kind"]["mos"].as_f64().unwrap();
        assert!((1.0..=4.5).contains(&mos), "{q}");
    }
    let answered = evs
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"]["type"] == "answered")
        .unwrap();
    let waited = answered["kind"]["waited_ms"].as_i64().unwrap();
    assert!((0..15_000).contains(&waited), "waited {waited} ms");

    // The recording: a stereo WAV, about as long as the talk (caller hangs up ~4 s after answer).
    let rec = p.srv.dir.path().join(format!("recordings/{id}.wav"));
    let mut found = false;
    for _ in 0..100 {
        if get(&p, &token, &format!("/api/v1/interactions/{id}")).await["recording"].is_string() {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "recording linked to the interaction");
    let wav = hound::WavReader::open(&rec).expect("recording file");
    assert_eq!(wav.spec().channels, 2);
    let secs = wav.duration() as f64 / f64::from(wav.spec().sample_rate);
    assert!((2.0..8.0).contains(&secs), "recording lasts {secs} s");

    // The survey waits in the outbox for the caller's number.
    let outbox = get(&p, &sup, "/api/v1/outbox").await;
    let survey = outbox
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["purpose"] == "survey" && m["interaction_id"] == id)
        .expect("survey queued");
    assert_eq!(survey["recipient"], "+33612345678");
    assert_eq!(survey["channel"], "sms");

    p.srv.shutdown().await;
}

/// The last sequence number of the event log (the demo seeds some history).
async fn last_seq(p: &Platform, token: &str) -> i64 {
    let evs = get(p, token, "/api/v1/events?limit=10000").await;
    evs.as_array()
        .and_then(|a| a.last())
        .and_then(|e| e["seq"].as_i64())
        .unwrap_or(0)
}

/// Poll the event log until an event of `kind` newer than `after` exists.
async fn next_event(p: &Platform, token: &str, kind: &str, after: i64) -> Value {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ivr_digits_walk_the_flow_into_the_queue() {
    let p = platform().await;
    let sup = p.srv.login("supervisor").await;
    // caller_dtmf.xml sends RFC 2833 digits 1, 2, # during the prompts
    // (barge-in), then waits; no agent is logged in, so the call waits.
    let cport = free_ports(TRUNK_IP, 1).to_string();
    let cmedia = free_ports(TRUNK_IP, 4).to_string();
    let base = last_seq(&p, &sup).await;
    let _caller = sipp(
        p.sip,
        "caller_dtmf.xml",
        &["-s", "3905", "-i", TRUNK_IP, "-p", &cport, "-mp", &cmedia],
    );
    let queued = next_event(&p, &sup, "queued", base).await;
    let id = queued["interaction_id"].as_i64().unwrap();
    let evs = get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await;
    let steps: Vec<(String, Option<String>)> = evs
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"]["type"] == "ivr_step")
        .map(|e| {
            (
                e["kind"]["node"].as_str().unwrap().to_string(),
                e["kind"]["digits"].as_str().map(String::from),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("first".into(), Some("1".into())),
            ("second".into(), Some("2".into())),
            ("advisor".into(), None)
        ],
        "the IVR path is stored as events"
    );
    let stats = get(&p, &sup, "/api/v1/stats/queues").await;
    let general = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "general")
        .unwrap()
        .clone();
    assert_eq!(general["waiting"], 1);
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_abandons_while_waiting() {
    let p = platform().await;
    let sup = p.srv.login("supervisor").await;
    // No agent: the caller waits with music, then hangs up (BYE 4 s after answer).
    let cport = free_ports(TRUNK_IP, 1).to_string();
    let cmedia = free_ports(TRUNK_IP, 4).to_string();
    let base = last_seq(&p, &sup).await;
    let caller = sipp(
        p.sip,
        "caller_audio.xml",
        &["-s", "3902", "-i", TRUNK_IP, "-p", &cport, "-mp", &cmedia],
    );
    assert_eq!(exit_code(caller).await, 0);
    let ab = next_event(&p, &sup, "abandoned", base).await;
    let waited = ab["kind"]["waited_ms"].as_i64().unwrap();
    assert!(waited > 0);
    assert_eq!(
        ab["kind"]["short"],
        waited < 5_000,
        "short abandon follows the 5 s threshold"
    );
    let id = ab["interaction_id"].as_i64().unwrap();
    let i = get(&p, &sup, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(i["end_reason"], "abandoned");
    assert!(i["answered_at"].is_null());
    let stats = get(&p, &sup, "/api/v1/stats/queues").await;
    let general = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "general")
        .unwrap()
        .clone();
    assert_eq!(
        (
            general["waiting"].as_i64(),
            general["counters"]["abandoned"].as_i64()
        ),
        (Some(0), Some(1))
    );
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_no_answer_moves_the_call_to_the_next_agent() {
    // Ring time-out 4 s. amina logs in first (longest idle: offered first) but
    // nothing answers on her phone's address; koffi's phone answers.
    let p = platform_with_general(|q| q.ring_timeout_s = 4).await;
    let amina = p.srv.login("amina").await;
    let koffi = p.srv.login("koffi").await;
    let sup = p.srv.login("supervisor").await;
    let mut amina_ws = desktop(&p, &amina).await;
    let mut koffi_ws = desktop(&p, &koffi).await;
    let _dead_port = register_phone(&p, "amina").await; // registered, then silent
    let koffi_port = register_phone(&p, "koffi").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        post(&p, &koffi, "/api/v1/agent/login", json!({})).await,
        204
    );

    let media = free_ports("127.0.0.1", 4).to_string();
    let koffi_phone = sipp(
        p.sip,
        "agent_uas.xml",
        &["-p", &koffi_port.to_string(), "-mp", &media, "-rtp_echo"],
    );
    let cport = free_ports(TRUNK_IP, 1).to_string();
    let cmedia = free_ports(TRUNK_IP, 4).to_string();
    let caller = sipp(
        p.sip,
        "caller_audio_wait.xml",
        &["-s", "3902", "-i", TRUNK_IP, "-p", &cport, "-mp", &cmedia],
    );

    // amina's desktop: the offer, then (in either order) the cancel with
    // reason rona and her pause with reason rona.
    let mut msgs: Vec<Value> = Vec::new();
    let mut id = None;
    let (mut cancelled, mut paused) = (false, false);
    while !(cancelled && paused) {
        let msg = tokio::time::timeout(WAIT, amina_ws.next())
            .await
            .expect("a push in time")
            .unwrap()
            .unwrap();
        let tokio_tungstenite::tungstenite::Message::Text(t) = msg else {
            continue;
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        match v["type"].as_str() {
            Some("offer") => id = v["interaction_id"].as_i64(),
            Some("offer_cancelled") => {
                assert_eq!(
                    (v["interaction_id"].as_i64(), v["reason"].as_str()),
                    (id, Some("rona")),
                    "{msgs:?}"
                );
                cancelled = true;
            }
            Some("agent_state") if v["state"] == "paused" => {
                assert_eq!(v["reason"], "rona");
                paused = true;
            }
            _ => {}
        }
        msgs.push(v);
    }
    let id = id.expect("amina was offered the call first");

    let mut kseen = Vec::new();
    let second = next_of(&mut koffi_ws, "offer", &mut kseen).await;
    assert_eq!(
        second["interaction_id"].as_i64(),
        Some(id),
        "the same call, kept in its place"
    );
    next_of(&mut koffi_ws, "answered", &mut kseen).await;
    // koffi ends the call from his desktop: the platform hangs up both sides.
    assert_eq!(
        post(
            &p,
            &koffi,
            &format!("/api/v1/interactions/{id}/hangup"),
            json!({})
        )
        .await,
        204
    );
    assert_eq!(
        exit_code(caller).await,
        0,
        "the caller got the platform's BYE"
    );
    assert_eq!(
        exit_code(koffi_phone).await,
        0,
        "koffi's phone got the platform's BYE"
    );

    let evs = get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await;
    let by_kind = |k: &str| -> Vec<i64> {
        evs.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"]["type"] == k)
            .map(|e| e["agent_id"].as_i64().unwrap_or(0))
            .collect()
    };
    assert_eq!(
        by_kind("offered"),
        vec![1, 2],
        "offered to amina (1), then koffi (2)"
    );
    assert_eq!(by_kind("rona"), vec![1]);
    assert_eq!(by_kind("answered"), vec![2]);
    let i = get(&p, &sup, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(
        (i["agent_id"].as_i64(), i["end_reason"].as_str()),
        (Some(2), Some("agent_hangup"))
    );
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_all_first_answer_wins_and_the_other_phone_stops() {
    let p = platform_with_general(|q| q.strategy = domain::Strategy::RingAll).await;
    let amina = p.srv.login("amina").await;
    let koffi = p.srv.login("koffi").await;
    let sup = p.srv.login("supervisor").await;
    let mut amina_ws = desktop(&p, &amina).await;
    let _silent = register_phone(&p, "amina").await;
    let koffi_port = register_phone(&p, "koffi").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    assert_eq!(
        post(&p, &koffi, "/api/v1/agent/login", json!({})).await,
        204
    );
    let media = free_ports("127.0.0.1", 4).to_string();
    let koffi_phone = sipp(
        p.sip,
        "agent_uas.xml",
        &["-p", &koffi_port.to_string(), "-mp", &media, "-rtp_echo"],
    );
    let cport = free_ports(TRUNK_IP, 1).to_string();
    let cmedia = free_ports(TRUNK_IP, 4).to_string();
    let caller = sipp(
        p.sip,
        "caller_audio.xml",
        &["-s", "3902", "-i", TRUNK_IP, "-p", &cport, "-mp", &cmedia],
    );

    let mut seen = Vec::new();
    let offer = next_of(&mut amina_ws, "offer", &mut seen).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    let cancelled = next_of(&mut amina_ws, "offer_cancelled", &mut seen).await;
    assert_eq!(
        (
            cancelled["interaction_id"].as_i64(),
            cancelled["reason"].as_str()
        ),
        (Some(id), Some("answered_elsewhere"))
    );
    // amina is not left reserved.
    loop {
        let st = next_of(&mut amina_ws, "agent_state", &mut seen).await;
        if st["state"] == "available" {
            break;
        }
        assert_eq!(st["state"], "reserved", "{st}");
    }
    assert_eq!(exit_code(caller).await, 0);
    assert_eq!(exit_code(koffi_phone).await, 0);
    let evs = get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await;
    let offered: Vec<i64> = evs
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"]["type"] == "offered")
        .map(|e| e["agent_id"].as_i64().unwrap())
        .collect();
    assert_eq!(offered.len(), 2, "both phones rang: {offered:?}");
    let answered: Vec<i64> = evs
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"]["type"] == "answered")
        .map(|e| e["agent_id"].as_i64().unwrap())
        .collect();
    assert_eq!(answered, vec![2], "koffi answered");
    let me = get(&p, &amina, "/api/v1/agent/state").await;
    assert_eq!(me["status"], "Available", "{me}");
    p.srv.shutdown().await;
}

/// IVR nodes visited (with digits) of an interaction, from its events.
async fn ivr_path(p: &Platform, token: &str, id: i64) -> Vec<(String, Option<String>)> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_ivr_new_caller_french_advisor_by_voice_joins_the_vip_queue() {
    // R2: a new caller chooses French (1); R4: advisor (9), by voice (4): the
    // segment comes from the operator's web service (+22997000002 is VIP).
    let p = platform().await;
    let sup = p.srv.login("supervisor").await;
    let base = last_seq(&p, &sup).await;
    let cport = free_ports(TRUNK_IP, 1).to_string();
    let cmedia = free_ports(TRUNK_IP, 4).to_string();
    let _caller = sipp(
        p.sip,
        "caller_r4_voice.xml",
        &["-s", "3900", "-i", TRUNK_IP, "-p", &cport, "-mp", &cmedia],
    );
    let queued = next_event(&p, &sup, "queued", base).await;
    let id = queued["interaction_id"].as_i64().unwrap();
    let queues = get(&p, &sup, "/api/v1/queues").await;
    let vip = queues
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "vip")
        .unwrap()["id"]
        .clone();
    assert_eq!(
        (
            queued["kind"]["queue_id"].clone(),
            queued["kind"]["priority"].as_i64()
        ),
        (vip, Some(100))
    );
    let path = ivr_path(&p, &sup, id).await;
    let nodes: Vec<&str> = path.iter().map(|(n, _)| n.as_str()).collect();
    for n in [
        "availability",
        "returning",
        "choose_language",
        "set_fr",
        "main_menu",
        "advisor",
        "voice_segment",
        "voice_hold",
        "voice_queue",
    ] {
        assert!(nodes.contains(&n), "{n} missing from {nodes:?}");
    }
    let digits: Vec<&str> = path.iter().filter_map(|(_, d)| d.as_deref()).collect();
    assert_eq!(digits, vec!["1", "9", "4"], "{path:?}");
    // R2: the language choice is stored on the customer for next time.
    let c = get(&p, &sup, "/api/v1/customers/lookup?phone=%2B22997000002").await;
    assert_eq!(c["language"], "fr", "{c}");
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_ivr_advisor_by_sms_opens_a_conversation_and_writes_first() {
    // R4 option 1: the IVR says an advisor will write, hangs up, opens an SMS
    // conversation for the caller, queues it and sends the first message.
    let p = platform().await;
    let sup = p.srv.login("supervisor").await;
    let base = last_seq(&p, &sup).await;
    let cport = free_ports(TRUNK_IP, 1).to_string();
    let cmedia = free_ports(TRUNK_IP, 4).to_string();
    let caller = sipp(
        p.sip,
        "caller_r4_sms.xml",
        &["-s", "3900", "-i", TRUNK_IP, "-p", &cport, "-mp", &cmedia],
    );
    assert_eq!(
        exit_code(caller).await,
        0,
        "the platform hung up after the confirmation"
    );
    let opened = next_event(&p, &sup, "message_out", base).await;
    let conv = opened["interaction_id"].as_i64().unwrap();
    let i = get(&p, &sup, &format!("/api/v1/interactions/{conv}")).await;
    assert_eq!(
        (i["channel"].as_str(), i["direction"].as_str()),
        (Some("sms"), Some("outbound"))
    );
    assert!(
        i["queue_id"].is_number(),
        "the conversation is queued for an agent: {i}"
    );
    let outbox = get(&p, &sup, "/api/v1/outbox").await;
    let first = outbox
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["purpose"] == "ivr_first_message")
        .expect("first message queued")
        .clone();
    assert_eq!(
        (first["recipient"].as_str(), first["channel"].as_str()),
        (Some("+22997000001"), Some("sms"))
    );
    assert!(
        first["body"].as_str().unwrap().starts_with("Bonjour"),
        "{first}"
    );
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_ivr_puk_code_is_looked_up_and_read_back() {
    // R3: +22997000002 chooses English (2), the PUK code (1), confirms the
    // last 4 digits of the ID (4321#): the operator's web service matches and
    // the PUK is read back; then the caller hangs up.
    let p = platform().await;
    let sup = p.srv.login("supervisor").await;
    let base = last_seq(&p, &sup).await;
    let cport = free_ports(TRUNK_IP, 1).to_string();
    let cmedia = free_ports(TRUNK_IP, 4).to_string();
    let caller = sipp(
        p.sip,
        "caller_r3_puk.xml",
        &["-s", "3900", "-i", TRUNK_IP, "-p", &cport, "-mp", &cmedia],
    );
    assert_eq!(exit_code(caller).await, 0);
    let ended = next_event(&p, &sup, "ended", base).await;
    let id = ended["interaction_id"].as_i64().unwrap();
    let path = ivr_path(&p, &sup, id).await;
    let nodes: Vec<&str> = path.iter().map(|(n, _)| n.as_str()).collect();
    for n in [
        "choose_language",
        "main_menu",
        "puk_id",
        "puk_lookup",
        "puk_check",
        "puk_intro",
        "puk_say",
    ] {
        assert!(nodes.contains(&n), "{n} missing from {path:?}");
    }
    assert!(!nodes.contains(&"puk_mismatch"), "{path:?}");
    let id_digits = path
        .iter()
        .find(|(n, _)| n == "puk_id")
        .and_then(|(_, d)| d.clone())
        .unwrap_or_default();
    assert!(id_digits.starts_with("4321"), "{path:?}");
    let i = get(&p, &sup, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(i["end_reason"], "ivr_completed");
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_calls_one_agent_the_second_hears_its_position() {
    let p = platform().await;
    let amina = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let mut ws = desktop(&p, &amina).await;
    let phone = register_phone(&p, "amina").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    let media = free_ports("127.0.0.1", 4).to_string();
    let agent = sipp(
        p.sip,
        "agent_uas.xml",
        &["-p", &phone.to_string(), "-mp", &media, "-rtp_echo"],
    );
    // Call 1 is answered by amina and stays up.
    let c1 = free_ports(TRUNK_IP, 1).to_string();
    let m1 = free_ports(TRUNK_IP, 4).to_string();
    let caller1 = sipp(
        p.sip,
        "caller_audio_wait.xml",
        &["-s", "3902", "-i", TRUNK_IP, "-p", &c1, "-mp", &m1],
    );
    let mut seen = Vec::new();
    let first = next_of(&mut ws, "answered", &mut seen).await["interaction_id"]
        .as_i64()
        .unwrap();
    // Call 2 waits: it is told it is number 1 in the queue, then gives up.
    let base = last_seq(&p, &sup).await;
    let c2 = free_ports(TRUNK_IP, 1).to_string();
    let m2 = free_ports(TRUNK_IP, 4).to_string();
    let caller2 = sipp(
        p.sip,
        "caller_audio.xml",
        &["-s", "3902", "-i", TRUNK_IP, "-p", &c2, "-mp", &m2],
    );
    let announced = next_event(&p, &sup, "announced", base).await;
    assert_eq!(announced["kind"]["position"], 1, "{announced}");
    let second = announced["interaction_id"].as_i64().unwrap();
    assert_ne!(second, first);
    assert_eq!(exit_code(caller2).await, 0);
    let abandoned = next_event(&p, &sup, "abandoned", base).await;
    assert_eq!(abandoned["interaction_id"].as_i64(), Some(second));
    // amina ends call 1 from her desktop.
    assert_eq!(
        post(
            &p,
            &amina,
            &format!("/api/v1/interactions/{first}/hangup"),
            json!({})
        )
        .await,
        204
    );
    assert_eq!(exit_code(caller1).await, 0);
    assert_eq!(exit_code(agent).await, 0);
    p.srv.shutdown().await;
}
