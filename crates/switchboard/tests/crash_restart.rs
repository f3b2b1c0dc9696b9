//! Issue 13 acceptance, "crash and restart": `kill -9` of `switchboard
//! serve` while 20 callers are in the IVR and 2 calls are answered by
//! agents (all real SIP peers: sipp), then a restart on the same store.
//!
//! After the restart: every IVR step the callers had made is stored; the
//! answered calls' recordings are linked to their interactions and play
//! (valid WAV, duration close to the talk time up to the kill); every call
//! ends near the kill time (last known activity), not at the restart; each
//! caller and each agent phone gets a BYE from the restarted server (its
//! sipp scenario ends only on it); the agents' phones are still registered
//! (a new call rings one without any new REGISTER).

mod common;

use common::history::*;
use common::serve::{now, serve, sigterm};
use common::sip::{exit_code, free_ports, sipp, sipp_dir};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const IVR_CALLERS: usize = 20;

/// The flow behind DID 3900 for this test: a short prompt, then a menu that
/// waits a minute for a digit (callers stay in the IVR until the kill).
const FLOW: &str = r#"
name: main
languages: [fr, en]
start: intro
nodes:
  intro:
    type: play
    prompts: welcome
    next: choice
  choice:
    type: menu
    prompts: main_menu
    timeout_ms: 60000
    retries: 0
    options: { "2": advisor }
    on_failure: bye
  advisor:
    type: queue
    queue: general
  bye:
    type: hangup
"#;

/// sipp with `scenario` of this crate's tests (bounded by `-timeout`).
fn sipp_run(target: &str, scenario: &str, args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new("sipp")
        .arg(target)
        .arg("-sf")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/sipp")
                .join(scenario),
        )
        .args(["-timeout", "90s", "-timeout_error", "-nostdin"])
        .args(args)
        .current_dir(sipp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp must be installed (Debian package sip-tester)")
}

/// The password of `login` in the demo credentials (`sip`: the SIP one).
fn password(data: &Path, login: &str, sip: bool) -> String {
    std::fs::read_to_string(data.join("demo-credentials.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[1] == login && (f[0] == "sip-phone") == sip)
                .then(|| f[2].to_string())
        })
        .unwrap_or_else(|| panic!("no demo account {login}"))
}

struct Api {
    http: reqwest::Client,
    addr: String,
}

