//! The schedule and retention core stepped on a manual clock over two years.

use continuity::schedule::{
    Effect, Location, MIN_OFFSITE_DAYS, Policy, Scheduler, SetInfo, prune_plan,
};
use continuity::{SetId, SetKind};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Paris-like rules (CET/CEST) as a POSIX TZ string: DST changes included.
fn paris() -> TimeZone {
    TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()
}

struct Shell {
    sched: Scheduler,
    made: Vec<SetInfo>,
    local: HashMap<SetId, SetInfo>,
    offsite: HashMap<SetId, SetInfo>,
    failures: usize,
}

impl Shell {
    /// Carry out the effects as a perfect shell would (sets made instantly).
    fn drain(&mut self, now: Timestamp) {
        while let Some(e) = self.sched.poll_effect() {
            match e {
                Effect::MakeSet(kind) => {
                    let parent = match kind {
                        SetKind::Full => None,
                        SetKind::Differential => self
                            .local
                            .values()
                            .filter(|s| s.kind == SetKind::Full)
                            .max_by_key(|s| s.created_at)
                            .map(|s| s.id.clone()),
                    };
                    let set = SetInfo {
                        id: SetId::new(now, kind),
                        kind,
                        parent,
                        created_at: now,
                    };
                    self.made.push(set.clone());
                    self.local.insert(set.id.clone(), set.clone());
                    self.sched.handle_set_done(now, set);
                }
                Effect::Upload(id) => {
                    let set = self.local[&id].clone();
                    self.offsite.insert(id, set.clone());
                    self.sched.handle_uploaded(now, set);
                }
                Effect::Prune(Location::Local, id) => {
                    assert!(self.local.remove(&id).is_some(), "pruned unknown {id}");
                }
                Effect::Prune(Location::Offsite, id) => {
                    assert!(self.offsite.remove(&id).is_some(), "pruned unknown {id}");
                }
                Effect::BackupFailed { .. } => self.failures += 1,
            }
        }
    }

    fn check_invariants(
        &self,
        now: Timestamp,
        retention: SignedDuration,
        sets: &HashMap<SetId, SetInfo>,
    ) {
        // The newest full made so far is kept; every kept differential's full is kept.
        let newest_full = self
            .made
            .iter()
            .filter(|s| s.kind == SetKind::Full)
            .map(|s| &s.id)
            .max();
        if let Some(f) = newest_full {
            assert!(sets.contains_key(f), "newest full {f} pruned at {now}");
        }
        for s in sets.values() {
            if let Some(p) = &s.parent {
                assert!(
                    sets.contains_key(p),
                    "{} kept without its full {p} at {now}",
                    s.id
                );
            }
        }
        // Nothing is kept past retention unless it is a needed full.
        for s in sets.values() {
            if s.created_at + retention <= now {
                assert_eq!(
                    s.kind,
                    SetKind::Full,
                    "expired differential {} kept at {now}",
                    s.id
                );
                let needed = Some(&s.id) == newest_full
                    || sets.values().any(|d| d.parent.as_ref() == Some(&s.id));
                assert!(needed, "expired full {} kept without need at {now}", s.id);
            }
        }
    }
}

#[test]
fn two_years_hour_by_hour_daily_sets_fortnightly_fulls_and_retention() {
    let policy = Policy {
        time_zone: paris(),
        ..Policy::default()
    };
    let local_ret = policy.local_retention;
    let offsite_ret = policy.offsite_retention;
    let mut shell = Shell {
        sched: Scheduler::new(policy, true).unwrap(),
        made: vec![],
        local: HashMap::new(),
        offsite: HashMap::new(),
        failures: 0,
    };
    let start = ts("2026-01-01T08:00:00Z");
    let hours = 2 * 365 * 24 + 24;
    for h in 0..hours {
        let now = start + SignedDuration::from_hours(h);
        shell.sched.handle_tick(now);
        shell.drain(now);
        shell.check_invariants(now, local_ret, &shell.local);
        shell.check_invariants(now, offsite_ret, &shell.offsite);
    }
    let made = &shell.made;
    // One set a day, each at 01:00 Paris time (00:00Z in winter, 23:00Z in summer).
    assert_eq!(made.len(), 731, "two years and a day of daily sets");
    for s in made {
        let local = paris().to_datetime(s.created_at);
        assert_eq!(
            (local.hour(), local.minute()),
            (1, 0),
            "{} at {local}",
            s.id
        );
    }
    // The first is a full, then a full every 14 days, differentials between.
    for (i, s) in made.iter().enumerate() {
        let want = if i % 14 == 0 {
            SetKind::Full
        } else {
            SetKind::Differential
        };
        assert_eq!(s.kind, want, "set #{i} {}", s.id);
        if s.kind == SetKind::Differential {
            assert_eq!(s.parent.as_ref(), Some(&made[i - i % 14].id));
        }
    }
    // Locally: a year kept (365 sets, plus the full the oldest kept diffs need).
    let end = start + SignedDuration::from_hours(hours - 1);
    let oldest_local = shell.local.values().map(|s| s.created_at).min().unwrap();
    assert!(end.duration_since(oldest_local) < local_ret + SignedDuration::from_hours(24 * 14));
    let within = shell
        .local
        .values()
        .filter(|s| s.created_at + local_ret > end)
        .count();
    assert_eq!(within, 365);
    assert!(shell.local.len() <= 366);
    // Off-site: nothing is older than five years yet, so everything is there.
    assert_eq!(shell.offsite.len(), made.len());
    assert_eq!(shell.failures, 0);
}

