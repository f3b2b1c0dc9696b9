//! How campaigns are kept in the store and read back: the run rows and
//! lists ([`load_campaigns`]), and the JSON documents of the counters (with
//! the abandon-rate history) and of each contact's progress. Conversions
//! only: the engine's store lane does the writing.

use dialer::ContactId;
use domain::*;

/// A campaign read back from the store ([`load_campaigns`]).
pub(crate) struct StoredRun {
    pub(super) row: store::DialCampaignRow,
    pub(super) contacts: Vec<store::DialContactRow>,
}

/// Stored campaigns and the do-not-call list, read when the engine starts.
#[derive(Default)]
pub(crate) struct StoredCampaigns {
    pub(super) runs: Vec<StoredRun>,
    pub(super) dnc: Vec<(PhoneNumber, Option<i64>)>,
    /// The highest stored campaign id, resumed or not.
    pub(super) max_id: i64,
}

/// Read the stored campaigns, their lists and the do-not-call list (the
/// shell's part, before the engine's first input). A campaign that cannot
/// be read is logged and left out.
pub(crate) async fn load_campaigns(store: &dyn store::Store) -> StoredCampaigns {
    let mut out = StoredCampaigns::default();
    match store.list_dial_dnc().await {
        Ok(d) => out.dnc = d,
        Err(e) => tracing::error!(error = %e, "cannot read the do-not-call list"),
    }
    let rows = match store.list_dial_campaigns().await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the dialer campaigns");
            return out;
        }
    };
    for row in rows {
        out.max_id = out.max_id.max(row.id);
        match store.list_dial_contacts(row.id).await {
            Ok(contacts) => out.runs.push(StoredRun { row, contacts }),
            Err(e) => {
                tracing::error!(error = %e, campaign = row.id, "cannot read the campaign's list")
            }
        }
    }
    out
}

/// The counters as stored (JSON in `dial_campaigns.counters`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(super) struct StoredCounters {
    dialed: u64,
    live: u64,
    machine: u64,
    busy: u64,
    no_answer: u64,
    failed: u64,
    abandoned: u64,
    connected: u64,
}

/// The counters document: the counters and the abandon-rate history
/// (both move together).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct StoredCountersDoc {
    #[serde(flatten)]
    pub(super) counters: StoredCounters,
    /// Absent in documents stored before it existed: the rate then starts
    /// from the restart.
    #[serde(default)]
    pub(super) abandon_history: Option<StoredAbandonHistory>,
}

/// [`dialer::AbandonHistory`] as stored; times in ms since the Unix epoch.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct StoredAbandonHistory {
    start: i64,
    /// (minute since the epoch, live, abandoned).
    minutes: Vec<(i64, f64, f64)>,
    period: i64,
    period_live: f64,
    period_abandoned: f64,
    total: (f64, f64),
}

impl From<dialer::AbandonHistory> for StoredAbandonHistory {
    fn from(h: dialer::AbandonHistory) -> Self {
        Self {
            start: h.start.as_millis(),
            minutes: h.minutes,
            period: h.period,
            period_live: h.period_live,
            period_abandoned: h.period_abandoned,
            total: h.total,
        }
    }
}

impl From<StoredAbandonHistory> for dialer::AbandonHistory {
    fn from(h: StoredAbandonHistory) -> Self {
        Self {
            start: Timestamp::from_millis(h.start),
            minutes: h.minutes,
            period: h.period,
            period_live: h.period_live,
            period_abandoned: h.period_abandoned,
            total: h.total,
        }
    }
}

impl From<dialer::Counters> for StoredCounters {
    fn from(c: dialer::Counters) -> Self {
        Self {
            dialed: c.dialed,
            live: c.live,
            machine: c.machine,
            busy: c.busy,
            no_answer: c.no_answer,
            failed: c.failed,
            abandoned: c.abandoned,
            connected: c.connected,
        }
    }
}

impl From<StoredCounters> for dialer::Counters {
    fn from(c: StoredCounters) -> Self {
        Self {
            dialed: c.dialed,
            live: c.live,
            machine: c.machine,
            busy: c.busy,
            no_answer: c.no_answer,
            failed: c.failed,
            abandoned: c.abandoned,
            connected: c.connected,
        }
    }
}

