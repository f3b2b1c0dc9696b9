//! The outbox and the messaging dispatcher's claims, outcomes and ids. (part of the shared store suite).

use super::t;
use domain::*;
use store::*;

pub(super) async fn outbox(s: &dyn Store) {
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

/// The dispatcher's life of a row: claim when due, retry, sent with its
/// provider ids, delivered by receipt; restart recovery; message id index.
pub(super) async fn messaging(s: &dyn Store) {
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