#[test]
fn a_failed_set_is_reported_and_retried_an_hour_later() {
    let mut s = Scheduler::new(Policy::default(), false).unwrap();
    let t = ts("2026-03-01T01:00:00Z");
    s.handle_tick(ts("2026-03-01T00:00:00Z"));
    s.handle_tick(t);
    assert_eq!(s.poll_effect(), Some(Effect::MakeSet(SetKind::Full)));
    // While it runs, ticks ask for nothing more.
    s.handle_tick(t + SignedDuration::from_mins(30));
    assert_eq!(s.poll_effect(), None);
    s.handle_set_failed(
        t + SignedDuration::from_mins(31),
        SetKind::Full,
        "disk full".into(),
    );
    assert_eq!(
        s.poll_effect(),
        Some(Effect::BackupFailed {
            kind: SetKind::Full,
            reason: "disk full".into()
        })
    );
    s.handle_tick(t + SignedDuration::from_mins(90));
    assert_eq!(s.poll_effect(), None);
    s.handle_tick(t + SignedDuration::from_mins(91));
    assert_eq!(s.poll_effect(), Some(Effect::MakeSet(SetKind::Full)));
}

#[test]
fn a_catalog_found_at_start_decides_full_or_differential() {
    let mut s = Scheduler::new(Policy::default(), false).unwrap();
    let full_at = ts("2026-05-01T01:00:00Z");
    s.handle_catalog(
        Location::Local,
        vec![SetInfo {
            id: SetId::new(full_at, SetKind::Full),
            kind: SetKind::Full,
            parent: None,
            created_at: full_at,
        }],
    );
    assert_eq!(
        s.kind_due(ts("2026-05-14T01:00:00Z")),
        SetKind::Differential
    );
    assert_eq!(s.kind_due(ts("2026-05-15T01:00:00Z")), SetKind::Full);
}

#[test]
fn prune_keeps_the_newest_full_and_fulls_needed_by_kept_differentials() {
    let day = |d: i64| ts("2020-01-01T01:00:00Z") + SignedDuration::from_hours(24 * d);
    let full = |d| SetInfo {
        id: SetId::new(day(d), SetKind::Full),
        kind: SetKind::Full,
        parent: None,
        created_at: day(d),
    };
    let diff = |d, f: i64| SetInfo {
        id: SetId::new(day(d), SetKind::Differential),
        kind: SetKind::Differential,
        parent: Some(SetId::new(day(f), SetKind::Full)),
        created_at: day(d),
    };
    let sets = vec![full(0), diff(1, 0), full(10), diff(11, 10), diff(12, 10)];
    let ret = SignedDuration::from_hours(24 * 5);
    // At day 16: everything before day 11 is expired; diff 11 expired too
    // (11 + 5 = 16); diff 12 is kept so full 10 stays; full 0 and diff 1 go.
    let gone = prune_plan(&sets, day(16), ret);
    assert_eq!(
        gone,
        vec![sets[0].id.clone(), sets[1].id.clone(), sets[3].id.clone()]
    );
    // Far later: only the newest full survives.
    let gone = prune_plan(&sets, day(1000), ret);
    assert_eq!(gone.len(), 4);
    assert!(!gone.contains(&sets[2].id));
}

#[test]
fn offsite_retention_under_five_years_is_refused() {
    let p = Policy {
        offsite_retention: SignedDuration::from_hours(24 * (MIN_OFFSITE_DAYS - 1)),
        ..Policy::default()
    };
    assert!(Scheduler::new(p, true).unwrap_err().contains("five years"));
}

#[test]
fn daily_time_is_configurable_and_follows_the_time_zone() {
    let p = Policy {
        daily_at: jiff::civil::Time::constant(3, 30, 0, 0),
        time_zone: paris(),
        ..Policy::default()
    };
    // Winter: 03:30 CET = 02:30Z.
    assert_eq!(
        p.next_run_after(ts("2026-01-10T12:00:00Z")),
        ts("2026-01-11T02:30:00Z")
    );
    // Summer: 03:30 CEST = 01:30Z.
    assert_eq!(
        p.next_run_after(ts("2026-07-10T01:29:59Z")),
        ts("2026-07-10T01:30:00Z")
    );
    // The 02:00-03:00 gap of 29 March 2026 does not swallow a 02:30 set.
    let p2 = Policy {
        daily_at: jiff::civil::Time::constant(2, 30, 0, 0),
        time_zone: paris(),
        ..Policy::default()
    };
    assert_eq!(
        p2.next_run_after(ts("2026-03-28T12:00:00Z")),
        ts("2026-03-29T01:30:00Z")
    );
}
