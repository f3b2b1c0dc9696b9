//! `switchboard serve` as a child process (for `kill -9` tests): start it
//! on a data dir, wait for it, stop it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Start `serve` in `dir` (data in `dir/data`, embedded SQLite unless
/// `envs` sets `SWITCHBOARD_DATABASE__URL`), SIP on `sip_port`, standard
/// error to `log`, `envs` last; wait (bounded) until it answers `/health`.
/// Returns the child and its HTTP address.
pub fn serve(dir: &Path, sip_port: u16, log: &str, envs: &[(&str, String)]) -> (Child, String) {
    let err = std::fs::File::create(dir.join(log)).unwrap();
    let r = repo();
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("SWITCHBOARD_DATABASE__URL")
        .env_remove("SWITCHBOARD_CONFIG")
        .env("SWITCHBOARD_HTTP__LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_SIP__LISTEN", format!("127.0.0.1:{sip_port}"))
        .env("SWITCHBOARD_SIP__QUALIFY_INTERVAL_S", "0")
        .env("SWITCHBOARD_ENGINE__DEMO_OPERATOR_LISTEN", "")
        .env(
            "SWITCHBOARD_ENGINE__FLOWS_DIR",
            r.join("config/demo/flows").display().to_string(),
        )
        .env(
            "SWITCHBOARD_ENGINE__PROMPTS_DIR",
            r.join("assets/prompts").display().to_string(),
        )
        .env(
            "SWITCHBOARD_ENGINE__MUSIC_ON_HOLD",
            r.join("assets/moh/default.wav").display().to_string(),
        )
        .env("RUST_LOG", "warn");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(err)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Switchboard listening on http://").nth(1) {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    });
    let log_path = dir.join(log);
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|e| {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("server printed no address ({e}); its log:\n{text}")
        });
    let deadline = Instant::now() + Duration::from_secs(60);
    while !health_ok(&addr) {
        assert!(Instant::now() < deadline, "server did not answer /health");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, addr)
}

pub fn health_ok(addr: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let req = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut out = String::new();
    s.write_all(req.as_bytes()).is_ok()
        && s.read_to_string(&mut out).is_ok()
        && out.starts_with("HTTP/1.1 200")
}

/// SIGTERM, then wait (bounded) for the exit.
pub fn sigterm(child: &mut Child) {
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Wall-clock now.
pub fn now() -> domain::Timestamp {
    domain::Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    )
}
