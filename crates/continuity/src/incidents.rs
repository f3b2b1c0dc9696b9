//! SLA incidents: the risk register (seed, SLA annex) and a pure state
//! machine that turns the platform's detections into incidents with an SLA
//! timer, escalation and notifications. No I/O, no clock reads: detections,
//! operator actions and the clock ([`IncidentDesk::handle_tick`]) are inputs;
//! notifications are effects handed out by [`IncidentDesk::poll_effect`].
//!
//! Rules:
//! - a detection opens an incident for its (category, source) unless one is
//!   already open or acknowledged;
//! - a condition must stay clear for [`DetectionRules::clear_hold`] before the
//!   incident resolves by itself (server crash incidents are resolved by an
//!   operator);
//! - flapping is suppressed: a condition coming back within
//!   [`DetectionRules::flap_window`] of the resolution reopens the same
//!   incident, without a new "opened" notification;
//! - the SLA timer runs from opening to resolution (an acknowledgement does
//!   not stop it); each time it runs out (at 1×, 2×, … the SLA) the incident
//!   is escalated.

use jiff::{SignedDuration, Timestamp};
use std::collections::{HashMap, VecDeque};

/// The register's risk categories (seed, SLA annex).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Power supply failure.
    Power,
    /// Equipment failure (servers' hardware, storage: failed backups, full disks).
    Equipment,
    /// Loss of the E1 / SIP trunk to the operator.
    TrunkLoss,
    /// The application is unavailable (health check, database unreachable).
    ApplicationUnavailable,
    /// Bad audio quality (MOS under threshold).
    BadAudioQuality,
    /// A server crashed (unclean restart).
    ServerCrash,
    /// Site disaster (fire, flood): switch to the standby site.
    SiteDisaster,
}

impl Category {
    /// The snake_case name, as stored and shown (`server_crash`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Power => "power",
            Category::Equipment => "equipment",
            Category::TrunkLoss => "trunk_loss",
            Category::ApplicationUnavailable => "application_unavailable",
            Category::BadAudioQuality => "bad_audio_quality",
            Category::ServerCrash => "server_crash",
            Category::SiteDisaster => "site_disaster",
        }
    }

    /// The category named `s` ([`Category::as_str`]), if any.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Category::Power,
            Category::Equipment,
            Category::TrunkLoss,
            Category::ApplicationUnavailable,
            Category::BadAudioQuality,
            Category::ServerCrash,
            Category::SiteDisaster,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// Severity of a risk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Service stopped for everyone.
    Critical,
    /// Service degraded.
    Major,
    /// Limited impact.
    Minor,
}

/// One line of the risk register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Risk {
    /// Category.
    pub category: Category,
    /// What the client sees.
    pub impact: String,
    /// Severity.
    pub severity: Severity,
    /// The measure taken to restore service.
    pub measure: String,
    /// Time to restore service, agreed with the client.
    pub sla: SignedDuration,
}

/// Whether the standby site is virtual (VMs) or physical: the SLA of a site
/// disaster depends on it (annex: 30–120 min virtual, 120–460 min physical).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StandbyKind {
    /// Virtual machines on another site: 120 min (upper bound of 30–120).
    Virtual,
    /// Physical servers on another site: 460 min (upper bound of 120–460).
    Physical,
}