/// A contact's progress as stored (JSON in `dial_contacts.progress`);
/// times in ms since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct StoredProgress {
    /// Due at this time; `None` with `closed` false: in flight.
    due_at: Option<i64>,
    closed: bool,
    retries: [u32; 5],
    recent: Vec<i64>,
    last_abandoned: Option<i64>,
}

pub(super) fn progress_to_row(
    p: &dialer::ContactProgress,
    closed_reason: Option<dialer::CloseReason>,
    last_disposition: Option<String>,
) -> store::DialContactProgress {
    let status = match (&p.state, closed_reason) {
        (dialer::ProgressState::Due(_), _) => "due".to_string(),
        (dialer::ProgressState::InFlight, _) => "in_flight".to_string(),
        (dialer::ProgressState::Closed, Some(r)) => format!("closed:{}", close_reason_name(r)),
        (dialer::ProgressState::Closed, None) => "closed".to_string(),
    };
    let doc = StoredProgress {
        due_at: match p.state {
            dialer::ProgressState::Due(t) => Some(t.as_millis()),
            _ => None,
        },
        closed: p.state == dialer::ProgressState::Closed,
        retries: p.retries,
        recent: p.recent.iter().map(|t| t.as_millis()).collect(),
        last_abandoned: p.last_abandoned.map(|t| t.as_millis()),
    };
    store::DialContactProgress {
        status,
        attempts: i64::from(p.attempts),
        last_disposition,
        progress: serde_json::to_string(&doc).ok(),
    }
}

pub(super) fn progress_from_row(r: &store::DialContactProgress) -> dialer::ContactProgress {
    let doc = r
        .progress
        .as_deref()
        .and_then(|s| serde_json::from_str::<StoredProgress>(s).ok());
    let attempts = u32::try_from(r.attempts).unwrap_or(u32::MAX);
    match doc {
        Some(d) => dialer::ContactProgress {
            state: if d.closed {
                dialer::ProgressState::Closed
            } else if let Some(at) = d.due_at {
                dialer::ProgressState::Due(Timestamp::from_millis(at))
            } else {
                dialer::ProgressState::InFlight
            },
            attempts,
            retries: d.retries,
            recent: d.recent.into_iter().map(Timestamp::from_millis).collect(),
            last_abandoned: d.last_abandoned.map(Timestamp::from_millis),
        },
        // Never called yet (or an unreadable document: the rules start
        // from what the columns say).
        None => dialer::ContactProgress {
            state: if r.status.starts_with("closed") {
                dialer::ProgressState::Closed
            } else {
                dialer::ProgressState::Due(Timestamp::from_millis(0))
            },
            attempts,
            retries: [0; 5],
            recent: Vec::new(),
            last_abandoned: None,
        },
    }
}

fn close_reason_name(r: dialer::CloseReason) -> &'static str {
    match r {
        dialer::CloseReason::Completed => "completed",
        dialer::CloseReason::DoNotCall => "do_not_call",
        dialer::CloseReason::NoConsent => "no_consent",
        dialer::CloseReason::MaxAttempts => "max_attempts",
    }
}

fn consent_name(c: dialer::Consent) -> &'static str {
    match c {
        dialer::Consent::Given => "given",
        dialer::Consent::Unknown => "unknown",
        dialer::Consent::Refused => "refused",
    }
}

pub(super) fn contact_row(c: &dialer::Contact) -> store::DialContactRow {
    store::DialContactRow {
        contact_id: c.id.0,
        number: c.number.clone(),
        name: None,
        tz: c.tz.iana_name().unwrap_or("UTC").to_string(),
        consent: consent_name(c.consent).into(),
        customer_id: c.customer,
        progress: store::DialContactProgress {
            status: "due".into(),
            ..Default::default()
        },
    }
}

pub(super) fn contact_from_row(r: &store::DialContactRow) -> dialer::Contact {
    dialer::Contact {
        id: ContactId(r.contact_id),
        number: r.number.clone(),
        tz: jiff::tz::TimeZone::get(&r.tz).unwrap_or(jiff::tz::TimeZone::UTC),
        consent: match r.consent.as_str() {
            "given" => dialer::Consent::Given,
            "refused" => dialer::Consent::Refused,
            _ => dialer::Consent::Unknown,
        },
        customer: r.customer_id,
    }
}
