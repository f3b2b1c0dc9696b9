//! Supervision of a live call (SPEC §4.2, issue 16): a supervisor asks to
//! listen, whisper or barge; the engine rings the supervisor's registered
//! phone (its username is its SIP user, as an agent's login is), joins the
//! answered leg to the call in the voice shell, switches modes, and writes
//! every session and mode change to the interaction's timeline.
//!
//! Sans-I/O like the rest of the actor: handlers queue voice ops; the
//! originate and join outcomes come back as inputs ([`Then::SupervisorRung`],
//! [`Then::SupervisorJoined`]).

use super::effects::{Then, VoiceOp, VoiceResult};
use super::{Actor, LegRole, Phase};
use crate::EngineError;
use domain::{EventKind, InteractionId, NewEvent, SupervisionMode};
use std::time::Duration;
use tokio::sync::oneshot;
use voice::LegId;

/// How long the supervisor's phone rings before the request is dropped.
pub(crate) const SUPERVISOR_RING: Duration = Duration::from_secs(30);

/// A supervisor on a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Monitor {
    /// The supervisor's username (= SIP user of its phone).
    pub supervisor: String,
    /// Its phone's leg, once rung.
    pub leg: Option<LegId>,
    pub mode: SupervisionMode,
    /// Joined to the call (`monitoring_started` written).
    pub joined: bool,
    /// The supervisor took the call over: its leg is the call's agent leg.
    pub taken_over: bool,
}

/// The voice shell's name of a mode.
pub(crate) fn voice_mode(m: SupervisionMode) -> voice::SupervisionMode {
    match m {
        SupervisionMode::Listen => voice::SupervisionMode::Listen,
        SupervisionMode::Whisper => voice::SupervisionMode::Whisper,
        SupervisionMode::Barge => voice::SupervisionMode::Barge,
    }
}

fn domain_mode(m: voice::SupervisionMode) -> Option<SupervisionMode> {
    match m {
        voice::SupervisionMode::Listen => Some(SupervisionMode::Listen),
        voice::SupervisionMode::Whisper => Some(SupervisionMode::Whisper),
        voice::SupervisionMode::Barge => Some(SupervisionMode::Barge),
        _ => None,
    }
}

impl Actor {
    /// `supervisor` asks to monitor `interaction` in `mode`, or to switch
    /// mode if it already does. Errors (answered at once):
    /// [`EngineError::UnknownInteraction`]; [`EngineError::Invalid`] when the
    /// call is not connected to an agent, or another supervisor monitors it.
    /// A first request rings the supervisor's phone; the answer comes once
    /// it rings (or cannot be rung: not registered).
    pub(crate) fn supervise(
        &mut self,
        supervisor: String,
        phone: String,
        interaction: InteractionId,
        mode: SupervisionMode,
        reply: oneshot::Sender<Result<(), EngineError>>,
    ) {
        let r = self.supervise_now(&supervisor, interaction, mode);
        match r {
            Ok(true) => self.reply_to(reply, Ok(())),
            Err(e) => self.reply_to(reply, Err(e)),
            Ok(false) => {
                let caller = self
                    .calls
                    .get(&interaction)
                    .map(|c| c.caller.clone())
                    .unwrap_or_default();
                self.voice_then(
                    VoiceOp::Originate {
                        user: phone,
                        caller,
                        ring: SUPERVISOR_RING,
                    },
                    Then::SupervisorRung { interaction, reply },
                );
            }
        }
    }

    /// Ok(true): done (mode switched); Ok(false): the phone must be rung
    /// (`monitor` set, no leg yet).
    fn supervise_now(
        &mut self,
        supervisor: &str,
        interaction: InteractionId,
        mode: SupervisionMode,
    ) -> Result<bool, EngineError> {
        let now = self.now;
        let c = self
            .calls
            .get_mut(&interaction)
            .ok_or(EngineError::UnknownInteraction(interaction))?;
        let agent_leg = match (c.phase, c.agent_leg) {
            (Phase::Talking, Some(l)) => l,
            _ => {
                return Err(EngineError::Invalid(
                    "the call is not connected to an agent".into(),
                ));
            }
        };
        let agent = c.agent;
        match &mut c.monitor {
            Some(m) if m.supervisor != supervisor => Err(EngineError::Invalid(format!(
                "the call is already monitored by {}",
                m.supervisor
            ))),
            Some(m) if m.taken_over => Err(EngineError::Invalid(
                "the call was taken over: it is an ordinary call now".into(),
            )),
            Some(m) => {
                if m.mode == mode {
                    return Ok(true);
                }
                m.mode = mode;
                let (leg, joined) = (m.leg, m.joined);
                if let (Some(leg), true) = (leg, joined) {
                    self.voice_then(
                        VoiceOp::Supervise {
                            agent: agent_leg,
                            supervisor: leg,
                            mode,
                        },
                        Then::Warn("supervision mode not applied"),
                    );
                    let mut ev = NewEvent::new(
                        now,
                        EventKind::MonitoringModeChanged {
                            supervisor: supervisor.to_string(),
                            mode,
                        },
                    )
                    .with_interaction(interaction);
                    ev.agent_id = agent;
                    self.record(vec![ev]);
                }
                Ok(true)
            }
            None => {
                c.monitor = Some(Monitor {
                    supervisor: supervisor.to_string(),
                    leg: None,
                    mode,
                    joined: false,
                    taken_over: false,
                });
                Ok(false)
            }
        }
    }

