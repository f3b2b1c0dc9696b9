//! The web UI in a real browser: Debian `chromium` driven by npm
//! `playwright-core` (scripts in `tests/browser/`), against a server started
//! in this process with SIP on, and a real call placed with sipp.
//!
//! Needs (installed by CI, never by this test): `apt-get install chromium
//! sip-tester nodejs npm` and `npm ci --prefix crates/switchboard/tests/browser`.
//! Screenshots go to `target/screenshots/`.

mod common;

use common::sip::{TRUNK_IP, exit_code, free_ports, repo, sip_password, sipp};

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// The screenshots this test must produce under `target/screenshots/`
/// (removed first, so an old file does not count).
const SCREENSHOTS: [&str; 16] = [
    "login-error",
    "agent-ringing",
    "agent-in-call",
    "supervisor-in-call",
    "agent-timeline",
    "agent-mobile",
    "agent-conversation",
    "agent-conversation-mobile",
    "supervisor",
    "supervisor-waiting",
    "supervisor-timeline",
    "admin",
    "admin-queue-error",
    "admin-agent-error",
    "admin-agent-saved",
    "admin-mobile",
];
const BROWSER_WAIT: Duration = Duration::from_secs(120);
const XSS_NAME: &str = "<script>alert(1)</script>";
const CHAT_XSS: &str = "<img src=x onerror=alert(2)> on break soon";
const MESSAGE_XSS: &str = "<img src=x onerror=\"window.__xss=1\">first";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// A server with SIP on loopback (see `common::sip::platform`).
async fn platform() -> (common::TestServer, SocketAddr) {
    let p = common::sip::platform().await;
    (p.srv, p.sip)
}

/// `node scenario.mjs <phase> <url> <config>`, with stderr piped so the
/// caller can wait for `READY`.
fn node(phase: &str, url: &str, config: &Path) -> tokio::process::Child {
    let dir = browser_dir();
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "run `npm ci --prefix crates/switchboard/tests/browser` first"
    );
    tokio::process::Command::new("node")
        .arg(dir.join("scenario.mjs"))
        .args([phase, url])
        .arg(config)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node must be installed (Debian package nodejs)")
}

/// Wait for the script to end; its exit code and the JSON it printed.
async fn outcome(mut child: tokio::process::Child) -> (i32, Value) {
    let mut stdout = child.stdout.take().unwrap();
    let mut text = String::new();
    let status = tokio::time::timeout(BROWSER_WAIT, async {
        stdout.read_to_string(&mut text).await.unwrap();
        child.wait().await.unwrap()
    })
    .await
    .expect("the browser script ended in time");
    let json = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .unwrap_or_else(|| panic!("no JSON from the browser script: {text}"));
    (status.code().unwrap_or(-1), json)
}

/// `GET /interactions/{id}/recording` of the latest call: 403 for the
/// agent, the WAV for the supervisor, a byte range, one audit event per play.
async fn recording_checks(srv: &common::TestServer, sup: &str, agent: &str) {
    let get =
        |path: String, token: &str| srv.http.get(srv.url(&path)).bearer_auth(token.to_string());
    let list: Value = get("/api/v1/interactions?limit=1".into(), sup)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let call = &list[0];
    assert!(
        call["recording"].is_string(),
        "the call was recorded: {call}"
    );
    let path = format!("/api/v1/interactions/{}/recording", call["id"]);
    let r = get(path.clone(), agent).send().await.unwrap();
    assert_eq!(r.status(), 403, "agents may not play recordings");
    let r = get(path.clone(), sup).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/wav");
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    let wav = r.bytes().await.unwrap();
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(&wav[8..12], b"WAVE");
    let r = get(path.clone(), sup)
        .header("Range", "bytes=8-11")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 8-11/{}", wav.len()).as_str()
    );
    assert_eq!(&r.bytes().await.unwrap()[..], b"WAVE");
    let evs: Value = get(
        format!(
            "/api/v1/events?kind=recording_played&interaction_id={}",
            call["id"]
        ),
        sup,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let evs = evs.as_array().unwrap();
    assert_eq!(evs.len(), 1, "one play audited, the seek not: {evs:?}");
    assert_eq!(evs[0]["kind"]["user"], "supervisor");
}

