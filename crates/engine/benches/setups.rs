//! Call setups per second through the whole engine (issue 12; a bench
//! binary that prints its figures, not a test).
//!
//! `cargo bench -p engine --bench setups`: a fake voice shell answers every
//! command at once; `BENCH_CALLS` callers (default 2,000) arrive on an entry
//! point that queues them directly (no IVR flow), each is offered to one of
//! as many logged-in agents, whose phone answers at once, and is bridged.
//! The figure is setups per second from the first `Incoming` to the last
//! bridge, and includes the engine loop, the caller lookup and every write
//! through the event writer into a SQLite file: it is the engine as it runs
//! (driver, shells and store). The core alone: `--bench core`.

use domain::*;
use engine::{EngineConfig, EntryPoint};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use store::{NewAgent, NewQueue};
use tokio::sync::mpsc;
use voice::{CallControl, CallEvent, Collected, LegId, VoiceError};

#[derive(Debug)]
enum Cmd {
    Originate(LegId),
    Bridge,
}

#[derive(Clone)]
struct FakeVoice {
    log: mpsc::UnboundedSender<Cmd>,
    next_leg: Arc<AtomicU64>,
}

impl CallControl for FakeVoice {
    async fn answer(&self, _: LegId) -> Result<(), VoiceError> {
        Ok(())
    }
    async fn play(&self, _: LegId, _: PathBuf, _: bool) -> Result<(), VoiceError> {
        Ok(())
    }
    async fn music_on_hold(&self, _: LegId, _: PathBuf) -> Result<(), VoiceError> {
        Ok(())
    }
    async fn stop_prompt(&self, _: LegId) -> Result<(), VoiceError> {
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
    async fn originate(&self, _: String, _: String, _: Duration) -> Result<LegId, VoiceError> {
        let leg = LegId(self.next_leg.fetch_add(1, Ordering::Relaxed));
        let _ = self.log.send(Cmd::Originate(leg));
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
    async fn bridge(&self, _: LegId, _: LegId) -> Result<(), VoiceError> {
        let _ = self.log.send(Cmd::Bridge);
        Ok(())
    }
    async fn hold(&self, _: LegId, _: bool) -> Result<(), VoiceError> {
        Ok(())
    }
    async fn transfer(&self, _: LegId, _: String) -> Result<(), VoiceError> {
        Ok(())
    }
    async fn hang_up(&self, _: LegId) -> Result<(), VoiceError> {
        Ok(())
    }

    async fn refuse_overload(&self, _: LegId) -> Result<(), VoiceError> {
        Ok(())
    }

    async fn supervise(
        &self,
        _: LegId,
        _: LegId,
        _: voice::SupervisionMode,
    ) -> Result<(), VoiceError> {
        Ok(())
    }
    async fn unsupervise(&self, _: LegId) -> Result<(), VoiceError> {
        Ok(())
    }
}

#[tokio::main]
async fn main() {
    let calls: u64 = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
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
            ring_timeout_s: 60,
            priority: 0,
        })
        .await
        .unwrap();
    let mut agents = Vec::new();
    for k in 0..calls {
        let a = store
            .create_agent(&NewAgent {
                login: format!("agent{k}"),
                name: format!("agent{k}"),
                skills: vec![],
                languages: vec!["fr".into()],
                capacity: Capacity::default(),
            })
            .await
            .unwrap();
        agents.push(a.id);
    }
    let (log, mut cmds) = mpsc::unbounded_channel();
    let voice = FakeVoice {
        log,
        next_leg: Arc::new(AtomicU64::new(1_000_000)),
    };
    let (events, call_events) = voice::CallEvents::channel();
    let cfg = EngineConfig {
        recordings_dir: dir.path().join("rec"),
        journal_dir: dir.path().join("journal"),
        entry_points: [("sales".to_string(), EntryPoint::Queue("sales".into()))].into(),
        ..EngineConfig::default()
    };
    let flows = ivr::FlowSet::new(ivr::PromptCatalog::new());
    let (engine, _task) = engine::start(store.clone(), voice, call_events, flows, cfg)
        .await
        .unwrap();
    for a in &agents {
        engine.agent_login(*a).await.unwrap();
    }
    let start = Instant::now();
    for k in 0..calls {
        events
            .send(CallEvent::Incoming {
                leg: LegId(k + 1),
                caller: format!("+2299{k:07}"),
                callee: "100".into(),
                trunk: Some("operator".into()),
                entry_point: Some("sales".into()),
                from_user: None,
            })
            .await
            .unwrap();
    }
    // The agents' phones answer at once; count the bridges.
    let mut bridged = 0;
    while bridged < calls {
        match tokio::time::timeout(Duration::from_secs(60), cmds.recv()).await {
            Ok(Some(Cmd::Originate(leg))) => {
                events.send(CallEvent::Answered { leg }).await.unwrap()
            }
            Ok(Some(Cmd::Bridge)) => bridged += 1,
            Ok(None) | Err(_) => {
                eprintln!("stalled after {bridged} bridges");
                std::process::exit(1);
            }
        }
    }
    let el = start.elapsed();
    println!(
        "engine call setups (incoming -> lookup -> open -> queue -> offer -> answer -> bridge, \
         SQLite, fake voice): {calls} calls in {:.3} s = {:.0} setups/s",
        el.as_secs_f64(),
        calls as f64 / el.as_secs_f64()
    );
}
