//! Customer merge and undo, run against SQLite and PostgreSQL
//! (`SWITCHBOARD_TEST_PG` as for `store_suite.rs`).

mod support;

use domain::*;
use std::sync::Arc;
use store::*;

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_764_450_000_000 + ms)
}

fn phone(s: &str) -> PhoneNumber {
    phone::normalize_e164(s, Some("BJ")).unwrap()
}

async fn call(s: &dyn Store, c: CustomerId, at: i64) -> InteractionId {
    let i = s
        .create_interaction(&NewInteraction {
            channel: Channel::Voice,
            direction: Direction::Inbound,
            customer_id: Some(c),
            queue_id: None,
            agent_id: None,
            started_at: t(at),
        })
        .await
        .unwrap();
    s.append_events(&[NewEvent::new(t(at), EventKind::Held)
        .with_interaction(i.id)
        .with_customer(c)])
        .await
        .unwrap();
    i.id
}

async fn suite(s: Arc<dyn Store>) {
    let s = &*s;
    let by = UserId(1);
    let a = s
        .create_customer(
            &NewCustomer {
                name: "Awa Diallo".into(),
                phones: vec![phone("+2290197000001")],
                emails: vec!["awa@example.org".into()],
                ..NewCustomer::default()
            },
            t(0),
        )
        .await
        .unwrap();
    let b = s
        .create_customer(
            &NewCustomer {
                name: "Awa D. (WhatsApp)".into(),
                phones: vec![phone("+2290197000002")],
                channel_ids: vec![ChannelIdentity {
                    channel: Channel::Whatsapp,
                    id: "2290197000002".into(),
                }],
                ..NewCustomer::default()
            },
            t(1),
        )
        .await
        .unwrap();
    let c = s
        .create_customer(
            &NewCustomer {
                name: "Chabi".into(),
                ..NewCustomer::default()
            },
            t(2),
        )
        .await
        .unwrap();
    let a_call = call(s, a.id, 10).await;
    let b_call1 = call(s, b.id, 20).await;
    let b_call2 = call(s, b.id, 30).await;

    // Refusals: itself, unknown customers.
    let err = s.merge_customers(a.id, a.id, by, t(40)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let err = s
        .merge_customers(CustomerId(9999), a.id, by, t(40))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    let err = s
        .merge_customers(b.id, CustomerId(9999), by, t(40))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    // ...and nothing moved.
    assert_eq!(
        s.get_customer(b.id).await.unwrap().unwrap().merged_into,
        None
    );

    // Merge B into A.
    let m = s.merge_customers(b.id, a.id, by, t(50)).await.unwrap();
    assert_eq!((m.from, m.into, m.by), (b.id, a.id, by));
    assert_eq!(m.interactions, vec![b_call1, b_call2]);
    let kinds: Vec<(&str, &str)> = m
        .identities
        .iter()
        .map(|i| (i.kind.as_str(), i.value.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![("phone", "+2290197000002"), ("whatsapp", "2290197000002")]
    );

    // B is hidden from search, resolves to A, keeps no identities.
    let merged = s.get_customer(b.id).await.unwrap().unwrap();
    assert_eq!(merged.merged_into, Some(a.id));
    assert!(merged.phones.is_empty() && merged.channel_ids.is_empty());
    let found = s.search_customers("awa", 10, 0).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), vec![a.id]);
    assert_eq!(s.count_customers().await.unwrap(), 2);
    let by_phone = s
        .find_customer_by_identity(&Identity::Phone(phone("+2290197000002")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_phone.id, a.id);
    assert_eq!(by_phone.phones.len(), 2);
    let by_wa = s
        .find_customer_by_identity(&Identity::Channel(ChannelIdentity {
            channel: Channel::Whatsapp,
            id: "2290197000002".into(),
        }))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_wa.id, a.id);
    // A merged customer cannot be edited, nor merged again, nor merged into.
    let err = s
        .update_customer(b.id, &CustomerPatch::default(), t(51))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let err = s.merge_customers(b.id, c.id, by, t(51)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let err = s.merge_customers(c.id, b.id, by, t(51)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(
        s.get_customer(c.id).await.unwrap().unwrap().merged_into,
        None
    );

    // A's timeline holds both histories; A's events include B's (written
    // under B's id: the log is not rewritten) and the audit entry.
    let timeline = s.customer_timeline(a.id, 10, 0).await.unwrap();
    let ids: Vec<InteractionId> = timeline.iter().map(|e| e.interaction.id).collect();
    assert_eq!(ids, vec![b_call2, b_call1, a_call]);
    assert!(timeline.iter().all(|e| e.events.len() == 1));
    let events = s
        .list_events(&EventFilter {
            customer_id: Some(a.id),
            limit: 100,
            ..EventFilter::default()
        })
        .await
        .unwrap();
    let owners: Vec<Option<CustomerId>> = events.iter().map(|e| e.customer_id).collect();
    assert_eq!(
        owners,
        vec![Some(a.id), Some(b.id), Some(b.id), Some(a.id)],
        "{events:?}"
    );
    assert_eq!(
        events[3].kind,
        EventKind::CustomersMerged {
            merge_id: m.id,
            from: b.id,
            into: a.id,
            by
        }
    );
    // A stale writer putting B's id back on a call still shows under A.
    let mut stale = s.get_interaction(b_call1).await.unwrap().unwrap();
    assert_eq!(stale.customer_id, Some(a.id));
    stale.customer_id = Some(b.id);
    s.update_interaction(&stale).await.unwrap();
    let all = s
        .list_interactions(&InteractionFilter {
            customer_id: Some(a.id),
            limit: 10,
            ..InteractionFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    stale.customer_id = Some(a.id);
    s.update_interaction(&stale).await.unwrap();

    // After the merge a new call comes through B's old phone: it is A's.
    let later = call(s, a.id, 60).await;

    // Chain: A into C. B still resolves (B → A → C) in C's event view.
    let m2 = s.merge_customers(a.id, c.id, by, t(70)).await.unwrap();
    assert_eq!(m2.identities.len(), 4);
    let c_events = s
        .list_events(&EventFilter {
            customer_id: Some(c.id),
            kind: Some("held".into()),
            limit: 100,
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(c_events.len(), 4);
    // The first merge cannot be undone while A is merged into C.
    let err = s.undo_merge(m.id, UserId(2), t(80)).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref msg) if msg.contains("undo that merge first")),
        "{err}"
    );
    assert_eq!(s.get_merge(m.id).await.unwrap().unwrap().undone_at, None);
    s.undo_merge(m2.id, UserId(2), t(81)).await.unwrap();

    // Undo B into A: exactly what moved goes back; the later call stays A's.
    let undone = s.undo_merge(m.id, UserId(2), t(90)).await.unwrap();
    assert_eq!(undone.undone_at, Some(t(90)));
    assert_eq!(undone.undone_by, Some(UserId(2)));
    let b_again = s.get_customer(b.id).await.unwrap().unwrap();
    assert_eq!(b_again.merged_into, None);
    assert_eq!(b_again.phones, vec![phone("+2290197000002")]);
    assert_eq!(b_again.channel_ids.len(), 1);
    let a_again = s.get_customer(a.id).await.unwrap().unwrap();
    assert_eq!(a_again.phones, vec![phone("+2290197000001")]);
    assert_eq!(a_again.emails, vec!["awa@example.org".to_string()]);
    let a_ids: Vec<InteractionId> = s
        .customer_timeline(a.id, 10, 0)
        .await
        .unwrap()
        .iter()
        .map(|e| e.interaction.id)
        .collect();
    assert_eq!(a_ids, vec![later, a_call]);
    let b_ids: Vec<InteractionId> = s
        .customer_timeline(b.id, 10, 0)
        .await
        .unwrap()
        .iter()
        .map(|e| e.interaction.id)
        .collect();
    assert_eq!(b_ids, vec![b_call2, b_call1]);
    assert_eq!(s.search_customers("awa", 10, 0).await.unwrap().len(), 2);
    // Twice is a conflict; an unknown merge is not found.
    let err = s.undo_merge(m.id, UserId(2), t(91)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let err = s.undo_merge(9999, UserId(2), t(91)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");

    // Both merges are listed for A, newest first; the audit trail is whole.
    let listed: Vec<i64> = s
        .list_merges(a.id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(listed, vec![m2.id, m.id]);
    let audit = s
        .list_events(&EventFilter {
            kind: Some("merge_undone".into()),
            limit: 10,
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[1].customer_id, Some(a.id));
    // B can be merged again after the undo.
    s.merge_customers(b.id, a.id, by, t(100)).await.unwrap();
}

#[tokio::test]
async fn sqlite_merge() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let s = store::open(&url).await.unwrap();
    suite(s.clone()).await;
    s.close().await;
}

#[tokio::test]
async fn postgres_merge() {
    let pg = support::FreshPg::create("sbmerge").await;
    let url = pg.url.clone();
    let s = store::open(&url).await.unwrap();
    suite(s.clone()).await;
    s.close().await;
    pg.drop_db().await;
}
