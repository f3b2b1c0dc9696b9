//! # engine — live interactions and agents
//!
//! This room owns what is happening now: calls in the IVR, tasks waiting in
//! queues, phones ringing, agents talking and in wrap-up. It wires the shells
//! (the `voice` stack, the `store`, the messaging outbox, the desktops'
//! WebSocket) to the pure cores (`ivr` sessions, the `routing` ACD) and turns
//! every step into a typed domain event in the store.
//!
//! It must not know SIP, RTP, SQL or HTTP details: it speaks to the voice
//! shell only through [`voice::CallControl`] and [`voice::CallEvent`], to the
//! database only through the [`store::Store`] traits, and to browsers only
//! through [`push::Envelope`]s that the server forwards.
//!
//! ## Core and driver (issue 12)
//! The engine is a state machine with a thin driver around it (str0m's and
//! quinn's shape, STYLE.md):
//! - the core (`actor::Actor`) takes one input at a time with the clock
//!   as an argument — `handle(now, input)`, where an input is a voice event,
//!   an API command, the outcome of earlier work, or a deadline — changes
//!   its state and queues effects: voice commands, store writes, answers
//!   to API callers, work to run off the loop. `poll_effect` hands them
//!   out in order, `poll_timeout` says when to wake it. No handler awaits,
//!   reads a file or touches a socket;
//! - the driver (`Actor::run`) reads the inputs, gives them to the core
//!   and carries out the effects: writes go to the durable [`writer`]
//!   (bounded; it waits only when full), voice commands the stack answers
//!   at once are awaited in order and their outcome (the leg an
//!   `originate` created, a refused bridge) is handed back as an input
//!   before the next voice event; a hold re-INVITE, which waits on the far
//!   end up to SIP Timer B (32 s), runs in its own task and the call is on
//!   hold only when its outcome comes back; store reads (the caller's
//!   lookup with the screen-pop history, IVR lookups, reserving ids,
//!   parsing flow files) run off the loop; outbox messages and customer
//!   fields are written in order by one store-lane task.
//! - the API handle ([`EngineHandle`]) reads what a command needs from the
//!   store (the agent's record, the disposition codes, a conversation's
//!   row) before sending it, and answers once the command's writes are
//!   durable.
//!
//! The scenarios run on the core alone with a manual clock (`actor::scenarios`),
//! and `cargo bench -p engine --bench core` measures it with a fake shell.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<dyn store::Store>) -> Result<(), Box<dyn std::error::Error>> {
//! use engine::{EngineConfig, start};
//! let (calls, events) = voice::start(voice::VoiceConfig::default(),
//!     std::sync::Arc::new(voice::MemoryDirectory::default())).await?;
//! let flows = ivr::FlowSet::new(ivr::PromptCatalog::new());
//! let (engine, task) = start(store, calls, events, flows, EngineConfig::default()).await?;
//! let mut desktop = engine.subscribe();          // offers, states, queue figures
//! engine.agent_login(domain::AgentId(1)).await?; // the agent is now available
//! # drop((desktop, task)); Ok(()) }
//! ```
//!
//! ## Layout
//! - [`config`]: [`EngineConfig`], entry points.
//! - [`push`]: the WebSocket message schema (v1).
//! - [`lookup`]: the IVR's web-service and SQL lookups.
//! - [`writer`]: the durable event writer (bounded channel, group commit,
//!   local journal while the store is down).
//! - `actor` (private): the engine's state and its event handlers.

mod actor;
#[doc(hidden)]
pub mod bench_support;
pub mod config;
pub mod lookup;
pub mod push;
pub mod writer;

pub use actor::campaigns::{
    CampaignStats, ContactsAdded, DEFAULT_FOLLOW_UP_SMS, DialCampaign, DialCampaignId,
    DialModeSetting, DialSettings, FOLLOW_UP_VARS, PreviewChoice, WindowSetting,
};
pub use config::{BotWiring, EngineConfig, EntryPoint};

