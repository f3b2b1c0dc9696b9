//! Blind transfer of a live call or conversation, asked from the desktop
//! (API) or from the agent's phone (REFER, RFC 3515). The interaction keeps
//! its id and goes back to the ACD: into a queue, or to one agent through the
//! per-agent skill `agent:<id>` every logged-in agent holds.

use super::VoiceOp;
use super::{Actor, LegRole, Phase};
use crate::push::{Audience, Push};
use crate::{EngineError, TransferTarget};
use domain::*;
use routing::{AgentInput, Task};
use voice::LegId;

/// The skill only agent `a` holds: a task requiring it is offered to `a`
/// alone (transfer to an agent).
pub(crate) fn personal_skill(a: AgentId) -> SkillLevel {
    SkillLevel {
        skill: format!("agent:{}", a.0),
        level: 1,
    }
}

impl Actor {
    /// Carry out a blind transfer for `agent`.
    pub(crate) fn transfer(
        &mut self,
        agent: AgentId,
        id: InteractionId,
        target: TransferTarget,
    ) -> Result<(), EngineError> {
        let current_queue = self
            .calls
            .get(&id)
            .map(|c| (c.agent, c.phase == Phase::Talking, c.interaction.queue_id))
            .or_else(|| {
                self.conversations
                    .get(&id)
                    .map(|c| (c.agent, c.agent.is_some(), c.interaction.queue_id))
            });
        let Some((owner, live, current_queue)) = current_queue else {
            return Err(EngineError::UnknownInteraction(id));
        };
        if owner != Some(agent) || !live {
            return Err(EngineError::NotYours(id));
        }
        let (queue, skills, to_queue, to_agent) = match target {
            TransferTarget::Queue(q) => {
                if !self.queues.contains_key(&q) {
                    return Err(EngineError::Invalid(format!("unknown queue {q}")));
                }
                (q, Vec::new(), Some(q), None)
            }
            TransferTarget::Agent(a) => {
                if a == agent {
                    return Err(EngineError::Invalid("cannot transfer to yourself".into()));
                }
                let Some(live) = self.agents.get(&a) else {
                    return Err(EngineError::NotLoggedIn(a));
                };
                let serves = |q: &Queue| {
                    q.required_skills.iter().all(|r| {
                        live.agent
                            .skills
                            .iter()
                            .any(|s| s.skill == r.skill && s.level >= r.level)
                    })
                };
                let queue = current_queue
                    .filter(|q| self.queues.get(q).is_some_and(serves))
                    .or_else(|| {
                        let mut ids: Vec<_> = self
                            .queues
                            .values()
                            .filter(|q| serves(q))
                            .map(|q| q.id)
                            .collect();
                        ids.sort();
                        ids.first().copied()
                    })
                    .ok_or_else(|| EngineError::Invalid(format!("agent {a} serves no queue")))?;
                (queue, vec![personal_skill(a)], None, Some(a))
            }
        };
        let t = self.now;
        // Release the transferring agent: the task ends for them, without
        // wrap-up (the interaction goes on elsewhere).
        self.acd.handle_task_ended(t, id)?;
        let _ = self
            .acd
            .handle_agent_state(t, agent, AgentInput::WrapUpDone);
        let (channel, segment, customer) = if let Some(call) = self.calls.get_mut(&id) {
            let agent_leg = call.agent_leg.take();
            let caller_leg = call.caller_leg;
            let recording = call.recording.is_some();
            let held = call.on_hold;
            call.phase = Phase::Queued;
            call.agent = None;
            call.queued_at = Some(t);
            call.on_hold = false;
            call.interaction.queue_id = Some(queue);
            let out = (
                Channel::Voice,
                call.segment,
                call.customer.as_ref().map(|c| c.id),
            );
            let i = call.interaction.clone();
            if recording {
                // Its `recording_stopped` comes with the voice shell's
                // RecordingFinished; the next agent's part is a new file.
                self.voice(VoiceOp::RecordStop(caller_leg));
            }
            if let Some(l) = agent_leg {
                // Forget the leg first: its HungUp must not end the call.
                self.legs.remove(&l);
                self.voice(VoiceOp::HangUp(l));
            }
            if held {
                self.voice(VoiceOp::Hold(caller_leg, false));
            }
            self.save(&i);
            out
        } else if let Some(conv) = self.conversations.get_mut(&id) {
            conv.agent = None;
            conv.offered.clear();
            conv.queued_at = t;
            conv.interaction.queue_id = Some(queue);
            let out = (
                conv.interaction.channel,
                conv.segment,
                conv.interaction.customer_id,
            );
            let i = conv.interaction.clone();
            self.save(&i);
            out
        } else {
            return Err(EngineError::UnknownInteraction(id));
        };
        let mut ev = NewEvent::new(t, EventKind::Transferred { to_queue, to_agent })
            .with_interaction(id)
            .with_agent(agent);
        ev.customer_id = customer;
        self.record(vec![ev]);
        let to = match (to_agent, to_queue) {
            (Some(a), _) => format!("agent:{}", a.0),
            (None, Some(q)) => format!(
                "queue:{}",
                self.queues.get(&q).map(|q| q.name.as_str()).unwrap_or("")
            ),
            (None, None) => String::new(),
        };
        self.send(
            Audience::Agent(agent),
            Push::Transferred {
                interaction_id: id,
                to,
            },
        );
        self.sync_agent(agent);
        let task = Task {
            skills,
            ..Task::new(id, queue, channel, segment)
        };
        self.acd.handle_task_arrived(t, task)?;
        if channel == Channel::Voice {
            self.music_on_hold(id);
        }
        self.process_decisions();
        Ok(())
    }

    /// The agent's phone sent REFER: the user part of the Refer-To URI names
    /// an agent (their login) or a queue (its name).
    pub(crate) fn on_phone_transfer(&mut self, leg: LegId, target: String) {
        let Some(LegRole::Agent { task, agent, .. }) = self.legs.get(&leg).copied() else {
            tracing::warn!(%leg, %target, "REFER on a leg that is not an agent's: ignored");
            return;
        };
        let user = refer_user(&target);
        let to = if let Some(q) = self.queue_by_name.get(user) {
            Some(TransferTarget::Queue(*q))
        } else {
            self.agents
                .values()
                .find(|a| a.agent.login == user)
                .map(|a| TransferTarget::Agent(a.agent.id))
        };
        let Some(to) = to else {
            tracing::warn!(%leg, %target, "REFER names neither a queue nor a logged-in agent: ignored");
            return;
        };
        if let Err(e) = self.transfer(agent, task, to) {
            tracing::warn!(error = %e, %leg, %target, "transfer from the phone refused");
        }
    }
}

/// The user part of a Refer-To value: `<sip:vip@host;transport=udp>` → `vip`.
pub(crate) fn refer_user(target: &str) -> &str {
    let t = target.trim().trim_start_matches('<');
    let t = t
        .strip_prefix("sips:")
        .or_else(|| t.strip_prefix("sip:"))
        .or_else(|| t.strip_prefix("tel:"))
        .unwrap_or(t);
    let end = t.find(['@', ';', '>', '?']).unwrap_or(t.len());
    &t[..end]
}

#[cfg(test)]
mod tests {
    use super::refer_user;

    #[test]
    fn refer_to_user_part() {
        assert_eq!(refer_user("<sip:vip@10.0.0.1;transport=udp>"), "vip");
        assert_eq!(refer_user("sip:koffi@sb"), "koffi");
        assert_eq!(refer_user("tel:+22997000000"), "+22997000000");
        assert_eq!(refer_user("<sips:general>"), "general");
    }
}
