//! Supervision with real peers (SPEC §4.2, issue 16): three PJSIP phones
//! (PyPI `pjsua2-python`, null audio device) each speak their own tone —
//! caller 440 Hz, agent 660 Hz, supervisor 880 Hz — and record what they
//! hear; a Goertzel filter tells who hears whom in each mode. Needs
//! `python3` with `pjsua2`; fails loudly without it.

mod common;

use common::{WAIT, next_event, start_stack, wait_for};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use voice::registrar::RegistrationChange;
use voice::{CallControl, CallEvent, HangupCause, LegId, SupervisionMode, VoiceHandle};

const CALLER_HZ: f64 = 440.0;
const AGENT_HZ: f64 = 660.0;
const SUPERVISOR_HZ: f64 = 880.0;
/// Each phone records this long per check.
const WINDOW_MS: u32 = 1600;
/// The start of a window is left out (jitter buffers settling after a
/// switch): the rest is analysed.
const SETTLE_MS: u32 = 400;
/// Amplitude of the tones sent (of 32767).
const TONE: f64 = 8000.0;

/// One seamless second of a tone (integer number of cycles), 8 kHz WAV.
fn tone(name: &str, hz: f64) -> PathBuf {
    let path = std::env::temp_dir().join(format!("sv-{name}-{}.wav", std::process::id()));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).expect("create wav");
    for i in 0..8000 {
        let v = (i as f64 * 2.0 * std::f64::consts::PI * hz / 8000.0).sin() * TONE;
        w.write_sample(v as i16).expect("sample");
    }
    w.finalize().expect("finalize wav");
    path
}

