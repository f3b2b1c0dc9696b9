//! Outbound voice campaigns end to end with real SIP peers (issue 15): a
//! supervisor starts a progressive campaign from a CSV list through the
//! API; the dialer calls the contact through the outbound trunk (a sipp UAS
//! playing the operator's switch, checking the number and caller-ID), the
//! live answer is handed to amina through the ACD (screen-pop, her phone —
//! a sipp UAS — rings and answers), she hangs up and dispositions, and the
//! campaign's figures count one call placed and connected.

mod common;

use common::sip::*;
use serde_json::{Value, json};

async fn post_json(p: &Platform, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = p
        .srv
        .http
        .post(p.srv.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_progressive_campaign_calls_the_list_and_connects_an_agent() {
    let trunk_port = free_ports(TRUNK_IP, 1);
    let p = platform_full(None, false, move |s| {
        s.sip.trunks[0].outbound = Some(format!("{TRUNK_IP}:{trunk_port}"));
        s.sip.trunks[0].caller_id = Some("+33100000000".into());
    })
    .await;
    let amina = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let mut aws = desktop(&p, &amina).await;
    let mut seen = Vec::new();

    // Bad requests are refused with a reason and start nothing.
    let (st, body) = post_json(
        &p,
        &sup,
        "/api/v1/dialer/campaigns",
        json!({"name": "x", "queue": "nope", "mode": "progressive", "contacts_csv": "number\n+33698765432\n"}),
    )
    .await;
    assert_eq!(st, 422, "{body}");
    let (st, _) = post_json(
        &p,
        &sup,
        "/api/v1/dialer/campaigns",
        json!({"name": "x", "queue": "general", "mode": "progressive", "contacts_csv": "nom\nDupont\n"}),
    )
    .await;
    assert_eq!(st, 422, "a list without a number column");
    let (st, body) = post_json(
        &p,
        &sup,
        "/api/v1/dialer/campaigns",
        json!({"name": "x", "queue": "general", "mode": "progressive",
               "follow_up_sms": "Bonjour {{prenom}}", "contacts_csv": "number\n+33698765432\n"}),
    )
    .await;
    assert_eq!(st, 422, "{body}");
    assert!(
        body.to_string().contains("unknown placeholder {{prenom}}"),
        "{body}"
    );
    let (st, _) = post_json(
        &p,
        &amina,
        "/api/v1/dialer/campaigns",
        json!({"name": "x", "queue": "general", "mode": "progressive", "contacts_csv": "number\n+33698765432\n"}),
    )
    .await;
    assert_eq!(st, 403, "agents cannot start campaigns");

    // amina is ready with her phone registered before the campaign starts.
    let switch = sipp(
        p.sip,
        "trunk_uas.xml",
        &[
            "-i",
            TRUNK_IP,
            "-p",
            &trunk_port.to_string(),
            "-mp",
            &free_ports(TRUNK_IP, 4).to_string(),
        ],
    );
    // The number belongs to a known customer: the list links them and the
    // screen-pop shows their record with the outbound card.
    let (st, dupont) = post_json(
        &p,
        &amina,
        "/api/v1/customers",
        json!({"name": "Jeanne Dupont", "phones": ["+33698765432"]}),
    )
    .await;
    assert_eq!(st, 201, "{dupont}");
    let aport = register_phone(&p, "amina").await;
    let amina_phone = answering_phone(&p, aport);
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );

    let (st, started) = post_json(
        &p,
        &sup,
        "/api/v1/dialer/campaigns",
        json!({
            "name": "Relance impayés",
            "queue": "general",
            "mode": "progressive",
            "window": "always",
            "script": "Bonjour {{name}}, ici {{campaign}}.",
            "contacts_csv": "number,name\n+33 6 98 76 54 32,Dupont\n12,bad\n+33698765432,again\n"
        }),
    )
    .await;
    assert_eq!(st, 201, "{started}");
    assert_eq!(started["contacts"], 1);
    let rejected = started["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "a bad number and a duplicate: {started}");

    let offer = next_of(&mut aws, "offer", &mut seen).await;
    assert_eq!(offer["screen_pop"]["caller"], "+33698765432");
    assert_eq!(offer["screen_pop"]["customer"]["id"], dupont["id"]);
    let card = &offer["screen_pop"]["campaign"];
    assert_eq!(
        (card["name"].as_str(), card["attempt"].as_u64()),
        (Some("Relance impayés"), Some(1)),
        "{offer}"
    );
    assert_eq!(
        card["script"],
        "Bonjour Jeanne Dupont, ici Relance impayés."
    );
    let id = offer["interaction_id"].as_i64().unwrap();
    let answered = next_of(&mut aws, "answered", &mut seen).await;
    assert_eq!(answered["interaction_id"], id);
    assert_eq!(hang_up(&p, &amina, id).await, 204);
    assert_eq!(
        exit_code(switch).await,
        0,
        "the switch got the campaign call (number, caller-ID) and its BYE"
    );
    assert_eq!(exit_code(amina_phone).await, 0);
    next_of(&mut aws, "ended", &mut seen).await;
    assert_eq!(
        post(
            &p,
            &amina,
            &format!("/api/v1/interactions/{id}/disposition"),
            json!({"code": "resolved"})
        )
        .await,
        204
    );
    let figures = get(&p, &sup, "/api/v1/dialer/campaigns").await;
    let c = &figures[0];
    assert_eq!(c["name"], "Relance impayés");
    assert_eq!(
        (
            c["dialed"].as_u64(),
            c["live"].as_u64(),
            c["connected"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{figures}"
    );
    assert_eq!(c["abandoned"], 0);
    assert_eq!(
        (c["agents"].as_u64(), c["calls_in_flight"].as_u64()),
        (Some(1), Some(0)),
        "amina serves the queue; nothing rings now: {figures}"
    );
    assert_eq!(c["abandon_24h_pct"], 0.0);
    let i = get(&p, &sup, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(i["direction"], "outbound");
    assert_eq!(i["channel"], "voice");
    assert_eq!(i["disposition"], "resolved");
    let cid = c["id"].as_u64().unwrap();
    let r = p
        .srv
        .http
        .post(p.srv.url(&format!("/api/v1/dialer/campaigns/{cid}/pause")))
        .bearer_auth(&sup)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    p.srv.shutdown().await;
}

/// A .xlsx list: a header, then the rows given (number, name).
fn xlsx(rows: &[(&str, &str)]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "number").unwrap();
    sheet.write_string(0, 1, "name").unwrap();
    for (i, (n, name)) in rows.iter().enumerate() {
        sheet.write_string(i as u32 + 1, 0, *n).unwrap();
        sheet.write_string(i as u32 + 1, 1, *name).unwrap();
    }
    book.save_to_buffer().unwrap()
}

async fn post_empty(p: &Platform, token: &str, path: &str) -> u16 {
    p.srv
        .http
        .post(p.srv.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The campaign's figures, read until `done` holds (deadline 20 s).
async fn figures_until(p: &Platform, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let f = get(p, token, "/api/v1/dialer/campaigns").await;
        if done(&f[0]) {
            return f[0].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "figures never reached the expected state: {f}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A contact's stored progress: (status, attempts, last disposition).
async fn stored_contact(p: &Platform, number: &str) -> (String, i64, Option<String>) {
    use sqlx::Connection;
    let url = &p.settings.database.url;
    let q = "SELECT status, attempts, last_disposition FROM dial_contacts WHERE number = $1";
    if url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_as(q)
            .bind(number)
            .fetch_one(&mut db)
            .await
            .unwrap()
    } else {
        let mut db = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_as(q)
            .bind(number)
            .fetch_one(&mut db)
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_keeps_its_list_state_and_counts_across_restarts() {
    keeps_across_restarts(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_keeps_its_list_state_and_counts_across_restarts_on_postgres() {
    keeps_across_restarts(true).await;
}

async fn keeps_across_restarts(pg: bool) {
    let trunk_port = free_ports(TRUNK_IP, 1);
    let p = platform_full(None, pg, move |s| {
        s.sip.trunks[0].outbound = Some(format!("{TRUNK_IP}:{trunk_port}"));
        s.sip.trunks[0].caller_id = Some("+33100000000".into());
    })
    .await;
    let amina = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let switch = sipp(
        p.sip,
        "trunk_busy.xml",
        &[
            "-i",
            TRUNK_IP,
            "-p",
            &trunk_port.to_string(),
            "-mp",
            &free_ports(TRUNK_IP, 4).to_string(),
        ],
    );
    register_phone(&p, "amina").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    let (st, started) = post_json(
        &p,
        &sup,
        "/api/v1/dialer/campaigns",
        json!({"name": "Relance", "queue": "general", "mode": "progressive", "window": "always",
               "contacts_csv": "number\n+33698765432\n"}),
    )
    .await;
    assert_eq!(st, 201, "{started}");
    let id = started["id"].as_u64().unwrap();
    // The switch answers busy: one attempt, retried by rule (10 min later).
    assert_eq!(exit_code(switch).await, 0, "the switch got the call");
    let f = figures_until(&p, &sup, |c| c["busy"] == 1).await;
    assert_eq!(
        (f["dialed"].as_u64(), f["state"].as_str()),
        (Some(1), Some("running"))
    );
    let base = format!("/api/v1/dialer/campaigns/{id}");
    assert_eq!(post_empty(&p, &sup, &format!("{base}/pause")).await, 204);

    // An .xlsx list: one good row, one bad number, one number already listed.
    let body = xlsx(&[
        ("+33 6 11 22 33 44", "Martin"),
        ("12", "bad"),
        ("+33698765432", "again"),
    ]);
    let r = p
        .srv
        .http
        .post(p.srv.url(&format!("{base}/contacts")))
        .bearer_auth(&sup)
        .header(
            "content-type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let up: Value = r.json().await.unwrap();
    assert_eq!(up["added"], 1, "{up}");
    let lines: Vec<u64> = up["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4], "the bad row and the listed number: {up}");
    assert!(
        up["rejected"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("already"),
        "{up}"
    );
    // A CSV upload too, and a type that is neither.
    let r = p
        .srv
        .http
        .post(p.srv.url(&format!("{base}/contacts")))
        .bearer_auth(&sup)
        .header("content-type", "text/csv")
        .body("number\n+33 6 55 44 33 22\nnot a number\n")
        .send()
        .await
        .unwrap();
    let up: Value = r.json().await.unwrap();
    assert_eq!(
        (up["added"].as_u64(), up["rejected"][0]["line"].as_u64()),
        (Some(1), Some(3)),
        "{up}"
    );
    let r = p
        .srv
        .http
        .post(p.srv.url(&format!("{base}/contacts")))
        .bearer_auth(&sup)
        .header("content-type", "image/png")
        .body(vec![1u8, 2, 3])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    // Restart: the campaign comes back paused, with its list and counts.
    let p = restart(p).await;
    let sup = p.srv.login("supervisor").await;
    let f = get(&p, &sup, "/api/v1/dialer/campaigns").await;
    let c = &f[0];
    assert_eq!(
        (
            c["id"].as_u64(),
            c["state"].as_str(),
            c["contacts"].as_u64()
        ),
        (Some(id), Some("paused"), Some(3)),
        "{f}"
    );
    assert_eq!(
        (
            c["dialed"].as_u64(),
            c["busy"].as_u64(),
            c["connected"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{f}"
    );
    assert_eq!(
        stored_contact(&p, "+33698765432").await,
        ("due".to_string(), 1, Some("busy".to_string()))
    );
    assert_eq!(
        stored_contact(&p, "+33611223344").await,
        ("due".to_string(), 0, None)
    );

    // Stop: final; neither resume nor pause brings it back.
    assert_eq!(post_empty(&p, &sup, &format!("{base}/stop")).await, 204);
    assert_eq!(post_empty(&p, &sup, &format!("{base}/resume")).await, 409);
    assert_eq!(post_empty(&p, &sup, &format!("{base}/pause")).await, 409);
    let p = restart(p).await;
    let sup = p.srv.login("supervisor").await;
    let f = get(&p, &sup, "/api/v1/dialer/campaigns").await;
    assert_eq!(
        (f[0]["state"].as_str(), f[0]["dialed"].as_u64()),
        (Some("stopped"), Some(1)),
        "{f}"
    );
    assert_eq!(post_empty(&p, &sup, &format!("{base}/resume")).await, 409);
    p.srv.shutdown().await;
}

/// Preview dialling on the agent desktop in a real browser (Debian
/// chromium, npm playwright-core; tests/browser/preview.mjs): the card
/// shows the first contact, Skip shows the second, Call dials it; the API
/// says 409 once nothing is previewed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_campaign_on_the_agent_desktop_in_chromium() {
    use tokio::io::AsyncBufReadExt;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "run `npm ci --prefix crates/switchboard/tests/browser` first"
    );
    let trunk_port = free_ports(TRUNK_IP, 1);
    let p = platform_full(None, false, move |s| {
        s.sip.trunks[0].outbound = Some(format!("{TRUNK_IP}:{trunk_port}"));
    })
    .await;
    let amina = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let (first, second) = ("+33698765401", "+33698765402");
    let mut node = tokio::process::Command::new("node")
        .arg(dir.join("preview.mjs"))
        .arg(format!("http://{}", p.srv.addr))
        .arg(std::env::var("SWITCHBOARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
        .args(["amina", &p.srv.password("amina"), first, second])
        .current_dir(&dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node must be installed (Debian package nodejs)");
    // The desktop is live before the first preview is pushed.
    let mut lines = tokio::io::BufReader::new(node.stderr.take().unwrap()).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.trim() == "READY" {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true), "the desktop never came up");
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    let (st, started) = post_json(
        &p,
        &sup,
        "/api/v1/dialer/campaigns",
        json!({
            "name": "Relance preview",
            "queue": "general",
            "mode": "preview",
            "window": "always",
            "contacts_csv": format!("number\n{first}\n{second}\n"),
        }),
    )
    .await;
    assert_eq!(st, 201, "{started}");
    let run = tokio::time::timeout(std::time::Duration::from_secs(120), node.wait_with_output())
        .await
        .expect("preview.mjs did not finish")
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "preview.mjs failed: {stdout}");
    let f = figures_until(&p, &sup, |f| f["dialed"] == 1).await;
    assert_eq!(f["dialed"], 1, "{f}");
    assert_eq!(
        post_empty(&p, &amina, "/api/v1/agent/preview/call").await,
        409,
        "nothing previewed any more"
    );
}
