//! Outbound message campaigns end to end (SPEC §2.6), in the running
//! product, against the SMSC simulator (npm `smpp`,
//! `crates/channels/tests/peers/smsc.js`): an opted-out number (STOP sent
//! from the simulator) receives nothing but the confirmation; every other
//! customer receives exactly one `submit_sm` with the placeholders filled;
//! a customer lacking a template field is skipped with the error; pause
//! stops queueing and resume finishes; delivery receipts make the figures;
//! a campaign left running by a previous process is finished after a
//! restart with each recipient sent once.
//!
//! Needs node and `npm install --prefix crates/channels/tests/peers`.

mod common;
#[path = "messaging/harness.rs"]
#[allow(dead_code)]
mod harness;

use common::sip::*;
use common::smtp::smtp_sink;
use harness::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use switchboard::settings::{Secret, Settings};

const STOP_REPLY: &str = "STOP recu : plus de messages. START pour revenir.";
const START_REPLY: &str = "Reabonnement confirme.";
const TEMPLATE: &str = "Bonjour {{name}}, votre forfait {{plan}} est renouvelé.";
/// The customer who answers STOP before the campaign.
const OPTED_OUT: usize = 5;
/// The customer without a `plan` attribute.
const NO_PLAN: usize = 17;

fn sms_settings(port: u16) -> impl FnOnce(&mut Settings) {
    move |s: &mut Settings| {
        s.channels.smpp.enabled = true;
        s.channels.smpp.host = "127.0.0.1".into();
        s.channels.smpp.port = port;
        s.channels.smpp.system_id = "switchboard".into();
        s.channels.smpp.password = Secret("secret".into());
        s.channels.smpp.source_addr = "SWITCHBD".into();
        s.channels.dispatch_interval_ms = 50;
        s.channels.campaigns.tick_ms = 50;
        s.channels.campaigns.stop_reply = STOP_REPLY.into();
        s.channels.campaigns.start_reply = START_REPLY.into();
    }
}

fn msisdn(i: usize) -> String {
    format!("229970010{i:02}")
}

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

/// Poll a campaign until `done(campaign)`.
async fn wait_campaign(
    p: &Platform,
    token: &str,
    id: i64,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..300 {
        let c = get(p, token, &format!("/api/v1/campaigns/{id}")).await;
        if done(&c) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "campaign {id} never {what}: {}",
        get(p, token, &format!("/api/v1/campaigns/{id}")).await
    );
}

