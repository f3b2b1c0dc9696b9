//! Issue 16 end to end with real SIP peers (sipp): a team leader (a
//! supervisor user linked to the agent record of her own extension)
//! monitors amina's call from the API. Her phone rings and answers; the
//! timeline gets `monitoring_started`, `monitoring_mode_changed` and
//! `monitoring_ended`, and the audit trail one `monitoring` entry per
//! request. Agents get 403, an unknown call 404, a call not connected to an
//! agent 409, a bad mode 400. Who hears whom in each mode is tested on the
//! audio itself in `crates/voice/tests/supervise.rs` (pjsua2, three tones).

mod common;

use common::sip::*;
use serde_json::{Value, json};

async fn send(p: &Platform, token: &str, method: reqwest::Method, path: &str, body: Value) -> u16 {
    p.srv
        .http
        .request(method, p.srv.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The interaction's events, by kind name, in order.
async fn kinds(p: &Platform, token: &str, id: i64) -> Vec<String> {
    get(p, token, &format!("/api/v1/interactions/{id}/events"))
        .await
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["kind"]["type"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// amina's live call: her desktop socket (and what it showed), the team
/// leader's (moussa's) registered phone port, amina's answering phone, the
/// caller on 3902 talking until BYE, and the interaction.
struct LiveCall {
    aws: Ws,
    seen: Vec<String>,
    lport: u16,
    amina_phone: tokio::process::Child,
    caller: tokio::process::Child,
    id: i64,
}

/// Register amina's and moussa's phones, log amina in to the ACD, and put a
/// caller through to her.
async fn live_call(p: &Platform, amina: &str) -> LiveCall {
    let mut aws = desktop(p, amina).await;
    let mut seen = Vec::new();
    let aport = register_phone(p, "amina").await;
    let lport = register_phone(p, "moussa").await;
    assert_eq!(post(p, amina, "/api/v1/agent/login", json!({})).await, 204);
    let amina_phone = answering_phone(p, aport);
    let caller = trunk_call(p, "caller_talk_until_bye.xml", "3902");
    let id = next_of(&mut aws, "answered", &mut seen).await["interaction_id"]
        .as_i64()
        .unwrap();
    LiveCall {
        aws,
        seen,
        lport,
        amina_phone,
        caller,
        id,
    }
}

/// A supervisor user `lead` whose phone is the extension of the demo agent
/// moussa's record (a team leader); returns its token.
async fn team_leader(p: &Platform, admin: &str) -> String {
    let agents = get(p, admin, "/api/v1/agents").await;
    let moussa = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["login"] == "moussa")
        .and_then(|a| a["id"].as_i64())
        .expect("demo agent moussa");
    // The team leader's user rings the extension of moussa's agent record.
    let st = send(
        p,
        admin,
        reqwest::Method::POST,
        "/api/v1/users",
        json!({"username": "lead", "password": "a long enough pw", "role": "supervisor", "agent_id": moussa}),
    )
    .await;
    assert_eq!(st, 201);
    let r = p
        .srv
        .http
        .post(p.srv.url("/api/v1/auth/login"))
        .json(&json!({"username": "lead", "password": "a long enough pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_leader_listens_whispers_and_leaves_a_live_call() {
    let p = platform().await;
    let admin = p.srv.login("admin").await;
    let amina = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let lead = team_leader(&p, &admin).await;

    let LiveCall {
        aws: _aws,
        seen: _,
        lport,
        amina_phone,
        caller,
        id,
    } = live_call(&p, &amina).await;
    let path = format!("/api/v1/interactions/{id}/monitor");
    let put = reqwest::Method::PUT;

    // Refusals first.
    assert_eq!(
        send(&p, &amina, put.clone(), &path, json!({"mode": "listen"})).await,
        403
    );
    assert_eq!(
        send(
            &p,
            &lead,
            put.clone(),
            "/api/v1/interactions/999999/monitor",
            json!({"mode": "listen"})
        )
        .await,
        404
    );
    assert_eq!(
        send(&p, &lead, put.clone(), &path, json!({"mode": "shout"})).await,
        400
    );
    // The demo supervisor has no phone registered: 409, nothing joined.
    assert_eq!(
        send(&p, &sup, put.clone(), &path, json!({"mode": "listen"})).await,
        409
    );

    // Listen: the team leader's phone rings, answers, joins.
    let lead_phone = answering_phone(&p, lport);
    assert_eq!(
        send(&p, &lead, put.clone(), &path, json!({"mode": "listen"})).await,
        204
    );
    let ev = next_event(&p, &sup, "monitoring_started", 0).await;
    assert_eq!(ev["interaction_id"], id);
    assert_eq!(
        (
            ev["kind"]["supervisor"].as_str(),
            ev["kind"]["mode"].as_str()
        ),
        (Some("lead"), Some("listen"))
    );
    // Someone else cannot join the same call meanwhile.
    assert_eq!(
        send(&p, &sup, put.clone(), &path, json!({"mode": "barge"})).await,
        409
    );
    // Whisper: the same leg, a new mode.
    assert_eq!(
        send(&p, &lead, put.clone(), &path, json!({"mode": "whisper"})).await,
        204
    );
    let ev = next_event(&p, &sup, "monitoring_mode_changed", 0).await;
    assert_eq!(ev["kind"]["mode"], "whisper");
    // Leave: the phone gets its BYE, the call goes on.
    assert_eq!(
        send(&p, &lead, reqwest::Method::DELETE, &path, json!({})).await,
        204
    );
    assert_eq!(
        exit_code(lead_phone).await,
        0,
        "the team leader's phone got its BYE"
    );
    next_event(&p, &sup, "monitoring_ended", 0).await;
    let k = kinds(&p, &sup, id).await;
    let started = k.iter().position(|x| x == "monitoring_started").unwrap();
    let changed = k
        .iter()
        .position(|x| x == "monitoring_mode_changed")
        .unwrap();
    let ended = k.iter().position(|x| x == "monitoring_ended").unwrap();
    assert!(started < changed && changed < ended, "{k:?}");
    assert!(
        !k.iter().any(|x| x == "ended"),
        "the call itself goes on: {k:?}"
    );
    assert_eq!(
        send(&p, &lead, reqwest::Method::DELETE, &path, json!({})).await,
        409
    );

    assert_eq!(hang_up(&p, &amina, id).await, 204);
    assert_eq!(exit_code(caller).await, 0, "the caller got the BYE");
    assert_eq!(exit_code(amina_phone).await, 0, "amina's phone got the BYE");

    // The audit trail: listen, whisper, leave by `lead` (refusals are not
    // audited).
    let store = store::open(&p.settings.database_url()).await.unwrap();
    let mut audit = store
        .list_audit(&store::AuditFilter {
            action: Some(store::AuditAction::Monitoring),
            ..Default::default()
        })
        .await
        .unwrap();
    audit.reverse(); // newest first → in order
    let modes: Vec<String> = audit
        .iter()
        .map(|e| {
            assert_eq!(e.target, format!("interaction:{id}"));
            let after: Value = serde_json::from_str(e.after.as_deref().unwrap_or("null")).unwrap();
            after["mode"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(modes, ["listen", "whisper", "ended"]);
}

/// Take over ("reprise d'appel") with real SIP peers: the team leader on
/// the call takes it; amina's phone gets its BYE and amina goes to wrap-up
/// while the caller stays on the line with the team leader, until the team
/// leader hangs up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_leader_takes_a_live_call_over() {
    let p = platform().await;
    let admin = p.srv.login("admin").await;
    let amina = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let lead = team_leader(&p, &admin).await;
    let LiveCall {
        mut aws,
        mut seen,
        lport,
        amina_phone,
        caller,
        id,
    } = live_call(&p, &amina).await;
    let take = format!("/api/v1/interactions/{id}/take-over");
    let post_m = reqwest::Method::POST;
    assert_eq!(
        send(&p, &lead, post_m.clone(), &take, json!({})).await,
        409,
        "not on the call yet"
    );
    let lead_phone = answering_phone(&p, lport);
    let monitor = format!("/api/v1/interactions/{id}/monitor");
    assert_eq!(
        send(
            &p,
            &lead,
            reqwest::Method::PUT,
            &monitor,
            json!({"mode": "whisper"})
        )
        .await,
        204
    );
    next_event(&p, &sup, "monitoring_started", 0).await;
    assert_eq!(
        send(&p, &amina, post_m.clone(), &take, json!({})).await,
        403
    );
    assert_eq!(send(&p, &lead, post_m.clone(), &take, json!({})).await, 204);
    let ev = next_event(&p, &sup, "taken_over", 0).await;
    assert_eq!(ev["kind"]["supervisor"], "lead");
    assert_eq!(exit_code(amina_phone).await, 0, "amina's phone got its BYE");
    let ended = next_of(&mut aws, "ended", &mut seen).await;
    assert_eq!(
        (ended["interaction_id"].as_i64(), ended["reason"].as_str()),
        (Some(id), Some("taken_over"))
    );
    let k = kinds(&p, &sup, id).await;
    assert!(!k.iter().any(|x| x == "ended"), "the call goes on: {k:?}");
    // The team leader hangs up: the call ends and the caller gets its BYE.
    assert_eq!(
        send(&p, &lead, reqwest::Method::DELETE, &monitor, json!({})).await,
        204
    );
    assert_eq!(exit_code(lead_phone).await, 0);
    assert_eq!(exit_code(caller).await, 0, "the caller got the BYE");
    next_event(&p, &sup, "ended", 0).await;
    let k = kinds(&p, &sup, id).await;
    let over = k.iter().position(|x| x == "taken_over").unwrap();
    let end = k.iter().position(|x| x == "ended").unwrap();
    assert!(over < end, "{k:?}");
    assert_eq!(
        k.iter().filter(|x| *x == "wrap_up_started").count(),
        1,
        "{k:?}"
    );
}

/// The supervisor page in a real browser (Debian chromium, npm
/// playwright-core; tests/browser/listen.mjs): on amina's live call the
/// team leader clicks Listen (their phone rings and answers), then
/// Whisper, then Leave; the call's timeline has the three steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_leader_clicks_listen_whisper_and_leave_in_chromium() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "run `npm ci --prefix crates/switchboard/tests/browser` first"
    );
    let p = platform().await;
    let admin = p.srv.login("admin").await;
    let amina = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    team_leader(&p, &admin).await;
    let amina_name = get(&p, &admin, "/api/v1/agents")
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["login"] == "amina")
        .and_then(|a| a["name"].as_str().map(str::to_string))
        .expect("demo agent amina");
    let LiveCall {
        aws: _aws,
        seen: _,
        lport,
        amina_phone,
        caller,
        id,
    } = live_call(&p, &amina).await;
    let lead_phone = answering_phone(&p, lport);
    let args = [
        dir.join("listen.mjs").display().to_string(),
        format!("http://{}", p.srv.addr),
        std::env::var("SWITCHBOARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "lead".into(),
        "a long enough pw".into(),
        amina_name,
    ];
    let run = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tokio::process::Command::new("node")
            .args(&args)
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("listen.mjs did not finish")
    .expect("node must be installed (Debian package nodejs)");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "listen.mjs failed: {stdout}");
    assert_eq!(
        exit_code(lead_phone).await,
        0,
        "the team leader's phone got its BYE"
    );
    next_event(&p, &sup, "monitoring_ended", 0).await;
    let k = kinds(&p, &sup, id).await;
    let steps: Vec<&str> = k
        .iter()
        .map(String::as_str)
        .filter(|x| x.starts_with("monitoring_"))
        .collect();
    assert_eq!(
        steps,
        [
            "monitoring_started",
            "monitoring_mode_changed",
            "monitoring_ended"
        ]
    );
    assert_eq!(hang_up(&p, &amina, id).await, 204);
    assert_eq!(exit_code(caller).await, 0);
    assert_eq!(exit_code(amina_phone).await, 0);
}
