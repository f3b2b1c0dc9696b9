//! The SLA incident desk of `serve` (issue 19, SPEC §8, SLA annex): a task
//! that owns the pure [`continuity::incidents::IncidentDesk`], feeds it
//! detections (the unclean-restart marker, the backup scheduler's failures
//! and successes, a store check and the data dir's disk usage on each
//! tick), runs its SLA timers on a
//! clock tick (`[incidents] tick_seconds`), stores every change
//! (`incidents` table) and carries out its notifications (logged; POSTed to
//! `[incidents] webhook_url` when set).
//!
//! Inputs reach the task through one bounded channel ([`COMMANDS`]):
//! detections are dropped (logged) when it is full, staff actions wait.

use continuity::incidents::{
    Category, Detection, DetectionRules, Incident, IncidentDesk, IncidentError, IncidentId,
    IncidentState, Notification, StandbyKind, default_register,
};
use std::collections::HashMap;
use std::sync::Arc;
use store::{IncidentRecord, Store};
use tokio::sync::{mpsc, oneshot};

/// Bound of the command channel; past it a detection is dropped (logged)
/// and a staff action waits for room.
pub const COMMANDS: usize = 256;

/// An operator action on an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffAction {
    /// Take it (the SLA timer goes on).
    Acknowledge,
    /// Declare service restored.
    Resolve,
}

enum Command {
    Detect(Detection),
    Staff {
        id: u64,
        by: i64,
        action: StaffAction,
        reply: oneshot::Sender<Result<IncidentRecord, IncidentError>>,
    },
}

/// A handle on the desk task (cheap to clone).
#[derive(Clone, Debug)]
pub struct Incidents {
    tx: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Detect(d) => write!(f, "Detect({d:?})"),
            Command::Staff { id, action, .. } => write!(f, "Staff({id}, {action:?})"),
        }
    }
}

impl Incidents {
    /// Hand a detection to the desk; dropped (logged) when the channel is
    /// full or the task has ended.
    pub fn detect(&self, d: Detection) {
        if let Err(e) = self.tx.try_send(Command::Detect(d)) {
            tracing::warn!(error = %e, "incident detection dropped");
        }
    }

    /// Acknowledge or resolve incident `id` as user `by`; the stored row after.
    ///
    /// # Errors
    /// [`IncidentError`] (unknown or already resolved); `NotFound` too when
    /// the desk task has ended.
    pub async fn staff(
        &self,
        id: u64,
        by: i64,
        action: StaffAction,
    ) -> Result<IncidentRecord, IncidentError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Staff {
                id,
                by,
                action,
                reply,
            })
            .await
            .map_err(|_| IncidentError::NotFound(id))?;
        rx.await.map_err(|_| IncidentError::NotFound(id))?
    }
}

fn to_ms(t: jiff::Timestamp) -> domain::Timestamp {
    domain::Timestamp::from_millis(t.as_millisecond())
}

