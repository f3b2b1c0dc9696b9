//! Agents as the router sees them: presence (logged out, ready, paused with a
//! reason), wrap-up, held tasks per channel class, the pending offer, and the
//! capacity rule that decides which channel classes they can take now.

use domain::{AgentId, Capacity, Channel, InteractionId, Timestamp};
use serde::Serialize;

use crate::config::AgentProfile;
use crate::decision::OfferId;

/// The three capacity classes of channels: a voice call, a chat-like
/// conversation (SMS, WhatsApp, Messenger, Instagram, web chat), an e-mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ChannelClass {
    /// Phone calls.
    Voice,
    /// Conversations counted against `Capacity::chat`.
    Chat,
    /// E-mail threads counted against `Capacity::email`.
    Email,
}

impl ChannelClass {
    /// All classes, in index order.
    pub const ALL: [ChannelClass; 3] =
        [ChannelClass::Voice, ChannelClass::Chat, ChannelClass::Email];

    /// The class a channel counts against.
    pub fn of(channel: Channel) -> Self {
        match channel {
            Channel::Voice => ChannelClass::Voice,
            Channel::Email => ChannelClass::Email,
            Channel::Sms
            | Channel::Whatsapp
            | Channel::Messenger
            | Channel::Instagram
            | Channel::Webchat => ChannelClass::Chat,
        }
    }

    /// 0, 1 or 2.
    pub fn idx(self) -> usize {
        self as usize
    }

    /// The capacity of this class in `cap`.
    pub fn limit(self, cap: &Capacity) -> u8 {
        match self {
            ChannelClass::Voice => cap.voice,
            ChannelClass::Chat => cap.chat,
            ChannelClass::Email => cap.email,
        }
    }
}

/// An agent's state as shown on wallboards. When several apply, the first in
/// this order wins: logged out, reserved, busy, wrap-up, paused, available.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum AgentStatus {
    /// Not logged in.
    LoggedOut,
    /// Ringing: an offer is pending.
    Reserved,
    /// On at least one interaction (through the ACD or not).
    Busy,
    /// After-call work; gets nothing from any queue until it ends.
    WrapUp,
    /// Paused with a reason code (`break`, `lunch`, `rona`...).
    Paused(String),
    /// Logged in, ready, idle.
    Available,
}

/// Whether a queue membership is by the queue's own skill levels or only by
/// its widened levels (see [`crate::config::Widen`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Tier {
    /// Meets the queue's minimum levels.
    Normal,
    /// Meets only the widened levels: gets widened tasks only.
    Widened,
}

impl Tier {
    /// 0 or 1.
    pub fn idx(self) -> usize {
        self as usize
    }
}

/// Ordering key of an agent in a queue's availability index (smallest first).
pub(crate) type AgentKey = (i64, i64, AgentId);

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Presence {
    LoggedOut,
    Ready,
    Paused(String),
}

/// One queue an agent serves.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Membership {
    pub queue: usize,
    pub tier: Tier,
    /// Sum of the agent's levels in the queue's required skills.
    pub level_sum: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct AgentState {
    pub profile: AgentProfile,
    pub presence: Presence,
    /// In wrap-up until this instant (cleared when it ends).
    pub wrap_until: Option<Timestamp>,
    /// Queue whose timer table holds the wrap-up timer.
    pub wrap_queue: usize,
    pub held: [u8; 3],
    pub tasks: Vec<InteractionId>,
    /// On a call that did not come through the ACD.
    pub external_busy: bool,
    pub offer: Option<OfferId>,
    pub idle_since: i64,
    pub calls_today: u32,
    pub rona_misses: u32,
    pub memberships: Vec<Membership>,
    /// Entries currently in queue availability indexes.
    pub indexed: Vec<(usize, Tier, ChannelClass, AgentKey)>,
    pub status: AgentStatus,
    pub status_since: Timestamp,
}

impl AgentState {
    pub fn new(profile: AgentProfile, now: Timestamp) -> Self {
        Self {
            profile,
            presence: Presence::Ready,
            wrap_until: None,
            wrap_queue: 0,
            held: [0; 3],
            tasks: Vec::new(),
            external_busy: false,
            offer: None,
            idle_since: now.as_millis(),
            calls_today: 0,
            rona_misses: 0,
            memberships: Vec::new(),
            indexed: Vec::new(),
            status: AgentStatus::Available,
            status_since: now,
        }
    }

