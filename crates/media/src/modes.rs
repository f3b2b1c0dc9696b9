//! Supervision modes (SPEC §4.2) as route presets on a call with a caller C,
//! an agent A and a supervisor S.

use crate::mixer::{Gain, MixerError, PartyId, Route, Tap};

/// Who is who on a supervised call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Roles {
    /// The customer's leg.
    pub caller: PartyId,
    /// The handling agent's leg.
    pub agent: PartyId,
    /// The supervisor's leg, once joined.
    pub supervisor: Option<PartyId>,
}

impl Roles {
    /// Whether `p` has a role.
    pub fn has(&self, p: PartyId) -> bool {
        self.caller == p || self.agent == p || self.supervisor == Some(p)
    }
}

/// How the parties hear each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// No supervisor: C ↔ A ([`crate::Mixer::passthrough`] holds when only
    /// those two are in the mix).
    Direct,
    /// Silent monitor ("double écoute"): S hears C and A; nobody hears S.
    Listen,
    /// Coaching ("soufflage"): as Listen, and A hears S; C never hears S.
    Whisper,
    /// Three-way: everyone hears everyone.
    Barge,
    /// "Reprise d'appel": C ↔ S; A hears nothing and is heard by nobody (the
    /// shell then releases A's leg to wrap-up).
    TakeOver,
}

/// Routes and recording tap of a mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    /// Every route of the mode (0 dB).
    pub routes: Vec<Route>,
    /// Recording: left = C; right = whoever speaks for the contact center
    /// and is heard (A; plus S in Whisper and Barge; S alone in TakeOver).
    /// Whisper audio is never on the caller's channel.
    pub tap: Tap,
}

impl Mode {
    /// The mode a supervisor's DTMF digit selects, like Asterisk ChanSpy:
    /// 4 listen, 5 whisper, 6 barge. Other digits: `None`.
    pub fn from_dtmf(digit: char) -> Option<Mode> {
        match digit {
            '4' => Some(Mode::Listen),
            '5' => Some(Mode::Whisper),
            '6' => Some(Mode::Barge),
            _ => None,
        }
    }

    /// The routes and tap of this mode. Errors: [`MixerError::Roles`] when
    /// the mode needs a supervisor and there is none, or two roles are the
    /// same party.
    pub fn preset(self, roles: Roles) -> Result<Preset, MixerError> {
        let (c, a) = (roles.caller, roles.agent);
        if c == a {
            return Err(MixerError::Roles(self));
        }
        let s = match (self, roles.supervisor) {
            (Mode::Direct, _) => None,
            (_, Some(s)) if s != c && s != a => Some(s),
            _ => return Err(MixerError::Roles(self)),
        };
        let u = Route::unity;
        let one = |p: PartyId| (p, Gain::UNITY);
        let (routes, right) = match (self, s) {
            (Mode::Listen, Some(s)) => (vec![u(c, a), u(a, c), u(c, s), u(a, s)], vec![one(a)]),
            (Mode::Whisper, Some(s)) => (
                vec![u(c, a), u(a, c), u(c, s), u(a, s), u(s, a)],
                vec![one(a), one(s)],
            ),
            (Mode::Barge, Some(s)) => (
                vec![u(c, a), u(a, c), u(c, s), u(a, s), u(s, a), u(s, c)],
                vec![one(a), one(s)],
            ),
            (Mode::TakeOver, Some(s)) => (vec![u(c, s), u(s, c)], vec![one(s)]),
            _ => (vec![u(c, a), u(a, c)], vec![one(a)]),
        };
        Ok(Preset {
            routes,
            tap: Tap {
                left: vec![one(c)],
                right,
            },
        })
    }
}
