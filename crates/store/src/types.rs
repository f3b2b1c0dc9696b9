//! Inputs, filters and records that belong to the store's API.

use domain::{
    AgentId, Capacity, Channel, ChannelIdentity, CustomerId, Direction, Event, Interaction,
    PhoneNumber, QueueId, Role, Segment, ServiceLevel, SkillLevel, Strategy, Timestamp, UserId,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One identity key of a customer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Identity {
    /// A phone number (E.164).
    Phone(PhoneNumber),
    /// An e-mail address (stored lower-cased).
    Email(String),
    /// An id on a digital channel.
    Channel(ChannelIdentity),
}

impl Identity {
    /// The `(kind, value)` pair as stored in `customer_identities`.
    pub fn key(&self) -> (&'static str, String) {
        match self {
            Identity::Phone(p) => ("phone", p.as_str().to_string()),
            Identity::Email(e) => ("email", e.trim().to_lowercase()),
            Identity::Channel(c) => (c.channel.as_str(), c.id.clone()),
        }
    }
}

/// A customer to create.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// Display name.
    pub name: String,
    /// Phone numbers (E.164).
    #[serde(default)]
    pub phones: Vec<PhoneNumber>,
    /// E-mail addresses.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Ids on digital channels.
    #[serde(default)]
    pub channel_ids: Vec<ChannelIdentity>,
    /// Segment (default mass).
    #[serde(default)]
    pub segment: Segment,
    /// Preferred language (BCP 47).
    #[serde(default)]
    pub language: Option<String>,
    /// Free attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl NewCustomer {
    /// Every identity of this customer, in a stable order.
    pub fn identities(&self) -> Vec<Identity> {
        identities_of(&self.phones, &self.emails, &self.channel_ids)
    }
}

pub(crate) fn identities_of(
    phones: &[PhoneNumber],
    emails: &[String],
    channel_ids: &[ChannelIdentity],
) -> Vec<Identity> {
    phones
        .iter()
        .cloned()
        .map(Identity::Phone)
        .chain(emails.iter().cloned().map(Identity::Email))
        .chain(channel_ids.iter().cloned().map(Identity::Channel))
        .collect()
}

/// Fields of a customer to change; `None` leaves a field as it is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    /// New name.
    pub name: Option<String>,
    /// New phone list (replaces the old one).
    pub phones: Option<Vec<PhoneNumber>>,
    /// New e-mail list (replaces the old one).
    pub emails: Option<Vec<String>>,
    /// New channel id list (replaces the old one).
    pub channel_ids: Option<Vec<ChannelIdentity>>,
    /// New segment.
    pub segment: Option<Segment>,
    /// New preferred language.
    pub language: Option<String>,
    /// New attributes (replace the old ones).
    pub attributes: Option<BTreeMap<String, String>>,
}

/// An agent to create.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    /// Login (also the SIP user of their phone).
    pub login: String,
    /// Display name.
    pub name: String,
    /// Skills with levels 1..=10.
    #[serde(default)]
    pub skills: Vec<SkillLevel>,
    /// Languages spoken.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Per-channel capacity.
    #[serde(default)]
    pub capacity: Capacity,
}

/// An agent's new profile (the login, their SIP user, does not change).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentUpdate {
    /// Display name, not empty.
    pub name: String,
    /// Skills with levels 1..=10 (replaces the list).
    #[serde(default)]
    pub skills: Vec<SkillLevel>,
    /// Languages spoken, BCP 47 (replaces the list).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Per-channel capacity (voice 0 or 1).
    #[serde(default)]
    pub capacity: Capacity,
}

/// A user's new role, agent link and status (the username and password are
/// changed elsewhere).
#[derive(Clone, Debug, PartialEq)]
pub struct UserUpdate {
    /// Role.
    pub role: Role,
    /// Linked agent, or none.
    pub agent_id: Option<AgentId>,
    /// Suspended: cannot log in, and their sessions end.
    pub disabled: bool,
}

/// A queue to create, or a queue's new settings.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewQueue {
    /// Unique name.
    pub name: String,
    /// Required skills with minimum levels.
    #[serde(default)]
    pub required_skills: Vec<SkillLevel>,
    /// Strategy.
    #[serde(default)]
    pub strategy: Strategy,
    /// Service-level target.
    #[serde(default)]
    pub service_level: ServiceLevel,
    /// Wrap-up time, s.
    #[serde(default = "default_wrap_up_s")]
    pub wrap_up_s: u32,
    /// Longest wait, s.
    #[serde(default = "default_max_wait_s")]
    pub max_wait_s: u32,
    /// Ring time-out before RONA, s.
    #[serde(default = "default_ring_timeout_s")]
    pub ring_timeout_s: u32,
    /// Base priority.
    #[serde(default)]
    pub priority: i32,
}

fn default_wrap_up_s() -> u32 {
    30
}
fn default_max_wait_s() -> u32 {
    600
}
fn default_ring_timeout_s() -> u32 {
    15
}