fn from_ms(t: domain::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(t.as_millis()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The stored row of `i` (`by`: who acted, when a user did).
pub fn record(
    i: &Incident,
    acknowledged_by: Option<i64>,
    resolved_by: Option<i64>,
) -> IncidentRecord {
    IncidentRecord {
        id: i64::try_from(i.id.0).unwrap_or(i64::MAX),
        category: i.category.as_str().into(),
        source: i.source.clone(),
        state: i.state.as_str().into(),
        opened_at: to_ms(i.opened_at),
        acknowledged_at: i.acknowledged_at.map(to_ms),
        acknowledged_by,
        resolved_at: i.resolved_at.map(to_ms),
        resolved_by,
        sla_minutes: i.sla.as_mins(),
        escalations: i64::from(i.escalations),
        flaps: i64::from(i.flaps),
    }
}

/// A stored row back into the desk's incident (`None` for an unknown
/// category or state, logged by the caller).
fn incident(r: &IncidentRecord) -> Option<Incident> {
    Some(Incident {
        id: IncidentId(u64::try_from(r.id).ok()?),
        category: Category::parse(&r.category)?,
        source: r.source.clone(),
        state: IncidentState::parse(&r.state)?,
        opened_at: from_ms(r.opened_at),
        acknowledged_at: r.acknowledged_at.map(from_ms),
        resolved_at: r.resolved_at.map(from_ms),
        sla: jiff::SignedDuration::from_mins(r.sla_minutes),
        escalations: u32::try_from(r.escalations).unwrap_or(u32::MAX),
        flaps: u32::try_from(r.flaps).unwrap_or(u32::MAX),
        clear_since: None,
    })
}

/// Start the desk task: resume the unresolved incidents stored by a
/// previous run, then serve detections, staff actions and clock ticks.
pub async fn spawn(store: Arc<dyn Store>, settings: &crate::settings::Settings) -> Incidents {
    let (tx, rx) = mpsc::channel(COMMANDS);
    let mut desk = IncidentDesk::new(
        default_register(StandbyKind::Virtual),
        DetectionRules {
            disk_full_percent: settings.incidents.disk_full_percent.clamp(1, 100),
            ..DetectionRules::default()
        },
    );
    let last = store.max_incident_id().await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot read the last incident id");
        0
    });
    let unresolved = match store.list_incidents(true, store::MAX_INCIDENTS).await {
        Ok(rows) => rows
            .iter()
            .filter_map(|r| {
                let i = incident(r);
                if i.is_none() {
                    tracing::warn!(id = r.id, category = %r.category, state = %r.state, "stored incident not understood; left out");
                }
                i
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read stored incidents");
            Vec::new()
        }
    };
    desk.handle_resume(unresolved, u64::try_from(last).unwrap_or(0));
    let task = Task {
        saved: desk.incidents().iter().map(|i| (i.id, i.clone())).collect(),
        desk,
        store,
        tick: std::time::Duration::from_secs(settings.incidents.tick_seconds.max(1)),
        webhook: (!settings.incidents.webhook_url.trim().is_empty())
            .then(|| settings.incidents.webhook_url.trim().to_string()),
        http: reqwest::Client::new(),
        data_dir: settings.data_dir.clone(),
    };
    tokio::spawn(task.run(rx));
    Incidents { tx }
}

struct Task {
    desk: IncidentDesk,
    saved: HashMap<IncidentId, Incident>,
    store: Arc<dyn Store>,
    tick: std::time::Duration,
    webhook: Option<String>,
    http: reqwest::Client,
    data_dir: std::path::PathBuf,
}

/// Used share of the file system holding `dir`, % (as `df` counts it:
/// used / (used + available to unprivileged users)).
///
/// # Errors
/// The `statvfs(3)` error.
pub fn disk_usage_percent(dir: &std::path::Path) -> std::io::Result<u8> {
    let v = rustix::fs::statvfs(dir)?;
    let used = v.f_blocks.saturating_sub(v.f_bfree);
    let total = used.saturating_add(v.f_bavail);
    if total == 0 {
        return Ok(0);
    }
    Ok(u8::try_from((used.saturating_mul(100)).div_ceil(total)).unwrap_or(100))
}

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut every = tokio::time::interval(self.tick);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    None => return,
                    Some(Command::Detect(d)) => {
                        self.desk.handle_detection(jiff::Timestamp::now(), d);
                        self.settle(None, None).await;
                    }
                    Some(Command::Staff { id, by, action, reply }) => {
                        let now = jiff::Timestamp::now();
                        let done = match action {
                            StaffAction::Acknowledge => self.desk.handle_acknowledge(now, IncidentId(id)),
                            StaffAction::Resolve => self.desk.handle_resolve(now, IncidentId(id)),
                        };
                        let out = match done {
                            Ok(()) => {
                                let (a, r) = match action {
                                    StaffAction::Acknowledge => (Some((IncidentId(id), by)), None),
                                    StaffAction::Resolve => (None, Some((IncidentId(id), by))),
                                };
                                self.settle(a, r).await;
                                let built = self
                                    .desk
                                    .incidents()
                                    .iter()
                                    .find(|i| i.id.0 == id)
                                    .map(|i| record(
                                        i,
                                        a.map(|(_, b)| b),
                                        r.map(|(_, b)| b),
                                    ))
                                    .ok_or(IncidentError::NotFound(id));
                                // The stored row has who acknowledged too
                                // (a resolve does not repeat it).
                                match (built, self.stored(id).await) {
                                    (Ok(_), Some(row)) => Ok(row),
                                    (built, _) => built,
                                }
                            }
                            Err(e) => Err(e),
                        };
                        let _ = reply.send(out);
                    }
                },
                _ = every.tick() => {
                    let ok = self.store.ping().await.is_ok();
                    let now = jiff::Timestamp::now();
                    self.desk.handle_detection(now, Detection::Health { check: "database".into(), ok });
                    match disk_usage_percent(&self.data_dir) {
                        Ok(p) => self.desk.handle_detection(now, Detection::DiskUsage(p)),
                        Err(e) => tracing::warn!(error = %e, dir = %self.data_dir.display(), "cannot read disk usage"),
                    }
                    self.desk.handle_tick(now);
                    self.settle(None, None).await;
                }
            }
        }
    }

    /// Incident `id` as stored, if it is.
    async fn stored(&self, id: u64) -> Option<IncidentRecord> {
        let id = i64::try_from(id).ok()?;
        match self.store.list_incidents(false, store::MAX_INCIDENTS).await {
            Ok(rows) => rows.into_iter().find(|r| r.id == id),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the stored incident back");
                None
            }
        }
    }

    /// Store what changed and carry out the notifications.
    async fn settle(
        &mut self,
        acked: Option<(IncidentId, i64)>,
        resolved: Option<(IncidentId, i64)>,
    ) {
        let changed: Vec<Incident> = self
            .desk
            .incidents()
            .iter()
            .filter(|i| self.saved.get(&i.id).is_none_or(|s| !same(s, i)))
            .cloned()
            .collect();
        for i in changed {
            let by = |w: Option<(IncidentId, i64)>| w.filter(|(id, _)| *id == i.id).map(|(_, b)| b);
            match self
                .store
                .save_incident(&record(&i, by(acked), by(resolved)))
                .await
            {
                Ok(()) => {
                    self.saved.insert(i.id, i);
                }
                // Kept unsaved: the next settle tries again.
                Err(e) => tracing::error!(incident = i.id.0, error = %e, "incident not stored"),
            }
        }
        while let Some(n) = self.desk.poll_effect() {
            self.notify(n).await;
        }
    }

    async fn notify(&self, n: Notification) {
        tracing::warn!(
            incident = n.incident.0,
            category = n.category.as_str(),
            source = %n.source,
            kind = ?n.kind,
            audience = ?n.audience,
            "SLA incident notification"
        );
        let Some(url) = &self.webhook else { return };
        let body = serde_json::json!({
            "incident": n.incident.0,
            "category": n.category.as_str(),
            "source": n.source,
            "kind": format!("{:?}", n.kind),
            "audience": format!("{:?}", n.audience),
            "at": n.at.to_string(),
        });
        let sent = self
            .http
            .post(url)
            .timeout(std::time::Duration::from_secs(10))
            .json(&body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        if let Err(e) = sent {
            tracing::warn!(incident = n.incident.0, error = %e, "incident webhook failed");
        }
    }
}

/// Whether the stored copy still matches (the desk's private clear timer
/// aside).
fn same(a: &Incident, b: &Incident) -> bool {
    a.state == b.state
        && a.acknowledged_at == b.acknowledged_at
        && a.resolved_at == b.resolved_at
        && a.escalations == b.escalations
        && a.flaps == b.flaps
}
