//! Mobile agents in a real browser (issue 22): Debian `chromium` driven by
//! npm `playwright-core` (`tests/browser/map.mjs`), against a server with
//! SIP and the engine on. A phone-sized context with a fake geolocation
//! (Chromium's override, granted by the context) signs amina in; she turns
//! position sharing on and checks in at a customer; the supervisor's `/map`
//! shows her marker, coloured as available, drawn where the map projects
//! that position, on the offline background (no tile server: no request
//! leaves the server), and her track of today.
//!
//! Needs (installed by scripts/test, never by this test): `apt-get install
//! chromium nodejs npm` and `npm ci --prefix crates/switchboard/tests/browser`.
//! Screenshots go to `target/screenshots/` (`agent-geo-mobile`,
//! `agent-visit-mobile`, `map`, `map-track`, `map-mobile`).

mod common;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;

const BROWSER_WAIT: Duration = Duration::from_secs(120);
/// Where the fake phone is: Cotonou, Boulevard de la Marina.
const LAT: f64 = 6.35205;
const LON: f64 = 2.42851;
const ACCURACY_M: f64 = 12.0;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mobile_agent_on_the_supervisor_map() {
    let dir = browser_dir();
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "run `npm ci --prefix crates/switchboard/tests/browser` first"
    );
    let p = common::sip::platform().await;
    let srv = &p.srv;
    assert!(
        p.settings.map.tile_url.is_empty(),
        "the default configuration uses the offline background"
    );
    // amina is logged in to the ACD and ready: her marker is "available".
    let amina = srv.login("amina").await;
    for (path, body) in [
        ("/api/v1/agent/login", json!({})),
        ("/api/v1/agent/state", json!({"state": "ready"})),
    ] {
        let r = srv
            .http
            .post(srv.url(path))
            .bearer_auth(&amina)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    let mut child = tokio::process::Command::new("node")
        .arg(dir.join("map.mjs"))
        .arg(format!("http://{}", srv.addr))
        .arg(std::env::var("SWITCHBOARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
        .args(["amina", &srv.password("amina")])
        .args(["supervisor", &srv.password("supervisor")])
        .args([LAT.to_string(), LON.to_string(), ACCURACY_M.to_string()])
        .arg(&shots)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node must be installed (Debian package nodejs)");
    let mut stdout = child.stdout.take().unwrap();
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
    eprintln!("map.mjs: {out}");
    assert!(status.success(), "map.mjs failed: {out}");
    assert_eq!(
        out["errors"],
        json!([]),
        "no script error, no failed or off-site request"
    );
    let c = &out["checks"];

    // Consent: off until the agent turns it on.
    assert_eq!(c["geo_before"], "off");
    assert_eq!(c["geo_checked_before"], false);
    assert!(
        c["geo_status"].as_str().unwrap().contains("± 12 m"),
        "{}",
        c["geo_status"]
    );
    // What the browser sent is what the server stored.
    let store = store::open(&p.settings.database_url()).await.unwrap();
    let latest = store.latest_positions().await.unwrap();
    assert_eq!(latest.len(), 1, "{latest:?}");
    assert_eq!(
        (
            latest[0].point.lat,
            latest[0].point.lon,
            latest[0].point.accuracy_m
        ),
        (LAT, LON, ACCURACY_M)
    );

    // The field visit, with the shared position and the notes.
    let visit = c["visit_text"].as_str().unwrap();
    assert!(visit.contains("Meter read, customer happy"), "{visit}");
    assert!(visit.contains("6.35205, 2.42851 (± 12 m)"), "{visit}");
    let visits = store
        .customer_field_visits(domain::CustomerId(3), 10)
        .await
        .unwrap();
    assert_eq!(visits.len(), 1, "{visits:?}");
    assert_eq!(visits[0].notes, "Meter read, customer happy");
    assert_eq!(visits[0].point.map(|p| (p.lat, p.lon)), Some((LAT, LON)));

    // The marker: one, amina's, available (green), drawn where the map
    // projects her position (within a pixel), on the offline background.
    assert_eq!(c["markers"], "1");
    let m = &c["marker"];
    let classes = m["classes"].as_str().unwrap();
    assert!(
        classes.contains("agent-marker") && classes.contains("state-available"),
        "{classes}"
    );
    assert_eq!(m["fill"], "#2e7d32");
    assert_eq!(
        (m["data_lat"].as_f64(), m["data_lon"].as_f64()),
        (Some(LAT), Some(LON))
    );
    assert!(
        m["dx"].as_f64().unwrap().abs() <= 1.0 && m["dy"].as_f64().unwrap().abs() <= 1.0,
        "marker off its position: {m}"
    );
    assert_eq!(m["in_view"], true);
    assert!(m["offline_tiles"].as_u64().unwrap() > 0, "{m}");
    assert_eq!(m["img_tiles"], 0);
    let row = c["row"].as_str().unwrap();
    assert!(row.contains("Available") && row.contains("± 12 m"), "{row}");

    // Today's track: the one position she had shared then, as a line.
    assert_eq!(c["track_points"], "1");
    assert_eq!(c["track_lines"], 1);
    assert!(
        c["track_info"]
            .as_str()
            .unwrap()
            .starts_with("1 position(s) on "),
        "{}",
        c["track_info"]
    );
    // After the reload (below) the remembered consent shared it once more.
    assert_eq!(c["geo_checked_after_reload"], true);
    let all = store
        .agent_track(
            latest[0].agent_id,
            domain::Timestamp::from_millis(0),
            domain::Timestamp::from_millis(i64::MAX / 2),
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "{all:?}");

    // Installable: the manifest starts the desktop standalone; the service
    // worker controls the whole site.
    assert_eq!(
        c["manifest"],
        json!({"start_url": "/agent", "display": "standalone", "icons": 1})
    );
    assert_eq!(c["sw_scope"], format!("http://{}/", srv.addr));
    // Accepting the conversation made her busy: the map recoloured her
    // marker from the push, without a new read.
    assert_eq!(c["busy_fill"], "#0b57d0");
    // The pop of the web chat offers "Field visit", opening that customer's
    // card at the check-in form.
    assert_eq!(c["pop_visit_shown"], true);
    assert_eq!(c["pop_visit_customer"], "Field Visitor");
    // The network drops: the reload gets the service worker's offline page;
    // back online, the conversation resumes with the reply typed before.
    assert!(
        c["offline_page"].as_str().unwrap().contains("Offline"),
        "{}",
        c["offline_page"]
    );
    assert_eq!(c["draft_after_reload"], "A technician comes tomorrow at 10");
    assert_eq!(c["drafts_left"], 0);

    // Both reads of the supervisor are in the audit trail.
    let trail = store
        .list_audit(&store::AuditFilter {
            action: Some(store::AuditAction::PositionsViewed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(trail.iter().any(|e| e.target == "agents:positions"));
    assert!(trail.iter().any(|e| e.target.contains(":track:")));
}
