//! The typed event log record (ARCHITECTURE.md, principle 3).
//!
//! Every state change of an interaction or an agent is one [`Event`]. The log
//! is append-only; each stored event gets a monotonic `seq`. KPIs (service
//! level, ASA, talk, hold, wrap-up, abandon) are recomputed from these events,
//! the way Asterisk's `queue_log` or Amazon Connect's contact trace records are
//! used.
//!
//! In JSON an event kind is an object tagged by `type`:
//! `{"type":"answered","queue_id":1}`.

use crate::{AgentId, Channel, CustomerId, Direction, InteractionId, QueueId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// A stored event with its sequence number.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Monotonic sequence number assigned by the store (1, 2, 3...).
    pub seq: i64,
    /// When it happened.
    pub at: Timestamp,
    /// The interaction concerned, if any.
    pub interaction_id: Option<InteractionId>,
    /// The customer concerned, if any.
    pub customer_id: Option<CustomerId>,
    /// The agent concerned, if any.
    pub agent_id: Option<AgentId>,
    /// What happened.
    pub kind: EventKind,
}

/// An event before the store gave it a sequence number.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// When it happened.
    pub at: Timestamp,
    /// The interaction concerned, if any.
    pub interaction_id: Option<InteractionId>,
    /// The customer concerned, if any.
    pub customer_id: Option<CustomerId>,
    /// The agent concerned, if any.
    pub agent_id: Option<AgentId>,
    /// What happened.
    pub kind: EventKind,
}

impl NewEvent {
    /// An event with no ids attached; add them with the `with_*` builders.
    pub fn new(at: Timestamp, kind: EventKind) -> Self {
        Self {
            at,
            interaction_id: None,
            customer_id: None,
            agent_id: None,
            kind,
        }
    }

    /// Attach the interaction.
    pub fn with_interaction(mut self, id: InteractionId) -> Self {
        self.interaction_id = Some(id);
        self
    }

    /// Attach the customer.
    pub fn with_customer(mut self, id: CustomerId) -> Self {
        self.customer_id = Some(id);
        self
    }

    /// Attach the agent.
    pub fn with_agent(mut self, id: AgentId) -> Self {
        self.agent_id = Some(id);
        self
    }
}

/// An agent's state as the ACD tracks it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Not logged in to the ACD.
    LoggedOut,
    /// Ready for offers.
    Available,
    /// An offer is ringing or reserved for them.
    Reserved,
    /// On at least one interaction.
    Busy,
    /// After-call work.
    WrapUp,
    /// Paused with a reason code.
    Paused,
}

/// How a supervisor takes part in a call (SPEC §4.2).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupervisionMode {
    /// Silent monitor ("double écoute"): hears caller and agent, unheard.
    Listen,
    /// Coaching ("soufflage"): the agent hears the supervisor, the caller
    /// does not.
    Whisper,
    /// Three-way: everyone hears everyone.
    Barge,
}

impl SupervisionMode {
    /// The snake_case name (`"listen"`, `"whisper"`, `"barge"`).
    pub fn as_str(self) -> &'static str {
        match self {
            SupervisionMode::Listen => "listen",
            SupervisionMode::Whisper => "whisper",
            SupervisionMode::Barge => "barge",
        }
    }
}

