//! Hold through the engine with a fake voice shell (issue 12): the re-INVITE
//! is sent without blocking the engine, `on_hold` changes only when the far
//! end accepts, and a far end that never answers freezes nothing (another
//! agent's state change and another call's answer are served meanwhile).
//!
//! The fake [`CallControl`] records every command and lets the test decide
//! the outcome of each hold; nothing sleeps: every wait is for an event, with
//! a deadline.

use domain::*;
use engine::push::{Audience, Envelope, Push};
use engine::{AgentRequest, EngineConfig, EngineError, EngineHandle, EntryPoint};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{EventFilter, NewAgent, NewQueue, Store};
use tokio::sync::{broadcast, mpsc};
use voice::{CallControl, CallEvent, Collected, LegId, VoiceError};

/// What the far end does with our hold re-INVITE.
#[derive(Clone, Copy, Debug, PartialEq)]
enum HoldMode {
    /// 200 OK.
    Accept,
    /// 488 Not Acceptable Here.
    Refuse,
    /// No answer at all (the real stack would give up after Timer B, 32 s).
    Never,
}

/// A command the engine sent to the fake shell.
#[derive(Clone, Debug, PartialEq)]
enum Cmd {
    Answer(LegId),
    Originate { user: String, leg: LegId },
    Bridge(LegId, LegId),
    Hold(LegId, bool),
    HangUp(LegId),
    Other(&'static str),
}

struct Inner {
    log: mpsc::UnboundedSender<Cmd>,
    hold: Mutex<HoldMode>,
    next_leg: AtomicU64,
}

/// The fake voice shell: records commands, answers at once, except hold
/// which follows [`HoldMode`].
#[derive(Clone)]
struct FakeVoice(Arc<Inner>);

impl FakeVoice {
    fn note(&self, c: Cmd) {
        let _ = self.0.log.send(c);
    }
}

impl CallControl for FakeVoice {
    async fn answer(&self, leg: LegId) -> Result<(), VoiceError> {
        self.note(Cmd::Answer(leg));
        Ok(())
    }
    async fn play(&self, _: LegId, _: PathBuf, _: bool) -> Result<(), VoiceError> {
        self.note(Cmd::Other("play"));
        Ok(())
    }
    async fn music_on_hold(&self, _: LegId, _: PathBuf) -> Result<(), VoiceError> {
        self.note(Cmd::Other("music_on_hold"));
        Ok(())
    }
    async fn stop_prompt(&self, _: LegId) -> Result<(), VoiceError> {
        self.note(Cmd::Other("stop_prompt"));
        Ok(())
    }
    async fn collect_digits(
        &self,
        _: LegId,
        _: usize,
        _: Duration,
        _: Option<char>,
    ) -> Result<Collected, VoiceError> {
        Err(VoiceError::Stopped)
    }
    async fn send_dtmf(&self, _: LegId, _: String) -> Result<(), VoiceError> {
        Ok(())
    }
    async fn record_start(&self, _: LegId, _: PathBuf) -> Result<(), VoiceError> {
        Ok(())
    }
    async fn record_stop(&self, _: LegId) -> Result<(), VoiceError> {
        Ok(())
    }
    async fn originate(&self, user: String, _: String, _: Duration) -> Result<LegId, VoiceError> {
        let leg = LegId(self.0.next_leg.fetch_add(1, Ordering::Relaxed));
        self.note(Cmd::Originate { user, leg });
        Ok(leg)
    }
    async fn originate_trunk(
        &self,
        _: String,
        _: String,
        _: Option<String>,
        _: Duration,
    ) -> Result<LegId, VoiceError> {
        Err(VoiceError::Stopped)
    }
    async fn bridge(&self, a: LegId, b: LegId) -> Result<(), VoiceError> {
        self.note(Cmd::Bridge(a, b));
        Ok(())
    }
    async fn hold(&self, leg: LegId, on: bool) -> Result<(), VoiceError> {
        self.note(Cmd::Hold(leg, on));
        let mode = *self.0.hold.lock().unwrap();
        match mode {
            HoldMode::Accept => Ok(()),
            HoldMode::Refuse => Err(VoiceError::Refused(488)),
            HoldMode::Never => std::future::pending().await,
        }
    }
    async fn transfer(&self, _: LegId, _: String) -> Result<(), VoiceError> {
        Ok(())
    }
    async fn hang_up(&self, leg: LegId) -> Result<(), VoiceError> {
        self.note(Cmd::HangUp(leg));
        Ok(())
    }

