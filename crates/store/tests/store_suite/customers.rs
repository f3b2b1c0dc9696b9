//! Customers: create, identities, lookup, search, import, update, delete. (part of the shared store suite).

use super::{customer, phone, t};
use domain::*;
use store::*;

pub(super) async fn customers(s: &dyn Store) {
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
    // Many numbers at once (a dial list): owners found, strangers left out;
    // more than one batch of 500.
    let mut list: Vec<PhoneNumber> = (0..1_200)
        .map(|i| phone(&format!("+22901960{i:05}")))
        .collect();
    list.push(phone("+2290197000002"));
    list.push(phone("+2290197000001"));
    let owners = s.customers_by_phones(&list).await.unwrap();
    assert_eq!(owners.len(), 2, "{owners:?}");
    assert_eq!(owners[&phone("+2290197000002")], b.id);
    assert_eq!(owners[&phone("+2290197000001")], a.id);
    assert!(s.customers_by_phones(&[]).await.unwrap().is_empty());

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
