//! Agent positions and field visits (issue 22).

use super::*;

fn agent(login: &str) -> NewAgent {
    NewAgent {
        login: login.into(),
        name: login.into(),
        skills: vec![],
        languages: vec![],
        capacity: Capacity::default(),
    }
}

fn at(lat: f64, lon: f64, accuracy_m: f64) -> GeoPoint {
    GeoPoint {
        lat,
        lon,
        accuracy_m,
    }
}

pub async fn positions(s: &dyn Store) {
    let a = s.create_agent(&agent("geo_a")).await.unwrap();
    let b = s.create_agent(&agent("geo_b")).await.unwrap();
    assert!(s.latest_positions().await.unwrap().is_empty());

    // Cotonou, then two points later; b once.
    let p1 = s
        .add_position(a.id, at(6.3703, 2.3912, 12.0), t(1_000))
        .await
        .unwrap();
    assert_eq!(p1.agent_id, a.id);
    assert_eq!(p1.at, t(1_000));
    s.add_position(b.id, at(9.3077, 2.3158, 30.0), t(1_500))
        .await
        .unwrap();
    s.add_position(a.id, at(6.3710, 2.3920, 8.5), t(2_000))
        .await
        .unwrap();
    let p3 = s
        .add_position(a.id, at(6.3725, 2.3941, 5.0), t(3_000))
        .await
        .unwrap();

    let latest = s.latest_positions().await.unwrap();
    assert_eq!(latest.len(), 2);
    assert_eq!(latest[0], p3, "a's latest is her third point");
    assert_eq!(latest[1].agent_id, b.id);
    assert_eq!(latest[1].point, at(9.3077, 2.3158, 30.0));

    // A track is [from, to), oldest first, only that agent's.
    let track = s.agent_track(a.id, t(1_000), t(3_000)).await.unwrap();
    let points: Vec<_> = track.iter().map(|p| (p.at, p.point)).collect();
    assert_eq!(
        points,
        vec![
            (t(1_000), at(6.3703, 2.3912, 12.0)),
            (t(2_000), at(6.3710, 2.3920, 8.5))
        ]
    );
    assert!(
        s.agent_track(a.id, t(3_001), t(9_000))
            .await
            .unwrap()
            .is_empty()
    );

    // Out-of-range points are refused with the field named.
    for bad in [
        at(90.5, 0.0, 1.0),
        at(0.0, -181.0, 1.0),
        at(0.0, 0.0, -1.0),
        at(f64::NAN, 0.0, 1.0),
    ] {
        match s.add_position(a.id, bad, t(4_000)).await {
            Err(StoreError::Invalid(_)) => {}
            other => panic!("{bad:?} accepted: {other:?}"),
        }
    }

    // Retention: everything received before 2 s goes.
    assert_eq!(s.prune_positions(t(2_000)).await.unwrap(), 2);
    let left = s.agent_track(a.id, t(0), t(10_000)).await.unwrap();
    assert_eq!(
        left.iter().map(|p| p.at).collect::<Vec<_>>(),
        vec![t(2_000), t(3_000)]
    );
    let latest = s.latest_positions().await.unwrap();
    assert_eq!(
        latest.iter().map(|p| p.agent_id).collect::<Vec<_>>(),
        vec![a.id]
    );

    // Field visits: with and without a position, newest first.
    let c = s
        .create_customer(&customer("Visité", "0197009901"), t(0))
        .await
        .unwrap();
    let v1 = s
        .add_field_visit(
            &NewFieldVisit {
                agent_id: a.id,
                customer_id: c.id,
                point: Some(at(6.3725, 2.3941, 5.0)),
                notes: "compteur relevé".into(),
            },
            t(5_000),
        )
        .await
        .unwrap();
    let v2 = s
        .add_field_visit(
            &NewFieldVisit {
                agent_id: b.id,
                customer_id: c.id,
                point: None,
                notes: String::new(),
            },
            t(6_000),
        )
        .await
        .unwrap();
    assert_eq!(
        s.customer_field_visits(c.id, 50).await.unwrap(),
        vec![v2.clone(), v1.clone()]
    );
    assert_eq!(v1.point, Some(at(6.3725, 2.3941, 5.0)));
    assert_eq!(v1.notes, "compteur relevé");
    assert_eq!(s.customer_field_visits(c.id, 1).await.unwrap(), vec![v2]);
    let unknown = s
        .add_field_visit(
            &NewFieldVisit {
                agent_id: a.id,
                customer_id: CustomerId(999_999),
                point: None,
                notes: "x".into(),
            },
            t(7_000),
        )
        .await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound(_))),
        "{unknown:?}"
    );
}
