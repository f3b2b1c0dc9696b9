//! SMS: the SMSC simulator's deliver_sm → conversation → agent → submit_sm.

use super::common::sip::*;
use super::harness::*;
use serde_json::json;
use switchboard::settings::{Secret, Settings};

const FRENCH: &str = "Votre facture est corrigée. À très vite !";
const FRENCH_GSM: &str = "Votre colis arrive à 14h. Merci de votre fidélité, à très vite !";
const ARABIC_EMOJI: &str = "مرحبا، شكرا لتواصلكم معنا 😀";

pub(crate) fn sms_settings(port: u16) -> impl FnOnce(&mut Settings) {
    move |s: &mut Settings| {
        s.channels.smpp.enabled = true;
        s.channels.smpp.host = "127.0.0.1".into();
        s.channels.smpp.port = port;
        s.channels.smpp.system_id = "switchboard".into();
        s.channels.smpp.password = Secret("secret".into());
        s.channels.smpp.source_addr = "SWITCHBD".into();
        s.channels.dispatch_interval_ms = 50;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_becomes_a_routed_conversation_and_replies_reach_the_smsc() {
    let mut smsc = Smsc::start().await;
    let p = platform_full(None, false, sms_settings(smsc.port)).await;
    let bind = smsc.next("bind_transceiver").await;
    assert_eq!(bind["system_id"], "switchboard");

    let token = p.srv.login("amina").await;
    let sup = p.srv.login("supervisor").await;
    let mut ws = desktop(&p, &token).await;
    let mut seen = Vec::new();
    next_of(&mut ws, "hello", &mut seen).await;
    assert_eq!(
        post(&p, &token, "/api/v1/agent/login", json!({})).await,
        204
    );
    next_of(&mut ws, "agent_state", &mut seen).await;

    // A mobile-originated SMS: a new customer, a new conversation.
    let after = last_seq(&p, &sup).await;
    smsc.cmd(r#"deliver {"source_addr":"22997000000","destination_addr":"SWITCHBD","data_coding":0,"short_message":"Bonjour, ma facture de novembre est fausse"}"#)
        .await;
    let ev = next_event(&p, &sup, "message_in", after).await;
    assert_eq!(
        ev["kind"]["text"],
        "Bonjour, ma facture de novembre est fausse"
    );
    let id = ev["interaction_id"].as_i64().unwrap();
    let it = get(&p, &sup, &format!("/api/v1/interactions/{id}")).await;
    assert_eq!(it["channel"], "sms");
    assert_eq!(it["direction"], "inbound");
    let cid = it["customer_id"].as_i64().unwrap();
    let c = get(&p, &sup, &format!("/api/v1/customers/{cid}")).await;
    assert_eq!(c["phones"], json!(["+22997000000"]));
    let kinds: Vec<String> = get(&p, &sup, &format!("/api/v1/interactions/{id}/events"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"]["type"].as_str().unwrap().to_string())
        .collect();
    // (then `queued`, `offered` once the engine has routed it)
    assert_eq!(
        kinds[..2],
        ["interaction_created", "message_in"],
        "{kinds:?}"
    );
    let created = get(
        &p,
        &sup,
        &format!("/api/v1/events?kind=customer_created&customer_id={cid}"),
    )
    .await;
    assert_eq!(created.as_array().unwrap().len(), 1);

    // The next SMS continues the same conversation.
    let after = last_seq(&p, &sup).await;
    smsc.cmd(r#"deliver {"source_addr":"22997000000","destination_addr":"SWITCHBD","data_coding":8,"short_message":"شكرا"}"#)
        .await;
    let ev = next_event(&p, &sup, "message_in", after).await;
    assert_eq!(ev["kind"]["text"], "شكرا");
    assert_eq!(ev["interaction_id"], id);

    // The agent is offered the conversation (the engine routes it).
    let offer = next_of(&mut ws, "offer", &mut Vec::new()).await;
    assert_eq!(offer["channel"], "sms");
    assert_eq!(offer["interaction_id"], id);
    let st = post(
        &p,
        &token,
        &format!("/api/v1/interactions/{id}/accept"),
        json!({}),
    )
    .await;
    assert_eq!(st, 204, "accept");
    let long: String = "Suivi de votre demande 42. "
        .repeat(12)
        .chars()
        .take(300)
        .collect();
    let mut french_id = String::new();
    for text in [FRENCH_GSM, FRENCH, ARABIC_EMOJI, long.as_str()] {
        let r = p
            .srv
            .http
            .post(p.srv.url(&format!("/api/v1/interactions/{id}/messages")))
            .bearer_auth(&token)
            .json(&json!({"text": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let s = smsc.next("submit_sm").await;
        assert_eq!(s["destination_addr"], "22997000000");
        assert_eq!(s["source_addr"], "SWITCHBD");
        assert_eq!(s["registered_delivery"], 1);
        if text == FRENCH_GSM {
            // Accented French within GSM 03.38: 7-bit default alphabet.
            assert_eq!(
                (s["data_coding"].as_u64(), s["text"].as_str()),
                (Some(0), Some(text))
            );
            assert_eq!(s["esm_class"], 0);
            french_id = s["message_id"].as_str().unwrap().to_string();
        } else if text == FRENCH || text == ARABIC_EMOJI {
            // `À` (French) and Arabic/emoji are outside GSM 03.38: UCS-2.
            assert_eq!(
                (s["data_coding"].as_u64(), s["text"].as_str()),
                (Some(8), Some(text))
            );
        } else {
            let s2 = smsc.next("submit_sm").await;
            for (part, n) in [(&s, "01"), (&s2, "02")] {
                assert_eq!(part["data_coding"], 0);
                assert_eq!(part["esm_class"], 0x40);
                let udh = part["udh_hex"].as_str().expect("UDH");
                assert_eq!(&udh[..6], "050003");
                assert_eq!(&udh[8..], format!("02{n}"));
            }
            assert_eq!(
                format!(
                    "{}{}",
                    s["text"].as_str().unwrap(),
                    s2["text"].as_str().unwrap()
                ),
                long
            );
        }
    }

    // The delivery receipt of the first reply marks its row delivered.
    let rows = get(&p, &sup, "/api/v1/outbox").await;
    let first = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["provider_message_id"] == french_id.as_str())
        .cloned()
        .expect("the first reply's row carries the SMSC id");
    assert_eq!(first["status"], "sent");
    assert_eq!(first["body"], FRENCH_GSM);
    smsc.cmd(&format!("dlr {french_id} DELIVRD")).await;
    let row = wait_status(&p, &sup, first["id"].as_i64().unwrap(), "delivered").await;
    assert!(row["delivered_at"].is_string(), "{row}");
    p.srv.shutdown().await;
    smsc.next("unbind").await;
}
