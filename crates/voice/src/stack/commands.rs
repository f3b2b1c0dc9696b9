//! The engine's commands on legs (answer, prompts, digits, recording, bridge,
//! hold, hang-up), applied by the stack task.

use super::leg::{Collector, Leg, LegState, Recording};
use super::{RetransKey, Stack};
use crate::audio::{Recorder, Side};
use crate::control::{CallEvent, CollectEnd, Collected, Command, LegId, VoiceError};
use crate::sdp::Direction;
use crate::sip::message::Method;
use std::sync::{Arc, Mutex};
use std::time::Instant;

impl Stack {
    pub(super) fn on_command(&mut self, now: Instant, cmd: Command) {
        self.now = self.now.max(now);
        match cmd {
            Command::Answer(id, r) => {
                let _ = r.send(self.answer(now, id));
            }
            Command::Play(id, samples, barge_in, looped, r) => {
                // A prompt before the answer goes out as early media.
                self.early_media(id);
                let _ = r.send(self.with_leg(id, |l| l.media.play(samples, barge_in, looped)));
            }
            Command::StopPlay(id, r) => {
                let _ = r.send(self.with_leg(id, |l| l.media.stop_play()));
            }
            Command::SendDtmf(id, digits, r) => {
                let _ = r.send(self.with_leg(id, |l| l.media.send_dtmf(&digits)));
            }
            Command::Collect(id, max, timeout, terminator, reply) => {
                let Some(leg) = self.legs.get_mut(&id) else {
                    let _ = reply.send(Err(VoiceError::UnknownLeg(id)));
                    return;
                };
                if max == 0 {
                    let _ = reply.send(Ok(Collected {
                        digits: String::new(),
                        end: CollectEnd::MaxDigits,
                    }));
                    return;
                }
                if let Some(old) = leg.collect.take() {
                    let _ = old.reply.send(Err(VoiceError::InvalidState(
                        "replaced by a new collection",
                    )));
                }
                leg.collect = Some(Collector {
                    max,
                    terminator,
                    deadline: now + timeout,
                    digits: String::new(),
                    reply,
                });
            }
            Command::RecordStart(id, path, r) => {
                let _ = r.send(self.record_start(now, id, path));
            }
            Command::RecordStop(id, r) => {
                let res = match self.legs.contains_key(&id) {
                    true => {
                        self.record_stop(id);
                        Ok(())
                    }
                    false => Err(VoiceError::UnknownLeg(id)),
                };
                let _ = r.send(res);
            }
            Command::Originate(user, caller, ring, r) => {
                let _ = r.send(self.originate(now, &user, &caller, ring));
            }
            Command::OriginateTrunk(trunk, number, caller_id, ring, r) => {
                let _ = r.send(self.originate_trunk(now, &trunk, &number, caller_id, ring));
            }
            Command::Bridge(a, b, r) => {
                let _ = r.send(self.bridge(a, b));
            }
            Command::Hold(id, on, r) => match self.hold(now, id, on) {
                // Answered when the far end accepts or refuses the re-INVITE,
                // or at Timer B with no final answer.
                Ok(()) => {
                    let timer_b = self.cfg.invite_timeout;
                    if let Some(l) = self.legs.get_mut(&id) {
                        l.reinvite_reply = Some(r);
                        l.reinvite_deadline = Some(now + timer_b);
                    }
                }
                Err(e) => {
                    let _ = r.send(Err(e));
                }
            },
            Command::HangUp(id, r) => {
                let res = if self.legs.contains_key(&id) {
                    self.hang_up(now, id);
                    Ok(())
                } else {
                    Err(VoiceError::UnknownLeg(id))
                };
                let _ = r.send(res);
            }
            Command::RefuseOverload(id, r) => {
                let res = if self.legs.contains_key(&id) {
                    self.refuse_overload(now, id);
                    Ok(())
                } else {
                    Err(VoiceError::UnknownLeg(id))
                };
                let _ = r.send(res);
            }
            Command::Transfer(id, target, r) => match self.transfer(now, id, &target) {
                Ok(()) => {
                    if let Some(l) = self.legs.get_mut(&id) {
                        l.refer_reply = Some(r);
                    }
                }
                Err(e) => {
                    let _ = r.send(Err(e));
                }
            },
            Command::Supervise(agent, supervisor, mode, r) => {
                let _ = r.send(self.supervise(now, agent, supervisor, mode));
            }
            Command::Unsupervise(supervisor, r) => {
                let _ = r.send(self.unsupervise(supervisor));
            }
            Command::TakeOver(supervisor, r) => {
                let _ = r.send(self.take_over(supervisor));
            }
            Command::Shutdown(_) => {}
        }
    }

    fn with_leg(&mut self, id: LegId, f: impl FnOnce(&mut Leg)) -> Result<(), VoiceError> {
        let leg = self.legs.get_mut(&id).ok_or(VoiceError::UnknownLeg(id))?;
        f(leg);
        Ok(())
    }

    pub(super) fn finish_collect(&mut self, id: LegId, end: CollectEnd) {
        if let Some(c) = self.legs.get_mut(&id).and_then(|l| l.collect.take()) {
            let _ = c.reply.send(Ok(Collected {
                digits: c.digits,
                end,
            }));
        }
    }

    pub(super) fn on_digit(&mut self, _now: Instant, id: LegId, digit: char, duration_ms: u32) {
        if !self.legs.contains_key(&id) {
            return;
        }
        self.emit(CallEvent::Dtmf {
            leg: id,
            digit,
            duration_ms,
        });
        self.supervisor_digit(id, digit);
        let Some(c) = self.legs.get_mut(&id).and_then(|l| l.collect.as_mut()) else {
            return;
        };
        if c.terminator == Some(digit) {
            self.finish_collect(id, CollectEnd::Terminator);
            return;
        }
        c.digits.push(digit);
        if c.digits.chars().count() >= c.max {
            self.finish_collect(id, CollectEnd::MaxDigits);
        }
    }