use domain::{AgentId, InteractionId, PhoneNumber, QueueId};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Errors of engine commands.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The agent is not logged in to the ACD.
    #[error("agent {0} is not logged in")]
    NotLoggedIn(AgentId),
    /// No such agent in the store.
    #[error("agent {0} not found")]
    UnknownAgent(AgentId),
    /// No such live or recent interaction.
    #[error("interaction {0} not found")]
    UnknownInteraction(InteractionId),
    /// The interaction belongs to another agent.
    #[error("interaction {0} is not handled by this agent")]
    NotYours(InteractionId),
    /// The request does not fit the current state.
    #[error("{0}")]
    Invalid(String),
    /// The ACD refused the input.
    #[error("routing: {0}")]
    Routing(#[from] routing::RoutingError),
    /// The ACD configuration is invalid.
    #[error("routing configuration: {0}")]
    Config(#[from] routing::ConfigError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    /// A lookup database could not be opened.
    #[error("lookup database: {0}")]
    Lookup(#[from] sqlx::Error),
    /// The engine has stopped.
    #[error("engine stopped")]
    Stopped,
}

/// An agent's requested ACD state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentRequest {
    /// Ready for offers.
    Ready,
    /// Pause with a reason code.
    Pause(String),
}

/// Commands from the API to the actor.
#[derive(Debug)]
pub(crate) enum Command {
    /// The agent's record, read by the handle.
    Login(Box<domain::Agent>, oneshot::Sender<Result<(), EngineError>>),
    Logout(AgentId, oneshot::Sender<Result<(), EngineError>>),
    State(
        AgentId,
        AgentRequest,
        oneshot::Sender<Result<(), EngineError>>,
    ),
    /// `code` was checked against the store's list by the handle; `stored`:
    /// the interaction's row (used when it is not live in the engine).
    Disposition {
        agent: AgentId,
        interaction: InteractionId,
        code: String,
        /// The code's row id (a campaign's dialer counts by id).
        code_id: domain::DispositionId,
        notes: Option<String>,
        stored: Option<Box<domain::Interaction>>,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    StartCampaign(
        Box<DialCampaign>,
        oneshot::Sender<Result<DialCampaignId, EngineError>>,
    ),
    PauseCampaign(DialCampaignId, oneshot::Sender<Result<(), EngineError>>),
    Preview(
        AgentId,
        PreviewChoice,
        oneshot::Sender<Result<(), EngineError>>,
    ),
    CampaignStats(oneshot::Sender<Vec<CampaignStats>>),
    StopCampaign(DialCampaignId, oneshot::Sender<Result<(), EngineError>>),
    ResumeCampaign(DialCampaignId, oneshot::Sender<Result<(), EngineError>>),
    AddCampaignContacts(
        DialCampaignId,
        Vec<dialer::Contact>,
        oneshot::Sender<Result<ContactsAdded, EngineError>>,
    ),
    DncAdded(PhoneNumber, oneshot::Sender<()>),
    HangUp(
        AgentId,
        InteractionId,
        oneshot::Sender<Result<(), EngineError>>,
    ),
    Hold(
        AgentId,
        InteractionId,
        bool,
        oneshot::Sender<Result<(), EngineError>>,
    ),
    /// A supervisor (username = its phone's SIP user) monitors a call.
    Supervise {
        supervisor: String,
        /// SIP user of the supervisor's phone.
        phone: String,
        interaction: InteractionId,
        mode: domain::SupervisionMode,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    StopSupervising {
        supervisor: String,
        interaction: InteractionId,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    TakeOver {
        supervisor: String,
        interaction: InteractionId,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    QueueStats(oneshot::Sender<Vec<(String, routing::QueueStats)>>),
    ReloadFlows(oneshot::Sender<Result<FlowReload, EngineError>>),
    AgentStats(oneshot::Sender<Vec<routing::AgentStats>>),
    Transfer {
        agent: AgentId,
        interaction: InteractionId,
        target: TransferTarget,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    /// `caller`: who the number belongs to, read by the handle (`None` for
    /// a callback from a waiting call, whose customer the engine knows).
    Callback {
        request: CallbackRequest,
        caller: Option<Box<actor::CallerLookup>>,
        reply: oneshot::Sender<Result<InteractionId, EngineError>>,
    },
    /// The conversation's row, customer and history, read by the handle.
    RouteConversation {
        conversation: Box<actor::Prefetched>,
        queue: QueueId,
        address: String,
        /// The bot's hand-over record read back from the event log, for
        /// the agent's screen-pop.
        bot: Option<Box<push::BotPop>>,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    /// A knowledge-base index built off the loop from the stored
    /// articles: new and live bot sessions search it from now on.
    BotIndex(
        Arc<bot::Retriever>,
        oneshot::Sender<Result<usize, EngineError>>,
    ),
    /// Does the bot wait for a one-time code on this conversation?
    BotAwaitsCode(InteractionId, oneshot::Sender<bool>),
    /// Does the bot have this conversation (not handed over)?
    BotHas(InteractionId, oneshot::Sender<bool>),
    /// A new conversation with its first message: the bot takes it when
    /// it serves the channel, else it is routed like `RouteConversation`.
    StartConversation {
        conversation: Box<actor::Prefetched>,
        queue: QueueId,
        address: String,
        text: String,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    ConversationMessage {
        interaction: InteractionId,
        text: String,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    Offer {
        agent: AgentId,
        interaction: InteractionId,
        accept: bool,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    QueueChanged(domain::Queue, oneshot::Sender<Result<(), EngineError>>),
    Typing {
        interaction: InteractionId,
        agent: Option<AgentId>,
        reply: oneshot::Sender<Result<(domain::Channel, String), EngineError>>,
    },
    Reply {
        agent: AgentId,
        interaction: InteractionId,
        text: String,
        reply: oneshot::Sender<Result<i64, EngineError>>,
    },
}

/// Where a blind transfer sends the caller or conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferTarget {
    /// Back into a queue (keeps its place priority: the segment's).
    Queue(QueueId),
    /// Straight to one agent (who must be logged in); offered like a queue
    /// task restricted to that agent.
    Agent(AgentId),
}

/// A callback to place when the caller's turn comes (SPEC §1.4): the ACD
/// keeps the place in `queue`; when an agent is free the engine rings the
/// agent's phone, then dials `number` through the trunk and bridges them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackRequest {
    /// The queue whose agents call back.
    pub queue: QueueId,
    /// The number to call, any format (normalised to E.164).
    pub number: String,
    /// The interaction it comes from (a waiting call that asked for it), if any;
    /// that call is then ended with reason `callback_requested`.
    pub from_interaction: Option<InteractionId>,
}

/// What a flow reload did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FlowReload {
    /// Flows (re)loaded: name and new version.
    pub loaded: Vec<(String, u64)>,
    /// Files refused, each as `file:line:col: message`; the running version of
    /// those flows (if any) stays in service.
    pub errors: Vec<String>,
}

/// The API's handle on the engine. Cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    cmd: mpsc::Sender<Command>,
    /// Reads done before a command is sent (the agent's record, a
    /// conversation's row), so that the engine's state changes do no I/O.
    store: Arc<dyn store::Store>,
    default_country: String,
    push: broadcast::Sender<push::Envelope>,
    writer: writer::WriterHandle,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle").finish_non_exhaustive()
    }
}

impl EngineHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(make(tx))
            .await
            .map_err(|_| EngineError::Stopped)?;
        let answer = rx.await.map_err(|_| EngineError::Stopped)?;
        // Read your writes: the engine submitted this command's writes before
        // answering, so once the writer has made them durable (FIFO) a
        // caller that reads the store sees them. The engine loop never
        // waits for this; only the API caller does.
        self.writer.flush().await;
        Ok(answer)
    }

    /// Log an agent in to the ACD (available at once). Their phone is the SIP
    /// user named like their login.
    ///
    /// # Errors
    /// Unknown agent; already logged in.
    pub async fn agent_login(&self, agent: AgentId) -> Result<(), EngineError> {
        let a = self
            .store
            .get_agent(agent)
            .await?
            .ok_or(EngineError::UnknownAgent(agent))?;
        self.ask(|r| Command::Login(Box::new(a), r)).await?
    }

    /// Log an agent out of the ACD.
    ///
    /// # Errors
    /// Not logged in.
    pub async fn agent_logout(&self, agent: AgentId) -> Result<(), EngineError> {
        self.ask(|r| Command::Logout(agent, r)).await?
    }

    /// Ready or pause with a reason.
    ///
    /// # Errors
    /// Not logged in.
    pub async fn agent_state(&self, agent: AgentId, req: AgentRequest) -> Result<(), EngineError> {
        self.ask(|r| Command::State(agent, req, r)).await?
    }

    /// Record the disposition and notes of an interaction the agent handled;
    /// ends their wrap-up.
    ///
    /// # Errors
    /// Unknown interaction or disposition code; another agent's interaction.
    pub async fn disposition(
        &self,
        agent: AgentId,
        interaction: InteractionId,
        code: String,
        notes: Option<String>,
    ) -> Result<(), EngineError> {
        let Some(code_id) = self
            .store
            .list_dispositions()
            .await?
            .iter()
            .find(|d| d.code == code)
            .map(|d| d.id)
        else {
            return Err(EngineError::Invalid(format!(
                "unknown disposition code {code:?}"
            )));
        };
        // The row as the engine last wrote it (its writes made durable first).
        self.writer.flush().await;
        let stored = self.store.get_interaction(interaction).await?.map(Box::new);
        self.ask(|reply| Command::Disposition {
            agent,
            interaction,
            code,
            code_id,
            notes,
            stored,
            reply,
        })
        .await?
    }

    /// Start an outbound campaign (issue 15): its dialer paces calls on
    /// the campaign's trunk and hands live answers to the queue's agents.
    ///
    /// # Errors
    /// Unknown queue, no trunk, settings the dialer refuses.
    pub async fn start_campaign(&self, c: DialCampaign) -> Result<DialCampaignId, EngineError> {
        self.ask(|r| Command::StartCampaign(Box::new(c), r)).await?
    }

    /// The agent calls or skips the contact previewed to them
    /// ([`push::Push::Preview`]).
    ///
    /// # Errors
    /// [`EngineError::Invalid`] when the agent has no previewed contact.
    pub async fn preview(&self, agent: AgentId, choice: PreviewChoice) -> Result<(), EngineError> {
        self.ask(|r| Command::Preview(agent, choice, r)).await?
    }

    /// Pause a campaign: no new calls; calls on the wire go on.
    ///
    /// # Errors
    /// Unknown campaign.
    pub async fn pause_campaign(&self, id: DialCampaignId) -> Result<(), EngineError> {
        self.ask(|r| Command::PauseCampaign(id, r)).await?
    }

    /// Stop a campaign for good: no new calls; calls on the wire go on.
    ///
    /// # Errors
    /// Unknown campaign.
    pub async fn stop_campaign(&self, id: DialCampaignId) -> Result<(), EngineError> {
        self.ask(|r| Command::StopCampaign(id, r)).await?
    }

    /// Resume a paused campaign.
    ///
    /// # Errors
    /// Unknown campaign; one that is not paused (a stopped campaign stays
    /// stopped).
    pub async fn resume_campaign(&self, id: DialCampaignId) -> Result<(), EngineError> {
        self.ask(|r| Command::ResumeCampaign(id, r)).await?
    }

    /// Add contacts to a campaign's list (their ids are assigned by the
    /// engine); numbers already listed are skipped and returned.
    ///
    /// # Errors
    /// Unknown or stopped campaign.
    pub async fn add_campaign_contacts(
        &self,
        id: DialCampaignId,
        contacts: Vec<dialer::Contact>,
    ) -> Result<ContactsAdded, EngineError> {
        self.ask(|r| Command::AddCampaignContacts(id, contacts, r))
            .await?
    }

    /// Put `number` on the global do-not-call list every campaign checks
    /// (an opt-out by STOP). The caller has stored it
    /// (`store::DialCampaignStore::add_dial_dnc`); campaigns read the
    /// stored list when the engine starts.
    ///
    /// # Errors
    /// The engine has stopped.
    pub async fn dnc_added(&self, number: PhoneNumber) -> Result<(), EngineError> {
        self.ask(|r| Command::DncAdded(number, r)).await
    }

    /// Every campaign's figures.
    ///
    /// # Errors
    /// The engine has stopped.
    pub async fn campaign_stats(&self) -> Result<Vec<CampaignStats>, EngineError> {
        self.ask(Command::CampaignStats).await
    }

    /// Hang up the agent's call.
    ///
    /// # Errors
    /// Not the agent's live call.
    pub async fn hang_up(
        &self,
        agent: AgentId,
        interaction: InteractionId,
    ) -> Result<(), EngineError> {
        self.ask(|r| Command::HangUp(agent, interaction, r)).await?
    }

    /// Put the caller on hold (music) or take them off.
    ///
    /// # Errors
    /// Not the agent's live call.
    pub async fn hold(
        &self,
        agent: AgentId,
        interaction: InteractionId,
        on: bool,
    ) -> Result<(), EngineError> {
        self.ask(|r| Command::Hold(agent, interaction, on, r))
            .await?
    }

    /// A supervisor listens to, whispers to or barges into a live call
    /// (SPEC §4.2): the first request rings the supervisor's registered
    /// phone (SIP user `phone`: the login of the agent record the user is
    /// linked to, a team leader's own extension, or else the username)
    /// and returns once it rings; the phone joins the call when answered (`monitoring_started`
    /// in the timeline). A later request with another mode switches mode
    /// (`monitoring_mode_changed`), with no re-INVITE.
    ///
    /// # Errors
    /// [`EngineError::UnknownInteraction`] (no such live call);
    /// [`EngineError::Invalid`] when the call is not connected to an agent,
    /// another supervisor monitors it, or the phone cannot be rung.
    pub async fn supervise(
        &self,
        supervisor: String,
        phone: String,
        interaction: InteractionId,
        mode: domain::SupervisionMode,
    ) -> Result<(), EngineError> {
        self.ask(|reply| Command::Supervise {
            supervisor,
            phone,
            interaction,
            mode,
            reply,
        })
        .await?
    }

    /// The supervisor who monitors the call takes it over (SPEC §4.2,
    /// "reprise d'appel"): the customer talks with the supervisor from now
    /// on, the agent's phone is hung up and the agent goes to wrap-up; the
    /// interaction keeps its id (`taken_over` in its timeline).
    ///
    /// # Errors
    /// [`EngineError::UnknownInteraction`]; [`EngineError::Invalid`] when
    /// `supervisor` is not on the call (monitoring and joined) or the voice
    /// shell refuses.
    pub async fn take_over(
        &self,
        supervisor: String,
        interaction: InteractionId,
    ) -> Result<(), EngineError> {
        self.ask(|reply| Command::TakeOver {
            supervisor,
            interaction,
            reply,
        })
        .await?
    }

    /// The supervisor leaves the call: its phone is hung up
    /// (`monitoring_ended` follows).
    ///
    /// # Errors
    /// [`EngineError::UnknownInteraction`]; [`EngineError::Invalid`] when
    /// `supervisor` does not monitor the call.
    pub async fn stop_supervising(
        &self,
        supervisor: String,
        interaction: InteractionId,
    ) -> Result<(), EngineError> {
        self.ask(|reply| Command::StopSupervising {
            supervisor,
            interaction,
            reply,
        })
        .await?
    }

    /// Re-read the IVR flow files. Valid files replace their flow for new
    /// calls (calls in progress keep the version they started with); a bad
    /// file is reported and changes nothing.
    ///
    /// # Errors
    /// No flows folder configured, or it cannot be read.
    pub async fn reload_flows(&self) -> Result<FlowReload, EngineError> {
        self.ask(Command::ReloadFlows).await?
    }

    /// Every queue's live figures, by queue name.
    ///
    /// # Errors
    /// The engine has stopped.
    pub async fn queue_stats(&self) -> Result<Vec<(String, routing::QueueStats)>, EngineError> {
        self.ask(Command::QueueStats).await
    }

    /// Every logged-in agent's live figures.
    ///
    /// # Errors
    /// The engine has stopped.
    pub async fn agent_stats(&self) -> Result<Vec<routing::AgentStats>, EngineError> {
        self.ask(Command::AgentStats).await
    }

    /// Blind transfer of the agent's live call or conversation to a queue or
    /// another agent. The agent is released (wrap-up for a call); the
    /// interaction keeps its id and gets a `transferred` event.
    ///
    /// # Errors
    /// Not the agent's live interaction; unknown queue; target agent not
    /// logged in; transfer to oneself.
    pub async fn transfer(
        &self,
        agent: AgentId,
        interaction: InteractionId,
        target: TransferTarget,
    ) -> Result<(), EngineError> {
        self.ask(|reply| Command::Transfer {
            agent,
            interaction,
            target,
            reply,
        })
        .await?
    }

    /// Queue a callback; returns the new (outbound voice) interaction.
    ///
    /// # Errors
    /// Unknown queue; a number that is not a phone number.
    pub async fn request_callback(
        &self,
        request: CallbackRequest,
    ) -> Result<InteractionId, EngineError> {
        let caller = match request.from_interaction {
            Some(_) => None,
            None => {
                let number =
                    domain::phone::normalize_e164(&request.number, Some(&self.default_country))
                        .map_err(|e| EngineError::Invalid(format!("number: {e}")))?;
                let t = actor::now();
                Some(Box::new(
                    actor::identify_caller(&*self.store, Some(&number), t).await?,
                ))
            }
        };
        self.ask(|reply| Command::Callback {
            request,
            caller,
            reply,
        })
        .await?
    }

    /// Route a new digital conversation (SMS, e-mail, chat, WhatsApp,
    /// Messenger, Instagram): the interaction already exists in the store
    /// with its channel and customer; it becomes an ACD task in `queue` with
    /// the customer's segment and is offered to an agent with capacity on that
    /// channel. `address` is the customer's address on the channel (E.164,
    /// e-mail, page-scoped id, chat visitor id): agent replies go there.
    ///
    /// # Errors
    /// Unknown interaction or queue; a voice interaction.
    pub async fn route_conversation(
        &self,
        interaction: InteractionId,
        queue: QueueId,
        address: String,
    ) -> Result<(), EngineError> {
        let conversation = self.prefetch(interaction).await?;
        // A conversation the bot handed over before a restart keeps the
        // hand-over record on the agent's screen-pop.
        let bot = self
            .store
            .list_events(&store::EventFilter {
                interaction_id: Some(interaction),
                kind: Some("bot_handed_over".into()),
                limit: 100,
                ..Default::default()
            })
            .await?
            .into_iter()
            .next_back()
            .and_then(|e| match e.kind {
                domain::EventKind::BotHandedOver {
                    reason,
                    intent,
                    articles_tried,
                    transcript,
                } => Some(Box::new(push::BotPop {
                    reason,
                    intent,
                    articles_tried,
                    transcript,
                })),
                _ => None,
            });
        self.ask(|reply| Command::RouteConversation {
            conversation,
            queue,
            address,
            bot,
            reply,
        })
        .await?
    }

    /// Hand the chatbot a knowledge-base index built from the articles as
    /// stored now (the caller builds it off the engine's loop, e.g. in
    /// `spawn_blocking`): conversations that start from now on search it,
    /// and so do the live ones at their next message
    /// ([`bot::BotSession::handle_index`]). Returns how many live bot
    /// sessions took it; `Ok(0)` when the chatbot is off.
    ///
    /// # Errors
    /// [`EngineError::Stopped`].
    pub async fn set_bot_index(&self, index: Arc<bot::Retriever>) -> Result<usize, EngineError> {
        self.ask(|reply| Command::BotIndex(index, reply)).await?
    }

    /// True when the bot has this conversation and waits for the customer
    /// to type a one-time code: the caller then stores and logs the next
    /// message masked ([`bot::mask_code`]), while the engine checks the
    /// text as typed.
    ///
    /// # Errors
    /// [`EngineError::Stopped`].
    pub async fn bot_awaits_code(&self, interaction: InteractionId) -> Result<bool, EngineError> {
        self.ask(|reply| Command::BotAwaitsCode(interaction, reply))
            .await
    }

    /// Whether the chatbot has `interaction` now (it answers; not handed
    /// over to agents).
    ///
    /// # Errors
    /// [`EngineError::Stopped`].
    pub async fn bot_has(&self, interaction: InteractionId) -> Result<bool, EngineError> {
        self.ask(|reply| Command::BotHas(interaction, reply)).await
    }

    /// A new digital conversation and its first message (already stored
    /// as `message_in`): when the chatbot serves the channel
    /// ([`EngineConfig::bot`]) it answers first and queues the conversation
    /// in `queue` only on hand-over; otherwise as
    /// [`Self::route_conversation`].
    ///
    /// # Errors
    /// Unknown interaction or queue; a voice interaction.
    pub async fn start_conversation(
        &self,
        interaction: InteractionId,
        queue: QueueId,
        address: String,
        text: String,
    ) -> Result<(), EngineError> {
        let conversation = self.prefetch(interaction).await?;
        self.ask(|reply| Command::StartConversation {
            conversation,
            queue,
            address,
            text,
            reply,
        })
        .await?
    }

    async fn prefetch(
        &self,
        interaction: InteractionId,
    ) -> Result<Box<actor::Prefetched>, EngineError> {
        let row = self
            .store
            .get_interaction(interaction)
            .await?
            .ok_or(EngineError::UnknownInteraction(interaction))?;
        let customer = match row.customer_id {
            Some(c) => self.store.get_customer(c).await?,
            None => None,
        };
        let history = actor::history(&*self.store, customer.as_ref()).await;
        Ok(Box::new(actor::Prefetched {
            interaction: row,
            customer,
            history,
        }))
    }

    /// A further inbound message on a conversation the engine routes (its
    /// `message_in` event is already stored): pushed to the agent who has
    /// it, or answered by the bot while the bot has it.
    ///
    /// # Errors
    /// The conversation is not live in the engine.
    pub async fn conversation_message(
        &self,
        interaction: InteractionId,
        text: String,
    ) -> Result<(), EngineError> {
        self.ask(|reply| Command::ConversationMessage {
            interaction,
            text,
            reply,
        })
        .await?
    }

    /// Accept (`true`) or reject an offered digital task. A rejected task
    /// goes back to its queue for another agent.
    ///
    /// # Errors
    /// No offer of this interaction to this agent.
    pub async fn answer_offer(
        &self,
        agent: AgentId,
        interaction: InteractionId,
        accept: bool,
    ) -> Result<(), EngineError> {
        self.ask(|reply| Command::Offer {
            agent,
            interaction,
            accept,
            reply,
        })
        .await?
    }

    /// The agent's reply on a conversation: stored as a `message_out` event
    /// and queued in the outbox on the conversation's channel to the
    /// customer's address. Returns the outbox id.
    ///
    /// # Errors
    /// Not the agent's conversation; empty text.
    pub async fn reply(
        &self,
        agent: AgentId,
        interaction: InteractionId,
        text: String,
    ) -> Result<i64, EngineError> {
        self.ask(|reply| Command::Reply {
            agent,
            interaction,
            text,
            reply,
        })
        .await?
    }

    /// The customer is typing on a live conversation: the agent who has it
    /// gets a `typing` push (the caller throttles, e.g. one per 2 s).
    ///
    /// # Errors
    /// The conversation is not live in the engine.
    pub async fn customer_typing(&self, interaction: InteractionId) -> Result<(), EngineError> {
        self.ask(|reply| Command::Typing {
            interaction,
            agent: None,
            reply,
        })
        .await?
        .map(|_| ())
    }

    /// The agent is typing on their conversation: returns its channel and the
    /// customer's address, for the channel to show it (the web chat does).
    ///
    /// # Errors
    /// Not the agent's live conversation.
    pub async fn agent_typing(
        &self,
        agent: AgentId,
        interaction: InteractionId,
    ) -> Result<(domain::Channel, String), EngineError> {
        self.ask(|reply| Command::Typing {
            interaction,
            agent: Some(agent),
            reply,
        })
        .await?
    }

    /// A queue was added or changed in the store (admin): the ACD takes the
    /// new settings at once (strategy, service level, ring time-out, wrap-up,
    /// max wait, required skills); waiting calls keep their place.
    ///
    /// # Errors
    /// Invalid settings (the ACD keeps the old ones).
    pub async fn queue_changed(&self, queue: domain::Queue) -> Result<(), EngineError> {
        self.ask(|r| Command::QueueChanged(queue, r)).await?
    }

    /// Receive pushed messages (offers, states, queue figures) from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<push::Envelope> {
        self.push.subscribe()
    }
}

/// Start the engine over a running voice stack. Loads queues from the store
/// into the ACD. The actor stops when the voice stack's event stream ends.
///
/// # Errors
/// Store errors, an invalid ACD configuration, a lookup database that
/// cannot be opened.
pub async fn start<V>(
    store: Arc<dyn store::Store>,
    voice: V,
    events: voice::CallEvents,
    flows: ivr::FlowSet,
    config: EngineConfig,
) -> Result<(EngineHandle, tokio::task::JoinHandle<()>), EngineError>
where
    V: voice::CallControl + Clone + Send + Sync + 'static,
{
    let (cmd_tx, cmd_rx) = mpsc::channel(256);
    let (push_tx, _) = broadcast::channel(1024);
    let (writer, _writer_task) = writer::EventWriter::start(
        store.clone(),
        config.journal_dir.clone(),
        config.writer_capacity,
    )
    .await
    .map_err(|e| EngineError::Invalid(format!("event writer: {e}")))?;
    let default_country = config.default_country.clone();
    let actor = actor::Actor::new(
        store.clone(),
        flows,
        config,
        push_tx.clone(),
        writer.clone(),
    )
    .await?;
    let task = tokio::spawn(actor.run(voice, events, cmd_rx));
    Ok((
        EngineHandle {
            cmd: cmd_tx,
            store,
            default_country,
            push: push_tx,
            writer,
        },
        task,
    ))
}
