//! `serve` leaves a run marker in the data dir while it runs: a clean stop
//! (SIGTERM) removes it; after `kill -9` the next start finds it and raises
//! the "server crash" incident (SLA annex), logged on standard error.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// Start `serve` in `dir` with standard error to `log`; wait (bounded) for its
/// "listening" line.
fn serve(dir: &Path, log: &str) -> Child {
    let err = std::fs::File::create(dir.join(log)).unwrap();
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .env_remove("SWITCHBOARD_DATABASE__URL")
        .env("SWITCHBOARD_HTTP__LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_SIP__LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_ENGINE__DEMO_OPERATOR_LISTEN", "")
        .env("RUST_LOG", "warn")
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
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("server printed its address");
    // Serving requests means the shutdown signal handler is installed.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !health_ok(&addr) {
        assert!(Instant::now() < deadline, "server did not answer /health");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn health_ok(addr: &str) -> bool {
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

fn wait_exit(child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sigterm(child: &mut Child) {
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    wait_exit(child);
}

#[test]
fn kill_9_then_restart_raises_server_crash_and_a_clean_stop_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let marker = d.join("data").join(continuity::marker::MARKER);

    let mut a = serve(d, "1.log");
    assert!(marker.exists());
    sigterm(&mut a);
    assert!(!marker.exists(), "a clean stop removes the marker");
    assert!(
        !std::fs::read_to_string(d.join("1.log"))
            .unwrap()
            .contains("unclean restart")
    );

    let mut b = serve(d, "2.log");
    assert!(
        !std::fs::read_to_string(d.join("2.log"))
            .unwrap()
            .contains("unclean restart")
    );
    b.kill().unwrap();
    b.wait().unwrap();
    assert!(marker.exists());

    let mut c = serve(d, "3.log");
    let log = std::fs::read_to_string(d.join("3.log")).unwrap();
    assert!(
        log.contains("unclean restart detected: server crash incident"),
        "{log}"
    );
    assert!(
        log.contains("ServerCrash") && log.contains(&format!("pid={}", b.id())),
        "{log}"
    );
    sigterm(&mut c);
    assert!(!marker.exists());
}
