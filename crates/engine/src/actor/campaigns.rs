//! Outbound voice campaigns (issue 15): the engine drives one
//! [`dialer::Dialer`] per running campaign and carries out its actions.
//!
//! - `PlaceCall`: an outbound voice interaction is opened (queue = the
//!   campaign's) and the number is dialled on the campaign's trunk; the
//!   leg's progress (answered, busy, no answer, failed) goes back to the
//!   dialer as its [`dialer::Outcome`].
//! - `ConnectAgent`: the answered person becomes an ordinary call waiting in
//!   the campaign's queue, as a task only the chosen agent can take (the
//!   per-agent skill of transfers), so the ACD reserves the agent, pushes
//!   the screen-pop and rings their phone like for an inbound call
//!   (blended: the same agents take both). When the agent's leg is bridged
//!   the dialer hears `AgentConnected`; the agent's disposition ends the
//!   attempt.
//! - `PlayAbandonMessage` / `LeaveMessage`: a prompt, then hang-up.
//! - `SendFollowUp`: an SMS to the contact through the outbox.
//! - Agents' ACD states are reported to every campaign whose queue they
//!   serve: available, busy (other work, pause), wrap-up, logged out.
//!
//! Campaigns live in memory (started through [`crate::EngineHandle::start_campaign`]);
//! their lists and settings are not stored yet.

use super::{Actor, Call, LegRole, Phase, Then, VoiceOp};
use crate::EngineError;
use dialer::{Action, AttemptId, ContactId, Dialer, Outcome};
use domain::*;
use routing::Task;
use std::collections::{HashMap, VecDeque};
use voice::{HangupCause, LegId};

/// A running campaign's id (engine-assigned, from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct DialCampaignId(pub u32);

impl std::fmt::Display for DialCampaignId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A campaign to start: its settings, queue, trunk and contact list.
#[derive(Clone, Debug)]
pub struct DialCampaign {
    /// Shown to supervisors.
    pub name: String,
    /// The queue whose agents take its calls (blended with inbound).
    pub queue: QueueId,
    /// The trunk calls go out on (`[sip.trunks]` with an outbound address).
    pub trunk: String,
    /// From user of the calls (else the trunk's caller-ID).
    pub caller_id: Option<String>,
    /// Dialling mode, pacing, windows, abandon cap, retries, AMD.
    pub config: dialer::CampaignConfig,
    /// The list.
    pub contacts: Vec<dialer::Contact>,
}

/// A campaign's figures ([`crate::EngineHandle::campaign_stats`]).
#[derive(Clone, Debug, serde::Serialize)]
pub struct CampaignStats {
    /// Its id.
    pub id: DialCampaignId,
    /// Its name.
    pub name: String,
    /// Calls placed, answered (live / machine), busy, no answer, failed,
    /// abandoned, connected.
    pub dialed: u64,
    /// Live answers.
    pub live: u64,
    /// Machine answers.
    pub machine: u64,
    /// Busy.
    pub busy: u64,
    /// No answer.
    pub no_answer: u64,
    /// Failed.
    pub failed: u64,
    /// Abandoned (no agent in time, or the person hung up first).
    pub abandoned: u64,
    /// Connected to an agent.
    pub connected: u64,
}

/// One call attempt on the wire.
pub(crate) struct Attempt {
    pub contact: ContactId,
    /// Claimed in the database while the attempt lives.
    pub number: PhoneNumber,
    pub interaction: InteractionId,
    pub leg: Option<LegId>,
    pub answered: bool,
    /// Handed to the ACD for this agent (`ConnectAgent`).
    pub agent: Option<AgentId>,
}

/// A number's claim, back from the store ([`Actor::on_dial_claim`]).
pub(crate) struct DialClaim {
    pub campaign: DialCampaignId,
    pub attempt: AttemptId,
    pub contact: ContactId,
    pub number: PhoneNumber,
    pub ring_timeout_ms: u32,
    pub claimed: Result<bool, store::StoreError>,
}

/// A running campaign.
pub(crate) struct Run {
    pub spec: DialCampaign,
    pub dialer: Dialer,
    pub contacts: HashMap<ContactId, dialer::Contact>,
    pub attempts: HashMap<AttemptId, Attempt>,
    /// The attempt of each interaction of this campaign.
    pub by_interaction: HashMap<InteractionId, AttemptId>,
}