    /// The supervisor's phone rings (its leg) or cannot be rung.
    pub(crate) fn on_supervisor_rung(
        &mut self,
        interaction: InteractionId,
        result: VoiceResult,
        reply: oneshot::Sender<Result<(), EngineError>>,
    ) {
        let rung = match result {
            VoiceResult::Leg(r) => r,
            VoiceResult::Done(r) => r.and(Err(voice::VoiceError::Stopped)),
        };
        let monitor = self
            .calls
            .get_mut(&interaction)
            .and_then(|c| c.monitor.as_mut());
        match (rung, monitor) {
            (Ok(leg), Some(m)) => {
                m.leg = Some(leg);
                self.legs.insert(leg, LegRole::Supervisor(interaction));
                self.reply_to(reply, Ok(()));
            }
            (Ok(leg), None) => {
                // The request was cancelled (or the call ended) meanwhile.
                self.voice(VoiceOp::HangUp(leg));
                self.reply_to(
                    reply,
                    Err(EngineError::Invalid("the call has ended".into())),
                );
            }
            (Err(e), _) => {
                if let Some(c) = self.calls.get_mut(&interaction) {
                    c.monitor = None;
                }
                self.reply_to(
                    reply,
                    Err(EngineError::Invalid(format!(
                        "the supervisor's phone cannot be rung: {e}"
                    ))),
                );
            }
        }
    }

    /// The supervisor's phone answered: join it to the call.
    pub(crate) fn on_supervisor_answered(&mut self, leg: LegId, interaction: InteractionId) {
        let target = self.calls.get(&interaction).and_then(|c| {
            let m = c.monitor.as_ref()?;
            (c.phase == Phase::Talking && m.leg == Some(leg)).then_some((c.agent_leg?, m.mode))
        });
        match target {
            Some((agent_leg, mode)) => self.voice_then(
                VoiceOp::Supervise {
                    agent: agent_leg,
                    supervisor: leg,
                    mode,
                },
                Then::SupervisorJoined { interaction, leg },
            ),
            None => self.voice(VoiceOp::HangUp(leg)),
        }
    }

    /// The join is done (`monitoring_started`) or refused (the supervisor's
    /// leg is hung up).
    pub(crate) fn on_supervisor_joined(
        &mut self,
        interaction: InteractionId,
        leg: LegId,
        result: VoiceResult,
    ) {
        if let Some(e) = result.err() {
            tracing::warn!(error = %e, %interaction, "supervisor not joined: released");
            self.voice(VoiceOp::HangUp(leg));
            return;
        }
        let now = self.now;
        let Some(c) = self.calls.get_mut(&interaction) else {
            return;
        };
        let agent = c.agent;
        let Some(m) = c.monitor.as_mut().filter(|m| m.leg == Some(leg)) else {
            return;
        };
        m.joined = true;
        let mut ev = NewEvent::new(
            now,
            EventKind::MonitoringStarted {
                supervisor: m.supervisor.clone(),
                mode: m.mode,
            },
        )
        .with_interaction(interaction);
        ev.agent_id = agent;
        tracing::info!(%interaction, supervisor = %m.supervisor, mode = m.mode.as_str(), "monitoring starts");
        self.record(vec![ev]);
    }

    /// The supervisor switched mode with DTMF (already applied by the shell).
    pub(crate) fn on_supervisor_dtmf_mode(&mut self, leg: LegId, mode: voice::SupervisionMode) {
        let (Some(LegRole::Supervisor(interaction)), Some(mode)) =
            (self.legs.get(&leg).copied(), domain_mode(mode))
        else {
            return;
        };
        let now = self.now;
        let Some(c) = self.calls.get_mut(&interaction) else {
            return;
        };
        let agent = c.agent;
        let Some(m) = c.monitor.as_mut().filter(|m| m.leg == Some(leg)) else {
            return;
        };
        m.mode = mode;
        let mut ev = NewEvent::new(
            now,
            EventKind::MonitoringModeChanged {
                supervisor: m.supervisor.clone(),
                mode,
            },
        )
        .with_interaction(interaction);
        ev.agent_id = agent;
        self.record(vec![ev]);
    }