/// The register of the SLA annex. SLA minutes: power 5, equipment 30, trunk
/// loss 15, application unavailable 15, bad audio quality 60, server crash
/// 60, site disaster 120 (virtual standby) or 460 (physical).
pub fn default_register(standby: StandbyKind) -> Vec<Risk> {
    let r = |category, impact: &str, severity, measure: &str, min: i64| Risk {
        category,
        impact: impact.into(),
        severity,
        measure: measure.into(),
        sla: SignedDuration::from_mins(min),
    };
    vec![
        r(
            Category::Power,
            "all services stop",
            Severity::Critical,
            "UPS, then generator",
            5,
        ),
        r(
            Category::Equipment,
            "a component fails",
            Severity::Major,
            "spare part, restore from backup",
            30,
        ),
        r(
            Category::TrunkLoss,
            "no inbound or outbound calls",
            Severity::Critical,
            "operator ticket, backup trunk",
            15,
        ),
        r(
            Category::ApplicationUnavailable,
            "agents cannot work",
            Severity::Critical,
            "restart, fail over",
            15,
        ),
        r(
            Category::BadAudioQuality,
            "calls hard to understand",
            Severity::Major,
            "network and codec check",
            60,
        ),
        r(
            Category::ServerCrash,
            "calls in progress lost",
            Severity::Major,
            "restart, analyse the crash",
            60,
        ),
        r(
            Category::SiteDisaster,
            "the site is lost",
            Severity::Critical,
            "switch to the standby site",
            match standby {
                StandbyKind::Virtual => 120,
                StandbyKind::Physical => 460,
            },
        ),
    ]
}

/// What the platform observed. Sources (trunk names...) let several
/// incidents of one category be open at once.
#[derive(Clone, Debug, PartialEq)]
pub enum Detection {
    /// An OPTIONS ping to the trunk got no answer (RFC 3261 §11).
    TrunkOptionsFailed {
        /// Trunk name.
        trunk: String,
    },
    /// The trunk answered an OPTIONS ping or accepted an INVITE.
    TrunkOptionsOk {
        /// Trunk name.
        trunk: String,
    },
    /// One call's MOS (1–5, ITU-T G.107 E-model from RTCP figures).
    Mos(f32),
    /// A health check of the application (HTTP, database, event writer).
    Health {
        /// What was checked (`database`, `http`, `event_writer`).
        check: String,
        /// Whether it passed.
        ok: bool,
    },
    /// The node started after an unclean stop (crash, `kill -9`).
    UncleanRestart,
    /// A backup set failed.
    BackupFailed,
    /// A backup set succeeded.
    BackupSucceeded,
    /// Disk usage of the data dir, %.
    DiskUsage(u8),
}

/// Thresholds of the detections.
#[derive(Clone, Debug)]
pub struct DetectionRules {
    /// Consecutive OPTIONS failures that mean the trunk is lost (default 3).
    pub trunk_failures: u32,
    /// MOS under which audio is bad (default 3.6).
    pub mos_threshold: f32,
    /// The window MOS is averaged over, across calls (default 5 min).
    pub mos_window: SignedDuration,
    /// Fewest samples in the window to judge (default 3).
    pub mos_min_samples: usize,
    /// Disk usage that raises an incident, % (default 90).
    pub disk_full_percent: u8,
    /// How long a condition must stay clear to resolve (default 2 min).
    pub clear_hold: SignedDuration,
    /// A recurrence within this time of resolution reopens the incident
    /// silently (default 10 min).
    pub flap_window: SignedDuration,
}

impl Default for DetectionRules {
    fn default() -> Self {
        Self {
            trunk_failures: 3,
            mos_threshold: 3.6,
            mos_window: SignedDuration::from_mins(5),
            mos_min_samples: 3,
            disk_full_percent: 90,
            clear_hold: SignedDuration::from_mins(2),
            flap_window: SignedDuration::from_mins(10),
        }
    }
}

/// An incident's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IncidentId(pub u64);

/// An incident's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentState {
    /// Raised, nobody has taken it.
    Open,
    /// Staff took it.
    Acknowledged,
    /// Service restored.
    Resolved,
}

impl IncidentState {
    /// `open`, `acknowledged` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Resolved => "resolved",
        }
    }

    /// The state named `s` ([`IncidentState::as_str`]), if any.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(IncidentState::Open),
            "acknowledged" => Some(IncidentState::Acknowledged),
            "resolved" => Some(IncidentState::Resolved),
            _ => None,
        }
    }
}

