//! Issue 12 acceptance, end to end with real SIP peers (sipp): a caller's
//! trunk that never answers our hold re-INVITE does not freeze the center.
//!
//! amina answers a trunk call and puts it on hold from the desktop (API);
//! the caller (`caller_hold_never_answered.xml`) receives the re-INVITE
//! (a=sendonly) and never answers it. While that re-INVITE is pending
//! (Timer B, 32 s, RFC 3261 §17.1.1.2), chloe's pause (an agent state
//! change through the API) and a second trunk call's answer by koffi are
//! served; their latencies are measured and printed. The call is never
//! shown held: no `held` event, and the hold request answers with an error
//! once the leg is gone.

mod common;

use common::sip::*;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// The bound asserted on each latency, far below Timer B (32 s); the issue's
/// target (50 ms) is a figure printed and reported, not a timed assertion.
const SERVED_WITHIN: Duration = Duration::from_secs(2);

/// Wait (bounded) until sipp touched `marker`: the re-INVITE reached it.
async fn wait_file(marker: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the caller did not receive the hold re-INVITE in {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The trunk caller that never answers the re-INVITE; `marker` is touched
/// when it arrives.
fn silent_caller(p: &Platform, marker: &Path) -> tokio::process::Child {
    let port = free_ports(TRUNK_IP, 1).to_string();
    let media = free_ports(TRUNK_IP, 4).to_string();
    sipp(
        p.sip,
        "caller_hold_never_answered.xml",
        &[
            "-s",
            "3902",
            "-i",
            TRUNK_IP,
            "-p",
            &port,
            "-mp",
            &media,
            "-key",
            "marker",
            &marker.display().to_string(),
            // Later than the helper's 20 s: the call may outlive Timer B.
            "-timeout",
            "60s",
        ],
    )
}

/// An agent phone (sipp UAS) that answers one call, with a global time-out
/// long enough for a call that outlives Timer B.
fn long_answering_phone(p: &Platform, port: u16) -> tokio::process::Child {
    let media = free_ports("127.0.0.1", 4).to_string();
    sipp(
        p.sip,
        "agent_uas_long.xml",
        &[
            "-p",
            &port.to_string(),
            "-mp",
            &media,
            "-rtp_echo",
            "-timeout",
            "60s",
        ],
    )
}

struct Answered {
    id: i64,
    /// From sipp's start to the `offer` push on the agent's desktop.
    offered: Duration,
    /// From sipp's start to the `answered` push.
    answered: Duration,
    caller: tokio::process::Child,
    phone: tokio::process::Child,
}

/// A trunk call (`caller_audio.xml`: plays 2 s then hangs up) to `general`,
/// answered by the agent whose phone is registered on `port` and whose
/// desktop is `ws`; timed from the caller's start.
async fn second_call_answered(p: &Platform, port: u16, ws: &mut Ws) -> Answered {
    let phone = answering_phone(p, port);
    let t0 = Instant::now();
    let caller = trunk_call(p, "caller_audio.xml", "3902");
    let mut seen = Vec::new();
    let offer = next_of(ws, "offer", &mut seen).await;
    let offered = t0.elapsed();
    let id = offer["interaction_id"].as_i64().unwrap();
    let answered = next_of(ws, "answered", &mut seen).await;
    assert_eq!(answered["interaction_id"], id);
    Answered {
        id,
        offered,
        answered: t0.elapsed(),
        caller,
        phone,
    }
}

fn kinds(evs: &Value) -> Vec<String> {
    evs.as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"]["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

struct Held {
    p: Platform,
    amina: String,
    sup: String,
    id: i64,
    caller: tokio::process::Child,
    amina_phone: tokio::process::Child,
    hold: tokio::task::JoinHandle<(u16, Duration)>,
    koffi_port: u16,
    chloe: String,
    kws: Ws,
    cws: Ws,
    _marker_dir: tempfile::TempDir,
}

/// amina answers the silent caller, koffi and chloe are logged in and
/// available, and amina's hold re-INVITE is pending at the caller.
async fn call_on_pending_hold(long_phone: bool) -> Held {
    let p = platform().await;
    let amina = p.srv.login("amina").await;
    let koffi = p.srv.login("koffi").await;
    let chloe = p.srv.login("chloe").await;
    let sup = p.srv.login("supervisor").await;
    let mut aws = desktop(&p, &amina).await;
    let mut kws = desktop(&p, &koffi).await;
    let mut cws = desktop(&p, &chloe).await;
    let mut seen = Vec::new();
    let aport = register_phone(&p, "amina").await;
    register_phone(&p, "chloe").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    let amina_phone = if long_phone {
        long_answering_phone(&p, aport)
    } else {
        answering_phone(&p, aport)
    };
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("reinvite-received");
    let caller = silent_caller(&p, &marker);
    let id = next_of(&mut aws, "answered", &mut seen).await["interaction_id"]
        .as_i64()
        .unwrap();

    // Baseline: a second call answered by moussa before any re-INVITE is
    // pending (he then stays in wrap-up, out of the way).
    let mport = register_phone(&p, "moussa").await;
    let moussa = p.srv.login("moussa").await;
    let mut mws = desktop(&p, &moussa).await;
    assert_eq!(
        post(&p, &moussa, "/api/v1/agent/login", json!({})).await,
        204
    );
    let baseline = second_call_answered(&p, mport, &mut mws).await;
    println!(
        "baseline (no re-INVITE pending): sipp started -> offer {} ms, -> answered {} ms",
        baseline.offered.as_millis(),
        baseline.answered.as_millis()
    );
    // The baseline caller hangs up after its 2 s of audio: moussa wraps up.
    while next_of(&mut mws, "agent_state", &mut Vec::new()).await["state"] != "wrap_up" {}
    assert_eq!(exit_code(baseline.caller).await, 0);
    assert_eq!(exit_code(baseline.phone).await, 0);

    // koffi and chloe join once amina has the call (so that it is hers).
    let koffi_port = register_phone(&p, "koffi").await;
    for (token, ws) in [(&koffi, &mut kws), (&chloe, &mut cws)] {
        assert_eq!(post(&p, token, "/api/v1/agent/login", json!({})).await, 204);
        assert_eq!(
            next_of(ws, "agent_state", &mut Vec::new()).await["state"],
            "available"
        );
    }

    // amina puts the caller on hold; the request waits for the re-INVITE's
    // outcome, which never comes from the caller.
    let hold = {
        let http = p.srv.http.clone();
        let url = p.srv.url(&format!("/api/v1/interactions/{id}/hold"));
        let token = amina.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let status = http
                .post(url)
                .bearer_auth(token)
                .json(&json!({"on": true}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            (status, t0.elapsed())
        })
    };
    wait_file(&marker, Duration::from_secs(10)).await;
    assert!(!hold.is_finished(), "the re-INVITE is pending");
    Held {
        p,
        amina,
        sup,
        id,
        caller,
        amina_phone,
        hold,
        koffi_port,
        chloe,
        kws,
        cws,
        _marker_dir: marker_dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_reinvite_never_answered_does_not_stop_other_agents_and_calls() {
    let Held {
        p,
        amina,
        sup,
        id,
        caller,
        amina_phone,
        hold,
        koffi_port,
        chloe,
        mut kws,
        mut cws,
        _marker_dir,
    } = call_on_pending_hold(false).await;

    // chloe pauses: the API answers and her desktop gets the new state.
    let t0 = Instant::now();
    assert_eq!(
        post(
            &p,
            &chloe,
            "/api/v1/agent/state",
            json!({"state": "paused", "reason": "break"})
        )
        .await,
        204
    );
    let pause_api = t0.elapsed();
    assert_eq!(
        next_of(&mut cws, "agent_state", &mut Vec::new()).await["state"],
        "paused"
    );
    let pause_push = t0.elapsed();

    // A second trunk call rings koffi's phone, which answers at once.
    let second = second_call_answered(&p, koffi_port, &mut kws).await;
    assert_ne!(second.id, id);
    let (offered, answer) = (second.offered, second.answered);
    let offer_to_answer = answer - offered;
    assert!(
        !hold.is_finished(),
        "all of this happened while the re-INVITE was pending"
    );
    println!(
        "while the hold re-INVITE was pending: pause API {} ms, pause pushed {} ms; \
         second call: sipp started -> offer {} ms, -> answered {} ms (offer -> answered {} ms)",
        pause_api.as_millis(),
        pause_push.as_millis(),
        offered.as_millis(),
        answer.as_millis(),
        offer_to_answer.as_millis(),
    );
    for (what, d) in [
        ("pause API", pause_api),
        ("pause pushed", pause_push),
        ("second call answered", answer),
    ] {
        assert!(
            d < SERVED_WITHIN,
            "{what} took {} ms during a pending re-INVITE",
            d.as_millis()
        );
    }

    // The call is not shown held while the re-INVITE is unanswered.
    let evs = get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await;
    assert!(!kinds(&evs).contains(&"held".to_string()), "{evs}");

    // amina hangs up: the leg ends, the hold request answers with an error,
    // and the call was never held.
    assert_eq!(hang_up(&p, &amina, id).await, 204);
    let (status, took) = tokio::time::timeout(Duration::from_secs(10), hold)
        .await
        .expect("the hold request answers once the leg is gone")
        .unwrap();
    assert!(
        status >= 400,
        "a hold whose re-INVITE never got an answer is an error: {status}"
    );
    println!(
        "hold request answered {status} after {} ms",
        took.as_millis()
    );
    assert_eq!(exit_code(caller).await, 0, "the caller got the BYE");
    assert_eq!(exit_code(amina_phone).await, 0, "amina's phone got the BYE");
    assert_eq!(
        exit_code(second.caller).await,
        0,
        "the second call completed"
    );
    assert_eq!(
        exit_code(second.phone).await,
        0,
        "koffi's phone got the BYE"
    );
    let k = kinds(&get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await);
    assert!(!k.contains(&"held".to_string()), "never held: {k:?}");
    assert!(k.contains(&"ended".to_string()), "{k:?}");
    p.srv.shutdown().await;
}

/// Without a hang-up, the stack gives up on the re-INVITE at Timer B
/// (64·T1 = 32 s, RFC 3261 §17.1.1.2) and the hold request answers with an
/// error then; the call is not shown held. About 35 s of wall time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hold_request_answers_an_error_when_timer_b_fires() {
    let Held {
        p,
        amina,
        sup,
        id,
        caller,
        amina_phone,
        hold,
        koffi_port: _,
        chloe: _,
        kws: _,
        cws: _,
        _marker_dir,
    } = call_on_pending_hold(true).await;
    let (status, took) = tokio::time::timeout(Duration::from_secs(40), hold)
        .await
        .expect("the hold request answers within Timer B (32 s) and a margin")
        .unwrap();
    println!(
        "hold request answered {status} after {} ms",
        took.as_millis()
    );
    assert!(status >= 400, "{status}");
    assert!(
        took >= Duration::from_secs(30),
        "not before Timer B: {took:?}"
    );
    let k = kinds(&get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await);
    assert!(!k.contains(&"held".to_string()), "never held: {k:?}");
    // RFC 3261 §14.1: the re-INVITE's timeout (a 408) ends the dialog: the
    // caller gets our BYE and the call ends without anyone hanging up.
    assert_eq!(exit_code(caller).await, 0, "the caller got the BYE");
    let _ = hang_up(&p, &amina, id).await;
    let _ = exit_code(amina_phone).await;
    let k = kinds(&get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await);
    assert!(k.contains(&"ended".to_string()), "{k:?}");
    p.srv.shutdown().await;
}