impl NewQueue {
    /// `service_level.within_s`, s.
    pub const SL_WITHIN_S: std::ops::RangeInclusive<u32> = 1..=3600;
    /// `wrap_up_s`, s (0: no wrap-up).
    pub const WRAP_UP_S: std::ops::RangeInclusive<u32> = 0..=3600;
    /// `max_wait_s`, s (0: no maximum; the ACD never times the wait out).
    pub const MAX_WAIT_S: std::ops::RangeInclusive<u32> = 0..=86_400;
    /// `ring_timeout_s`, s: how long an agent's phone rings before RONA.
    pub const RING_TIMEOUT_S: std::ops::RangeInclusive<u32> = 1..=600;
    /// `priority`.
    pub const PRIORITY: std::ops::RangeInclusive<i32> = -1000..=1000;

    /// Every bad field with its message, in field order; empty when the
    /// settings are valid. The one set of queue rules, used by the API
    /// (`PUT /api/v1/queues`, through [`Self::validate`]) and the admin
    /// form: `name` 1 to 64 letters, digits, `_` or `-`; each required skill
    /// a name of the same kind at level 1 to 10; `service_level.percent` 0 to
    /// 100; and the ranges of the constants above.
    pub fn field_errors(&self) -> Vec<(&'static str, String)> {
        fn range<T: PartialOrd + std::fmt::Display>(
            out: &mut Vec<(&'static str, String)>,
            field: &'static str,
            v: T,
            r: &std::ops::RangeInclusive<T>,
        ) {
            if !r.contains(&v) {
                out.push((
                    field,
                    format!("a whole number from {} to {}", r.start(), r.end()),
                ));
            }
        }
        let code = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        let mut out = Vec::new();
        if !code(&self.name) {
            out.push((
                "name",
                "1 to 64 characters: letters, digits, '_' or '-'".to_string(),
            ));
        }
        if let Some(bad) = self
            .required_skills
            .iter()
            .find(|s| !code(&s.skill) || s.validate().is_err())
        {
            out.push((
                "required_skills",
                format!(
                    "{}:{}: write skill:level, level 1 to 10 (e.g. french:3)",
                    bad.skill, bad.level
                ),
            ));
        }
        if !(0.0..=100.0).contains(&self.service_level.percent) {
            out.push(("sl_percent", "a number from 0 to 100".to_string()));
        }
        range(
            &mut out,
            "sl_within_s",
            self.service_level.within_s,
            &Self::SL_WITHIN_S,
        );
        range(&mut out, "wrap_up_s", self.wrap_up_s, &Self::WRAP_UP_S);
        range(&mut out, "max_wait_s", self.max_wait_s, &Self::MAX_WAIT_S);
        range(
            &mut out,
            "ring_timeout_s",
            self.ring_timeout_s,
            &Self::RING_TIMEOUT_S,
        );
        range(&mut out, "priority", self.priority, &Self::PRIORITY);
        out
    }

    /// Check the settings ([`Self::field_errors`]).
    ///
    /// # Errors
    /// `"field: message"` for the first bad field.
    pub fn validate(&self) -> Result<(), String> {
        match self.field_errors().into_iter().next() {
            Some((field, msg)) => Err(format!("{field}: {msg}")),
            None => Ok(()),
        }
    }
}

/// An interaction to create.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInteraction {
    /// Channel.
    pub channel: Channel,
    /// Direction.
    pub direction: Direction,
    /// Customer, if known.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// Queue, if any yet.
    #[serde(default)]
    pub queue_id: Option<QueueId>,
    /// Agent, if any yet.
    #[serde(default)]
    pub agent_id: Option<AgentId>,
    /// Start time.
    pub started_at: Timestamp,
}

/// Which interactions to list (all set fields must match).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InteractionFilter {
    /// Of this customer, or of a customer merged into it.
    pub customer_id: Option<CustomerId>,
    /// Handled by this agent.
    pub agent_id: Option<AgentId>,
    /// Through this queue.
    pub queue_id: Option<QueueId>,
    /// On this channel.
    pub channel: Option<Channel>,
    /// Started at or after.
    pub from: Option<Timestamp>,
    /// Started before.
    pub to: Option<Timestamp>,
    /// At most this many (clamped to 1..=1000).
    pub limit: i64,
    /// Skip this many.
    pub offset: i64,
}

impl Default for InteractionFilter {
    fn default() -> Self {
        Self {
            customer_id: None,
            agent_id: None,
            queue_id: None,
            channel: None,
            from: None,
            to: None,
            limit: 100,
            offset: 0,
        }
    }
}

/// Which events to list (all set fields must match), in `seq` order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventFilter {
    /// Of this interaction.
    pub interaction_id: Option<domain::InteractionId>,
    /// Of this customer, or of a customer merged into it.
    pub customer_id: Option<CustomerId>,
    /// Of this agent.
    pub agent_id: Option<AgentId>,
    /// Of this kind (`answered`, ...).
    pub kind: Option<String>,
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub to: Option<Timestamp>,
    /// Only events with `seq` greater than this (for tailing the log).
    pub after_seq: Option<i64>,
    /// At most this many (clamped to 1..=10000).
    pub limit: i64,
}

