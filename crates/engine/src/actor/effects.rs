//! What the engine's state changes ask of the shells, and how the driver
//! carries it out.
//!
//! A handler never awaits a peer: it queues an [`Effect`] (a voice command,
//! a store write, an answer to an API caller) and returns. The driver
//! ([`super::Actor::run`]) executes the queue in order after each input.
//! When the outcome of a voice command matters (the leg of an `originate`,
//! a refused bridge, a re-INVITE's answer) the handler names what to do
//! with it ([`Then`]); the outcome comes back as a new input
//! ([`super::Actor::on_voice_outcome`]) and only then does the state change.
//!
//! Commands the stack answers at once (answer, play, bridge, originate...)
//! are awaited by the driver in order, so their outcome is an input before
//! the next voice event is read (a leg's events never overtake the outcome
//! that named the leg). Commands that wait on the far end (hold and unhold
//! re-INVITEs, up to SIP Timer B, 32 s) run in their own
//! task and come back through the internal channel.

use crate::EngineError;
use domain::{AgentId, InteractionId};
use routing::OfferId;
use std::path::PathBuf;
use std::time::Duration;
use voice::{CallControl, LegId, VoiceError};

/// Identifies a voice command whose outcome is awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct OpId(pub u64);

/// A voice command, as [`voice::CallControl`] has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VoiceOp {
    Answer(LegId),
    Play {
        leg: LegId,
        wav: PathBuf,
        barge_in: bool,
    },
    MusicOnHold {
        leg: LegId,
        wav: PathBuf,
    },
    StopPrompt(LegId),
    RecordStart {
        leg: LegId,
        path: PathBuf,
    },
    RecordStop(LegId),
    /// Ring a registered user; the outcome carries the new leg.
    Originate {
        user: String,
        caller: String,
        ring: Duration,
    },
    /// Dial through a trunk; the outcome carries the new leg.
    OriginateTrunk {
        trunk: String,
        number: String,
        caller_id: Option<String>,
        ring: Duration,
    },
    Bridge(LegId, LegId),
    /// Re-INVITE (RFC 3264 §8.4): waits on the far end.
    Hold(LegId, bool),
    HangUp(LegId),
    /// 503 + Retry-After to an unanswered inbound leg: over the IVR limit
    /// ([`crate::EngineConfig::max_calls_in_ivr`]).
    RefuseOverload(LegId),
    /// Join the supervisor's leg to the agent's call, or switch its mode.
    Supervise {
        agent: LegId,
        supervisor: LegId,
        mode: domain::SupervisionMode,
    },
    /// The supervisor's leg replaces the agent's; the agent's comes back.
    TakeOver(LegId),
}

impl VoiceOp {
    /// Does the stack answer only after the far end has (Timer B at worst)?
    fn waits_on_peer(&self) -> bool {
        matches!(self, VoiceOp::Hold(..))
    }
}

/// The outcome of a voice command.
#[derive(Debug)]
pub(crate) enum VoiceResult {
    /// Commands without a value.
    Done(Result<(), VoiceError>),
    /// `Originate` and `OriginateTrunk`: the new leg.
    Leg(Result<LegId, VoiceError>),
}

impl VoiceResult {
    /// The error, if the command failed.
    pub fn err(&self) -> Option<&VoiceError> {
        match self {
            VoiceResult::Done(r) => r.as_ref().err(),
            VoiceResult::Leg(r) => r.as_ref().err(),
        }
    }
}