impl Actor {
    /// Start a campaign now.
    ///
    /// # Errors
    /// Unknown queue; no trunk; settings the dialer refuses.
    pub(crate) fn start_campaign(
        &mut self,
        c: DialCampaign,
    ) -> Result<DialCampaignId, EngineError> {
        if !self.queues.contains_key(&c.queue) {
            return Err(EngineError::Invalid(format!("unknown queue {}", c.queue)));
        }
        if c.trunk.trim().is_empty() {
            return Err(EngineError::Invalid("a campaign needs a trunk".into()));
        }
        let t = self.now;
        let mut d = Dialer::new(t, c.config.clone())
            .map_err(|e| EngineError::Invalid(format!("campaign settings: {e}")))?;
        d.handle_contacts_added(t, c.contacts.clone());
        let id = DialCampaignId(self.campaigns.len() as u32 + 1);
        let serving: Vec<AgentId> = self
            .agents
            .values()
            .filter(|a| self.serves(a.agent.id, c.queue))
            .map(|a| a.agent.id)
            .collect();
        for a in serving {
            if self.last_state.get(&a).map(|(s, _)| *s) == Some(event::AgentState::Available) {
                d.handle_agent_available(t, a);
            } else {
                d.handle_agent_busy(t, a);
            }
        }
        d.handle_start(t);
        tracing::info!(campaign = %id, name = %c.name, contacts = c.contacts.len(), "campaign started");
        self.campaigns.insert(
            id,
            Run {
                contacts: c.contacts.iter().map(|k| (k.id, k.clone())).collect(),
                spec: c,
                dialer: d,
                attempts: HashMap::new(),
                by_interaction: HashMap::new(),
            },
        );
        self.run_dialer(id);
        Ok(id)
    }

    /// Pause a campaign: no new calls (calls on the wire go on).
    pub(crate) fn pause_campaign(&mut self, id: DialCampaignId) -> Result<(), EngineError> {
        let run = self
            .campaigns
            .get_mut(&id)
            .ok_or_else(|| EngineError::Invalid(format!("unknown campaign {id}")))?;
        run.dialer.handle_pause(self.now);
        self.run_dialer(id);
        Ok(())
    }

    /// Every campaign's figures.
    pub(crate) fn campaign_stats(&self) -> Vec<CampaignStats> {
        let mut out: Vec<CampaignStats> = self
            .campaigns
            .iter()
            .map(|(id, r)| {
                let c = r.dialer.counters();
                CampaignStats {
                    id: *id,
                    name: r.spec.name.clone(),
                    dialed: c.dialed,
                    live: c.live,
                    machine: c.machine,
                    busy: c.busy,
                    no_answer: c.no_answer,
                    failed: c.failed,
                    abandoned: c.abandoned,
                    connected: c.connected,
                }
            })
            .collect();
        out.sort_by_key(|s| s.id);
        out
    }

    /// Does `agent` hold the skills `queue` requires?
    fn serves(&self, agent: AgentId, queue: QueueId) -> bool {
        let (Some(a), Some(q)) = (self.agents.get(&agent), self.queues.get(&queue)) else {
            return false;
        };
        q.required_skills.iter().all(|r| {
            a.agent
                .skills
                .iter()
                .any(|s| s.skill == r.skill && s.level >= r.level)
        })
    }

    /// The earliest deadline of the campaigns' dialers.
    pub(crate) fn campaigns_timeout(&self) -> Option<Timestamp> {
        self.campaigns
            .values()
            .filter_map(|r| r.dialer.poll_timeout())
            .min()
    }

