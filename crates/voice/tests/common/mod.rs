//! Shared helpers for the sipp integration tests: start the stack on loopback,
//! pick free ports, run sipp as a bounded child process, wait for events.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use voice::sip::digest::Algorithm;
use voice::{CallEvent, CallEvents, MemoryDirectory, TrunkConfig, VoiceConfig, VoiceHandle};

/// Generous bound for any single wait (the tests never sleep).
pub const WAIT: Duration = Duration::from_secs(30);

/// The trunk's address in these tests (sipp binds to it with `-i`).
pub const TRUNK_IP: [u8; 4] = [127, 0, 0, 2];

pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// Where the tests' fixed ports come from: below Linux's ephemeral range
/// (32768–60999), so no `bind(0)` (the stack's RTP sockets) can take a port
/// between our check and sipp's bind (sipp would exit 254).
const TEST_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// `n` consecutive free UDP ports on `ip`, from [`TEST_PORTS`]: a cursor
/// shared by the process's tests (started at a pid-derived place) hands out
/// each block once; each port is checked by binding it.
pub fn free_ports(ip: [u8; 4], n: u16) -> u16 {
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
        let all: Vec<_> = (0..n)
            .map(|i| UdpSocket::bind((IpAddr::from(ip), base + i)))
            .collect();
        if all.iter().all(|r| r.is_ok()) {
            return base;
        }
    }
    panic!("no free port block");
}

pub async fn start_stack() -> (VoiceHandle, CallEvents) {
    start_stack_with(|_| {}).await
}

/// The operator switch's SIP port for outbound calls (a sipp UAS binds it).
pub fn trunk_port() -> u16 {
    use std::sync::OnceLock;
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| free_ports(TRUNK_IP, 1))
}

/// Like [`start_stack`], with a chance to adjust the configuration.
pub async fn start_stack_with(adjust: impl FnOnce(&mut VoiceConfig)) -> (VoiceHandle, CallEvents) {
    let mut dids = HashMap::new();
    dids.insert("3900".to_string(), "main-ivr".to_string());
    let trunk_port = trunk_port();
    let mut cfg = VoiceConfig {
        sip_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        tcp: true,
        media_ip: IpAddr::from([127, 0, 0, 1]),
        realm: "switchboard.test".into(),
        digest_algorithms: vec![Algorithm::Md5, Algorithm::Sha256],
        trunks: vec![TrunkConfig {
            name: "operator".into(),
            allowed_ips: vec![IpAddr::from(TRUNK_IP)],
            dids,
            outbound: Some(SocketAddr::from((TRUNK_IP, trunk_port))),
            caller_id: Some("+33100000000".into()),
            auth_user: None,
        }],
        // sipp agents would take a qualify OPTIONS for a new call: off here.
        qualify_interval: None,
        ..VoiceConfig::default()
    };
    adjust(&mut cfg);
    let dir = MemoryDirectory::new([("2001", "agentpw"), ("2002", "otherpw")]);
    voice::start(cfg, Arc::new(dir))
        .await
        .expect("voice stack starts")
}

/// A running sipp child.
pub struct Sipp {
    child: tokio::process::Child,
    log: PathBuf,
}

/// Spawn sipp against `target` with a scenario and extra args, bounded to one
/// call and 20 s. Fails loudly if the `sipp` binary (Debian `sip-tester`) is missing.
pub fn sipp(target: SocketAddr, scenario_file: &str, args: &[&str]) -> Sipp {
    let log = std::env::temp_dir().join(format!(
        "sipp-{}-{}-{}.log",
        scenario_file,
        std::process::id(),
        args.join("_").replace(['/', ' '], "")
    ));
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = tokio::process::Command::new("sipp")
        .arg(target.to_string())
        .arg("-sf")
        .arg(scenario(scenario_file))
        .args(["-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin"])
        .args(args)
        .current_dir(scenario(""))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .expect("sipp must be installed (Debian package sip-tester)");
    Sipp { child, log }
}

impl Sipp {
    /// Wait for exit (bounded) and return the exit code; prints the log on failure.
    pub async fn wait(mut self) -> i32 {
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("sipp finished in time")
            .expect("sipp status");
        let code = status.code().unwrap_or(-1);
        if code != 0 {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("---- sipp log {} ----\n{log}", self.log.display());
        }
        code
    }
}

/// Next event, bounded by [`WAIT`].
/// The next call event, skipping `Bindings`, `DialogConfirmed` and
/// `DialogEnded` (registrations and dialogs to keep across a restart:
/// checked by the stack's own tests).
pub async fn next_event(events: &mut CallEvents) -> CallEvent {
    loop {
        let e = tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("an event in time")
            .expect("stack alive");
        if !matches!(
            e,
            CallEvent::Bindings { .. }
                | CallEvent::DialogConfirmed(_)
                | CallEvent::DialogEnded { .. }
        ) {
            return e;
        }
    }
}

/// Skip events until `pred` matches; returns the matching one.
pub async fn wait_for(events: &mut CallEvents, pred: impl Fn(&CallEvent) -> bool) -> CallEvent {
    loop {
        let e = next_event(events).await;
        if pred(&e) {
            return e;
        }
    }
}

/// Write an 8 kHz mono 16-bit WAV tone of `ms` milliseconds; returns its path.
pub fn tone_wav(name: &str, ms: u32) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{name}-{}.wav", std::process::id()));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).expect("create wav");
    for i in 0..(ms * 8) {
        let v = ((i as f32) * 2.0 * std::f32::consts::PI * 440.0 / 8000.0).sin() * 8000.0;
        w.write_sample(v as i16).expect("sample");
    }
    w.finalize().expect("finalize wav");
    path
}