impl Default for EventFilter {
    fn default() -> Self {
        Self {
            interaction_id: None,
            customer_id: None,
            agent_id: None,
            kind: None,
            from: None,
            to: None,
            after_seq: None,
            limit: 1000,
        }
    }
}

/// One entry of a customer's timeline.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// The interaction.
    pub interaction: Interaction,
    /// Its events, in order.
    pub events: Vec<Event>,
}

/// A user's TOTP enrolment (issue 18).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpRecord {
    /// The shared secret, Base32 (RFC 4648).
    pub secret: String,
    /// Confirmed by a first valid code: login asks for a code.
    pub active: bool,
    /// The last accepted time step (RFC 6238 `T`), refusing replays.
    pub last_step: Option<u64>,
}

/// One open session of a user, as listed to that user (never the token).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Public id: the first 16 hex characters of the token's SHA-256.
    pub id: String,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it was last used (idle timeout counts from here).
    pub last_seen_at: Timestamp,
    /// Absolute end of its lifetime.
    pub expires_at: Timestamp,
}

/// A user account.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Row id.
    pub id: UserId,
    /// Login name.
    pub username: String,
    /// Password hash, PHC string (argon2id). Never serialised.
    #[serde(skip_serializing, default)]
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// The agent record of this user, if an agent.
    pub agent_id: Option<AgentId>,
    /// Suspended accounts cannot log in.
    pub disabled: bool,
    /// Creation time.
    pub created_at: Timestamp,
}

/// A user to create.
#[derive(Clone, Debug, PartialEq)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Password hash (PHC string).
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Linked agent.
    pub agent_id: Option<AgentId>,
}

/// A message to queue in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewOutboxMessage {
    /// Channel to send on.
    pub channel: Channel,
    /// Recipient on that channel (E.164, e-mail, channel id).
    pub recipient: String,
    /// Text.
    pub body: String,
    /// The interaction it belongs to.
    pub interaction_id: Option<domain::InteractionId>,
    /// The customer.
    pub customer_id: Option<CustomerId>,
    /// Why it is sent: `survey`, `ivr_unavailable`, `ivr_first_message`, `agent_reply`...
    pub purpose: String,
}

/// A message in the outbox.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Row id.
    pub id: i64,
    /// Channel.
    pub channel: Channel,
    /// Recipient.
    pub recipient: String,
    /// Text.
    pub body: String,
    /// Interaction.
    pub interaction_id: Option<domain::InteractionId>,
    /// Customer.
    pub customer_id: Option<CustomerId>,
    /// Purpose.
    pub purpose: String,
    /// `queued`, `sending`, `sent`, `delivered`, `failed`.
    pub status: String,
    /// Send attempts so far.
    pub attempts: i64,
    /// When queued.
    pub created_at: Timestamp,
    /// When a `queued` row is due for its next attempt.
    pub next_attempt_at: Timestamp,
    /// When the attempt in flight began (`sending`).
    pub claimed_at: Option<Timestamp>,
    /// The last send error or failure status, kept after a retry succeeds.
    pub last_error: Option<String>,
    /// The provider's id of the message (the first part's, for SMS).
    pub provider_message_id: Option<String>,
    /// When the provider accepted it.
    pub sent_at: Option<Timestamp>,
    /// When delivery (or failure) was reported.
    pub delivered_at: Option<Timestamp>,
}

/// Where an outbox row goes after an attempt or a delivery report (written by
/// the dispatcher from `channels::outbox`'s state machine).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OutboxTransition {
    /// Try again at `due` after `error`.
    Retry {
        /// When the next attempt is due.
        due: Timestamp,
        /// What went wrong.
        error: String,
    },
    /// The provider accepted it: its ids, one per part (recorded in the
    /// message id index so delivery receipts find the row).
    Sent {
        /// Provider ids.
        provider_message_ids: Vec<String>,
    },
    /// Delivered (or read): final.
    Delivered,
    /// Given up, or the provider reported failure: final.
    Failed {
        /// The last error or the provider's status.
        reason: String,
    },
}

impl OutboxTransition {
    /// The `status` column value after this transition.
    pub fn status(&self) -> &'static str {
        match self {
            OutboxTransition::Retry { .. } => "queued",
            OutboxTransition::Sent { .. } => "sent",
            OutboxTransition::Delivered => "delivered",
            OutboxTransition::Failed { .. } => "failed",
        }
    }
}

/// A provider message id and what it belongs to (e-mail threading, delivery
/// receipts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageRef {
    /// Channel of the message.
    pub channel: Channel,
    /// The provider's id (`Message-ID` without brackets, SMSC id, `wamid.…`).
    pub message_id: String,
    /// The conversation it belongs to.
    pub interaction_id: Option<domain::InteractionId>,
    /// Our outbox row, for ids of messages we sent; `None` for inbound ones.
    pub outbox_id: Option<i64>,
    /// The e-mail subject, when there is one.
    pub subject: Option<String>,
    /// When it was recorded.
    pub at: Timestamp,
}