    /// Wake the dialers whose deadline has come.
    pub(crate) fn campaigns_on_deadline(&mut self) {
        let t = self.now;
        let due: Vec<DialCampaignId> = self
            .campaigns
            .iter()
            .filter(|(_, r)| r.dialer.poll_timeout().is_some_and(|d| d <= t))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(r) = self.campaigns.get_mut(&id) {
                r.dialer.handle_timeout(t);
            }
            self.run_dialer(id);
        }
    }

    /// Report an agent's ACD state to the campaigns of the queues they serve.
    pub(crate) fn campaigns_agent_state(&mut self, agent: AgentId, state: event::AgentState) {
        if self.campaigns.is_empty() {
            return;
        }
        let t = self.now;
        let ids: Vec<DialCampaignId> = self
            .campaigns
            .iter()
            .filter(|(_, r)| {
                self.serves(agent, r.spec.queue) || state == event::AgentState::LoggedOut
            })
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let wrap_s = self
                .campaigns
                .get(&id)
                .and_then(|r| self.queues.get(&r.spec.queue))
                .map(|q| q.wrap_up_s)
                .unwrap_or(0);
            let Some(r) = self.campaigns.get_mut(&id) else {
                continue;
            };
            // An agent the dialer chose for one of its calls stays its own
            // until that call ends (their ACD reservation is that call).
            let chosen = r.attempts.values().any(|a| a.agent == Some(agent));
            use event::AgentState as S;
            match state {
                S::Available => r.dialer.handle_agent_available(t, agent),
                S::WrapUp => {
                    r.dialer
                        .handle_agent_wrap_up(t, agent, t.add_millis(i64::from(wrap_s) * 1000));
                    r.attempts
                        .retain(|_, a| a.agent != Some(agent) || !a.answered);
                }
                S::LoggedOut => r.dialer.handle_agent_logged_out(t, agent),
                S::Busy | S::Reserved | S::Paused if !chosen => {
                    r.dialer.handle_agent_busy(t, agent)
                }
                _ => {}
            }
            self.run_dialer(id);
        }
    }

    /// Carry out a campaign's queued actions.
    pub(crate) fn run_dialer(&mut self, id: DialCampaignId) {
        let mut actions = VecDeque::new();
        if let Some(r) = self.campaigns.get_mut(&id) {
            while let Some(a) = r.dialer.poll_action() {
                actions.push_back(a);
            }
        }
        while let Some(a) = actions.pop_front() {
            self.dialer_action(id, a);
            if let Some(r) = self.campaigns.get_mut(&id) {
                while let Some(a) = r.dialer.poll_action() {
                    actions.push_back(a);
                }
            }
        }
    }

    fn dialer_action(&mut self, id: DialCampaignId, action: Action) {
        let t = self.now;
        match action {
            Action::PlaceCall {
                attempt,
                contact,
                number,
                ring_timeout_ms,
                ..
            } => {
                // One call in flight per number, across campaigns and nodes:
                // the database's claim first, off the loop
                // ([`Self::on_dial_claim`] places the call).
                let store = self.store.clone();
                let campaign = i64::from(id.0);
                self.task(async move {
                    let claimed = store.claim_dial_number(&number, campaign, t).await;
                    Some(super::Internal::DialClaim(Box::new(DialClaim {
                        campaign: id,
                        attempt,
                        contact,
                        number,
                        ring_timeout_ms,
                        claimed,
                    })))
                });
            }
            Action::ConnectAgent { attempt, agent, .. } => {
                self.connect_campaign_call(id, attempt, agent)
            }
            Action::PlayAbandonMessage { attempt } => {
                self.play_and_end(id, attempt, "campaign_abandon", "abandoned")
            }
            Action::LeaveMessage { attempt } => {
                self.play_and_end(id, attempt, "campaign_voicemail", "voicemail")
            }
            Action::HangUp { attempt } => {
                if let Some(leg) = self.attempt(id, attempt).and_then(|a| a.leg) {
                    self.voice(VoiceOp::HangUp(leg));
                }
            }
            Action::Preview { agent, contact } => {
                tracing::info!(campaign = %id, %agent, contact = contact.0, "preview (desktop card not built yet)");
            }
            Action::SendFollowUp { contact, reason } => {
                let Some(number) = self
                    .campaigns
                    .get(&id)
                    .and_then(|r| r.contacts.get(&contact))
                    .map(|c| c.number.to_string())
                else {
                    return;
                };
                let text = format!(
                    "Démo Télécom a essayé de vous joindre ({reason:?}). Rappelez-nous au 3900 ou répondez à ce message."
                );
                let m = store::NewOutboxMessage {
                    channel: Channel::Sms,
                    recipient: number,
                    body: text,
                    interaction_id: None,
                    customer_id: None,
                    purpose: "campaign_follow_up".into(),
                };
                self.store_job(move |store| async move {
                    if let Err(e) = store.enqueue_message(&m, t).await {
                        tracing::error!(error = %e, "cannot queue the campaign follow-up");
                    }
                });
            }
            Action::Dispositioned {
                attempt,
                disposition,
            } => {
                tracing::info!(campaign = %id, attempt = attempt.0, ?disposition, "attempt dispositioned");
                self.end_attempt(id, attempt, &format!("{disposition:?}").to_lowercase());
            }
            Action::RetryScheduled { contact, at } => {
                tracing::debug!(campaign = %id, contact = contact.0, %at, "retry scheduled");
            }
            Action::ContactClosed { contact, reason } => {
                tracing::debug!(campaign = %id, contact = contact.0, ?reason, "contact closed");
            }
        }
    }

    fn attempt(&self, id: DialCampaignId, attempt: AttemptId) -> Option<&Attempt> {
        self.campaigns.get(&id)?.attempts.get(&attempt)
    }

    /// Hand an outcome to the dialer (a refused one is logged).
    fn dialer_outcome(&mut self, id: DialCampaignId, attempt: AttemptId, o: Outcome) {
        let t = self.now;
        if let Some(r) = self.campaigns.get_mut(&id)
            && let Err(e) = r.dialer.handle_outcome(t, attempt, o)
        {
            tracing::warn!(error = %e, campaign = %id, "dialer refused an outcome");
        }
        self.run_dialer(id);
    }

    /// The number's claim is back: place the call, or report the attempt
    /// failed when another call holds the number (or the store failed).
    pub(crate) fn on_dial_claim(&mut self, c: DialClaim) {
        let t = self.now;
        let DialClaim {
            campaign: id,
            attempt,
            contact,
            number,
            ring_timeout_ms,
            claimed,
        } = c;
        match claimed {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(campaign = %id, %number, "a call to this number is already in flight: attempt not placed");
                self.dialer_outcome(id, attempt, Outcome::Failed);
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, campaign = %id, "cannot claim the number: attempt not placed");
                self.dialer_outcome(id, attempt, Outcome::Failed);
                return;
            }
        }
        let Some(run) = self.campaigns.get(&id) else {
            self.release_number(number);
            return;
        };
        let customer = run.contacts.get(&contact).and_then(|c| c.customer);
        let (queue, trunk, caller_id) = (
            run.spec.queue,
            run.spec.trunk.clone(),
            run.spec.caller_id.clone(),
        );
        let opened = self.open_interaction(
            store::NewInteraction {
                channel: Channel::Voice,
                direction: Direction::Outbound,
                customer_id: customer,
                queue_id: Some(queue),
                agent_id: None,
                started_at: t,
            },
            Vec::new(),
        );
        let interaction = match opened {
            Ok(i) => i.id,
            Err(e) => {
                tracing::error!(error = %e, campaign = %id, "cannot open the attempt's interaction");
                self.release_number(number);
                self.dialer_outcome(id, attempt, Outcome::Failed);
                return;
            }
        };
        if let Some(run) = self.campaigns.get_mut(&id) {
            run.attempts.insert(
                attempt,
                Attempt {
                    contact,
                    number: number.clone(),
                    interaction,
                    leg: None,
                    answered: false,
                    agent: None,
                },
            );
            run.by_interaction.insert(interaction, attempt);
        }
        self.voice_then(
            VoiceOp::OriginateTrunk {
                trunk,
                number: number.to_string(),
                caller_id,
                ring: std::time::Duration::from_millis(u64::from(ring_timeout_ms)),
            },
            Then::CampaignDialled {
                campaign: id,
                attempt,
            },
        );
    }

    /// Free a number's claim (its attempt is over), off the loop.
    fn release_number(&mut self, number: PhoneNumber) {
        self.store_job(move |store| async move {
            if let Err(e) = store.release_dial_number(&number).await {
                tracing::error!(error = %e, %number, "cannot release the number's claim");
            }
        });
    }

    /// Forget an attempt and release its number.
    fn forget_attempt(&mut self, id: DialCampaignId, attempt: AttemptId) -> Option<Attempt> {
        let r = self.campaigns.get_mut(&id)?;
        let a = r.attempts.remove(&attempt)?;
        r.by_interaction.remove(&a.interaction);
        let number = a.number.clone();
        self.release_number(number);
        Some(a)
    }

    /// The trunk call is placed (its leg) or could not be.
    pub(crate) fn on_campaign_dialled(
        &mut self,
        id: DialCampaignId,
        attempt: AttemptId,
        dialled: Result<LegId, voice::VoiceError>,
    ) {
        match dialled {
            Ok(leg) => {
                let Some(a) = self
                    .campaigns
                    .get_mut(&id)
                    .and_then(|r| r.attempts.get_mut(&attempt))
                else {
                    self.voice(VoiceOp::HangUp(leg));
                    return;
                };
                a.leg = Some(leg);
                let interaction = a.interaction;
                self.legs.insert(
                    leg,
                    LegRole::Campaign {
                        campaign: id,
                        attempt,
                    },
                );
                self.leg_owner.insert(leg, (interaction, "caller", None));
            }
            Err(e) => {
                tracing::warn!(error = %e, campaign = %id, "campaign call not placed");
                self.end_attempt(id, attempt, "failed");
                self.dialer_outcome(id, attempt, Outcome::Failed);
            }
        }
    }

    /// The called person answered (AMD is not wired: every answer is live).
    pub(crate) fn on_campaign_answered(&mut self, id: DialCampaignId, attempt: AttemptId) {
        let t = self.now;
        let Some(a) = self
            .campaigns
            .get_mut(&id)
            .and_then(|r| r.attempts.get_mut(&attempt))
        else {
            return;
        };
        a.answered = true;
        let interaction = a.interaction;
        let mut change = store::InteractionChange {
            answered_at: Some(t),
            ..Default::default()
        };
        change.queue_id = self.campaigns.get(&id).map(|r| r.spec.queue);
        self.write(store::Write::Update {
            id: interaction,
            change,
            events: Vec::new(),
        });
        self.dialer_outcome(id, attempt, Outcome::AnsweredLive);
    }

    /// The campaign leg ended before an agent had it.
    pub(crate) fn on_campaign_leg_gone(
        &mut self,
        id: DialCampaignId,
        attempt: AttemptId,
        cause: HangupCause,
    ) {
        let Some(a) = self.attempt(id, attempt) else {
            return;
        };
        let outcome = if a.answered {
            Outcome::Abandoned
        } else {
            match cause {
                HangupCause::Busy => Outcome::Busy,
                HangupCause::NoAnswer | HangupCause::Timeout => Outcome::NoAnswer,
                _ => Outcome::Failed,
            }
        };
        let reason = match outcome {
            Outcome::Busy => "busy",
            Outcome::NoAnswer => "no_answer",
            Outcome::Abandoned => "abandoned",
            _ => "failed",
        };
        self.end_attempt(id, attempt, reason);
        self.dialer_outcome(id, attempt, outcome);
    }

    /// Close the attempt's interaction (if not closed yet) and forget it.
    fn end_attempt(&mut self, id: DialCampaignId, attempt: AttemptId, reason: &str) {
        let t = self.now;
        let Some(interaction) = self.attempt(id, attempt).map(|a| a.interaction) else {
            return;
        };
        if self.calls.contains_key(&interaction) {
            // An agent has it: the call's own end closes it.
            return;
        }
        let Some(a) = self.forget_attempt(id, attempt) else {
            return;
        };
        if let Some(leg) = a.leg {
            self.legs.remove(&leg);
        }
        self.write(store::Write::Update {
            id: interaction,
            change: store::InteractionChange {
                ended_at: Some(t),
                end_reason: Some(reason.into()),
                ..Default::default()
            },
            events: vec![
                NewEvent::new(
                    t,
                    EventKind::Ended {
                        reason: reason.into(),
                    },
                )
                .with_interaction(interaction),
            ],
        });
    }

    /// Play a campaign prompt to the answered person, then hang up.
    fn play_and_end(&mut self, id: DialCampaignId, attempt: AttemptId, prompt: &str, reason: &str) {
        let Some(leg) = self.attempt(id, attempt).and_then(|a| a.leg) else {
            return;
        };
        let lang = self.cfg.default_language.clone();
        let wav = if self.prompt_files.has(&lang, prompt) {
            self.prompt_path(&lang, prompt)
        } else {
            self.prompt_path(&lang, "sorry_technical")
        };
        self.legs.remove(&leg);
        self.play_then_hang_up(leg, wav);
        self.end_attempt(id, attempt, reason);
    }

    /// The dialer chose `agent` for an answered person: the call waits in
    /// the campaign's queue as a task only that agent can take.
    fn connect_campaign_call(&mut self, id: DialCampaignId, attempt: AttemptId, agent: AgentId) {
        let t = self.now;
        let Some(run) = self.campaigns.get_mut(&id) else {
            return;
        };
        let queue = run.spec.queue;
        let Some(a) = run.attempts.get_mut(&attempt) else {
            return;
        };
        let Some(leg) = a.leg else {
            return;
        };
        a.agent = Some(agent);
        let interaction = a.interaction;
        let contact = run.contacts.get(&a.contact).cloned();
        let number = contact
            .as_ref()
            .map(|c| c.number.to_string())
            .unwrap_or_default();
        self.legs.insert(leg, LegRole::Caller(interaction));
        let row = Interaction {
            id: interaction,
            channel: Channel::Voice,
            direction: Direction::Outbound,
            customer_id: contact.as_ref().and_then(|c| c.customer),
            queue_id: Some(queue),
            agent_id: None,
            started_at: t,
            answered_at: Some(t),
            ended_at: None,
            end_reason: None,
            disposition: None,
            notes: None,
            recording: None,
        };
        self.calls.insert(
            interaction,
            Call {
                interaction: row,
                customer: None,
                caller: number,
                caller_leg: leg,
                lang: self.cfg.default_language.clone(),
                segment: Segment::default(),
                ivr: None,
                ivr_trace: Some(serde_json::json!({ "campaign": id.0 })),
                ivr_steps_written: 0,
                phase: Phase::Queued,
                prompts: VecDeque::new(),
                prompts_for_ivr: false,
                barge_in: false,
                queued_at: Some(t),
                agent: None,
                agent_leg: None,
                recording: None,
                history: Vec::new(),
                recording_parts: 0,
                on_hold: false,
                hold_pending: None,
                monitor: None,
            },
        );
        let mut ev = NewEvent::new(
            t,
            EventKind::Queued {
                queue_id: queue,
                priority: 0,
            },
        )
        .with_interaction(interaction);
        ev.customer_id = contact.and_then(|c| c.customer);
        self.record(vec![ev]);
        let task = Task {
            skills: vec![super::transfer::personal_skill(agent)],
            ..Task::new(interaction, queue, Channel::Voice, Segment::default())
        };
        if let Err(e) = self.acd.handle_task_arrived(t, task) {
            tracing::error!(error = %e, "ACD refused the campaign call");
        }
        self.process_decisions();
    }

    /// The campaign and attempt of an interaction, if it is a campaign call.
    fn attempt_of(&self, interaction: InteractionId) -> Option<(DialCampaignId, AttemptId)> {
        self.campaigns
            .iter()
            .find_map(|(id, r)| r.by_interaction.get(&interaction).map(|a| (*id, *a)))
    }

    /// A campaign call was bridged to its agent.
    pub(crate) fn campaign_connected(&mut self, interaction: InteractionId, agent: AgentId) {
        if let Some((id, attempt)) = self.attempt_of(interaction) {
            self.dialer_outcome(id, attempt, Outcome::AgentConnected(agent));
        }
    }

    /// The agent's disposition of a campaign call ends its attempt.
    pub(crate) fn campaign_disposition(&mut self, interaction: InteractionId, code: DispositionId) {
        if let Some((id, attempt)) = self.attempt_of(interaction) {
            self.forget_attempt(id, attempt);
            self.dialer_outcome(
                id,
                attempt,
                Outcome::Disposition {
                    code,
                    callback_at: None,
                },
            );
        }
    }

    /// A campaign call waiting for its agent was abandoned by the person.
    pub(crate) fn campaign_abandoned(&mut self, interaction: InteractionId) {
        if let Some((id, attempt)) = self.attempt_of(interaction) {
            self.forget_attempt(id, attempt);
            self.dialer_outcome(id, attempt, Outcome::Abandoned);
        }
    }
}
