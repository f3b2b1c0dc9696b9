//! What goes in and out of the ACD besides agent commands: the [`Task`] to
//! route, the [`Decision`]s the engine must carry out, and the
//! [`Explanation`] of each offer.

use domain::{AgentId, Channel, InteractionId, QueueId, Segment, SkillLevel, Strategy, Timestamp};
use serde::{Deserialize, Serialize};

use crate::agent::Tier;
use crate::priority::TaskScore;

/// One interaction to route (a call, a chat, an SMS thread, an e-mail...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The interaction; also the task id inside the router.
    pub id: InteractionId,
    /// The queue it enters.
    pub queue: QueueId,
    /// Its channel (decides the capacity class).
    pub channel: Channel,
    /// The customer's segment (VIP > business > mass).
    pub segment: Segment,
    /// Extra priority points (e.g. set by the IVR), added to the score.
    pub priority: i32,
    /// Skills required on top of the queue's (e.g. a language).
    pub skills: Vec<SkillLevel>,
}

impl Task {
    /// A task with no extra priority or skills.
    pub fn new(id: InteractionId, queue: QueueId, channel: Channel, segment: Segment) -> Self {
        Self {
            id,
            queue,
            channel,
            segment,
            priority: 0,
            skills: Vec::new(),
        }
    }
}

/// Identifies one offer (one ringing episode of a task).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OfferId(pub u64);

/// Why an offer stopped ringing an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CancelReason {
    /// Another agent accepted it (ring-all).
    AnsweredElsewhere,
    /// The customer left (abandon or callback request).
    Abandoned,
    /// Ring-no-answer.
    Rona,
    /// This or another agent declined it.
    Rejected,
    /// This or another agent logged out while ringing.
    AgentLoggedOut,
}

impl From<RequeueReason> for CancelReason {
    fn from(r: RequeueReason) -> Self {
        match r {
            RequeueReason::Rona => CancelReason::Rona,
            RequeueReason::Rejected => CancelReason::Rejected,
            RequeueReason::AgentLoggedOut => CancelReason::AgentLoggedOut,
        }
    }
}

/// Why a task went back to its queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RequeueReason {
    /// Ring-no-answer: the ring time-out passed.
    Rona,
    /// The agent declined the offer.
    Rejected,
    /// The agent logged out while ringing.
    AgentLoggedOut,
}

/// An instruction for the engine, read with [`crate::Acd::poll_decision`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Decision {
    /// Ring these agents with this task. One agent, except in a ring-all
    /// queue, where the first to accept wins and the others get
    /// [`Decision::CancelOffer`]. The ring time-out is `ring_until`.
    Offer {
        /// The offer.
        offer: OfferId,
        /// The task.
        task: InteractionId,
        /// The agents to ring.
        agents: Vec<AgentId>,
        /// When ring-no-answer happens.
        ring_until: Timestamp,
    },
    /// A callback task reached the head and an agent is reserved for it:
    /// the engine offers it to `agent` and, on accept, calls the customer
    /// back. Accept, reject and ring time-out work as for an offer.
    CallbackDue {
        /// The offer.
        offer: OfferId,
        /// The task.
        task: InteractionId,
        /// The reserved agent.
        agent: AgentId,
        /// When ring-no-answer happens.
        ring_until: Timestamp,
    },
    /// Stop ringing `agent` for this task; `reason` says why.
    CancelOffer {
        /// The offer.
        offer: OfferId,
        /// The task.
        task: InteractionId,
        /// The agent to stop ringing.
        agent: AgentId,
        /// Why the offer ended for this agent.
        reason: CancelReason,
    },
    /// Tell the waiting customer their position (1 = next) and expected
    /// wait in seconds (`None` when no agent is staffed).
    Announce {
        /// The task.
        task: InteractionId,
        /// 1-based position among tasks of the same queue and channel class.
        position: u32,
        /// Expected wait, seconds (see [`crate::ewt`]).
        ewt_s: Option<u32>,
    },
    /// The task moved to another queue (it keeps its original arrival time).
    Overflow {
        /// The task.
        task: InteractionId,
        /// Queue it left.
        from: QueueId,
        /// Queue it entered.
        to: QueueId,
    },
    /// The task has been widened to agents with a lower skill level.
    Widened {
        /// The task.
        task: InteractionId,
        /// Its queue.
        queue: QueueId,
        /// The lowest level now accepted.
        min_level: u8,
    },
    /// The task reached its queue's max wait and left the ACD: the engine
    /// applies the queue's exit (voicemail, callback offer, digital channel).
    MaxWaitExit {
        /// The task.
        task: InteractionId,
        /// Its queue.
        queue: QueueId,
    },
    /// The task went back to its queue, keeping its place.
    Requeued {
        /// The task.
        task: InteractionId,
        /// Why.
        reason: RequeueReason,
    },
    /// The router paused the agent (after `rona_max_misses` ring-no-answers;
    /// reason `rona`).
    AgentPaused {
        /// The agent.
        agent: AgentId,
        /// Reason code.
        reason: String,
    },
    /// The agent's wrap-up ended (time-out or agent input).
    WrapUpEnded {
        /// The agent.
        agent: AgentId,
    },
}

/// Why one agent was chosen: the strategy's ranking inputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentScore {
    /// The agent.
    pub agent: AgentId,
    /// Membership tier in the task's queue.
    pub tier: Tier,
    /// Sum of the agent's levels in the queue's required skills.
    pub skill_level_sum: i64,
    /// How long the agent had been idle, ms.
    pub idle_ms: i64,
    /// Interactions accepted since the last statistics reset.
    pub calls_today: u32,
    /// The strategy's ordering key (smaller wins), as stored in the index.
    pub rank_key: (i64, i64),
}

/// What triggered the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Trigger {
    /// An agent became free and picked the best waiting task of its queues.
    AgentFreed,
    /// A task was waiting and the queue's strategy picked an agent.
    TaskWaiting,
}

/// The debug view of one offer: why these agents got this task.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    /// The offer.
    pub offer: OfferId,
    /// The task.
    pub task: InteractionId,
    /// Its queue at offer time.
    pub queue: QueueId,
    /// The queue's strategy.
    pub strategy: Strategy,
    /// What triggered it.
    pub trigger: Trigger,
    /// The task's score components at offer time (see [`crate::priority`]).
    pub task_score: TaskScore,
    /// The chosen agents and their ranking inputs.
    pub agents: Vec<AgentScore>,
    /// Candidates examined (tasks for [`Trigger::AgentFreed`], agents
    /// otherwise).
    pub candidates_examined: usize,
    /// When the offer was made.
    pub at: Timestamp,
}
