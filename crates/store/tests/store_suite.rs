//! One store test suite, run against SQLite and PostgreSQL.
//!
//! PostgreSQL: set `SWITCHBOARD_TEST_PG` to a server URL
//! (`postgres://postgres:postgres@127.0.0.1:5432/postgres`); each run creates
//! and drops its own database. `scripts/test` sets it; the test fails loudly
//! without it so a CI run cannot skip the backend by accident.

use domain::*;
use sqlx::Connection;
use std::sync::Arc;
use store::*;

#[path = "store_suite/campaigns.rs"]
mod campaigns;

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_764_450_000_000 + ms)
}

fn phone(s: &str) -> PhoneNumber {
    phone::normalize_e164(s, Some("BJ")).unwrap()
}

fn customer(name: &str, tel: &str) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        phones: vec![phone(tel)],
        segment: Segment::Vip,
        language: Some("fr".into()),
        ..NewCustomer::default()
    }
}

async fn suite(s: Arc<dyn Store>) {
    customers(&*s).await;
    queues_agents_dispositions(&*s).await;
    interactions_events_timeline(&*s).await;
    users_sessions(&*s).await;
    outbox(&*s).await;
    meta(&*s).await;
    admin_edits(&*s).await;
    last_agent_states(&*s).await;
    chat(&*s).await;
    s.ping().await.unwrap();
    // After `outbox`: reads the survey row it queued.
    messaging(&*s).await;
    campaigns::campaigns(&*s).await;
}

async fn customers(s: &dyn Store) {
    let a = s
        .create_customer(&customer("Awa Diallo", "+229 01 97 00 00 01"), t(0))
        .await
        .unwrap();
    assert_eq!(a.phones[0].as_str(), "+2290197000001");
    assert_eq!(a.segment, Segment::Vip);

    // The same phone cannot belong to two customers.
    let err = s
        .create_customer(&customer("Other", "+2290197000001"), t(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref m) if m.contains("+2290197000001")),
        "{err}"
    );
    // ...and nothing of the failed customer was written.
    assert_eq!(s.count_customers().await.unwrap(), 1);

    // Lookup by each identity kind.
    let mut b = customer("Bio Kossi", "+2290197000002");
    b.emails = vec!["Bio@Example.org".into()];
    b.channel_ids = vec![ChannelIdentity {
        channel: Channel::Whatsapp,
        id: "2290197000002".into(),
    }];
    let b = s.create_customer(&b, t(2)).await.unwrap();
    assert_eq!(b.emails, vec!["bio@example.org".to_string()]);
    let by_phone = s
        .find_customer_by_identity(&Identity::Phone(phone("+2290197000002")))
        .await
        .unwrap();
    assert_eq!(by_phone.unwrap().id, b.id);
    let by_mail = s
        .find_customer_by_identity(&Identity::Email("BIO@example.org".into()))
        .await
        .unwrap();
    assert_eq!(by_mail.unwrap().id, b.id);
    let by_wa = s
        .find_customer_by_identity(&Identity::Channel(ChannelIdentity {
            channel: Channel::Whatsapp,
            id: "2290197000002".into(),
        }))
        .await
        .unwrap();
    assert_eq!(by_wa.unwrap().id, b.id);
    assert!(
        s.find_customer_by_identity(&Identity::Phone(phone("+2290197009999")))
            .await
            .unwrap()
            .is_none()
    );

    // Search by name fragment (case-insensitive), by phone digits, LIKE metacharacters are literal.
    let found = s.search_customers("kossi", 10, 0).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b.id]);
    let found = s.search_customers("97000001", 10, 0).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), vec![a.id]);
    assert!(s.search_customers("%", 10, 0).await.unwrap().is_empty());

    // Patch: rename, replace phones; old phone no longer resolves.
    let patched = s
        .update_customer(
            a.id,
            &CustomerPatch {
                name: Some("Awa D.".into()),
                phones: Some(vec![phone("+2290197000003")]),
                ..CustomerPatch::default()
            },
            t(5),
        )
        .await
        .unwrap();
    assert_eq!(patched.name, "Awa D.");
    assert_eq!(patched.updated_at, t(5));
    assert!(
        s.find_customer_by_identity(&Identity::Phone(phone("+2290197000001")))
            .await
            .unwrap()
            .is_none()
    );
    // Patching onto someone else's phone is a conflict and changes nothing.
    let err = s
        .update_customer(
            a.id,
            &CustomerPatch {
                phones: Some(vec![phone("+2290197000002")]),
                ..CustomerPatch::default()
            },
            t(6),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    assert_eq!(
        s.get_customer(a.id).await.unwrap().unwrap().phones,
        vec![phone("+2290197000003")]
    );

    // Import: good rows kept, bad rows reported at their index.
    let rows = vec![
        customer("Row One", "+2290197000010"),
        customer("Dup of B", "+2290197000002"),
        NewCustomer {
            name: "   ".into(),
            ..NewCustomer::default()
        },
        customer("Row Four", "+2290197000011"),
    ];
    let res = s.import_customers(&rows, t(7)).await.unwrap();
    assert!(res[0].is_ok() && res[3].is_ok());
    assert!(matches!(res[1], Err(StoreError::Conflict(_))));
    assert!(matches!(res[2], Err(StoreError::Invalid(_))));
    assert_eq!(s.count_customers().await.unwrap(), 4);

    // Delete.
    let gone = *res[3].as_ref().unwrap();
    assert!(s.delete_customer(gone).await.unwrap());
    assert!(!s.delete_customer(gone).await.unwrap());
    assert!(s.get_customer(gone).await.unwrap().is_none());
}

