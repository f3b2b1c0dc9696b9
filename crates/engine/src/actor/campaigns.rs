//! Outbound voice campaigns (issue 15): the engine drives one
//! [`dialer::Dialer`] per running campaign and carries out its actions.
//!
//! - `PlaceCall`: an outbound voice interaction is opened (queue = the
//!   campaign's) and the number is dialled on the campaign's trunk; the
//!   leg's progress (answered, busy, no answer, failed) goes back to the
//!   dialer as its [`dialer::Outcome`].
//! - `ConnectAgent`: the answered person becomes an ordinary call waiting in
//!   the campaign's queue, as a task only the chosen agent can take (the
//!   per-agent skill of transfers), so the ACD reserves the agent, pushes
//!   the screen-pop and rings their phone like for an inbound call
//!   (blended: the same agents take both). When the agent's leg is bridged
//!   the dialer hears `AgentConnected`; the agent's disposition ends the
//!   attempt.
//! - `PlayAbandonMessage` / `LeaveMessage`: a prompt, then hang-up.
//! - `SendFollowUp`: an SMS to the contact through the outbox.
//! - Agents' ACD states are reported to every campaign whose queue they
//!   serve: available, busy (other work, pause), wrap-up, logged out.
//!
//! Campaigns are kept in the store (migration 0011): the engine assigns
//! their ids and contact ids and writes each change (the campaign row, its
//! run state, its counters, each contact's progress) through its in-order
//! store lane; [`load_campaigns`] reads them back when the engine starts
//! (in the shell, before the first input) and [`Actor::restore_campaigns`]
//! resumes each where it was: running ones dial again, paused and stopped
//! ones wait. A call on the wire when the previous process ended counts as
//! an attempt (the retry rules see it); its number's claim in
//! `dial_in_flight` keeps blocking a second call until it is released.

use super::{Actor, Call, LegRole, Phase, Then, VoiceOp};
use crate::EngineError;
use crate::push::{Audience, Push};
use dialer::{Action, AttemptId, ContactId, Dialer, Outcome};
use domain::*;
use routing::Task;
use std::collections::{HashMap, VecDeque};
use voice::{HangupCause, LegId};

mod stored;
pub(crate) use stored::{StoredCampaigns, StoredRun, load_campaigns};
use stored::{
    StoredCounters, StoredCountersDoc, contact_from_row, contact_row, progress_from_row,
    progress_to_row,
};

/// What an agent does with the contact previewed to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreviewChoice {
    /// Dial it now.
    Call,
    /// Not now: it is offered again in an hour
    /// ([`dialer::PREVIEW_SKIP_DELAY_MS`]); the next contact is previewed.
    Skip,
}

/// A running campaign's id (engine-assigned, from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct DialCampaignId(pub u32);

