//! Digital conversations through the engine, on a real SQLite store and a
//! real (idle) voice stack: routed by the ACD with per-channel capacity,
//! offered to the desktop, accepted or rejected, answered through the
//! outbox, transferred, closed by the disposition.

use domain::*;
use engine::push::{Audience, Envelope, Push};
use engine::{EngineConfig, EngineHandle, TransferTarget};
use std::sync::Arc;
use std::time::Duration;
use store::{NewAgent, NewInteraction, NewQueue, Store};
use tokio::sync::broadcast;

struct Rig {
    store: Arc<dyn Store>,
    engine: EngineHandle,
    push: broadcast::Receiver<Envelope>,
    queue: QueueId,
    agents: Vec<AgentId>,
    _dir: tempfile::TempDir,
}

async fn rig(ring_timeout_s: u32) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sb.db").display());
    let store = store::open(&url).await.unwrap();
    let queue = store
        .create_queue(&NewQueue {
            name: "chat".into(),
            required_skills: vec![],
            strategy: Strategy::LongestIdle,
            service_level: ServiceLevel::default(),
            wrap_up_s: 30,
            max_wait_s: 0,
            ring_timeout_s,
            priority: 0,
        })
        .await
        .unwrap();
    store
        .create_queue(&NewQueue {
            name: "billing".into(),
            required_skills: vec![],
            strategy: Strategy::LongestIdle,
            service_level: ServiceLevel::default(),
            wrap_up_s: 0,
            max_wait_s: 0,
            ring_timeout_s,
            priority: 0,
        })
        .await
        .unwrap();
    store
        .create_disposition("resolved", "Resolved")
        .await
        .unwrap();
    let mut agents = Vec::new();
    for login in ["amina", "koffi"] {
        let a = store
            .create_agent(&NewAgent {
                login: login.into(),
                name: login.into(),
                skills: vec![],
                languages: vec!["fr".into()],
                capacity: Capacity {
                    chat: 2,
                    ..Capacity::default()
                },
            })
            .await
            .unwrap();
        agents.push(a.id);
    }
    let voice_cfg = voice::VoiceConfig {
        sip_addr: "127.0.0.1:0".parse().unwrap(),
        tcp: false,
        qualify_interval: None,
        ..voice::VoiceConfig::default()
    };
    let (calls, events) = voice::start(voice_cfg, Arc::new(voice::MemoryDirectory::default()))
        .await
        .unwrap();
    let flows = ivr::FlowSet::new(ivr::PromptCatalog::new());
    let cfg = EngineConfig {
        recordings_dir: dir.path().join("rec"),
        journal_dir: dir.path().join("journal"),
        ..EngineConfig::default()
    };
    let (engine, _task) = engine::start(store.clone(), calls, events, flows, cfg)
        .await
        .unwrap();
    let push = engine.subscribe();
    Rig {
        store,
        engine,
        push,
        queue: queue.id,
        agents,
        _dir: dir,
    }
}

impl Rig {
    /// The next push to `agent` matching `want`, skipping others (5 s max).
    async fn next(&mut self, agent: AgentId, want: impl Fn(&Push) -> bool) -> Push {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let env = tokio::time::timeout_at(deadline, self.push.recv())
                .await
                .expect("push in time")
                .expect("push channel open");
            if env.audience == Audience::Agent(agent) && want(&env.message) {
                return env.message;
            }
        }
    }

    async fn sms_conversation(&self, from: &str) -> InteractionId {
        let phone = phone::normalize_e164(from, Some("BJ")).unwrap();
        let c = self
            .store
            .create_customer(
                &store::NewCustomer {
                    name: "Awa".into(),
                    phones: vec![phone],
                    ..Default::default()
                },
                Timestamp::from_millis(1),
            )
            .await
            .unwrap();
        self.store
            .create_interaction(&NewInteraction {
                channel: Channel::Sms,
                direction: Direction::Inbound,
                customer_id: Some(c.id),
                queue_id: None,
                agent_id: None,
                started_at: Timestamp::from_millis(1),
            })
            .await
            .unwrap()
            .id
    }
}

fn is_offer(p: &Push) -> bool {
    matches!(p, Push::Offer { .. })
}

