//! Records of the contact center: customers, agents, queues, interactions,
//! dispositions, and the small enums they share (channel, segment, strategy).

use crate::{AgentId, CustomerId, DispositionId, InteractionId, PhoneNumber, QueueId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A channel an interaction travels on (SPEC §1, §3.1).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A phone call (SIP).
    Voice,
    /// SMS through the operator's SMSC (SMPP).
    Sms,
    /// WhatsApp Business Cloud API.
    Whatsapp,
    /// Facebook Messenger (Graph API).
    Messenger,
    /// Instagram direct messages (Graph API).
    Instagram,
    /// E-mail (SMTP/IMAP).
    Email,
    /// The embeddable web chat widget.
    Webchat,
}

impl Channel {
    /// Every channel, in display order.
    pub const ALL: [Channel; 7] = [
        Channel::Voice,
        Channel::Sms,
        Channel::Whatsapp,
        Channel::Messenger,
        Channel::Instagram,
        Channel::Email,
        Channel::Webchat,
    ];

    /// The stable lower-case name used in the database and JSON (`"voice"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Voice => "voice",
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
            Channel::Messenger => "messenger",
            Channel::Instagram => "instagram",
            Channel::Email => "email",
            Channel::Webchat => "webchat",
        }
    }

    /// Inverse of [`Channel::as_str`].
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Who started an interaction.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The customer called or wrote.
    Inbound,
    /// The platform or an agent called or wrote (campaigns, callbacks, replies).
    Outbound,
}

impl Direction {
    /// `"inbound"` or `"outbound"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    /// Inverse of [`Direction::as_str`].
    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "inbound" => Some(Direction::Inbound),
            "outbound" => Some(Direction::Outbound),
            _ => None,
        }
    }
}

/// Customer category from the operator's database (SPEC §1.3 R4). Routing
/// priority follows [`Segment::priority`]: VIP > business > mass.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// Mass market (the default).
    #[default]
    Mass,
    /// Business accounts.
    Business,
    /// Very important customers.
    Vip,
}

impl Segment {
    /// Base routing priority of the segment (higher is served first):
    /// mass 0, business 50, VIP 100.
    pub fn priority(self) -> i32 {
        match self {
            Segment::Mass => 0,
            Segment::Business => 50,
            Segment::Vip => 100,
        }
    }

    /// `"mass"`, `"business"` or `"vip"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Mass => "mass",
            Segment::Business => "business",
            Segment::Vip => "vip",
        }
    }

    /// Inverse of [`Segment::as_str`] (case-insensitive).
    pub fn parse(s: &str) -> Option<Segment> {
        match s.to_ascii_lowercase().as_str() {
            "mass" => Some(Segment::Mass),
            "business" => Some(Segment::Business),
            "vip" => Some(Segment::Vip),
            _ => None,
        }
    }
}

/// A non-phone identity of a customer on a digital channel.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelIdentity {
    /// The channel the id belongs to (`whatsapp`, `messenger`, `instagram`, `webchat`).
    pub channel: Channel,
    /// The id on that channel: a WhatsApp id, a page-scoped id, a visitor id.
    pub id: String,
}

/// A customer: the person behind calls and messages, with every identity we
/// know them by (SPEC §3.3).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Row id.
    pub id: CustomerId,
    /// Display name.
    pub name: String,
    /// Phone numbers in E.164.
    pub phones: Vec<PhoneNumber>,
    /// E-mail addresses, lower-cased.
    pub emails: Vec<String>,
    /// Ids on digital channels.
    pub channel_ids: Vec<ChannelIdentity>,
    /// Customer category.
    pub segment: Segment,
    /// Preferred language as a BCP 47 tag (`fr`, `en`, `wo`, `fon`), if known.
    pub language: Option<String>,
    /// Free attributes from the operator's systems (string → string).
    pub attributes: BTreeMap<String, String>,
    /// When the record was created.
    pub created_at: Timestamp,
    /// When the record last changed.
    pub updated_at: Timestamp,
    /// Set when an agent merged this record into another customer: the
    /// survivor, which now holds this record's identities and interactions
    /// (absent while the record is live).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<CustomerId>,
}

/// A skill an agent has, with a level from 1 (novice) to 10 (expert).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillLevel {
    /// Skill name, e.g. `billing`, `french`.
    pub skill: String,
    /// 1..=10.
    pub level: u8,
}

impl SkillLevel {
    /// Checks `level` is within 1..=10.
    ///
    /// # Errors
    /// A message naming the skill when the level is out of range.
    pub fn validate(&self) -> Result<(), String> {
        if self.skill.trim().is_empty() {
            return Err("skill name is empty".into());
        }
        if !(1..=10).contains(&self.level) {
            return Err(format!(
                "skill {:?}: level {} is not within 1..=10",
                self.skill, self.level
            ));
        }
        Ok(())
    }
}

