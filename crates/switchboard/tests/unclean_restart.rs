//! `serve` leaves a run marker in the data dir while it runs: a clean stop
//! (SIGTERM) removes it; after `kill -9` the next start finds it and raises
//! the "server crash" incident (SLA annex): logged on standard error,
//! stored, listed by `GET /api/v1/incidents`, then acknowledged and resolved
//! by a supervisor through the API (audited).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// Start `serve` in `dir` with standard error to `log`; wait (bounded) for its
/// "listening" line.
fn serve(dir: &Path, log: &str) -> (Child, String) {
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
    (child, addr)
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

    let (mut a, _) = serve(d, "1.log");
    assert!(marker.exists());
    sigterm(&mut a);
    assert!(!marker.exists(), "a clean stop removes the marker");
    assert!(
        !std::fs::read_to_string(d.join("1.log"))
            .unwrap()
            .contains("unclean restart")
    );

    let (mut b, _) = serve(d, "2.log");
    assert!(
        !std::fs::read_to_string(d.join("2.log"))
            .unwrap()
            .contains("unclean restart")
    );
    b.kill().unwrap();
    b.wait().unwrap();
    assert!(marker.exists());

    let (mut c, addr) = serve(d, "3.log");
    let log = std::fs::read_to_string(d.join("3.log")).unwrap();
    assert!(
        log.contains("unclean restart detected: server crash incident"),
        "{log}"
    );
    assert!(log.contains(&format!("pid={}", b.id())), "{log}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(incident_through_the_api(d, &addr));
    sigterm(&mut c);
    let log = std::fs::read_to_string(d.join("3.log")).unwrap();
    assert!(
        log.contains("SLA incident notification") && log.contains("server_crash"),
        "{log}"
    );
    // A restart after the clean stop: the resolved incident stays resolved
    // and no new one opens.
    let (mut e, addr) = serve(d, "4.log");
    rt.block_on(async {
        let (http, token) = login(d, &addr).await;
        let all = incidents(&http, &addr, &token, "").await;
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0]["state"], "resolved");
    });
    sigterm(&mut e);
    assert!(!marker.exists());
}

fn password(d: &Path, user: &str) -> String {
    let text = std::fs::read_to_string(d.join("data").join("demo-credentials.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(1) == Some(&user)).then(|| f[2].to_string())
        })
        .unwrap_or_else(|| panic!("no demo account {user}"))
}

async fn login(d: &Path, addr: &str) -> (reqwest::Client, String) {
    let http = reqwest::Client::new();
    let r = http
        .post(format!("http://{addr}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "supervisor", "password": password(d, "supervisor")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    (http, token)
}

async fn incidents(
    http: &reqwest::Client,
    addr: &str,
    token: &str,
    query: &str,
) -> Vec<serde_json::Value> {
    let r = http
        .get(format!("http://{addr}/api/v1/incidents{query}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn post(http: &reqwest::Client, addr: &str, token: &str, path: &str) -> reqwest::Response {
    http.post(format!("http://{addr}/api/v1/incidents/{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The crash incident is stored (the desk runs in its own task: wait for
/// it with a deadline), then acknowledged and resolved by a supervisor.
async fn incident_through_the_api(d: &Path, addr: &str) {
    let (http, token) = login(d, addr).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let open = loop {
        let open = incidents(&http, addr, &token, "?open=true").await;
        if !open.is_empty() {
            break open;
        }
        assert!(Instant::now() < deadline, "no incident stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(open.len(), 1, "{open:?}");
    let i = &open[0];
    assert_eq!(i["category"], "server_crash");
    assert_eq!(i["source"], "node");
    assert_eq!(i["state"], "open");
    assert_eq!(i["sla_minutes"], 60, "server crash: 60 min (SLA annex)");
    let id = i["id"].as_i64().unwrap();

    // Agents may not act on incidents.
    let agent_login = std::fs::read_to_string(d.join("data").join("demo-credentials.txt"))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("agent ")
                .map(|r| r.split_whitespace().next().unwrap().to_string())
        })
        .unwrap();
    let (http2, agent) = {
        let r = http
            .post(format!("http://{addr}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": agent_login, "password": password(d, &agent_login)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let t = r.json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        (reqwest::Client::new(), t)
    };
    assert_eq!(
        post(&http2, addr, &agent, &format!("{id}/acknowledge"))
            .await
            .status(),
        403
    );
    assert_eq!(
        post(&http, addr, &token, "999/acknowledge").await.status(),
        404
    );

    let r = post(&http, addr, &token, &format!("{id}/acknowledge")).await;
    assert_eq!(r.status(), 200);
    let acked: serde_json::Value = r.json().await.unwrap();
    assert_eq!(acked["state"], "acknowledged");
    assert!(acked["acknowledged_by"].as_i64().is_some());
    let listed = incidents(&http, addr, &token, "?open=true").await;
    assert_eq!(listed[0]["state"], "acknowledged");

    let r = post(&http, addr, &token, &format!("{id}/resolve")).await;
    assert_eq!(r.status(), 200);
    let done: serde_json::Value = r.json().await.unwrap();
    assert_eq!(done["state"], "resolved");
    assert!(!done["resolved_at"].is_null(), "{done}");
    assert_eq!(done["resolved_by"], acked["acknowledged_by"]);
    assert_eq!(
        done["acknowledged_by"], acked["acknowledged_by"],
        "the resolve's answer keeps who acknowledged: {done}"
    );
    assert!(
        incidents(&http, addr, &token, "?open=true")
            .await
            .is_empty()
    );
    assert_eq!(
        post(&http, addr, &token, &format!("{id}/resolve"))
            .await
            .status(),
        409
    );

    // Both actions are in the audit trail.
    let store = store::open(&format!(
        "sqlite://{}",
        d.join("data").join("switchboard.db").display()
    ))
    .await
    .unwrap();
    for action in [
        store::AuditAction::IncidentAcknowledged,
        store::AuditAction::IncidentResolved,
    ] {
        let trail = store
            .list_audit(&store::AuditFilter {
                action: Some(action),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(trail.len(), 1, "{action:?}");
        assert_eq!(trail[0].target, format!("incident:{id}"));
    }
    store.close().await;
}
