//! Interactions, the append-only event log and the customer timeline. (part of the shared store suite).

use super::{customer, t};
use domain::*;
use store::*;

pub(super) async fn interactions_events_timeline(s: &dyn Store) {
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
    // Its last event (920) is later than the last heartbeat (910): it ends
    // then, not at the restart (990).
    s.append_events(&[NewEvent::new(
        t(920),
        EventKind::IvrStep {
            flow: "main".into(),
            node: "menu".into(),
            digits: Some("1".into()),
        },
    )
    .with_interaction(live_call.id)])
        .await
        .unwrap();
    assert_eq!(
        s.close_open_calls("system_restart", Some(t(910)), t(990))
            .await
            .unwrap(),
        vec![(live_call.id, t(920))]
    );
    assert_eq!(
        s.get_interaction(live_call.id)
            .await
            .unwrap()
            .unwrap()
            .ended_at,
        Some(t(920))
    );
    // The row and its `ended` event are written together.
    let ended: Vec<_> = s
        .list_events(&EventFilter {
            interaction_id: Some(live_call.id),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(&e.kind, EventKind::Ended { reason } if reason == "system_restart"))
        .collect();
    assert_eq!(ended.len(), 1, "one ended event for the closed call");
    assert_eq!(ended[0].at, t(920));
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

pub(super) async fn last_agent_states(s: &dyn Store) {
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