    pub fn id(&self) -> AgentId {
        self.profile.id
    }

    /// Level of a skill, 0 when the agent lacks it.
    pub fn level(&self, skill: &str) -> u8 {
        self.profile
            .skills
            .iter()
            .find(|s| s.skill == skill)
            .map_or(0, |s| s.level)
    }

    /// Can a new task of `class` be offered right now? Voice is exclusive
    /// unless `chat_during_voice`: a voice call (or a non-ACD call) blocks
    /// digital tasks, and any digital task blocks a voice offer.
    pub fn can_take(&self, class: ChannelClass) -> bool {
        self.able(class, false)
    }

    /// [`AgentState::can_take`], optionally as if no offer were pending.
    pub fn able(&self, class: ChannelClass, ignore_offer: bool) -> bool {
        if self.presence != Presence::Ready
            || self.wrap_until.is_some()
            || (self.offer.is_some() && !ignore_offer)
        {
            return false;
        }
        let cap = &self.profile.capacity;
        if self.held[class.idx()] >= class.limit(cap) {
            return false;
        }
        let on_voice = self.held[0] > 0 || self.external_busy;
        let digital = self.held[1] + self.held[2];
        match class {
            ChannelClass::Voice => !self.external_busy && (digital == 0 || cap.chat_during_voice),
            ChannelClass::Chat | ChannelClass::Email => !on_voice || cap.chat_during_voice,
        }
    }

    /// Is the agent fully idle (no tasks, no offer, no wrap-up)?
    pub fn is_idle(&self) -> bool {
        self.tasks.is_empty()
            && !self.external_busy
            && self.offer.is_none()
            && self.wrap_until.is_none()
    }

    pub fn derive_status(&self) -> AgentStatus {
        match &self.presence {
            Presence::LoggedOut => AgentStatus::LoggedOut,
            _ if self.offer.is_some() => AgentStatus::Reserved,
            _ if !self.tasks.is_empty() || self.external_busy => AgentStatus::Busy,
            _ if self.wrap_until.is_some() => AgentStatus::WrapUp,
            Presence::Paused(r) => AgentStatus::Paused(r.clone()),
            Presence::Ready => AgentStatus::Available,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(cap: Capacity) -> AgentState {
        let mut p = AgentProfile::new(AgentId(1), vec![]);
        p.capacity = cap;
        AgentState::new(p, Timestamp::from_millis(0))
    }

    #[test]
    fn voice_is_exclusive_by_default() {
        let mut a = agent(Capacity::default());
        assert!(a.can_take(ChannelClass::Voice) && a.can_take(ChannelClass::Chat));
        a.held[0] = 1;
        assert!(!a.can_take(ChannelClass::Chat));
        assert!(!a.can_take(ChannelClass::Email));
        a.held = [0, 1, 0];
        assert!(!a.can_take(ChannelClass::Voice));
        assert!(a.can_take(ChannelClass::Chat));
        a.held = [0, 3, 0];
        assert!(!a.can_take(ChannelClass::Chat));
        assert!(a.can_take(ChannelClass::Email));
    }

    #[test]
    fn chat_during_voice_when_configured() {
        let mut a = agent(Capacity {
            chat_during_voice: true,
            ..Capacity::default()
        });
        a.held[0] = 1;
        assert!(a.can_take(ChannelClass::Chat));
        assert!(!a.can_take(ChannelClass::Voice));
    }

    #[test]
    fn non_acd_call_blocks() {
        let mut a = agent(Capacity::default());
        a.external_busy = true;
        assert!(!a.can_take(ChannelClass::Voice));
        assert!(!a.can_take(ChannelClass::Chat));
        assert_eq!(a.derive_status(), AgentStatus::Busy);
    }

    #[test]
    fn wrap_up_and_pause_block_everything() {
        let mut a = agent(Capacity::default());
        a.wrap_until = Some(Timestamp::from_millis(5));
        assert!(ChannelClass::ALL.iter().all(|c| !a.can_take(*c)));
        assert_eq!(a.derive_status(), AgentStatus::WrapUp);
        a.wrap_until = None;
        a.presence = Presence::Paused("lunch".into());
        assert!(ChannelClass::ALL.iter().all(|c| !a.can_take(*c)));
        assert_eq!(a.derive_status(), AgentStatus::Paused("lunch".into()));
    }
}