    async fn refuse_overload(&self, leg: LegId) -> Result<(), VoiceError> {
        self.note(Cmd::HangUp(leg));
        Ok(())
    }

    async fn supervise(
        &self,
        _: LegId,
        _: LegId,
        _: voice::SupervisionMode,
    ) -> Result<(), VoiceError> {
        Err(VoiceError::InvalidState("no supervision in this fake"))
    }
    async fn unsupervise(&self, _: LegId) -> Result<(), VoiceError> {
        Err(VoiceError::InvalidState("no supervision in this fake"))
    }
}

struct Rig {
    store: Arc<dyn Store>,
    engine: EngineHandle,
    voice: FakeVoice,
    cmds: mpsc::UnboundedReceiver<Cmd>,
    events: mpsc::Sender<CallEvent>,
    push: broadcast::Receiver<Envelope>,
    amina: AgentId,
    koffi: AgentId,
    _dir: tempfile::TempDir,
}

/// Deadline of every wait for an event (not a sleep: the wait ends as soon
/// as the event comes).
const DEADLINE: Duration = Duration::from_secs(5);

async fn rig() -> Rig {
    rig_with(|_| {}).await
}

async fn rig_with(adjust: impl FnOnce(&mut EngineConfig)) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sb.db").display());
    let store = store::open(&url).await.unwrap();
    store
        .create_queue(&NewQueue {
            name: "sales".into(),
            required_skills: vec![],
            strategy: Strategy::LongestIdle,
            service_level: ServiceLevel::default(),
            wrap_up_s: 0,
            max_wait_s: 0,
            ring_timeout_s: 20,
            priority: 0,
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    for login in ["amina", "koffi"] {
        let a = store
            .create_agent(&NewAgent {
                login: login.into(),
                name: login.into(),
                skills: vec![],
                languages: vec!["fr".into()],
                capacity: Capacity::default(),
            })
            .await
            .unwrap();
        ids.push(a.id);
    }
    let (log, cmds) = mpsc::unbounded_channel();
    let voice = FakeVoice(Arc::new(Inner {
        log,
        hold: Mutex::new(HoldMode::Accept),
        next_leg: AtomicU64::new(1000),
    }));
    let (events, call_events) = voice::CallEvents::channel();
    let cfg = EngineConfig {
        recordings_dir: dir.path().join("rec"),
        journal_dir: dir.path().join("journal"),
        entry_points: [("sales".to_string(), EntryPoint::Queue("sales".into()))].into(),
        ..EngineConfig::default()
    };
    let mut cfg = cfg;
    cfg.flows_dir = Some(dir.path().join("flows"));
    adjust(&mut cfg);
    let flows = ivr::FlowSet::new(ivr::PromptCatalog::new());
    let (engine, _task) = engine::start(store.clone(), voice.clone(), call_events, flows, cfg)
        .await
        .unwrap();
    let push = engine.subscribe();
    Rig {
        store,
        engine,
        voice,
        cmds,
        events,
        push,
        amina: ids[0],
        koffi: ids[1],
        _dir: dir,
    }
}

impl Rig {
    /// The next command matching `want`, skipping others.
    async fn command(&mut self, want: impl Fn(&Cmd) -> bool) -> Cmd {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let c = tokio::time::timeout_at(deadline, self.cmds.recv())
                .await
                .expect("command in time")
                .expect("fake shell alive");
            if want(&c) {
                return c;
            }
        }
    }

    /// The next push to `agent` matching `want`, skipping others.
    async fn pushed(&mut self, agent: AgentId, want: impl Fn(&Push) -> bool) -> Push {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let env = tokio::time::timeout_at(deadline, self.push.recv())
                .await
                .expect("push in time")
                .expect("push channel open");
            if env.audience == Audience::Agent(agent) && want(&env.message) {
                return env.message;
            }
        }
    }