/// What happened. Each variant's fields are its payload; ids live on the
/// enclosing [`Event`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventKind {
    /// A new interaction began (call arrived, first message, outbound attempt).
    InteractionCreated {
        /// Channel.
        channel: Channel,
        /// Inbound or outbound.
        direction: Direction,
    },
    /// The IVR visited a node (the call's path, for screen-pop and reports).
    IvrStep {
        /// Flow name.
        flow: String,
        /// Node id.
        node: String,
        /// Digits entered at this node, if any.
        digits: Option<String>,
    },
    /// The task entered a queue.
    Queued {
        /// Queue.
        queue_id: QueueId,
        /// Routing priority at entry.
        priority: i32,
    },
    /// The ACD offered the task to an agent (their phone rings).
    Offered {
        /// Queue.
        queue_id: QueueId,
    },
    /// The agent rejected a digital offer.
    OfferRejected {
        /// Queue.
        queue_id: QueueId,
    },
    /// Ring-no-answer: the offer timed out and the task went back to its queue.
    Rona {
        /// Queue.
        queue_id: QueueId,
    },
    /// An agent answered.
    Answered {
        /// Queue, if the interaction came through one.
        queue_id: Option<QueueId>,
        /// Wait from queue entry to answer, in ms.
        waited_ms: i64,
    },
    /// Put on hold.
    Held,
    /// Taken off hold.
    Unheld,
    /// Blind transfer to a queue or an agent.
    Transferred {
        /// Target queue, if to a queue.
        to_queue: Option<QueueId>,
        /// Target agent, if to an agent.
        to_agent: Option<AgentId>,
    },
    /// Moved to another queue by an overflow rule.
    Overflowed {
        /// From.
        from_queue: QueueId,
        /// To.
        to_queue: QueueId,
    },
    /// The customer left before an agent answered.
    Abandoned {
        /// Queue.
        queue_id: QueueId,
        /// Time waited in ms.
        waited_ms: i64,
        /// Under the short-abandon threshold (excluded from the abandon rate).
        short: bool,
    },
    /// The waiting customer was told their position and expected wait.
    Announced {
        /// 1-based position in the queue.
        position: u32,
        /// Expected wait, s (none when no agent is staffed).
        ewt_s: Option<u32>,
    },
    /// The customer asked to be called back instead of waiting.
    CallbackRequested {
        /// Queue.
        queue_id: QueueId,
        /// Number to call back (E.164).
        number: String,
    },
    /// The interaction ended.
    Ended {
        /// `completed`, `caller_hangup`, `agent_hangup`, `abandoned`,
        /// `timed_out`, `system_restart`...
        reason: String,
    },
    /// Recording started.
    RecordingStarted {
        /// File path of the recording.
        path: String,
    },
    /// Recording stopped.
    RecordingStopped,
    /// Receive quality of one leg of a call, measured at its end (RFC 3550
    /// loss and interarrival jitter; MOS from the ITU-T G.107 E-model,
    /// simplified).
    MediaQuality {
        /// `caller` or `agent`.
        leg: String,
        /// Packets lost, % of expected.
        loss_pct: f64,
        /// Interarrival jitter, ms.
        jitter_ms: f64,
        /// Estimated mean opinion score, 1.0..=4.5 (ITU-T G.107 E-model,
        /// simplified; includes half the round trip as delay when known).
        mos: f64,
        /// Round-trip time from RTCP (RFC 3550 §6.4.1), ms, when the peer
        /// sent receiver reports.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rtt_ms: Option<f64>,
    },
    /// An agent's wrap-up (after-call work) began.
    WrapUpStarted,
    /// An agent's wrap-up ended.
    WrapUpEnded,
    /// The agent recorded a disposition and notes.
    DispositionSet {
        /// Disposition code.
        code: String,
        /// Notes, if any.
        notes: Option<String>,
    },
    /// A message arrived from the customer.
    MessageIn {
        /// Text.
        text: String,
    },
    /// A message was sent to the customer.
    MessageOut {
        /// Text.
        text: String,
    },
    /// A satisfaction survey answer (CSAT 1..=5).
    SurveyAnswered {
        /// Score 1..=5.
        score: u8,
    },
    /// An agent changed ACD state.
    AgentStateChanged {
        /// New state.
        state: AgentState,
        /// Pause reason code, if paused.
        reason: Option<String>,
    },
    /// A customer record was created.
    CustomerCreated,
    /// A customer record was changed.
    CustomerUpdated,
    /// An agent merged customer `from` into `into` by hand (audit entry,
    /// logged on `into`).
    CustomersMerged {
        /// The merge record's id (what an undo names).
        merge_id: i64,
        /// The customer merged away.
        from: CustomerId,
        /// The surviving customer.
        into: CustomerId,
        /// The user who merged.
        by: UserId,
    },
    /// A merge was undone: `from` is a customer of its own again (audit
    /// entry, logged on `into`).
    MergeUndone {
        /// The merge record's id.
        merge_id: i64,
        /// The customer restored.
        from: CustomerId,
        /// The customer it had been merged into.
        into: CustomerId,
        /// The user who undid it.
        by: UserId,
    },
    /// Someone played (or downloaded) the interaction's call recording: an
    /// audit entry for who listened.
    RecordingPlayed {
        /// Username of who played it.
        user: String,
    },
    /// A supervisor's phone joined the call (SPEC §4.2).
    MonitoringStarted {
        /// The supervisor's username.
        supervisor: String,
        /// The mode it joined in.
        mode: SupervisionMode,
    },
    /// The supervisor switched mode (from the supervisor page, or DTMF
    /// 4/5/6 on its phone).
    MonitoringModeChanged {
        /// The supervisor's username.
        supervisor: String,
        /// The new mode.
        mode: SupervisionMode,
    },
    /// The supervisor's phone left the call (it hung up, was released, or
    /// the call ended).
    MonitoringEnded {
        /// The supervisor's username.
        supervisor: String,
    },
    /// The supervisor took the call over (SPEC §4.2, "reprise d'appel"):
    /// the agent (the event's agent) was let go to wrap-up and the
    /// supervisor talks with the customer until the end of the call.
    TakenOver {
        /// The supervisor's username.
        supervisor: String,
    },
    /// The chatbot answered the customer on a digital conversation (SPEC
    /// §3.4): kept apart from `message_out`, which is an agent's reply.
    BotReplied {
        /// The text sent (plain: the UI escapes it).
        text: String,
    },
    /// The chatbot handed the conversation to an agent (SPEC §3.4): what
    /// the agent's screen-pop shows.
    BotHandedOver {
        /// Why (`customer_asked`, `low_confidence`, `ambiguous`,
        /// `failed_turns`, `negative_feedback`, `lookup_failed`,
        /// `identity_not_verified`).
        reason: String,
        /// The last intent detected: `faq:<article id>`,
        /// `self_service:<flow>` or `unknown`.
        intent: String,
        /// Knowledge-base articles sent or proposed, in order.
        articles_tried: Vec<String>,
        /// The conversation with the bot, oldest first.
        transcript: Vec<BotLine>,
    },
}

