//! Messages the engine pushes to desktops over the WebSocket
//! (`/api/v1/ws`). Schema version 1: every message is a JSON object with
//! `"v": 1` and a `"type"`:
//!
//! | type | to | fields |
//! |---|---|---|
//! | `offer` | the agent | `interaction_id`, `channel`, `queue`, `ring_until`, `screen_pop` |
//! | `offer_cancelled` | the agent | `interaction_id`, `reason` (`answered_elsewhere`, `abandoned`, `rona`, `rejected`, `agent_logged_out`) |
//! | `answered` | the agent | `interaction_id` |
//! | `ended` | the agent | `interaction_id`, `reason` |
//! | `agent_state` | the agent and supervisors | `agent_id`, `state`, `reason` |
//! | `message` | the agent | `interaction_id`, `direction` (`in`, `out`), `text`, `at` |
//! | `typing` | the agent | `interaction_id` (the customer is typing; at most every 2 s) |
//! | `transferred` | the agent | `interaction_id`, `to` (`queue:NAME` or `agent:ID`) |
//! | `queue_stats` | supervisors | `name`, `queue`, `waiting`, `longest_wait_ms`, `agents_available`, `agents_busy`, `agents_wrap_up`, `agents_paused`, `service_level_pct`, `asa_s`, `counters`, `aht_s` |

use domain::{AgentId, Channel, Customer, Interaction, InteractionId, Timestamp};
use serde::Serialize;

/// Who receives a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// One agent's sessions.
    Agent(AgentId),
    /// Every supervisor and admin session.
    Supervisors,
}

/// A message and its audience.
#[derive(Clone, Debug)]
pub struct Envelope {
    /// Who gets it.
    pub audience: Audience,
    /// What.
    pub message: Push,
}

/// The screen-pop: what the agent sees before answering (SPEC §1.5).
#[derive(Clone, Debug, Serialize)]
pub struct ScreenPop {
    /// The customer's record, if known.
    pub customer: Option<Customer>,
    /// The caller's number as presented.
    pub caller: String,
    /// The IVR path taken (nodes, digits, lookups), if any.
    pub ivr_trace: Option<serde_json::Value>,
    /// Their last interactions on every channel, newest first.
    pub history: Vec<Interaction>,
    /// The outbound card of a campaign call; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<CampaignPop>,
    /// The chatbot's hand-over record (SPEC §3.4); absent when no bot
    /// served the conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot: Option<BotPop>,
}

/// What the chatbot hands to the agent with a conversation (SPEC §3.4).
#[derive(Clone, Debug, Serialize)]
pub struct BotPop {
    /// Why it handed over (`customer_asked`, `low_confidence`, ...).
    pub reason: String,
    /// The last intent: `faq:<article>`, `self_service:<flow>`, `unknown`.
    pub intent: String,
    /// Knowledge-base articles sent or proposed, in order.
    pub articles_tried: Vec<String>,
    /// The conversation with the bot, oldest first (plain text: escape it).
    pub transcript: Vec<domain::BotLine>,
}

/// The campaign of an outbound call, on its screen-pop.
#[derive(Clone, Debug, Serialize)]
pub struct CampaignPop {
    /// The campaign.
    pub id: crate::DialCampaignId,
    /// Its name.
    pub name: String,
    /// Which attempt this is for the contact (1 = the first call).
    pub attempt: u32,
    /// The campaign's script with its placeholders filled, if it has one.
    pub script: Option<String>,
}

/// A pushed message (schema v1).
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Push {
    /// An interaction is offered (the phone rings now).
    Offer {
        /// The interaction.
        interaction_id: InteractionId,
        /// Its channel.
        channel: Channel,
        /// Queue name.
        queue: String,
        /// When ring-no-answer happens.
        ring_until: Timestamp,
        /// Screen-pop.
        screen_pop: Box<ScreenPop>,
    },
    /// The offer was withdrawn.
    OfferCancelled {
        /// The interaction.
        interaction_id: InteractionId,
        /// `answered_elsewhere`, `abandoned`, `rona`, `rejected`.
        reason: String,
    },
    /// The agent is connected.
    Answered {
        /// The interaction.
        interaction_id: InteractionId,
    },
    /// The interaction ended.
    Ended {
        /// The interaction.
        interaction_id: InteractionId,
        /// End reason.
        reason: String,
    },
    /// An agent's ACD state changed.
    AgentState {
        /// The agent.
        agent_id: AgentId,
        /// `available`, `reserved`, `busy`, `wrap_up`, `paused`, `logged_out`.
        state: String,
        /// Pause reason.
        reason: Option<String>,
    },
    /// A message on a digital conversation the agent has.
    Message {
        /// The conversation.
        interaction_id: InteractionId,
        /// `in` (from the customer) or `out` (an agent's reply).
        direction: String,
        /// Text.
        text: String,
        /// When it was received or queued.
        at: Timestamp,
    },
    /// The customer is typing on the agent's conversation.
    Typing {
        /// The conversation.
        interaction_id: InteractionId,
    },
    /// The agent transferred the interaction away.
    Transferred {
        /// The interaction.
        interaction_id: InteractionId,
        /// `queue:NAME` or `agent:ID`.
        to: String,
    },
    /// A campaign contact for the agent to call first (preview dialling):
    /// the agent calls or skips it, or it is dialled at `auto_dial_at`.
    Preview {
        /// The campaign.
        campaign_id: crate::DialCampaignId,
        /// Its name.
        campaign: String,
        /// The contact (row of the campaign's list).
        contact_id: i64,
        /// The number to call (E.164).
        number: String,
        /// The contact's customer record, when known (screen-pop).
        customer_id: Option<domain::CustomerId>,
        /// When it is dialled without a click (`None`: it waits).
        auto_dial_at: Option<Timestamp>,
    },
    /// The previewed contact is no longer the agent's to decide:
    /// `dialled` (by a click or the auto-dial), `skipped`, or `released`
    /// (the agent paused, took another call or logged out).
    PreviewEnded {
        /// The campaign.
        campaign_id: crate::DialCampaignId,
        /// The contact.
        contact_id: i64,
        /// Why.
        reason: String,
    },
    /// A queue's live figures (the ACD's wallboard statistics).
    QueueStats {
        /// Queue name.
        name: String,
        /// Waiting, longest wait, agents per state, service level, ASA, counters.
        #[serde(flatten)]
        stats: routing::QueueStats,
    },
}

/// The JSON text of a message: `{"v":1,"type":...}`.
pub fn to_json(p: &Push) -> String {
    let mut v = serde_json::to_value(p).unwrap_or(serde_json::Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("v".into(), serde_json::Value::from(1));
    }
    v.to_string()
}
