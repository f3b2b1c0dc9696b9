//! The engine's state and its run loop. Handlers for voice events live in
//! `calls`, the IVR session driver in `ivr_driver`, the ACD's decisions in
//! `decisions`, API commands in `commands`.

mod bot_driver;
mod callbacks;
mod calls;
pub(crate) mod campaigns;
mod commands;
mod conversations;
mod decisions;
mod effects;
mod ivr_driver;
#[cfg(test)]
mod scenarios;
mod supervision;
mod transfer;

use crate::lookup::LookupRunner;
use crate::push::{Audience, Envelope, Push};
use crate::writer::WriterHandle;
use crate::{Command, EngineConfig, EngineError};
use domain::*;
use ivr::io::{LookupError, LookupId};
use routing::{Acd, AcdConfig, OfferId, QueueConfig};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use store::{InteractionChange, Store, Write};
use tokio::sync::{broadcast, mpsc};
use voice::{CallControl, LegId};

pub(crate) use calls::{CallerLookup, Identified, identify_caller};
pub(crate) use conversations::{Prefetched, history};
pub(crate) use effects::{Effect, OpId, Then, VoiceOp, VoiceResult};

/// The engine's clock, ms since the Unix epoch: the wall clock read once,
/// then advanced by tokio's monotonic clock. Under
/// `tokio::time::pause()` (tests) it is virtual time: it only moves when
/// the test advances it, so RONA, ring and wrap-up time-outs run in
/// milliseconds with no sleeps.
pub(crate) fn now() -> Timestamp {
    static EPOCH: std::sync::OnceLock<(tokio::time::Instant, i64)> = std::sync::OnceLock::new();
    let (t0, ms0) = EPOCH.get_or_init(|| {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        (tokio::time::Instant::now(), ms)
    });
    let elapsed = tokio::time::Instant::now().saturating_duration_since(*t0);
    Timestamp::from_millis(ms0 + elapsed.as_millis() as i64)
}

/// Capacity of the channel of outcomes of work the actor spawned (lookup
/// answers, re-INVITE outcomes). Overflow policy: the spawned task waits for
/// space (nothing is dropped); the actor drains the channel in its loop and
/// never sends into it itself, so the wait cannot deadlock.
pub(crate) const INTERNAL_CAPACITY: usize = 1024;

/// Where a call is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Answered, running its IVR flow.
    Ivr,
    /// Waiting in an ACD queue (music on hold, announcements).
    Queued,
    /// Bridged to an agent.
    Talking,
    /// Over (kept until the agent's disposition).
    Ended,
}

/// A live voice interaction.
pub(crate) struct Call {
    pub interaction: Interaction,
    pub customer: Option<Customer>,
    pub caller: String,
    pub caller_leg: LegId,
    pub lang: String,
    pub segment: Segment,
    pub ivr: Option<ivr::IvrSession>,
    pub ivr_trace: Option<serde_json::Value>,
    /// IVR nodes already written as `ivr_step` events.
    pub ivr_steps_written: usize,
    pub phase: Phase,
    /// Prompts still to play, in order, and whether the IVR waits for them.
    pub prompts: VecDeque<PathBuf>,
    pub prompts_for_ivr: bool,
    pub barge_in: bool,
    pub queued_at: Option<Timestamp>,
    pub agent: Option<AgentId>,
    pub agent_leg: Option<LegId>,
    pub recording: Option<PathBuf>,
    /// The customer's last interactions (screen-pop), read with the caller's
    /// lookup.
    pub history: Vec<Interaction>,
    /// Recordings started so far (one file per agent's part).
    pub recording_parts: u32,
    /// On hold: set only after the far end accepted the re-INVITE.
    pub on_hold: bool,
    /// A hold (`true`) or unhold (`false`) re-INVITE sent, outcome not known yet.
    pub hold_pending: Option<bool>,
    /// A supervisor listening, whispering or barging (SPEC §4.2).
    pub monitor: Option<supervision::Monitor>,
}

