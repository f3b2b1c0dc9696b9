//! The `switchboard` binary as a user runs it: `serve` on a fresh directory,
//! graceful stop on SIGTERM, recovery after `kill -9`, `import customers`,
//! `user add`.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

fn command(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env_remove("SWITCHBOARD_DATABASE__URL")
        .env("SWITCHBOARD_HTTP__LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_SIP__LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_ENGINE__DEMO_OPERATOR_LISTEN", "")
        .env("RUST_LOG", "warn");
    c
}

/// Start `switchboard serve` in `dir`; returns the child and its base URL,
/// read from the "listening on" line.
fn serve(dir: &Path) -> (Child, String) {
    let mut child = command(dir)
        .arg("serve")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Switchboard listening on ").nth(1) {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    });
    // Generous bound: this only guards against a hang, it measures nothing.
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server printed its address");
    (child, url)
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn password(dir: &Path, user: &str) -> String {
    std::fs::read_to_string(dir.join("data/demo-credentials.txt"))
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[1] == user).then(|| f[2].to_string())
        })
        .unwrap()
}

/// Log in as a demo user of the server at `url`; returns the bearer token.
async fn token(http: &reqwest::Client, url: &str, dir: &Path, user: &str) -> String {
    let body = json!({"username": user, "password": password(dir, user)});
    let v: Value = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn serve_stop_crash_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();

    // First start: database created, demo seeded, /health answers.
    let (mut child, url) = serve(dir.path());
    assert_eq!(
        http.get(format!("{url}/health"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    assert!(dir.path().join("data/switchboard.db").exists());
    let tok = token(&http, &url, dir.path(), "supervisor").await;
    let open: Value = http
        .post(format!("{url}/api/v1/interactions"))
        .bearer_auth(&tok)
        .json(&json!({"channel": "voice", "direction": "inbound", "customer_id": 3, "started_at": "2026-11-29T12:00:00Z"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let open_id = open["id"].as_i64().unwrap();

    // SIGTERM: clean exit, WAL folded into the database file.
    sigterm(&child);
    assert!(wait_exit(&mut child).success());
    let wal = dir.path().join("data/switchboard.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "WAL checkpointed at shutdown"
    );

    // Second start: nothing re-seeded (same passwords), the open interaction
    // was closed as system_restart... only at the next start after a crash:
    let (mut child, url) = serve(dir.path());
    let tok = token(&http, &url, dir.path(), "supervisor").await;
    let customers: Value = http
        .get(format!("{url}/api/v1/customers?limit=500"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(customers.as_array().unwrap().len(), 50, "demo seeded once");

    // kill -9 while an SMS conversation is open.
    let open2: Value = http
        .post(format!("{url}/api/v1/interactions"))
        .bearer_auth(&tok)
        .json(&json!({"channel": "sms", "direction": "inbound", "customer_id": 4, "started_at": "2026-11-29T12:05:00Z"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // ... and amina logged in to the ACD.
    let amina = token(&http, &url, dir.path(), "amina").await;
    let r = http
        .post(format!("{url}/api/v1/agent/login"))
        .bearer_auth(&amina)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, url) = serve(dir.path());
    let tok = token(&http, &url, dir.path(), "supervisor").await;
    // The SMS conversation survives: still open, back in its queue.
    let sms_id = open2["id"].as_i64().unwrap();
    let i: Value = http
        .get(format!("{url}/api/v1/interactions/{sms_id}"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(i["ended_at"].is_null(), "{i}");
    assert_eq!(i["queue_id"], 1, "routed again to `general`: {i}");
    let stats: Value = http
        .get(format!("{url}/api/v1/stats/queues"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let general = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "general")
        .unwrap();
    assert_eq!(general["waiting"], 1, "{general}");
    // The call that was live is closed.
    for id in [open_id] {
        let i: Value = http
            .get(format!("{url}/api/v1/interactions/{id}"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(i["end_reason"], "system_restart", "{i}");
        let evs: Value = http
            .get(format!("{url}/api/v1/interactions/{id}/events"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let last = evs.as_array().unwrap().last().unwrap();
        assert_eq!(
            last["kind"],
            json!({"type": "ended", "reason": "system_restart"})
        );
    }
    // amina was logged out by the recovery.
    let states: Value = http
        .get(format!(
            "{url}/api/v1/events?agent_id=1&kind=agent_state_changed"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&Value> = states
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["kind"])
        .collect();
    assert_eq!(
        kinds.iter().rev().take(2).collect::<Vec<_>>(),
        vec![
            &&json!({"type": "agent_state_changed", "state": "logged_out", "reason": "system_restart"}),
            &&json!({"type": "agent_state_changed", "state": "available", "reason": null}),
        ],
        "{kinds:?}"
    );
    sigterm(&child);
    assert!(wait_exit(&mut child).success());
}

#[test]
fn import_customers_reports_bad_rows_and_keeps_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("c.csv");
    let mut f = std::fs::File::create(&csv).unwrap();
    write!(
        f,
        "name,phone,email,segment,language,plan\n\
         Adjoa Mensah,+229 01 96 00 00 01,adjoa@example.bj,vip,fr,postpaid\n\
         No Phone,,,mass,fr,\n\
         Bad Phone,12,,mass,fr,\n\
         Bad Segment,0196000004,,platinum,fr,\n\
         Short Row,0196000005\n\
         Dup In File,00229 0196000001,,mass,fr,\n\
         Koffi Agbo;Jr,0196000007;0196000008,koffi@example.bj,business,en,prepaid\n\
         ,0196000009,,mass,fr,\n"
    )
    .unwrap();
    let out = command(dir.path())
        .args(["import", "customers"])
        .arg(&csv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "some rows rejected: {stdout}{stderr}"
    );
    assert!(
        stdout.contains("imported 2 customers, rejected 6 rows"),
        "{stdout}"
    );
    for want in [
        "line 3: column phone: a customer needs at least one phone number or e-mail",
        "line 4: column phone: invalid phone number \"12\"",
        "line 5: column segment: \"platinum\" is not one of mass, business, vip",
        "line 6: column row: has 2 fields, the header has 6",
        "line 7: column phone: +2290196000001 already appears on line 2",
        "line 9: column name: must be 1 to 200 characters",
    ] {
        assert!(stderr.contains(want), "missing {want:?} in:\n{stderr}");
    }

    // Re-running the same file: every row is now a duplicate of the database.
    let again = command(dir.path())
        .args(["import", "customers"])
        .arg(&csv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stdout.contains("imported 0 customers, rejected 8 rows"),
        "{stdout}"
    );
    assert!(
        stderr.contains("line 2: column phone: phone +2290196000001 already belongs to customer"),
        "{stderr}"
    );

    // A missing file is an error, not a panic.
    let missing = command(dir.path())
        .args(["import", "customers", "nope.csv"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.csv"));
}

#[test]
fn user_add_and_passwd() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        command(dir.path())
            .arg("migrate")
            .status()
            .unwrap()
            .success()
    );
    let mut child = command(dir.path())
        .args(["user", "add", "ops", "--role", "admin", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("user ops created (admin)"));
    let dup = command(dir.path())
        .args(["user", "add", "ops", "--role", "admin"])
        .output()
        .unwrap();
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("exists"));
    let bad_role = command(dir.path())
        .args(["user", "add", "x", "--role", "root"])
        .output()
        .unwrap();
    assert_eq!(bad_role.status.code(), Some(2));
    let pw = command(dir.path())
        .args(["user", "passwd", "ops"])
        .output()
        .unwrap();
    assert!(pw.status.success());
    assert!(String::from_utf8_lossy(&pw.stdout).contains("password: "));
}
