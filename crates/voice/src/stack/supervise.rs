//! Supervision of a bridged call (SPEC §4.2): a supervisor's answered leg
//! joins the call through a conference task ([`crate::media::conference`]);
//! modes switch with no re-INVITE; when the supervisor leaves, the two legs
//! relay packets to each other again; when the supervisor takes over, the
//! caller and the supervisor do, and the agent's leg is let go.

use super::Stack;
use super::leg::LegState;
use crate::control::{CallEvent, LegId, VoiceError};
use crate::media::conference::{Conference, Member};
use media::{Mode, PartyId, Roles};
use std::time::Instant;

/// Parties of every supervised call (the mixer is per call, so fixed ids).
const CALLER: PartyId = PartyId(1);
const AGENT: PartyId = PartyId(2);
const SUPERVISOR: PartyId = PartyId(3);

const ROLES: Roles = Roles {
    caller: CALLER,
    agent: AGENT,
    supervisor: Some(SUPERVISOR),
};

/// One supervised call.
#[derive(Debug)]
pub(crate) struct Supervision {
    pub caller: LegId,
    pub agent: LegId,
    pub supervisor: LegId,
    pub mode: Mode,
    conf: Conference,
}

impl Stack {
    /// Join `supervisor` to the call `agent` is bridged in, in `mode`; or, if
    /// it already supervises that call, switch mode (applied at the next
    /// 20 ms tick). Errors: unknown legs; a leg not answered; `agent` not
    /// bridged; `supervisor` bridged or supervising another call; the call
    /// already supervised by someone else; `Direct`/`TakeOver` (use
    /// [`Stack::unsupervise`]; take over is not offered here).
    pub(super) fn supervise(
        &mut self,
        now: Instant,
        agent: LegId,
        supervisor: LegId,
        mode: Mode,
    ) -> Result<(), VoiceError> {
        if matches!(mode, Mode::Direct | Mode::TakeOver) {
            return Err(VoiceError::InvalidState(
                "supervision modes are listen, whisper and barge",
            ));
        }
        if let Some(s) = self.supervisions.iter_mut().find(|s| s.agent == agent) {
            if s.supervisor != supervisor {
                return Err(VoiceError::InvalidState("call already supervised"));
            }
            s.conf
                .set_mode(ROLES, mode)
                .map_err(VoiceError::InvalidState)?;
            s.mode = mode;
            return Ok(());
        }
        if self.supervisions.iter().any(|s| {
            s.supervisor == supervisor
                || s.caller == agent
                || [s.caller, s.agent].contains(&supervisor)
        }) {
            return Err(VoiceError::InvalidState("leg already in a supervised call"));
        }
        if agent == supervisor {
            return Err(VoiceError::InvalidState("a leg cannot supervise itself"));
        }
        let a = self.legs.get(&agent).ok_or(VoiceError::UnknownLeg(agent))?;
        let caller = a
            .peer
            .ok_or(VoiceError::InvalidState("the agent leg is not bridged"))?;
        let s = self
            .legs
            .get(&supervisor)
            .ok_or(VoiceError::UnknownLeg(supervisor))?;
        if s.peer.is_some() {
            return Err(VoiceError::InvalidState("the supervisor leg is bridged"));
        }
        let mut members = Vec::new();
        for (id, party) in [(caller, CALLER), (agent, AGENT), (supervisor, SUPERVISOR)] {
            let leg = self.legs.get(&id).ok_or(VoiceError::UnknownLeg(id))?;
            if leg.state != LegState::Answered {
                return Err(VoiceError::InvalidState("every leg must be answered"));
            }
            members.push(Member {
                party,
                codec: leg.media.codec().unwrap_or(leg.params.codec),
                leg: leg.media.clone(),
            });
        }
        let medias: Vec<_> = members.iter().map(|m| (m.party, m.leg.clone())).collect();
        let conf = Conference::start(now, members, ROLES, mode)
            .map_err(|_| VoiceError::InvalidState("the mixer refused the call"))?;
        for (party, media) in medias {
            media.bridge(None);
            media.mix(Some(conf.link(party)));
        }
        tracing::info!(%caller, %agent, %supervisor, ?mode, "supervision starts");
        self.supervisions.push(Supervision {
            caller,
            agent,
            supervisor,
            mode,
            conf,
        });
        Ok(())
    }

