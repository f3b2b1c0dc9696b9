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
