//! The main job end to end with real SIP peers (Debian `sip-tester`, sipp):
//! a trunk call enters a queue or an IVR flow, the ACD rings a registered
//! agent phone while the agent's desktop gets the screen-pop over the
//! WebSocket, the agent answers, the call is recorded, the caller hangs up,
//! the agent posts a disposition, and a survey waits in the outbox.

mod common;

use common::sip::*;

use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunk_call_queued_answered_recorded_dispositioned_and_surveyed() {
    main_scenario(platform().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_call_with_the_store_on_postgresql() {
    main_scenario(platform_with(None, true).await).await;
}

/// Milliseconds since the epoch of an RFC 3339 time as the API writes it.
fn chrono_ms(s: &str) -> i64 {
    let t: domain::Timestamp = serde_json::from_value(Value::from(s)).unwrap();
    t.as_millis()
}

async fn main_scenario(p: Platform) {
    let token = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let mut ws = desktop(&p, &token).await;
    let mut sup_ws = desktop(&p, &sup).await;
    let mut seen = Vec::new();
    assert_eq!(next_of(&mut ws, "hello", &mut seen).await["user"], "amina");

    // Without ACD login the agent gets nothing; with it, they are available.
    let phone = register_phone(&p, "amina").await;
    assert_eq!(
        post(&p, &token, "/api/v1/agent/login", json!({})).await,
        204
    );
    assert_eq!(
        next_of(&mut ws, "agent_state", &mut seen).await["state"],
        "available"
    );
    assert_eq!(
        post(&p, &token, "/api/v1/agent/login", json!({})).await,
        409,
        "already logged in"
    );

    // The agent phone answers and echoes RTP; the caller plays 2 s of tone and hangs up.
    let agent = answering_phone(&p, phone);
    let caller = trunk_call(&p, "caller_audio.xml", "3902");

    // Screen-pop first, with the caller's record.
    let offer = next_of(&mut ws, "offer", &mut seen).await;
    assert_eq!(offer["v"], 1);
    assert_eq!(offer["channel"], "voice");
    assert_eq!(offer["queue"], "general");
    assert_eq!(offer["screen_pop"]["caller"], "+33612345678");
    assert_eq!(offer["screen_pop"]["customer"]["phones"][0], "+33612345678");
    let id = offer["interaction_id"].as_i64().unwrap();
    let answered = next_of(&mut ws, "answered", &mut seen).await;
    assert_eq!(answered["interaction_id"], id);
    let pos_offer = seen.iter().position(|t| t == "offer").unwrap();
    let pos_answered = seen.iter().position(|t| t == "answered").unwrap();
    assert!(
        pos_offer < pos_answered,
        "the screen-pop comes before the answer: {seen:?}"
    );
    let ended = next_of(&mut ws, "ended", &mut seen).await;
    assert_eq!(ended["interaction_id"], id);
    assert_eq!(
        next_of(&mut ws, "agent_state", &mut seen).await["state"],
        "wrap_up"
    );
    assert_eq!(exit_code(caller).await, 0, "caller scenario completed");
    assert_eq!(exit_code(agent).await, 0, "agent phone got its BYE");

    // Supervisors saw the queue figures move.
    let q = next_of(&mut sup_ws, "queue_stats", &mut Vec::new()).await;
    assert!(q["name"].is_string());

    // Disposition ends wrap-up; the events tell the whole story.
    assert_eq!(
        post(
            &p,
            &token,
            &format!("/api/v1/interactions/{id}/disposition"),
            json!({"code": "nope"})
        )
        .await,
        422
    );
    assert_eq!(
        post(
            &p,
            &token,
            &format!("/api/v1/interactions/{id}/disposition"),
            json!({"code": "resolved", "notes": "PUK given"})
        )
        .await,
        204
    );
    assert_eq!(
        next_of(&mut ws, "agent_state", &mut seen).await["state"],
        "available"
    );
    let me = get(&p, &token, "/api/v1/agent/state").await;
    assert_eq!(me["agent"], 1, "{me}");
    let i = get(&p, &token, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(i["disposition"], "resolved");
    assert_eq!(i["end_reason"], "caller_hangup");
    assert_eq!(i["agent_id"], 1);
    let evs = get(&p, &token, &format!("/api/v1/interactions/{id}/events")).await;
    let kinds: Vec<&str> = evs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"]["type"].as_str().unwrap())
        .collect();
    for k in [
        "interaction_created",
        "queued",
        "offered",
        "answered",
        "recording_started",
        "ended",
        "wrap_up_started",
        "disposition_set",
        "wrap_up_ended",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    // Receive quality of both legs is kept on the interaction.
    let quality: Vec<&Value> = evs
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"]["type"] == "media_quality")
        .collect();
    let mut legs: Vec<&str> = quality
        .iter()
        .map(|e| e["kind"]["leg"].as_str().unwrap())
        .collect();
    legs.sort();
    assert_eq!(legs, vec!["agent", "caller"], "{quality:?}");
    for q in &quality {
        let mos = q["kind"]["mos"].as_f64().unwrap();
        assert!((1.0..=4.5).contains(&mos), "{q}");
    }
    let answered = evs
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"]["type"] == "answered")
        .unwrap();
    let waited = answered["kind"]["waited_ms"].as_i64().unwrap();
    assert!((0..15_000).contains(&waited), "waited {waited} ms");

    // The figures a report needs come back exactly from the events alone.
    let typed: Vec<domain::Event> = serde_json::from_value(evs.clone()).unwrap();
    let f = domain::figures::Figures::from_events(&typed);
    let ms = |v: &Value| {
        domain::Timestamp::from_millis(chrono_ms(v.as_str().expect("an RFC 3339 time")))
    };
    assert_eq!(f.wait_ms, Some(waited));
    assert_eq!(
        f.talk_ms,
        ms(&i["ended_at"]).millis_since(ms(&i["answered_at"])),
        "talk = answer to end, as on the interaction"
    );
    assert!((1_000..10_000).contains(&f.talk_ms), "{f:?}");
    assert!(f.wrap_up_ms > 0 && f.wrap_up_ms < 30_000, "{f:?}");
    assert_eq!(
        (f.answers, f.transfers, f.hold_ms, f.abandoned),
        (1, 0, 0, None)
    );

    // The recording: a stereo WAV, about as long as the talk (caller hangs up ~4 s after answer).
    let rec = p.srv.dir.path().join(format!("recordings/{id}.wav"));
    let mut found = false;
    for _ in 0..100 {
        if get(&p, &token, &format!("/api/v1/interactions/{id}")).await["recording"].is_string() {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "recording linked to the interaction");
    let wav = hound::WavReader::open(&rec).expect("recording file");
    assert_eq!(wav.spec().channels, 2);
    let secs = wav.duration() as f64 / f64::from(wav.spec().sample_rate);
    assert!((2.0..8.0).contains(&secs), "recording lasts {secs} s");

    // The survey waits in the outbox for the caller's number.
    let survey = outbox_message(&p, &sup, |m| {
        m["purpose"] == "survey" && m["interaction_id"] == id
    })
    .await;
    assert_eq!(survey["recipient"], "+33612345678");
    assert_eq!(survey["channel"], "sms");

    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_abandons_while_waiting() {
    caller_abandons_while_waiting_on(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_abandons_while_waiting_on_postgresql() {
    caller_abandons_while_waiting_on(true).await;
}

async fn caller_abandons_while_waiting_on(pg: bool) {
    let p = platform_with(None, pg).await;
    let sup = p.srv.login("supervisor").await;
    // No agent: the caller waits with music, then hangs up (BYE 4 s after answer).
    let base = last_seq(&p, &sup).await;
    let caller = trunk_call(&p, "caller_audio.xml", "3902");
    assert_eq!(exit_code(caller).await, 0);
    let ab = next_event(&p, &sup, "abandoned", base).await;
    let waited = ab["kind"]["waited_ms"].as_i64().unwrap();
    assert!(waited > 0);
    assert_eq!(
        ab["kind"]["short"],
        waited < 5_000,
        "short abandon follows the 5 s threshold"
    );
    let id = ab["interaction_id"].as_i64().unwrap();
    let i = get(&p, &sup, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(i["end_reason"], "abandoned");
    assert!(i["answered_at"].is_null());
    let general = queue_figures(&p, &sup, "general").await;
    assert_eq!(
        (
            general["waiting"].as_i64(),
            general["counters"]["abandoned"].as_i64()
        ),
        (Some(0), Some(1))
    );
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_no_answer_moves_the_call_to_the_next_agent() {
    ring_no_answer_moves_the_call_to_the_next_agent_on(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_no_answer_moves_the_call_to_the_next_agent_on_postgresql() {
    ring_no_answer_moves_the_call_to_the_next_agent_on(true).await;
}

async fn ring_no_answer_moves_the_call_to_the_next_agent_on(pg: bool) {
    // Ring time-out 4 s. amina logs in first (longest idle: offered first) but
    // nothing answers on her phone's address; koffi's phone answers.
    let p = platform_with(Some(|q| q.ring_timeout_s = 4), pg).await;
    let amina = p.srv.login("amina").await;
    let koffi = p.srv.login("koffi").await;
    let sup = p.srv.login("supervisor").await;
    let mut amina_ws = desktop(&p, &amina).await;
    let mut koffi_ws = desktop(&p, &koffi).await;
    let _dead_port = register_phone(&p, "amina").await; // registered, then silent
    let koffi_port = register_phone(&p, "koffi").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        post(&p, &koffi, "/api/v1/agent/login", json!({})).await,
        204
    );

    let koffi_phone = answering_phone(&p, koffi_port);
    let caller = trunk_call(&p, "caller_audio_wait.xml", "3902");

    // amina's desktop: the offer, then (in either order) the cancel with
    // reason rona and her pause with reason rona.
    let mut msgs: Vec<Value> = Vec::new();
    let mut id = None;
    let (mut cancelled, mut paused) = (false, false);
    while !(cancelled && paused) {
        let msg = tokio::time::timeout(WAIT, amina_ws.next())
            .await
            .expect("a push in time")
            .unwrap()
            .unwrap();
        let tokio_tungstenite::tungstenite::Message::Text(t) = msg else {
            continue;
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        match v["type"].as_str() {
            Some("offer") => id = v["interaction_id"].as_i64(),
            Some("offer_cancelled") => {
                assert_eq!(
                    (v["interaction_id"].as_i64(), v["reason"].as_str()),
                    (id, Some("rona")),
                    "{msgs:?}"
                );
                cancelled = true;
            }
            Some("agent_state") if v["state"] == "paused" => {
                assert_eq!(v["reason"], "rona");
                paused = true;
            }
            _ => {}
        }
        msgs.push(v);
    }
    let id = id.expect("amina was offered the call first");

    let mut kseen = Vec::new();
    let second = next_of(&mut koffi_ws, "offer", &mut kseen).await;
    assert_eq!(
        second["interaction_id"].as_i64(),
        Some(id),
        "the same call, kept in its place"
    );
    next_of(&mut koffi_ws, "answered", &mut kseen).await;
    // koffi ends the call from his desktop: the platform hangs up both sides.
    assert_eq!(hang_up(&p, &koffi, id).await, 204);
    assert_eq!(
        exit_code(caller).await,
        0,
        "the caller got the platform's BYE"
    );
    assert_eq!(
        exit_code(koffi_phone).await,
        0,
        "koffi's phone got the platform's BYE"
    );

    let evs = get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await;
    let by_kind = |k: &str| -> Vec<i64> {
        evs.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"]["type"] == k)
            .map(|e| e["agent_id"].as_i64().unwrap_or(0))
            .collect()
    };
    assert_eq!(
        by_kind("offered"),
        vec![1, 2],
        "offered to amina (1), then koffi (2)"
    );
    assert_eq!(by_kind("rona"), vec![1]);
    assert_eq!(by_kind("answered"), vec![2]);
    let i = get(&p, &sup, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(
        (i["agent_id"].as_i64(), i["end_reason"].as_str()),
        (Some(2), Some("agent_hangup"))
    );
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_all_first_answer_wins_and_the_other_phone_stops() {
    ring_all_first_answer_wins_and_the_other_phone_stops_on(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_all_first_answer_wins_and_the_other_phone_stops_on_postgresql() {
    ring_all_first_answer_wins_and_the_other_phone_stops_on(true).await;
}

async fn ring_all_first_answer_wins_and_the_other_phone_stops_on(pg: bool) {
    let p = platform_with(Some(|q| q.strategy = domain::Strategy::RingAll), pg).await;
    let amina = p.srv.login("amina").await;
    let koffi = p.srv.login("koffi").await;
    let sup = p.srv.login("supervisor").await;
    let mut amina_ws = desktop(&p, &amina).await;
    let _silent = register_phone(&p, "amina").await;
    let koffi_port = register_phone(&p, "koffi").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    assert_eq!(
        post(&p, &koffi, "/api/v1/agent/login", json!({})).await,
        204
    );
    let koffi_phone = answering_phone(&p, koffi_port);
    let caller = trunk_call(&p, "caller_audio.xml", "3902");

    let mut seen = Vec::new();
    let offer = next_of(&mut amina_ws, "offer", &mut seen).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    let cancelled = next_of(&mut amina_ws, "offer_cancelled", &mut seen).await;
    assert_eq!(
        (
            cancelled["interaction_id"].as_i64(),
            cancelled["reason"].as_str()
        ),
        (Some(id), Some("answered_elsewhere"))
    );
    // amina is not left reserved.
    loop {
        let st = next_of(&mut amina_ws, "agent_state", &mut seen).await;
        if st["state"] == "available" {
            break;
        }
        assert_eq!(st["state"], "reserved", "{st}");
    }
    assert_eq!(exit_code(caller).await, 0);
    assert_eq!(exit_code(koffi_phone).await, 0);
    let evs = get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await;
    let offered: Vec<i64> = evs
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"]["type"] == "offered")
        .map(|e| e["agent_id"].as_i64().unwrap())
        .collect();
    assert_eq!(offered.len(), 2, "both phones rang: {offered:?}");
    let answered: Vec<i64> = evs
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"]["type"] == "answered")
        .map(|e| e["agent_id"].as_i64().unwrap())
        .collect();
    assert_eq!(answered, vec![2], "koffi answered");
    let me = get(&p, &amina, "/api/v1/agent/state").await;
    assert_eq!(me["status"], "Available", "{me}");
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_calls_one_agent_the_second_hears_its_position() {
    two_calls_one_agent_the_second_hears_its_position_on(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_calls_one_agent_the_second_hears_its_position_on_postgresql() {
    two_calls_one_agent_the_second_hears_its_position_on(true).await;
}

async fn two_calls_one_agent_the_second_hears_its_position_on(pg: bool) {
    let p = platform_with(None, pg).await;
    let amina = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let mut ws = desktop(&p, &amina).await;
    let phone = register_phone(&p, "amina").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    let agent = answering_phone(&p, phone);
    // Call 1 is answered by amina and stays up.
    let caller1 = trunk_call(&p, "caller_audio_wait.xml", "3902");
    let mut seen = Vec::new();
    let first = next_of(&mut ws, "answered", &mut seen).await["interaction_id"]
        .as_i64()
        .unwrap();
    // Call 2 waits: it is told it is number 1 in the queue, then gives up.
    let base = last_seq(&p, &sup).await;
    let caller2 = trunk_call(&p, "caller_audio.xml", "3902");
    let announced = next_event(&p, &sup, "announced", base).await;
    assert_eq!(announced["kind"]["position"], 1, "{announced}");
    let second = announced["interaction_id"].as_i64().unwrap();
    assert_ne!(second, first);
    assert_eq!(exit_code(caller2).await, 0);
    let abandoned = next_event(&p, &sup, "abandoned", base).await;
    assert_eq!(abandoned["interaction_id"].as_i64(), Some(second));
    // amina ends call 1 from her desktop.
    assert_eq!(hang_up(&p, &amina, first).await, 204);
    assert_eq!(exit_code(caller1).await, 0);
    assert_eq!(exit_code(agent).await, 0);
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_in_wrap_up_is_not_offered_a_call_from_another_queue() {
    wrap_up_blocks_every_queue_on(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrap_up_blocks_every_queue_on_postgresql() {
    wrap_up_blocks_every_queue_on(true).await;
}

async fn wrap_up_blocks_every_queue_on(pg: bool) {
    // DID 3909 goes straight to queue `vip`, which amina also serves.
    let p = platform_full(None, pg, |s| {
        s.sip.trunks[0].dids.insert("3909".into(), "vipq".into());
        s.engine
            .entry_points
            .insert("vipq".into(), "queue:vip".into());
    })
    .await;
    let amina = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let mut ws = desktop(&p, &amina).await;
    let mut seen = Vec::new();
    let phone = register_phone(&p, "amina").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );

    // Call 1 (general): answered, the caller hangs up, amina is in wrap-up.
    let agent = answering_phone(&p, phone);
    let caller1 = trunk_call(&p, "caller_audio.xml", "3902");
    let first = next_of(&mut ws, "offer", &mut seen).await["interaction_id"]
        .as_i64()
        .unwrap();
    next_of(&mut ws, "ended", &mut seen).await;
    assert_eq!(
        next_of(&mut ws, "agent_state", &mut seen).await["state"],
        "wrap_up"
    );
    assert_eq!(exit_code(caller1).await, 0);
    assert_eq!(exit_code(agent).await, 0);

    // Call 2 (vip) arrives while she wraps up: it waits, not offered.
    let base = last_seq(&p, &sup).await;
    let agent = answering_phone(&p, phone);
    let caller2 = trunk_call(&p, "caller_audio_wait.xml", "3909");
    let queued = next_event(&p, &sup, "queued", base).await;
    let second = queued["interaction_id"].as_i64().unwrap();
    assert_ne!(first, second);
    let vip = queue_figures(&p, &sup, "vip").await;
    assert_eq!(vip["waiting"], 1, "{vip}");
    assert_eq!(vip["agents_wrap_up"], 1, "{vip}");
    let me = get(&p, &amina, "/api/v1/agent/state").await;
    assert_eq!(me["status"], "WrapUp", "{me}");
    assert!(
        !seen[seen.iter().rposition(|t| t == "ended").unwrap()..]
            .iter()
            .any(|t| t == "offer"),
        "no offer during wrap-up: {seen:?}"
    );

    // Her disposition ends wrap-up: now the vip call is offered to her.
    assert_eq!(
        post(
            &p,
            &amina,
            &format!("/api/v1/interactions/{first}/disposition"),
            json!({"code": "resolved"})
        )
        .await,
        204
    );
    let offer = next_of(&mut ws, "offer", &mut seen).await;
    assert_eq!(offer["interaction_id"], second);
    assert_eq!(offer["queue"], "vip");
    next_of(&mut ws, "answered", &mut seen).await;
    tokio::time::sleep(Duration::from_millis(3500)).await; // the caller's audio
    assert_eq!(hang_up(&p, &amina, second).await, 204);
    assert_eq!(exit_code(caller2).await, 0);
    assert_eq!(exit_code(agent).await, 0);
    p.srv.shutdown().await;
}

/// PJSIP (PyPI `pjsua2-python`) as amina's phone: registers with her SIP
/// credentials (`REG 200` on its stdout), auto-answers the platform's call
/// and exits 0 when the platform hangs up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pjsip_softphone_is_the_agent_phone() {
    use tokio::io::AsyncBufReadExt;
    let p = platform().await;
    let amina = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let mut ws = desktop(&p, &amina).await;
    let mut seen = Vec::new();
    let mut phone = tokio::process::Command::new("python3")
        .arg(sipp_dir().join("../pjsua/phone.py"))
        .args([
            "answer",
            &p.sip.to_string(),
            "amina",
            &sip_password(&p.srv, "amina"),
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 with pjsua2 (pip install pjsua2-python) is required");
    let mut lines = tokio::io::BufReader::new(phone.stdout.take().unwrap()).lines();
    // Its report lines, skipping pjlib's own log lines.
    let mut report = async move || loop {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("PJSIP reported in time")
            .unwrap()
            .expect("PJSIP still running");
        if line.starts_with("REG ") || line.starts_with("ANSWERED+HUNGUP ") {
            return line;
        }
    };
    assert_eq!(report().await, "REG 200", "digest registration");
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    let caller = trunk_call(&p, "caller_audio.xml", "3902");
    let offer = next_of(&mut ws, "offer", &mut seen).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    assert_eq!(offer["screen_pop"]["caller"], "+33612345678");
    assert_eq!(
        next_of(&mut ws, "answered", &mut seen).await["interaction_id"],
        id
    );
    next_of(&mut ws, "ended", &mut seen).await;
    assert_eq!(exit_code(caller).await, 0);
    assert_eq!(report().await, "ANSWERED+HUNGUP True");
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(20), phone.wait())
            .await
            .unwrap()
            .unwrap()
            .code(),
        Some(0)
    );
    // RTP reached the platform on the agent's leg (its receive quality is
    // recorded when the leg ends, just after the BYE: wait for it).
    let mut evs = Value::Null;
    for _ in 0..50 {
        evs = get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await;
        let found = evs
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"]["type"] == "media_quality" && e["kind"]["leg"] == "agent");
        if found {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        evs.as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"]["type"] == "media_quality" && e["kind"]["leg"] == "agent"),
        "media quality of the agent leg: {evs}"
    );
    p.srv.shutdown().await;
}

/// An agent logged in to the ACD whose phone is not registered is paused
/// (`phone_unreachable`) instead of being offered the call again and again;
/// when the phone registers they are ready again and get the waiting call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_without_a_registered_phone_is_paused_until_it_registers() {
    let p = platform().await;
    let amina = p.srv.login("amina").await;
    let mut ws = desktop(&p, &amina).await;
    let mut seen = Vec::new();
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    let caller = trunk_call(&p, "caller_audio_wait.xml", "3902");
    let cancelled = next_of(&mut ws, "offer_cancelled", &mut seen).await;
    assert_eq!(cancelled["reason"], "phone_unreachable");
    let st = loop {
        let s = next_of(&mut ws, "agent_state", &mut seen).await;
        if s["state"] == "paused" {
            break s;
        }
    };
    assert_eq!(st["reason"], "phone_unreachable");
    let offers = seen.iter().filter(|t| *t == "offer").count();
    assert_eq!(offers, 1, "offered once, not in a loop: {seen:?}");

    // The phone registers: ready again, the waiting call is offered.
    let port = register_phone(&p, "amina").await;
    let phone = answering_phone(&p, port);
    let offer = next_of(&mut ws, "offer", &mut seen).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    assert_eq!(
        next_of(&mut ws, "answered", &mut seen).await["interaction_id"],
        id
    );
    tokio::time::sleep(Duration::from_millis(3500)).await; // the caller's audio
    assert_eq!(hang_up(&p, &amina, id).await, 204);
    assert_eq!(exit_code(caller).await, 0);
    assert_eq!(exit_code(phone).await, 0);
    p.srv.shutdown().await;
}

/// Issue 13: a restart keeps the phones. amina's phone registers once; the
/// platform restarts; with no new REGISTER her phone is rung for the next
/// trunk call and answers (before, every phone was unknown until it
/// re-registered and the first call paused its agent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_survive_a_restart_of_the_platform() {
    let p = platform().await;
    let aport = register_phone(&p, "amina").await;
    // The registration is kept as soon as it is made (store lane, off the
    // engine loop): wait for the row, with a deadline.
    let db = p.settings.database.url.clone();
    let store = store::open(&db).await.unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = domain::Timestamp::from_millis(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64,
        );
        let kept = store.list_sip_bindings(now).await.unwrap();
        if kept.iter().any(|b| b.user == "amina") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "registration not kept"
        );
        // Polling the store for the row (there is no event to wait on).
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    store.close().await;

    let p = restart(p).await;
    let amina = p.srv.login("amina").await;
    let mut ws = desktop(&p, &amina).await;
    let mut seen = Vec::new();
    let phone = answering_phone(&p, aport);
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    let caller = trunk_call(&p, "caller_audio.xml", "3902");
    let offer = next_of(&mut ws, "offer", &mut seen).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    let answered = next_of(&mut ws, "answered", &mut seen).await;
    assert_eq!(
        answered["interaction_id"], id,
        "her phone rang and answered"
    );
    next_of(&mut ws, "ended", &mut seen).await;
    assert_eq!(exit_code(caller).await, 0);
    assert_eq!(exit_code(phone).await, 0);
    p.srv.shutdown().await;
}

/// Phone provisioning: an admin gives a phone a new SIP digest password
/// (`POST /api/v1/agents/{id}/sip-password`); it applies at once, without a
/// restart: an agent created through the API registers with it, and a
/// replaced password is refused. Audited without the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_a_phone_password_and_it_applies_at_once() {
    let p = platform().await;
    let admin = p.srv.login("admin").await;
    let reset = |agent: i64| {
        let p = &p;
        let admin = &admin;
        async move {
            let r = p
                .srv
                .http
                .post(p.srv.url(&format!("/api/v1/agents/{agent}/sip-password")))
                .bearer_auth(admin)
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or_default(),
            )
        }
    };
    // A new agent: no phone password until one is set.
    let r = p
        .srv
        .http
        .post(p.srv.url("/api/v1/agents"))
        .bearer_auth(&admin)
        .json(&json!({"login": "zoe", "name": "Zoé Adjovi",
            "skills": [{"skill": "general", "level": 5}], "languages": ["fr"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let zoe = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let (status, body) = reset(zoe).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["login"], "zoe");
    let pw = body["password"].as_str().unwrap().to_string();
    assert_eq!(pw.len(), 16);
    assert_eq!(
        register_with(&p, "zoe", &pw).await.0,
        0,
        "zoe's phone registers"
    );

    // amina's password is replaced: the old one is refused, the new one works.
    let agents = get(&p, &admin, "/api/v1/agents").await;
    let amina = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["login"] == "amina")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let old = common::sip::sip_password(&p.srv, "amina");
    let (status, body) = reset(amina).await;
    assert_eq!(status, 200);
    let new = body["password"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_ne!(
        register_with(&p, "amina", &old).await.0,
        0,
        "old password refused"
    );
    assert_eq!(
        register_with(&p, "amina", &new).await.0,
        0,
        "new password works"
    );

    // Only admins; an unknown agent is a 404.
    let sup = p.srv.login("supervisor").await;
    let r = p
        .srv
        .http
        .post(p.srv.url(&format!("/api/v1/agents/{amina}/sip-password")))
        .bearer_auth(&sup)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(reset(999_999).await.0, 404);

    // Audited, without the password.
    let st = store::open(&format!(
        "sqlite://{}/switchboard.db",
        p.srv.dir.path().display()
    ))
    .await
    .unwrap();
    let audit = st
        .list_audit(&store::AuditFilter {
            action: Some(store::AuditAction::SipPasswordSet),
            ..Default::default()
        })
        .await
        .unwrap();
    let targets: Vec<String> = audit.iter().map(|e| e.target.clone()).collect();
    // Newest first.
    assert_eq!(
        targets,
        vec![format!("agent:{amina}"), format!("agent:{zoe}")]
    );
    assert!(
        audit
            .iter()
            .all(|e| !format!("{e:?}").contains(&pw) && !format!("{e:?}").contains(&new))
    );
    p.srv.shutdown().await;
}