/// One incident.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    /// Id.
    pub id: IncidentId,
    /// Register category.
    pub category: Category,
    /// Source (trunk name, health check, `disk`, `backup`, `audio`, `node`).
    pub source: String,
    /// State.
    pub state: IncidentState,
    /// When it opened.
    pub opened_at: Timestamp,
    /// When staff acknowledged it.
    pub acknowledged_at: Option<Timestamp>,
    /// When it was (last) resolved.
    pub resolved_at: Option<Timestamp>,
    /// The SLA of its category.
    pub sla: SignedDuration,
    /// Escalations so far (one each time the SLA runs out again).
    pub escalations: u32,
    /// Recurrences folded into it (flapping).
    pub flaps: u32,
    /// Since when its condition has been clear (it resolves after
    /// [`DetectionRules::clear_hold`]); `None` while bad.
    pub clear_since: Option<Timestamp>,
}

impl Incident {
    /// When the SLA runs out.
    pub fn deadline(&self) -> Timestamp {
        self.opened_at + self.sla
    }

    /// For a resolved incident: whether service came back within the SLA.
    pub fn sla_met(&self) -> Option<bool> {
        self.resolved_at.map(|r| r <= self.deadline())
    }
}

/// Why a notification is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotificationKind {
    /// A new incident.
    Opened,
    /// Staff took it.
    Acknowledged,
    /// Its SLA ran out (level 1, 2, ...).
    Escalated(u32),
    /// Service restored.
    Resolved,
}

/// Who is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The on-call staff.
    Staff,
    /// The staff and the client.
    StaffAndClient,
    /// Management (escalation).
    Management,
}

/// The effects of the desk: notifications to send (e-mail, SMS, webhook:
/// the shell chooses the channel per audience).
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// Which incident.
    pub incident: IncidentId,
    /// Its category.
    pub category: Category,
    /// Its source.
    pub source: String,
    /// Why.
    pub kind: NotificationKind,
    /// To whom.
    pub audience: Audience,
    /// When.
    pub at: Timestamp,
}

/// Bound of the notification queue (oldest dropped past it, logged by the shell).
pub const MAX_NOTIFICATIONS: usize = 1024;
/// Bound of the MOS window, samples (oldest dropped).
pub const MAX_MOS_SAMPLES: usize = 4096;

/// Errors of operator actions.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    /// No such incident.
    #[error("no incident {0}")]
    NotFound(u64),
    /// The incident is already resolved.
    #[error("incident {0} is already resolved")]
    Resolved(u64),
}

/// The incident desk. See the module doc.
#[derive(Debug)]
pub struct IncidentDesk {
    register: HashMap<Category, Risk>,
    rules: DetectionRules,
    incidents: Vec<Incident>,
    next_id: u64,
    trunk_failures: HashMap<String, u32>,
    mos: VecDeque<(Timestamp, f32)>,
    notifications: VecDeque<Notification>,
    dropped: u64,
}

enum Condition {
    Bad,
    Clear,
}

impl IncidentDesk {
    /// A desk with a register (one risk per category; later lines win) and rules.
    pub fn new(register: Vec<Risk>, rules: DetectionRules) -> Self {
        Self {
            register: register.into_iter().map(|r| (r.category, r)).collect(),
            rules,
            incidents: Vec::new(),
            next_id: 1,
            trunk_failures: HashMap::new(),
            mos: VecDeque::new(),
            notifications: VecDeque::new(),
            dropped: 0,
        }
    }

    /// Take back the unresolved incidents a previous run stored (their
    /// timers go on from their opening) and number new incidents after
    /// `last_id`. Resolved ones passed in are ignored.
    pub fn handle_resume(&mut self, unresolved: Vec<Incident>, last_id: u64) {
        for i in unresolved {
            if i.state != IncidentState::Resolved && !self.incidents.iter().any(|o| o.id == i.id) {
                self.next_id = self.next_id.max(i.id.0 + 1);
                self.incidents.push(i);
            }
        }
        self.next_id = self.next_id.max(last_id + 1);
    }

