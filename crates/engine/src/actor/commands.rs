//! Commands from the API (agent desktop): login, state, disposition, call
//! control.

use super::{Actor, AgentLive, Internal, Phase};
use super::{Then, VoiceOp};
use crate::{AgentRequest, Command, EngineError};
use domain::event::AgentState;
use domain::*;
use routing::{AgentInput, AgentProfile};

impl Actor {
    pub(crate) fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Login(agent, reply) => {
                let r = self.login(*agent);
                self.reply_to(reply, r);
            }
            Command::Logout(agent, reply) => {
                let r = self
                    .acd
                    .handle_agent_logout(self.now, agent)
                    .map_err(EngineError::from);
                if r.is_ok() {
                    self.agents.remove(&agent);
                    self.agent_state_changed(agent, AgentState::LoggedOut, None);
                }
                self.process_decisions();
                self.reply_to(reply, r);
            }
            Command::State(agent, req, reply) => {
                let r = if !self.agents.contains_key(&agent) {
                    Err(EngineError::NotLoggedIn(agent))
                } else {
                    let (input, state, reason) = match req {
                        AgentRequest::Ready => (AgentInput::Ready, AgentState::Available, None),
                        AgentRequest::Pause(r) => (
                            AgentInput::Pause { reason: r.clone() },
                            AgentState::Paused,
                            Some(r),
                        ),
                    };
                    match self.acd.handle_agent_state(self.now, agent, input) {
                        Ok(()) => {
                            self.agent_state_changed(agent, state, reason);
                            Ok(())
                        }
                        Err(e) => Err(e.into()),
                    }
                };
                self.process_decisions();
                self.reply_to(reply, r);
            }
            Command::Disposition {
                agent,
                interaction,
                code,
                code_id,
                notes,
                stored,
                reply,
            } => {
                let r = self.disposition(agent, interaction, code, notes, stored.map(|b| *b));
                if r.is_ok() && !self.campaigns.is_empty() {
                    self.campaign_disposition(interaction, code_id);
                }
                self.process_decisions();
                self.reply_to(reply, r);
            }
            Command::HangUp(agent, interaction, reply) => {
                let r = match self.calls.get(&interaction) {
                    Some(c) if c.agent == Some(agent) && c.phase == Phase::Talking => {
                        self.end_talk(interaction, "agent_hangup");
                        Ok(())
                    }
                    Some(_) => Err(EngineError::NotYours(interaction)),
                    None => Err(EngineError::UnknownInteraction(interaction)),
                };
                self.reply_to(reply, r);
            }
            Command::Supervise {
                supervisor,
                phone,
                interaction,
                mode,
                reply,
            } => self.supervise(supervisor, phone, interaction, mode, reply),
            Command::StopSupervising {
                supervisor,
                interaction,
                reply,
            } => {
                let r = self.stop_supervising(&supervisor, interaction);
                self.reply_to(reply, r);
            }
            Command::TakeOver {
                supervisor,
                interaction,
                reply,
            } => self.take_over(&supervisor, interaction, reply),
            Command::Hold(agent, interaction, on, reply) => {
                self.hold(agent, interaction, on, reply);
            }
            Command::QueueStats(reply) => {
                let mut v: Vec<_> = self
                    .queues
                    .values()
                    .filter_map(|q| {
                        self.acd
                            .queue_stats_at(q.id, self.now)
                            .map(|s| (q.name.clone(), s))
                    })
                    .collect();
                v.sort_by_key(|(_, s)| s.queue);
                self.reply_to(reply, v);
            }
            Command::ReloadFlows(reply) => self.reload_flows(reply),
            Command::AgentStats(reply) => {
                let t = self.now;
                let mut v: Vec<_> = self
                    .agents
                    .keys()
                    .filter_map(|a| self.acd.agent_stats(*a, t))
                    .collect();
                v.sort_by_key(|s| s.agent);
                self.reply_to(reply, v);
            }
            Command::Transfer {
                agent,
                interaction,
                target,
                reply,
            } => {
                let r = self.transfer(agent, interaction, target);
                self.process_decisions();
                self.reply_to(reply, r);
            }
            Command::StartCampaign(c, reply) => {
                let r = self.start_campaign(*c);
                self.reply_after_store(reply, r);
            }
            Command::Preview(agent, choice, reply) => {
                let r = self.preview_choice(agent, choice);
                self.reply_to(reply, r);
            }
            Command::PauseCampaign(id, reply) => {
                let r = self.pause_campaign(id);
                self.reply_after_store(reply, r);
            }
            Command::StopCampaign(id, reply) => {
                let r = self.stop_campaign(id);
                self.reply_after_store(reply, r);
            }
            Command::ResumeCampaign(id, reply) => {
                let r = self.resume_campaign(id);
                self.reply_after_store(reply, r);
            }
            Command::AddCampaignContacts(id, contacts, reply) => {
                let r = self.add_campaign_contacts(id, contacts);
                self.reply_after_store(reply, r);
            }
            Command::DncAdded(number, reply) => {
                self.dnc_added(number);
                self.reply_after_store(reply, ());
            }
            Command::CampaignStats(reply) => {
                let r = self.campaign_stats();
                self.reply_to(reply, r);
            }
            Command::Callback {
                request,
                caller,
                reply,
            } => {
                let r = self.request_callback(request, caller.map(|b| *b));
                self.process_decisions();
                self.reply_to(reply, r);
            }
            Command::RouteConversation {
                conversation,
                queue,
                address,
                bot,
                reply,
            } => {
                let r =
                    self.route_conversation_with(*conversation, queue, address, 0, bot.map(|b| *b));
                self.reply_to(reply, r);
            }
            Command::BotIndex(index, reply) => {
                let r = self.set_bot_index(index);
                self.reply_to(reply, Ok(r));
            }
            Command::BotHas(interaction, reply) => {
                let r = self.bots.contains_key(&interaction);
                self.reply_to(reply, r);
            }
            Command::BotAwaitsCode(interaction, reply) => {
                let r = self
                    .bots
                    .get(&interaction)
                    .is_some_and(|b| b.session.awaits_code());
                self.reply_to(reply, r);
            }
            Command::StartConversation {
                conversation,
                queue,
                address,
                text,
                reply,
            } => {
                let r = self.start_conversation(*conversation, queue, address, text);
                self.reply_to(reply, r);
            }
            Command::ConversationMessage {
                interaction,
                text,
                reply,
            } => {
                let r = if self.bots.contains_key(&interaction) {
                    self.bot_message(interaction, &text);
                    Ok(())
                } else {
                    self.conversation_message(interaction, text)
                };
                self.reply_to(reply, r);
            }
            Command::Offer {
                agent,
                interaction,
                accept,
                reply,
            } => {
                let r = self.answer_offer(agent, interaction, accept);
                self.reply_to(reply, r);
            }
            Command::Typing {
                interaction,
                agent,
                reply,
            } => {
                let r = self.typing(interaction, agent);
                self.reply_to(reply, r);
            }
            Command::QueueChanged(queue, reply) => {
                let r = self
                    .acd
                    .handle_queue_config(self.now, routing::QueueConfig::new(queue.clone()))
                    .map_err(EngineError::from);
                if r.is_ok() {
                    tracing::info!(queue = %queue.name, "queue settings applied live");
                    self.queue_by_name.retain(|_, id| *id != queue.id);
                    self.queue_by_name.insert(queue.name.clone(), queue.id);
                    self.queues.insert(queue.id, queue);
                    self.process_decisions();
                }
                self.reply_to(reply, r);
            }
            Command::Reply {
                agent,
                interaction,
                text,
                reply,
            } => match self.reply(agent, interaction, text, reply) {
                Ok(()) => {}
                Err((reply, e)) => self.reply_to(reply, Err(e)),
            },
        }
    }

    fn login(&mut self, a: Agent) -> Result<(), EngineError> {
        let agent = a.id;
        // Every agent also holds `agent:<id>`: transfers to one agent
        // require it.
        let mut skills = a.skills.clone();
        skills.push(super::transfer::personal_skill(a.id));
        let profile = AgentProfile {
            capacity: a.capacity.clone(),
            ..AgentProfile::new(a.id, skills)
        };
        self.acd.handle_agent_login(self.now, profile)?;
        self.agents.insert(agent, AgentLive { agent: a });
        self.agent_state_changed(agent, AgentState::Available, None);
        self.process_decisions();
        Ok(())
    }

    fn disposition(
        &mut self,
        agent: AgentId,
        interaction: InteractionId,
        code: String,
        notes: Option<String>,
        stored: Option<Interaction>,
    ) -> Result<(), EngineError> {
        let live_conversation = self.conversations.contains_key(&interaction);
        let mut i = match (
            self.calls.get(&interaction),
            self.conversations.get(&interaction),
        ) {
            (Some(c), _) => c.interaction.clone(),
            (None, Some(c)) => c.interaction.clone(),
            (None, None) => stored.ok_or(EngineError::UnknownInteraction(interaction))?,
        };
        if i.agent_id != Some(agent) {
            return Err(EngineError::NotYours(interaction));
        }
        i.disposition = Some(code.clone());
        i.notes = notes.clone();
        if let Some(c) = self.conversations.get_mut(&interaction) {
            c.interaction.disposition = Some(code.clone());
            c.interaction.notes = notes.clone();
        }
        // A call still live (a supervisor took it over) keeps the code for
        // the row its end writes.
        if let Some(c) = self.calls.get_mut(&interaction) {
            c.interaction.disposition = Some(code.clone());
            c.interaction.notes = notes.clone();
        }
        self.save(&i);
        let mut ev = NewEvent::new(self.now, EventKind::DispositionSet { code, notes })
            .with_interaction(interaction)
            .with_agent(agent);
        ev.customer_id = i.customer_id;
        self.record(vec![ev]);
        let ended = self
            .calls
            .get(&interaction)
            .is_some_and(|c| c.phase == Phase::Ended);
        let wrapping_up = self.wrap_up_of.get(&agent) == Some(&interaction);
        if live_conversation {
            self.close_conversation(agent, interaction);
        } else if ended || wrapping_up {
            // A call taken over by a supervisor goes on without its agent:
            // it leaves memory when it ends.
            if ended {
                self.calls.remove(&interaction);
            }
            // Ends wrap-up now; refused (and harmless) if wrap-up already timed out.
            if self
                .acd
                .handle_agent_state(self.now, agent, AgentInput::WrapUpDone)
                .is_err()
            {
                tracing::debug!(%agent, "wrap-up had already ended");
            }
        }
        Ok(())
    }

    /// Send the hold/unhold re-INVITE without waiting for it: the far end
    /// may take up to Timer B (32 s, RFC 3261 §17.1.1.2) to answer, or never
    /// answer; meanwhile every other call, agent and command is served. The
    /// outcome comes back as an input ([`Then::Hold`]) and only then does `on_hold`
    /// change and the API caller get its answer ([`Self::hold_done`]).
    fn hold(
        &mut self,
        agent: AgentId,
        interaction: InteractionId,
        on: bool,
        reply: tokio::sync::oneshot::Sender<Result<(), EngineError>>,
    ) {
        let Some(c) = self.calls.get_mut(&interaction) else {
            self.reply_to(reply, Err(EngineError::UnknownInteraction(interaction)));
            return;
        };
        if c.agent != Some(agent) || c.phase != Phase::Talking {
            self.reply_to(reply, Err(EngineError::NotYours(interaction)));
            return;
        }
        if c.hold_pending.is_some() {
            self.reply_to(
                reply,
                Err(EngineError::Invalid(
                    "a hold change is already in progress".into(),
                )),
            );
            return;
        }
        if c.on_hold == on {
            self.reply_to(reply, Ok(()));
            return;
        }
        c.hold_pending = Some(on);
        let leg = c.caller_leg;
        self.voice_then(
            VoiceOp::Hold(leg, on),
            Then::Hold {
                agent,
                interaction,
                on,
                reply,
            },
        );
    }

    /// The outcome of a hold/unhold re-INVITE: on success the call is (no
    /// longer) on hold, music starts (stops) and `held` (`unheld`) is
    /// recorded; on failure nothing changes.
    pub(crate) fn hold_done(
        &mut self,
        agent: AgentId,
        interaction: InteractionId,
        on: bool,
        result: Result<(), voice::VoiceError>,
    ) -> Result<(), EngineError> {
        let Some(c) = self.calls.get_mut(&interaction) else {
            return Err(EngineError::UnknownInteraction(interaction));
        };
        c.hold_pending = None;
        result.map_err(|e| EngineError::Invalid(format!("hold: {e}")))?;
        if c.phase != Phase::Talking {
            return Err(EngineError::Invalid("the call has ended".into()));
        }
        c.on_hold = on;
        let leg = c.caller_leg;
        if !on {
            self.voice(VoiceOp::StopPrompt(leg));
        } else if let Some(wav) = self.cfg.music_on_hold.clone() {
            self.voice(VoiceOp::MusicOnHold { leg, wav });
        }
        let kind = if on {
            EventKind::Held
        } else {
            EventKind::Unheld
        };
        self.record(vec![
            NewEvent::new(self.now, kind)
                .with_interaction(interaction)
                .with_agent(agent),
        ]);
        Ok(())
    }

    /// Re-read the flow files (and the prompt files) off the engine loop,
    /// on a blocking thread with a copy of the running flows; the parsed set
    /// comes back as [`Internal::Flows`] and replaces the running one then.
    /// One reload at a time.
    fn reload_flows(
        &mut self,
        reply: tokio::sync::oneshot::Sender<Result<crate::FlowReload, EngineError>>,
    ) {
        let Some(dir) = self.cfg.flows_dir.clone() else {
            self.reply_to(
                reply,
                Err(EngineError::Invalid("no flows folder configured".into())),
            );
            return;
        };
        if self.flows_reloading {
            self.reply_to(
                reply,
                Err(EngineError::Invalid(
                    "a flow reload is already in progress".into(),
                )),
            );
            return;
        }
        self.flows_reloading = true;
        let mut flows = self.flows.clone();
        let prompts_dir = self.cfg.prompts_dir.clone();
        self.task(async move {
            let parsed = tokio::task::spawn_blocking(move || {
                let report = flows
                    .load_dir(&dir)
                    .map_err(|e| format!("{}: {e}", dir.display()));
                (flows, report, super::PromptFiles::scan(&prompts_dir))
            })
            .await;
            let msg = match parsed {
                Ok((flows, report, prompts)) => Internal::Flows {
                    flows: Box::new(flows),
                    report,
                    prompts,
                    reply,
                },
                Err(e) => Internal::Flows {
                    flows: Box::new(ivr::FlowSet::default()),
                    report: Err(format!("flow reload task failed: {e}")),
                    prompts: super::PromptFiles::default(),
                    reply,
                },
            };
            Some(msg)
        });
    }

    /// The parsed flows are back: they replace the running ones (calls in
    /// progress keep the version they started with).
    pub(crate) fn flows_parsed(
        &mut self,
        flows: ivr::FlowSet,
        report: Result<ivr::DirReport, String>,
        prompts: super::PromptFiles,
    ) -> Result<crate::FlowReload, EngineError> {
        self.flows_reloading = false;
        let report = report.map_err(EngineError::Invalid)?;
        self.flows = flows;
        self.prompt_files = prompts;
        let errors: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
        for e in &errors {
            tracing::warn!(error = %e, "IVR flow refused at reload");
        }
        tracing::info!(loaded = ?report.loaded, "IVR flows reloaded");
        Ok(crate::FlowReload {
            loaded: report.loaded,
            errors,
        })
    }
}
