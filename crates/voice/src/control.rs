//! The interface the engine drives: the [`CallControl`] trait (async commands)
//! and the [`CallEvent`] stream. [`VoiceHandle`] implements it over the stack.

use crate::audio::AudioError;
use crate::registrar::RegistrationChange;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How a supervisor takes part in a call (SPEC §4.2): the `media` crate's
/// mode, of which [`CallControl::supervise`] accepts `Listen`, `Whisper`
/// and `Barge`. DTMF 4/5/6 map to them with [`SupervisionMode::from_dtmf`].
pub use media::Mode as SupervisionMode;

/// Identifies one call leg (one SIP dialog with its RTP stream) for the life
/// of the stack. Inbound legs come from [`CallEvent::Incoming`]; outbound legs
/// from [`CallControl::originate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

impl std::fmt::Display for LegId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "leg-{}", self.0)
    }
}

/// Why a leg ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HangupCause {
    /// The far end sent BYE.
    RemoteBye,
    /// The bridged peer leg hung up, so this one was torn down.
    PeerHungUp,
    /// The engine asked for it ([`CallControl::hang_up`]).
    Local,
    /// The caller cancelled before answer (CANCEL, RFC 3261 §9).
    Cancelled,
    /// 486 Busy Here / 600 Busy Everywhere.
    Busy,
    /// 480 Temporarily Unavailable, 404, or the phone did not answer in time.
    NoAnswer,
    /// 408 Request Timeout or no final response (Timer B).
    Timeout,
    /// Any other final failure status.
    Rejected(u16),
}

/// Why digit collection stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectEnd {
    /// `max` digits were collected.
    MaxDigits,
    /// The terminator digit was pressed (it is not included).
    Terminator,
    /// The timeout elapsed.
    Timeout,
    /// The leg ended.
    HungUp,
}

/// Result of [`CallControl::collect_digits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    /// Digits, in order.
    pub digits: String,
    /// Why collection stopped.
    pub end: CollectEnd,
}

/// Events from the voice stack to the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    /// A new inbound call, not answered yet (100 and 180 already sent).
    Incoming {
        /// The new leg.
        leg: LegId,
        /// Caller (user part of From, usually the customer's number).
        caller: String,
        /// Called number (user part of the Request-URI).
        callee: String,
        /// Trunk name if it came from a trunk.
        trunk: Option<String>,
        /// Entry point mapped from the DID on that trunk.
        entry_point: Option<String>,
        /// Registered user if it came from an agent phone.
        from_user: Option<String>,
    },
    /// An outbound leg is ringing (180/183).
    Ringing {
        /// The leg.
        leg: LegId,
    },
    /// A leg is answered (ours: ACK received; theirs: 200 received).
    Answered {
        /// The leg.
        leg: LegId,
    },
    /// An RFC 4733 (or SIP INFO) digit.
    Dtmf {
        /// The leg.
        leg: LegId,
        /// `0-9 * # A-D`.
        digit: char,
        /// Duration in ms (0 when unknown).
        duration_ms: u32,
    },
    /// A prompt finished.
    PromptFinished {
        /// The leg.
        leg: LegId,
        /// Stopped by barge-in or a new prompt.
        interrupted: bool,
    },
    /// A recording file is complete.
    RecordingFinished {
        /// Leg the recording was started on.
        leg: LegId,
        /// WAV path.
        path: PathBuf,
        /// Length in ms.
        duration_ms: u64,
    },
    /// Receive quality of a leg that got audio, sent just before its `HungUp`.
    MediaQuality {
        /// The leg.
        leg: LegId,
        /// Loss, jitter, MOS.
        quality: crate::quality::MediaQuality,
    },
    /// A user's registrations as they are now, to keep across a restart
    /// (sent after every [`CallEvent::Registration`]; empty: none left).
    Bindings {
        /// User part of the AOR.
        user: String,
        /// Live bindings, expiry in wall-clock ms.
        bindings: Vec<crate::registrar::SavedBinding>,
    },
    /// A dialog of ours is confirmed (ACK of the 2xx received or sent), or
    /// our CSeq in it moved (re-INVITE, UPDATE, REFER...): what it takes to
    /// end it with a BYE after a crash. Keep it until
    /// [`CallEvent::DialogEnded`] (issue 13).
    DialogConfirmed(crate::SavedDialog),
    /// A dialog announced by [`CallEvent::DialogConfirmed`] is over.
    DialogEnded {
        /// Its Call-ID.
        call_id: String,
    },
    /// A leg ended; final packet counters included.
    HungUp {
        /// The leg.
        leg: LegId,
        /// Why.
        cause: HangupCause,
        /// RTP packets received on the leg.
        rx_packets: u64,
        /// RTP packets sent on the leg.
        tx_packets: u64,
    },
    /// The far end of `leg` asked for a blind transfer (REFER, RFC 3515; 202
    /// already sent). The engine places the call to `target` and hangs `leg` up.
    TransferRequested {
        /// The transferring leg.
        leg: LegId,
        /// The Refer-To URI.
        target: String,
    },
    /// Progress of a transfer we asked for ([`CallControl::transfer`]): the
    /// status line the far end reports in its NOTIFY (e.g. 100, 180, 200, 486).
    TransferStatus {
        /// The transferred leg.
        leg: LegId,
        /// SIP status of the new call, from the sipfrag body.
        status: u16,
    },
    /// A supervisor switched mode from its phone (DTMF 4 listen, 5 whisper,
    /// 6 barge, like Asterisk ChanSpy): already applied to the mix.
    SupervisionMode {
        /// The supervisor's leg.
        supervisor: LegId,
        /// The mode now heard.
        mode: SupervisionMode,
    },
    /// A phone registered or unregistered.
    Registration(RegistrationChange),
}