    /// A detection at `now`.
    pub fn handle_detection(&mut self, now: Timestamp, d: Detection) {
        let (category, source, cond) = match d {
            Detection::TrunkOptionsFailed { trunk } => {
                let n = self.trunk_failures.entry(trunk.clone()).or_insert(0);
                *n = n.saturating_add(1);
                if *n < self.rules.trunk_failures {
                    return;
                }
                (Category::TrunkLoss, trunk, Condition::Bad)
            }
            Detection::TrunkOptionsOk { trunk } => {
                self.trunk_failures.remove(&trunk);
                (Category::TrunkLoss, trunk, Condition::Clear)
            }
            Detection::Mos(m) => {
                if !m.is_finite() {
                    return;
                }
                self.mos.push_back((now, m));
                if self.mos.len() > MAX_MOS_SAMPLES {
                    self.mos.pop_front();
                }
                while self
                    .mos
                    .front()
                    .is_some_and(|(t, _)| *t + self.rules.mos_window < now)
                {
                    self.mos.pop_front();
                }
                if self.mos.len() < self.rules.mos_min_samples {
                    return;
                }
                let avg = self.mos.iter().map(|(_, m)| f64::from(*m)).sum::<f64>()
                    / self.mos.len() as f64;
                let cond = if avg < f64::from(self.rules.mos_threshold) {
                    Condition::Bad
                } else {
                    Condition::Clear
                };
                (Category::BadAudioQuality, "audio".to_string(), cond)
            }
            Detection::Health { check, ok } => (
                Category::ApplicationUnavailable,
                check,
                if ok { Condition::Clear } else { Condition::Bad },
            ),
            Detection::UncleanRestart => {
                (Category::ServerCrash, "node".to_string(), Condition::Bad)
            }
            Detection::BackupFailed => (Category::Equipment, "backup".to_string(), Condition::Bad),
            Detection::BackupSucceeded => {
                (Category::Equipment, "backup".to_string(), Condition::Clear)
            }
            Detection::DiskUsage(p) => (
                Category::Equipment,
                "disk".to_string(),
                if p >= self.rules.disk_full_percent {
                    Condition::Bad
                } else {
                    Condition::Clear
                },
            ),
        };
        match cond {
            Condition::Bad => self.raise(now, category, source),
            Condition::Clear => self.clear(now, category, &source),
        }
    }

    fn raise(&mut self, now: Timestamp, category: Category, source: String) {
        let flap = self.rules.flap_window;
        if let Some(i) = self
            .incidents
            .iter_mut()
            .rev()
            .find(|i| i.category == category && i.source == source)
        {
            match i.state {
                IncidentState::Open | IncidentState::Acknowledged => {
                    i.clear_since = None;
                    return;
                }
                IncidentState::Resolved if i.resolved_at.is_some_and(|r| r + flap >= now) => {
                    // Flapping: the same incident again, no new notification.
                    i.state = if i.acknowledged_at.is_some() {
                        IncidentState::Acknowledged
                    } else {
                        IncidentState::Open
                    };
                    i.resolved_at = None;
                    i.clear_since = None;
                    i.flaps += 1;
                    return;
                }
                IncidentState::Resolved => {}
            }
        }
        let sla = self
            .register
            .get(&category)
            .map_or(SignedDuration::from_mins(60), |r| r.sla);
        let id = IncidentId(self.next_id);
        self.next_id += 1;
        self.incidents.push(Incident {
            id,
            category,
            source: source.clone(),
            state: IncidentState::Open,
            opened_at: now,
            acknowledged_at: None,
            resolved_at: None,
            sla,
            escalations: 0,
            flaps: 0,
            clear_since: None,
        });
        self.notify(now, id, NotificationKind::Opened, Audience::StaffAndClient);
    }