/// Read the script's stderr until it says `READY` (true) or ends (false);
/// the rest of its stderr is echoed in the background.
async fn wait_ready(child: &mut tokio::process::Child) -> bool {
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
    .expect("the browser script got ready in time");
    tokio::spawn(async move {
        while let Ok(Some(l)) = err.next_line().await {
            eprintln!("browser: {l}");
        }
    });
    ready
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_and_supervisor_pages_in_chromium() {
    let (srv, sip) = platform().await;
    let admin = srv.login("admin").await;
    let sup = srv.login("supervisor").await;

    // The caller's record carries a hostile name: it must show as text.
    let r = srv
        .http
        .post(srv.url("/api/v1/customers"))
        .bearer_auth(&admin)
        .json(&json!({"name": XSS_NAME, "phones": ["+33612345678"], "segment": "vip", "language": "fr"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "customer created");

    // The agent's phone registers (digest auth).
    let phone = free_ports("127.0.0.1", 1);
    let pw = sip_password(&srv, "amina");
    let reg = sipp(
        sip,
        "register.xml",
        &[
            "-s",
            "amina",
            "-au",
            "amina",
            "-ap",
            &pw,
            "-p",
            &phone.to_string(),
        ],
    );
    assert_eq!(exit_code(reg).await, 0, "the agent phone registers");

    let shots = repo().join("target/screenshots");
    for f in SCREENSHOTS {
        let _ = std::fs::remove_file(shots.join(format!("{f}.png")));
    }
    let config = srv.dir.path().join("browser.json");
    std::fs::write(
        &config,
        json!({
            "agent": "amina",
            "agent_password": srv.password("amina"),
            "supervisor": "supervisor",
            "supervisor_password": srv.password("supervisor"),
            "disposition": "resolved",
            "admin": "admin",
            "admin_password": srv.password("admin"),
            "chat_text": CHAT_XSS,
            "xss_message": MESSAGE_XSS,
            "screenshots": shots,
            "chromium": std::env::var("SWITCHBOARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        })
        .to_string(),
    )
    .unwrap();
    let base = format!("http://{}", srv.addr);

    // Agent: the script logs in and goes available, says READY, then waits
    // for the ringing card while we place the call.
    let mut agent = node("agent", &base, &config);
    if !wait_ready(&mut agent).await {
        let (code, out) = outcome(agent).await;
        panic!("the agent script stopped before READY ({code}): {out}");
    }

    // The ACD sees the agent available, from the browser's clicks.
    let stats = srv
        .http
        .get(srv.url("/api/v1/stats/agents"))
        .bearer_auth(&sup)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(stats[0]["status"], "Available", "{stats}");

    let media = free_ports("127.0.0.1", 4).to_string();
    let phone_uas = sipp(
        sip,
        "agent_uas.xml",
        &["-p", &phone.to_string(), "-mp", &media, "-rtp_echo"],
    );
    let cport = free_ports(TRUNK_IP, 1).to_string();
    let cmedia = free_ports(TRUNK_IP, 4).to_string();
    let caller = sipp(
        sip,
        "caller_audio.xml",
        &["-s", "3902", "-i", TRUNK_IP, "-p", &cport, "-mp", &cmedia],
    );
    let (code, out) = outcome(agent).await;
    assert_eq!(exit_code(caller).await, 0, "caller scenario completed");
    assert_eq!(exit_code(phone_uas).await, 0, "agent phone got its BYE");
    eprintln!("agent phase: {out}");
    assert_eq!(code, 0, "agent phase failed: {out}");
    let c = &out["checks"];
    assert_eq!(c["wrong_password_error"], "Wrong username or password.");
    assert_eq!(c["available_text"], "Available");
    assert_eq!(c["ringing_caller"], "+33612345678");
    assert_eq!(c["ringing_name"], XSS_NAME, "the name is shown as text");
    assert_eq!(c["after_call_state"], "wrap_up");
    assert!(c["transfer_options"].as_i64().unwrap() >= 3, "{c}");
    assert_eq!(c["transfer_path"], "/api/v1/interactions/ID/transfer");
    assert_eq!(c["transfer_body"], r#"{"queue":1}"#);
    assert_eq!(c["wrap_after_reload"], true, "wrap-up survives a reload");
    assert_eq!(c["sup_current"], "#ID · voice · general · since T");
    assert_eq!(c["sup_current_queue"], "general");
    assert_eq!(
        c["sup_current_after"], "—",
        "no current interaction in wrap-up"
    );
    let first = c["timeline_first"].as_str().unwrap();
    assert!(
        first.contains("resolved"),
        "timeline shows the disposition: {first}"
    );
    assert!(
        first.contains("PUK given <b>bold?</b>"),
        "notes as text: {first}"
    );
    assert_eq!(c["timeline_bold_elements"], 0);
    assert_eq!(c["timeline_name_text"], XSS_NAME);
    assert!(c["search_hit"].as_str().unwrap().starts_with(XSS_NAME));
    assert_eq!(c["script_elements_in_main"], 0);
    assert!(c["agent_scroll_width_390"].as_i64().unwrap() <= 390, "{c}");
    assert!(out.get("dialog").is_none(), "no script ran: {out}");
    assert!(out.get("page_error").is_none(), "no page error: {out}");
    assert_eq!(c["timeline_audio_for_agent"], 0, "agents get no player");
    assert_eq!(c["chat_own"], CHAT_XSS);
    assert!(
        c["agent_all_panes_scroll_width_390"].as_i64().unwrap() <= 390,
        "{c}"
    );

    // The call was recorded: supervisors may play it (audited), agents not.
    let amina = srv.login("amina").await;
    recording_checks(&srv, &sup, &amina).await;

    // Supervisor: queue row, disabled placeholders, mobile layout, French.
    // The agent pauses, so a call to `general` waits: the supervisor's page
    // must show `waiting` go 0 → 1 → 0 live while the caller waits and
    // hangs up (BYE 4 s after the queue answers with music).
    let r = srv
        .http
        .post(srv.url("/api/v1/agent/state"))
        .bearer_auth(&amina)
        .json(&json!({"state": "paused", "reason": "break"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "the agent pauses");
    let mut supervisor = node("supervisor", &base, &config);
    if !wait_ready(&mut supervisor).await {
        let (code, out) = outcome(supervisor).await;
        panic!("the supervisor script stopped before READY ({code}): {out}");
    }
    let cport = free_ports(TRUNK_IP, 1).to_string();
    let cmedia = free_ports(TRUNK_IP, 4).to_string();
    let waiting_caller = sipp(
        sip,
        "caller_audio.xml",
        &["-s", "3902", "-i", TRUNK_IP, "-p", &cport, "-mp", &cmedia],
    );
    assert_eq!(
        exit_code(waiting_caller).await,
        0,
        "the waiting caller hung up"
    );
    let (code, out) = outcome(supervisor).await;
    eprintln!("supervisor phase: {out}");
    assert_eq!(code, 0, "supervisor phase failed: {out}");
    let c = &out["checks"];
    assert_eq!(c["queue_row"], "general");
    assert_eq!(c["queue_waiting"], "0");
    assert_eq!(
        c["waiting_seen"],
        json!(["0", "1", "0"]),
        "live rise and fall"
    );
    assert_eq!(c["current_header"], "Current interaction");
    assert_eq!(
        c["placeholder_title"],
        "Rings your phone, which joins the call (4 listen, 5 whisper, 6 barge)"
    );
    // amina has vip_care 7 (vip needs 5) and no business_care.
    assert_eq!(c["filter_vip_shown"], 1);
    assert_eq!(c["filter_business_shown"], 0);
    assert!(
        c["timeline_audio_label"]
            .as_str()
            .unwrap()
            .starts_with("Recording "),
        "{c}"
    );
    assert_eq!(c["timeline_audio_status"], "200 audio/wav");
    assert_eq!(c["chat_seen"], CHAT_XSS, "the team chat, live and stored");
    assert_eq!(c["chat_img_elements"], 0);

    assert!(c["agent_rows"].as_i64().unwrap() >= 1, "{c}");
    assert_eq!(
        c["monitor_buttons_disabled"].as_i64(),
        c["agent_rows"].as_i64().map(|n| n * 5),
        "listen, whisper, barge, take over and leave wait for a live voice call"
    );
    assert!(
        c["supervisor_scroll_width_390"].as_i64().unwrap() <= 390,
        "{c}"
    );
    assert!(c["login_scroll_width_390"].as_i64().unwrap() <= 390, "{c}");
    assert_eq!(c["login_french_button"], "Se connecter");
    assert!(out.get("page_error").is_none(), "no page error: {out}");
    // A digital conversation (push and endpoints mocked in the browser).
    let (code, out) = outcome(node("digital", &base, &config)).await;
    eprintln!("digital phase: {out}");
    assert_eq!(code, 0, "digital phase failed: {out}");
    let c = &out["checks"];
    assert_eq!(c["offer_title"], "New task (sms)");
    assert_eq!(c["reject_visible"], true);
    assert_eq!(c["accept_posted"], true);
    assert_eq!(c["hold_hidden"], true, "no hold on a text conversation");
    assert_eq!(
        c["close_label"], "Close",
        "no hang-up on a text conversation"
    );
    assert_eq!(
        c["close_shows_wrap"], true,
        "Close opens the disposition form"
    );
    assert_eq!(c["thread_still_visible"], true);
    assert_eq!(c["reply_body"], r#"{"text":"Bonjour <b>!</b>"}"#);
    assert_eq!(
        c["thread_texts"],
        json!([
            MESSAGE_XSS,
            "<script>window.__xss = 2</script>second",
            "Bonjour <b>!</b>"
        ])
    );
    assert_eq!(c["thread_who"], json!(["Customer", "Customer", "You"]));
    assert_eq!(c["thread_markup"], 0, "no element from message text");
    assert_eq!(c["pop_name"], MESSAGE_XSS);
    assert!(c["xss_flag"].is_null(), "no script ran: {c}");
    assert!(
        c["conversation_scroll_width_390"].as_i64().unwrap() <= 390,
        "{c}"
    );
    assert_eq!(c["transferred_msg"], "Transferred to queue:general");
    assert!(
        out.get("dialog").is_none() && out.get("page_error").is_none(),
        "{out}"
    );

    // Admin: a field error next to its field.
    let (code, out) = outcome(node("admin", &base, &config)).await;
    eprintln!("admin phase: {out}");
    assert_eq!(code, 0, "admin phase failed: {out}");
    let c = &out["checks"];
    assert_eq!(c["queue_field_error"], "a whole number from 0 to 3600");
    assert_eq!(c["queue_field_described"], "q-wrap-err");
    assert_eq!(
        c["agent_next_login"],
        "Changes apply at the agent's next ACD login."
    );
    assert_eq!(
        c["agent_skill_error"],
        "\"billing:11\": write skill:level, level 1 to 10 (e.g. billing:7)"
    );
    assert_eq!(c["agent_skill_described"], "a-skills-err");
    let row = c["agent_row"].as_str().unwrap_or_default();
    assert!(row.contains("french:9, billing:10"), "{c}");
    assert!(c["admin_scroll_width_390"].as_i64().unwrap() <= 390, "{c}");

    for f in SCREENSHOTS {
        assert!(shots.join(format!("{f}.png")).is_file(), "{f}.png saved");
    }
    srv.shutdown().await;
}

/// The campaigns page in Chromium (issue 15): a supervisor starts an
/// outbound campaign from a CSV file with a hostile name, sees the bad row
/// reported and the campaign's figures, pauses it; 390 px fits. The trunk's
/// far end is a port nobody answers (the calls fail; the page is the test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaigns_page_in_chromium() {
    let dead = free_ports(TRUNK_IP, 1);
    let p = common::sip::platform_full(None, false, move |s| {
        s.sip.trunks[0].outbound = Some(format!("{TRUNK_IP}:{dead}"));
    })
    .await;
    let srv = p.srv;
    let shots = repo().join("target/screenshots");
    for f in ["campaigns", "campaigns-mobile"] {
        let _ = std::fs::remove_file(shots.join(format!("{f}.png")));
    }
    let config = srv.dir.path().join("browser-campaigns.json");
    // The list as an Excel workbook: a good row and a bad number.
    let xlsx = srv.dir.path().join("list.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, (n, name)) in [
        ("number", "name"),
        ("+33 6 98 76 54 32", "Dupont"),
        ("12", "bad"),
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(r as u32, 0, *n).unwrap();
        sheet.write_string(r as u32, 1, *name).unwrap();
    }
    book.save(&xlsx).unwrap();
    std::fs::write(
        &config,
        json!({
            "supervisor": "supervisor",
            "supervisor_password": srv.password("supervisor"),
            "campaign_name": XSS_NAME,
            "campaign_xlsx": xlsx,
            "screenshots": shots,
            "chromium": std::env::var("SWITCHBOARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        })
        .to_string(),
    )
    .unwrap();
    let base = format!("http://{}", srv.addr);
    let (code, out) = outcome(node("campaigns", &base, &config)).await;
    eprintln!("campaigns phase: {out}");
    assert_eq!(code, 0, "campaigns phase failed: {out}");
    let c = &out["checks"];
    assert_eq!(
        c["missing_list_error"],
        "Choose a contact list (CSV or .xlsx)."
    );
    assert_eq!(
        c["result"],
        "Campaign started: 1 contacts loaded, 1 rows rejected"
    );
    assert_eq!(c["rejected"].as_array().unwrap().len(), 1, "{c}");
    assert!(
        c["rejected"][0].as_str().unwrap().starts_with("Line 3: "),
        "{c}"
    );
    assert_eq!(c["row_name"], XSS_NAME, "the name shows as text");
    assert_eq!(c["markup_in_name"], 0);
    assert_eq!(c["first_state"], "Running");
    assert_eq!(c["paused"], true, "paused, then resumed");
    assert_eq!(
        c["buttons_after_stop"], 0,
        "a stopped campaign offers nothing"
    );
    assert!(
        c["campaigns_scroll_width_390"].as_i64().unwrap() <= 390,
        "{c}"
    );
    assert!(
        out.get("dialog").is_none() && out.get("page_error").is_none(),
        "{out}"
    );
    for f in ["campaigns", "campaigns-mobile"] {
        assert!(shots.join(format!("{f}.png")).is_file(), "{f}.png");
    }
    // The API agrees with the page.
    let sup = srv.login("supervisor").await;
    let list: Value = srv
        .http
        .get(srv.url("/api/v1/dialer/campaigns"))
        .bearer_auth(&sup)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["name"], XSS_NAME);
    assert_eq!(list[0]["state"], "stopped");
}
