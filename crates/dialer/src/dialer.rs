//! The campaign state machine: contacts, attempts, agents, timers, and the
//! `handle_*` inputs / `poll_*` outputs of [`Dialer`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use domain::{AgentId, PhoneNumber, Timestamp};

use crate::model::*;
use crate::pacing::{AdaptTapered, Measurements, Predictive};
use crate::rules::{ABANDON_QUIET_MS, AbandonHistory, AbandonTracker, RetryRule};
use crate::timer::{Timer, Timers};

/// A refused input or configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialerError {
    /// The configuration breaks a rule (the text says which).
    #[error("invalid campaign configuration: {0}")]
    Config(&'static str),
    /// No such attempt in flight.
    #[error("unknown attempt {0:?}")]
    UnknownAttempt(AttemptId),
    /// The outcome does not fit the attempt's state (e.g. a disposition of a
    /// call never connected).
    #[error("outcome {1:?} does not apply to attempt {0:?} now")]
    UnexpectedOutcome(AttemptId, Outcome),
    /// The agent has no previewed contact.
    #[error("agent {0} has no preview")]
    NoPreview(AgentId),
}

/// Which do-not-call list a number goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DncScope {
    /// Every campaign (the engine feeds it to each dialer; STOP replies land here).
    Global,
    /// This campaign only.
    Campaign,
}

/// How long a contact skipped in preview waits before it is offered
/// again, ms (1 h).
pub const PREVIEW_SKIP_DELAY_MS: i64 = 3_600_000;

/// Campaign counters since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Calls placed.
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
    /// Abandoned (no agent within 2 s, or hung up first).
    pub abandoned: u64,
    /// Connected to an agent.
    pub connected: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Due,
    InFlight,
    Previewing,
    Closed,
}

#[derive(Clone, Debug)]
struct ContactState {
    contact: Contact,
    recent: VecDeque<Timestamp>,
    total: u32,
    retries: [u32; 5],
    status: Status,
    last_abandoned: Option<Timestamp>,
    /// When it is next due (meaningful while [`Status::Due`]).
    due_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AttemptState {
    Ringing,
    /// Answered by a person, no agent free yet (until the deadline).
    Waiting(Timestamp),
    /// Offered to this agent, whose phone rings; not bridged yet.
    Offered(AgentId),
    /// Bridged to this agent (the engine said [`Outcome::AgentConnected`]).
    Connected(AgentId),
    Ended,
}

#[derive(Clone, Debug)]
struct Attempt {
    contact: ContactId,
    number: PhoneNumber,
    placed: Timestamp,
    guard: Timestamp,
    reserved: Option<AgentId>,
    state: AttemptState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Available,
    Reserved(AttemptId),
    Previewing(ContactId, Option<Timestamp>),
    OnCall(AttemptId, Timestamp),
    Busy,
    WrapUp(Timestamp),
}

#[derive(Clone, Debug)]
enum Pacer {
    Preview(Option<u32>),
    Progressive,
    Predictive(Predictive),
    Adapt(AdaptTapered),
}

/// Talk times of the last 512 connected calls, kept sorted for quantiles.
#[derive(Clone, Debug, Default)]
struct HandleTimes {
    ring: VecDeque<u32>,
    sorted: Vec<u32>,
}

impl HandleTimes {
    fn push(&mut self, ms: u32) {
        if self.ring.len() == 512
            && let Some(old) = self.ring.pop_front()
            && let Ok(i) = self.sorted.binary_search(&old)
        {
            self.sorted.remove(i);
        }
        self.ring.push_back(ms);
        let i = self.sorted.partition_point(|&x| x <= ms);
        self.sorted.insert(i, ms);
    }
    fn cdf(&self, x: f64) -> f64 {
        self.sorted.partition_point(|&v| f64::from(v) <= x) as f64 / self.sorted.len() as f64
    }
    /// P(T ≤ age + h | T > age).
    fn p_end_within(&self, age: f64, h: f64) -> f64 {
        if self.sorted.len() < 10 {
            return 0.0;
        }
        let s = 1.0 - self.cdf(age);
        if s * (self.sorted.len() as f64) < 1.0 {
            return 0.5;
        }
        ((self.cdf(age + h.max(0.0)) - self.cdf(age)) / s).clamp(0.0, 1.0)
    }
}

/// Where a contact stands, for keeping a campaign across a restart
/// ([`Dialer::contact_progress`], [`Dialer::handle_contacts_restored`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgressState {
    /// Waiting to be called, not before this time.
    Due(Timestamp),
    /// A call is on the wire (or the agent previews it).
    InFlight,
    /// Left the list for good.
    Closed,
}

/// A contact's history: what the retry rules, the 30-day attempt cap and
/// the 72 h rule after an abandon (Ofcom 2016 statement A1.13) read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactProgress {
    /// Due, in flight or closed.
    pub state: ProgressState,
    /// Calls placed to it, ever.
    pub attempts: u32,
    /// Retries used per system disposition: busy, no answer, machine,
    /// failed, abandoned.
    pub retries: [u32; 5],
    /// When the calls of the last 30 days were placed, oldest first.
    pub recent: Vec<Timestamp>,
    /// When its last call was abandoned.
    pub last_abandoned: Option<Timestamp>,
}