    /// `supervisor`, on the call, takes it over: the voice shell swaps the
    /// legs; [`Actor::on_taken_over`] does the rest. Errors (answered at
    /// once): unknown call; `supervisor` not joined to it.
    pub(crate) fn take_over(
        &mut self,
        supervisor: &str,
        interaction: InteractionId,
        reply: oneshot::Sender<Result<(), EngineError>>,
    ) {
        let Some(c) = self.calls.get(&interaction) else {
            return self.reply_to(reply, Err(EngineError::UnknownInteraction(interaction)));
        };
        let leg = match &c.monitor {
            Some(m) if m.supervisor == supervisor && m.joined && !m.taken_over => m.leg,
            _ => None,
        };
        match (leg, c.phase) {
            (Some(leg), Phase::Talking) => self.voice_then(
                VoiceOp::TakeOver(leg),
                Then::TakenOver { interaction, reply },
            ),
            _ => self.reply_to(
                reply,
                Err(EngineError::Invalid(format!(
                    "{supervisor} is not on this call: monitor it first"
                ))),
            ),
        }
    }

    /// The shell swapped the legs (the agent's came back) or refused. The
    /// supervisor's leg becomes the call's agent leg; the agent's phone is
    /// hung up and the agent goes to wrap-up on this interaction; the ACD
    /// task is over (the agent is free for the next call after wrap-up).
    pub(crate) fn on_taken_over(
        &mut self,
        interaction: InteractionId,
        result: VoiceResult,
        reply: oneshot::Sender<Result<(), EngineError>>,
    ) {
        let agent_leg = match result {
            VoiceResult::Leg(Ok(l)) => l,
            VoiceResult::Leg(Err(e)) | VoiceResult::Done(Err(e)) => {
                return self.reply_to(
                    reply,
                    Err(EngineError::Invalid(format!(
                        "the call cannot be taken over: {e}"
                    ))),
                );
            }
            VoiceResult::Done(Ok(())) => {
                return self.reply_to(
                    reply,
                    Err(EngineError::Invalid("the call cannot be taken over".into())),
                );
            }
        };
        let now = self.now;
        let Some(c) = self.calls.get_mut(&interaction) else {
            self.voice(VoiceOp::HangUp(agent_leg));
            return self.reply_to(reply, Err(EngineError::UnknownInteraction(interaction)));
        };
        let Some(m) = c.monitor.as_mut() else {
            return self.reply_to(reply, Err(EngineError::Invalid("no supervisor".into())));
        };
        m.taken_over = true;
        let supervisor = m.supervisor.clone();
        c.agent_leg = m.leg;
        let agent = c.agent.take();
        self.legs.remove(&agent_leg);
        self.voice(VoiceOp::HangUp(agent_leg));
        if let Err(e) = self.acd.handle_task_ended(now, interaction) {
            tracing::warn!(error = %e, "ACD task end refused");
        }
        let mut ev = NewEvent::new(
            now,
            EventKind::TakenOver {
                supervisor: supervisor.clone(),
            },
        )
        .with_interaction(interaction);
        ev.agent_id = agent;
        tracing::info!(%interaction, %supervisor, "supervisor takes the call over");
        self.record(vec![ev]);
        if let Some(a) = agent {
            self.start_wrap_up(a, interaction, "taken_over", now);
        }
        self.process_decisions();
        self.reply_to(reply, Ok(()));
    }

    /// `supervisor` stops monitoring `interaction`: its phone is hung up
    /// (`monitoring_ended` follows with the leg's end). Errors:
    /// [`EngineError::UnknownInteraction`]; [`EngineError::Invalid`] when it
    /// does not monitor that call.
    pub(crate) fn stop_supervising(
        &mut self,
        supervisor: &str,
        interaction: InteractionId,
    ) -> Result<(), EngineError> {
        let c = self
            .calls
            .get_mut(&interaction)
            .ok_or(EngineError::UnknownInteraction(interaction))?;
        match &c.monitor {
            Some(m) if m.supervisor == supervisor => {
                let leg = m.leg;
                if leg.is_none() {
                    // Still being rung: the outcome hangs the leg up.
                    c.monitor = None;
                }
                if let Some(l) = leg {
                    self.voice(VoiceOp::HangUp(l));
                }
                Ok(())
            }
            _ => Err(EngineError::Invalid(format!(
                "{supervisor} does not monitor this call"
            ))),
        }
    }

    /// The supervisor's leg ended: the session is over.
    pub(crate) fn on_supervisor_gone(&mut self, leg: LegId, interaction: InteractionId) {
        let now = self.now;
        let Some(c) = self.calls.get_mut(&interaction) else {
            return;
        };
        if c.monitor.as_ref().is_none_or(|m| m.leg != Some(leg)) {
            return;
        }
        let agent = c.agent;
        let Some(m) = c.monitor.take() else { return };
        if m.taken_over {
            // It was the supervisor's call now: it ends with their leg.
            c.agent_leg = None;
            self.end_talk(interaction, "supervisor_hangup");
            return;
        }
        if m.joined {
            let mut ev = NewEvent::new(
                now,
                EventKind::MonitoringEnded {
                    supervisor: m.supervisor.clone(),
                },
            )
            .with_interaction(interaction);
            ev.agent_id = agent;
            tracing::info!(%interaction, supervisor = %m.supervisor, "monitoring ends");
            self.record(vec![ev]);
        }
    }
}