impl std::fmt::Display for DialCampaignId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Dialling mode of [`DialSettings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialModeSetting {
    /// The agent sees the contact first ([`dialer::DialMode::Preview`]).
    Preview,
    /// One call per available agent.
    Progressive,
    /// More calls than free agents, paced under the abandon cap.
    Predictive,
}

/// Calling window of [`DialSettings`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowSetting {
    /// Décret 2022-1313: weekdays 10:00–13:00 and 14:00–20:00 in the
    /// contact's time zone, no public holidays.
    #[default]
    France,
    /// Any time.
    Always,
}

/// A campaign's settings as stored (JSON in `dial_campaigns.settings`);
/// [`DialSettings::config`] turns them into the dialer's configuration.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DialSettings {
    /// Dialling mode.
    pub mode: DialModeSetting,
    /// Calling window.
    #[serde(default)]
    pub window: WindowSetting,
    /// Ring time before no answer, s (≥ 15, Ofcom 2016 statement A1.20).
    pub ring_timeout_s: u32,
    /// Auto-dial delay of preview mode, s.
    #[serde(default)]
    pub preview_auto_dial_s: Option<u32>,
    /// The SMS sent after a busy, no-answer or answering-machine attempt: a
    /// [`domain::template`] text with `{{reason}}` (what happened, in the
    /// default language) and `{{number}}` (the number called). `None`: no
    /// follow-up. Check it with [`DialSettings::text_error`].
    #[serde(default)]
    pub follow_up_sms: Option<String>,
    /// What the agent says, shown on the outbound card of the screen-pop:
    /// a [`domain::template`] text with `{{name}}` (the customer's name,
    /// empty when unknown), `{{number}}` and `{{campaign}}`.
    #[serde(default)]
    pub script: Option<String>,
}

/// The placeholders a follow-up SMS may use.
pub const FOLLOW_UP_VARS: [&str; 2] = ["reason", "number"];

/// The placeholders a campaign script may use.
pub const SCRIPT_VARS: [&str; 3] = ["name", "number", "campaign"];

/// The follow-up SMS of a campaign that gives none, in French.
pub const DEFAULT_FOLLOW_UP_SMS: &str =
    "Nous avons essayé de vous joindre ({{reason}}). Rappelez-nous ou répondez à ce message.";

impl DialSettings {
    /// What is wrong with the settings' texts, if anything: `follow_up_sms`
    /// or `script` empty, with a malformed placeholder, or with one they
    /// do not offer ([`FOLLOW_UP_VARS`], [`SCRIPT_VARS`]).
    pub fn text_error(&self) -> Option<String> {
        let check = |field: &str, text: Option<&str>, vars: &[&str]| {
            let text = text?;
            if text.trim().is_empty() {
                return Some(format!("{field}: empty (leave it out for none)"));
            }
            match domain::template::Template::parse(text) {
                Err(e) => Some(format!("{field}: {e}")),
                Ok(t) => t.vars().find(|v| !vars.contains(v)).map(|v| {
                    format!(
                        "{field}: unknown placeholder {{{{{v}}}}} (use {})",
                        vars.join(", ")
                    )
                }),
            }
        };
        check(
            "follow_up_sms",
            self.follow_up_sms.as_deref(),
            &FOLLOW_UP_VARS,
        )
        .or_else(|| check("script", self.script.as_deref(), &SCRIPT_VARS))
    }

    /// The dialer's configuration. AMD is off: the voice shell does not
    /// hand the answered leg's audio over yet, so every answer is live.
    pub fn config(&self) -> dialer::CampaignConfig {
        dialer::CampaignConfig {
            mode: match self.mode {
                DialModeSetting::Preview => dialer::DialMode::Preview {
                    auto_dial_s: self.preview_auto_dial_s,
                },
                DialModeSetting::Progressive => dialer::DialMode::Progressive,
                DialModeSetting::Predictive => dialer::DialMode::Predictive,
            },
            ring_timeout_ms: self.ring_timeout_s.saturating_mul(1000),
            window: match self.window {
                WindowSetting::France => dialer::CallingWindow::france_2022_1313(),
                WindowSetting::Always => dialer::CallingWindow::always(),
            },
            amd: dialer::AmdAction::Off,
            follow_up: self.follow_up_sms.is_some(),
            ..dialer::CampaignConfig::default()
        }
    }
}

/// A campaign to start: its settings, queue, trunk and contact list.
#[derive(Clone, Debug)]
pub struct DialCampaign {
    /// Shown to supervisors.
    pub name: String,
    /// The queue whose agents take its calls (blended with inbound).
    pub queue: QueueId,
    /// The trunk calls go out on (`[sip.trunks]` with an outbound address).
    pub trunk: String,
    /// From user of the calls (else the trunk's caller-ID).
    pub caller_id: Option<String>,
    /// Dialling mode, ring time, window.
    pub settings: DialSettings,
    /// The list (contact ids are assigned by the engine: the ones given
    /// are ignored).
    pub contacts: Vec<dialer::Contact>,
}

/// A campaign's figures ([`crate::EngineHandle::campaign_stats`]).
#[derive(Clone, Debug, serde::Serialize)]
pub struct CampaignStats {
    /// Its id.
    pub id: DialCampaignId,
    /// Its name.
    pub name: String,
    /// Running, paused or stopped.
    pub state: store::DialRunState,
    /// Contacts on its list.
    pub contacts: usize,
    /// Calls placed, answered (live / machine), busy, no answer, failed,
    /// abandoned, connected.
    pub dialed: u64,
    /// Live answers.
    pub live: u64,
    /// Machine answers.
    pub machine: u64,
    /// Busy.
    pub busy: u64,
    /// No answer.
    pub no_answer: u64,
    /// Failed.
    pub failed: u64,
    /// Abandoned (no agent in time, or the person hung up first).
    pub abandoned: u64,
    /// Connected to an agent.
    pub connected: u64,
    /// Abandon rate over the last 24 h, % of live answers (what the cap
    /// is checked against; kept across restarts).
    pub abandon_24h_pct: f64,
    /// Abandon rate over the current 30-day period, %.
    pub abandon_period_pct: f64,
    /// Agents logged in for the campaign (serving its queue).
    pub agents: u32,
    /// … of whom free for its next call.
    pub agents_free: u32,
    /// Calls ringing or answered and waiting for an agent.
    pub calls_in_flight: u32,
    /// Dial level: calls allowed in flight per logged-in agent at the last
    /// pacing step (VICIdial's dial level for `ADAPT_TAPERED`).
    pub dial_level: f64,
}

/// One call attempt on the wire.
pub(crate) struct Attempt {
    pub contact: ContactId,
    /// Claimed in the database while the attempt lives.
    pub number: PhoneNumber,
    pub interaction: InteractionId,
    pub leg: Option<LegId>,
    pub answered: bool,
    /// Handed to the ACD for this agent (`ConnectAgent`).
    pub agent: Option<AgentId>,
    /// The contact's customer record and history, for the screen-pop.
    pub customer: Option<Customer>,
    pub history: Vec<Interaction>,
}

/// A number's claim, back from the store ([`Actor::on_dial_claim`]).
pub(crate) struct DialClaim {
    pub campaign: DialCampaignId,
    pub attempt: AttemptId,
    pub contact: ContactId,
    pub number: PhoneNumber,
    pub ring_timeout_ms: u32,
    pub claimed: Result<bool, store::StoreError>,
    /// The customer owning the number, with their history, if known.
    pub known: Option<super::calls::CallerLookup>,
}

/// A campaign's contacts added ([`crate::EngineHandle::add_campaign_contacts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactsAdded {
    /// Contacts added to the list.
    pub added: usize,
    /// Numbers skipped: already on the list.
    pub already_listed: Vec<PhoneNumber>,
}

/// A campaign of the engine.
pub(crate) struct Run {
    pub spec: DialCampaign,
    pub dialer: Dialer,
    /// Running, paused or stopped (as last stored).
    pub state: store::DialRunState,
    /// Next contact id to assign.
    pub next_contact: i64,
    /// The contact of each attempt (for its disposition's row).
    pub attempt_contact: HashMap<AttemptId, ContactId>,
    /// The counters as last stored.
    pub saved_counters: dialer::Counters,
    pub contacts: HashMap<ContactId, dialer::Contact>,
    pub attempts: HashMap<AttemptId, Attempt>,
    /// The attempt of each interaction of this campaign.
    pub by_interaction: HashMap<InteractionId, AttemptId>,
    /// The contact each agent is previewing (preview mode).
    pub previews: HashMap<AgentId, ContactId>,
}

impl Actor {
    /// Start a campaign now; it is stored (campaign row, then its list)
    /// through the store lane.
    ///
    /// # Errors
    /// Unknown queue; no trunk; settings the dialer refuses.
    pub(crate) fn start_campaign(
        &mut self,
        mut c: DialCampaign,
    ) -> Result<DialCampaignId, EngineError> {
        if !self.queues.contains_key(&c.queue) {
            return Err(EngineError::Invalid(format!("unknown queue {}", c.queue)));
        }
        if c.trunk.trim().is_empty() {
            return Err(EngineError::Invalid("a campaign needs a trunk".into()));
        }
        let t = self.now;
        let mut d = Dialer::new(t, c.settings.config())
            .map_err(|e| EngineError::Invalid(format!("campaign settings: {e}")))?;
        let id = DialCampaignId(self.last_campaign_id.saturating_add(1));
        self.last_campaign_id = id.0;
        for (n, k) in c.contacts.iter_mut().enumerate() {
            k.id = ContactId(n as i64 + 1);
        }
        let skipped = d.handle_contacts_added(t, c.contacts.clone());
        c.contacts.retain(|k| !skipped.contains(&k.id));
        for n in &self.dnc_global {
            d.handle_dnc_added(t, n.clone(), dialer::DncScope::Global);
        }
        let row = store::DialCampaignRow {
            id: i64::from(id.0),
            name: c.name.clone(),
            queue_id: c.queue,
            trunk: c.trunk.clone(),
            caller_id: c.caller_id.clone(),
            settings: serde_json::to_string(&c.settings).unwrap_or_default(),
            state: store::DialRunState::Running,
            counters: "{}".into(),
            created_at: t,
        };
        let rows: Vec<store::DialContactRow> = c.contacts.iter().map(contact_row).collect();
        self.store_job(move |store| async move {
            if let Err(e) = store.insert_dial_campaign(&row).await {
                tracing::error!(error = %e, campaign = row.id, "cannot store the campaign");
                return;
            }
            if let Err(e) = store.insert_dial_contacts(row.id, &rows).await {
                tracing::error!(error = %e, campaign = row.id, "cannot store the campaign's list");
            }
        });
        tracing::info!(campaign = %id, name = %c.name, contacts = c.contacts.len(), "campaign started");
        let next_contact = c.contacts.len() as i64 + 1;
        self.insert_run(id, c, d, store::DialRunState::Running, next_contact);
        Ok(id)
    }

    /// Register a campaign's run, report the agents serving its queue to its
    /// dialer and start it when `state` is running.
    fn insert_run(
        &mut self,
        id: DialCampaignId,
        c: DialCampaign,
        mut d: Dialer,
        state: store::DialRunState,
        next_contact: i64,
    ) {
        let t = self.now;
        let serving: Vec<AgentId> = self
            .agents
            .values()
            .filter(|a| self.serves(a.agent.id, c.queue))
            .map(|a| a.agent.id)
            .collect();
        for a in serving {
            if self.last_state.get(&a).map(|(s, _)| *s) == Some(event::AgentState::Available) {
                d.handle_agent_available(t, a);
            } else {
                d.handle_agent_busy(t, a);
            }
        }
        if state == store::DialRunState::Running {
            d.handle_start(t);
        }
        let saved_counters = d.counters();
        self.campaigns.insert(
            id,
            Run {
                contacts: c.contacts.iter().map(|k| (k.id, k.clone())).collect(),
                spec: c,
                dialer: d,
                state,
                next_contact,
                attempt_contact: HashMap::new(),
                saved_counters,
                attempts: HashMap::new(),
                by_interaction: HashMap::new(),
                previews: HashMap::new(),
            },
        );
        self.run_dialer(id);
    }

    /// Resume the campaigns read from the store ([`load_campaigns`]) where
    /// they were: running ones dial, paused and stopped ones wait; every
    /// dialer gets the do-not-call lists.
    pub(crate) fn restore_campaigns(&mut self, stored: StoredCampaigns) {
        let t = self.now;
        for (n, scope) in &stored.dnc {
            if scope.is_none() {
                self.dnc_global.insert(n.clone());
            }
        }
        self.last_campaign_id = self
            .last_campaign_id
            .max(u32::try_from(stored.max_id).unwrap_or(u32::MAX));
        for StoredRun { row, contacts } in stored.runs {
            let Ok(cid) = u32::try_from(row.id) else {
                tracing::error!(campaign = row.id, "campaign id out of range: not resumed");
                continue;
            };
            let id = DialCampaignId(cid);
            let settings: DialSettings = match serde_json::from_str(&row.settings) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, campaign = %id, "unreadable campaign settings: not resumed");
                    continue;
                }
            };
            let mut d = match Dialer::new(t, settings.config()) {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, campaign = %id, "stored settings refused: not resumed");
                    continue;
                }
            };
            let list: Vec<(dialer::Contact, dialer::ContactProgress)> = contacts
                .iter()
                .map(|r| (contact_from_row(r), progress_from_row(&r.progress)))
                .collect();
            let next_contact = contacts.iter().map(|r| r.contact_id).max().unwrap_or(0) + 1;
            let plain: Vec<dialer::Contact> = list.iter().map(|(c, _)| c.clone()).collect();
            d.handle_contacts_restored(t, list);
            let doc: StoredCountersDoc = serde_json::from_str(&row.counters).unwrap_or_default();
            d.handle_counters_restored(doc.counters.into());
            if let Some(h) = doc.abandon_history {
                d.handle_abandon_history_restored(t, h.into());
            }
            for (n, scope) in &stored.dnc {
                match scope {
                    None => d.handle_dnc_added(t, n.clone(), dialer::DncScope::Global),
                    Some(c) if *c == row.id => {
                        d.handle_dnc_added(t, n.clone(), dialer::DncScope::Campaign)
                    }
                    Some(_) => {}
                }
            }
            tracing::info!(campaign = %id, state = row.state.as_str(), contacts = plain.len(), "campaign resumed from the store");
            let spec = DialCampaign {
                name: row.name,
                queue: row.queue_id,
                trunk: row.trunk,
                caller_id: row.caller_id,
                settings,
                contacts: plain,
            };
            self.insert_run(id, spec, d, row.state, next_contact);
        }
    }

    fn run_mut(&mut self, id: DialCampaignId) -> Result<&mut Run, EngineError> {
        self.campaigns
            .get_mut(&id)
            .ok_or_else(|| EngineError::Invalid(format!("unknown campaign {id}")))
    }

    /// Record a campaign's run state.
    fn store_state(&mut self, id: DialCampaignId, state: store::DialRunState) {
        let t = self.now;
        self.store_job(move |store| async move {
            if let Err(e) = store
                .set_dial_campaign_state(i64::from(id.0), state, t)
                .await
            {
                tracing::error!(error = %e, campaign = %id, "cannot store the campaign's state");
            }
        });
    }

    /// Pause a campaign: no new calls (calls on the wire go on).
    ///
    /// # Errors
    /// Unknown campaign; a stopped campaign.
    pub(crate) fn pause_campaign(&mut self, id: DialCampaignId) -> Result<(), EngineError> {
        self.set_run_state(id, store::DialRunState::Paused)
    }

    /// Stop a campaign for good: no new calls, calls on the wire go on to
    /// their end; it cannot be resumed.
    ///
    /// # Errors
    /// Unknown campaign.
    pub(crate) fn stop_campaign(&mut self, id: DialCampaignId) -> Result<(), EngineError> {
        self.set_run_state(id, store::DialRunState::Stopped)
    }

    /// Resume a paused campaign.
    ///
    /// # Errors
    /// Unknown campaign; a campaign that is not paused.
    pub(crate) fn resume_campaign(&mut self, id: DialCampaignId) -> Result<(), EngineError> {
        self.set_run_state(id, store::DialRunState::Running)
    }

    /// The one place a campaign's run state changes: paused from running or
    /// paused, stopped from anything (final), running from paused only. The
    /// dialer core is told, the state stored, the pacing re-run.
    fn set_run_state(
        &mut self,
        id: DialCampaignId,
        to: store::DialRunState,
    ) -> Result<(), EngineError> {
        use store::DialRunState::{Paused, Running, Stopped};
        let t = self.now;
        let run = self.run_mut(id)?;
        match (run.state, to) {
            (Stopped, Paused) => {
                return Err(EngineError::Invalid(format!("campaign {id} is stopped")));
            }
            (from, Running) if from != Paused => {
                return Err(EngineError::Invalid(format!(
                    "campaign {id} is {}: only a paused campaign can be resumed",
                    from.as_str()
                )));
            }
            (_, Running) => run.dialer.handle_start(t),
            (_, Paused | Stopped) => run.dialer.handle_pause(t),
        }
        run.state = to;
        self.store_state(id, to);
        self.run_dialer(id);
        Ok(())
    }

    /// Add contacts to a campaign's list (ids assigned here; numbers
    /// already listed are skipped); the added ones are stored.
    ///
    /// # Errors
    /// Unknown campaign; a stopped campaign.
    pub(crate) fn add_campaign_contacts(
        &mut self,
        id: DialCampaignId,
        mut contacts: Vec<dialer::Contact>,
    ) -> Result<ContactsAdded, EngineError> {
        let t = self.now;
        let run = self.run_mut(id)?;
        if run.state == store::DialRunState::Stopped {
            return Err(EngineError::Invalid(format!("campaign {id} is stopped")));
        }
        for k in contacts.iter_mut() {
            k.id = ContactId(run.next_contact);
            run.next_contact += 1;
        }
        let skipped = run.dialer.handle_contacts_added(t, contacts.clone());
        let (dup, added): (Vec<_>, Vec<_>) =
            contacts.into_iter().partition(|k| skipped.contains(&k.id));
        for k in &added {
            run.contacts.insert(k.id, k.clone());
        }
        let rows: Vec<store::DialContactRow> = added.iter().map(contact_row).collect();
        let n = added.len();
        self.store_job(move |store| async move {
            if let Err(e) = store.insert_dial_contacts(i64::from(id.0), &rows).await {
                tracing::error!(error = %e, campaign = %id, "cannot store the added contacts");
            }
        });
        self.run_dialer(id);
        Ok(ContactsAdded {
            added: n,
            already_listed: dup.into_iter().map(|k| k.number).collect(),
        })
    }

    /// A number went on the global do-not-call list (already stored by the
    /// caller): no campaign dials it again.
    pub(crate) fn dnc_added(&mut self, number: PhoneNumber) {
        let t = self.now;
        self.dnc_global.insert(number.clone());
        let ids: Vec<DialCampaignId> = self.campaigns.keys().copied().collect();
        for id in ids {
            if let Some(r) = self.campaigns.get_mut(&id) {
                r.dialer
                    .handle_dnc_added(t, number.clone(), dialer::DncScope::Global);
            }
            self.run_dialer(id);
        }
    }

    /// Every campaign's figures.
    pub(crate) fn campaign_stats(&mut self) -> Vec<CampaignStats> {
        let now = self.now;
        let mut out: Vec<CampaignStats> = self
            .campaigns
            .iter_mut()
            .map(|(id, r)| {
                let c = r.dialer.counters();
                let (abandon_24h_pct, abandon_period_pct) = r.dialer.abandon_rate_pct(now);
                let (agents, agents_free) = r.dialer.agent_counts();
                CampaignStats {
                    id: *id,
                    name: r.spec.name.clone(),
                    state: r.state,
                    contacts: r.contacts.len(),
                    dialed: c.dialed,
                    live: c.live,
                    machine: c.machine,
                    busy: c.busy,
                    no_answer: c.no_answer,
                    failed: c.failed,
                    abandoned: c.abandoned,
                    connected: c.connected,
                    abandon_24h_pct,
                    abandon_period_pct,
                    agents,
                    agents_free,
                    calls_in_flight: r.dialer.calls_in_flight(),
                    dial_level: r.dialer.dial_level(),
                }
            })
            .collect();
        out.sort_by_key(|s| s.id);
        out
    }

    /// Does `agent` hold the skills `queue` requires?
    fn serves(&self, agent: AgentId, queue: QueueId) -> bool {
        let (Some(a), Some(q)) = (self.agents.get(&agent), self.queues.get(&queue)) else {
            return false;
        };
        q.required_skills.iter().all(|r| {
            a.agent
                .skills
                .iter()
                .any(|s| s.skill == r.skill && s.level >= r.level)
        })
    }

    /// The earliest deadline of the campaigns' dialers.
    pub(crate) fn campaigns_timeout(&self) -> Option<Timestamp> {
        self.campaigns
            .values()
            .filter_map(|r| r.dialer.poll_timeout())
            .min()
    }

    /// Wake the dialers whose deadline has come.
    pub(crate) fn campaigns_on_deadline(&mut self) {
        let t = self.now;
        let due: Vec<DialCampaignId> = self
            .campaigns
            .iter()
            .filter(|(_, r)| r.dialer.poll_timeout().is_some_and(|d| d <= t))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(r) = self.campaigns.get_mut(&id) {
                r.dialer.handle_timeout(t);
            }
            self.run_dialer(id);
        }
    }

    /// Report an agent's ACD state to the campaigns of the queues they serve.
    pub(crate) fn campaigns_agent_state(&mut self, agent: AgentId, state: event::AgentState) {
        if self.campaigns.is_empty() {
            return;
        }
        let t = self.now;
        let ids: Vec<DialCampaignId> = self
            .campaigns
            .iter()
            .filter(|(_, r)| {
                self.serves(agent, r.spec.queue) || state == event::AgentState::LoggedOut
            })
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let wrap_s = self
                .campaigns
                .get(&id)
                .and_then(|r| self.queues.get(&r.spec.queue))
                .map(|q| q.wrap_up_s)
                .unwrap_or(0);
            let Some(r) = self.campaigns.get_mut(&id) else {
                continue;
            };
            // An agent the dialer chose for one of its calls stays its own
            // until that call ends (their ACD reservation is that call).
            let chosen = r.attempts.values().any(|a| a.agent == Some(agent));
            use event::AgentState as S;
            // The dialer takes a preview back from an agent who is no
            // longer available (`release_slot`).
            let releases = match state {
                S::WrapUp | S::LoggedOut => true,
                S::Busy | S::Reserved | S::Paused => !chosen,
                _ => false,
            };
            let released = if releases {
                r.previews.remove(&agent)
            } else {
                None
            };
            match state {
                S::Available => r.dialer.handle_agent_available(t, agent),
                S::WrapUp => {
                    r.dialer
                        .handle_agent_wrap_up(t, agent, t.add_millis(i64::from(wrap_s) * 1000));
                    r.attempts
                        .retain(|_, a| a.agent != Some(agent) || !a.answered);
                }
                S::LoggedOut => r.dialer.handle_agent_logged_out(t, agent),
                S::Busy | S::Reserved | S::Paused if !chosen => {
                    r.dialer.handle_agent_busy(t, agent)
                }
                _ => {}
            }
            if let Some(contact) = released {
                self.preview_ended(id, agent, contact, "released");
            }
            self.run_dialer(id);
        }
    }

    /// Carry out a campaign's queued actions, then store the progress of
    /// the contacts they touched and the counters when they moved.
    pub(crate) fn run_dialer(&mut self, id: DialCampaignId) {
        let mut actions = VecDeque::new();
        if let Some(r) = self.campaigns.get_mut(&id) {
            while let Some(a) = r.dialer.poll_action() {
                actions.push_back(a);
            }
        }
        // contact → (why it closed, its last disposition)
        let mut touched: HashMap<ContactId, (Option<dialer::CloseReason>, Option<String>)> =
            HashMap::new();
        while let Some(a) = actions.pop_front() {
            if let Some(r) = self.campaigns.get_mut(&id) {
                match &a {
                    Action::PlaceCall {
                        attempt, contact, ..
                    } => {
                        r.attempt_contact.insert(*attempt, *contact);
                        touched.entry(*contact).or_default();
                    }
                    Action::Dispositioned {
                        attempt,
                        disposition,
                    } => {
                        if let Some(c) = r.attempt_contact.remove(attempt) {
                            touched.entry(c).or_default().1 =
                                Some(format!("{disposition:?}").to_lowercase());
                        }
                    }
                    Action::RetryScheduled { contact, .. } => {
                        touched.entry(*contact).or_default();
                    }
                    Action::ContactClosed { contact, reason } => {
                        touched.entry(*contact).or_default().0 = Some(*reason);
                    }
                    _ => {}
                }
            }
            self.dialer_action(id, a);
            if let Some(r) = self.campaigns.get_mut(&id) {
                while let Some(a) = r.dialer.poll_action() {
                    actions.push_back(a);
                }
            }
        }
        self.store_progress(id, touched);
    }

    /// Store the progress of `touched` contacts and the counters when they
    /// changed since last stored.
    fn store_progress(
        &mut self,
        id: DialCampaignId,
        touched: HashMap<ContactId, (Option<dialer::CloseReason>, Option<String>)>,
    ) {
        let t = self.now;
        let Some(r) = self.campaigns.get_mut(&id) else {
            return;
        };
        let rows: Vec<(i64, store::DialContactProgress)> = touched
            .into_iter()
            .filter_map(|(c, (reason, disp))| {
                r.dialer
                    .contact_progress(c)
                    .map(|p| (c.0, progress_to_row(&p, reason, disp)))
            })
            .collect();
        let counters = r.dialer.counters();
        let counters = (counters != r.saved_counters).then(|| {
            r.saved_counters = counters;
            let doc = StoredCountersDoc {
                counters: StoredCounters::from(counters),
                abandon_history: Some(r.dialer.abandon_history().into()),
            };
            serde_json::to_string(&doc).unwrap_or_default()
        });
        if rows.is_empty() && counters.is_none() {
            return;
        }
        let campaign = i64::from(id.0);
        self.store_job(move |store| async move {
            for (contact, p) in rows {
                if let Err(e) = store.save_dial_progress(campaign, contact, &p).await {
                    tracing::error!(error = %e, campaign, contact, "cannot store the contact's progress");
                }
            }
            if let Some(c) = counters
                && let Err(e) = store.save_dial_counters(campaign, &c, t).await
            {
                tracing::error!(error = %e, campaign, "cannot store the campaign's counters");
            }
        });
    }

    /// The agent calls or skips their previewed contact.
    pub(crate) fn preview_choice(
        &mut self,
        agent: AgentId,
        choice: PreviewChoice,
    ) -> Result<(), EngineError> {
        let t = self.now;
        let Some((id, contact)) = self
            .campaigns
            .iter()
            .find_map(|(id, r)| r.previews.get(&agent).map(|c| (*id, *c)))
        else {
            return Err(EngineError::Invalid(
                "no contact is previewed to you".into(),
            ));
        };
        let Some(r) = self.campaigns.get_mut(&id) else {
            return Err(EngineError::Invalid(
                "no contact is previewed to you".into(),
            ));
        };
        let done = match choice {
            PreviewChoice::Call => r.dialer.handle_preview_call(t, agent).map(|_| "dialled"),
            PreviewChoice::Skip => r.dialer.handle_preview_skip(t, agent).map(|_| "skipped"),
        };
        r.previews.remove(&agent);
        let reason = done.map_err(|e| EngineError::Invalid(e.to_string()))?;
        self.preview_ended(id, agent, contact, reason);
        self.run_dialer(id);
        Ok(())
    }

    /// Tell the agent their previewed contact is gone (`reason`).
    fn preview_ended(&self, id: DialCampaignId, agent: AgentId, contact: ContactId, reason: &str) {
        self.send(
            Audience::Agent(agent),
            Push::PreviewEnded {
                campaign_id: id,
                contact_id: contact.0,
                reason: reason.into(),
            },
        );
    }

    fn dialer_action(&mut self, id: DialCampaignId, action: Action) {
        let t = self.now;
        match action {
            Action::PlaceCall {
                attempt,
                contact,
                number,
                ring_timeout_ms,
                ..
            } => {
                // A previewed contact dialled by its auto-dial time-out.
                let previewer = self.campaigns.get_mut(&id).and_then(|r| {
                    let a = r
                        .previews
                        .iter()
                        .find(|(_, c)| **c == contact)
                        .map(|(a, _)| *a)?;
                    r.previews.remove(&a);
                    Some(a)
                });
                if let Some(agent) = previewer {
                    self.preview_ended(id, agent, contact, "dialled");
                }
                // One call in flight per number, across campaigns and nodes:
                // the database's claim first, off the loop
                // ([`Self::on_dial_claim`] places the call).
                let store = self.store.clone();
                let campaign = i64::from(id.0);
                self.task(async move {
                    let claimed = store.claim_dial_number(&number, campaign, t).await;
                    // The screen-pop of a known number, read while it rings:
                    // the 2 s after the answer are no time for lookups.
                    let known = match claimed {
                        Ok(true) => super::calls::known_caller(&*store, &number)
                            .await
                            .unwrap_or_else(|e| {
                                tracing::warn!(error = %e, "campaign screen-pop lookup failed");
                                None
                            }),
                        _ => None,
                    };
                    Some(super::Internal::DialClaim(Box::new(DialClaim {
                        campaign: id,
                        attempt,
                        contact,
                        number,
                        ring_timeout_ms,
                        claimed,
                        known,
                    })))
                });
            }
            Action::ConnectAgent { attempt, agent, .. } => {
                self.connect_campaign_call(id, attempt, agent)
            }
            Action::PlayAbandonMessage { attempt } => {
                self.play_and_end(id, attempt, "campaign_abandon", "abandoned")
            }
            Action::LeaveMessage { attempt } => {
                self.play_and_end(id, attempt, "campaign_voicemail", "voicemail")
            }
            Action::HangUp { attempt } => {
                if let Some(leg) = self.attempt(id, attempt).and_then(|a| a.leg) {
                    self.voice(VoiceOp::HangUp(leg));
                }
            }
            Action::Preview {
                agent,
                contact,
                auto_dial_at,
            } => {
                let Some(r) = self.campaigns.get_mut(&id) else {
                    return;
                };
                r.previews.insert(agent, contact);
                let k = r.contacts.get(&contact);
                let push = Push::Preview {
                    campaign_id: id,
                    campaign: r.spec.name.clone(),
                    contact_id: contact.0,
                    number: k.map(|k| k.number.to_string()).unwrap_or_default(),
                    customer_id: k.and_then(|k| k.customer),
                    auto_dial_at,
                };
                self.send(Audience::Agent(agent), push);
            }
            Action::SendFollowUp { contact, reason } => {
                let Some(r) = self.campaigns.get(&id) else {
                    return;
                };
                let (Some(c), Some(text)) = (
                    r.contacts.get(&contact),
                    r.spec.settings.follow_up_sms.as_deref(),
                ) else {
                    return;
                };
                let number = c.number.to_string();
                let why = follow_up_reason(&self.cfg.default_language, reason);
                let body = match domain::template::Template::parse(text) {
                    Ok(t) => t.try_render(|v| {
                        Ok::<_, ()>(match v {
                            "reason" => why.to_string(),
                            "number" => number.clone(),
                            _ => String::new(),
                        })
                    }),
                    Err(_) => Err(()),
                };
                let Ok(body) = body else {
                    tracing::warn!(campaign = %id, "follow-up SMS text is not a template; none sent");
                    return;
                };
                let m = store::NewOutboxMessage {
                    channel: Channel::Sms,
                    recipient: number,
                    body,
                    interaction_id: None,
                    customer_id: c.customer,
                    purpose: "campaign_follow_up".into(),
                };
                self.store_job(move |store| async move {
                    if let Err(e) = store.enqueue_message(&m, t).await {
                        tracing::error!(error = %e, "cannot queue the campaign follow-up");
                    }
                });
            }
            Action::Dispositioned {
                attempt,
                disposition,
            } => {
                tracing::info!(campaign = %id, attempt = attempt.0, ?disposition, "attempt dispositioned");
                self.end_attempt(id, attempt, &format!("{disposition:?}").to_lowercase());
            }
            Action::RetryScheduled { contact, at } => {
                tracing::debug!(campaign = %id, contact = contact.0, %at, "retry scheduled");
            }
            Action::ContactClosed { contact, reason } => {
                tracing::debug!(campaign = %id, contact = contact.0, ?reason, "contact closed");
            }
        }
    }

    fn attempt(&self, id: DialCampaignId, attempt: AttemptId) -> Option<&Attempt> {
        self.campaigns.get(&id)?.attempts.get(&attempt)
    }

    /// Hand an outcome to the dialer (a refused one is logged).
    fn dialer_outcome(&mut self, id: DialCampaignId, attempt: AttemptId, o: Outcome) {
        let t = self.now;
        if let Some(r) = self.campaigns.get_mut(&id)
            && let Err(e) = r.dialer.handle_outcome(t, attempt, o)
        {
            tracing::warn!(error = %e, campaign = %id, "dialer refused an outcome");
        }
        self.run_dialer(id);
    }

    /// The number's claim is back: place the call, or report the attempt
    /// failed when another call holds the number (or the store failed).
    pub(crate) fn on_dial_claim(&mut self, c: DialClaim) {
        let t = self.now;
        let DialClaim {
            campaign: id,
            attempt,
            contact,
            number,
            ring_timeout_ms,
            claimed,
            known,
        } = c;
        let (known_customer, history) = known.map(|k| (k.customer, k.history)).unwrap_or_default();
        match claimed {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(campaign = %id, %number, "a call to this number is already in flight: attempt not placed");
                self.dialer_outcome(id, attempt, Outcome::Failed);
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, campaign = %id, "cannot claim the number: attempt not placed");
                self.dialer_outcome(id, attempt, Outcome::Failed);
                return;
            }
        }
        let Some(run) = self.campaigns.get(&id) else {
            self.release_number(number);
            return;
        };
        // The list's link, else the record that owns the number (E.164).
        let customer = run
            .contacts
            .get(&contact)
            .and_then(|c| c.customer)
            .or(known_customer.as_ref().map(|c| c.id));
        let (queue, trunk, caller_id) = (
            run.spec.queue,
            run.spec.trunk.clone(),
            run.spec.caller_id.clone(),
        );
        let opened = self.open_interaction(
            store::NewInteraction {
                channel: Channel::Voice,
                direction: Direction::Outbound,
                customer_id: customer,
                queue_id: Some(queue),
                agent_id: None,
                started_at: t,
            },
            Vec::new(),
        );
        let interaction = match opened {
            Ok(i) => i.id,
            Err(e) => {
                tracing::error!(error = %e, campaign = %id, "cannot open the attempt's interaction");
                self.release_number(number);
                self.dialer_outcome(id, attempt, Outcome::Failed);
                return;
            }
        };
        if let Some(run) = self.campaigns.get_mut(&id) {
            run.attempts.insert(
                attempt,
                Attempt {
                    contact,
                    number: number.clone(),
                    interaction,
                    leg: None,
                    answered: false,
                    agent: None,
                    customer: known_customer.filter(|c| Some(c.id) == customer),
                    history,
                },
            );
            run.by_interaction.insert(interaction, attempt);
        }
        self.voice_then(
            VoiceOp::OriginateTrunk {
                trunk,
                number: number.to_string(),
                caller_id,
                ring: std::time::Duration::from_millis(u64::from(ring_timeout_ms)),
            },
            Then::CampaignDialled {
                campaign: id,
                attempt,
            },
        );
    }

    /// Free a number's claim (its attempt is over), off the loop.
    fn release_number(&mut self, number: PhoneNumber) {
        self.store_job(move |store| async move {
            if let Err(e) = store.release_dial_number(&number).await {
                tracing::error!(error = %e, %number, "cannot release the number's claim");
            }
        });
    }

    /// Forget an attempt and release its number.
    fn forget_attempt(&mut self, id: DialCampaignId, attempt: AttemptId) -> Option<Attempt> {
        let r = self.campaigns.get_mut(&id)?;
        let a = r.attempts.remove(&attempt)?;
        r.by_interaction.remove(&a.interaction);
        let number = a.number.clone();
        self.release_number(number);
        Some(a)
    }

    /// The trunk call is placed (its leg) or could not be.
    pub(crate) fn on_campaign_dialled(
        &mut self,
        id: DialCampaignId,
        attempt: AttemptId,
        dialled: Result<LegId, voice::VoiceError>,
    ) {
        match dialled {
            Ok(leg) => {
                let Some(a) = self
                    .campaigns
                    .get_mut(&id)
                    .and_then(|r| r.attempts.get_mut(&attempt))
                else {
                    self.voice(VoiceOp::HangUp(leg));
                    return;
                };
                a.leg = Some(leg);
                let interaction = a.interaction;
                self.legs.insert(
                    leg,
                    LegRole::Campaign {
                        campaign: id,
                        attempt,
                    },
                );
                self.leg_owner.insert(leg, (interaction, "caller", None));
            }
            Err(e) => {
                tracing::warn!(error = %e, campaign = %id, "campaign call not placed");
                self.end_attempt(id, attempt, "failed");
                self.dialer_outcome(id, attempt, Outcome::Failed);
            }
        }
    }

    /// The called person answered (AMD is not wired: every answer is live).
    pub(crate) fn on_campaign_answered(&mut self, id: DialCampaignId, attempt: AttemptId) {
        let t = self.now;
        let Some(a) = self
            .campaigns
            .get_mut(&id)
            .and_then(|r| r.attempts.get_mut(&attempt))
        else {
            return;
        };
        a.answered = true;
        let interaction = a.interaction;
        let mut change = store::InteractionChange {
            answered_at: Some(t),
            ..Default::default()
        };
        change.queue_id = self.campaigns.get(&id).map(|r| r.spec.queue);
        self.write(store::Write::Update {
            id: interaction,
            change,
            events: Vec::new(),
        });
        self.dialer_outcome(id, attempt, Outcome::AnsweredLive);
    }

    /// The campaign leg ended before an agent had it.
    pub(crate) fn on_campaign_leg_gone(
        &mut self,
        id: DialCampaignId,
        attempt: AttemptId,
        cause: HangupCause,
    ) {
        let Some(a) = self.attempt(id, attempt) else {
            return;
        };
        let outcome = if a.answered {
            Outcome::Abandoned
        } else {
            match cause {
                HangupCause::Busy => Outcome::Busy,
                HangupCause::NoAnswer | HangupCause::Timeout => Outcome::NoAnswer,
                _ => Outcome::Failed,
            }
        };
        let reason = match outcome {
            Outcome::Busy => "busy",
            Outcome::NoAnswer => "no_answer",
            Outcome::Abandoned => "abandoned",
            _ => "failed",
        };
        self.end_attempt(id, attempt, reason);
        self.dialer_outcome(id, attempt, outcome);
    }

    /// Close the attempt's interaction (if not closed yet) and forget it.
    fn end_attempt(&mut self, id: DialCampaignId, attempt: AttemptId, reason: &str) {
        let t = self.now;
        let Some(interaction) = self.attempt(id, attempt).map(|a| a.interaction) else {
            return;
        };
        if self.calls.contains_key(&interaction) {
            // An agent has it: the call's own end closes it.
            return;
        }
        let Some(a) = self.forget_attempt(id, attempt) else {
            return;
        };
        if let Some(leg) = a.leg {
            self.legs.remove(&leg);
        }
        self.write(store::Write::Update {
            id: interaction,
            change: store::InteractionChange {
                ended_at: Some(t),
                end_reason: Some(reason.into()),
                ..Default::default()
            },
            events: vec![
                NewEvent::new(
                    t,
                    EventKind::Ended {
                        reason: reason.into(),
                    },
                )
                .with_interaction(interaction),
            ],
        });
    }

    /// Play a campaign prompt to the answered person, then hang up.
    fn play_and_end(&mut self, id: DialCampaignId, attempt: AttemptId, prompt: &str, reason: &str) {
        let Some(leg) = self.attempt(id, attempt).and_then(|a| a.leg) else {
            return;
        };
        let wav = self.campaign_prompt(prompt);
        self.legs.remove(&leg);
        self.play_then_hang_up(leg, wav);
        self.end_attempt(id, attempt, reason);
    }

    /// The dialer chose `agent` for an answered person: the call waits in
    /// the campaign's queue as a task only that agent can take.
    fn connect_campaign_call(&mut self, id: DialCampaignId, attempt: AttemptId, agent: AgentId) {
        let t = self.now;
        let Some(run) = self.campaigns.get_mut(&id) else {
            return;
        };
        let queue = run.spec.queue;
        let Some(a) = run.attempts.get_mut(&attempt) else {
            return;
        };
        let Some(leg) = a.leg else {
            return;
        };
        a.agent = Some(agent);
        let interaction = a.interaction;
        let (customer, history) = (a.customer.clone(), a.history.clone());
        let contact = run.contacts.get(&a.contact).cloned();
        let number = contact
            .as_ref()
            .map(|c| c.number.to_string())
            .unwrap_or_default();
        self.legs.insert(leg, LegRole::Caller(interaction));
        let row = Interaction {
            id: interaction,
            channel: Channel::Voice,
            direction: Direction::Outbound,
            customer_id: contact
                .as_ref()
                .and_then(|c| c.customer)
                .or(customer.as_ref().map(|c| c.id)),
            queue_id: Some(queue),
            agent_id: None,
            started_at: t,
            answered_at: Some(t),
            ended_at: None,
            end_reason: None,
            disposition: None,
            notes: None,
            recording: None,
        };
        self.calls.insert(
            interaction,
            Call {
                interaction: row,
                customer,
                caller: number,
                caller_leg: leg,
                lang: self.cfg.default_language.clone(),
                segment: Segment::default(),
                ivr: None,
                ivr_trace: Some(serde_json::json!({ "campaign": id.0 })),
                ivr_steps_written: 0,
                phase: Phase::Queued,
                prompts: VecDeque::new(),
                prompts_for_ivr: false,
                barge_in: false,
                queued_at: Some(t),
                agent: None,
                agent_leg: None,
                recording: None,
                history,
                recording_parts: 0,
                on_hold: false,
                hold_pending: None,
                monitor: None,
            },
        );
        let mut ev = NewEvent::new(
            t,
            EventKind::Queued {
                queue_id: queue,
                priority: 0,
            },
        )
        .with_interaction(interaction);
        ev.customer_id = self
            .calls
            .get(&interaction)
            .and_then(|c| c.interaction.customer_id);
        self.record(vec![ev]);
        let task = Task {
            skills: vec![super::transfer::personal_skill(agent)],
            ..Task::new(interaction, queue, Channel::Voice, Segment::default())
        };
        if let Err(e) = self.acd.handle_task_arrived(t, task) {
            tracing::error!(error = %e, "ACD refused the campaign call");
        }
        self.process_decisions();
    }

    /// The outbound card of a campaign call's screen-pop: the campaign,
    /// which attempt this is, and its script filled in (`None` for other
    /// calls).
    pub(crate) fn campaign_pop(&self, task: InteractionId) -> Option<crate::push::CampaignPop> {
        let (id, attempt) = self.attempt_of(task)?;
        let r = self.campaigns.get(&id)?;
        let a = r.attempts.get(&attempt)?;
        let tries = r
            .dialer
            .contact_progress(a.contact)
            .map_or(1, |p| p.attempts.max(1));
        let name = a
            .customer
            .as_ref()
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let script = r.spec.settings.script.as_deref().and_then(|text| {
            domain::template::Template::parse(text)
                .ok()?
                .try_render(|v| {
                    Ok::<_, ()>(match v {
                        "name" => name.clone(),
                        "number" => a.number.to_string(),
                        "campaign" => r.spec.name.clone(),
                        _ => String::new(),
                    })
                })
                .ok()
        });
        Some(crate::push::CampaignPop {
            id,
            name: r.spec.name.clone(),
            attempt: tries,
            script,
        })
    }

    /// The campaign and attempt of an interaction, if it is a campaign call.
    fn attempt_of(&self, interaction: InteractionId) -> Option<(DialCampaignId, AttemptId)> {
        self.campaigns
            .iter()
            .find_map(|(id, r)| r.by_interaction.get(&interaction).map(|a| (*id, *a)))
    }

    /// A campaign call was bridged to its agent.
    pub(crate) fn campaign_connected(&mut self, interaction: InteractionId, agent: AgentId) {
        if let Some((id, attempt)) = self.attempt_of(interaction) {
            self.dialer_outcome(id, attempt, Outcome::AgentConnected(agent));
        }
    }

    /// The agent's disposition of a campaign call ends its attempt.
    pub(crate) fn campaign_disposition(&mut self, interaction: InteractionId, code: DispositionId) {
        if let Some((id, attempt)) = self.attempt_of(interaction) {
            self.forget_attempt(id, attempt);
            if let Some(r) = self.campaigns.get_mut(&id)
                && let Some(c) = r.attempt_contact.remove(&attempt)
                && let Some(p) = r.dialer.contact_progress(c)
            {
                // The agent's code; the Completed close that follows
                // rewrites the status only.
                let row = progress_to_row(&p, None, Some(format!("agent:{}", code.0)));
                let campaign = i64::from(id.0);
                self.store_job(move |store| async move {
                    if let Err(e) = store.save_dial_progress(campaign, c.0, &row).await {
                        tracing::error!(error = %e, campaign, "cannot store the agent's disposition");
                    }
                });
            }
            self.dialer_outcome(
                id,
                attempt,
                Outcome::Disposition {
                    code,
                    callback_at: None,
                },
            );
        }
    }

    /// The one agent a campaign call was offered to let it ring out (RONA).
    /// Nobody else may take it (it was routed to that agent alone) and the
    /// 2 s agent wait is long past, so the person hears the abandon
    /// message and the call counts as abandoned (FTC TSR 16 CFR
    /// 310.4(b)(4)(iii); Ofcom 2016 statement A1.3). Returns false when
    /// `task` is not a campaign call.
    pub(crate) fn campaign_rona(&mut self, task: InteractionId) -> bool {
        if self.attempt_of(task).is_none() {
            return false;
        }
        let Some(leg) = self.calls.get(&task).map(|c| c.caller_leg) else {
            return false;
        };
        self.abandon_queued(task);
        let wav = self.campaign_prompt("campaign_abandon");
        self.play_then_hang_up(leg, wav);
        true
    }

    /// A campaign prompt in the default language, else `sorry_technical`.
    fn campaign_prompt(&self, prompt: &str) -> std::path::PathBuf {
        let lang = &self.cfg.default_language;
        if self.prompt_files.has(lang, prompt) {
            self.prompt_path(lang, prompt)
        } else {
            self.prompt_path(lang, "sorry_technical")
        }
    }

    /// A campaign call waiting for its agent was abandoned by the person.
    pub(crate) fn campaign_abandoned(&mut self, interaction: InteractionId) {
        if let Some((id, attempt)) = self.attempt_of(interaction) {
            self.forget_attempt(id, attempt);
            self.dialer_outcome(id, attempt, Outcome::Abandoned);
        }
    }
}

/// What happened, for the `{{reason}}` of a follow-up SMS: French unless
/// `lang` is English.
fn follow_up_reason(lang: &str, r: dialer::FollowUpReason) -> &'static str {
    use dialer::FollowUpReason as R;
    let en = lang.starts_with("en");
    match (r, en) {
        (R::Busy, false) => "ligne occupée",
        (R::NoAnswer, false) => "pas de réponse",
        (R::Machine, false) => "messagerie vocale",
        (R::Busy, true) => "line busy",
        (R::NoAnswer, true) => "no answer",
        (R::Machine, true) => "voicemail",
    }
}