/// What a SIP leg is to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LegRole {
    /// The customer's leg of this interaction.
    Caller(InteractionId),
    /// The customer's leg of a callback, dialled through the trunk.
    CallbackCustomer(InteractionId),
    /// A campaign's call to a contact, until an agent has it.
    Campaign {
        campaign: campaigns::DialCampaignId,
        attempt: dialer::AttemptId,
    },
    /// A supervisor's phone, rung to monitor this interaction.
    Supervisor(InteractionId),
    /// An agent's phone, rung for an offer of this interaction.
    Agent {
        task: InteractionId,
        agent: AgentId,
        offer: OfferId,
    },
}

/// An agent logged in to the ACD.
pub(crate) struct AgentLive {
    pub agent: Agent,
}

/// An input of the engine ([`Actor::handle`]).
pub(crate) enum Input {
    /// From the voice shell.
    Voice(voice::CallEvent),
    /// From the API ([`crate::EngineHandle`]).
    Command(Command),
    /// The outcome of an effect.
    Internal(Internal),
    /// The time given by [`Actor::poll_timeout`] has come.
    Timeout,
}

/// Internal messages (answers of work the actor spawned).
pub(crate) enum Internal {
    Lookup {
        interaction: InteractionId,
        id: LookupId,
        result: Result<serde_json::Map<String, serde_json::Value>, LookupError>,
    },
    /// Flow files parsed off the loop (a reload), with the prompt files seen.
    Flows {
        flows: Box<ivr::FlowSet>,
        report: Result<ivr::DirReport, String>,
        prompts: PromptFiles,
        reply: tokio::sync::oneshot::Sender<Result<crate::FlowReload, EngineError>>,
    },
    /// An inbound caller's lookup is back.
    Identified(Box<calls::Identified>),
    /// A new block of interaction ids (or the store's refusal).
    Ids(Result<std::ops::Range<i64>, store::StoreError>),
    /// The outcome of a voice command that waited on the far end (a hold
    /// re-INVITE, RFC 3261 §14): the state changes only now.
    Voice { op: OpId, result: VoiceResult },
    /// A campaign's claim on a number is back.
    DialClaim(Box<campaigns::DialClaim>),
    /// A bot conversation's self-service lookup is back.
    BotLookup {
        interaction: InteractionId,
        id: LookupId,
        result: Result<serde_json::Value, LookupError>,
    },
    /// A bot conversation's one-time code was sent by SMS (or not).
    BotOtp {
        interaction: InteractionId,
        result: Result<bot::OtpCode, LookupError>,
    },
}