/// Errors returned by commands. `SipStatus`-like codes live in the events.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// No such live leg.
    #[error("unknown leg {0}")]
    UnknownLeg(LegId),
    /// The command does not fit the leg's state.
    #[error("{0}")]
    InvalidState(&'static str),
    /// Originate to a user with no live registration.
    #[error("user {0} is not registered")]
    NotRegistered(String),
    /// The far end refused a request (e.g. a hold re-INVITE) with this status.
    #[error("refused with SIP status {0}")]
    Refused(u16),
    /// Socket or file error.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// Prompt or recording error.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The stack has stopped.
    #[error("voice stack stopped")]
    Stopped,
}

/// Commands the engine sends to the telephony shell. All are async and return
/// once the stack has acted (not when the far end has answered: see events).
pub trait CallControl {
    /// Answer an inbound leg (200 OK with our SDP answer).
    fn answer(&self, leg: LegId) -> impl Future<Output = Result<(), VoiceError>> + Send;
    /// Play an 8 kHz mono WAV (converted on load otherwise); a digit stops it
    /// when `barge_in`. [`CallEvent::PromptFinished`] follows. On an inbound leg
    /// not answered yet, this opens early media (183 Session Progress with SDP).
    fn play(
        &self,
        leg: LegId,
        wav: PathBuf,
        barge_in: bool,
    ) -> impl Future<Output = Result<(), VoiceError>> + Send;
    /// Loop a WAV (music on hold) until [`CallControl::stop_prompt`] or another
    /// prompt; it plays even while the leg is on hold.
    fn music_on_hold(
        &self,
        leg: LegId,
        wav: PathBuf,
    ) -> impl Future<Output = Result<(), VoiceError>> + Send;
    /// Stop the current prompt or music ([`CallEvent::PromptFinished`] follows).
    fn stop_prompt(&self, leg: LegId) -> impl Future<Output = Result<(), VoiceError>> + Send;
    /// Collect up to `max` digits, ending early on `terminator` or `timeout`.
    fn collect_digits(
        &self,
        leg: LegId,
        max: usize,
        timeout: Duration,
        terminator: Option<char>,
    ) -> impl Future<Output = Result<Collected, VoiceError>> + Send;
    /// Send RFC 4733 digits on a leg.
    fn send_dtmf(
        &self,
        leg: LegId,
        digits: String,
    ) -> impl Future<Output = Result<(), VoiceError>> + Send;
    /// Start recording `leg` (and its bridged peer) into a stereo WAV.
    fn record_start(
        &self,
        leg: LegId,
        path: PathBuf,
    ) -> impl Future<Output = Result<(), VoiceError>> + Send;
    /// Stop recording; the file is written and [`CallEvent::RecordingFinished`] follows.
    fn record_stop(&self, leg: LegId) -> impl Future<Output = Result<(), VoiceError>> + Send;
    /// Call a registered user (its most recent contact) with `caller` as From user.
    /// Gives up with [`HangupCause::NoAnswer`] after `ring_timeout`.
    fn originate(
        &self,
        user: String,
        caller: String,
        ring_timeout: Duration,
    ) -> impl Future<Output = Result<LegId, VoiceError>> + Send;
    /// Call `number` through the named trunk (its `outbound` address), with
    /// `caller_id` or else the trunk's configured caller-ID as From user.
    fn originate_trunk(
        &self,
        trunk: String,
        number: String,
        caller_id: Option<String>,
        ring_timeout: Duration,
    ) -> impl Future<Output = Result<LegId, VoiceError>> + Send;
    /// Relay media between two answered legs; BYE on either ends both.
    fn bridge(&self, a: LegId, b: LegId) -> impl Future<Output = Result<(), VoiceError>> + Send;
    /// Put a leg on hold (re-INVITE with `a=sendonly`, RFC 3264 §8.4) or take it
    /// off (`sendrecv`); returns once the far end accepted (or refused) it.
    fn hold(&self, leg: LegId, on: bool) -> impl Future<Output = Result<(), VoiceError>> + Send;
    /// Blind transfer: send REFER (RFC 3515) asking the far end of `leg` to call
    /// `target` (a SIP URI); returns when it is accepted (202). Progress comes as
    /// [`CallEvent::TransferStatus`]; the engine hangs the leg up when done.
    fn transfer(
        &self,
        leg: LegId,
        target: String,
    ) -> impl Future<Output = Result<(), VoiceError>> + Send;
    /// Join the answered leg `supervisor` to the call `agent` is bridged in,
    /// or switch its mode if it already supervises it (SPEC §4.2): the call
    /// goes from packet relay to a mixer with its own 20 ms clock; the mode
    /// applies at the next tick, with no re-INVITE. `mode` is Listen, Whisper
    /// or Barge. The supervisor's leg is hung up when the caller or the agent
    /// hangs up; if it hangs up, the call goes back to plain relay.
    /// Errors: [`VoiceError::UnknownLeg`]; [`VoiceError::InvalidState`] when
    /// a leg is not answered, `agent` is not bridged, the call has another
    /// supervisor or `mode` is Direct/TakeOver.
    fn supervise(
        &self,
        agent: LegId,
        supervisor: LegId,
        mode: SupervisionMode,
    ) -> impl Future<Output = Result<(), VoiceError>> + Send;
    /// The supervisor leaves the call it supervises; the caller and the agent
    /// relay packets to each other again. The supervisor's leg stays up (hang
    /// it up with [`CallControl::hang_up`]). Errors:
    /// [`VoiceError::InvalidState`] when it supervises nothing.
    fn unsupervise(&self, supervisor: LegId)
    -> impl Future<Output = Result<(), VoiceError>> + Send;
    /// Take over (SPEC §4.2, "reprise d'appel"): the supervisor replaces the
    /// agent. The mixer stops, the caller and the supervisor are bridged
    /// directly (packet relay again) and a recording of the call goes on
    /// with the supervisor on the agent's side. Returns the agent's leg, now
    /// unbridged, for the caller to hang up. Errors:
    /// [`VoiceError::InvalidState`] when `supervisor` supervises nothing.
    /// The default (shells without supervision) refuses.
    fn take_over(
        &self,
        supervisor: LegId,
    ) -> impl Future<Output = Result<LegId, VoiceError>> + Send {
        let _ = supervisor;
        async { Err(VoiceError::InvalidState("take over is not supported")) }
    }
    /// End a leg: reject (480) if inbound and unanswered, CANCEL if outbound and
    /// unanswered, BYE otherwise.
    fn hang_up(&self, leg: LegId) -> impl Future<Output = Result<(), VoiceError>> + Send;
    /// Refuse an inbound leg not answered yet because the platform is over a
    /// load limit (the engine's limit on calls in the IVR): `503 Service
    /// Unavailable` with `Retry-After` of
    /// [`crate::VoiceConfig::overload_retry_after`] (RFC 3261 §21.5.4), so the
    /// operator's switch retries or routes elsewhere. On a leg that is
    /// already answered or outbound, the same as [`CallControl::hang_up`].
    fn refuse_overload(&self, leg: LegId) -> impl Future<Output = Result<(), VoiceError>> + Send;
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, VoiceError>>;

/// Commands carried from the handle to the stack task.
#[derive(Debug)]
pub(crate) enum Command {
    Answer(LegId, Reply<()>),
    Play(LegId, Arc<Vec<i16>>, bool, bool, Reply<()>),
    StopPlay(LegId, Reply<()>),
    Collect(LegId, usize, Duration, Option<char>, Reply<Collected>),
    SendDtmf(LegId, String, Reply<()>),
    RecordStart(LegId, PathBuf, Reply<()>),
    RecordStop(LegId, Reply<()>),
    Originate(String, String, Duration, Reply<LegId>),
    OriginateTrunk(String, String, Option<String>, Duration, Reply<LegId>),
    Bridge(LegId, LegId, Reply<()>),
    Hold(LegId, bool, Reply<()>),
    HangUp(LegId, Reply<()>),
    RefuseOverload(LegId, Reply<()>),
    Transfer(LegId, String, Reply<()>),
    Supervise(LegId, LegId, SupervisionMode, Reply<()>),
    Unsupervise(LegId, Reply<()>),
    TakeOver(LegId, Reply<LegId>),
    Shutdown(oneshot::Sender<()>),
}

/// Cloneable handle on a running voice stack; implements [`CallControl`].
#[derive(Debug, Clone)]
pub struct VoiceHandle {
    /// Bounded (1,024 commands): callers wait for room.
    pub(crate) tx: mpsc::Sender<Command>,
    pub(crate) local_addr: std::net::SocketAddr,
    pub(crate) in_setup: Arc<std::sync::atomic::AtomicUsize>,
    /// Decoded prompts shared by the legs ([`crate::prompt_cache`]).
    pub(crate) prompts: crate::prompt_cache::PromptCache,
}

/// The engine's end of the event stream.
#[derive(Debug)]
pub struct CallEvents(pub(crate) mpsc::Receiver<CallEvent>);

impl CallEvents {
    /// A stream fed by hand, for a fake voice shell in tests (a fake
    /// [`CallControl`] plus the sender of its events). Bounded like the
    /// stack's own stream (4,096 events): a sender waits for room.
    pub fn channel() -> (mpsc::Sender<CallEvent>, CallEvents) {
        let (tx, rx) = mpsc::channel(crate::stack::CALL_EVENTS);
        (tx, CallEvents(rx))
    }

