//! The SLA incident desk on virtual time.

use continuity::incidents::{
    Audience, Category, Detection, DetectionRules, IncidentDesk, IncidentError, IncidentState,
    NotificationKind, StandbyKind, default_register,
};
use jiff::{SignedDuration, Timestamp};

fn t0() -> Timestamp {
    "2026-12-04T08:00:00Z".parse().unwrap()
}
fn at(min: i64, sec: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(min * 60 + sec)
}
fn desk() -> IncidentDesk {
    IncidentDesk::new(
        default_register(StandbyKind::Virtual),
        DetectionRules::default(),
    )
}
fn drain(d: &mut IncidentDesk) -> Vec<(Category, NotificationKind, Audience)> {
    std::iter::from_fn(|| d.poll_effect())
        .map(|n| (n.category, n.kind, n.audience))
        .collect()
}
fn fail(trunk: &str) -> Detection {
    Detection::TrunkOptionsFailed {
        trunk: trunk.into(),
    }
}
fn ok(trunk: &str) -> Detection {
    Detection::TrunkOptionsOk {
        trunk: trunk.into(),
    }
}

#[test]
fn the_register_carries_the_annex_sla_minutes() {
    let mins = |k| {
        default_register(k)
            .into_iter()
            .map(|r| (r.category, r.sla.as_secs() / 60))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let v = mins(StandbyKind::Virtual);
    assert_eq!(v[&Category::Power], 5);
    assert_eq!(v[&Category::Equipment], 30);
    assert_eq!(v[&Category::TrunkLoss], 15);
    assert_eq!(v[&Category::ApplicationUnavailable], 15);
    assert_eq!(v[&Category::BadAudioQuality], 60);
    assert_eq!(v[&Category::ServerCrash], 60);
    assert_eq!(v[&Category::SiteDisaster], 120);
    assert_eq!(mins(StandbyKind::Physical)[&Category::SiteDisaster], 460);
}

#[test]
fn trunk_loss_opens_after_n_failures_escalates_at_15_min_and_resolves_when_back() {
    let mut d = desk();
    d.handle_detection(at(0, 0), fail("operator"));
    d.handle_detection(at(0, 30), fail("operator"));
    assert!(d.incidents().is_empty(), "two failures are not a loss");
    d.handle_detection(at(1, 0), fail("operator"));
    assert_eq!(
        drain(&mut d),
        vec![(
            Category::TrunkLoss,
            NotificationKind::Opened,
            Audience::StaffAndClient
        )]
    );
    let id = d.incidents()[0].id;
    assert_eq!(d.incidents()[0].deadline(), at(16, 0));
    d.handle_detection(at(1, 30), fail("operator"));
    d.handle_acknowledge(at(2, 0), id).unwrap();
    assert_eq!(
        drain(&mut d),
        vec![(
            Category::TrunkLoss,
            NotificationKind::Acknowledged,
            Audience::Staff
        )]
    );
    d.handle_tick(at(15, 59));
    assert!(drain(&mut d).is_empty());
    // The SLA timer runs out: escalation, acknowledged or not.
    d.handle_tick(at(16, 0));
    assert_eq!(
        drain(&mut d),
        vec![(
            Category::TrunkLoss,
            NotificationKind::Escalated(1),
            Audience::Management
        )]
    );
    d.handle_tick(at(31, 0));
    assert_eq!(
        drain(&mut d),
        vec![(
            Category::TrunkLoss,
            NotificationKind::Escalated(2),
            Audience::Management
        )]
    );
    // The trunk answers again; resolved after the clear hold (2 min).
    d.handle_detection(at(40, 0), ok("operator"));
    d.handle_tick(at(41, 59));
    assert!(drain(&mut d).is_empty());
    d.handle_tick(at(42, 0));
    assert_eq!(
        drain(&mut d),
        vec![(
            Category::TrunkLoss,
            NotificationKind::Resolved,
            Audience::StaffAndClient
        )]
    );
    let i = &d.incidents()[0];
    assert_eq!(i.state, IncidentState::Resolved);
    assert_eq!(i.resolved_at, Some(at(40, 0)));
    assert_eq!(i.sla_met(), Some(false));
    assert_eq!(
        d.handle_acknowledge(at(43, 0), id),
        Err(IncidentError::Resolved(id.0))
    );
}

#[test]
fn flapping_is_folded_into_one_incident_without_new_notifications() {
    let mut d = desk();
    for _ in 0..3 {
        d.handle_detection(at(0, 0), fail("op"));
    }
    // Clear for 1 min (under the hold), bad again: still the same incident.
    d.handle_detection(at(1, 0), ok("op"));
    for _ in 0..3 {
        d.handle_detection(at(2, 0), fail("op"));
    }
    d.handle_tick(at(4, 0));
    // Clear long enough: resolved; back within the flap window: reopened silently.
    d.handle_detection(at(5, 0), ok("op"));
    d.handle_tick(at(7, 0));
    for _ in 0..3 {
        d.handle_detection(at(9, 0), fail("op"));
    }
    assert_eq!(
        drain(&mut d),
        vec![
            (
                Category::TrunkLoss,
                NotificationKind::Opened,
                Audience::StaffAndClient
            ),
            (
                Category::TrunkLoss,
                NotificationKind::Resolved,
                Audience::StaffAndClient
            ),
        ]
    );
    assert_eq!(d.incidents().len(), 1);
    assert_eq!(d.incidents()[0].flaps, 1);
    assert_eq!(d.incidents()[0].state, IncidentState::Open);
    // Long after resolution, a new loss is a new incident.
    d.handle_detection(at(10, 0), ok("op"));
    d.handle_tick(at(12, 0));
    for _ in 0..3 {
        d.handle_detection(at(40, 0), fail("op"));
    }
    assert_eq!(d.incidents().len(), 2);
    // Another trunk is another incident.
    for _ in 0..3 {
        d.handle_detection(at(40, 0), fail("backup-trunk"));
    }
    assert_eq!(d.incidents().len(), 3);
}

#[test]
fn bad_audio_is_mos_under_3_6_averaged_over_the_window_across_calls() {
    let mut d = desk();
    d.handle_detection(at(0, 0), Detection::Mos(4.3));
    d.handle_detection(at(0, 10), Detection::Mos(3.0));
    assert!(d.incidents().is_empty(), "too few samples to judge");
    d.handle_detection(at(0, 20), Detection::Mos(3.9)); // avg 3.73
    assert!(d.incidents().is_empty());
    d.handle_detection(at(0, 30), Detection::Mos(2.9)); // avg 3.525
    assert_eq!(d.incidents().len(), 1);
    assert_eq!(d.incidents()[0].category, Category::BadAudioQuality);
    d.handle_detection(at(0, 40), Detection::Mos(f32::NAN)); // ignored
    // Six minutes later the bad samples left the window; good calls clear it.
    for s in 0..3 {
        d.handle_detection(at(6, s), Detection::Mos(4.2));
    }
    d.handle_tick(at(8, 2));
    assert_eq!(d.incidents()[0].state, IncidentState::Resolved);
    assert_eq!(d.incidents()[0].sla_met(), Some(true));
}

#[test]
fn unclean_restart_raises_server_crash_resolved_by_an_operator() {
    let mut d = desk();
    d.handle_detection(at(0, 0), Detection::UncleanRestart);
    d.handle_tick(at(30, 0));
    assert_eq!(d.incidents()[0].state, IncidentState::Open);
    let id = d.incidents()[0].id;
    d.handle_resolve(at(45, 0), id).unwrap();
    assert_eq!(d.incidents()[0].sla_met(), Some(true));
    assert_eq!(
        drain(&mut d),
        vec![
            (
                Category::ServerCrash,
                NotificationKind::Opened,
                Audience::StaffAndClient
            ),
            (
                Category::ServerCrash,
                NotificationKind::Resolved,
                Audience::StaffAndClient
            ),
        ]
    );
}

#[test]
fn health_backup_and_disk_detections() {
    let mut d = desk();
    d.handle_detection(
        at(0, 0),
        Detection::Health {
            check: "database".into(),
            ok: false,
        },
    );
    d.handle_detection(at(0, 0), Detection::BackupFailed);
    d.handle_detection(at(0, 0), Detection::DiskUsage(89));
    d.handle_detection(at(0, 0), Detection::DiskUsage(95));
    let cats: Vec<_> = d
        .incidents()
        .iter()
        .map(|i| (i.category, i.source.as_str()))
        .collect();
    assert_eq!(
        cats,
        vec![
            (Category::ApplicationUnavailable, "database"),
            (Category::Equipment, "backup"),
            (Category::Equipment, "disk")
        ]
    );
    d.handle_detection(
        at(1, 0),
        Detection::Health {
            check: "database".into(),
            ok: true,
        },
    );
    d.handle_detection(at(1, 0), Detection::BackupSucceeded);
    d.handle_tick(at(3, 0));
    assert_eq!(d.incidents()[0].state, IncidentState::Resolved);
    assert_eq!(d.incidents()[1].state, IncidentState::Resolved);
    assert_eq!(d.incidents()[2].state, IncidentState::Open);
    assert_eq!(
        d.handle_resolve(at(4, 0), continuity::incidents::IncidentId(99)),
        Err(IncidentError::NotFound(99))
    );
}

#[test]
fn a_resumed_desk_keeps_the_stored_incident_and_numbers_after_the_last() {
    let mut first = desk();
    first.handle_detection(at(0, 0), Detection::UncleanRestart);
    first.handle_detection(at(0, 0), Detection::BackupFailed);
    let stored: Vec<_> = first.incidents().to_vec();
    assert_eq!(stored.len(), 2);
    for i in &stored {
        assert_eq!(
            Category::parse(i.category.as_str()),
            Some(i.category),
            "{:?}",
            i.category
        );
        assert_eq!(IncidentState::parse(i.state.as_str()), Some(i.state));
    }

    // The next run: the crash incident resumes; id 7 was the last stored.
    let mut next = desk();
    next.handle_resume(vec![stored[0].clone()], 7);
    // The same condition again does not open a second incident.
    next.handle_detection(at(1, 0), Detection::UncleanRestart);
    assert!(drain(&mut next).is_empty());
    assert_eq!(next.incidents().len(), 1);
    // Its SLA timer runs from the first opening: escalated at 60 min.
    next.handle_tick(at(60, 0));
    assert_eq!(
        drain(&mut next),
        vec![(
            Category::ServerCrash,
            NotificationKind::Escalated(1),
            Audience::Management
        )]
    );
    // A new incident gets id 8.
    next.handle_detection(at(61, 0), Detection::BackupFailed);
    assert_eq!(next.incidents()[1].id.0, 8);
    assert_eq!(Category::parse("no_such"), None);
}