/// What to do with a voice command's outcome.
pub(crate) enum Then {
    /// Log a failure at `warn` with this context.
    Warn(&'static str),
    /// An inbound caller's leg was answered (or could not be: the call ends
    /// as if hung up).
    Answered { leg: LegId },
    /// The agent's phone is ringing for an offer (or could not be rung).
    AgentRung {
        offer: OfferId,
        task: InteractionId,
        agent: AgentId,
        /// For a callback: the agent's leg is the callback's agent leg.
        callback: bool,
    },
    /// A callback's customer is being dialled through the trunk; the agent
    /// waits on `agent_leg`.
    CallbackDialled {
        task: InteractionId,
        agent_leg: LegId,
    },
    /// A campaign's call to a contact is placed (or could not be).
    CampaignDialled {
        campaign: super::campaigns::DialCampaignId,
        attempt: dialer::AttemptId,
    },
    /// A goodbye prompt: the leg is hung up when it ends, or at once if it
    /// cannot be played.
    PlayThenHangUp { leg: LegId },
    /// A recording started (or did not).
    RecordingStarted {
        task: InteractionId,
        leg: LegId,
        path: PathBuf,
        agent: AgentId,
    },
    /// A supervisor's phone is rung (or cannot be): answer the API caller.
    SupervisorRung {
        interaction: InteractionId,
        reply: tokio::sync::oneshot::Sender<Result<(), EngineError>>,
    },
    /// A supervisor's leg joined the call (or was refused).
    SupervisorJoined {
        interaction: InteractionId,
        leg: LegId,
    },
    /// The supervisor took the call over (the agent's leg back) or not.
    TakenOver {
        interaction: InteractionId,
        reply: tokio::sync::oneshot::Sender<Result<(), EngineError>>,
    },
    /// A hold (`on`) or unhold re-INVITE was answered.
    Hold {
        agent: AgentId,
        interaction: InteractionId,
        on: bool,
        reply: tokio::sync::oneshot::Sender<Result<(), EngineError>>,
    },
}

/// One thing the shells must do, in queue order.
pub(crate) enum Effect {
    /// A voice command; `then`: whose outcome comes back as an input.
    Voice { op: VoiceOp, then: Option<OpId> },
    /// A store write through the durable writer.
    Write(store::Write),
    /// Answer an API caller (after the writes queued before it were
    /// submitted, so a caller that flushes the writer reads them).
    Reply(Box<dyn FnOnce() + Send>),
    /// Work off the loop (a store read, a lookup, parsing flow files); what
    /// it returns comes back as an input.
    Task(TaskFuture),
    /// A store operation outside the interaction writes (an outbox
    /// message, a customer field): run in order, one at a time, by the
    /// store lane task.
    Store(StoreJob),
    /// Keep or forget a confirmed SIP dialog (issue 13), handed to the
    /// dialog keeper task without waiting (see [`DIALOG_QUEUE_CAPACITY`]).
    Dialog(DialogOp),
}

/// What the dialog keeper does with a confirmed SIP dialog, in order.
#[derive(Debug)]
pub(crate) enum DialogOp {
    /// Save (or update) it: a restart after a crash sends it a BYE.
    Save(store::SavedSipDialog),
    /// Forget the dialog with this Call-ID: it ended.
    Remove(String),
}

/// Capacity of the dialog keeper's queue. Overflow policy: the operation
/// is dropped with a warning, never waited for (a store outage must not
/// stall calls): a lost save means no BYE for that dialog after a crash, a
/// lost removal a BYE answered 481 at the next start.
pub(crate) const DIALOG_QUEUE_CAPACITY: usize = 4096;

/// Run the dialog keeper: each operation on the store, in order; errors
/// are logged.
pub(crate) fn spawn_dialog_keeper(
    store: std::sync::Arc<dyn store::Store>,
) -> tokio::sync::mpsc::Sender<DialogOp> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<DialogOp>(DIALOG_QUEUE_CAPACITY);
    tokio::spawn(async move {
        while let Some(op) = rx.recv().await {
            match op {
                DialogOp::Save(d) => {
                    if let Err(e) = store.save_sip_dialog(&d).await {
                        tracing::error!(error = %e, call_id = %d.call_id, "cannot keep the dialog");
                    }
                }
                DialogOp::Remove(call_id) => {
                    if let Err(e) = store.remove_sip_dialog(&call_id).await {
                        tracing::error!(error = %e, %call_id, "cannot forget the dialog");
                    }
                }
            }
        }
    });
    tx
}

/// Work off the loop; `Some(input)` comes back through the internal channel.
pub(crate) type TaskFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Option<super::Internal>> + Send>>;

/// A store operation run by the store lane ([`Effect::Store`]).
pub(crate) type StoreJob = Box<
    dyn FnOnce(
            std::sync::Arc<dyn store::Store>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send,
>;

/// Capacity of the store lane's queue. Overflow policy: the driver waits
/// for space (backpressure on the engine loop; nothing is dropped).
pub(crate) const STORE_LANE_CAPACITY: usize = 1024;

impl std::fmt::Debug for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::Voice { op, then } => write!(f, "Voice({op:?}, {then:?})"),
            Effect::Write(w) => write!(f, "Write({w:?})"),
            Effect::Reply(_) => write!(f, "Reply"),
            Effect::Task(_) => write!(f, "Task"),
            Effect::Store(_) => write!(f, "Store"),
            Effect::Dialog(op) => write!(f, "Dialog({op:?})"),
        }
    }
}

/// Run one voice command on the stack. Returns the outcome.
pub(crate) async fn run_voice<V: CallControl>(voice: &V, op: VoiceOp) -> VoiceResult {
    use VoiceResult::{Done, Leg};
    match op {
        VoiceOp::Answer(l) => Done(voice.answer(l).await),
        VoiceOp::Play { leg, wav, barge_in } => Done(voice.play(leg, wav, barge_in).await),
        VoiceOp::MusicOnHold { leg, wav } => Done(voice.music_on_hold(leg, wav).await),
        VoiceOp::StopPrompt(l) => Done(voice.stop_prompt(l).await),
        VoiceOp::RecordStart { leg, path } => Done(voice.record_start(leg, path).await),
        VoiceOp::RecordStop(l) => Done(voice.record_stop(l).await),
        VoiceOp::Originate { user, caller, ring } => Leg(voice.originate(user, caller, ring).await),
        VoiceOp::OriginateTrunk {
            trunk,
            number,
            caller_id,
            ring,
        } => Leg(voice.originate_trunk(trunk, number, caller_id, ring).await),
        VoiceOp::Bridge(a, b) => Done(voice.bridge(a, b).await),
        VoiceOp::Hold(l, on) => Done(voice.hold(l, on).await),
        VoiceOp::HangUp(l) => Done(voice.hang_up(l).await),
        VoiceOp::RefuseOverload(l) => Done(voice.refuse_overload(l).await),
        VoiceOp::Supervise {
            agent,
            supervisor,
            mode,
        } => Done(
            voice
                .supervise(agent, supervisor, super::supervision::voice_mode(mode))
                .await,
        ),
        VoiceOp::TakeOver(l) => Leg(voice.take_over(l).await),
    }
}