    /// A caller on the `sales` entry point, rung to `agent` (logged in and
    /// available) who answers: returns the interaction and the caller's leg.
    async fn answered_call(&mut self, caller_leg: u64, agent: AgentId) -> InteractionId {
        let login = if agent == self.amina {
            "amina"
        } else {
            "koffi"
        };
        self.events
            .send(CallEvent::Incoming {
                leg: LegId(caller_leg),
                caller: format!("+2299000{caller_leg:04}"),
                callee: "100".into(),
                trunk: Some("operator".into()),
                entry_point: Some("sales".into()),
                from_user: None,
            })
            .await
            .unwrap();
        let Cmd::Originate { leg: agent_leg, .. } = self
            .command(|c| matches!(c, Cmd::Originate { user, .. } if user == login))
            .await
        else {
            unreachable!()
        };
        let Push::Offer { interaction_id, .. } = self
            .pushed(agent, |p| matches!(p, Push::Offer { .. }))
            .await
        else {
            unreachable!()
        };
        self.events
            .send(CallEvent::Answered { leg: agent_leg })
            .await
            .unwrap();
        let bridged = self.command(|c| matches!(c, Cmd::Bridge(..))).await;
        assert_eq!(bridged, Cmd::Bridge(LegId(caller_leg), agent_leg));
        interaction_id
    }

    fn hold_mode(&self, m: HoldMode) {
        *self.voice.0.hold.lock().unwrap() = m;
    }

    /// Every write the engine made so far is in the store (an API command
    /// answers once its writes, and all before them, are durable).
    async fn settled(&self) {
        self.engine.agent_stats().await.unwrap();
    }

