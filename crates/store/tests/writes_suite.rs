//! Durable writes (issue 12): `apply_writes` (one transaction, idempotent
//! by key, no full-row rewrite) and `reserve_interaction_ids`, run against
//! SQLite and PostgreSQL (`SWITCHBOARD_TEST_PG` as for `store_suite.rs`).

mod support;

use domain::*;
use std::sync::Arc;
use store::*;

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_764_450_000_000 + ms)
}

fn key(node: u64, seq: u64) -> WriteKey {
    WriteKey { node, seq }
}

fn kw(node: u64, seq: u64, write: Write) -> KeyedWrite {
    KeyedWrite {
        key: key(node, seq),
        write,
    }
}

fn new_call(id: i64, customer: Option<CustomerId>, at: i64) -> Interaction {
    Interaction {
        id: InteractionId(id),
        channel: Channel::Voice,
        direction: Direction::Inbound,
        customer_id: customer,
        queue_id: None,
        agent_id: None,
        started_at: t(at),
        answered_at: None,
        ended_at: None,
        end_reason: None,
        disposition: None,
        notes: None,
        recording: None,
    }
}

fn created(id: i64, at: i64) -> NewEvent {
    NewEvent::new(
        t(at),
        EventKind::InteractionCreated {
            channel: Channel::Voice,
            direction: Direction::Inbound,
        },
    )
    .with_interaction(InteractionId(id))
}

fn ended(id: i64, at: i64, reason: &str) -> NewEvent {
    NewEvent::new(
        t(at),
        EventKind::Ended {
            reason: reason.into(),
        },
    )
    .with_interaction(InteractionId(id))
}

async fn kinds_of(s: &dyn Store, id: i64) -> Vec<String> {
    s.list_events(&EventFilter {
        interaction_id: Some(InteractionId(id)),
        ..EventFilter::default()
    })
    .await
    .unwrap()
    .into_iter()
    .map(|e| e.kind.name().to_string())
    .collect()
}

async fn all_events(s: &dyn Store) -> usize {
    s.list_events(&EventFilter {
        limit: 10_000,
        ..EventFilter::default()
    })
    .await
    .unwrap()
    .len()
}

async fn reserve(s: &dyn Store) {
    let a = s.reserve_interaction_ids(10).await.unwrap();
    assert_eq!(a.end - a.start, 10);
    assert!(a.start >= 1);
    let b = s.reserve_interaction_ids(5).await.unwrap();
    assert_eq!(b, a.end..a.end + 5, "blocks follow each other");
    assert!(s.reserve_interaction_ids(0).await.unwrap().is_empty());
    // create_interaction draws from the same counter: never inside a block.
    let i = s
        .create_interaction(&NewInteraction {
            channel: Channel::Voice,
            direction: Direction::Inbound,
            customer_id: None,
            queue_id: None,
            agent_id: None,
            started_at: t(0),
        })
        .await
        .unwrap();
    assert_eq!(i.id.0, b.end);
    let c = s.reserve_interaction_ids(3).await.unwrap();
    assert_eq!(c.start, i.id.0 + 1);
}