    fn clear(&mut self, now: Timestamp, category: Category, source: &str) {
        // A crash does not clear by itself: an operator resolves it.
        if category == Category::ServerCrash {
            return;
        }
        for i in &mut self.incidents {
            if i.category == category
                && i.source == source
                && i.state != IncidentState::Resolved
                && i.clear_since.is_none()
            {
                i.clear_since = Some(now);
            }
        }
        self.handle_tick(now);
    }

    /// The clock moved to `now`: resolve incidents clear for long enough,
    /// escalate those past their SLA.
    pub fn handle_tick(&mut self, now: Timestamp) {
        let hold = self.rules.clear_hold;
        let mut out = Vec::new();
        for i in &mut self.incidents {
            if i.state == IncidentState::Resolved {
                continue;
            }
            if let Some(c) = i.clear_since
                && c + hold <= now
            {
                i.state = IncidentState::Resolved;
                i.resolved_at = Some(c);
                i.clear_since = None;
                out.push((i.id, NotificationKind::Resolved, Audience::StaffAndClient));
                continue;
            }
            let sla_ms = i.sla.as_millis().max(1);
            let elapsed_ms = now.duration_since(i.opened_at).as_millis();
            let due = u32::try_from(elapsed_ms / sla_ms).unwrap_or(u32::MAX);
            while i.escalations < due {
                i.escalations += 1;
                out.push((
                    i.id,
                    NotificationKind::Escalated(i.escalations),
                    Audience::Management,
                ));
            }
        }
        for (id, kind, audience) in out {
            self.notify(now, id, kind, audience);
        }
    }

    /// Staff took incident `id`.
    ///
    /// # Errors
    /// [`IncidentError`] when it does not exist or is resolved.
    pub fn handle_acknowledge(
        &mut self,
        now: Timestamp,
        id: IncidentId,
    ) -> Result<(), IncidentError> {
        let i = self.get_mut(id)?;
        if i.state == IncidentState::Acknowledged {
            return Ok(());
        }
        i.state = IncidentState::Acknowledged;
        i.acknowledged_at = Some(now);
        self.notify(now, id, NotificationKind::Acknowledged, Audience::Staff);
        Ok(())
    }

    /// An operator declares incident `id` resolved.
    ///
    /// # Errors
    /// [`IncidentError`] when it does not exist or is resolved.
    pub fn handle_resolve(&mut self, now: Timestamp, id: IncidentId) -> Result<(), IncidentError> {
        let i = self.get_mut(id)?;
        i.state = IncidentState::Resolved;
        i.resolved_at = Some(now);
        i.clear_since = None;
        self.notify(
            now,
            id,
            NotificationKind::Resolved,
            Audience::StaffAndClient,
        );
        Ok(())
    }

    fn get_mut(&mut self, id: IncidentId) -> Result<&mut Incident, IncidentError> {
        let i = self
            .incidents
            .iter_mut()
            .find(|i| i.id == id)
            .ok_or(IncidentError::NotFound(id.0))?;
        if i.state == IncidentState::Resolved {
            return Err(IncidentError::Resolved(id.0));
        }
        Ok(i)
    }

    fn notify(
        &mut self,
        at: Timestamp,
        id: IncidentId,
        kind: NotificationKind,
        audience: Audience,
    ) {
        let Some(i) = self.incidents.iter().find(|i| i.id == id) else {
            return;
        };
        if self.notifications.len() >= MAX_NOTIFICATIONS {
            self.notifications.pop_front();
            self.dropped += 1;
        }
        self.notifications.push_back(Notification {
            incident: id,
            category: i.category,
            source: i.source.clone(),
            kind,
            audience,
            at,
        });
    }

    /// The next notification to send.
    pub fn poll_effect(&mut self) -> Option<Notification> {
        self.notifications.pop_front()
    }

    /// Notifications dropped because the queue was full.
    pub fn dropped_notifications(&self) -> u64 {
        self.dropped
    }

    /// Every incident, oldest first.
    pub fn incidents(&self) -> &[Incident] {
        &self.incidents
    }
}