fn count(c: &Value, state: &str) -> i64 {
    c["stats"]["by_state"][state].as_i64().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_campaign_skips_opted_out_numbers_pauses_resumes_and_counts_receipts() {
    let mut smsc = Smsc::start().await;
    let p = server(sms_settings(smsc.port)).await;
    smsc.next("bind_transceiver").await;
    let sup = p.srv.login("supervisor").await;

    // 30 Yoruba-speaking business customers; one has no `plan`.
    let mut ids = BTreeMap::new();
    for i in 1..=30 {
        let mut attributes = json!({"plan": format!("Pro {i}")});
        if i == NO_PLAN {
            attributes = json!({});
        }
        let (st, c) = post_json(
            &p,
            &sup,
            "/api/v1/customers",
            json!({"name": format!("Client {i:02}"), "phones": [format!("+{}", msisdn(i))],
                   "segment": "business", "language": "yo", "attributes": attributes}),
        )
        .await;
        assert_eq!(st, 201, "{c}");
        ids.insert(i, c["id"].as_i64().unwrap());
    }

    // Customer 5 answers STOP: an opt-out, one confirmation, no conversation.
    smsc.cmd(&format!(
        r#"deliver {{"source_addr":"{}","destination_addr":"SWITCHBD","data_coding":0,"short_message":" Stop "}}"#,
        msisdn(OPTED_OUT)
    ))
    .await;
    let conf = smsc.next("submit_sm").await;
    assert_eq!(
        (conf["destination_addr"].as_str(), conf["text"].as_str()),
        (Some(msisdn(OPTED_OUT).as_str()), Some(STOP_REPLY))
    );
    let outs = get(&p, &sup, "/api/v1/opt-outs?channel=sms").await;
    assert_eq!(outs.as_array().unwrap().len(), 1, "{outs}");
    assert_eq!(outs[0]["address"], format!("+{}", msisdn(OPTED_OUT)));
    assert_eq!(outs[0]["source"], "keyword:STOP");
    // The number also goes on the dialer's global do-not-call list (issue
    // 15), stored before the confirmation was queued.
    {
        use sqlx::Connection;
        let mut db = sqlx::SqliteConnection::connect(&p.settings.database.url)
            .await
            .unwrap();
        let dnc: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT number, campaign_id, source FROM dial_dnc")
                .fetch_all(&mut db)
                .await
                .unwrap();
        assert_eq!(
            dnc,
            [(
                format!("+{}", msisdn(OPTED_OUT)),
                0,
                "opt_out:sms".to_string()
            )]
        );
    }
    let convs = get(
        &p,
        &sup,
        &format!("/api/v1/interactions?customer_id={}", ids[&OPTED_OUT]),
    )
    .await;
    assert_eq!(convs, json!([]), "STOP opens no conversation");

    // Bad requests name every bad field; agents may not create campaigns.
    let (st, e) = post_json(
        &p,
        &sup,
        "/api/v1/campaigns",
        json!({"name": "x", "channel": "pigeon", "template": " ", "rate_per_s": 0,
               "recipients": [{"address": "+22997001001"}]}),
    )
    .await;
    assert_eq!(st, 422, "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    for f in [
        "channel: \"pigeon\"",
        "template: must not be empty",
        "rate_per_s: 0",
    ] {
        assert!(msg.contains(f), "{f} in {msg}");
    }
    let (st, e) = post_json(
        &p,
        &sup,
        "/api/v1/campaigns",
        json!({"name": "x", "channel": "sms", "template": "t",
               "recipients": [{"address": "+22997001001"}, {"address": "not a number"}]}),
    )
    .await;
    assert_eq!(st, 422, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("recipients[1].address: \"not a number\""),
        "{e}"
    );
    let agent = p.srv.login("amina").await;
    let (st, _) = post_json(
        &p,
        &agent,
        "/api/v1/campaigns",
        json!({"name": "x", "channel": "sms", "template": "t", "recipients": [{"address": "+22997001001"}]}),
    )
    .await;
    assert_eq!(st, 403);

    // The campaign: every such customer, 10 messages a second.
    let (st, c) = post_json(
        &p,
        &sup,
        "/api/v1/campaigns",
        json!({"name": "Renouvellement", "channel": "sms", "template": TEMPLATE, "rate_per_s": 10,
               "customers": {"segment": "business", "language": "yo"}}),
    )
    .await;
    assert_eq!(st, 201, "{c}");
    assert_eq!(
        (c["status"].as_str(), c["stats"]["total"].as_i64()),
        (Some("draft"), Some(30))
    );
    assert_eq!(count(&c, "pending"), 30);
    let id = c["id"].as_i64().unwrap();
    let path = format!("/api/v1/campaigns/{id}");

    let (st, c) = post_json(&p, &sup, &format!("{path}/start"), json!({})).await;
    assert_eq!((st, c["status"].as_str()), (200, Some("running")), "{c}");
    let mut got: Vec<Value> = Vec::new();
    for _ in 0..4 {
        got.push(smsc.next("submit_sm").await);
    }
    let (st, c) = post_json(&p, &sup, &format!("{path}/pause"), json!({})).await;
    assert_eq!((st, c["status"].as_str()), (200, Some("paused")), "{c}");
    let (st, _) = post_json(&p, &sup, &format!("{path}/pause"), json!({})).await;
    assert_eq!(st, 409, "pausing twice");
    // What was queued before the pause is sent; nothing more is queued.
    let c = wait_campaign(&p, &sup, id, "settled after the pause", |c| {
        count(c, "queued") == 0
    })
    .await;
    let handed = count(&c, "sent") + count(&c, "delivered") + count(&c, "failed");
    while (got.len() as i64) < handed {
        got.push(smsc.next("submit_sm").await);
    }
    let pending = count(&c, "pending");
    assert!(pending > 0, "paused with nothing left: {c}");
    let again = get(&p, &sup, &path).await;
    assert_eq!(
        (count(&again, "pending"), again["status"].as_str()),
        (pending, Some("paused"))
    );

    // Resume: the rest goes, then the campaign is done.
    let (st, c) = post_json(&p, &sup, &format!("{path}/start"), json!({})).await;
    assert_eq!((st, c["status"].as_str()), (200, Some("running")), "{c}");
    while got.len() < 28 {
        got.push(smsc.next("submit_sm").await);
    }
    let c = wait_campaign(&p, &sup, id, "done", |c| c["status"] == "done").await;
    assert_eq!(
        (
            count(&c, "pending"),
            count(&c, "queued"),
            count(&c, "opted_out"),
            count(&c, "skipped")
        ),
        (0, 0, 1, 1),
        "{c}"
    );

    // Exactly the expected texts, one per customer.
    let sent: BTreeSet<(String, String)> = got
        .iter()
        .map(|s| {
            assert_eq!(s["source_addr"], "SWITCHBD");
            assert_eq!(s["data_coding"], 0, "GSM 7-bit: {s}");
            (
                s["destination_addr"].as_str().unwrap().to_string(),
                s["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = (1..=30)
        .filter(|i| *i != OPTED_OUT && *i != NO_PLAN)
        .map(|i| {
            (
                msisdn(i),
                format!("Bonjour Client {i:02}, votre forfait Pro {i} est renouvelé."),
            )
        })
        .collect();
    assert_eq!(got.len(), 28);
    assert_eq!(sent, want);
    let skipped = get(&p, &sup, &format!("{path}/recipients?state=skipped")).await;
    assert_eq!(skipped[0]["address"], format!("+{}", msisdn(NO_PLAN)));
    assert!(
        skipped[0]["error"].as_str().unwrap().contains("{{plan}}"),
        "{skipped}"
    );
    let opted = get(&p, &sup, &format!("{path}/recipients?state=opted_out")).await;
    assert_eq!(opted[0]["address"], format!("+{}", msisdn(OPTED_OUT)));

    // Receipts: all delivered but one.
    for (n, s) in got.iter().enumerate() {
        let stat = if n == 0 { "UNDELIV" } else { "DELIVRD" };
        smsc.cmd(&format!("dlr {} {stat}", s["message_id"].as_str().unwrap()))
            .await;
    }
    let c = wait_campaign(&p, &sup, id, "delivered", |c| {
        count(c, "delivered") + count(c, "failed") == 28
    })
    .await;
    assert_eq!(
        (count(&c, "delivered"), count(&c, "failed")),
        (27, 1),
        "{c}"
    );
    let pct = c["stats"]["delivered_percent"].as_f64().unwrap();
    assert!((pct - 27.0 * 100.0 / 28.0).abs() < 1e-6, "{pct}");
    let list = get(&p, &sup, "/api/v1/campaigns").await;
    assert_eq!(list[0]["id"], id);
    let doc = get(&p, &sup, "/api/v1/openapi.json").await;
    for path in [
        "/api/v1/campaigns",
        "/api/v1/campaigns/{id}",
        "/api/v1/campaigns/{id}/start",
        "/api/v1/campaigns/{id}/pause",
        "/api/v1/campaigns/{id}/recipients",
        "/api/v1/opt-outs",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }

    // An agent's reply to the opted-out customer is not blocked.
    let store = store_of(p.srv.dir.path()).await;
    store
        .enqueue_message(
            &store::NewOutboxMessage {
                channel: domain::Channel::Sms,
                recipient: format!("+{}", msisdn(OPTED_OUT)),
                body: "Votre demande est traitee.".into(),
                interaction_id: None,
                customer_id: Some(domain::CustomerId(ids[&OPTED_OUT])),
                purpose: "agent_reply".into(),
            },
            switchboard::now(),
        )
        .await
        .unwrap();
    let reply = smsc.next("submit_sm").await;
    assert_eq!(
        (reply["destination_addr"].as_str(), reply["text"].as_str()),
        (
            Some(msisdn(OPTED_OUT).as_str()),
            Some("Votre demande est traitee.")
        )
    );

    // START re-subscribes, with its confirmation.
    smsc.cmd(&format!(
        r#"deliver {{"source_addr":"{}","destination_addr":"SWITCHBD","data_coding":0,"short_message":"START"}}"#,
        msisdn(OPTED_OUT)
    ))
    .await;
    let conf = smsc.next("submit_sm").await;
    assert_eq!(conf["text"], START_REPLY);
    assert_eq!(get(&p, &sup, "/api/v1/opt-outs").await, json!([]));
    store.close().await;
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_left_running_by_a_previous_process_finishes_once_per_recipient() {
    use store::*;
    let dir = tempfile::tempdir().unwrap();
    let store = store_of(dir.path()).await;
    let now = switchboard::now();
    let c = store
        .create_campaign(
            &NewCampaign {
                name: "Reprise".into(),
                channel: domain::Channel::Sms,
                template: "Code {{code}} pour {{address}}".into(),
                rate_per_s: 50,
                created_by: None,
                whatsapp_template: None,
            },
            now,
        )
        .await
        .unwrap();
    let rows: Vec<NewRecipient> = (1..=5)
        .map(|i| NewRecipient {
            customer_id: None,
            address: format!("+{}", msisdn(40 + i)),
            vars: BTreeMap::from([("code".to_string(), format!("{i}{i}{i}"))]),
        })
        .collect();
    assert_eq!(store.add_recipients(c.id, &rows, now).await.unwrap(), 5);
    store
        .set_campaign_status(c.id, &[CampaignStatus::Draft], CampaignStatus::Running, now)
        .await
        .unwrap();
    // The previous process queued the first recipient, then died.
    let first = store.next_pending(c.id, 1).await.unwrap().remove(0);
    store
        .queue_recipient(
            first.id,
            &NewOutboxMessage {
                channel: domain::Channel::Sms,
                recipient: first.address.clone(),
                body: format!("Code 111 pour {}", first.address),
                interaction_id: None,
                customer_id: None,
                purpose: "campaign".into(),
            },
            now,
        )
        .await
        .unwrap()
        .unwrap();
    store.close().await;

    let mut smsc = Smsc::start().await;
    let p = server_in(dir, sms_settings(smsc.port)).await;
    smsc.next("bind_transceiver").await;
    let sup = p.srv.login("supervisor").await;
    let mut got = BTreeSet::new();
    for _ in 0..5 {
        let s = smsc.next("submit_sm").await;
        assert!(
            got.insert((
                s["destination_addr"].as_str().unwrap().to_string(),
                s["text"].as_str().unwrap().to_string()
            )),
            "sent twice: {s}"
        );
    }
    let want: BTreeSet<(String, String)> = (1..=5)
        .map(|i| {
            (
                msisdn(40 + i),
                format!("Code {i}{i}{i} pour +{}", msisdn(40 + i)),
            )
        })
        .collect();
    assert_eq!(got, want);
    let c = wait_campaign(&p, &sup, c.id, "done", |v| v["status"] == "done").await;
    assert_eq!(count(&c, "sent") + count(&c, "delivered"), 5, "{c}");
    p.srv.shutdown().await;
}

/// A local Graph API stand-in: records every WhatsApp send, answers an id.
#[derive(Clone, Default)]
struct Graph {
    posts: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

async fn graph_stand_in() -> (String, Graph) {
    use axum::extract::{Json, State};
    let g = Graph::default();
    let app = axum::Router::new()
        .route(
            "/{version}/{node}/messages",
            axum::routing::post(|State(g): State<Graph>, Json(body): Json<Value>| async move {
                let mut posts = g.posts.lock().unwrap();
                posts.push(body);
                let n = posts.len();
                Json(json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.CAMP{n}")}]}))
            }),
        )
        .with_state(g.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (url, g)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_campaign_sends_its_approved_template_and_honours_arret() {
    const SECRET: &str = "meta-app-secret";
    let (graph_url, graph) = graph_stand_in().await;
    let p = server(|s| {
        s.channels.meta.enabled = true;
        s.channels.meta.app_secret = Secret(SECRET.into());
        s.channels.meta.graph_base = graph_url;
        s.channels.meta.access_token = Secret("token".into());
        s.channels.meta.whatsapp_phone_number_id = "106540352242922".into();
        s.channels.dispatch_interval_ms = 50;
        s.channels.campaigns.tick_ms = 50;
        s.channels.campaigns.stop_reply = STOP_REPLY.into();
    })
    .await;
    let sup = p.srv.login("supervisor").await;

    // ARRÊT on WhatsApp (the public docs' payload, signed): opt-out, and the
    // confirmation goes as free text (the customer just wrote).
    let raw = std::fs::read_to_string(
        repo().join("crates/channels/tests/fixtures/whatsapp_text_message.json"),
    )
    .unwrap();
    let mut v: Value = serde_json::from_str(&raw).unwrap();
    v["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = json!("ARRÊT");
    let body = serde_json::to_vec(&v).unwrap();
    let r = p
        .srv
        .http
        .post(p.srv.url("/webhooks/meta"))
        .header("content-type", "application/json")
        .header(
            "X-Hub-Signature-256",
            channels::meta::webhook::sign(SECRET.as_bytes(), &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let wait_posts = |n: usize| {
        let graph = graph.clone();
        async move {
            for _ in 0..300 {
                if graph.posts.lock().unwrap().len() >= n {
                    return graph.posts.lock().unwrap().clone();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!(
                "fewer than {n} Graph posts: {:?}",
                graph.posts.lock().unwrap()
            );
        }
    };
    let posts = wait_posts(1).await;
    assert_eq!(
        (
            posts[0]["to"].as_str(),
            posts[0]["type"].as_str(),
            posts[0]["text"]["body"].as_str()
        ),
        (Some("22997000000"), Some("text"), Some(STOP_REPLY))
    );
    let outs = get(&p, &sup, "/api/v1/opt-outs?channel=whatsapp").await;
    assert_eq!(outs[0]["address"], "+22997000000", "{outs}");

    // Three customers and the opted-out one.
    for (i, phone) in [
        "+22997002001",
        "+22997002002",
        "+22997002003",
        "+22997000000",
    ]
    .into_iter()
    .enumerate()
    {
        let (st, c) = post_json(
            &p,
            &sup,
            "/api/v1/customers",
            json!({"name": format!("Wa {}", i + 1), "phones": [phone], "segment": "vip", "language": "ha"}),
        )
        .await;
        assert_eq!(st, 201, "{c}");
    }
    let mut campaign = json!({"name": "Offre", "channel": "whatsapp", "template": "Bonjour {{name}}, votre offre VIP est prête.",
        "rate_per_s": 5, "customers": {"segment": "vip", "language": "ha"}, "start": true});
    let (st, e) = post_json(&p, &sup, "/api/v1/campaigns", campaign.clone()).await;
    assert_eq!(st, 422);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("whatsapp_template: required"),
        "{e}"
    );
    campaign["whatsapp_template"] =
        json!({"name": "vip_offer", "language": "fr", "params": ["{{name}}"]});
    let (st, c) = post_json(&p, &sup, "/api/v1/campaigns", campaign).await;
    assert_eq!((st, c["status"].as_str()), (201, Some("running")), "{c}");
    let id = c["id"].as_i64().unwrap();
    let c = wait_campaign(&p, &sup, id, "done", |c| c["status"] == "done").await;
    assert_eq!((count(&c, "sent"), count(&c, "opted_out")), (3, 1), "{c}");
    let posts = wait_posts(4).await;
    assert_eq!(posts.len(), 4, "{posts:?}");
    let mut sent: Vec<(String, String)> = posts[1..]
        .iter()
        .map(|p| {
            assert_eq!(p["type"], "template", "{p}");
            assert_eq!(p["template"]["name"], "vip_offer");
            assert_eq!(p["template"]["language"]["code"], "fr");
            (
                p["to"].as_str().unwrap().to_string(),
                p["template"]["components"][0]["parameters"][0]["text"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [
            ("22997002001".to_string(), "Wa 1".to_string()),
            ("22997002002".to_string(), "Wa 2".to_string()),
            ("22997002003".to_string(), "Wa 3".to_string())
        ]
    );
    p.srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_campaign_from_csv_has_the_campaign_name_as_subject() {
    let (sink_port, mut sink) = smtp_sink().await;
    let p = server(move |s| {
        s.channels.smtp.enabled = true;
        s.channels.smtp.host = "127.0.0.1".into();
        s.channels.smtp.port = sink_port;
        s.channels.smtp.from = "Service client <support@switchboard.local>".into();
        s.channels.dispatch_interval_ms = 50;
        s.channels.campaigns.tick_ms = 50;
    })
    .await;
    let sup = p.srv.login("supervisor").await;
    let (st, c) = post_json(
        &p,
        &sup,
        "/api/v1/campaigns",
        json!({"name": "Rappel de facture", "channel": "email", "start": true,
               "template": "Bonjour {{name}},\nvotre facture {{invoice}} est disponible.",
               "csv": "address,name,invoice\nAwa@Example.NET,Awa,F-1\nbio@example.org,Bio,F-2\nawa@example.net,Awa bis,F-3\n"}),
    )
    .await;
    assert_eq!(st, 201, "{c}");
    // The third line is the first address again (e-mails are lower-cased).
    assert_eq!(c["stats"]["total"], 2, "{c}");
    let id = c["id"].as_i64().unwrap();
    let mut mails = Vec::new();
    for _ in 0..2 {
        mails.push(
            tokio::time::timeout(WAIT, sink.recv())
                .await
                .expect("a mail in time")
                .unwrap(),
        );
    }
    mails.sort_by_key(|m| m.contains("To: bio@example.org"));
    for (m, (to, name, invoice)) in mails.iter().zip([
        ("awa@example.net", "Awa", "F-1"),
        ("bio@example.org", "Bio", "F-2"),
    ]) {
        assert!(m.contains(&format!("To: {to}")), "{m}");
        assert!(m.contains("Subject: Rappel de facture"), "{m}");
        assert!(
            m.contains(&format!("Bonjour {name},"))
                && m.contains(&format!("votre facture {invoice} est disponible.")),
            "{m}"
        );
    }
    let c = wait_campaign(&p, &sup, id, "done", |c| c["status"] == "done").await;
    assert_eq!(count(&c, "sent"), 2, "{c}");
    p.srv.shutdown().await;
}
