//! The dialer's vocabulary: contacts, attempts, outcomes, actions and the
//! campaign configuration.

use domain::{AgentId, CustomerId, DispositionId, PhoneNumber, Timestamp};

use crate::rules::{AbandonCap, CallingWindow, RetryRules};

/// A contact of a campaign's list (row id of the campaign list, not a customer id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContactId(pub i64);

/// One call attempt (one outbound leg) of the dialer, unique per dialer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttemptId(pub u64);

/// Whether the person agreed to be called (RGPD art. 6, décret 2022-1313 for
/// prospection). [`Consent::Refused`] contacts are never dialled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    /// Consent recorded, or an existing customer relationship.
    Given,
    /// Not known: dialled only when the campaign allows it
    /// ([`CampaignConfig::require_consent`] = false).
    Unknown,
    /// The person objected: never dialled.
    Refused,
}

/// A person to call: E.164 number, time zone (for the calling window),
/// consent.
#[derive(Clone, Debug, PartialEq)]
pub struct Contact {
    /// List row id.
    pub id: ContactId,
    /// Number in E.164 form.
    pub number: PhoneNumber,
    /// The contact's time zone (IANA); the calling window is checked in it.
    pub tz: jiff::tz::TimeZone,
    /// Consent flag.
    pub consent: Consent,
    /// The customer record the agent's screen pops, when known.
    pub customer: Option<CustomerId>,
}

/// Dialling mode of a campaign.
#[derive(Clone, Debug, PartialEq)]
pub enum DialMode {
    /// The agent sees the record first and clicks Call
    /// ([`crate::Dialer::handle_preview_call`]), or the call starts by
    /// itself after `auto_dial_s` seconds when set.
    Preview {
        /// Auto-dial delay in s; `None`: wait for the click.
        auto_dial_s: Option<u32>,
    },
    /// One call per available agent: calls ringing ≤ free agents.
    Progressive,
    /// More calls than free agents, paced from live measurements
    /// ([`crate::pacing::Predictive`]).
    Predictive,
    /// VICIdial's `ADAPT_TAPERED` adaptive dial level
    /// ([`crate::pacing::AdaptTapered`]), kept as a baseline.
    AdaptTapered,
}

/// What to do when answering-machine detection says "machine".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmdAction {
    /// AMD off: every answer is handled as live.
    Off,
    /// Hang up, follow up on the digital channel, retry by rule.
    HangUp,
    /// Wait for the beep and play the campaign's message.
    LeaveMessage,
}

/// How a call attempt went, as reported by the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A person answered (AMD said human, or AMD off).
    AnsweredLive,
    /// AMD classified the answer as a machine.
    AnsweredMachine,
    /// 486 Busy Here / 600 Busy Everywhere.
    Busy,
    /// Rang until the ring time-out (or 480/408).
    NoAnswer,
    /// Any other failure (4xx/5xx, trunk down).
    Failed,
    /// The agent's leg is bridged to the answered call.
    AgentConnected(AgentId),
    /// The called person hung up before an agent was connected: counted as
    /// abandoned (Ofcom 2016 statement, A1.3).
    Abandoned,
    /// The agent's disposition of a connected call, ending the attempt;
    /// `callback_at` asks for a new attempt at that time.
    Disposition {
        /// The disposition code chosen by the agent.
        code: DispositionId,
        /// A callback the person asked for.
        callback_at: Option<Timestamp>,
    },
}

/// The disposition the dialer gives an attempt by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemDisposition {
    /// Busy.
    Busy,
    /// No answer within the ring time.
    NoAnswer,
    /// Answering machine.
    Machine,
    /// Failed to place.
    Failed,
    /// Live answer with no agent within 2 s (or the person hung up first).
    Abandoned,
}

/// Why a contact leaves the list for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// An agent's disposition ended it.
    Completed,
    /// On the global or campaign do-not-call list.
    DoNotCall,
    /// Consent refused (or unknown where required).
    NoConsent,
    /// Reached the campaign's maximum number of attempts.
    MaxAttempts,
}

/// Why a digital follow-up is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowUpReason {
    /// The line was busy.
    Busy,
    /// No answer.
    NoAnswer,
    /// An answering machine took the call.
    Machine,
}