async fn apply_and_replay(s: &dyn Store) {
    let ids = s.reserve_interaction_ids(3).await.unwrap();
    let (a, b) = (ids.start, ids.start + 1);
    let q = s
        .create_queue(&NewQueue {
            name: "writes".into(),
            required_skills: vec![],
            strategy: Strategy::default(),
            service_level: ServiceLevel::default(),
            wrap_up_s: 10,
            max_wait_s: 600,
            ring_timeout_s: 15,
            priority: 0,
        })
        .await
        .unwrap();
    let before = all_events(s).await;
    let node = 0xDEAD_BEEF_0000_0001_u64; // above i64::MAX: stored as its bit pattern
    let batch = vec![
        kw(
            node,
            1,
            Write::Open {
                interaction: new_call(a, None, 0),
                events: vec![created(a, 0)],
            },
        ),
        kw(
            node,
            2,
            Write::Open {
                interaction: new_call(b, None, 1),
                events: vec![created(b, 1)],
            },
        ),
        kw(
            node,
            3,
            Write::Update {
                id: InteractionId(a),
                change: InteractionChange {
                    queue_id: Some(q.id),
                    ..InteractionChange::default()
                },
                events: vec![
                    NewEvent::new(
                        t(2),
                        EventKind::Queued {
                            queue_id: q.id,
                            priority: 0,
                        },
                    )
                    .with_interaction(InteractionId(a)),
                ],
            },
        ),
        kw(
            node,
            4,
            Write::Events(vec![
                NewEvent::new(t(3), EventKind::Held).with_interaction(InteractionId(a)),
            ]),
        ),
        kw(
            node,
            5,
            Write::Update {
                id: InteractionId(a),
                change: InteractionChange {
                    answered_at: Some(t(4)),
                    ..InteractionChange::default()
                },
                events: vec![],
            },
        ),
        kw(
            node,
            6,
            Write::Update {
                id: InteractionId(a),
                change: InteractionChange {
                    // A second answer (transfer) keeps the first answer time.
                    answered_at: Some(t(9)),
                    ended_at: Some(t(10)),
                    end_reason: Some("completed".into()),
                    disposition: Some("resolved".into()),
                    notes: Some("ok".into()),
                    recording: Some("/rec/a.wav".into()),
                    ..InteractionChange::default()
                },
                events: vec![ended(a, 10, "completed")],
            },
        ),
    ];
    let r = s.apply_writes(&batch).await.unwrap();
    assert_eq!(
        r,
        AppliedWrites {
            applied: 6,
            skipped: 0,
            events: 5
        }
    );
    let row = s.get_interaction(InteractionId(a)).await.unwrap().unwrap();
    assert_eq!(row.queue_id, Some(q.id));
    assert_eq!(row.answered_at, Some(t(4)));
    assert_eq!(row.ended_at, Some(t(10)));
    assert_eq!(row.end_reason.as_deref(), Some("completed"));
    assert_eq!(row.disposition.as_deref(), Some("resolved"));
    assert_eq!(row.notes.as_deref(), Some("ok"));
    assert_eq!(row.recording.as_deref(), Some("/rec/a.wav"));
    assert_eq!(
        kinds_of(s, a).await,
        ["interaction_created", "queued", "held", "ended"]
    );
    assert_eq!(kinds_of(s, b).await, ["interaction_created"]);
    assert_eq!(all_events(s).await, before + 5);

    // Replaying the same batch (crash between commit and journal trim)
    // changes nothing and duplicates no event.
    let r = s.apply_writes(&batch).await.unwrap();
    assert_eq!(
        r,
        AppliedWrites {
            applied: 0,
            skipped: 6,
            events: 0
        }
    );
    assert_eq!(all_events(s).await, before + 5);
    // A replay overlapping new writes applies only the new ones.
    let more = vec![
        batch[5].clone(),
        kw(
            node,
            7,
            Write::Update {
                id: InteractionId(b),
                change: InteractionChange {
                    ended_at: Some(t(20)),
                    end_reason: Some("abandoned".into()),
                    ..InteractionChange::default()
                },
                events: vec![ended(b, 20, "abandoned")],
            },
        ),
    ];
    let r = s.apply_writes(&more).await.unwrap();
    assert_eq!((r.applied, r.skipped, r.events), (1, 1, 1));
    assert_eq!(kinds_of(s, b).await, ["interaction_created", "ended"]);
    assert_eq!(kinds_of(s, a).await.len(), 4);
    // Another node's keys are independent.
    let other = vec![kw(
        7,
        1,
        Write::Events(vec![
            NewEvent::new(t(30), EventKind::Held).with_interaction(InteractionId(b)),
        ]),
    )];
    assert_eq!(s.apply_writes(&other).await.unwrap().applied, 1);

    // An Open of an id that exists: a conflict, not transient, and nothing of
    // the batch is applied (one transaction).
    let n = all_events(s).await;
    let bad = vec![
        kw(node, 8, Write::Events(vec![ended(b, 40, "x")])),
        kw(
            node,
            9,
            Write::Open {
                interaction: new_call(a, None, 41),
                events: vec![created(a, 41)],
            },
        ),
    ];
    let err = s.apply_writes(&bad).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert!(!err.is_transient());
    assert_eq!(all_events(s).await, n);
    // ...so seq 8 was not marked applied: it applies alone later.
    assert_eq!(s.apply_writes(&bad[..1]).await.unwrap().applied, 1);

    // An update of an unknown row keeps its events.
    let ghost = ids.start + 2; // reserved, never opened
    let r = s
        .apply_writes(&[kw(
            node,
            10,
            Write::Update {
                id: InteractionId(ghost),
                change: InteractionChange {
                    end_reason: Some("x".into()),
                    ..InteractionChange::default()
                },
                events: vec![ended(ghost, 50, "x")],
            },
        )])
        .await
        .unwrap();
    assert_eq!((r.applied, r.events), (1, 1));
    assert!(
        s.get_interaction(InteractionId(ghost))
            .await
            .unwrap()
            .is_none()
    );
}