impl Api {
    async fn login(&self, data: &Path, user: &str) -> String {
        let r = self
            .http
            .post(format!("http://{}/api/v1/auth/login", self.addr))
            .json(&json!({"username": user, "password": password(data, user, false)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login {user}");
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn post(&self, token: &str, path: &str) -> u16 {
        self.http
            .post(format!("http://{}{path}", self.addr))
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn get_bytes(&self, token: &str, path: &str) -> (u16, Vec<u8>) {
        let r = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.bytes().await.unwrap().to_vec())
    }
}

/// Register `login`'s phone (digest) from a fresh port; returns the port.
async fn register(sip: &str, data: &Path, login: &str) -> u16 {
    let port = free_ports("127.0.0.1", 1);
    let pw = password(data, login, true);
    let code = exit_code(sipp(
        sip.parse().unwrap(),
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
    assert_eq!(code, 0, "{login}'s phone registers");
    port
}

/// An agent phone on `port` that answers one call, echoes RTP and waits up
/// to 60 s for a BYE.
fn agent_phone(sip: &str, port: u16, scenario: &str) -> tokio::process::Child {
    let media = free_ports("127.0.0.1", 4).to_string();
    let file = sipp_dir().join(scenario);
    let own = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(scenario);
    tokio::process::Command::new("sipp")
        .arg(sip)
        .arg("-sf")
        .arg(if own.exists() { own } else { file })
        .args(["-m", "1", "-timeout", "90s", "-timeout_error", "-nostdin"])
        .args(["-p", &port.to_string(), "-mp", &media, "-rtp_echo"])
        .current_dir(sipp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// `n` callers to `did` from 127.0.0.1 (the demo trunk) that talk until BYE;
/// sipp writes the messages of failed calls to `errors`.
fn callers(sip: &str, did: &str, n: usize, errors: &Path) -> tokio::process::Child {
    let port = free_ports("127.0.0.1", 1).to_string();
    let media = free_ports("127.0.0.1", 4).to_string();
    let n = n.to_string();
    let errors = errors.display().to_string();
    sipp_run(
        sip,
        "caller_talk_until_bye.xml",
        &[
            "-trace_err",
            "-error_file",
            &errors,
            "-s",
            did,
            "-i",
            "127.0.0.1",
            "-p",
            &port,
            "-mp",
            &media,
            "-m",
            &n,
            "-r",
            "20",
            "-l",
            &n,
        ],
    )
}

/// What sipp wrote of its failed calls to `errors` (for a failure message).
fn sipp_errors(errors: &Path) -> String {
    std::fs::read_to_string(errors).unwrap_or_else(|e| format!("({}: {e})", errors.display()))
}

/// Whether every caller of a sipp run got its BYE: exit 0, or exit 1 where
/// the only failures are BYEs that came while the call was between its
/// loop's steps (sipp: "Aborting call on an unexpected BYE", the BYE did
/// arrive). Other lines of the error log are the scenario's normal loop
/// ("jumping to label") and sipp's pcap note.
fn all_got_bye(code: i32, errors: &str) -> bool {
    let events: Vec<&str> = errors
        .split("2026-")
        .chain(std::iter::once(""))
        .filter(|e| e.contains(": "))
        .collect();
    code == 0
        || (code == 1
            && events.iter().any(|e| e.contains("unexpected BYE"))
            && events.iter().all(|e| {
                e.contains("unexpected BYE")
                    || e.contains("jumping to label")
                    || e.contains("prefers looking for pcap files")
            }))
}

/// Wait (bounded) for `child` to exit; its code.
async fn exited(child: tokio::process::Child, what: &str) -> i32 {
    tokio::time::timeout(Duration::from_secs(40), exit_code(child))
        .await
        .unwrap_or_else(|_| panic!("{what}: no exit in 40 s"))
}

/// The WAV's frames (8 kHz) read from `bytes`; panics on a bad header.
#[test]
fn a_bye_between_loop_steps_counts_as_received() {
    let log = "The following events occurred:\n2026-12-05\t00:53:39.7\t1.7: SIPp now prefers looking for pcap files next to the scenario. x\
        2026-12-05\t00:53:41.7\t1.7: Call-Id: 1-1@127.0.0.1, receive timeout on message caller-talk-until-bye:7, jumping to label 6\
        2026-12-05\t00:53:43.7\t1.7: Aborting call on an unexpected BYE for call: 1-1@127.0.0.1";
    assert!(all_got_bye(0, ""));
    assert!(all_got_bye(1, log));
    assert!(!all_got_bye(
        1,
        "2026-12-05\t00:53:41.7\t1.7: Call-Id: 1-1@127.0.0.1, receive timeout on message caller-talk-until-bye:3"
    ));
    assert!(!all_got_bye(1, ""), "a failure with no BYE seen");
    assert!(!all_got_bye(255, log));
}

fn wav_frames(bytes: &[u8]) -> u32 {
    let r = hound::WavReader::new(std::io::Cursor::new(bytes)).expect("a valid WAV header");
    assert_eq!((r.spec().channels, r.spec().sample_rate), (2, 8000));
    let frames = r.duration();
    // The sizes in the header match the bytes there (no torn tail).
    assert_eq!(
        bytes.len() as u64,
        44 + u64::from(frames) * 4,
        "header sizes match the file"
    );
    frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_ivr_and_answered_calls_then_restart() {
    crash_and_restart(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_ivr_and_answered_calls_then_restart_on_postgresql() {
    crash_and_restart(true).await;
}

/// The two variants run one after the other: each kills and restarts a
/// `serve` with 22 sipp calls on the wire, and together on two cores they
/// have missed their timings (sipp callers failing).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn crash_and_restart(pg: bool) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    let flows = d.join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    std::fs::write(flows.join("main.yaml"), FLOW).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::copy(
        repo.join("config/demo/flows/vip-line.yaml"),
        flows.join("vip-line.yaml"),
    )
    .unwrap();
    let url = if pg {
        common::fresh_pg_database().await
    } else {
        format!("sqlite://{}", data.join("switchboard.db").display())
    };
    let mut envs = vec![("SWITCHBOARD_ENGINE__FLOWS_DIR", flows.display().to_string())];
    if pg {
        envs.push(("SWITCHBOARD_DATABASE__URL", url.clone()));
    }
    let sip_port = free_ports("127.0.0.1", 1);
    let sip = format!("127.0.0.1:{sip_port}");
    let (mut a, addr) = serve(d, sip_port, "1.log", &envs);
    let api = Api {
        http: reqwest::Client::new(),
        addr,
    };
    let db = store::open(&url).await.unwrap();
    let from = now();

    // Two agents, phones registered, logged in to the ACD.
    let mut phones = Vec::new();
    for agent in ["amina", "koffi"] {
        let port = register(&sip, &data, agent).await;
        let token = api.login(&data, agent).await;
        assert_eq!(
            api.post(&token, "/api/v1/agent/login").await,
            204,
            "{agent}"
        );
        phones.push((agent, port));
    }
    let agent_phones: Vec<_> = phones
        .iter()
        .map(|(_, port)| agent_phone(&sip, *port, "agent_uas_long.xml"))
        .collect();

    // Two callers to queue `general` (answered, recorded), twenty in the IVR.
    let queue_callers = callers(&sip, "3902", 2, &d.join("queue_errors.log"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let answered = loop {
        let calls = calls_since(&*db, from).await;
        let answered: Vec<_> = calls
            .into_iter()
            .filter(|c| c.answered_at.is_some() && c.recording.is_some())
            .collect();
        if answered.len() == 2 {
            break answered;
        }
        assert!(
            Instant::now() < deadline,
            "two calls answered, their recordings linked at start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ivr_callers = callers(&sip, "3900", IVR_CALLERS, &d.join("ivr_errors.log"));
    // Each IVR caller left `intro` (its step is stored) and waits in the menu.
    let deadline = Instant::now() + Duration::from_secs(60);
    let ivr_calls = loop {
        let calls: Vec<_> = calls_since(&*db, from)
            .await
            .into_iter()
            .filter(|c| c.queue_id.is_none() && c.ended_at.is_none())
            .collect();
        let mut stepped = 0;
        for c in &calls {
            let evs = events_of(&*db, c.id).await;
            stepped += usize::from(evs.iter().any(
                |e| matches!(&e.kind, domain::EventKind::IvrStep { node, .. } if node == "intro"),
            ));
        }
        if calls.len() == IVR_CALLERS && stepped == IVR_CALLERS {
            break calls;
        }
        assert!(
            Instant::now() < deadline,
            "{IVR_CALLERS} callers in the IVR past intro ({} calls, {stepped} stepped)",
            calls.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The recordings hold at least 3 s of talk on disk (header checkpoints).
    let files: Vec<PathBuf> = answered
        .iter()
        .map(|c| PathBuf::from(c.recording.clone().unwrap()))
        .map(|p| if p.is_absolute() { p } else { d.join(p) })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !files.iter().all(|f| {
        std::fs::read(f)
            .ok()
            .and_then(|b| hound::WavReader::new(std::io::Cursor::new(b)).ok())
            .is_some_and(|r| r.duration() >= 3 * 8000)
    }) {
        assert!(Instant::now() < deadline, "recordings grow on disk");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // kill -9.
    let killed_at = now();
    a.kill().unwrap();
    assert!(!a.wait().unwrap().success());
    let mut recorded = Vec::new();
    for (c, f) in answered.iter().zip(&files) {
        let frames = wav_frames(&std::fs::read(f).unwrap());
        let talk_ms = killed_at.millis_since(c.answered_at.unwrap());
        let rec_ms = i64::from(frames) / 8;
        // Up to 2 s (1 s lag + 1 s chunk) and the bridge set-up are not on disk.
        assert!(
            rec_ms <= talk_ms && rec_ms >= talk_ms - 2_600,
            "recording {rec_ms} ms for {talk_ms} ms of talk"
        );
        recorded.push(format!("{rec_ms}/{talk_ms} ms"));
    }

    // Restart on the same store.
    let restart_at = now();
    let (mut b, addr) = serve(d, sip_port, "2.log", &envs);
    let healthy_ms = now().millis_since(restart_at);
    let api = Api {
        http: api.http,
        addr,
    };
    // Every peer gets its BYE: the sipp scenarios end only on it.
    let code = exited(ivr_callers, "IVR callers").await;
    let errors = sipp_errors(&d.join("ivr_errors.log"));
    assert!(
        all_got_bye(code, &errors),
        "the IVR callers got BYE (exit {code}); sipp's errors:\n{errors}\nserve's log:\n{}",
        std::fs::read_to_string(d.join("2.log")).unwrap_or_default()
    );
    let code = exited(queue_callers, "queue callers").await;
    let errors = sipp_errors(&d.join("queue_errors.log"));
    assert!(
        all_got_bye(code, &errors),
        "the answered callers got BYE (exit {code}); sipp's errors:\n{errors}"
    );
    for p in agent_phones {
        assert_eq!(
            exited(p, "agent phone").await,
            0,
            "the agent phones got BYE"
        );
    }

    // The restart sent a BYE to each of the 24 dialogs (20 + 2 callers, 2
    // agent phones).
    let log = std::fs::read_to_string(d.join("2.log")).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("ending the SIP dialogs left by the previous run"))
        .unwrap_or_else(|| panic!("no BYE at start in the log:\n{log}"));
    assert!(
        line.contains(&format!("count={}", IVR_CALLERS + 4)),
        "{line}"
    );

    // Every call was closed by the restart, at its last known activity.
    let calls = calls_since(&*db, from).await;
    assert_eq!(calls.len(), IVR_CALLERS + 2);
    let mut before_kill = Vec::new();
    for c in &calls {
        assert_eq!(c.end_reason.as_deref(), Some("system_restart"), "{c:?}");
        let end = c.ended_at.unwrap();
        assert!(
            end.millis_since(killed_at) <= 0 && killed_at.millis_since(end) <= 3_000,
            "call {} ended {} ms before the kill (restart at +{} ms)",
            c.id.0,
            killed_at.millis_since(end),
            restart_at.millis_since(killed_at)
        );
        before_kill.push(killed_at.millis_since(end));
        let evs = events_of(&*db, c.id).await;
        let ended: Vec<_> = evs.iter().filter(|e| kind(e) == "ended").collect();
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].at, end, "the ended event at the same time");
    }
    // Every IVR step made before the kill is there.
    for c in &ivr_calls {
        let steps: Vec<String> = events_of(&*db, c.id)
            .await
            .into_iter()
            .filter_map(|e| match e.kind {
                domain::EventKind::IvrStep { node, .. } => Some(node),
                _ => None,
            })
            .collect();
        assert_eq!(steps, vec!["intro".to_string()], "call {}", c.id.0);
    }
    // The recordings are linked and play up to the kill.
    let sup = api.login(&data, "supervisor").await;
    for c in &answered {
        let i = db.get_interaction(c.id).await.unwrap().unwrap();
        assert!(i.recording.is_some(), "recording linked after the restart");
        let (status, wav) = api
            .get_bytes(&sup, &format!("/api/v1/interactions/{}/recording", c.id.0))
            .await;
        assert_eq!(status, 200);
        let rec_ms = i64::from(wav_frames(&wav)) / 8;
        let talk_ms = killed_at.millis_since(c.answered_at.unwrap());
        assert!(rec_ms >= talk_ms - 2_600, "plays {rec_ms} of {talk_ms} ms");
    }
    // Nothing left to end at the next start.
    assert!(db.take_sip_dialogs().await.unwrap().is_empty());

    // amina's phone is still registered: after her ACD login, a new call
    // rings it with no new REGISTER.
    let (_, amina_port) = phones[0];
    let amina = api.login(&data, "amina").await;
    assert_eq!(api.post(&amina, "/api/v1/agent/login").await, 204);
    let phone = agent_phone(&sip, amina_port, "agent_uas.xml");
    let port = free_ports("127.0.0.1", 1).to_string();
    let media = free_ports("127.0.0.1", 4).to_string();
    let caller = sipp(
        sip.parse().unwrap(),
        "caller_audio.xml",
        &["-s", "3902", "-i", "127.0.0.1", "-p", &port, "-mp", &media],
    );
    assert_eq!(
        exited(caller, "new caller").await,
        0,
        "the new call was answered"
    );
    assert_eq!(
        exited(phone, "amina's phone").await,
        0,
        "amina's phone rang without REGISTER"
    );
    sigterm(&mut b);
    db.close().await;
    println!(
        "kill -9 with {IVR_CALLERS} IVR calls and 2 answered ({}): restart healthy in {healthy_ms} ms; \
         recordings on disk at the kill {recorded:?} (recorded/talk); ends {}..{} ms before the kill; \
         {} BYEs sent and answered 200 by the sipp peers",
        if pg { "PostgreSQL" } else { "SQLite" },
        before_kill.iter().min().unwrap(),
        before_kill.iter().max().unwrap(),
        IVR_CALLERS + 4
    );
}