/// An effect for the engine to carry out ([`crate::Dialer::poll_action`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Originate a call on the trunk to `number`, ringing at least
    /// `ring_timeout_ms` (≥ 15 000, Ofcom 2016 statement A1.20) before
    /// reporting [`Outcome::NoAnswer`]. `agent` is set when an agent is
    /// reserved for it (preview, or a repeat call within 72 h of an abandon).
    PlaceCall {
        /// The attempt.
        attempt: AttemptId,
        /// The contact.
        contact: ContactId,
        /// Where to call.
        number: PhoneNumber,
        /// Minimum ring time, ms.
        ring_timeout_ms: u32,
        /// Agent reserved for this call.
        agent: Option<AgentId>,
    },
    /// Bridge the answered call to this agent (the agent's screen pops the
    /// contact's record).
    ConnectAgent {
        /// The attempt.
        attempt: AttemptId,
        /// The agent.
        agent: AgentId,
        /// The contact.
        contact: ContactId,
    },
    /// Play the recorded message naming the caller and a number to call
    /// back, then hang up (Ofcom 2016 statement A1.11; 16 CFR 310.4(b)(4)(iii)).
    PlayAbandonMessage {
        /// The attempt.
        attempt: AttemptId,
    },
    /// Wait for the beep and play the campaign's voicemail prompt.
    LeaveMessage {
        /// The attempt.
        attempt: AttemptId,
    },
    /// Hang up the call.
    HangUp {
        /// The attempt.
        attempt: AttemptId,
    },
    /// Show the contact to the agent first (preview mode).
    Preview {
        /// The agent.
        agent: AgentId,
        /// The contact.
        contact: ContactId,
        /// When it is dialled unless the agent calls or skips first
        /// (`None`: it waits for the agent).
        auto_dial_at: Option<Timestamp>,
    },
    /// Send the campaign's digital follow-up (SMS, WhatsApp template or
    /// e-mail through the outbox).
    SendFollowUp {
        /// The contact.
        contact: ContactId,
        /// Why.
        reason: FollowUpReason,
    },
    /// The attempt got a system disposition.
    Dispositioned {
        /// The attempt.
        attempt: AttemptId,
        /// The disposition.
        disposition: SystemDisposition,
    },
    /// The contact will be tried again at `at` (not before).
    RetryScheduled {
        /// The contact.
        contact: ContactId,
        /// Earliest next attempt.
        at: Timestamp,
    },
    /// The contact leaves the list.
    ContactClosed {
        /// The contact.
        contact: ContactId,
        /// Why.
        reason: CloseReason,
    },
}

/// A campaign's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignConfig {
    /// Dialling mode.
    pub mode: DialMode,
    /// Minimum ring time before giving up, ms; at least 15 000 (Ofcom 2016
    /// statement, A1.20: "ring for a minimum of 15 seconds").
    pub ring_timeout_ms: u32,
    /// Wait for a free agent after a live answer, ms; at most 2 000 (Ofcom
    /// A1.9: "within two seconds of the called person's greeting"; 16 CFR
    /// 310.4(b)(4)(iii)).
    pub agent_wait_ms: u32,
    /// Pacing tick, ms; at most 1 000.
    pub tick_ms: u32,
    /// Abandon cap.
    pub abandon: AbandonCap,
    /// Calling windows, holidays, attempts per 30 days.
    pub window: CallingWindow,
    /// Retry rules per outcome.
    pub retry: RetryRules,
    /// AMD handling.
    pub amd: AmdAction,
    /// Send the digital follow-up on busy / no answer / machine.
    pub follow_up: bool,
    /// Dial [`Consent::Unknown`] contacts only when false.
    pub require_consent: bool,
    /// Most calls placed in one tick (bounds the action queue per input).
    pub max_dials_per_tick: u32,
}

impl Default for CampaignConfig {
    fn default() -> Self {
        Self {
            mode: DialMode::Predictive,
            ring_timeout_ms: 20_000,
            agent_wait_ms: 2_000,
            tick_ms: 500,
            abandon: AbandonCap::default(),
            window: CallingWindow::france_2022_1313(),
            retry: RetryRules::default(),
            amd: AmdAction::HangUp,
            follow_up: true,
            require_consent: false,
            max_dials_per_tick: 64,
        }
    }
}
