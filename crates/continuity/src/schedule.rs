//! The backup schedule and retention: a pure state machine on virtual time.
//!
//! Inputs: [`Scheduler::handle_tick`] (the clock), the outcomes of the work
//! it asked for ([`Scheduler::handle_set_done`], [`Scheduler::handle_set_failed`],
//! [`Scheduler::handle_uploaded`]) and the sets found at start
//! ([`Scheduler::handle_catalog`]). Effects, handed out by
//! [`Scheduler::poll_effect`]: make a set, upload it, prune expired sets,
//! report a failure. No I/O, no `.await`, no clock reads here.
//!
//! Rules (seed IV.3b): one set a day at [`Policy::daily_at`] local time; it
//! is a full when the last full is [`Policy::full_every_days`] local days old
//! or more (or there is none), else a differential; a set that fails is
//! retried after [`Policy::retry_after`]. Retention: [`Policy::local_retention`]
//! on the local repository, [`Policy::offsite_retention`] (five years or
//! more) off-site. Pruning ([`prune_plan`]) never removes the newest full
//! nor a full that a kept differential needs.

use crate::manifest::{SetId, SetKind};
use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use std::collections::{BTreeSet, VecDeque};

/// One day in seconds.
const DAY_S: i64 = 86_400;

/// The schedule and retention rules.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Local time of the daily set (default 01:00).
    pub daily_at: Time,
    /// The site's time zone (for `daily_at` and day counts).
    pub time_zone: TimeZone,
    /// A full at least every this many local days (default 14).
    pub full_every_days: u32,
    /// How long sets stay in the local repository (default 365 days).
    pub local_retention: SignedDuration,
    /// How long off-site copies stay (default and minimum 1826 days: five years).
    pub offsite_retention: SignedDuration,
    /// Delay before retrying a failed set (default 1 h).
    pub retry_after: SignedDuration,
}

/// Five years of 365 days plus one leap day, in days.
pub const MIN_OFFSITE_DAYS: i64 = 5 * 365 + 1;

impl Default for Policy {
    fn default() -> Self {
        Self {
            daily_at: Time::constant(1, 0, 0, 0),
            time_zone: TimeZone::UTC,
            full_every_days: 14,
            local_retention: SignedDuration::from_secs(365 * DAY_S),
            offsite_retention: SignedDuration::from_secs(MIN_OFFSITE_DAYS * DAY_S),
            retry_after: SignedDuration::from_hours(1),
        }
    }
}

impl Policy {
    /// Check the rules.
    ///
    /// # Errors
    /// A sentence when off-site retention is under five years, local
    /// retention is not positive, or `full_every_days` is 0.
    pub fn validate(&self) -> Result<(), String> {
        if self.offsite_retention < SignedDuration::from_secs(MIN_OFFSITE_DAYS * DAY_S) {
            return Err(format!(
                "off-site retention must be at least {MIN_OFFSITE_DAYS} days (five years)"
            ));
        }
        if self.local_retention <= SignedDuration::ZERO {
            return Err("local retention must be positive".into());
        }
        if self.full_every_days == 0 {
            return Err("full_every_days must be at least 1".into());
        }
        Ok(())
    }

    /// The first `daily_at` local time strictly after `now`.
    pub fn next_run_after(&self, now: Timestamp) -> Timestamp {
        let mut date = self.time_zone.to_datetime(now).date();
        for _ in 0..3 {
            // A local time skipped by a DST change runs at the first instant
            // after the gap ("compatible" disambiguation, RFC 5545).
            if let Ok(t) = self
                .time_zone
                .to_ambiguous_timestamp(date.to_datetime(self.daily_at))
                .compatible()
                && t > now
            {
                return t;
            }
            date = date.checked_add(1.day()).unwrap_or(date);
        }
        now + SignedDuration::from_secs(DAY_S)
    }

    fn local_days_between(&self, earlier: Timestamp, later: Timestamp) -> i64 {
        let a = self.time_zone.to_datetime(earlier).date();
        let b = self.time_zone.to_datetime(later).date();
        a.until(b).map(|s| i64::from(s.get_days())).unwrap_or(0)
    }
}

/// A set as the scheduler knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetInfo {
    /// Its id.
    pub id: SetId,
    /// Full or differential.
    pub kind: SetKind,
    /// For a differential, its full.
    pub parent: Option<SetId>,
    /// When it was made.
    pub created_at: Timestamp,
}

/// Where sets are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    /// The local backup folder.
    Local,
    /// The off-site copy (S3-compatible or SFTP).
    Offsite,
}

/// What the scheduler asks its shell to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Make a set of this kind now; answer with `handle_set_done` or `handle_set_failed`.
    MakeSet(SetKind),
    /// Copy this set off-site; answer with `handle_uploaded`.
    Upload(SetId),
    /// Delete this set from this location (retention expired).
    Prune(Location, SetId),
    /// A set failed: raise the "backup failed" detection.
    BackupFailed {
        /// The kind that was asked for.
        kind: SetKind,
        /// The shell's error message.
        reason: String,
    },
}

/// Bound of the effect queue; past it the oldest prune requests are dropped
/// (they are recomputed on the next set) — never a `MakeSet`.
pub const MAX_EFFECTS: usize = 1024;