/// Issue 12 acceptance: a customer merge during a live call keeps the merged
/// customer on the interaction after the call ends.
async fn merge_survives_engine_update(s: &dyn Store) {
    let a = s
        .create_customer(
            &NewCustomer {
                name: "Koffi (dup)".into(),
                ..NewCustomer::default()
            },
            t(0),
        )
        .await
        .unwrap();
    let b = s
        .create_customer(
            &NewCustomer {
                name: "Koffi".into(),
                ..NewCustomer::default()
            },
            t(0),
        )
        .await
        .unwrap();
    let ids = s.reserve_interaction_ids(2).await.unwrap();
    let (live, late) = (ids.start, ids.start + 1);
    let node = 42;
    // The engine opens the call for customer A.
    s.apply_writes(&[kw(
        node,
        1,
        Write::Open {
            interaction: new_call(live, Some(a.id), 0),
            events: vec![created(live, 0).with_customer(a.id)],
        },
    )])
    .await
    .unwrap();
    // An agent merges A into B during the call.
    let m = s
        .merge_customers(a.id, b.id, UserId(1), t(5))
        .await
        .unwrap();
    assert_eq!(m.interactions, vec![InteractionId(live)]);
    // The engine, still holding A in its copy, answers and ends the call.
    s.apply_writes(&[
        kw(
            node,
            2,
            Write::Update {
                id: InteractionId(live),
                change: InteractionChange {
                    customer_id: Some(a.id),
                    agent_id: None,
                    answered_at: Some(t(6)),
                    ..InteractionChange::default()
                },
                events: vec![],
            },
        ),
        kw(
            node,
            3,
            Write::Update {
                id: InteractionId(live),
                change: InteractionChange {
                    customer_id: Some(a.id),
                    ended_at: Some(t(9)),
                    end_reason: Some("completed".into()),
                    disposition: Some("resolved".into()),
                    ..InteractionChange::default()
                },
                events: vec![ended(live, 9, "completed").with_customer(a.id)],
            },
        ),
        // An Open delayed past the merge (e.g. in the journal) lands on the survivor.
        kw(
            node,
            4,
            Write::Open {
                interaction: new_call(late, Some(a.id), 1),
                events: vec![created(late, 1).with_customer(a.id)],
            },
        ),
    ])
    .await
    .unwrap();
    let row = s
        .get_interaction(InteractionId(live))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.customer_id, Some(b.id), "the merge is not undone");
    assert_eq!(row.answered_at, Some(t(6)));
    assert_eq!(row.end_reason.as_deref(), Some("completed"));
    let row = s
        .get_interaction(InteractionId(late))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.customer_id, Some(b.id));
    // The survivor's timeline has both calls.
    let tl = s.customer_timeline(b.id, 10, 0).await.unwrap();
    let mut got: Vec<i64> = tl.iter().map(|e| e.interaction.id.0).collect();
    got.sort();
    assert_eq!(got, vec![live, late]);
    // A customer filled in later only fills an empty column.
    let ids = s.reserve_interaction_ids(1).await.unwrap();
    s.apply_writes(&[
        kw(
            node,
            5,
            Write::Open {
                interaction: new_call(ids.start, None, 20),
                events: vec![],
            },
        ),
        kw(
            node,
            6,
            Write::Update {
                id: InteractionId(ids.start),
                change: InteractionChange {
                    customer_id: Some(b.id),
                    ..InteractionChange::default()
                },
                events: vec![],
            },
        ),
    ])
    .await
    .unwrap();
    let row = s
        .get_interaction(InteractionId(ids.start))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.customer_id, Some(b.id));
}

/// `open_interaction` (messaging ingest, API): row and events in one
/// transaction, with ids that never collide with the engine's blocks.
async fn open_outside_the_engine(s: &dyn Store) {
    let engine_block = s.reserve_interaction_ids(5).await.unwrap();
    let new = NewInteraction {
        channel: Channel::Sms,
        direction: Direction::Inbound,
        customer_id: None,
        queue_id: None,
        agent_id: None,
        started_at: Timestamp::from_millis(1_780_000_000_000),
    };
    let msg = NewEvent::new(
        new.started_at,
        EventKind::MessageIn {
            text: "bonjour".into(),
        },
    );
    let a = store::open_interaction(s, &new, vec![msg]).await.unwrap();
    let b = store::open_interaction(s, &new, Vec::new()).await.unwrap();
    assert!(!engine_block.contains(&a.id.0) && !engine_block.contains(&b.id.0));
    assert_ne!(a.id, b.id);
    assert_eq!(
        kinds_of(s, a.id.0).await,
        ["interaction_created", "message_in"]
    );
    assert_eq!(kinds_of(s, b.id.0).await, ["interaction_created"]);
    let row = s.get_interaction(a.id).await.unwrap().unwrap();
    assert_eq!(row.channel, Channel::Sms);
    assert_eq!(row.started_at, new.started_at);
}