/// One campaign's dialer. See the crate docs for the run loop.
///
/// Method groups: inputs `handle_start`, `handle_pause`,
/// `handle_contacts_added`, `handle_dnc_added`, `handle_agent_available`,
/// `handle_agent_busy`, `handle_agent_wrap_up`, `handle_agent_logged_out`,
/// `handle_outcome`, `handle_preview_call`, `handle_timeout`; outputs
/// [`Dialer::poll_action`], [`Dialer::poll_timeout`]; getters
/// [`Dialer::calls_in_flight`], [`Dialer::pacing_limit`],
/// [`Dialer::counters`], [`Dialer::abandon_rate_pct`].
#[derive(Debug)]
pub struct Dialer {
    cfg: CampaignConfig,
    started: Timestamp,
    now: Timestamp,
    running: bool,
    tick_at: Option<Timestamp>,
    contacts: HashMap<ContactId, ContactState>,
    listed_numbers: HashSet<PhoneNumber>,
    due: BTreeSet<(Timestamp, u64, ContactId)>,
    seq: u64,
    attempts: HashMap<AttemptId, Attempt>,
    numbers: HashSet<PhoneNumber>,
    agents: BTreeMap<AgentId, Slot>,
    waiting: VecDeque<AttemptId>,
    dnc_global: HashSet<PhoneNumber>,
    dnc_campaign: HashSet<PhoneNumber>,
    tracker: AbandonTracker,
    outcomes: VecDeque<bool>,
    answer_delay_ms: f64,
    wrap_ms: f64,
    talk: HandleTimes,
    pacer: Pacer,
    timers: Timers,
    actions: VecDeque<Action>,
    next_attempt: u64,
    ringing: u32,
    limit: u32,
    counters: Counters,
}

impl Dialer {
    /// A paused dialer for a campaign started at `now`.
    ///
    /// # Errors
    /// [`DialerError::Config`] when the ring time is under 15 s (Ofcom 2016
    /// A1.20), the agent wait over 2 s (Ofcom A1.9, 16 CFR
    /// 310.4(b)(4)(iii)), the tick not in 1..=1000 ms, or the cap not in
    /// (0, 100] %.
    pub fn new(now: Timestamp, cfg: CampaignConfig) -> Result<Self, DialerError> {
        if cfg.ring_timeout_ms < 15_000 {
            return Err(DialerError::Config("ring time-out under 15 s"));
        }
        if cfg.agent_wait_ms > 2_000 {
            return Err(DialerError::Config("agent wait over 2 s"));
        }
        if !(1..=1_000).contains(&cfg.tick_ms) {
            return Err(DialerError::Config("pacing tick not in 1..=1000 ms"));
        }
        if !(cfg.abandon.cap_pct > 0.0 && cfg.abandon.cap_pct <= 100.0) {
            return Err(DialerError::Config("abandon cap not in (0, 100] %"));
        }
        if !(0.0..=1.0).contains(&cfg.abandon.amd_false_positive_rate) {
            return Err(DialerError::Config("AMD false-positive rate not in 0..=1"));
        }
        let pacer = match cfg.mode {
            DialMode::Preview { auto_dial_s } => Pacer::Preview(auto_dial_s),
            DialMode::Progressive => Pacer::Progressive,
            DialMode::Predictive => Pacer::Predictive(Predictive::default()),
            DialMode::AdaptTapered => Pacer::Adapt(AdaptTapered::default()),
        };
        Ok(Self {
            cfg,
            started: now,
            now,
            running: false,
            tick_at: None,
            contacts: HashMap::new(),
            listed_numbers: HashSet::new(),
            due: BTreeSet::new(),
            seq: 0,
            attempts: HashMap::new(),
            numbers: HashSet::new(),
            agents: BTreeMap::new(),
            waiting: VecDeque::new(),
            dnc_global: HashSet::new(),
            dnc_campaign: HashSet::new(),
            tracker: AbandonTracker::new(now),
            outcomes: VecDeque::with_capacity(300),
            answer_delay_ms: 10_000.0,
            wrap_ms: 10_000.0,
            talk: HandleTimes::default(),
            pacer,
            timers: Timers::default(),
            actions: VecDeque::new(),
            next_attempt: 1,
            ringing: 0,
            limit: 0,
            counters: Counters::default(),
        })
    }

    fn clock(&mut self, now: Timestamp) -> Timestamp {
        self.now = self.now.max(now);
        self.now
    }

    // ---- getters ----

    /// Unconnected calls in flight: ringing plus answered and waiting for an agent.
    pub fn calls_in_flight(&self) -> u32 {
        self.ringing + self.waiting.len() as u32
    }

    /// The pacing limit computed at the last pacing step.
    pub fn pacing_limit(&self) -> u32 {
        self.limit
    }