#[tokio::test]
async fn sms_conversation_offered_accepted_replied_and_closed() {
    let mut r = rig(30).await;
    let amina = r.agents[0];
    r.engine.agent_login(amina).await.unwrap();
    let id = r.sms_conversation("97000001").await;
    r.engine
        .route_conversation(id, r.queue, "+22997000001".into())
        .await
        .unwrap();

    let Push::Offer {
        interaction_id,
        channel,
        queue,
        screen_pop,
        ..
    } = r.next(amina, is_offer).await
    else {
        unreachable!()
    };
    assert_eq!(interaction_id, id);
    assert_eq!(channel, Channel::Sms);
    assert_eq!(queue, "chat");
    assert_eq!(screen_pop.caller, "+22997000001");
    assert_eq!(screen_pop.customer.as_ref().unwrap().name, "Awa");

    // The agent's state says which task rings for them.
    let me =
        |stats: Vec<routing::AgentStats>| stats.into_iter().find(|s| s.agent == amina).unwrap();
    let st = me(r.engine.agent_stats().await.unwrap());
    assert_eq!((st.offered, st.tasks.len()), (Some(id), 0));

    // Only the agent it is offered to may reply; not before accepting.
    assert!(r.engine.reply(amina, id, "Bonjour".into()).await.is_err());
    r.engine.answer_offer(amina, id, true).await.unwrap();
    r.next(
        amina,
        |p| matches!(p, Push::Answered { interaction_id } if *interaction_id == id),
    )
    .await;
    assert!(
        r.engine.answer_offer(amina, id, true).await.is_err(),
        "offer is gone"
    );

    // A further inbound message is pushed to her.
    r.engine
        .conversation_message(id, "Mon forfait ne marche pas".into())
        .await
        .unwrap();
    let Push::Message {
        direction, text, ..
    } = r.next(amina, |p| matches!(p, Push::Message { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(
        (direction.as_str(), text.as_str()),
        ("in", "Mon forfait ne marche pas")
    );

    // Her reply goes to the outbox, on SMS, to the customer's number.
    let koffi = r.agents[1];
    assert!(matches!(
        r.engine.reply(koffi, id, "x".into()).await,
        Err(engine::EngineError::NotYours(_))
    ));
    let outbox_id = r
        .engine
        .reply(amina, id, "Bonjour, je regarde votre forfait.".into())
        .await
        .unwrap();
    let rows = r.store.list_outbox(None, 10).await.unwrap();
    let row = rows.iter().find(|m| m.id == outbox_id).unwrap();
    assert_eq!(row.channel, Channel::Sms);
    assert_eq!(row.recipient, "+22997000001");
    assert_eq!(row.body, "Bonjour, je regarde votre forfait.");
    assert_eq!(row.interaction_id, Some(id));

    // The disposition closes it; she is available again at once.
    r.engine
        .disposition(
            amina,
            id,
            "resolved".into(),
            Some("forfait réactivé".into()),
        )
        .await
        .unwrap();
    r.next(
        amina,
        |p| matches!(p, Push::Ended { interaction_id, .. } if *interaction_id == id),
    )
    .await;
    let i = r.store.get_interaction(id).await.unwrap().unwrap();
    assert_eq!(i.agent_id, Some(amina));
    assert_eq!(i.disposition.as_deref(), Some("resolved"));
    assert_eq!(i.end_reason.as_deref(), Some("completed"));
    assert!(i.answered_at.is_some() && i.ended_at.is_some());
    let stats = r.engine.agent_stats().await.unwrap();
    assert_eq!(
        stats.iter().find(|s| s.agent == amina).unwrap().status,
        routing::AgentStatus::Available
    );
    let kinds: Vec<String> = r
        .store
        .list_events(&store::EventFilter {
            interaction_id: Some(id),
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.name().to_string())
        .collect();
    for k in [
        "queued",
        "offered",
        "answered",
        "message_out",
        "disposition_set",
        "ended",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
}

#[tokio::test]
async fn a_rejected_conversation_goes_to_the_other_agent() {
    let mut r = rig(30).await;
    let (amina, koffi) = (r.agents[0], r.agents[1]);
    r.engine.agent_login(amina).await.unwrap();
    let id = r.sms_conversation("97000002").await;
    r.engine
        .route_conversation(id, r.queue, "+22997000002".into())
        .await
        .unwrap();
    r.next(amina, is_offer).await;
    r.engine.agent_login(koffi).await.unwrap();
    r.engine.answer_offer(amina, id, false).await.unwrap();
    let Push::Offer { interaction_id, .. } = r.next(koffi, is_offer).await else {
        unreachable!()
    };
    assert_eq!(interaction_id, id);
    r.engine.answer_offer(koffi, id, true).await.unwrap();
    assert_eq!(
        r.store.get_interaction(id).await.unwrap().unwrap().agent_id,
        Some(koffi)
    );
}

#[tokio::test]
async fn two_chats_at_once_within_capacity_and_a_transfer_to_an_agent() {
    let mut r = rig(30).await;
    let (amina, koffi) = (r.agents[0], r.agents[1]);
    r.engine.agent_login(amina).await.unwrap();
    let a = r.sms_conversation("97000003").await;
    let b = r.sms_conversation("97000004").await;
    let c = r.sms_conversation("97000005").await;
    for (id, n) in [
        (a, "+22997000003"),
        (b, "+22997000004"),
        (c, "+22997000005"),
    ] {
        r.engine
            .route_conversation(id, r.queue, n.into())
            .await
            .unwrap();
    }
    // Chat capacity 2: two offers, the third waits.
    for _ in 0..2 {
        let Push::Offer { interaction_id, .. } = r.next(amina, is_offer).await else {
            unreachable!()
        };
        r.engine
            .answer_offer(amina, interaction_id, true)
            .await
            .unwrap();
    }
    let stats = r.engine.queue_stats().await.unwrap();
    assert_eq!(
        stats.iter().find(|(n, _)| n == "chat").unwrap().1.waiting,
        1
    );

    // Transfer to koffi: refused while he is logged out; once in, he takes
    // the waiting chat, then the transferred one (capacity 2).
    assert!(matches!(
        r.engine
            .transfer(amina, a, TransferTarget::Agent(koffi))
            .await,
        Err(engine::EngineError::NotLoggedIn(_))
    ));
    r.engine.agent_login(koffi).await.unwrap();
    let Push::Offer { interaction_id, .. } = r.next(koffi, is_offer).await else {
        unreachable!()
    };
    assert_eq!(interaction_id, c);
    r.engine.answer_offer(koffi, c, true).await.unwrap();
    r.engine
        .transfer(amina, a, TransferTarget::Agent(koffi))
        .await
        .unwrap();
    let Push::Transferred { interaction_id, to } = r
        .next(amina, |p| matches!(p, Push::Transferred { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(interaction_id, a);
    assert_eq!(to, format!("agent:{}", koffi.0));
    let Push::Offer { interaction_id, .. } = r.next(koffi, is_offer).await else {
        unreachable!()
    };
    assert_eq!(interaction_id, a, "offered to koffi alone");
    r.engine.answer_offer(koffi, a, true).await.unwrap();
    assert_eq!(
        r.store.get_interaction(a).await.unwrap().unwrap().agent_id,
        Some(koffi)
    );
    assert!(matches!(
        r.engine.reply(amina, a, "x".into()).await,
        Err(engine::EngineError::NotYours(_))
    ));
    let ev = r
        .store
        .list_events(&store::EventFilter {
            interaction_id: Some(a),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(ev.iter().any(|e| matches!(
        e.kind,
        EventKind::Transferred { to_agent: Some(x), to_queue: None } if x == koffi
    )));
}

#[tokio::test]
async fn an_unanswered_offer_is_rona() {
    let mut r = rig(1).await;
    let amina = r.agents[0];
    r.engine.agent_login(amina).await.unwrap();
    let id = r.sms_conversation("97000006").await;
    r.engine
        .route_conversation(id, r.queue, "+22997000006".into())
        .await
        .unwrap();
    r.next(amina, is_offer).await;
    let Push::OfferCancelled { reason, .. } = r
        .next(amina, |p| matches!(p, Push::OfferCancelled { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(reason, "rona");
    assert!(r.engine.answer_offer(amina, id, true).await.is_err());
}

#[tokio::test]
async fn a_voice_interaction_or_unknown_queue_is_refused() {
    let r = rig(30).await;
    let id = r.sms_conversation("97000007").await;
    assert!(
        r.engine
            .route_conversation(id, QueueId(999), "+22997000007".into())
            .await
            .is_err()
    );
    let voice = r
        .store
        .create_interaction(&NewInteraction {
            channel: Channel::Voice,
            direction: Direction::Inbound,
            customer_id: None,
            queue_id: None,
            agent_id: None,
            started_at: Timestamp::from_millis(1),
        })
        .await
        .unwrap();
    assert!(
        r.engine
            .route_conversation(voice.id, r.queue, "+22997000007".into())
            .await
            .is_err()
    );
    assert!(matches!(
        r.engine
            .conversation_message(InteractionId(424242), "x".into())
            .await,
        Err(engine::EngineError::UnknownInteraction(_))
    ));
}