/// A tone phone child and its stdin/stdout.
struct Phone {
    name: &'static str,
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Phone {
    fn spawn(name: &'static str, args: &[&str]) -> Phone {
        let script = common::scenario("").join("../pjsua/tone_phone.py");
        let mut child = tokio::process::Command::new("python3")
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 with pjsua2 (pip install pjsua2-python) is required");
        let stdin = child.stdin.take().expect("stdin");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Phone {
            name,
            _child: child,
            stdin,
            lines,
        }
    }

    /// Wait for a line starting with `prefix` (bounded).
    async fn expect(&mut self, prefix: &str) -> String {
        loop {
            let line = tokio::time::timeout(WAIT, self.lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("{}: no {prefix:?} in time", self.name))
                .expect("read phone output")
                .unwrap_or_else(|| panic!("{}: exited before {prefix:?}", self.name));
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    async fn send(&mut self, cmd: &str) {
        self.stdin
            .write_all(format!("{cmd}\n").as_bytes())
            .await
            .expect("phone stdin");
        self.stdin.flush().await.expect("flush");
    }
}

/// Amplitude of `hz` in `samples` (Goertzel, one bin).
fn amplitude(samples: &[f64], rate: f64, hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / rate;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for x in samples {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / samples.len() as f64
}

/// Amplitudes of the three tones in a recording, after [`SETTLE_MS`].
fn heard(path: &Path) -> [f64; 3] {
    let mut r = hound::WavReader::open(path).expect("phone's recording");
    let rate = f64::from(r.spec().sample_rate);
    let skip = (rate * f64::from(SETTLE_MS) / 1000.0) as usize;
    let mut samples: Vec<f64> = r
        .samples::<i16>()
        .skip(skip)
        .map(|s| f64::from(s.expect("sample")))
        .collect();
    // pjsua's conference bridge writes nothing to a recorder while its
    // source is silent (no RTP at all): that time is silence.
    let window = (rate * f64::from(WINDOW_MS - SETTLE_MS) / 1000.0) as usize;
    if samples.len() < window {
        samples.resize(window, 0.0);
    }
    // Averaged over 50 ms blocks (each tone has a whole number of cycles in
    // one): a slip of the stream's timing (a frame lost or late) shifts the
    // tone's phase, which one long coherent filter would count as silence.
    let block = (rate / 20.0) as usize;
    let blocks: Vec<&[f64]> = samples.chunks_exact(block).collect();
    [CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ]
        .map(|hz| blocks.iter().map(|b| amplitude(b, rate, hz)).sum::<f64>() / blocks.len() as f64)
}

/// Record on the three phones at once; what each heard, as
/// [caller, agent, supervisor] tone amplitudes.
async fn listen_all(phones: &mut [&mut Phone; 3], tag: &str) -> [[f64; 3]; 3] {
    let mut paths = Vec::new();
    for p in phones.iter_mut() {
        let path =
            std::env::temp_dir().join(format!("sv-{tag}-{}-{}.wav", p.name, std::process::id()));
        p.send(&format!("rec {} {WINDOW_MS}", path.display())).await;
        paths.push(path);
    }
    for p in phones.iter_mut() {
        p.expect("REC ").await;
    }
    [heard(&paths[0]), heard(&paths[1]), heard(&paths[2])]
}

/// Hears a tone: above a quarter of what was sent (G.711 and pjsua's
/// resampling keep it near TONE). Does not: 32 dB below what was sent (the
/// floor measured is G.711 noise and the other tones' leakage at timing
/// slips, about 40 dB below).
fn hears(a: f64) -> bool {
    a > TONE / 4.0
}
fn silent(a: f64) -> bool {
    a < TONE / 40.0
}

/// Who hears whom: `expect[listener][source]`, `None` for the listener's
/// own tone (not checked: pjsua may leak a little of its own player).
fn check(tag: &str, got: [[f64; 3]; 3], expect: [[Option<bool>; 3]; 3]) {
    let names = ["caller", "agent", "supervisor"];
    eprintln!("{tag}: heard (rows: caller, agent, supervisor) {got:.0?}");
    for l in 0..3 {
        for s in 0..3 {
            let Some(want) = expect[l][s] else { continue };
            let a = got[l][s];
            let ok = if want { hears(a) } else { silent(a) };
            assert!(
                ok,
                "{tag}: {} should {}hear the {} ({} Hz): amplitude {a:.0}; all: {got:?}",
                names[l],
                if want { "" } else { "not " },
                names[s],
                [CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ][s],
            );
        }
    }
}

const Y: Option<bool> = Some(true);
const N: Option<bool> = Some(false);
const X: Option<bool> = None;

/// Caller (trunk) ↔ agent bridged, supervisor phone answered: returns the
/// phones and legs (caller, agent, supervisor).
async fn supervised_call(
    handle: &VoiceHandle,
    events: &mut voice::CallEvents,
) -> ([Phone; 3], [LegId; 3]) {
    let server = handle.local_addr().to_string();
    let (c_wav, a_wav, s_wav) = (
        tone("caller", CALLER_HZ),
        tone("agent", AGENT_HZ),
        tone("supervisor", SUPERVISOR_HZ),
    );
    let mut agent = Phone::spawn(
        "agent",
        &[
            "answer",
            &server,
            "2001",
            "agentpw",
            a_wav.to_str().unwrap(),
        ],
    );
    let mut sup = Phone::spawn(
        "supervisor",
        &[
            "answer",
            &server,
            "2002",
            "otherpw",
            s_wav.to_str().unwrap(),
        ],
    );
    agent.expect("REG 200").await;
    sup.expect("REG 200").await;
    for _ in 0..2 {
        wait_for(events, |e| {
            matches!(
                e,
                CallEvent::Registration(RegistrationChange::Registered { .. })
            )
        })
        .await;
    }
    let mut caller = Phone::spawn(
        "caller",
        &[
            "call",
            &server,
            "127.0.0.2",
            "3900",
            c_wav.to_str().unwrap(),
        ],
    );
    let CallEvent::Incoming { leg: c_leg, .. } =
        wait_for(events, |e| matches!(e, CallEvent::Incoming { .. })).await
    else {
        unreachable!()
    };
    handle.answer(c_leg).await.expect("answer the caller");
    let a_leg = handle
        .originate(
            "2001".into(),
            "+33699999999".into(),
            Duration::from_secs(10),
        )
        .await
        .expect("ring the agent");
    wait_for(events, |e| *e == CallEvent::Answered { leg: a_leg }).await;
    handle.bridge(c_leg, a_leg).await.expect("bridge");
    let s_leg = handle
        .originate("2002".into(), "supervision".into(), Duration::from_secs(10))
        .await
        .expect("ring the supervisor");
    wait_for(events, |e| *e == CallEvent::Answered { leg: s_leg }).await;
    for p in [&mut caller, &mut agent, &mut sup] {
        p.expect("MEDIA").await;
    }
    ([caller, agent, sup], [c_leg, a_leg, s_leg])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_whisper_barge_by_command_and_dtmf_then_the_supervisor_leaves() {
    let (handle, mut events) = start_stack().await;
    let ([mut caller, mut agent, mut sup], [c_leg, a_leg, s_leg]) =
        supervised_call(&handle, &mut events).await;
    let mut phones = [&mut caller, &mut agent, &mut sup];

    // Plain bridge first: caller and agent hear each other, the supervisor's
    // phone is up but hears nobody.
    let got = listen_all(&mut phones, "relay").await;
    check("relay", got, [[X, Y, N], [Y, X, N], [N, N, X]]);

    handle
        .supervise(a_leg, s_leg, SupervisionMode::Listen)
        .await
        .expect("listen");
    let got = listen_all(&mut phones, "listen").await;
    check("listen", got, [[X, Y, N], [Y, X, N], [Y, Y, X]]);

    handle
        .supervise(a_leg, s_leg, SupervisionMode::Whisper)
        .await
        .expect("whisper");
    let got = listen_all(&mut phones, "whisper").await;
    check("whisper", got, [[X, Y, N], [Y, X, Y], [Y, Y, X]]);

    // DTMF 6 from the supervisor's phone: barge, no command from us.
    phones[2].send("dtmf 6").await;
    wait_for(&mut events, |e| {
        *e == CallEvent::SupervisionMode {
            supervisor: s_leg,
            mode: SupervisionMode::Barge,
        }
    })
    .await;
    let got = listen_all(&mut phones, "barge").await;
    check("barge", got, [[X, Y, Y], [Y, X, Y], [Y, Y, X]]);

    // DTMF 4: back to listen.
    phones[2].send("dtmf 4").await;
    wait_for(&mut events, |e| {
        *e == CallEvent::SupervisionMode {
            supervisor: s_leg,
            mode: SupervisionMode::Listen,
        }
    })
    .await;
    let got = listen_all(&mut phones, "listen-dtmf").await;
    check("listen by DTMF", got, [[X, Y, N], [Y, X, N], [Y, Y, X]]);

    // The supervisor hangs up: the call goes on, relayed again.
    phones[2].send("hangup").await;
    let e = wait_for(&mut events, |e| matches!(e, CallEvent::HungUp { .. })).await;
    assert!(
        matches!(e, CallEvent::HungUp { leg, cause: HangupCause::RemoteBye, .. } if leg == s_leg),
        "only the supervisor's leg ends: {e:?}"
    );
    phones[2].expect("ENDED True").await;
    let [c, a, _] = phones;
    let mut two = [c, a];
    let mut paths = Vec::new();
    for p in two.iter_mut() {
        let path =
            std::env::temp_dir().join(format!("sv-after-{}-{}.wav", p.name, std::process::id()));
        p.send(&format!("rec {} {WINDOW_MS}", path.display())).await;
        paths.push(path);
    }
    for p in two.iter_mut() {
        p.expect("REC ").await;
    }
    let (c, a) = (heard(&paths[0]), heard(&paths[1]));
    assert!(hears(c[1]) && silent(c[2]), "caller after: {c:?}");
    assert!(hears(a[0]) && silent(a[2]), "agent after: {a:?}");

    // The engine's hang-up does not cascade: both legs.
    for leg in [c_leg, a_leg] {
        handle.hang_up(leg).await.expect("hang up");
        let e = wait_for(&mut events, |e| matches!(e, CallEvent::HungUp { .. })).await;
        assert!(
            matches!(e, CallEvent::HungUp { leg: l, cause: HangupCause::Local, .. } if l == leg),
            "{e:?}"
        );
    }
    two[0].expect("ENDED True").await;
    two[1].expect("ENDED True").await;
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caller_hanging_up_releases_the_supervisor_at_once() {
    let (handle, mut events) = start_stack().await;
    let ([mut caller, _agent, mut sup], [c_leg, a_leg, s_leg]) =
        supervised_call(&handle, &mut events).await;
    handle
        .supervise(a_leg, s_leg, SupervisionMode::Barge)
        .await
        .expect("barge");
    // A second supervisor cannot join, the agent leg cannot supervise.
    assert!(
        handle
            .supervise(a_leg, c_leg, SupervisionMode::Listen)
            .await
            .is_err()
    );
    caller.send("hangup").await;
    let mut ended = Vec::new();
    let mut when = Vec::new();
    while ended.len() < 3 {
        let e = next_event(&mut events).await;
        if let CallEvent::HungUp { leg, cause, .. } = e {
            ended.push((leg, cause));
            when.push(std::time::Instant::now());
        }
    }
    assert_eq!(ended[0], (c_leg, HangupCause::RemoteBye));
    assert!(
        ended.contains(&(s_leg, HangupCause::PeerHungUp)),
        "{ended:?}"
    );
    assert!(
        ended.contains(&(a_leg, HangupCause::PeerHungUp)),
        "{ended:?}"
    );
    let lag = when[2].duration_since(when[0]);
    assert!(
        lag < Duration::from_millis(100),
        "supervisor released after {lag:?}"
    );
    sup.expect("ENDED True").await;
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervisor_takes_the_call_over_and_the_agent_is_let_go() {
    let (handle, mut events) = start_stack().await;
    let ([mut caller, mut agent, mut sup], [c_leg, a_leg, s_leg]) =
        supervised_call(&handle, &mut events).await;
    assert!(
        handle.take_over(s_leg).await.is_err(),
        "nothing to take over before supervising"
    );
    handle
        .supervise(a_leg, s_leg, SupervisionMode::Whisper)
        .await
        .expect("whisper");
    assert_eq!(handle.take_over(s_leg).await.expect("take over"), a_leg);
    // The agent's leg is let go: its hang-up does not end the call.
    handle.hang_up(a_leg).await.expect("hang up the agent");
    let e = wait_for(&mut events, |e| matches!(e, CallEvent::HungUp { .. })).await;
    assert!(
        matches!(e, CallEvent::HungUp { leg, cause: HangupCause::Local, .. } if leg == a_leg),
        "only the agent's leg ends: {e:?}"
    );
    agent.expect("ENDED True").await;
    // Caller and supervisor hear each other, relayed.
    let mut two = [&mut caller, &mut sup];
    let mut paths = Vec::new();
    for p in two.iter_mut() {
        let path =
            std::env::temp_dir().join(format!("sv-over-{}-{}.wav", p.name, std::process::id()));
        p.send(&format!("rec {} {WINDOW_MS}", path.display())).await;
        paths.push(path);
    }
    for p in two.iter_mut() {
        p.expect("REC ").await;
    }
    let (c, s) = (heard(&paths[0]), heard(&paths[1]));
    assert!(hears(c[2]) && silent(c[1]), "caller after take over: {c:?}");
    assert!(
        hears(s[0]) && silent(s[1]),
        "supervisor after take over: {s:?}"
    );
    // The caller hanging up now ends the supervisor's leg (a plain bridge).
    two[0].send("hangup").await;
    let mut ended = Vec::new();
    while ended.len() < 2 {
        if let CallEvent::HungUp { leg, cause, .. } = next_event(&mut events).await {
            ended.push((leg, cause));
        }
    }
    assert_eq!(
        ended,
        [
            (c_leg, HangupCause::RemoteBye),
            (s_leg, HangupCause::PeerHungUp)
        ]
    );
    two[1].expect("ENDED True").await;
    handle.shutdown().await;
}