    /// Counters since start.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Abandon rate, %: (rolling 24 h, current 30-day period).
    pub fn abandon_rate_pct(&mut self, now: Timestamp) -> (f64, f64) {
        (
            self.tracker.rate_24h_pct(now),
            self.tracker.rate_period_pct(now),
        )
    }

    /// Whether `number` has a call in flight.
    pub fn number_in_flight(&self, number: &PhoneNumber) -> bool {
        self.numbers.contains(number)
    }

    /// Whether `number` is on the global or the campaign DNC list.
    pub fn is_dnc(&self, number: &PhoneNumber) -> bool {
        self.dnc_global.contains(number) || self.dnc_campaign.contains(number)
    }

    /// The dial level (VICIdial baseline) or calls in flight per logged-in agent.
    pub fn dial_level(&self) -> f64 {
        match &self.pacer {
            Pacer::Adapt(a) => a.level,
            _ => {
                let n = self.logged_in().max(1);
                f64::from(self.limit) / f64::from(n)
            }
        }
    }

    fn logged_in(&self) -> u32 {
        self.agents.len() as u32
    }

    /// Agents of the campaign: (logged in, free for its next call).
    pub fn agent_counts(&self) -> (u32, u32) {
        let free = self
            .agents
            .values()
            .filter(|s| **s == Slot::Available)
            .count() as u32;
        (self.logged_in(), free)
    }

    // ---- outputs ----

    /// A contact's history, `None` for an unknown id.
    pub fn contact_progress(&self, id: ContactId) -> Option<ContactProgress> {
        let cs = self.contacts.get(&id)?;
        Some(ContactProgress {
            state: match cs.status {
                Status::Due => ProgressState::Due(cs.due_at),
                Status::InFlight | Status::Previewing => ProgressState::InFlight,
                Status::Closed => ProgressState::Closed,
            },
            attempts: cs.total,
            retries: cs.retries,
            recent: cs.recent.iter().copied().collect(),
            last_abandoned: cs.last_abandoned,
        })
    }

