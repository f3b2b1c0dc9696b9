//! Blind transfer and callbacks end to end with real SIP peers (sipp): a
//! trunk call answered by amina is transferred to koffi from the desktop
//! (API) and from amina's phone (REFER, RFC 3515); a waiting caller asks
//! for a callback, hangs up, and is called back through the outbound trunk
//! when an agent is free; a queue created and changed by an admin takes
//! calls without a restart.

mod common;

use common::sip::*;
use serde_json::{Value, json};

/// `caller_audio_wait.xml` plays 3 s of audio after the answer and only
/// then expects the platform's BYE.
async fn let_the_caller_finish_its_audio() {
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
}

/// Agent ids of the demo seed.
const AMINA: i64 = 1;
const KOFFI: i64 = 2;

async fn queue_id(p: &Platform, token: &str, name: &str) -> i64 {
    get(p, token, "/api/v1/queues")
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == name)
        .and_then(|q| q["id"].as_i64())
        .unwrap()
}

fn kinds(evs: &Value) -> Vec<(String, i64)> {
    evs.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"]["type"].as_str().unwrap_or_default().to_string(),
                e["agent_id"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blind_transfer_from_the_desktop_to_another_agent() {
    blind_transfer_from_the_desktop_to_another_agent_on(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blind_transfer_from_the_desktop_to_another_agent_on_postgresql() {
    blind_transfer_from_the_desktop_to_another_agent_on(true).await;
}

async fn blind_transfer_from_the_desktop_to_another_agent_on(pg: bool) {
    let p = platform_with(None, pg).await;
    let amina = p.srv.login("amina").await;
    let koffi = p.srv.login("koffi").await;
    let sup = p.srv.login("supervisor").await;
    let mut aws = desktop(&p, &amina).await;
    let mut kws = desktop(&p, &koffi).await;
    let (mut aseen, mut kseen) = (Vec::new(), Vec::new());
    let aport = register_phone(&p, "amina").await;
    let kport = register_phone(&p, "koffi").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );

    let amina_phone = answering_phone(&p, aport);
    let caller = trunk_call(&p, "caller_audio_wait.xml", "3902");
    let id = next_of(&mut aws, "answered", &mut aseen).await["interaction_id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/interactions/{id}/transfer");

    // Bad requests first: no target, both targets, koffi not logged in,
    // oneself, someone else's call.
    assert_eq!(post(&p, &amina, &path, json!({})).await, 422);
    assert_eq!(
        post(&p, &amina, &path, json!({"queue": 1, "agent": KOFFI})).await,
        422
    );
    assert_eq!(post(&p, &amina, &path, json!({"agent": KOFFI})).await, 409);
    assert_eq!(post(&p, &amina, &path, json!({"agent": AMINA})).await, 409);
    assert_eq!(post(&p, &koffi, &path, json!({"agent": AMINA})).await, 403);

    assert_eq!(
        post(&p, &koffi, "/api/v1/agent/login", json!({})).await,
        204
    );
    let koffi_phone = answering_phone(&p, kport);
    assert_eq!(post(&p, &amina, &path, json!({"agent": KOFFI})).await, 204);
    let t = next_of(&mut aws, "transferred", &mut aseen).await;
    assert_eq!(t["interaction_id"], id);
    assert_eq!(t["to"], format!("agent:{KOFFI}"));
    assert_eq!(
        exit_code(amina_phone).await,
        0,
        "amina's phone got its BYE at the transfer"
    );

    // koffi gets the same interaction with its screen-pop, answers; the
    // caller is still there and is now bridged to him.
    let offer = next_of(&mut kws, "offer", &mut kseen).await;
    assert_eq!(offer["interaction_id"], id);
    assert_eq!(offer["screen_pop"]["caller"], "+33612345678");
    next_of(&mut kws, "answered", &mut kseen).await;
    let_the_caller_finish_its_audio().await;
    // amina is free again, without wrap-up (the call went on elsewhere).
    let st = get(&p, &amina, "/api/v1/agent/state").await;
    assert_eq!(st["status"], "Available", "{st}");

    assert_eq!(hang_up(&p, &koffi, id).await, 204);
    assert_eq!(exit_code(caller).await, 0, "the caller got the BYE");
    assert_eq!(exit_code(koffi_phone).await, 0, "koffi's phone got the BYE");

    let evs = get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await;
    let k = kinds(&evs);
    let answered: Vec<i64> = k
        .iter()
        .filter(|(n, _)| n == "answered")
        .map(|(_, a)| *a)
        .collect();
    assert_eq!(answered, vec![AMINA, KOFFI], "{k:?}");
    let tr = evs
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"]["type"] == "transferred")
        .expect("transferred event");
    assert_eq!(tr["kind"]["to_agent"], KOFFI);
    assert_eq!(tr["agent_id"], AMINA);
    let i = get(&p, &sup, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(i["agent_id"], KOFFI, "the interaction ends with koffi");
    assert!(
        i["ended_at"].is_string() || i["ended_at"].is_number(),
        "{i}"
    );
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_phone_transfers_with_refer() {
    let p = platform().await;
    let amina = p.srv.login("amina").await;
    let koffi = p.srv.login("koffi").await;
    let sup = p.srv.login("supervisor").await;
    let mut aws = desktop(&p, &amina).await;
    let mut kws = desktop(&p, &koffi).await;
    let (mut aseen, mut kseen) = (Vec::new(), Vec::new());
    let aport = register_phone(&p, "amina").await;
    let kport = register_phone(&p, "koffi").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    // amina's phone transfers to `koffi` (Refer-To: <sip:koffi@...>).
    let media = free_ports("127.0.0.1", 4).to_string();
    let amina_phone = sipp(
        p.sip,
        "agent_uas_refer.xml",
        &[
            "-p",
            &aport.to_string(),
            "-mp",
            &media,
            "-rtp_echo",
            "-s",
            "koffi",
        ],
    );
    let caller = trunk_call(&p, "caller_audio_wait.xml", "3902");
    let id = next_of(&mut aws, "answered", &mut aseen).await["interaction_id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        post(&p, &koffi, "/api/v1/agent/login", json!({})).await,
        204
    );
    let koffi_phone = answering_phone(&p, kport);

    let t = next_of(&mut aws, "transferred", &mut aseen).await;
    assert_eq!(t["to"], format!("agent:{KOFFI}"));
    assert_eq!(exit_code(amina_phone).await, 0, "REFER got 202, then BYE");
    let offer = next_of(&mut kws, "offer", &mut kseen).await;
    assert_eq!(offer["interaction_id"], id);
    next_of(&mut kws, "answered", &mut kseen).await;
    let_the_caller_finish_its_audio().await;
    assert_eq!(hang_up(&p, &koffi, id).await, 204);
    assert_eq!(exit_code(caller).await, 0);
    assert_eq!(exit_code(koffi_phone).await, 0);
    let k = kinds(&get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await);
    assert!(
        k.contains(&("transferred".into(), AMINA)),
        "transfer recorded for amina: {k:?}"
    );
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_caller_presses_star_and_is_called_back_through_the_trunk() {
    callback_scenario(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_asked_through_the_api_is_placed_when_an_agent_is_free() {
    callback_scenario(false).await;
}

/// `by_phone`: a caller waiting in `general` presses * (RFC 2833); else a
/// web form posts `/api/v1/callbacks` with no call behind it. Either way the
/// callback waits in the queue until amina logs in, rings her phone first,
/// then dials +33698765432 through the outbound trunk (a sipp UAS checking
/// the number and the caller-ID +33100000000).
async fn callback_scenario(by_phone: bool) {
    let trunk_port = free_ports(TRUNK_IP, 1);
    let p = platform_full(None, false, move |s| {
        s.sip.trunks[0].outbound = Some(format!("{TRUNK_IP}:{trunk_port}"));
        s.sip.trunks[0].caller_id = Some("+33100000000".into());
    })
    .await;
    let amina = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let mut aws = desktop(&p, &amina).await;
    let mut aseen = Vec::new();
    let general = queue_id(&p, &sup, "general").await;

    let id = if by_phone {
        // Nobody is logged in: the caller waits, presses *, hears the
        // confirmation and is hung up on.
        let after = last_seq(&p, &sup).await;
        let caller = trunk_call(&p, "caller_star_callback.xml", "3902");
        let queued = next_event(&p, &sup, "queued", after).await;
        let id = queued["interaction_id"].as_i64().unwrap();
        let cb = next_event(&p, &sup, "callback_requested", after).await;
        assert_eq!(cb["interaction_id"], id, "the same interaction");
        assert_eq!(cb["kind"]["number"], "+33698765432");
        assert_eq!(
            exit_code(caller).await,
            0,
            "the caller's call ended with the platform's BYE"
        );
        id
    } else {
        let cb = |body: Value| {
            let p = &p;
            let sup = sup.clone();
            async move {
                p.srv
                    .http
                    .post(p.srv.url("/api/v1/callbacks"))
                    .bearer_auth(sup)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            cb(json!({"queue": general, "number": "not a number"}))
                .await
                .status(),
            422
        );
        assert_eq!(
            cb(json!({"queue": 999, "number": "+33698765432"}))
                .await
                .status(),
            404
        );
        assert_eq!(
            cb(json!({"queue": general, "number": "+33698765432", "interaction": 424242}))
                .await
                .status(),
            409,
            "only a waiting call can ask for its own callback"
        );
        let r = cb(json!({"queue": general, "number": "0033 6 98 76 54 32"})).await;
        assert_eq!(r.status(), 201);
        let created: Value = r.json().await.unwrap();
        created["interaction_id"].as_i64().unwrap()
    };
    let g = queue_figures(&p, &sup, "general").await;
    assert_eq!(g["waiting"], 1, "the callback keeps its place: {g}");

    // amina logs in: her phone rings with the callback's screen-pop; when
    // she answers the customer is dialled through the trunk.
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
    let aport = register_phone(&p, "amina").await;
    let amina_phone = answering_phone(&p, aport);
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    let offer = next_of(&mut aws, "offer", &mut aseen).await;
    assert_eq!(offer["interaction_id"], id);
    assert_eq!(offer["screen_pop"]["caller"], "+33698765432");
    assert_eq!(offer["screen_pop"]["ivr_trace"]["callback"], true);
    let answered = next_of(&mut aws, "answered", &mut aseen).await;
    assert_eq!(answered["interaction_id"], id);
    assert_eq!(hang_up(&p, &amina, id).await, 204);
    assert_eq!(
        exit_code(switch).await,
        0,
        "the switch got the callback and its BYE"
    );
    assert_eq!(exit_code(amina_phone).await, 0);
    next_of(&mut aws, "ended", &mut aseen).await;
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
    let k: Vec<String> = kinds(&get(&p, &sup, &format!("/api/v1/interactions/{id}/events")).await)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for want in [
        "queued",
        "callback_requested",
        "offered",
        "answered",
        "ended",
        "disposition_set",
    ] {
        assert!(k.iter().any(|x| x == want), "{want} missing: {k:?}");
    }
    assert!(
        !k.iter().any(|x| x == "abandoned"),
        "a callback is not an abandon: {k:?}"
    );
    p.srv.shutdown().await;
}

/// An admin creates a queue through the API while the platform runs: calls
/// to the entry point naming it are routed at once, and a ring time-out
/// changed afterwards applies to the next offer. No restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_created_and_changed_live_takes_calls() {
    let p = platform_full(None, false, |s| {
        s.sip.trunks[0].dids.insert("3908".into(), "express".into());
        s.engine
            .entry_points
            .insert("express".into(), "queue:express".into());
    })
    .await;
    let admin = p.srv.login("admin").await;
    let amina = p.srv.login("amina").await;
    let mut ws = desktop(&p, &amina).await;
    let mut seen = Vec::new();
    let mut queue = json!({
        "name": "express",
        "required_skills": [{"skill": "wolof", "level": 5}],
        "strategy": "longest_idle",
        "service_level": {"percent": 80.0, "within_s": 20},
        "wrap_up_s": 0,
        "max_wait_s": 0,
        "ring_timeout_s": 12,
        "priority": 0
    });
    let r = p
        .srv
        .http
        .post(p.srv.url("/api/v1/queues"))
        .bearer_auth(&admin)
        .json(&queue)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let qid = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let phone = register_phone(&p, "amina").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );

    // amina (wolof 8) is a member of the new queue at once.
    let ring = |offer: &Value| {
        let until: domain::Timestamp = serde_json::from_value(offer["ring_until"].clone()).unwrap();
        until.millis_since(domain::Timestamp::from_millis(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64,
        ))
    };
    let agent = answering_phone(&p, phone);
    let caller = trunk_call(&p, "caller_audio.xml", "3908");
    let offer = next_of(&mut ws, "offer", &mut seen).await;
    assert_eq!(offer["queue"], "express");
    let left = ring(&offer);
    assert!(
        (9_000..=12_000).contains(&left),
        "12 s ring time-out: {left} ms left"
    );
    next_of(&mut ws, "ended", &mut seen).await;
    assert_eq!(exit_code(caller).await, 0);
    assert_eq!(exit_code(agent).await, 0);

    // Ring time-out changed to 30 s: the next offer rings 30 s.
    queue["ring_timeout_s"] = json!(30);
    let r = p
        .srv
        .http
        .put(p.srv.url(&format!("/api/v1/queues/{qid}")))
        .bearer_auth(&admin)
        .json(&queue)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let agent = answering_phone(&p, phone);
    let caller = trunk_call(&p, "caller_audio.xml", "3908");
    let offer = next_of(&mut ws, "offer", &mut seen).await;
    let left = ring(&offer);
    assert!(
        (27_000..=30_000).contains(&left),
        "30 s now: {left} ms left"
    );
    assert_eq!(exit_code(caller).await, 0);
    assert_eq!(exit_code(agent).await, 0);
    p.srv.shutdown().await;
}

/// Disabling an agent's user also logs them out of the ACD: nothing is
/// offered to them any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_agent_is_logged_out_of_the_acd() {
    let p = platform().await;
    let admin = p.srv.login("admin").await;
    let amina = p.srv.login("amina").await;
    assert_eq!(
        post(&p, &amina, "/api/v1/agent/login", json!({})).await,
        204
    );
    let logged_in = |stats: &Value| {
        stats
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["agent"] == AMINA)
    };
    assert!(logged_in(&get(&p, &admin, "/api/v1/stats/agents").await));
    let users = get(&p, &admin, "/api/v1/users").await;
    let uid = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "amina")
        .and_then(|u| u["id"].as_i64())
        .unwrap();
    let r = p
        .srv
        .http
        .put(p.srv.url(&format!("/api/v1/users/{uid}")))
        .bearer_auth(&admin)
        .json(&json!({"role": "agent", "agent_id": AMINA, "disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        !logged_in(&get(&p, &admin, "/api/v1/stats/agents").await),
        "amina is out of the ACD"
    );
    p.srv.shutdown().await;
}
