//! Outbound voice campaigns kept across restarts (issue 15, migration 0011).

use super::*;

fn contact(id: i64, number: &str) -> DialContactRow {
    DialContactRow {
        contact_id: id,
        number: PhoneNumber::try_from(number.to_string()).unwrap(),
        name: Some(format!("c{id}")),
        tz: "Europe/Paris".into(),
        consent: "unknown".into(),
        customer_id: None,
        progress: DialContactProgress {
            status: "due".into(),
            ..Default::default()
        },
    }
}

pub(super) async fn dial_campaigns(s: &dyn Store) {
    let queue = s.list_queues().await.unwrap()[0].id;
    let row = DialCampaignRow {
        id: 7,
        name: "Relance".into(),
        queue_id: queue,
        trunk: "operator".into(),
        caller_id: Some("+33100000000".into()),
        settings: r#"{"mode":"progressive"}"#.into(),
        state: DialRunState::Running,
        counters: "{}".into(),
        created_at: t(0),
    };
    assert!(s.insert_dial_campaign(&row).await.unwrap());
    assert!(
        !s.insert_dial_campaign(&row).await.unwrap(),
        "an id already stored is left as it is"
    );
    // A number already listed and a contact id already used are skipped.
    let added = s
        .insert_dial_contacts(
            7,
            &[
                contact(1, "+33611111111"),
                contact(2, "+33622222222"),
                contact(3, "+33611111111"),
                contact(2, "+33633333333"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(added, 2);
    assert!(
        s.insert_dial_contacts(99, &[contact(1, "+33644444444")])
            .await
            .is_err(),
        "contacts of an unknown campaign are refused"
    );
    s.set_dial_campaign_state(7, DialRunState::Paused, t(10))
        .await
        .unwrap();
    s.save_dial_counters(7, r#"{"dialed":1,"busy":1}"#, t(10))
        .await
        .unwrap();
    let busy = DialContactProgress {
        status: "due".into(),
        attempts: 1,
        last_disposition: Some("busy".into()),
        progress: Some(r#"{"due_at":5}"#.into()),
    };
    s.save_dial_progress(7, 1, &busy).await.unwrap();
    // A save without a disposition keeps the last one.
    let closed = DialContactProgress {
        status: "closed:completed".into(),
        attempts: 1,
        last_disposition: None,
        progress: None,
    };
    s.save_dial_progress(7, 2, &closed).await.unwrap();

    let all = s.list_dial_campaigns().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].state, DialRunState::Paused);
    assert_eq!(all[0].counters, r#"{"dialed":1,"busy":1}"#);
    assert_eq!(all[0].queue_id, queue);
    assert_eq!(all[0].caller_id.as_deref(), Some("+33100000000"));
    let list = s.list_dial_contacts(7).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].number.as_str(), "+33611111111");
    assert_eq!(list[0].progress, busy);
    assert_eq!(list[0].tz, "Europe/Paris");
    assert_eq!(list[1].progress, closed);

    // Do-not-call: global and per campaign, each once.
    let n = PhoneNumber::try_from("+33611111111".to_string()).unwrap();
    assert!(
        s.add_dial_dnc(&n, None, "opt_out:sms", t(20))
            .await
            .unwrap()
    );
    assert!(
        !s.add_dial_dnc(&n, None, "opt_out:sms", t(21))
            .await
            .unwrap()
    );
    assert!(s.add_dial_dnc(&n, Some(7), "agent", t(22)).await.unwrap());
    assert_eq!(
        s.list_dial_dnc().await.unwrap(),
        vec![(n.clone(), None), (n, Some(7))]
    );
}