/// One dialer call in flight per number: the second claim is refused until
/// the first is released; stale claims go.
async fn dial_claims(s: &dyn Store) {
    let n = PhoneNumber::try_from("+33698765432".to_string()).unwrap();
    let m = PhoneNumber::try_from("+33698765433".to_string()).unwrap();
    let t = Timestamp::from_millis(1_780_000_000_000);
    assert!(s.claim_dial_number(&n, 1, t).await.unwrap());
    assert!(
        !s.claim_dial_number(&n, 2, t).await.unwrap(),
        "another campaign"
    );
    assert!(s.claim_dial_number(&m, 2, t.add_millis(10)).await.unwrap());
    s.release_dial_number(&n).await.unwrap();
    s.release_dial_number(&n).await.unwrap();
    assert!(s.claim_dial_number(&n, 2, t.add_millis(20)).await.unwrap());
    assert_eq!(
        s.release_stale_dial_numbers(t.add_millis(15))
            .await
            .unwrap(),
        1
    );
    assert!(
        s.claim_dial_number(&m, 3, t.add_millis(30)).await.unwrap(),
        "m was stale"
    );
    assert!(!s.claim_dial_number(&n, 3, t.add_millis(30)).await.unwrap());
}

/// SIP registrations kept across a restart: replaced per user, listed while
/// live.
async fn sip_bindings(s: &dyn Store) {
    let t = Timestamp::from_millis(1_780_000_000_000);
    let b = |contact: &str, at: i64| SipBinding {
        user: "amina".into(),
        contact: contact.into(),
        source: "10.0.0.7:5062".into(),
        expires_at: t.add_millis(at),
        call_id: "reg1".into(),
    };
    s.replace_sip_bindings(
        "amina",
        &[
            b("sip:amina@10.0.0.7:5062", 60_000),
            b("sip:amina@10.0.0.9", 1_000),
        ],
    )
    .await
    .unwrap();
    assert_eq!(s.list_sip_bindings(t).await.unwrap().len(), 2);
    let later = s.list_sip_bindings(t.add_millis(2_000)).await.unwrap();
    assert_eq!(
        later,
        vec![b("sip:amina@10.0.0.7:5062", 60_000)],
        "the lapsed one is not listed"
    );
    s.replace_sip_bindings("amina", &[]).await.unwrap();
    assert!(
        s.list_sip_bindings(t).await.unwrap().is_empty(),
        "unregistered"
    );
}

/// Confirmed SIP dialogs kept across a restart (issue 13): saved (and
/// updated) by Call-ID, removed when they end, taken once at start.
async fn sip_dialogs(s: &dyn Store) {
    let t = Timestamp::from_millis(1_780_000_000_000);
    let d = |call_id: &str, cseq: u32, at: i64| store::SavedSipDialog {
        call_id: call_id.into(),
        local: "<sip:switchboard@10.0.0.1:5060>;tag=ours".into(),
        local_tag: "ours".into(),
        remote: "<sip:3900@10.0.0.7>;tag=theirs".into(),
        remote_target: "sip:caller@10.0.0.7:5062".into(),
        route_set: vec![
            "<sip:p1.example.net;lr>".into(),
            "<sip:p2.example.net;lr>".into(),
        ],
        transport: "udp".into(),
        peer: "10.0.0.7:5062".into(),
        local_cseq: cseq,
        saved_at: t.add_millis(at),
    };
    s.save_sip_dialog(&d("c1", 1, 0)).await.unwrap();
    s.save_sip_dialog(&d("c2", 1, 5)).await.unwrap();
    s.save_sip_dialog(&d("c3", 1, 7)).await.unwrap();
    // A re-INVITE raised our CSeq: the row follows.
    s.save_sip_dialog(&d("c1", 2, 10)).await.unwrap();
    s.remove_sip_dialog("c3").await.unwrap();
    s.remove_sip_dialog("never-saved").await.unwrap();
    assert_eq!(
        s.take_sip_dialogs().await.unwrap(),
        vec![d("c2", 1, 5), d("c1", 2, 10)],
        "live dialogs, oldest first, route set in order"
    );
    assert!(s.take_sip_dialogs().await.unwrap().is_empty(), "taken once");
    let mut none = d("c4", 1, 0);
    none.route_set.clear();
    s.save_sip_dialog(&none).await.unwrap();
    assert_eq!(s.take_sip_dialogs().await.unwrap(), vec![none]);
}

async fn suite(s: Arc<dyn Store>) {
    sip_dialogs(&*s).await;
    sip_bindings(&*s).await;
    dial_claims(&*s).await;
    open_outside_the_engine(&*s).await;
    reserve(&*s).await;
    apply_and_replay(&*s).await;
    merge_survives_engine_update(&*s).await;
}

#[tokio::test]
async fn sqlite_writes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let s = store::open(&url).await.unwrap();
    suite(s.clone()).await;
    s.close().await;
}

#[tokio::test]
async fn postgres_writes() {
    let pg = support::FreshPg::create("sbtest_w").await;
    let url = pg.url.clone();
    let s = store::open(&url).await.unwrap();
    suite(s.clone()).await;
    s.close().await;
    pg.drop_db().await;
}
