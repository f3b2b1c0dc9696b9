//! Issue 19: the incident desk of `serve` raises "application unavailable"
//! when the store stops answering. A PRIVATE PostgreSQL cluster (started by
//! the test) is stopped: the desk's store check fails, the incident opens
//! and its notification reaches the webhook (a listener in the test) while
//! the database is down; the cluster comes back, the incident is stored and
//! listed by `GET /api/v1/incidents`, then a supervisor acknowledges and
//! resolves it through the API.

mod common;

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A webhook receiver: each POST body (JSON) goes to the channel; answers 200.
async fn webhook() -> (String, tokio::sync::mpsc::Receiver<serde_json::Value>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            let body: serde_json::Value =
                                serde_json::from_slice(&buf[end + 4..end + 4 + len]).unwrap();
                            let _ = tx.send(body).await;
                            let _ = s
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                                .await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_opens_an_incident_acknowledged_and_resolved_through_the_api() {
    let cluster = common::pg::Cluster::init();
    let url = cluster.url();
    let (hook, mut notes) = webhook().await;
    let srv = common::start_with(false, move |s| {
        s.database.url = url;
        s.incidents.tick_seconds = 1;
        s.incidents.webhook_url = hook;
    })
    .await;
    let sup = srv.login("supervisor").await;
    let list = |q: &'static str| {
        let http = srv.http.clone();
        let url = srv.url(&format!("/api/v1/incidents{q}"));
        let sup = sup.clone();
        async move {
            let r = http.get(url).bearer_auth(sup).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Vec<serde_json::Value>>().await.unwrap()
        }
    };
    assert!(list("").await.is_empty(), "no incident while all is well");

    cluster.stop();
    let opened = tokio::time::timeout(Duration::from_secs(90), async {
        loop {
            let n = notes.recv().await.expect("webhook receiver alive");
            if n["kind"] == "Opened" {
                return n;
            }
        }
    })
    .await
    .expect("an incident opened while the database was down");
    assert_eq!(opened["category"], "application_unavailable");
    assert_eq!(opened["source"], "database");
    assert_eq!(opened["audience"], "StaffAndClient");
    cluster.start();

    // Stored once the database is back (the desk retries its writes).
    let deadline = Instant::now() + Duration::from_secs(60);
    let open = loop {
        let open = list("?open=true").await;
        if !open.is_empty() {
            break open;
        }
        assert!(
            Instant::now() < deadline,
            "incident not stored after the outage"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["category"], "application_unavailable");
    assert_eq!(
        open[0]["sla_minutes"], 15,
        "application unavailable: 15 min (SLA annex)"
    );
    assert_eq!(open[0]["id"], opened["incident"]);
    let id = open[0]["id"].as_i64().unwrap();

    let post = |verb: &'static str| {
        let http = srv.http.clone();
        let url = srv.url(&format!("/api/v1/incidents/{id}/{verb}"));
        let sup = sup.clone();
        async move { http.post(url).bearer_auth(sup).send().await.unwrap() }
    };
    let r = post("acknowledge").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["state"],
        "acknowledged"
    );
    let r = post("resolve").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["state"],
        "resolved"
    );
    assert!(list("?open=true").await.is_empty());
    assert_eq!(post("resolve").await.status(), 409);

    // The webhook heard the acknowledgement and the resolution too.
    let mut kinds = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !kinds.contains(&"Resolved".to_string()) {
        let n = tokio::time::timeout_at(deadline, notes.recv())
            .await
            .expect("resolution notified")
            .unwrap();
        if n["incident"] == id {
            kinds.push(n["kind"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(kinds, ["Acknowledged", "Resolved"]);
    srv.shutdown().await;
}

/// The data dir's real disk usage against a threshold under it (the
/// machine's disk is not filled for a test): "equipment / disk" opens.
#[tokio::test]
async fn disk_usage_over_the_threshold_opens_an_equipment_incident() {
    let srv = common::start_with(false, |s| {
        s.incidents.tick_seconds = 1;
        s.incidents.disk_full_percent = 1;
    })
    .await;
    let used = switchboard::incidents::disk_usage_percent(srv.dir.path()).unwrap();
    assert!((1..=100).contains(&used), "{used}");
    let df = std::process::Command::new("df")
        .args(["--output=pcent"])
        .arg(srv.dir.path())
        .output()
        .unwrap();
    let df: u8 = String::from_utf8_lossy(&df.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(used.abs_diff(df) <= 1, "statvfs {used} % vs df {df} %");
    let sup = srv.login("supervisor").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = srv
            .http
            .get(srv.url("/api/v1/incidents?open=true"))
            .bearer_auth(&sup)
            .send()
            .await
            .unwrap();
        let open: Vec<serde_json::Value> = r.json().await.unwrap();
        if let Some(i) = open.iter().find(|i| i["source"] == "disk") {
            assert_eq!(i["category"], "equipment");
            assert_eq!(i["sla_minutes"], 30, "equipment: 30 min (SLA annex)");
            break;
        }
        assert!(Instant::now() < deadline, "no disk incident: {open:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    srv.shutdown().await;
}
