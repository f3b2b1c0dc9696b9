//! `/reports` and `/wallboard` in a real browser: Debian `chromium` driven
//! by npm `playwright-core` (`tests/browser/reports.mjs`), against a server
//! with SIP on. The supervisor filters the demo's history by queue and by
//! the hour, sees the table and both charts drawn, downloads the xlsx and
//! the pdf (checked against the JSON report of the same query); then the
//! wallboard follows a real waiting call (sipp) live, 0 → 1 → 0.
//!
//! Needs (installed by scripts/test, never by this test): `apt-get install
//! chromium sip-tester nodejs npm poppler-utils` and
//! `npm ci --prefix crates/switchboard/tests/browser`.

mod common;

use calamine::{Data, Reader, Xlsx};
use common::sip::{TRUNK_IP, exit_code, free_ports, sipp};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

const BROWSER_WAIT: Duration = Duration::from_secs(120);
const DAY: i64 = 86_400_000;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_and_wallboard_in_chromium() {
    let dir = browser_dir();
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "run `npm ci --prefix crates/switchboard/tests/browser` first"
    );
    let p = common::sip::platform().await;
    let srv = &p.srv;
    let sup = srv.login("supervisor").await;
    let now = domain::Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let day = |t: domain::Timestamp| t.to_string()[..10].to_string();
    let (from, to) = (day(now.add_millis(-12 * DAY)), day(now.add_millis(DAY)));
    let downloads = srv.dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");

    let mut child = tokio::process::Command::new("node")
        .arg(dir.join("reports.mjs"))
        .arg(format!("http://{}", srv.addr))
        .arg(std::env::var("SWITCHBOARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
        .arg("supervisor")
        .arg(srv.password("supervisor"))
        .args([&from, &to])
        .arg(&downloads)
        .arg(&shots)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node must be installed (Debian package nodejs)");
    let mut stdout = child.stdout.take().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let ready = tokio::time::timeout(BROWSER_WAIT, async {
        while let Some(line) = err.next_line().await.unwrap() {
            if line.trim() == "READY" {
                return true;
            }
            eprintln!("browser: {line}");
        }
        false
    })
    .await
    .expect("the browser script got to the wallboard in time");
    tokio::spawn(async move {
        while let Ok(Some(l)) = err.next_line().await {
            eprintln!("browser: {l}");
        }
    });
    // The JSON report of the query the page made, before the wallboard's
    // call adds to today's figures.
    let queues: Value = srv
        .http
        .get(srv.url("/api/v1/queues"))
        .bearer_auth(&sup)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let general = queues
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "general")
        .unwrap()["id"]
        .clone();
    let query =
        format!("from={from}&to={to}&tz=UTC&interval=hour&queue={general}&lang=en&format=json");
    let rep: Value = srv
        .http
        .get(srv.url(&format!("/api/v1/reports/kpis?{query}")))
        .bearer_auth(&sup)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    if ready {
        // A caller with no agent logged in: waits, then hangs up.
        let port = free_ports(TRUNK_IP, 1).to_string();
        let media = free_ports(TRUNK_IP, 4).to_string();
        let caller = sipp(
            p.sip,
            "caller_audio.xml",
            &["-s", "3902", "-i", TRUNK_IP, "-p", &port, "-mp", &media],
        );
        assert_eq!(exit_code(caller).await, 0, "the waiting caller hung up");
    }
    let mut text = String::new();
    let status = tokio::time::timeout(BROWSER_WAIT, async {
        stdout.read_to_string(&mut text).await.unwrap();
        child.wait().await.unwrap()
    })
    .await
    .expect("the browser script ended in time");
    let out: Value = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON from the browser script: {text}"));
    eprintln!("reports.mjs: {out}");
    assert!(status.success() && ready, "reports.mjs failed: {out}");
    let c = &out["checks"];
    assert_eq!(out["errors"], json!([]), "no script error in the page");

    let queues_table = rep["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "queues")
        .unwrap();
    let total = &queues_table["rows"][0];
    assert_eq!(total["label"], "Total");
    let offered = total["values"][0].as_f64().unwrap();
    let answered = total["values"][1].as_f64().unwrap();
    assert!(
        offered > 0.0,
        "the demo history has calls in general: {rep}"
    );

    // The page: the queues table with the same total, the formulas, charts.
    assert_eq!(c["table"], "queues");
    assert_eq!(c["headings"][0], "Queue");
    assert_eq!(c["headings"][1], "Offered");
    assert_eq!(c["total_row"][0], "Total");
    assert_eq!(c["total_row"][1], format!("{offered}"));
    assert_eq!(c["total_row"][2], format!("{answered}"));
    let formulas = c["formulas"].as_str().unwrap();
    assert!(
        formulas.contains("answered within 20 s ÷ (answered + abandoned after 5 s)"),
        "{formulas}"
    );
    let hours = rep["intervals"].as_array().unwrap().len() as u64;
    assert_eq!(hours, 13 * 24, "13 days of hourly rows");
    for id in ["chart-volume", "chart-sl"] {
        let ch = &c[id];
        assert_eq!(ch["canvas"], true, "{id}: {ch}");
        assert_eq!(ch["points"].as_u64(), Some(hours), "{id}: {ch}");
        assert!(ch["drawn"].as_u64().unwrap() > 1000, "{id} is drawn: {ch}");
    }
    // The charts got the report's series: offered and answered per hour
    // add up to the totals, the service-level points to the JSON's.
    assert_eq!(c["chart-volume"]["sums"], format!("{offered},{answered}"));
    let sl_sum: f64 = rep["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["service_level_pct"].as_f64())
        .sum();
    assert_eq!(c["chart-sl"]["sums"], format!("{sl_sum}"));
    assert!(sl_sum > 0.0, "{rep}");
    assert_eq!(c["chart-volume"]["legend"][1], "Offered");
    assert_eq!(c["chart-volume"]["legend"][2], "Answered");
    assert_eq!(c["agents_table"], "agents");
    assert_eq!(c["agents_headings"][0], "Agent");

    // The downloads: the same figures in the xlsx, a pdf with the formula.
    let xlsx = c["download_xlsx"].as_str().unwrap();
    assert!(xlsx.ends_with(".xlsx"), "{xlsx}");
    let mut wb: Xlsx<_> = calamine::open_workbook(xlsx).unwrap();
    let sheet = wb.worksheet_range("Queues").unwrap();
    let row = sheet.rows().nth(1).unwrap();
    assert_eq!(row[0], Data::String("Total".into()));
    assert_eq!(row[1], Data::Float(offered));
    assert_eq!(row[2], Data::Float(answered));
    let pdf = c["download_pdf"].as_str().unwrap();
    let txt = std::process::Command::new("pdftotext")
        .args(["-layout", pdf, "-"])
        .output()
        .expect("pdftotext (Debian poppler-utils)");
    let txt = String::from_utf8_lossy(&txt.stdout);
    assert!(txt.contains("Contact center activity report"), "{txt}");
    assert!(txt.contains("answered within 20 s"), "{txt}");
    // The wallboard: large figures, live 0 → 1 → 0.
    assert_eq!(
        c["tile_labels"],
        json!([
            "Waiting",
            "Longest wait",
            "Service level today",
            "Available",
            "Busy",
            "Paused"
        ])
    );
    assert!(
        c["tile_font_px"].as_f64().unwrap() >= 32.0,
        "large type: {c}"
    );
    assert_eq!(
        c["waiting_seen"],
        json!(["0", "1", "0"]),
        "live rise and fall"
    );
    assert!(c["updates"].as_u64().unwrap() >= 3, "{c}");
    p.srv.shutdown().await;
}