async fn queues_agents_dispositions(s: &dyn Store) {
    let q = NewQueue {
        name: "general".into(),
        required_skills: vec![SkillLevel {
            skill: "french".into(),
            level: 3,
        }],
        strategy: Strategy::SkillsWeighted,
        service_level: ServiceLevel {
            percent: 80.0,
            within_s: 20,
        },
        wrap_up_s: 30,
        max_wait_s: 300,
        ring_timeout_s: 15,
        priority: 0,
    };
    let created = s.create_queue(&q).await.unwrap();
    assert_eq!(created.strategy, Strategy::SkillsWeighted);
    assert_eq!(created.required_skills[0].level, 3);
    assert!(matches!(
        s.create_queue(&q).await.unwrap_err(),
        StoreError::Conflict(_)
    ));
    let bad = NewQueue {
        required_skills: vec![SkillLevel {
            skill: "x".into(),
            level: 11,
        }],
        name: "bad".into(),
        ..q.clone()
    };
    assert!(matches!(
        s.create_queue(&bad).await.unwrap_err(),
        StoreError::Invalid(_)
    ));
    let updated = s
        .update_queue(
            created.id,
            &NewQueue {
                wrap_up_s: 45,
                ..q.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.wrap_up_s, 45);
    assert_eq!(s.list_queues().await.unwrap().len(), 1);

    let a = s
        .create_agent(&NewAgent {
            login: "amina".into(),
            name: "Amina".into(),
            skills: vec![SkillLevel {
                skill: "french".into(),
                level: 8,
            }],
            languages: vec!["fr".into()],
            capacity: Capacity::default(),
        })
        .await
        .unwrap();
    assert_eq!(s.get_agent(a.id).await.unwrap().unwrap(), a);
    let dup = NewAgent {
        login: "amina".into(),
        name: "x".into(),
        skills: vec![],
        languages: vec![],
        capacity: Capacity::default(),
    };
    assert!(matches!(
        s.create_agent(&dup).await.unwrap_err(),
        StoreError::Conflict(_)
    ));
    assert_eq!(s.list_agents().await.unwrap().len(), 1);
    assert!(s.sip_credentials().await.unwrap().is_empty());
    s.set_sip_password(a.id, "phone-secret").await.unwrap();
    assert_eq!(
        s.sip_credentials().await.unwrap(),
        vec![("amina".to_string(), "phone-secret".to_string())]
    );
    assert!(matches!(
        s.set_sip_password(AgentId(9999), "x").await.unwrap_err(),
        StoreError::NotFound(_)
    ));

    s.create_disposition("resolved", "Resolved").await.unwrap();
    assert!(matches!(
        s.create_disposition("resolved", "again").await.unwrap_err(),
        StoreError::Conflict(_)
    ));
    assert_eq!(s.list_dispositions().await.unwrap()[0].code, "resolved");
}

async fn interactions_events_timeline(s: &dyn Store) {
    let c = s
        .create_customer(&customer("Timeline", "+2290197000050"), t(0))
        .await
        .unwrap();
    let q = s.list_queues().await.unwrap()[0].id;
    let call = s
        .create_interaction(&NewInteraction {
            channel: Channel::Voice,
            direction: Direction::Inbound,
            customer_id: Some(c.id),
            queue_id: Some(q),
            agent_id: None,
            started_at: t(100),
        })
        .await
        .unwrap();
    let sms = s
        .create_interaction(&NewInteraction {
            channel: Channel::Sms,
            direction: Direction::Outbound,
            customer_id: Some(c.id),
            queue_id: None,
            agent_id: None,
            started_at: t(200),
        })
        .await
        .unwrap();
    let evs = vec![
        NewEvent::new(
            t(100),
            EventKind::InteractionCreated {
                channel: Channel::Voice,
                direction: Direction::Inbound,
            },
        )
        .with_interaction(call.id)
        .with_customer(c.id),
        NewEvent::new(
            t(110),
            EventKind::Queued {
                queue_id: q,
                priority: 100,
            },
        )
        .with_interaction(call.id)
        .with_customer(c.id),
        NewEvent::new(
            t(130),
            EventKind::Answered {
                queue_id: Some(q),
                waited_ms: 20,
            },
        )
        .with_interaction(call.id)
        .with_customer(c.id),
        NewEvent::new(
            t(200),
            EventKind::MessageOut {
                text: "Bonjour".into(),
            },
        )
        .with_interaction(sms.id)
        .with_customer(c.id),
    ];
    let seqs = s.append_events(&evs).await.unwrap();
    assert_eq!(seqs.len(), 4);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // Batches keep the sequence monotonic across calls, including > 1000 rows.
    let many: Vec<NewEvent> = (0..2500)
        .map(|i| NewEvent::new(t(1000 + i), EventKind::Held))
        .collect();
    let more = s.append_events(&many).await.unwrap();
    assert_eq!(more.len(), 2500);
    assert!(more[0] > seqs[3] && more.windows(2).all(|w| w[0] < w[1]));

    // The log refuses changes.
    // (checked through list: an UPDATE is not part of the API at all.)
    let by_call = s
        .list_events(&EventFilter {
            interaction_id: Some(call.id),
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_call.iter().map(|e| e.kind.name()).collect::<Vec<_>>(),
        vec!["interaction_created", "queued", "answered"]
    );
    let by_kind = s
        .list_events(&EventFilter {
            kind: Some("answered".into()),
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_kind.len(), 1);
    assert_eq!(
        by_kind[0].kind,
        EventKind::Answered {
            queue_id: Some(q),
            waited_ms: 20
        }
    );
    let by_time = s
        .list_events(&EventFilter {
            from: Some(t(110)),
            to: Some(t(200)),
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_time.len(), 2);
    let by_customer = s
        .list_events(&EventFilter {
            customer_id: Some(c.id),
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_customer.len(), 4);
    let tail = s
        .list_events(&EventFilter {
            after_seq: Some(seqs[3]),
            limit: 10,
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(tail.len(), 10);
    assert_eq!(tail[0].seq, more[0]);

    // Update an interaction, then read the timeline newest first.
    let mut done = call.clone();
    done.answered_at = Some(t(130));
    done.ended_at = Some(t(190));
    done.end_reason = Some("completed".into());
    done.disposition = Some("resolved".into());
    done.notes = Some("PUK given".into());
    s.update_interaction(&done).await.unwrap();
    let tl = s.customer_timeline(c.id, 10, 0).await.unwrap();
    assert_eq!(
        tl.iter().map(|e| e.interaction.id).collect::<Vec<_>>(),
        vec![sms.id, call.id]
    );
    assert_eq!(tl[1].interaction.disposition.as_deref(), Some("resolved"));
    assert_eq!(tl[1].events.len(), 3);
    assert_eq!(
        s.customer_timeline(c.id, 1, 1).await.unwrap()[0]
            .interaction
            .id,
        call.id
    );

    // After a restart: open calls are closed, open conversations listed
    // (to be routed again).
    let live_call = s
        .create_interaction(&NewInteraction {
            channel: Channel::Voice,
            direction: Direction::Inbound,
            customer_id: Some(c.id),
            queue_id: None,
            agent_id: None,
            started_at: t(900),
        })
        .await
        .unwrap();
    let open: Vec<InteractionId> = s
        .open_conversations()
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(open, vec![sms.id]);
    assert_eq!(
        s.close_open_calls("system_restart", t(950)).await.unwrap(),
        vec![live_call.id]
    );
    assert_eq!(
        s.open_conversations().await.unwrap().len(),
        1,
        "the conversation stays open"
    );

    // Crash recovery closes what was open, only that.
    let closed = s
        .close_open_interactions("system_restart", t(999))
        .await
        .unwrap();
    assert_eq!(closed, vec![sms.id]);
    let sms_after = s.get_interaction(sms.id).await.unwrap().unwrap();
    assert_eq!(sms_after.end_reason.as_deref(), Some("system_restart"));
    assert_eq!(
        s.get_interaction(call.id)
            .await
            .unwrap()
            .unwrap()
            .end_reason
            .as_deref(),
        Some("completed")
    );
}

async fn users_sessions(s: &dyn Store) {
    let u = s
        .create_user(
            &NewUser {
                username: "sup".into(),
                password_hash: "$argon2id$x".into(),
                role: Role::Supervisor,
                agent_id: None,
            },
            t(0),
        )
        .await
        .unwrap();
    assert_eq!(u.role, Role::Supervisor);
    let dup = NewUser {
        username: "sup".into(),
        password_hash: "h".into(),
        role: Role::Agent,
        agent_id: None,
    };
    assert!(matches!(
        s.create_user(&dup, t(0)).await.unwrap_err(),
        StoreError::Conflict(_)
    ));
    s.create_session("abc", u.id, t(0), t(1000)).await.unwrap();
    assert_eq!(
        s.session_user("abc", t(10)).await.unwrap().unwrap().id,
        u.id
    );
    assert!(
        s.session_user("abc", t(1000)).await.unwrap().is_none(),
        "expired"
    );
    assert!(s.session_user("nope", t(10)).await.unwrap().is_none());
    s.set_password_hash(u.id, "$argon2id$y").await.unwrap();
    assert!(
        s.session_user("abc", t(10)).await.unwrap().is_none(),
        "password change ends sessions"
    );
    assert_eq!(
        s.get_user_by_username("sup")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$y"
    );
    s.create_session("def", u.id, t(0), t(1000)).await.unwrap();
    s.delete_session("def").await.unwrap();
    assert!(s.session_user("def", t(10)).await.unwrap().is_none());
}

async fn outbox(s: &dyn Store) {
    let m = NewOutboxMessage {
        channel: Channel::Sms,
        recipient: "+2290197000001".into(),
        body: "Merci ! Notez-nous de 1 à 5.".into(),
        interaction_id: Some(InteractionId(1)),
        customer_id: Some(CustomerId(1)),
        purpose: "survey".into(),
    };
    let a = s.enqueue_message(&m, t(1)).await.unwrap();
    let b = s
        .enqueue_message(
            &NewOutboxMessage {
                purpose: "ivr_unavailable".into(),
                ..m.clone()
            },
            t(2),
        )
        .await
        .unwrap();
    assert!(b.id > a.id);
    let queued = s.list_outbox(Some("queued"), 10).await.unwrap();
    assert_eq!(
        queued
            .iter()
            .map(|x| x.purpose.as_str())
            .collect::<Vec<_>>(),
        vec!["survey", "ivr_unavailable"]
    );
    assert_eq!(queued[0].body, "Merci ! Notez-nous de 1 à 5.");
    assert!(s.list_outbox(Some("sent"), 10).await.unwrap().is_empty());
}

async fn last_agent_states(s: &dyn Store) {
    use domain::event::AgentState;
    let change = |at, agent, state| {
        NewEvent::new(
            t(at),
            EventKind::AgentStateChanged {
                state,
                reason: None,
            },
        )
        .with_agent(AgentId(agent))
    };
    s.append_events(&[
        change(10, 901, AgentState::Available),
        change(20, 902, AgentState::Available),
        change(30, 901, AgentState::Busy),
        NewEvent::new(t(35), EventKind::Held).with_agent(AgentId(901)),
        change(40, 902, AgentState::LoggedOut),
    ])
    .await
    .unwrap();
    let last: Vec<(i64, EventKind)> = s
        .last_agent_states()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.agent_id.is_some_and(|a| a.0 >= 901))
        .map(|e| (e.agent_id.unwrap().0, e.kind))
        .collect();
    assert_eq!(
        last,
        vec![
            (
                901,
                EventKind::AgentStateChanged {
                    state: AgentState::Busy,
                    reason: None
                }
            ),
            (
                902,
                EventKind::AgentStateChanged {
                    state: AgentState::LoggedOut,
                    reason: None
                }
            ),
        ]
    );
}

async fn chat(s: &dyn Store) {
    let msg = |room: &str, body: &str| NewChatMessage {
        room: room.into(),
        sender_id: UserId(1),
        sender: "amina".into(),
        body: body.into(),
    };
    let a = s
        .add_chat_message(&msg("team", "bonjour"), t(1))
        .await
        .unwrap();
    s.add_chat_message(&msg("agent:1", "help?"), t(2))
        .await
        .unwrap();
    let c = s
        .add_chat_message(&msg("team", "<b>ça va</b>"), t(3))
        .await
        .unwrap();
    assert!(c.id > a.id);
    let team = s.list_chat_messages("team", None, 50).await.unwrap();
    assert_eq!(
        team.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        vec!["bonjour", "<b>ça va</b>"],
        "oldest first, one room only"
    );
    assert_eq!(team[1].at, t(3));
    assert_eq!(team[1].sender, "amina");
    let last = s.list_chat_messages("team", None, 1).await.unwrap();
    assert_eq!(last[0].id, c.id, "the limit keeps the newest");
    let before = s.list_chat_messages("team", Some(c.id), 50).await.unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].id, a.id);
    assert!(
        s.list_chat_messages("nobody", None, 50)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn meta(s: &dyn Store) {
    assert_eq!(s.get_meta("demo_seeded").await.unwrap(), None);
    s.set_meta("demo_seeded", "1").await.unwrap();
    s.set_meta("demo_seeded", "2").await.unwrap();
    assert_eq!(
        s.get_meta("demo_seeded").await.unwrap().as_deref(),
        Some("2")
    );
}

/// What the admin pages change: an agent's profile, a user's role, link
/// and status, a disposition's label.
async fn admin_edits(s: &dyn Store) {
    let a = s
        .create_agent(&NewAgent {
            login: "edit_me".into(),
            name: "Edit Me".into(),
            skills: vec![],
            languages: vec![],
            capacity: Capacity::default(),
        })
        .await
        .unwrap();
    let mut up = AgentUpdate {
        name: "  Edited  ".into(),
        skills: vec![SkillLevel {
            skill: "billing".into(),
            level: 7,
        }],
        languages: vec!["fr".into(), "yo".into()],
        capacity: Capacity {
            voice: 0,
            chat: 5,
            email: 2,
            chat_during_voice: false,
        },
    };
    let got = s.update_agent(a.id, &up).await.unwrap();
    assert_eq!(got.name, "Edited");
    assert_eq!(got.login, "edit_me");
    assert_eq!(got.skills[0].level, 7);
    assert_eq!(got.languages, ["fr", "yo"]);
    assert_eq!(
        (got.capacity.voice, got.capacity.chat, got.capacity.email),
        (0, 5, 2)
    );
    assert_eq!(s.get_agent(a.id).await.unwrap().unwrap(), got);
    up.skills[0].level = 11;
    assert!(matches!(
        s.update_agent(a.id, &up).await,
        Err(StoreError::Invalid(_))
    ));
    up.skills[0].level = 1;
    up.capacity.voice = 2;
    assert!(matches!(
        s.update_agent(a.id, &up).await,
        Err(StoreError::Invalid(_))
    ));
    up.capacity.voice = 1;
    assert!(matches!(
        s.update_agent(AgentId(999_999), &up).await,
        Err(StoreError::NotFound(_))
    ));

    let u = s
        .create_user(
            &NewUser {
                username: "to_edit".into(),
                password_hash: "$argon2id$x".into(),
                role: Role::Supervisor,
                agent_id: None,
            },
            t(0),
        )
        .await
        .unwrap();
    s.create_session("edit-tok", u.id, t(0), t(60_000))
        .await
        .unwrap();
    let got = s
        .update_user(
            u.id,
            &UserUpdate {
                role: Role::Agent,
                agent_id: Some(a.id),
                disabled: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (got.role, got.agent_id, got.disabled),
        (Role::Agent, Some(a.id), false)
    );
    assert!(s.session_user("edit-tok", t(1)).await.unwrap().is_some());
    let got = s
        .update_user(
            u.id,
            &UserUpdate {
                role: Role::Agent,
                agent_id: None,
                disabled: true,
            },
        )
        .await
        .unwrap();
    assert_eq!((got.agent_id, got.disabled), (None, true));
    assert!(s.session_user("edit-tok", t(1)).await.unwrap().is_none());
    let bad_agent = UserUpdate {
        role: Role::Agent,
        agent_id: Some(AgentId(999_999)),
        disabled: false,
    };
    assert!(matches!(
        s.update_user(u.id, &bad_agent).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.update_user(
            UserId(999_999),
            &UserUpdate {
                agent_id: None,
                ..bad_agent
            }
        )
        .await,
        Err(StoreError::NotFound(_))
    ));

    let d = s
        .create_disposition("renamed_one", "Old label")
        .await
        .unwrap();
    let got = s.rename_disposition(d.id, " New label ").await.unwrap();
    assert_eq!(
        (got.code.as_str(), got.label.as_str()),
        ("renamed_one", "New label")
    );
    let listed = s.list_dispositions().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|x| x.id == d.id && x.label == "New label")
    );
    assert!(matches!(
        s.rename_disposition(d.id, " ").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.rename_disposition(DispositionId(999_999), "x").await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn sqlite_suite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let s = store::open(&url).await.unwrap();
    assert_eq!(s.backend(), "sqlite");
    suite(s.clone()).await;
    s.close().await;
    // Reopening applies no migration twice and keeps the data.
    let s = store::open(&url).await.unwrap();
    assert!(s.count_customers().await.unwrap() > 0);
}

#[tokio::test]
async fn postgres_suite() {
    let base = std::env::var("SWITCHBOARD_TEST_PG").expect(
        "SWITCHBOARD_TEST_PG is not set: point it at a PostgreSQL server (scripts/test does this)",
    );
    let name = format!(
        "sbtest_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = match base.rfind('/') {
        Some(i)
            if base[..i].contains('@') || base[..i].ends_with(':') || base[..i].contains("//") =>
        {
            format!("{}/{name}", &base[..i])
        }
        _ => panic!("SWITCHBOARD_TEST_PG must end with /DBNAME"),
    };
    let s = store::open(&url).await.unwrap();
    assert_eq!(s.backend(), "postgres");
    suite(s.clone()).await;
    s.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
}

/// The dispatcher's life of a row: claim when due, retry, sent with its
/// provider ids, delivered by receipt; restart recovery; message id index.
async fn messaging(s: &dyn Store) {
    let base = NewOutboxMessage {
        channel: Channel::Whatsapp,
        recipient: "+2290197000009".into(),
        body: "Bonjour".into(),
        interaction_id: Some(InteractionId(7)),
        customer_id: None,
        purpose: "agent_reply".into(),
    };
    let a = s.enqueue_message(&base, t(100)).await.unwrap();
    assert_eq!((a.next_attempt_at, a.last_error.clone()), (t(100), None));
    let b = s
        .enqueue_message(
            &NewOutboxMessage {
                channel: Channel::Email,
                recipient: "client@example.net".into(),
                ..base.clone()
            },
            t(101),
        )
        .await
        .unwrap();
    // Only due rows of the asked channels are claimed, once.
    assert!(
        s.claim_due_messages(&[Channel::Whatsapp], t(99), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let got = s
        .claim_due_messages(&[Channel::Whatsapp], t(100), 10)
        .await
        .unwrap();
    assert_eq!(got.iter().map(|m| m.id).collect::<Vec<_>>(), vec![a.id]);
    assert_eq!(
        (got[0].status.as_str(), got[0].attempts, got[0].claimed_at),
        ("sending", 1, Some(t(100)))
    );
    assert!(
        s.claim_due_messages(&[Channel::Whatsapp], t(200), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A retryable failure: queued again, due later, error kept.
    s.update_outbox(
        a.id,
        &OutboxTransition::Retry {
            due: t(5_100),
            error: "HTTP 503".into(),
        },
        t(110),
    )
    .await
    .unwrap();
    assert!(
        s.claim_due_messages(&[Channel::Whatsapp], t(5_099), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = s
        .claim_due_messages(&[Channel::Whatsapp], t(5_100), 10)
        .await
        .unwrap();
    assert_eq!(
        (again[0].attempts, again[0].last_error.as_deref()),
        (2, Some("HTTP 503"))
    );

    // Sent: the provider ids find the row and its conversation.
    s.update_outbox(
        a.id,
        &OutboxTransition::Sent {
            provider_message_ids: vec!["wamid.A".into(), "wamid.B".into()],
        },
        t(5_200),
    )
    .await
    .unwrap();
    let r = s
        .find_message_ref(Channel::Whatsapp, "wamid.B")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.outbox_id, r.interaction_id),
        (Some(a.id), Some(InteractionId(7)))
    );
    assert!(
        s.find_message_ref(Channel::Sms, "wamid.B")
            .await
            .unwrap()
            .is_none()
    );
    s.update_outbox(a.id, &OutboxTransition::Delivered, t(6_000))
        .await
        .unwrap();
    let row = s.get_outbox(a.id).await.unwrap().unwrap();
    assert_eq!(row.status, "delivered");
    assert_eq!(
        (row.sent_at, row.delivered_at),
        (Some(t(5_200)), Some(t(6_000)))
    );
    assert_eq!(row.provider_message_id.as_deref(), Some("wamid.A"));
    assert!(matches!(
        s.update_outbox(999_999, &OutboxTransition::Delivered, t(1))
            .await,
        Err(StoreError::NotFound(_))
    ));

    // A channel with no adapter: its rows wait with a clear reason, once.
    assert_eq!(
        s.note_unsendable(&[Channel::Email], "no e-mail adapter", t(7_000))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.note_unsendable(&[Channel::Email], "no e-mail adapter", t(7_001))
            .await
            .unwrap(),
        0
    );
    let row = s.get_outbox(b.id).await.unwrap().unwrap();
    assert_eq!(
        (row.status.as_str(), row.last_error.as_deref()),
        ("queued", Some("no e-mail adapter"))
    );

    // A crash while sending: the row is queued again at restart.
    let c = s
        .claim_due_messages(&[Channel::Email], t(8_000), 10)
        .await
        .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(s.requeue_interrupted(t(9_000)).await.unwrap(), 1);
    let row = s.get_outbox(b.id).await.unwrap().unwrap();
    assert_eq!(
        (row.status.as_str(), row.next_attempt_at),
        ("queued", t(9_000))
    );
    assert_eq!(row.last_error.as_deref(), Some("interrupted by restart"));
    s.update_outbox(
        b.id,
        &OutboxTransition::Failed {
            reason: "550 no such user".into(),
        },
        t(9_500),
    )
    .await
    .unwrap();
    assert_eq!(s.get_outbox(b.id).await.unwrap().unwrap().status, "failed");

    // The survey a reply may answer: newest to that recipient in the window.
    assert_eq!(
        s.latest_outbox_to("+2290197000001", "survey", t(0))
            .await
            .unwrap()
            .map(|m| m.body),
        Some("Merci ! Notez-nous de 1 à 5.".to_string())
    );
    assert!(
        s.latest_outbox_to("+2290197000001", "survey", t(3))
            .await
            .unwrap()
            .is_none()
    );

    // Inbound ids are kept as first seen; a conversation's ids in order.
    let inbound = MessageRef {
        channel: Channel::Email,
        message_id: "abc@example.net".into(),
        interaction_id: Some(InteractionId(7)),
        outbox_id: None,
        subject: Some("Facture".into()),
        at: t(10_000),
    };
    s.record_message_ref(&inbound).await.unwrap();
    s.record_message_ref(&MessageRef {
        interaction_id: Some(InteractionId(8)),
        ..inbound.clone()
    })
    .await
    .unwrap();
    let refs = s.message_refs_of(InteractionId(7)).await.unwrap();
    assert_eq!(
        refs.iter()
            .map(|r| r.message_id.as_str())
            .collect::<Vec<_>>(),
        vec!["wamid.A", "wamid.B", "abc@example.net"]
    );
    assert_eq!(refs[2].subject.as_deref(), Some("Facture"));
}