    pub(super) fn bridge(&mut self, a: LegId, b: LegId) -> Result<(), VoiceError> {
        if a == b {
            return Err(VoiceError::InvalidState("cannot bridge a leg to itself"));
        }
        for id in [a, b] {
            let leg = self.legs.get(&id).ok_or(VoiceError::UnknownLeg(id))?;
            if leg.state != LegState::Answered {
                return Err(VoiceError::InvalidState("both legs must be answered"));
            }
            if leg.peer.is_some() {
                return Err(VoiceError::InvalidState("leg already bridged"));
            }
        }
        let (ma, mb) = match (self.legs.get(&a), self.legs.get(&b)) {
            (Some(la), Some(lb)) => (la.media.clone(), lb.media.clone()),
            _ => return Err(VoiceError::InvalidState("leg vanished")),
        };
        ma.bridge(Some(&mb));
        mb.bridge(Some(&ma));
        let rec_a = self.legs.get_mut(&a).map(|l| {
            l.peer = Some(b);
            l.recording.clone()
        });
        let rec_b = self.legs.get_mut(&b).map(|l| {
            l.peer = Some(a);
            l.recording.clone()
        });
        // A recording running on one side now also takes the other side's audio.
        if let Some(Some(r)) = rec_a {
            let side = opposite(side_of(self.legs.get(&a)));
            mb.record(Some((r.recorder, r.start, side)));
        } else if let Some(Some(r)) = rec_b {
            let side = opposite(side_of(self.legs.get(&b)));
            ma.record(Some((r.recorder, r.start, side)));
        }
        Ok(())
    }

    /// Blind transfer: ask the far end of `id` to call `target` (REFER, RFC 3515).
    fn transfer(&mut self, now: Instant, id: LegId, target: &str) -> Result<(), VoiceError> {
        let leg = self.legs.get(&id).ok_or(VoiceError::UnknownLeg(id))?;
        if leg.state != LegState::Answered {
            return Err(VoiceError::InvalidState(
                "only an answered leg can be transferred",
            ));
        }
        if leg.refer_reply.is_some() {
            return Err(VoiceError::InvalidState("a transfer is already pending"));
        }
        let dest = leg.dest;
        let referred_by = format!("<sip:switchboard@{}>", self.local);
        let (mut req, branch) = self
            .in_dialog(id, Method::Refer)
            .ok_or(VoiceError::UnknownLeg(id))?;
        req.headers.push("Refer-To", format!("<{target}>"));
        req.headers.push("Referred-By", referred_by);
        self.send_reliably(now, dest, req.to_bytes(), RetransKey::Client(branch), false);
        Ok(())
    }

    fn hold(&mut self, now: Instant, id: LegId, on: bool) -> Result<(), VoiceError> {
        let leg = self.legs.get(&id).ok_or(VoiceError::UnknownLeg(id))?;
        if leg.state != LegState::Answered {
            return Err(VoiceError::InvalidState("only an answered leg can be held"));
        }
        if leg.reinvite_reply.is_some() {
            return Err(VoiceError::InvalidState("a re-INVITE is already pending"));
        }
        leg.media.set_on_hold(on);
        let dir = if on {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        self.send_invite(now, id, dir);
        Ok(())
    }

    fn record_start(
        &mut self,
        now: Instant,
        id: LegId,
        path: std::path::PathBuf,
    ) -> Result<(), VoiceError> {
        let leg = self.legs.get(&id).ok_or(VoiceError::UnknownLeg(id))?;
        if leg.recording.is_some() {
            return Err(VoiceError::InvalidState("already recording"));
        }
        let recorder = Recorder::create(&path)?;
        let rec = Recording {
            recorder: Arc::new(Mutex::new(recorder)),
            start: now,
            path,
        };
        let side = side_of(Some(leg));
        leg.media.record(Some((rec.recorder.clone(), now, side)));
        if let Some(p) = leg.peer.and_then(|p| self.legs.get(&p)) {
            p.media
                .record(Some((rec.recorder.clone(), now, opposite(side))));
        }
        if let Some(l) = self.legs.get_mut(&id) {
            l.recording = Some(rec);
        }
        Ok(())
    }

    /// Stop a leg's recording (if any) and write the WAV in the background.
    pub(super) fn record_stop(&mut self, id: LegId) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(rec) = leg.recording.take() else {
            return;
        };
        leg.media.record(None);
        if let Some(p) = leg.peer.and_then(|p| self.legs.get(&p)) {
            p.media.record(None);
        }
        let end = self.now.saturating_duration_since(rec.start);
        let events = self.events.sender();
        tokio::task::spawn_blocking(move || {
            let written = rec
                .recorder
                .lock()
                .map_err(|_| "recorder poisoned".to_string())
                .and_then(|mut r| r.finish(end).map_err(|e| e.to_string()));
            match written {
                Ok(_) => {
                    // A blocking thread may wait for room in the channel.
                    let _ = events.blocking_send(CallEvent::RecordingFinished {
                        leg: id,
                        path: rec.path,
                        duration_ms: end.as_millis() as u64,
                    });
                }
                Err(e) => tracing::warn!(path = %rec.path.display(), "recording not written: {e}"),
            }
        });
    }
}

fn side_of(leg: Option<&Leg>) -> Side {
    match leg {
        Some(l) if !l.inbound => Side::Agent,
        _ => Side::Caller,
    }
}

fn opposite(s: Side) -> Side {
    match s {
        Side::Caller => Side::Agent,
        Side::Agent => Side::Caller,
    }
}