    /// The next effect to carry out.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next deadline; call [`Dialer::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.next()
    }

    // ---- inputs ----

    /// Start (or resume) dialling: pacing ticks every `tick_ms`.
    pub fn handle_start(&mut self, now: Timestamp) {
        let now = self.clock(now);
        self.running = true;
        if self.tick_at.is_none() {
            self.tick_at = Some(now);
            self.timers.arm(now, Timer::PacingTick);
        }
    }

    /// Pause: no new call; calls in flight go on.
    pub fn handle_pause(&mut self, now: Timestamp) {
        self.clock(now);
        self.running = false;
        if let Some(at) = self.tick_at.take() {
            self.timers.cancel(at, Timer::PacingTick);
        }
    }

    /// Add contacts to the list, due now. A contact whose id or number is
    /// already listed is skipped; returns the ids skipped.
    pub fn handle_contacts_added(
        &mut self,
        now: Timestamp,
        contacts: Vec<Contact>,
    ) -> Vec<ContactId> {
        let now = self.clock(now);
        let mut skipped = Vec::new();
        for c in contacts {
            if self.contacts.contains_key(&c.id) || !self.listed_numbers.insert(c.number.clone()) {
                skipped.push(c.id);
                continue;
            }
            self.seq += 1;
            self.due.insert((now, self.seq, c.id));
            self.contacts.insert(
                c.id,
                ContactState {
                    contact: c,
                    recent: VecDeque::new(),
                    total: 0,
                    retries: [0; 5],
                    status: Status::Due,
                    last_abandoned: None,
                    due_at: now,
                },
            );
        }
        skipped
    }

    /// Add contacts with their history (a campaign resumed after a
    /// restart). A contact that was [`ProgressState::InFlight`] is due now:
    /// its call died with the previous process and already counts as an
    /// attempt. A contact whose id or number is already listed is skipped;
    /// returns the ids skipped.
    pub fn handle_contacts_restored(
        &mut self,
        now: Timestamp,
        contacts: Vec<(Contact, ContactProgress)>,
    ) -> Vec<ContactId> {
        let now = self.clock(now);
        let mut skipped = Vec::new();
        for (c, p) in contacts {
            if self.contacts.contains_key(&c.id) || !self.listed_numbers.insert(c.number.clone()) {
                skipped.push(c.id);
                continue;
            }
            let (status, due_at) = match p.state {
                ProgressState::Due(at) => (Status::Due, at),
                ProgressState::InFlight => (Status::Due, now),
                ProgressState::Closed => (Status::Closed, now),
            };
            if status == Status::Due {
                self.seq += 1;
                self.due.insert((due_at, self.seq, c.id));
            }
            self.contacts.insert(
                c.id,
                ContactState {
                    contact: c,
                    recent: p.recent.into_iter().collect(),
                    total: p.attempts,
                    retries: p.retries,
                    status,
                    last_abandoned: p.last_abandoned,
                    due_at,
                },
            );
        }
        skipped
    }

    /// Set the counters (a campaign resumed after a restart).
    pub fn handle_counters_restored(&mut self, counters: Counters) {
        self.counters = counters;
    }

    /// The abandon-rate history to store with the counters (it moves when
    /// they do).
    pub fn abandon_history(&self) -> AbandonHistory {
        self.tracker.history()
    }

    /// Go on from a stored abandon-rate history after a restart: the cap is
    /// checked against the last 24 h and the current 30-day period as they
    /// were, not from zero.
    pub fn handle_abandon_history_restored(&mut self, now: Timestamp, h: AbandonHistory) {
        let now = self.clock(now);
        self.tracker = AbandonTracker::restored(h, now);
    }

    /// Put a number on a do-not-call list; it is never dialled again by
    /// this dialer (calls already in flight go on).
    pub fn handle_dnc_added(&mut self, now: Timestamp, number: PhoneNumber, scope: DncScope) {
        self.clock(now);
        match scope {
            DncScope::Global => self.dnc_global.insert(number),
            DncScope::Campaign => self.dnc_campaign.insert(number),
        };
    }

    /// The agent is free for campaign calls (logged in and ready).
    pub fn handle_agent_available(&mut self, now: Timestamp, agent: AgentId) {
        let now = self.clock(now);
        match self.agents.get(&agent) {
            Some(Slot::Reserved(_)) | Some(Slot::Previewing(..)) => return,
            Some(Slot::OnCall(a, since)) => {
                let (a, since) = (*a, *since);
                self.end_talk(now, a, since);
            }
            _ => {}
        }
        self.agents.insert(agent, Slot::Available);
        self.serve_waiting(now);
        if matches!(self.pacer, Pacer::Progressive | Pacer::Preview(_)) {
            self.pace(now);
        }
    }

    /// The agent is busy with other work (an inbound call in a blended
    /// campaign, a pause): logged in, not available.
    pub fn handle_agent_busy(&mut self, now: Timestamp, agent: AgentId) {
        let now = self.clock(now);
        self.release_slot(now, agent);
        self.agents.insert(agent, Slot::Busy);
    }

    /// The agent's call ended and wrap-up runs until `expected_end`.
    pub fn handle_agent_wrap_up(
        &mut self,
        now: Timestamp,
        agent: AgentId,
        expected_end: Timestamp,
    ) {
        let now = self.clock(now);
        self.release_slot(now, agent);
        let w = expected_end.millis_since(now).max(0) as f64;
        self.wrap_ms = 0.9 * self.wrap_ms + 0.1 * w;
        self.agents.insert(agent, Slot::WrapUp(expected_end));
    }

    /// The agent logged out (or lost the campaign's skill). Calls already
    /// ringing are handled by the abandon rule when answered.
    pub fn handle_agent_logged_out(&mut self, now: Timestamp, agent: AgentId) {
        let now = self.clock(now);
        self.release_slot(now, agent);
        self.agents.remove(&agent);
    }

    fn release_slot(&mut self, now: Timestamp, agent: AgentId) {
        match self.agents.get(&agent).copied() {
            Some(Slot::OnCall(a, since)) => self.end_talk(now, a, since),
            Some(Slot::Reserved(a)) => {
                if let Some(at) = self.attempts.get_mut(&a) {
                    at.reserved = None;
                }
            }
            Some(Slot::Previewing(c, auto)) => {
                if let Some(at) = auto {
                    self.timers.cancel(at, Timer::PreviewAutoDial(agent));
                }
                if let Some(cs) = self.contacts.get_mut(&c) {
                    cs.status = Status::Due;
                    self.seq += 1;
                    cs.due_at = now;
                    self.due.insert((now, self.seq, c));
                }
            }
            _ => {}
        }
    }

    /// The agent's slot of `attempt` ends. Only a bridged call gives a
    /// talk-time sample and ends; an offered one stays open until the
    /// engine reports the bridge or the abandon.
    fn end_talk(&mut self, now: Timestamp, attempt: AttemptId, since: Timestamp) {
        let Some(a) = self.attempts.get_mut(&attempt) else {
            return;
        };
        if !matches!(a.state, AttemptState::Connected(_)) {
            return;
        }
        let ms = u32::try_from(now.millis_since(since).max(0)).unwrap_or(u32::MAX);
        self.talk.push(ms);
        a.state = AttemptState::Ended;
        self.numbers.remove(&a.number);
    }

    /// The agent clicked Call on the previewed contact.
    ///
    /// # Errors
    /// [`DialerError::NoPreview`] when the agent has no previewed contact.
    pub fn handle_preview_call(
        &mut self,
        now: Timestamp,
        agent: AgentId,
    ) -> Result<AttemptId, DialerError> {
        let now = self.clock(now);
        let Some(Slot::Previewing(c, auto)) = self.agents.get(&agent).copied() else {
            return Err(DialerError::NoPreview(agent));
        };
        if let Some(at) = auto {
            self.timers.cancel(at, Timer::PreviewAutoDial(agent));
        }
        Ok(self.place(now, c, Some(agent)))
    }

    /// The agent skipped the previewed contact: no attempt is counted, the
    /// contact is due again in [`PREVIEW_SKIP_DELAY_MS`] (a
    /// [`Action::RetryScheduled`] says when) and the agent is free for the
    /// next contact, previewed at once when one is due.
    ///
    /// # Errors
    /// [`DialerError::NoPreview`] when the agent has no previewed contact.
    pub fn handle_preview_skip(
        &mut self,
        now: Timestamp,
        agent: AgentId,
    ) -> Result<ContactId, DialerError> {
        let now = self.clock(now);
        let Some(Slot::Previewing(c, auto)) = self.agents.get(&agent).copied() else {
            return Err(DialerError::NoPreview(agent));
        };
        if let Some(at) = auto {
            self.timers.cancel(at, Timer::PreviewAutoDial(agent));
        }
        let at = now.add_millis(PREVIEW_SKIP_DELAY_MS);
        self.schedule(c, at);
        self.actions
            .push_back(Action::RetryScheduled { contact: c, at });
        self.agents.insert(agent, Slot::Available);
        self.pace(now);
        Ok(c)
    }

    /// What became of an attempt.
    ///
    /// # Errors
    /// [`DialerError::UnknownAttempt`], or [`DialerError::UnexpectedOutcome`]
    /// when it does not fit the attempt's state (nothing changes then).
    pub fn handle_outcome(
        &mut self,
        now: Timestamp,
        attempt: AttemptId,
        outcome: Outcome,
    ) -> Result<(), DialerError> {
        let now = self.clock(now);
        let state = self
            .attempts
            .get(&attempt)
            .ok_or(DialerError::UnknownAttempt(attempt))?
            .state;
        let bad = Err(DialerError::UnexpectedOutcome(attempt, outcome));
        match (state, outcome) {
            (AttemptState::Ringing, Outcome::AnsweredLive) => {
                self.ringing -= 1;
                self.answered(now, attempt, true);
                self.on_live(now, attempt);
            }
            (AttemptState::Ringing, Outcome::AnsweredMachine) => {
                self.ringing -= 1;
                self.answered(now, attempt, false);
                self.counters.machine += 1;
                let fp = self.cfg.abandon.amd_false_positive_rate;
                match self.cfg.amd {
                    AmdAction::Off => {
                        self.on_live(now, attempt);
                        return Ok(());
                    }
                    AmdAction::HangUp => self.actions.push_back(Action::HangUp { attempt }),
                    AmdAction::LeaveMessage => {
                        self.actions.push_back(Action::LeaveMessage { attempt })
                    }
                }
                self.tracker.record(now, fp, fp);
                self.finish(now, attempt, SystemDisposition::Machine);
            }
            (AttemptState::Ringing, Outcome::Busy) => {
                self.ringing -= 1;
                self.resolved(false);
                self.counters.busy += 1;
                self.finish(now, attempt, SystemDisposition::Busy);
            }
            (AttemptState::Ringing, Outcome::NoAnswer) => {
                self.ringing -= 1;
                self.resolved(false);
                self.counters.no_answer += 1;
                self.finish(now, attempt, SystemDisposition::NoAnswer);
            }
            (AttemptState::Ringing, Outcome::Failed) => {
                self.ringing -= 1;
                self.counters.failed += 1;
                self.finish(now, attempt, SystemDisposition::Failed);
            }
            (AttemptState::Ringing, Outcome::Abandoned) => {
                // hung up during ringing: a no-answer for the rules
                self.ringing -= 1;
                self.resolved(false);
                self.counters.no_answer += 1;
                self.finish(now, attempt, SystemDisposition::NoAnswer);
            }
            (AttemptState::Waiting(deadline), Outcome::Abandoned) => {
                self.timers.cancel(deadline, Timer::AgentWait(attempt));
                self.waiting.retain(|&w| w != attempt);
                self.abandon(now, attempt, false);
            }
            (AttemptState::Offered(_), Outcome::AgentConnected(agent)) => {
                // Talk time runs from the bridge, not from the offer.
                self.counters.connected += 1;
                self.agents.insert(agent, Slot::OnCall(attempt, now));
                if let Some(a) = self.attempts.get_mut(&attempt) {
                    a.state = AttemptState::Connected(agent);
                }
            }
            (AttemptState::Connected(_), Outcome::AgentConnected(_)) => {}
            (AttemptState::Offered(agent), Outcome::Abandoned) => {
                // Answered, offered, never bridged: the person hung up
                // while the agent's phone rang, or the agent let it ring
                // out (RONA). Either way no agent spoke to them, so it is
                // an abandoned call (FTC TSR 16 CFR 310.4(b)(4)(i);
                // Ofcom 2016 statement A1.3). The agent's next state comes
                // from the engine.
                if matches!(self.agents.get(&agent), Some(Slot::OnCall(a, _)) if *a == attempt) {
                    self.agents.insert(agent, Slot::Busy);
                }
                self.abandon(now, attempt, false);
            }
            (
                AttemptState::Connected(_) | AttemptState::Ended,
                Outcome::Disposition { callback_at, .. },
            ) => {
                if let AttemptState::Connected(agent) = state
                    && let Some(Slot::OnCall(id, since)) = self.agents.get(&agent).copied()
                    && id == attempt
                {
                    self.end_talk(now, attempt, since);
                    self.agents.insert(agent, Slot::Busy);
                }
                let a = self
                    .attempts
                    .remove(&attempt)
                    .ok_or(DialerError::UnknownAttempt(attempt))?;
                self.timers.cancel(a.guard, Timer::RingGuard(attempt));
                self.numbers.remove(&a.number);
                let cid = a.contact;
                match callback_at {
                    Some(at) => self.schedule(cid, at.max(now)),
                    None => self.close(cid, CloseReason::Completed),
                }
            }
            _ => return bad,
        }
        Ok(())
    }

    /// Fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let now = self.clock(now);
        while let Some((_, t)) = self.timers.pop_due(now) {
            match t {
                Timer::PacingTick => {
                    self.tick_at = None;
                    if self.running {
                        let at = now.add_millis(i64::from(self.cfg.tick_ms));
                        self.tick_at = Some(at);
                        self.timers.arm(at, Timer::PacingTick);
                        self.pace(now);
                    }
                }
                Timer::RingGuard(a) => {
                    if self
                        .attempts
                        .get(&a)
                        .is_some_and(|x| x.state == AttemptState::Ringing)
                    {
                        self.actions.push_back(Action::HangUp { attempt: a });
                        self.ringing -= 1;
                        self.resolved(false);
                        self.counters.no_answer += 1;
                        self.finish(now, a, SystemDisposition::NoAnswer);
                    }
                }
                Timer::AgentWait(a) => {
                    self.waiting.retain(|&w| w != a);
                    self.abandon(now, a, true);
                }
                Timer::PreviewAutoDial(agent) => {
                    if let Some(Slot::Previewing(c, _)) = self.agents.get(&agent).copied() {
                        self.place(now, c, Some(agent));
                    }
                }
            }
        }
    }

    // ---- internals ----

    fn resolved(&mut self, live: bool) {
        if self.outcomes.len() == 300 {
            self.outcomes.pop_front();
        }
        self.outcomes.push_back(live);
    }

    fn answered(&mut self, now: Timestamp, attempt: AttemptId, live: bool) {
        self.resolved(live);
        if let Some(a) = self.attempts.get(&attempt) {
            self.timers.cancel(a.guard, Timer::RingGuard(attempt));
            if live {
                let d = now.millis_since(a.placed).max(0) as f64;
                self.answer_delay_ms = 0.95 * self.answer_delay_ms + 0.05 * d;
            }
        }
    }

    fn on_live(&mut self, now: Timestamp, attempt: AttemptId) {
        self.counters.live += 1;
        self.tracker.record(now, 1.0, 0.0);
        let reserved = self.attempts.get(&attempt).and_then(|a| a.reserved);
        let agent = match reserved {
            Some(ag) if self.agents.get(&ag) == Some(&Slot::Reserved(attempt)) => Some(ag),
            _ => self.free_agent(),
        };
        match agent {
            Some(ag) => self.connect(now, attempt, ag),
            None => {
                let deadline = now.add_millis(i64::from(self.cfg.agent_wait_ms));
                if let Some(a) = self.attempts.get_mut(&attempt) {
                    a.state = AttemptState::Waiting(deadline);
                }
                self.waiting.push_back(attempt);
                self.timers.arm(deadline, Timer::AgentWait(attempt));
            }
        }
    }

    fn free_agent(&self) -> Option<AgentId> {
        self.agents
            .iter()
            .find(|(_, s)| **s == Slot::Available)
            .map(|(a, _)| *a)
    }

    /// Offer an answered call to `agent`; [`Counters::connected`] counts
    /// it once the engine reports the bridge.
    fn connect(&mut self, now: Timestamp, attempt: AttemptId, agent: AgentId) {
        self.agents.insert(agent, Slot::OnCall(attempt, now));
        if let Some(a) = self.attempts.get_mut(&attempt) {
            a.state = AttemptState::Offered(agent);
            let contact = a.contact;
            self.actions.push_back(Action::ConnectAgent {
                attempt,
                agent,
                contact,
            });
        }
    }

    fn serve_waiting(&mut self, now: Timestamp) {
        while !self.waiting.is_empty() {
            let Some(agent) = self.free_agent() else {
                break;
            };
            let Some(a) = self.waiting.pop_front() else {
                break;
            };
            if let Some(AttemptState::Waiting(d)) = self.attempts.get(&a).map(|x| x.state) {
                self.timers.cancel(d, Timer::AgentWait(a));
                self.connect(now, a, agent);
            }
        }
    }

    fn abandon(&mut self, now: Timestamp, attempt: AttemptId, play: bool) {
        self.counters.abandoned += 1;
        self.tracker.record(now, 0.0, 1.0);
        if play {
            self.actions
                .push_back(Action::PlayAbandonMessage { attempt });
        }
        if let Some(c) = self.attempts.get(&attempt).map(|a| a.contact)
            && let Some(cs) = self.contacts.get_mut(&c)
        {
            cs.last_abandoned = Some(now);
        }
        self.finish(now, attempt, SystemDisposition::Abandoned);
    }

    /// End an attempt with a system disposition; follow up and retry by rule.
    fn finish(&mut self, now: Timestamp, attempt: AttemptId, d: SystemDisposition) {
        let Some(a) = self.attempts.remove(&attempt) else {
            return;
        };
        self.timers.cancel(a.guard, Timer::RingGuard(attempt));
        self.numbers.remove(&a.number);
        if let Some(ag) = a.reserved
            && self.agents.get(&ag) == Some(&Slot::Reserved(attempt))
        {
            self.agents.insert(ag, Slot::Available);
        }
        self.actions.push_back(Action::Dispositioned {
            attempt,
            disposition: d,
        });
        let r = self.cfg.retry;
        let (rule, idx, follow) = match d {
            SystemDisposition::Busy => (r.busy, 0, Some(FollowUpReason::Busy)),
            SystemDisposition::NoAnswer => (r.no_answer, 1, Some(FollowUpReason::NoAnswer)),
            SystemDisposition::Machine => (r.machine, 2, Some(FollowUpReason::Machine)),
            SystemDisposition::Failed => (r.failed, 3, None),
            SystemDisposition::Abandoned => (r.abandoned, 4, None),
        };
        if let Some(reason) = follow
            && self.cfg.follow_up
        {
            self.actions.push_back(Action::SendFollowUp {
                contact: a.contact,
                reason,
            });
        }
        self.retry(now, a.contact, rule, idx);
        self.serve_waiting(now);
    }

    fn retry(&mut self, now: Timestamp, cid: ContactId, rule: RetryRule, idx: usize) {
        let max = self.cfg.retry.max_attempts;
        let Some(cs) = self.contacts.get_mut(&cid) else {
            return;
        };
        if cs.total >= max || cs.retries[idx] >= rule.max {
            self.close(cid, CloseReason::MaxAttempts);
            return;
        }
        cs.retries[idx] += 1;
        let mut at = now.add_millis(i64::from(rule.delay_s) * 1000);
        if let Some(ab) = cs.last_abandoned {
            at = at.max(ab.add_millis(ABANDON_QUIET_MS));
        }
        self.schedule(cid, at);
        self.actions
            .push_back(Action::RetryScheduled { contact: cid, at });
    }

    fn schedule(&mut self, cid: ContactId, at: Timestamp) {
        if let Some(cs) = self.contacts.get_mut(&cid) {
            cs.status = Status::Due;
            self.seq += 1;
            cs.due_at = at;
            self.due.insert((at, self.seq, cid));
        }
    }

    fn close(&mut self, cid: ContactId, reason: CloseReason) {
        if let Some(cs) = self.contacts.get_mut(&cid) {
            cs.status = Status::Closed;
            self.actions.push_back(Action::ContactClosed {
                contact: cid,
                reason,
            });
        }
    }

    fn measurements(&mut self, now: Timestamp) -> Measurements {
        let horizon = self.answer_delay_ms + f64::from(self.cfg.agent_wait_ms);
        let mut m = Measurements {
            now,
            agents: self.logged_in(),
            ..Measurements::default()
        };
        for s in self.agents.values() {
            match *s {
                Slot::Available => m.available += 1,
                Slot::OnCall(_, since) => {
                    m.on_call += 1;
                    let age = now.millis_since(since) as f64;
                    m.free_soon
                        .push(self.talk.p_end_within(age, horizon - self.wrap_ms));
                }
                Slot::WrapUp(end) if (end.millis_since(now) as f64) <= horizon => {
                    m.free_soon.push(0.9);
                }
                _ => {}
            }
        }
        m.ringing = self.ringing;
        m.waiting_live = self.waiting.len() as u32;
        let live = self.outcomes.iter().filter(|&&l| l).count() as f64;
        m.answer_rate = (live + 2.0) / (self.outcomes.len() as f64 + 10.0);
        m.horizon_ms = horizon;
        let cap = self.cfg.abandon.cap_pct;
        m.cap_pct = cap;
        m.abandon_budget = self.tracker.budget(now, cap, 0.0);
        m.abandon_pct = self
            .tracker
            .rate_24h_pct(now)
            .max(self.tracker.rate_period_pct(now));
        m.live_24h = self.tracker.total.0;
        m.elapsed_ms = now.millis_since(self.started);
        m
    }

    /// One pacing step: compute the limit, dial due contacts up to it.
    fn pace(&mut self, now: Timestamp) {
        if !self.running {
            return;
        }
        if let Pacer::Preview(auto) = self.pacer {
            self.limit = self.calls_in_flight();
            let free: Vec<AgentId> = self
                .agents
                .iter()
                .filter(|(_, s)| **s == Slot::Available)
                .map(|(a, _)| *a)
                .collect();
            for agent in free {
                let Some(c) = self.next_dialable(now) else {
                    break;
                };
                let at = auto.map(|s| now.add_millis(i64::from(s) * 1000));
                if let Some(at) = at {
                    self.timers.arm(at, Timer::PreviewAutoDial(agent));
                }
                if let Some(cs) = self.contacts.get_mut(&c) {
                    cs.status = Status::Previewing;
                }
                self.agents.insert(agent, Slot::Previewing(c, at));
                self.actions.push_back(Action::Preview {
                    agent,
                    contact: c,
                    auto_dial_at: at,
                });
            }
            return;
        }
        let m = self.measurements(now);
        let limit = match &mut self.pacer {
            Pacer::Progressive | Pacer::Preview(_) => m.progressive(),
            Pacer::Predictive(p) => p.limit(&m),
            Pacer::Adapt(a) => a.limit(&m),
        };
        self.limit = limit;
        let mut placed = 0;
        while self.calls_in_flight() < self.limit && placed < self.cfg.max_dials_per_tick {
            let Some(c) = self.next_dialable(now) else {
                break;
            };
            let quiet = self
                .contacts
                .get(&c)
                .and_then(|cs| cs.last_abandoned)
                .is_some_and(|ab| now.millis_since(ab) < ABANDON_QUIET_MS);
            let agent = if quiet {
                // a repeat call within 72 h of an abandon needs a reserved agent
                match self.free_agent() {
                    Some(a) => Some(a),
                    None => {
                        self.schedule(c, now.add_millis(i64::from(self.cfg.tick_ms)));
                        break;
                    }
                }
            } else {
                None
            };
            self.place(now, c, agent);
            placed += 1;
        }
    }

    /// Pop due contacts until one passes every rule; others are closed or
    /// rescheduled.
    fn next_dialable(&mut self, now: Timestamp) -> Option<ContactId> {
        loop {
            let &(at, seq, c) = self.due.first()?;
            if at > now {
                return None;
            }
            self.due.remove(&(at, seq, c));
            let Some(cs) = self.contacts.get_mut(&c) else {
                continue;
            };
            if cs.status != Status::Due {
                continue;
            }
            let n = &cs.contact.number;
            if self.dnc_global.contains(n) || self.dnc_campaign.contains(n) {
                self.close(c, CloseReason::DoNotCall);
                continue;
            }
            let consent_ok = match cs.contact.consent {
                Consent::Given => true,
                Consent::Unknown => !self.cfg.require_consent,
                Consent::Refused => false,
            };
            if !consent_ok {
                self.close(c, CloseReason::NoConsent);
                continue;
            }
            if cs.total >= self.cfg.retry.max_attempts {
                self.close(c, CloseReason::MaxAttempts);
                continue;
            }
            if self.numbers.contains(n) {
                self.seq += 1;
                cs.due_at = now.add_millis(1_000);
                self.due.insert((now.add_millis(1_000), self.seq, c));
                continue;
            }
            let month = 30 * 86_400_000;
            while cs
                .recent
                .front()
                .is_some_and(|&t| now.millis_since(t) >= month)
            {
                cs.recent.pop_front();
            }
            if cs.recent.len() as u32 >= self.cfg.window.max_attempts_per_30d {
                let next = cs.recent.front().map_or(now, |t| t.add_millis(month));
                self.seq += 1;
                cs.due_at = next;
                self.due.insert((next, self.seq, c));
                continue;
            }
            if !self.cfg.window.is_open(now, &cs.contact.tz) {
                match self.cfg.window.next_open(now, &cs.contact.tz) {
                    Some(next) if next > now => {
                        self.seq += 1;
                        cs.due_at = next;
                        self.due.insert((next, self.seq, c));
                    }
                    _ => self.close(c, CloseReason::MaxAttempts),
                }
                continue;
            }
            return Some(c);
        }
    }

    fn place(&mut self, now: Timestamp, c: ContactId, agent: Option<AgentId>) -> AttemptId {
        let attempt = AttemptId(self.next_attempt);
        self.next_attempt += 1;
        let Some(cs) = self.contacts.get_mut(&c) else {
            return attempt;
        };
        cs.status = Status::InFlight;
        cs.total += 1;
        cs.recent.push_back(now);
        let number = cs.contact.number.clone();
        let guard = now.add_millis(i64::from(self.cfg.ring_timeout_ms) + 30_000);
        self.timers.arm(guard, Timer::RingGuard(attempt));
        if let Some(a) = agent {
            self.agents.insert(a, Slot::Reserved(attempt));
        }
        self.numbers.insert(number.clone());
        self.attempts.insert(
            attempt,
            Attempt {
                contact: c,
                number: number.clone(),
                placed: now,
                guard,
                reserved: agent,
                state: AttemptState::Ringing,
            },
        );
        self.ringing += 1;
        self.counters.dialed += 1;
        self.actions.push_back(Action::PlaceCall {
            attempt,
            contact: c,
            number,
            ring_timeout_ms: self.cfg.ring_timeout_ms,
            agent,
        });
        attempt
    }
}