pub(crate) struct Actor {
    /// The clock, ms since the Unix epoch: set by the driver before each
    /// input (an input like any other; tests move it by hand).
    pub now: Timestamp,
    /// The next local midnight in the site's time zone, when the live
    /// "today" counters restart (set at the first input).
    day_ends_at: Option<Timestamp>,
    pub store: Arc<dyn Store>,
    /// What the last inputs asked of the shells, in order ([`Effect`]).
    pub effects: VecDeque<Effect>,
    /// Voice commands whose outcome is awaited, and what to do with it.
    pub pending: HashMap<OpId, Then>,
    next_op: u64,
    pub cfg: EngineConfig,
    pub acd: Acd,
    pub flows: ivr::FlowSet,
    pub lookups: LookupRunner,
    pub queues: HashMap<QueueId, Queue>,
    pub queue_by_name: HashMap<String, QueueId>,
    pub agents: HashMap<AgentId, AgentLive>,
    pub calls: HashMap<InteractionId, Call>,
    /// Waiting and total ACD tasks when queue figures were last pushed.
    pub last_task_counts: (usize, usize),
    /// Legs to hang up when their prompt ends (a goodbye message).
    pub hang_up_after_prompt: std::collections::HashSet<LegId>,
    /// Callbacks waiting for their turn or being placed.
    pub callbacks: HashMap<InteractionId, callbacks::Callback>,
    /// Running outbound campaigns (issue 15), one dialer each.
    pub campaigns: std::collections::BTreeMap<campaigns::DialCampaignId, campaigns::Run>,
    /// The global do-not-call list every campaign's dialer gets (opt-outs
    /// by STOP land here).
    pub dnc_global: std::collections::HashSet<PhoneNumber>,
    /// The highest campaign id stored or started (a stored campaign that
    /// could not be resumed keeps its id: a new one never reuses it).
    pub last_campaign_id: u32,
    /// Digital conversations the chatbot has, before any hand-over.
    pub bots: HashMap<InteractionId, bot_driver::BotConversation>,
    /// Live digital conversations routed by the ACD.
    pub conversations: HashMap<InteractionId, conversations::Conversation>,
    pub legs: HashMap<LegId, LegRole>,
    /// Ringing agent legs per offer.
    pub offers: HashMap<OfferId, Vec<(AgentId, LegId)>>,
    /// Legs being recorded → their interaction (the file is finished after
    /// the leg is gone).
    pub recordings: HashMap<LegId, InteractionId>,
    /// The dialog keeper's queue ([`effects::DialogOp`]).
    pub dialogs: mpsc::Sender<effects::DialogOp>,
    /// Every live leg's interaction, side and agent, kept until its `HungUp`
    /// (its media quality arrives just before).
    pub leg_owner: HashMap<LegId, (InteractionId, &'static str, Option<AgentId>)>,
    /// The interaction each agent is wrapping up.
    pub wrap_up_of: HashMap<AgentId, InteractionId>,
    /// The last state pushed for each agent (pushes and events only on change).
    pub last_state: HashMap<AgentId, (event::AgentState, Option<String>)>,
    pub push: broadcast::Sender<Envelope>,
    pub internal_tx: mpsc::Sender<Internal>,
    internal_rx: Option<mpsc::Receiver<Internal>>,
    /// The durable event writer: every interaction row change and event goes
    /// through it ([`crate::writer`]).
    pub writer: WriterHandle,
    /// Interaction ids reserved in the store, not used yet.
    pub ids: std::ops::Range<i64>,
    /// A refill of `ids` is on its way ([`Internal::Ids`]).
    pub ids_refill_pending: bool,
    /// Inbound legs whose caller is being looked up (no interaction yet).
    pub incoming_pending: std::collections::HashSet<LegId>,
    /// A flow reload is being parsed off the loop.
    pub flows_reloading: bool,
    /// The prompt files on disk, scanned at start and at each flow reload.
    pub prompt_files: PromptFiles,
    /// The next block, when it arrived before `ids` ran out.
    pub next_ids: Option<std::ops::Range<i64>>,
}

/// A dialer's claim on a number older than this (4 h, ms) cannot belong to
/// a call still on the wire.
pub(crate) const STALE_DIAL_CLAIM_MS: i64 = 4 * 3600 * 1000;

/// Interaction ids reserved per block ([`store::WriteStore::reserve_interaction_ids`]).
pub(crate) const ID_BLOCK: u32 = 1024;
/// Below this many ids left, the next block is reserved in the background.
pub(crate) const ID_LOW_WATER: i64 = 512;

impl Actor {
    pub async fn new(
        store: Arc<dyn Store>,
        flows: ivr::FlowSet,
        cfg: EngineConfig,
        push: broadcast::Sender<Envelope>,
        writer: WriterHandle,
    ) -> Result<Self, EngineError> {
        let queues = store.list_queues().await?;
        let acd_cfg = AcdConfig {
            queues: queues.iter().cloned().map(QueueConfig::new).collect(),
            short_abandon_ms: cfg.short_abandon_ms,
            ..AcdConfig::default()
        };
        let acd = Acd::new(acd_cfg)?;
        let lookups = LookupRunner::new(&cfg.sql_databases).await?;
        let ids = store.reserve_interaction_ids(ID_BLOCK).await?;
        // Dialer claims older than any call can last were left by a crash.
        // The embedded SQLite store has one node, this one, which has no
        // call on the wire yet: every claim is stale.
        let stale = if store.backend() == "sqlite" {
            now().add_millis(1)
        } else {
            now().add_millis(-STALE_DIAL_CLAIM_MS)
        };
        match store.release_stale_dial_numbers(stale).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(n, "released dialer number claims a crash left behind"),
            Err(e) => tracing::error!(error = %e, "cannot release stale dialer claims"),
        }
        let dir = cfg.prompts_dir.clone();
        if let Err(e) = tokio::fs::create_dir_all(&cfg.recordings_dir).await {
            tracing::warn!(error = %e, dir = %cfg.recordings_dir.display(), "cannot create the recordings folder");
        }
        let prompt_files = tokio::task::spawn_blocking(move || PromptFiles::scan(&dir))
            .await
            .unwrap_or_default();
        let stored_campaigns = campaigns::load_campaigns(&*store).await;
        let (internal_tx, internal_rx) = mpsc::channel(INTERNAL_CAPACITY);
        let dialogs = effects::spawn_dialog_keeper(store.clone());
        let mut actor = Self {
            dialogs,
            now: now(),
            day_ends_at: None,
            store,
            effects: VecDeque::new(),
            pending: HashMap::new(),
            next_op: 0,
            acd,
            flows,
            lookups,
            queue_by_name: queues.iter().map(|q| (q.name.clone(), q.id)).collect(),
            queues: queues.into_iter().map(|q| (q.id, q)).collect(),
            agents: HashMap::new(),
            calls: HashMap::new(),
            conversations: HashMap::new(),
            bots: HashMap::new(),
            campaigns: Default::default(),
            dnc_global: Default::default(),
            last_campaign_id: 0,
            callbacks: HashMap::new(),
            hang_up_after_prompt: Default::default(),
            last_task_counts: (0, 0),
            legs: HashMap::new(),
            offers: HashMap::new(),
            recordings: HashMap::new(),
            wrap_up_of: HashMap::new(),
            leg_owner: HashMap::new(),
            last_state: HashMap::new(),
            push,
            internal_tx,
            internal_rx: Some(internal_rx),
            writer,
            ids,
            ids_refill_pending: false,
            next_ids: None,
            flows_reloading: false,
            incoming_pending: Default::default(),
            prompt_files,
            cfg,
        };
        actor.restore_campaigns(stored_campaigns);
        Ok(actor)
    }

