//! Campaigns, recipients and opt-outs (part of the shared store suite).

use super::t;
use domain::*;
use std::collections::BTreeMap;
use store::*;

fn new_campaign(template: &str, rate: u32) -> NewCampaign {
    NewCampaign {
        name: "Relance facture".into(),
        channel: Channel::Sms,
        template: template.into(),
        rate_per_s: rate,
        created_by: Some(UserId(1)),
        whatsapp_template: None,
    }
}

/// A campaign's whole life in the store: validation, recipients from a
/// customer selection and from a list, status rules, queueing through the
/// outbox, outcomes copied from the outbox, stats; opt-outs.
pub async fn campaigns(s: &dyn Store) {
    // Validation.
    for (c, field) in [
        (new_campaign("  ", 10), "template"),
        (new_campaign("Bonjour", 0), "rate_per_s"),
        (new_campaign("Bonjour", 1001), "rate_per_s"),
        (
            NewCampaign {
                channel: Channel::Voice,
                ..new_campaign("Bonjour", 1)
            },
            "channel",
        ),
        (
            NewCampaign {
                name: "".into(),
                ..new_campaign("Bonjour", 1)
            },
            "name",
        ),
        (
            NewCampaign {
                whatsapp_template: Some(WhatsappTemplate {
                    name: "renewal".into(),
                    language: "fr".into(),
                    params: vec![],
                }),
                ..new_campaign("Bonjour", 1)
            },
            "whatsapp_template",
        ),
    ] {
        let e = s.create_campaign(&c, t(0)).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(m) if m.starts_with(field)),
            "{e}"
        );
    }
    let c = s
        .create_campaign(&new_campaign("Bonjour {{name}}", 10), t(5_000))
        .await
        .unwrap();
    assert_eq!(
        (c.status, c.rate_per_s, c.channel, c.created_by),
        (CampaignStatus::Draft, 10, Channel::Sms, Some(UserId(1)))
    );
    assert_eq!(s.get_campaign(c.id).await.unwrap().unwrap(), c);
    let wa = s
        .create_campaign(
            &NewCampaign {
                channel: Channel::Whatsapp,
                whatsapp_template: Some(WhatsappTemplate {
                    name: "renewal".into(),
                    language: "fr".into(),
                    params: vec!["{{name}}".into()],
                }),
                ..new_campaign("Bonjour {{name}}", 5)
            },
            t(5_000),
        )
        .await
        .unwrap();
    assert_eq!(
        s.get_campaign(wa.id)
            .await
            .unwrap()
            .unwrap()
            .whatsapp_template
            .unwrap()
            .params,
        ["{{name}}"]
    );

    // Recipients from customers: Wolof-speaking business customers with a
    // phone (the one without a phone and the mass one are left out).
    let mk = |name: &str, segment, phones: Vec<&str>, emails: Vec<&str>| NewCustomer {
        name: name.into(),
        phones: phones
            .into_iter()
            .map(|p| phone::normalize_e164(p, Some("BJ")).unwrap())
            .collect(),
        emails: emails.into_iter().map(str::to_string).collect(),
        segment,
        language: Some("wo".into()),
        attributes: BTreeMap::from([("plan".to_string(), "Pro 20".to_string())]),
        ..NewCustomer::default()
    };
    let a = s
        .create_customer(
            &mk(
                "Fatou Ndiaye",
                Segment::Business,
                vec!["+2290197100002", "+2290197100001"],
                vec![],
            ),
            t(5_001),
        )
        .await
        .unwrap();
    s.create_customer(
        &mk(
            "Sans Tel",
            Segment::Business,
            vec![],
            vec!["st@example.org"],
        ),
        t(5_002),
    )
    .await
    .unwrap();
    s.create_customer(
        &mk("Mass Wo", Segment::Mass, vec!["+2290197100003"], vec![]),
        t(5_003),
    )
    .await
    .unwrap();
    let sel = CustomerSelection {
        segment: Some(Segment::Business),
        language: Some("wo".into()),
    };
    assert_eq!(
        s.add_customer_recipients(c.id, &sel, t(5_010))
            .await
            .unwrap(),
        1
    );
    // Again: the address is already in, nothing added.
    assert_eq!(
        s.add_customer_recipients(c.id, &sel, t(5_011))
            .await
            .unwrap(),
        0
    );
    let list = vec![
        NewRecipient {
            customer_id: None,
            address: "+2290197100009".into(),
            vars: BTreeMap::from([("name".to_string(), "Koffi".to_string())]),
        },
        NewRecipient {
            customer_id: None,
            address: "+2290197100001".into(),
            vars: BTreeMap::new(),
        },
        NewRecipient {
            customer_id: None,
            address: "+2290197100008".into(),
            vars: BTreeMap::new(),
        },
        NewRecipient {
            customer_id: None,
            address: "+2290197100007".into(),
            vars: BTreeMap::new(),
        },
    ];
    assert_eq!(s.add_recipients(c.id, &list, t(5_020)).await.unwrap(), 3);
    assert!(matches!(
        s.add_recipients(9_999, &list, t(5_020)).await,
        Err(StoreError::NotFound(_))
    ));
    let pending = s.next_pending(c.id, 10).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|r| r.address.as_str())
            .collect::<Vec<_>>(),
        [
            "+2290197100001",
            "+2290197100009",
            "+2290197100008",
            "+2290197100007"
        ]
    );
    let first = &pending[0];
    assert_eq!(first.customer_id, Some(a.id));
    assert_eq!(
        first.vars,
        BTreeMap::from([
            ("name".to_string(), "Fatou Ndiaye".to_string()),
            ("segment".to_string(), "business".to_string()),
            ("language".to_string(), "wo".to_string()),
            ("plan".to_string(), "Pro 20".to_string()),
        ])
    );
    assert_eq!(first.state, RecipientState::Pending);

    // Status rules.
    let e = s
        .set_campaign_status(
            c.id,
            &[CampaignStatus::Running],
            CampaignStatus::Paused,
            t(5_030),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict(m) if m.contains("is draft")),
        "{e}"
    );
    let run = s
        .set_campaign_status(
            c.id,
            &[CampaignStatus::Draft, CampaignStatus::Paused],
            CampaignStatus::Running,
            t(5_040),
        )
        .await
        .unwrap();
    assert_eq!(
        (run.status, run.started_at),
        (CampaignStatus::Running, Some(t(5_040)))
    );
    assert_eq!(
        s.list_campaigns(Some(CampaignStatus::Running))
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [c.id]
    );
    assert!(
        s.list_campaigns(Some(CampaignStatus::Done))
            .await
            .unwrap()
            .is_empty()
    );

    // Queue two, skip one, opt one out.
    let msg = |to: &str, body: &str| NewOutboxMessage {
        channel: Channel::Sms,
        recipient: to.into(),
        body: body.into(),
        interaction_id: None,
        customer_id: None,
        purpose: "campaign".into(),
    };
    let o1 = s
        .queue_recipient(
            pending[0].id,
            &msg("+2290197100001", "Bonjour Fatou Ndiaye"),
            t(6_000),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (o1.status.as_str(), o1.purpose.as_str()),
        ("queued", "campaign")
    );
    // Taken once only.
    assert!(
        s.queue_recipient(pending[0].id, &msg("+2290197100001", "x"), t(6_001))
            .await
            .unwrap()
            .is_none()
    );
    let o2 = s
        .queue_recipient(
            pending[1].id,
            &msg("+2290197100009", "Bonjour Koffi"),
            t(6_002),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        s.settle_recipient(
            pending[2].id,
            RecipientState::Skipped,
            "unknown placeholder {{name}}",
            t(6_003)
        )
        .await
        .unwrap()
    );
    assert!(
        s.settle_recipient(
            pending[3].id,
            RecipientState::OptedOut,
            "opted out",
            t(6_004)
        )
        .await
        .unwrap()
    );
    assert!(
        !s.settle_recipient(pending[0].id, RecipientState::Skipped, "late", t(6_005))
            .await
            .unwrap()
    );
    assert!(
        s.settle_recipient(pending[0].id, RecipientState::Delivered, "", t(6_005))
            .await
            .is_err()
    );
    assert!(s.next_pending(c.id, 10).await.unwrap().is_empty());
    let rows = s.list_recipients(c.id, None, 100, 0).await.unwrap();
    assert_eq!(rows[0].outbox_id, Some(o1.id));
    assert_eq!(
        s.recipient_by_outbox(o2.id).await.unwrap().unwrap().id,
        pending[1].id
    );
    assert_eq!(s.recipient_by_outbox(-1).await.unwrap(), None);
    assert_eq!(
        rows[2].error.as_deref(),
        Some("unknown placeholder {{name}}")
    );

    // Outcomes follow the outbox.
    s.update_outbox(
        o1.id,
        &OutboxTransition::Sent {
            provider_message_ids: vec!["c1".into()],
        },
        t(7_000),
    )
    .await
    .unwrap();
    assert_eq!(s.sync_campaign_outcomes(c.id, t(7_001)).await.unwrap(), 1);
    assert_eq!(s.sync_campaign_outcomes(c.id, t(7_002)).await.unwrap(), 0);
    s.update_outbox(o1.id, &OutboxTransition::Delivered, t(7_100))
        .await
        .unwrap();
    s.update_outbox(
        o2.id,
        &OutboxTransition::Failed {
            reason: "UNDELIV".into(),
        },
        t(7_200),
    )
    .await
    .unwrap();
    assert_eq!(s.sync_campaign_outcomes(c.id, t(7_300)).await.unwrap(), 2);
    let failed = s
        .list_recipients(c.id, Some(RecipientState::Failed), 10, 0)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].address.as_str(), failed[0].error.as_deref()),
        ("+2290197100009", Some("UNDELIV"))
    );
    let st = s.campaign_stats(c.id).await.unwrap();
    assert_eq!(st.total, 4);
    let by: Vec<(&str, i64)> = st.by_state.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        by,
        [
            ("delivered", 1),
            ("failed", 1),
            ("opted_out", 1),
            ("pending", 0),
            ("queued", 0),
            ("sent", 0),
            ("skipped", 1)
        ]
    );
    assert!((st.delivered_percent - 50.0).abs() < 1e-9);
    let done = s
        .set_campaign_status(
            c.id,
            &[CampaignStatus::Running],
            CampaignStatus::Done,
            t(8_000),
        )
        .await
        .unwrap();
    assert_eq!(
        (done.status, done.finished_at),
        (CampaignStatus::Done, Some(t(8_000)))
    );

    // Opt-outs: the first record is kept; START removes it.
    let o = OptOut {
        channel: Channel::Sms,
        address: "+2290197100007".into(),
        at: t(9_000),
        source: "keyword:STOP".into(),
    };
    assert!(s.add_opt_out(&o).await.unwrap());
    assert!(
        !s.add_opt_out(&OptOut {
            at: t(9_500),
            source: "api".into(),
            ..o.clone()
        })
        .await
        .unwrap()
    );
    assert_eq!(
        s.get_opt_out(Channel::Sms, "+2290197100007").await.unwrap(),
        Some(o.clone())
    );
    assert_eq!(
        s.get_opt_out(Channel::Whatsapp, "+2290197100007")
            .await
            .unwrap(),
        None
    );
    s.add_opt_out(&OptOut {
        channel: Channel::Email,
        address: "st@example.org".into(),
        at: t(9_100),
        source: "api".into(),
    })
    .await
    .unwrap();
    let all = s.list_opt_outs(None, 10, 0).await.unwrap();
    assert_eq!(
        all.iter().map(|o| o.address.as_str()).collect::<Vec<_>>(),
        ["st@example.org", "+2290197100007"]
    );
    assert_eq!(
        s.list_opt_outs(Some(Channel::Sms), 10, 0).await.unwrap(),
        vec![o]
    );
    assert!(
        s.remove_opt_out(Channel::Sms, "+2290197100007")
            .await
            .unwrap()
    );
    assert!(
        !s.remove_opt_out(Channel::Sms, "+2290197100007")
            .await
            .unwrap()
    );
}