/// The backup scheduler. See the module doc.
#[derive(Debug)]
pub struct Scheduler {
    policy: Policy,
    next_run: Option<Timestamp>,
    in_flight: Option<SetKind>,
    local: Vec<SetInfo>,
    offsite: Vec<SetInfo>,
    offsite_enabled: bool,
    effects: VecDeque<Effect>,
}

impl Scheduler {
    /// A scheduler with `policy`; `offsite_enabled` says whether sets are
    /// copied off-site.
    ///
    /// # Errors
    /// From [`Policy::validate`].
    pub fn new(policy: Policy, offsite_enabled: bool) -> Result<Self, String> {
        policy.validate()?;
        Ok(Self {
            policy,
            next_run: None,
            in_flight: None,
            local: Vec::new(),
            offsite: Vec::new(),
            offsite_enabled,
            effects: VecDeque::new(),
        })
    }

    /// The sets found in a location at start (replaces what was known).
    pub fn handle_catalog(&mut self, location: Location, sets: Vec<SetInfo>) {
        match location {
            Location::Local => self.local = sets,
            Location::Offsite => self.offsite = sets,
        }
    }

    /// The clock moved to `now`: prune what expired, and ask for a set when due.
    pub fn handle_tick(&mut self, now: Timestamp) {
        self.prune(now, Location::Local);
        self.prune(now, Location::Offsite);
        let due = *self
            .next_run
            .get_or_insert_with(|| self.policy.next_run_after(now));
        if now < due || self.in_flight.is_some() {
            return;
        }
        let kind = self.kind_due(now);
        self.in_flight = Some(kind);
        self.next_run = Some(self.policy.next_run_after(now));
        self.push(Effect::MakeSet(kind));
    }

    /// The kind of set that the schedule would make at `now`.
    pub fn kind_due(&self, now: Timestamp) -> SetKind {
        match self
            .local
            .iter()
            .filter(|s| s.kind == SetKind::Full)
            .map(|s| s.created_at)
            .max()
        {
            Some(last)
                if self.policy.local_days_between(last, now)
                    < i64::from(self.policy.full_every_days) =>
            {
                SetKind::Differential
            }
            _ => SetKind::Full,
        }
    }

    /// A set was made (by the schedule or on demand): queue its upload and
    /// prune the local repository.
    pub fn handle_set_done(&mut self, now: Timestamp, set: SetInfo) {
        self.in_flight = None;
        if !self.local.iter().any(|s| s.id == set.id) {
            self.local.push(set.clone());
        }
        if self.offsite_enabled {
            self.push(Effect::Upload(set.id));
        }
        self.prune(now, Location::Local);
    }

    /// A set failed: report it and retry after [`Policy::retry_after`] (or at
    /// the next daily time, whichever comes first).
    pub fn handle_set_failed(&mut self, now: Timestamp, kind: SetKind, reason: String) {
        self.in_flight = None;
        let retry = now + self.policy.retry_after;
        self.next_run = Some(match self.next_run {
            Some(n) if n < retry => n,
            _ => retry,
        });
        self.push(Effect::BackupFailed { kind, reason });
    }

    /// A set was copied off-site: prune the off-site copies.
    pub fn handle_uploaded(&mut self, now: Timestamp, set: SetInfo) {
        if !self.offsite.iter().any(|s| s.id == set.id) {
            self.offsite.push(set);
        }
        self.prune(now, Location::Offsite);
    }

    fn prune(&mut self, now: Timestamp, location: Location) {
        let (sets, retention) = match location {
            Location::Local => (&mut self.local, self.policy.local_retention),
            Location::Offsite => (&mut self.offsite, self.policy.offsite_retention),
        };
        let gone = prune_plan(sets, now, retention);
        sets.retain(|s| !gone.contains(&s.id));
        for id in gone {
            self.push(Effect::Prune(location, id));
        }
    }

    fn push(&mut self, e: Effect) {
        if self.effects.len() >= MAX_EFFECTS
            && let Some(i) = self
                .effects
                .iter()
                .position(|x| matches!(x, Effect::Prune(..)))
        {
            self.effects.remove(i);
        }
        self.effects.push_back(e);
    }

    /// The next effect to carry out.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// When the next scheduled set is due (after the first tick).
    pub fn next_run(&self) -> Option<Timestamp> {
        self.next_run
    }

    /// The sets believed to be in `location`.
    pub fn sets(&self, location: Location) -> &[SetInfo] {
        match location {
            Location::Local => &self.local,
            Location::Offsite => &self.offsite,
        }
    }
}

/// The sets to delete at `now` under `retention`: those older than it,
/// except the newest full and any full that a kept differential needs.
pub fn prune_plan(sets: &[SetInfo], now: Timestamp, retention: SignedDuration) -> Vec<SetId> {
    let newest_full = sets
        .iter()
        .filter(|s| s.kind == SetKind::Full)
        .max_by_key(|s| s.created_at)
        .map(|s| s.id.clone());
    let mut keep: BTreeSet<&SetId> = sets
        .iter()
        .filter(|s| s.created_at + retention > now || Some(&s.id) == newest_full.as_ref())
        .map(|s| &s.id)
        .collect();
    let needed: Vec<&SetId> = sets
        .iter()
        .filter(|s| keep.contains(&s.id))
        .filter_map(|s| s.parent.as_ref())
        .collect();
    keep.extend(needed);
    sets.iter()
        .filter(|s| !keep.contains(&s.id))
        .map(|s| s.id.clone())
        .collect()
}