    /// Next event; `None` once the stack has stopped.
    pub async fn recv(&mut self) -> Option<CallEvent> {
        self.0.recv().await
    }

    /// An event already queued, without waiting.
    pub fn try_recv(&mut self) -> Option<CallEvent> {
        self.0.try_recv().ok()
    }
}

impl VoiceHandle {
    /// The bound SIP address (useful with port 0).
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.local_addr
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, VoiceError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| VoiceError::Stopped)?;
        rx.await.map_err(|_| VoiceError::Stopped)?
    }

    /// Inbound calls in setup now: INVITE received, not yet answered nor
    /// ended (what [`crate::VoiceConfig::max_calls_in_setup`] limits). Also
    /// exported as the `metrics` gauge `sip_calls_in_setup`.
    pub fn calls_in_setup(&self) -> usize {
        self.in_setup.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stop the stack: every live leg gets BYE/CANCEL/480, sockets close.
    /// Returns when the stack task has finished.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

impl CallControl for VoiceHandle {
    async fn answer(&self, leg: LegId) -> Result<(), VoiceError> {
        self.call(|r| Command::Answer(leg, r)).await
    }

    async fn play(&self, leg: LegId, wav: PathBuf, barge_in: bool) -> Result<(), VoiceError> {
        let samples = self.prompts.load(wav).await?;
        self.call(|r| Command::Play(leg, samples, barge_in, false, r))
            .await
    }

    async fn music_on_hold(&self, leg: LegId, wav: PathBuf) -> Result<(), VoiceError> {
        let samples = self.prompts.load(wav).await?;
        self.call(|r| Command::Play(leg, samples, false, true, r))
            .await
    }

    async fn stop_prompt(&self, leg: LegId) -> Result<(), VoiceError> {
        self.call(|r| Command::StopPlay(leg, r)).await
    }

    async fn collect_digits(
        &self,
        leg: LegId,
        max: usize,
        timeout: Duration,
        terminator: Option<char>,
    ) -> Result<Collected, VoiceError> {
        self.call(|r| Command::Collect(leg, max, timeout, terminator, r))
            .await
    }

    async fn send_dtmf(&self, leg: LegId, digits: String) -> Result<(), VoiceError> {
        self.call(|r| Command::SendDtmf(leg, digits, r)).await
    }

    async fn record_start(&self, leg: LegId, path: PathBuf) -> Result<(), VoiceError> {
        self.call(|r| Command::RecordStart(leg, path, r)).await
    }

    async fn record_stop(&self, leg: LegId) -> Result<(), VoiceError> {
        self.call(|r| Command::RecordStop(leg, r)).await
    }

    async fn originate(
        &self,
        user: String,
        caller: String,
        ring_timeout: Duration,
    ) -> Result<LegId, VoiceError> {
        self.call(|r| Command::Originate(user, caller, ring_timeout, r))
            .await
    }

    async fn originate_trunk(
        &self,
        trunk: String,
        number: String,
        caller_id: Option<String>,
        ring_timeout: Duration,
    ) -> Result<LegId, VoiceError> {
        self.call(|r| Command::OriginateTrunk(trunk, number, caller_id, ring_timeout, r))
            .await
    }

    async fn bridge(&self, a: LegId, b: LegId) -> Result<(), VoiceError> {
        self.call(|r| Command::Bridge(a, b, r)).await
    }

    async fn hold(&self, leg: LegId, on: bool) -> Result<(), VoiceError> {
        self.call(|r| Command::Hold(leg, on, r)).await
    }

    async fn transfer(&self, leg: LegId, target: String) -> Result<(), VoiceError> {
        self.call(|r| Command::Transfer(leg, target, r)).await
    }

    async fn hang_up(&self, leg: LegId) -> Result<(), VoiceError> {
        self.call(|r| Command::HangUp(leg, r)).await
    }

    async fn refuse_overload(&self, leg: LegId) -> Result<(), VoiceError> {
        self.call(|r| Command::RefuseOverload(leg, r)).await
    }

    async fn supervise(
        &self,
        agent: LegId,
        supervisor: LegId,
        mode: SupervisionMode,
    ) -> Result<(), VoiceError> {
        self.call(|r| Command::Supervise(agent, supervisor, mode, r))
            .await
    }

    async fn unsupervise(&self, supervisor: LegId) -> Result<(), VoiceError> {
        self.call(|r| Command::Unsupervise(supervisor, r)).await
    }

    async fn take_over(&self, supervisor: LegId) -> Result<LegId, VoiceError> {
        self.call(|r| Command::TakeOver(supervisor, r)).await
    }
}