/// One line of a bot conversation's transcript ([`EventKind::BotHandedOver`]).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotLine {
    /// When it was written.
    pub at: Timestamp,
    /// `customer` or `bot`.
    pub from: String,
    /// The text (one-time codes masked).
    pub text: String,
}

impl EventKind {
    /// The `type` tag of this kind (`"answered"`, `"queued"`...), stored in its
    /// own column so the log can be filtered by kind.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::InteractionCreated { .. } => "interaction_created",
            EventKind::IvrStep { .. } => "ivr_step",
            EventKind::Queued { .. } => "queued",
            EventKind::Offered { .. } => "offered",
            EventKind::OfferRejected { .. } => "offer_rejected",
            EventKind::Rona { .. } => "rona",
            EventKind::Answered { .. } => "answered",
            EventKind::Held => "held",
            EventKind::Unheld => "unheld",
            EventKind::Transferred { .. } => "transferred",
            EventKind::Overflowed { .. } => "overflowed",
            EventKind::Abandoned { .. } => "abandoned",
            EventKind::Announced { .. } => "announced",
            EventKind::CallbackRequested { .. } => "callback_requested",
            EventKind::Ended { .. } => "ended",
            EventKind::RecordingStarted { .. } => "recording_started",
            EventKind::RecordingStopped => "recording_stopped",
            EventKind::MediaQuality { .. } => "media_quality",
            EventKind::WrapUpStarted => "wrap_up_started",
            EventKind::WrapUpEnded => "wrap_up_ended",
            EventKind::DispositionSet { .. } => "disposition_set",
            EventKind::MessageIn { .. } => "message_in",
            EventKind::MessageOut { .. } => "message_out",
            EventKind::SurveyAnswered { .. } => "survey_answered",
            EventKind::AgentStateChanged { .. } => "agent_state_changed",
            EventKind::CustomerCreated => "customer_created",
            EventKind::CustomerUpdated => "customer_updated",
            EventKind::RecordingPlayed { .. } => "recording_played",
            EventKind::CustomersMerged { .. } => "customers_merged",
            EventKind::MergeUndone { .. } => "merge_undone",
            EventKind::MonitoringStarted { .. } => "monitoring_started",
            EventKind::MonitoringModeChanged { .. } => "monitoring_mode_changed",
            EventKind::MonitoringEnded { .. } => "monitoring_ended",
            EventKind::TakenOver { .. } => "taken_over",
            EventKind::BotReplied { .. } => "bot_replied",
            EventKind::BotHandedOver { .. } => "bot_handed_over",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_tag_matches_name() {
        let kinds = [
            EventKind::Answered {
                queue_id: Some(QueueId(1)),
                waited_ms: 1200,
            },
            EventKind::Held,
            EventKind::Abandoned {
                queue_id: QueueId(2),
                waited_ms: 3000,
                short: true,
            },
            EventKind::AgentStateChanged {
                state: AgentState::Paused,
                reason: Some("lunch".into()),
            },
            EventKind::RecordingPlayed {
                user: "supervisor".into(),
            },
            EventKind::MonitoringStarted {
                supervisor: "sup".into(),
                mode: SupervisionMode::Whisper,
            },
            EventKind::MonitoringModeChanged {
                supervisor: "sup".into(),
                mode: SupervisionMode::Barge,
            },
            EventKind::MonitoringEnded {
                supervisor: "sup".into(),
            },
            EventKind::TakenOver {
                supervisor: "sup".into(),
            },
            EventKind::BotReplied {
                text: "Bonjour".into(),
            },
            EventKind::BotHandedOver {
                reason: "customer_asked".into(),
                intent: "faq:hours.fr".into(),
                articles_tried: vec!["hours.fr".into()],
                transcript: vec![BotLine {
                    at: Timestamp::from_millis(5),
                    from: "customer".into(),
                    text: "conseiller".into(),
                }],
            },
            EventKind::CustomersMerged {
                merge_id: 3,
                from: CustomerId(7),
                into: CustomerId(2),
                by: UserId(1),
            },
            EventKind::MergeUndone {
                merge_id: 3,
                from: CustomerId(7),
                into: CustomerId(2),
                by: UserId(1),
            },
        ];
        for k in kinds {
            let v = serde_json::to_value(&k).unwrap();
            assert_eq!(v["type"], k.name());
            let back: EventKind = serde_json::from_value(v).unwrap();
            assert_eq!(back, k);
        }
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let r: Result<EventKind, _> =
            serde_json::from_str(r#"{"type":"queued","queue_id":1,"priority":0,"extra":1}"#);
        assert!(r.is_err());
    }
}