/// How many interactions of each kind an agent may hold at once.
///
/// A voice call is exclusive by default: while on a call the agent gets no new
/// digital tasks unless `chat_during_voice` is set.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Capacity {
    /// Concurrent voice calls (0 or 1).
    pub voice: u8,
    /// Concurrent chat-like conversations (SMS, WhatsApp, Messenger, Instagram, web chat).
    pub chat: u8,
    /// Concurrent e-mail threads.
    pub email: u8,
    /// May new digital tasks arrive while on a voice call?
    pub chat_during_voice: bool,
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            voice: 1,
            chat: 3,
            email: 5,
            chat_during_voice: false,
        }
    }
}

/// An agent as the ACD sees them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Row id.
    pub id: AgentId,
    /// Login name (also the SIP user of their phone).
    pub login: String,
    /// Display name.
    pub name: String,
    /// Skills with levels.
    pub skills: Vec<SkillLevel>,
    /// Languages spoken (BCP 47).
    pub languages: Vec<String>,
    /// Per-channel capacity.
    pub capacity: Capacity,
}

/// How the ACD picks among eligible agents (SPEC §1.4).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The agent idle the longest.
    #[default]
    LongestIdle,
    /// Next agent after the last one offered, in a fixed order.
    RoundRobin,
    /// The agent who handled the fewest interactions today.
    LeastCalls,
    /// Ring every eligible agent; the first to answer wins.
    RingAll,
    /// A random eligible agent.
    Random,
    /// Highest skill level first, ties by idle time.
    SkillsWeighted,
    /// Always in the same order (the first available in the list).
    Linear,
}

impl Strategy {
    /// The snake_case name used in config and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::LongestIdle => "longest_idle",
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastCalls => "least_calls",
            Strategy::RingAll => "ring_all",
            Strategy::Random => "random",
            Strategy::SkillsWeighted => "skills_weighted",
            Strategy::Linear => "linear",
        }
    }

    /// Inverse of [`Strategy::as_str`].
    pub fn parse(s: &str) -> Option<Strategy> {
        [
            Strategy::LongestIdle,
            Strategy::RoundRobin,
            Strategy::LeastCalls,
            Strategy::RingAll,
            Strategy::Random,
            Strategy::SkillsWeighted,
            Strategy::Linear,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A service-level target: `percent` % of interactions answered within
/// `within_s` seconds (e.g. 80 % in 20 s).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceLevel {
    /// Target share answered in time, 0..=100 %.
    pub percent: f64,
    /// Threshold in seconds.
    pub within_s: u32,
}

impl Default for ServiceLevel {
    fn default() -> Self {
        Self {
            percent: 80.0,
            within_s: 20,
        }
    }
}

/// An ACD queue's configuration.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    /// Row id.
    pub id: QueueId,
    /// Unique short name (`general`, `vip`, `business`).
    pub name: String,
    /// Skills (with minimum level) an agent needs to be offered this queue's tasks.
    pub required_skills: Vec<SkillLevel>,
    /// Agent selection strategy.
    pub strategy: Strategy,
    /// Service-level target.
    pub service_level: ServiceLevel,
    /// Wrap-up (after-call work) time in seconds.
    pub wrap_up_s: u32,
    /// Longest a task may wait before the queue's exit, in seconds.
    pub max_wait_s: u32,
    /// How long an offer rings before ring-no-answer (RONA), in seconds.
    pub ring_timeout_s: u32,
    /// Base priority added to every task of this queue.
    pub priority: i32,
}

/// A disposition: the outcome an agent records at wrap-up.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disposition {
    /// Row id.
    pub id: DispositionId,
    /// Stable code (`resolved`, `callback_requested`...).
    pub code: String,
    /// Label shown to agents.
    pub label: String,
}

/// One interaction on any channel (ARCHITECTURE.md, principle 2).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// Row id.
    pub id: InteractionId,
    /// Channel.
    pub channel: Channel,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The customer.
    pub customer_id: Option<CustomerId>,
    /// The queue it went through, if any.
    pub queue_id: Option<QueueId>,
    /// The agent who handled it, if any.
    pub agent_id: Option<AgentId>,
    /// When it began (call arrived, first message).
    pub started_at: Timestamp,
    /// When an agent answered.
    pub answered_at: Option<Timestamp>,
    /// When it ended.
    pub ended_at: Option<Timestamp>,
    /// Why it ended (`completed`, `abandoned`, `system_restart`...).
    pub end_reason: Option<String>,
    /// Disposition code chosen at wrap-up.
    pub disposition: Option<String>,
    /// Agent notes.
    pub notes: Option<String>,
    /// Path of the call recording, if recorded.
    pub recording: Option<String>,
}

/// A user's role (least privilege, SPEC §7.2). Full IAM comes later; every
/// API route requires at least one of these.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Configures the platform and manages users.
    Admin,
    /// Watches queues and agents, reads reports and every interaction.
    Supervisor,
    /// Handles interactions; reads only what that needs.
    Agent,
}

impl Role {
    /// `"admin"`, `"supervisor"` or `"agent"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
        }
    }

    /// Inverse of [`Role::as_str`].
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "supervisor" => Some(Role::Supervisor),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}