    /// The run loop (the driver): reads one input (a voice event, an API
    /// command, an internal answer, a deadline), lets the handlers change the
    /// state, then carries out the effects they queued, in order
    /// ([`Self::drive_effects`]).
    pub async fn run<V: CallControl + Clone + Send + Sync + 'static>(
        mut self,
        voice: V,
        mut events: voice::CallEvents,
        mut commands: mpsc::Receiver<Command>,
    ) {
        let mut internal = self.internal_rx.take().expect("run is called once");
        let (lane, mut lane_rx) = mpsc::channel::<effects::StoreJob>(effects::STORE_LANE_CAPACITY);
        let store = self.store.clone();
        let lane_task = tokio::spawn(async move {
            while let Some(job) = lane_rx.recv().await {
                job(store.clone()).await;
            }
        });
        // The IVR occupancy gauge costs a pass over the live calls: it is
        // refreshed GAUGE_EVERY after the first input that follows its last
        // refresh (at most 4 passes a second, never stale for longer).
        const GAUGE_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
        let mut gauge_due: Option<tokio::time::Instant> = None;
        loop {
            let sleep = self.poll_timeout().map(|d| {
                let ms = d.millis_since(now()).max(0) as u64;
                tokio::time::sleep(std::time::Duration::from_millis(ms))
            });
            let input = tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => Input::Voice(ev),
                    None => break,
                },
                Some(cmd) = commands.recv() => Input::Command(cmd),
                Some(msg) = internal.recv() => Input::Internal(msg),
                () = async { match sleep { Some(s) => s.await, None => std::future::pending().await } } => {
                    Input::Timeout
                }
                () = async { match gauge_due { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending().await } } => {
                    metrics::gauge!("switchboard_calls_in_ivr").set(self.calls_in_ivr() as f64);
                    gauge_due = None;
                    continue;
                }
            };
            let started = std::time::Instant::now();
            self.handle(now(), input);
            metrics::counter!("switchboard_engine_inputs_total").increment(1);
            metrics::counter!("switchboard_engine_handle_microseconds_total")
                .increment(started.elapsed().as_micros() as u64);
            self.drive_effects(&voice, &lane).await;
            gauge_due.get_or_insert_with(|| tokio::time::Instant::now() + GAUGE_EVERY);
        }
        tracing::info!("voice stack stopped: engine stops");
        // The store operations already queued (a campaign's progress, …)
        // run before the engine is gone: a restart reads them back.
        drop(lane);
        if let Err(e) = lane_task.await {
            tracing::error!(error = %e, "store lane ended abnormally");
        }
        self.writer.clone().shutdown().await;
    }

    /// Carry out the queued effects in order. Writes go to the durable
    /// writer (waiting only when its channel is full: backpressure); voice
    /// commands the stack answers at once are awaited here and their
    /// outcome, when asked for, is handled as an input right away (which
    /// may queue more effects); commands that wait on the far end run in
    /// their own task and come back through the internal channel.
    pub(crate) async fn drive_effects<V: CallControl + Clone + Send + Sync + 'static>(
        &mut self,
        voice: &V,
        lane: &mpsc::Sender<effects::StoreJob>,
    ) {
        // Time the loop waits here, by what it waits on (the engine's
        // latency under load: `switchboard_engine_wait_microseconds_total`).
        let waited = |on: &'static str, since: std::time::Instant| {
            metrics::counter!("switchboard_engine_wait_microseconds_total", "on" => on)
                .increment(since.elapsed().as_micros() as u64);
        };
        while let Some(effect) = self.poll_effect() {
            match effect {
                Effect::Write(w) => {
                    let t = std::time::Instant::now();
                    if self.writer.submit(w).await.is_err() {
                        tracing::error!("event writer stopped: write not recorded");
                    }
                    waited("writer", t);
                }
                Effect::Reply(send) => send(),
                Effect::Task(work) => {
                    let tx = self.internal_tx.clone();
                    tokio::spawn(async move {
                        if let Some(input) = work.await {
                            let _ = tx.send(input).await;
                        }
                    });
                }
                Effect::Dialog(op) => {
                    if let Err(e) = self.dialogs.try_send(op) {
                        tracing::warn!(error = %e, "dialog keeper busy: dialog operation dropped");
                    }
                }
                Effect::Store(job) => {
                    let t = std::time::Instant::now();
                    if lane.send(job).await.is_err() {
                        tracing::error!("store lane stopped: store operation not run");
                    }
                    waited("store_lane", t);
                }
                Effect::Voice { op, then } if effects::detached(&op) => {
                    let voice = voice.clone();
                    let tx = self.internal_tx.clone();
                    tokio::spawn(async move {
                        let result = effects::run_voice(&voice, op).await;
                        if let Some(op) = then {
                            // The loop drains this channel and never sends
                            // into it itself: waiting for space cannot deadlock.
                            let _ = tx.send(Internal::Voice { op, result }).await;
                        }
                    });
                }
                Effect::Voice { op, then } => {
                    let t = std::time::Instant::now();
                    let result = effects::run_voice(voice, op).await;
                    waited("voice", t);
                    if let Some(op) = then {
                        self.handle(now(), Input::Internal(Internal::Voice { op, result }));
                    }
                }
            }
        }
    }

    /// Queue a voice command whose outcome does not matter (a failure is
    /// logged by the stack's caller at debug level).
    pub(crate) fn voice(&mut self, op: VoiceOp) {
        self.effects.push_back(Effect::Voice { op, then: None });
    }

    /// Queue a voice command; its outcome comes back as an input and is
    /// handled as `then` says ([`Self::on_voice_outcome`]).
    pub(crate) fn voice_then(&mut self, op: VoiceOp, then: Then) {
        let id = OpId(self.next_op);
        self.next_op += 1;
        self.pending.insert(id, then);
        self.effects.push_back(Effect::Voice { op, then: Some(id) });
    }

    /// Queue the answer to an API caller, after the effects queued so far.
    pub(crate) fn reply_to<T: Send + 'static>(
        &mut self,
        tx: tokio::sync::oneshot::Sender<T>,
        v: T,
    ) {
        self.effects.push_back(Effect::Reply(Box::new(move || {
            let _ = tx.send(v);
        })));
    }

    /// Queue work off the loop; its answer comes back as an input.
    pub(crate) fn task(
        &mut self,
        work: impl std::future::Future<Output = Option<Internal>> + Send + 'static,
    ) {
        self.effects.push_back(Effect::Task(Box::pin(work)));
    }

    /// Answer a command once the store lane has run every operation queued
    /// so far (the lane is in order): a campaign's "done" means stored, so
    /// a restart right after the answer finds it.
    pub(crate) fn reply_after_store<T: Send + 'static>(
        &mut self,
        tx: tokio::sync::oneshot::Sender<T>,
        v: T,
    ) {
        self.store_job(move |_| async move {
            let _ = tx.send(v);
        });
    }

    /// Queue a store operation for the store lane (in order, off the loop).
    pub(crate) fn store_job<F>(&mut self, job: impl FnOnce(Arc<dyn Store>) -> F + Send + 'static)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.effects
            .push_back(Effect::Store(Box::new(move |s| Box::pin(job(s)))));
    }

    /// Queue a store write (through the durable writer).
    pub(crate) fn write(&mut self, w: Write) {
        self.effects.push_back(Effect::Write(w));
    }

    /// One input: the state changes and effects are queued; nothing here
    /// waits. `now` never moves the engine's clock backwards.
    pub(crate) fn handle(&mut self, now: Timestamp, input: Input) {
        self.now = self.now.max(now);
        if self.day_ends_at.is_none() {
            self.day_ends_at = Some(self.now.next_local_midnight(&self.cfg.time_zone));
        }
        match input {
            Input::Voice(ev) => self.on_voice_event(ev),
            Input::Command(cmd) => self.on_command(cmd),
            Input::Internal(msg) => self.on_internal(msg),
            Input::Timeout => self.on_deadline(),
        }
    }

    /// The next effect to carry out, in the order they were queued.
    pub(crate) fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// When the engine must be woken with [`Input::Timeout`] (the earliest
    /// deadline of the ACD and of the IVR sessions).
    pub(crate) fn poll_timeout(&self) -> Option<Timestamp> {
        self.next_deadline()
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        let ivr = self
            .calls
            .values()
            .filter_map(|c| c.ivr.as_ref()?.poll_timeout())
            .min();
        [
            self.acd.poll_timeout(),
            ivr,
            self.campaigns_timeout(),
            self.bots_timeout(),
            self.day_ends_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_deadline(&mut self) {
        let t = self.now;
        if self.day_ends_at.is_some_and(|d| d <= t) {
            // A new day at the site: today's figures start from zero.
            self.acd.reset_stats();
            self.day_ends_at = Some(t.next_local_midnight(&self.cfg.time_zone));
            tracing::info!(next = %self.day_ends_at.unwrap_or(t), "new day: live queue figures reset");
            self.push_queue_stats();
        }
        self.acd.handle_timeout(t);
        let due: Vec<InteractionId> = self
            .calls
            .iter()
            .filter(|(_, c)| {
                c.ivr
                    .as_ref()
                    .and_then(|s| s.poll_timeout())
                    .is_some_and(|d| d <= t)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(s) = self.calls.get_mut(&id).and_then(|c| c.ivr.as_mut()) {
                s.handle_timeout(t);
            }
            self.drive_ivr(id);
        }
        self.campaigns_on_deadline();
        self.bots_on_deadline();
        self.process_decisions();
    }

    fn on_internal(&mut self, msg: Internal) {
        match msg {
            Internal::Lookup {
                interaction,
                id,
                result,
            } => {
                if let Some(s) = self
                    .calls
                    .get_mut(&interaction)
                    .and_then(|c| c.ivr.as_mut())
                {
                    s.handle_lookup_result(self.now, id, result);
                    self.drive_ivr(interaction);
                    self.process_decisions();
                }
            }
            Internal::Flows {
                flows,
                report,
                prompts,
                reply,
            } => {
                let r = self.flows_parsed(*flows, report, prompts);
                self.reply_to(reply, r);
            }
            Internal::Identified(x) => {
                self.on_identified(*x);
                self.process_decisions();
            }
            Internal::Ids(r) => {
                self.ids_refill_pending = false;
                match r {
                    Ok(block) if self.ids.is_empty() => self.ids = block,
                    // Ids still left: the new block follows once they are used.
                    Ok(block) => self.next_ids = Some(block),
                    Err(e) => tracing::error!(error = %e, "cannot reserve interaction ids"),
                }
            }
            Internal::Voice { op, result } => self.on_voice_outcome(op, result),
            Internal::DialClaim(c) => self.on_dial_claim(*c),
            Internal::BotLookup {
                interaction,
                id,
                result,
            } => {
                self.on_bot_lookup(interaction, id, result);
                self.process_decisions();
            }
            Internal::BotOtp {
                interaction,
                result,
            } => {
                self.on_bot_otp(interaction, result);
                self.process_decisions();
            }
        }
    }

    /// The one way the engine opens an interaction, for every channel and
    /// entry point (inbound call, callback, IVR R4 conversation): an id from
    /// the reserved block, the row and its `interaction_created` event (with
    /// `extra` events after it) in one [`Write::Open`], applied in one
    /// transaction by the writer. The next block of ids is reserved in the
    /// background when fewer than [`ID_LOW_WATER`] are left.
    ///
    /// # Errors
    /// No id left (the background reservation has not come back yet).
    pub(crate) fn open_interaction(
        &mut self,
        new: store::NewInteraction,
        extra: Vec<NewEvent>,
    ) -> Result<Interaction, EngineError> {
        let id = self.next_interaction_id()?;
        let w = Write::open(id, &new, extra);
        let Write::Open { interaction, .. } = &w else {
            unreachable!("Write::open builds an Open");
        };
        let interaction = interaction.clone();
        self.write(w);
        Ok(interaction)
    }

    fn next_interaction_id(&mut self) -> Result<InteractionId, EngineError> {
        if self.ids.is_empty()
            && let Some(next) = self.next_ids.take()
        {
            self.ids = next;
        }
        let id = self.ids.next().ok_or_else(|| {
            EngineError::Invalid(
                "no interaction id reserved yet (the store is slow to give a new block)".into(),
            )
        })?;
        if self.ids.end - self.ids.start < ID_LOW_WATER
            && self.next_ids.is_none()
            && !self.ids_refill_pending
        {
            self.ids_refill_pending = true;
            let store = self.store.clone();
            self.task(
                async move { Some(Internal::Ids(store.reserve_interaction_ids(ID_BLOCK).await)) },
            );
        }
        Ok(InteractionId(id))
    }

    /// Append events through the durable writer (never dropped: journaled
    /// while the store is down), as an effect. Right after a [`Self::save`]
    /// of their interaction they join that write (one transaction).
    pub(crate) fn record(&mut self, events: Vec<NewEvent>) {
        if events.is_empty() {
            return;
        }
        // Events of the interaction whose row change was just queued go in
        // that same write: the row and its events in one transaction.
        if let Some(Effect::Write(Write::Update {
            id, events: with, ..
        })) = self.effects.back_mut()
            && events.iter().all(|e| e.interaction_id == Some(*id))
        {
            with.extend(events);
            return;
        }
        self.write(Write::Events(events));
    }

    /// Write the engine-owned columns of an interaction through the writer.
    /// No full-row rewrite: `customer_id` and `answered_at` are only filled
    /// when still NULL in the store (a customer merge during the call is
    /// kept), `channel`, `direction` and `started_at` are never rewritten.
    pub(crate) fn save(&mut self, i: &Interaction) {
        let w = Write::Update {
            id: i.id,
            change: change_of(i),
            events: Vec::new(),
        };
        self.write(w);
    }

    pub(crate) fn send(&self, audience: Audience, message: Push) {
        let _ = self.push.send(Envelope { audience, message });
    }

    /// Push an agent's state to them and to supervisors, and log it, when it
    /// differs from the last one pushed.
    pub(crate) fn agent_state_changed(
        &mut self,
        agent: AgentId,
        state: event::AgentState,
        reason: Option<String>,
    ) {
        if self.last_state.get(&agent) == Some(&(state, reason.clone())) {
            return;
        }
        self.last_state.insert(agent, (state, reason.clone()));
        let name = serde_json::to_value(state)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let msg = Push::AgentState {
            agent_id: agent,
            state: name,
            reason: reason.clone(),
        };
        self.send(Audience::Agent(agent), msg.clone());
        self.send(Audience::Supervisors, msg);
        self.campaigns_agent_state(agent, state);
        self.record(vec![
            NewEvent::new(self.now, EventKind::AgentStateChanged { state, reason })
                .with_agent(agent),
        ]);
    }

    /// Push the ACD's current view of an agent (e.g. back to available after
    /// a ring-all offer another agent won).
    pub(crate) fn sync_agent(&mut self, agent: AgentId) {
        use routing::AgentStatus as S;
        let Some(st) = self.acd.agent_stats(agent, self.now) else {
            return;
        };
        let (state, reason) = match st.status {
            S::LoggedOut => (event::AgentState::LoggedOut, None),
            S::Reserved => (event::AgentState::Reserved, None),
            S::Busy => (event::AgentState::Busy, None),
            S::WrapUp => (event::AgentState::WrapUp, None),
            S::Paused(r) => (event::AgentState::Paused, Some(r)),
            S::Available => (event::AgentState::Available, None),
        };
        self.agent_state_changed(agent, state, reason);
    }

    /// Push every queue's figures to supervisors.
    pub(crate) fn push_queue_stats(&self) {
        for (id, q) in &self.queues {
            if let Some(stats) = self.acd.queue_stats(*id) {
                self.send(
                    Audience::Supervisors,
                    Push::QueueStats {
                        name: q.name.clone(),
                        stats,
                    },
                );
            }
        }
    }

    /// The WAV of prompt `name` in `lang`, or in the default language when
    /// `lang` has none (looked up in [`PromptFiles`], no disk access).
    pub(crate) fn prompt_path(&self, lang: &str, name: &str) -> PathBuf {
        if self.prompt_files.has(lang, name) {
            self.cfg.prompts_dir.join(lang).join(format!("{name}.wav"))
        } else {
            self.cfg
                .prompts_dir
                .join(&self.cfg.default_language)
                .join(format!("{name}.wav"))
        }
    }
}

/// The columns of `i` the engine owns, as a change (see [`Actor::save`]).
pub(crate) fn change_of(i: &Interaction) -> InteractionChange {
    InteractionChange {
        customer_id: i.customer_id,
        queue_id: i.queue_id,
        agent_id: i.agent_id,
        answered_at: i.answered_at,
        ended_at: i.ended_at,
        end_reason: i.end_reason.clone(),
        disposition: i.disposition.clone(),
        notes: i.notes.clone(),
        recording: i.recording.clone(),
    }
}

/// The prompt files present on disk, as `(language, name)` pairs of
/// `<prompts_dir>/<lang>/<name>.wav`: scanned once at start and at each flow
/// reload, so choosing a prompt's language never touches the disk.
#[derive(Clone, Debug, Default)]
pub(crate) struct PromptFiles(std::collections::HashSet<(String, String)>);

impl PromptFiles {
    /// Scan `dir` (blocking: call it off the engine loop). A missing or
    /// unreadable folder gives an empty set (prompts then come from the
    /// default language's folder, as before).
    pub(crate) fn scan(dir: &std::path::Path) -> Self {
        let mut set = std::collections::HashSet::new();
        let Ok(langs) = std::fs::read_dir(dir) else {
            return Self(set);
        };
        for lang in langs.flatten() {
            let Ok(files) = std::fs::read_dir(lang.path()) else {
                continue;
            };
            let lang = lang.file_name().to_string_lossy().into_owned();
            for f in files.flatten() {
                let p = f.path();
                if p.extension().and_then(|e| e.to_str()) == Some("wav")
                    && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
                {
                    set.insert((lang.clone(), stem.to_string()));
                }
            }
        }
        Self(set)
    }

    /// Is there a `<lang>/<name>.wav`?
    pub(crate) fn has(&self, lang: &str, name: &str) -> bool {
        self.0.contains(&(lang.to_string(), name.to_string()))
    }
}