/// Whether the driver must run `op` in its own task (it waits on a peer).
pub(crate) fn detached(op: &VoiceOp) -> bool {
    op.waits_on_peer()
}

impl super::Actor {
    /// A voice command's outcome is back: carry out what its [`Then`] says.
    /// Outcomes nobody waits for any more (unknown `op`) are ignored.
    pub(crate) fn on_voice_outcome(&mut self, op: OpId, result: VoiceResult) {
        let Some(then) = self.pending.remove(&op) else {
            return;
        };
        match then {
            Then::Warn(what) => {
                if let Some(e) = result.err() {
                    tracing::warn!(error = %e, "{what}");
                }
            }
            Then::Answered { leg } => {
                if let Some(e) = result.err() {
                    tracing::info!(error = %e, %leg, "answer failed: the call ends as if hung up");
                    self.on_hung_up(leg, voice::HangupCause::Cancelled);
                }
            }
            Then::AgentRung {
                offer,
                task,
                agent,
                callback,
            } => {
                let rung = match result {
                    VoiceResult::Leg(r) => r.map_err(|e| e.to_string()),
                    VoiceResult::Done(_) => Err("originate gave no leg".into()),
                };
                let failed = rung.is_err();
                self.on_agent_rung(offer, task, agent, callback, rung);
                if failed {
                    self.process_decisions();
                }
            }
            Then::CallbackDialled { task, agent_leg } => {
                let dialled = match result {
                    VoiceResult::Leg(r) => r,
                    VoiceResult::Done(r) => r.and(Err(VoiceError::Stopped)),
                };
                self.on_callback_dialled(task, agent_leg, dialled);
            }
            Then::CampaignDialled { campaign, attempt } => {
                let dialled = match result {
                    VoiceResult::Leg(r) => r,
                    VoiceResult::Done(r) => r.and(Err(VoiceError::Stopped)),
                };
                self.on_campaign_dialled(campaign, attempt, dialled);
            }
            Then::PlayThenHangUp { leg } => {
                if result.err().is_some() {
                    self.hang_up_after_prompt.remove(&leg);
                    self.voice(VoiceOp::HangUp(leg));
                }
            }
            Then::RecordingStarted {
                task,
                leg,
                path,
                agent,
            } => match result.err() {
                Some(e) => tracing::warn!(error = %e, "recording did not start"),
                None => {
                    self.recordings.insert(leg, task);
                    let file = path.display().to_string();
                    let customer = self.calls.get_mut(&task).and_then(|c| {
                        c.recording = Some(path.clone());
                        // Linked from the start: after a `kill -9` the
                        // interaction still points at its (valid) file.
                        c.interaction.recording = Some(file.clone());
                        c.customer.as_ref().map(|c| c.id)
                    });
                    // Only the recording column (issue 13: linked at start).
                    self.write(store::Write::Update {
                        id: task,
                        change: store::InteractionChange {
                            recording: Some(file),
                            ..Default::default()
                        },
                        events: Vec::new(),
                    });
                    let mut ev = domain::NewEvent::new(
                        self.now,
                        domain::EventKind::RecordingStarted {
                            path: path.display().to_string(),
                        },
                    )
                    .with_interaction(task)
                    .with_agent(agent);
                    ev.customer_id = customer;
                    self.record(vec![ev]);
                }
            },
            Then::SupervisorRung { interaction, reply } => {
                self.on_supervisor_rung(interaction, result, reply);
            }
            Then::SupervisorJoined { interaction, leg } => {
                self.on_supervisor_joined(interaction, leg, result);
            }
            Then::TakenOver { interaction, reply } => {
                self.on_taken_over(interaction, result, reply);
            }
            Then::Hold {
                agent,
                interaction,
                on,
                reply,
            } => {
                let result = match result {
                    VoiceResult::Done(r) => r,
                    VoiceResult::Leg(r) => r.map(|_| ()),
                };
                let r = self.hold_done(agent, interaction, on, result);
                self.reply_to(reply, r);
            }
        }
    }

    /// Play a goodbye prompt on `leg`, then hang it up (at once if the
    /// prompt cannot be played).
    pub(crate) fn play_then_hang_up(&mut self, leg: LegId, wav: PathBuf) {
        self.hang_up_after_prompt.insert(leg);
        self.voice_then(
            VoiceOp::Play {
                leg,
                wav,
                barge_in: false,
            },
            Then::PlayThenHangUp { leg },
        );
    }
}