    /// The supervisor leaves the call: its leg stays up but hears nothing;
    /// the caller and the agent relay packets to each other again.
    /// Errors: `supervisor` supervises nothing.
    pub(super) fn unsupervise(&mut self, supervisor: LegId) -> Result<(), VoiceError> {
        let i = self
            .supervisions
            .iter()
            .position(|s| s.supervisor == supervisor)
            .ok_or(VoiceError::InvalidState("the leg supervises no call"))?;
        let s = self.supervisions.swap_remove(i);
        self.end_supervision(&s, None);
        Ok(())
    }

    /// The supervisor replaces the agent ([`crate::CallControl::take_over`]):
    /// the mixer stops, the agent's leg is unbridged (and stops feeding the
    /// recording), the caller and the supervisor are bridged. Returns the
    /// agent's leg. Errors: `supervisor` supervises nothing; a leg gone.
    pub(super) fn take_over(&mut self, supervisor: LegId) -> Result<LegId, VoiceError> {
        let i = self
            .supervisions
            .iter()
            .position(|s| s.supervisor == supervisor)
            .ok_or(VoiceError::InvalidState("the leg supervises no call"))?;
        let s = self.supervisions.swap_remove(i);
        s.conf.stop();
        for id in [s.caller, s.agent, s.supervisor] {
            if let Some(l) = self.legs.get(&id) {
                l.media.mix(None);
            }
        }
        for id in [s.caller, s.agent] {
            if let Some(l) = self.legs.get_mut(&id) {
                l.peer = None;
                l.media.bridge(None);
            }
        }
        if let Some(a) = self.legs.get(&s.agent) {
            a.media.record(None);
        }
        self.bridge(s.caller, s.supervisor)?;
        tracing::info!(caller = %s.caller, agent = %s.agent, %supervisor, "supervisor takes the call over");
        Ok(s.agent)
    }

    /// Unlink every live leg of `s` from its mixer and re-bridge the caller
    /// and the agent unless `gone` is one of them.
    fn end_supervision(&mut self, s: &Supervision, gone: Option<LegId>) {
        s.conf.stop();
        for id in [s.caller, s.agent, s.supervisor] {
            if Some(id) != gone
                && let Some(l) = self.legs.get(&id)
            {
                l.media.mix(None);
            }
        }
        if gone.is_none_or(|g| g == s.supervisor)
            && let (Some(c), Some(a)) = (self.legs.get(&s.caller), self.legs.get(&s.agent))
        {
            c.media.bridge(Some(&a.media));
            a.media.bridge(Some(&c.media));
        }
        tracing::info!(caller = %s.caller, agent = %s.agent, supervisor = %s.supervisor, "supervision ends");
    }

    /// A digit from a supervisor's phone: 4, 5, 6 switch to listen, whisper,
    /// barge ([`Mode::from_dtmf`]) and emit [`CallEvent::SupervisionMode`];
    /// other digits and other legs: nothing.
    pub(super) fn supervisor_digit(&mut self, id: LegId, digit: char) {
        let Some(mode) = Mode::from_dtmf(digit) else {
            return;
        };
        let Some(s) = self.supervisions.iter_mut().find(|s| s.supervisor == id) else {
            return;
        };
        if s.mode == mode {
            return;
        }
        if let Err(e) = s.conf.set_mode(ROLES, mode) {
            tracing::warn!(supervisor = %id, "mode from DTMF not applied: {e}");
            return;
        }
        s.mode = mode;
        self.emit(CallEvent::SupervisionMode {
            supervisor: id,
            mode,
        });
    }

    /// A leg is ending: a supervisor's leg just leaves its call; the caller
    /// or agent ending releases the supervisor's leg (returned: the caller
    /// hangs it up once `id` is gone).
    pub(super) fn supervision_leg_ended(&mut self, id: LegId) -> Option<LegId> {
        let i = self
            .supervisions
            .iter()
            .position(|s| s.supervisor == id || s.caller == id || s.agent == id)?;
        let s = self.supervisions.swap_remove(i);
        self.end_supervision(&s, Some(id));
        (s.supervisor != id).then_some(s.supervisor)
    }
}