    async fn event_kinds(&self, id: InteractionId) -> Vec<String> {
        self.settled().await;
        let evs = self
            .store
            .list_events(&EventFilter {
                interaction_id: Some(id),
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        evs.iter()
            .map(|e| {
                serde_json::to_value(&e.kind).unwrap()["type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }
}

#[tokio::test]
async fn a_refused_hold_leaves_the_call_off_hold() {
    let mut r = rig().await;
    r.engine.agent_login(r.amina).await.unwrap();
    let id = r.answered_call(1, r.amina).await;
    r.hold_mode(HoldMode::Refuse);
    let err = r.engine.hold(r.amina, id, true).await.unwrap_err();
    assert!(
        matches!(err, EngineError::Invalid(ref m) if m.contains("488")),
        "{err}"
    );
    assert_eq!(
        r.command(|c| matches!(c, Cmd::Hold(..))).await,
        Cmd::Hold(LegId(1), true)
    );
    // Still off hold: taking it off hold is a no-op (no re-INVITE sent).
    r.engine.hold(r.amina, id, false).await.unwrap();
    // Now accepted: on hold, with its `held` event.
    r.hold_mode(HoldMode::Accept);
    r.engine.hold(r.amina, id, true).await.unwrap();
    assert_eq!(
        r.command(|c| matches!(c, Cmd::Hold(..))).await,
        Cmd::Hold(LegId(1), true),
        "the unhold of a call not on hold sent nothing"
    );
    let kinds = r.event_kinds(id).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "held").count(),
        1,
        "one held event, for the accepted hold only: {kinds:?}"
    );
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("interaction_created")
    );
}

#[tokio::test]
async fn a_hold_never_answered_freezes_nothing() {
    let mut r = rig().await;
    r.engine.agent_login(r.amina).await.unwrap();
    let first = r.answered_call(1, r.amina).await;
    r.hold_mode(HoldMode::Never);
    let engine = r.engine.clone();
    let amina = r.amina;
    let pending = tokio::spawn(async move { engine.hold(amina, first, true).await });
    assert_eq!(
        r.command(|c| matches!(c, Cmd::Hold(..))).await,
        Cmd::Hold(LegId(1), true)
    );
    // While the re-INVITE waits: another agent logs in, pauses, gets ready…
    let served = tokio::time::timeout(DEADLINE, async {
        r.engine.agent_login(r.koffi).await.unwrap();
        r.engine
            .agent_state(r.koffi, AgentRequest::Pause("break".into()))
            .await
            .unwrap();
        r.engine
            .agent_state(r.koffi, AgentRequest::Ready)
            .await
            .unwrap();
    })
    .await;
    assert!(
        served.is_ok(),
        "agent commands served during the pending hold"
    );
    // …another call is offered to them and answered…
    let second = r.answered_call(2, r.koffi).await;
    assert_ne!(first, second);
    // …and a second hold of the same call is refused, not queued.
    let again = r.engine.hold(r.amina, first, true).await.unwrap_err();
    assert!(matches!(again, EngineError::Invalid(ref m) if m.contains("in progress")));
    // The first call is still not on hold: no `held` event.
    assert!(!r.event_kinds(first).await.contains(&"held".to_string()));
    assert!(
        !pending.is_finished(),
        "the hold is still waiting for the far end"
    );
    // The caller hangs up: the call ends although the hold never got an answer.
    r.events
        .send(CallEvent::HungUp {
            leg: LegId(1),
            cause: voice::HangupCause::RemoteBye,
            rx_packets: 0,
            tx_packets: 0,
        })
        .await
        .unwrap();
    r.pushed(
        r.amina,
        |p| matches!(p, Push::Ended { interaction_id, .. } if *interaction_id == first),
    )
    .await;
    pending.abort();
}

#[tokio::test]
async fn a_customer_merge_during_a_live_call_is_kept() {
    let mut r = rig().await;
    let phone = phone::normalize_e164("+22990000003", Some("BJ")).unwrap();
    let caller = r
        .store
        .create_customer(
            &store::NewCustomer {
                name: "Awa".into(),
                phones: vec![phone],
                ..Default::default()
            },
            Timestamp::from_millis(1),
        )
        .await
        .unwrap();
    let survivor = r
        .store
        .create_customer(
            &store::NewCustomer {
                name: "Awa Dossou".into(),
                ..Default::default()
            },
            Timestamp::from_millis(1),
        )
        .await
        .unwrap();
    r.engine.agent_login(r.amina).await.unwrap();
    let id = r.answered_call(3, r.amina).await;
    r.settled().await;
    let row = r.store.get_interaction(id).await.unwrap().unwrap();
    assert_eq!(
        row.customer_id,
        Some(caller.id),
        "the caller was identified"
    );
    // A supervisor merges the caller into another record during the call.
    r.store
        .merge_customers(caller.id, survivor.id, UserId(1), Timestamp::from_millis(2))
        .await
        .unwrap();
    // The agent hangs up and closes the wrap-up: the engine saves the row.
    r.engine.hang_up(r.amina, id).await.unwrap();
    r.store.create_disposition("sale", "Sale").await.unwrap();
    r.engine
        .disposition(r.amina, id, "sale".into(), Some("ok".into()))
        .await
        .unwrap();
    let row = r.store.get_interaction(id).await.unwrap().unwrap();
    assert!(row.ended_at.is_some());
    assert_eq!(row.disposition.as_deref(), Some("sale"));
    assert_eq!(
        row.customer_id,
        Some(survivor.id),
        "the merge done during the call is kept"
    );
}

#[tokio::test]
async fn a_flow_reload_is_parsed_off_the_engine_loop_and_reports_bad_files() {
    let r = rig().await;
    let flows = r._dir.path().join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    std::fs::write(flows.join("broken.yaml"), "name: [unclosed\n").unwrap();
    let report = r.engine.reload_flows().await.unwrap();
    assert!(report.loaded.is_empty());
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(
        report.errors[0].contains("broken.yaml"),
        "{:?}",
        report.errors
    );
    // The engine goes on serving (the reload flag was cleared).
    r.engine.agent_login(r.amina).await.unwrap();
    assert_eq!(r.engine.reload_flows().await.unwrap().errors.len(), 1);
}

#[tokio::test]
async fn a_flow_reload_without_a_folder_is_a_clear_error() {
    let r = rig_with(|c| c.flows_dir = None).await;
    let err = r.engine.reload_flows().await.unwrap_err();
    assert!(err.to_string().contains("no flows folder"), "{err}");
}
