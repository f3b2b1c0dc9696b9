//! The engine core measured alone (issue 12's benchmark): decisions per
//! second with a fake shell that answers every effect at once, on one
//! thread, with no I/O in the measured loop. Used by
//! `cargo bench -p engine --bench core`; not part of the engine's API.

use crate::actor::{Actor, CallerLookup, Effect, Input, Internal, VoiceOp, VoiceResult};
use crate::{EngineConfig, EntryPoint};
use domain::*;
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use store::{NewAgent, NewQueue};
use voice::{CallEvent, HangupCause, LegId};

/// What [`core_setups`] measured.
#[derive(Debug, Clone, Copy)]
pub struct CoreFigures {
    /// Calls that went IVR → queue → agent answered → ended.
    pub calls: u64,
    /// Wall time of the measured loop.
    pub elapsed: Duration,
    /// Inputs handed to the core.
    pub inputs: u64,
    /// Effects the core queued (voice commands, writes, tasks).
    pub effects: u64,
}

impl CoreFigures {
    /// Call setups per second.
    pub fn setups_per_s(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }
}

/// A menu with one prompt; digit 1 goes to queue `sales`.
pub(crate) const FLOW: &str = r#"
name: menu
languages: [fr]
start: welcome
nodes:
  welcome:
    type: menu
    prompts: welcome
    options: { "1": sales }
    on_failure: bye
  sales:
    type: queue
    queue: sales
  bye:
    type: hangup
"#;

/// Run `calls` calls through the core: each arrives on an IVR flow (menu
/// with a prompt, digit 1 → queue `sales`), is offered to one of `agents`
/// agents (longest idle, no wrap-up), whose phone answers, and the caller
/// hangs up. The caller's lookup (a store read in the product) is answered
/// by the fake shell, so the loop measures the core's decisions only.
///
/// # Panics
/// The set-up (a temporary SQLite store for the queue and agents) fails.
pub async fn core_setups(calls: u64, agents: u32) -> CoreFigures {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = store::open(&url).await.expect("store");
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
        .expect("queue");
    let mut logins = Vec::new();
    for i in 0..agents {
        let a = store
            .create_agent(&NewAgent {
                login: format!("agent{i}"),
                name: format!("Agent {i}"),
                skills: vec![],
                languages: vec!["fr".into()],
                capacity: Capacity::default(),
            })
            .await
            .expect("agent");
        logins.push(a);
    }
    let cfg = EngineConfig {
        recordings_dir: dir.path().join("rec"),
        journal_dir: dir.path().join("journal"),
        entry_points: [("menu".to_string(), EntryPoint::Flow("menu".into()))].into(),
        ..EngineConfig::default()
    };
    let mut catalog = ivr::PromptCatalog::new();
    for p in ["welcome", "invalid_choice", "no_input"] {
        catalog.insert("fr", p);
    }
    let mut flows = ivr::FlowSet::new(catalog);
    flows.load_str("menu.yaml", FLOW).expect("flow");
    let (push, _) = tokio::sync::broadcast::channel(16);
    let (writer, _task) =
        crate::writer::EventWriter::start(store.clone(), cfg.journal_dir.clone(), 64)
            .await
            .expect("writer");
    let mut core = Actor::new(store, flows, cfg, push, writer)
        .await
        .expect("core");
    // Ids for every call up front: the background refill is not measured.
    core.ids = 1_000_000..1_000_000 + calls as i64 + 10;
    let mut shell = Fake {
        now: Timestamp::from_millis(1_780_000_000_000),
        next_leg: 1 << 32,
        inputs: 0,
        effects: 0,
        last_originated: None,
    };
    for a in logins {
        let (tx, _rx) = tokio::sync::oneshot::channel();
        shell.run(
            &mut core,
            Input::Command(crate::Command::Login(Box::new(a), tx)),
        );
    }
    let start = Instant::now();
    for i in 0..calls {
        let caller = LegId(i + 1);
        shell.run(
            &mut core,
            Input::Voice(CallEvent::Incoming {
                leg: caller,
                caller: "anonymous".into(),
                callee: "3900".into(),
                trunk: Some("operator".into()),
                entry_point: Some("menu".into()),
                from_user: None,
            }),
        );
        shell.run(
            &mut core,
            Input::Voice(CallEvent::PromptFinished {
                leg: caller,
                interrupted: false,
            }),
        );
        shell.run(
            &mut core,
            Input::Voice(CallEvent::Dtmf {
                leg: caller,
                digit: '1',
                duration_ms: 100,
            }),
        );
        let agent_leg = shell.last_originated.take().expect("an agent is rung");
        shell.run(
            &mut core,
            Input::Voice(CallEvent::Answered { leg: agent_leg }),
        );
        shell.run(
            &mut core,
            Input::Voice(CallEvent::HungUp {
                leg: caller,
                cause: HangupCause::RemoteBye,
                rx_packets: 0,
                tx_packets: 0,
            }),
        );
        shell.now = shell.now.add_millis(1);
        if core.poll_timeout().is_some_and(|d| d <= shell.now) {
            shell.run(&mut core, Input::Timeout);
        }
    }
    let elapsed = start.elapsed();
    CoreFigures {
        calls,
        elapsed,
        inputs: shell.inputs,
        effects: shell.effects,
    }
}

/// The fake shell: answers every effect at once.
struct Fake {
    now: Timestamp,
    next_leg: u64,
    inputs: u64,
    effects: u64,
    last_originated: Option<LegId>,
}

impl Fake {
    fn run(&mut self, core: &mut Actor, input: Input) {
        let mut inputs = VecDeque::from([input]);
        while let Some(input) = inputs.pop_front() {
            self.inputs += 1;
            core.handle(self.now, input);
            while let Some(effect) = core.poll_effect() {
                self.effects += 1;
                match effect {
                    Effect::Write(_) | Effect::Store(_) | Effect::Dialog(_) => {}
                    Effect::Reply(send) => send(),
                    // The only task on this path is the caller's lookup:
                    // answered here without the store (an unknown number).
                    Effect::Task(_) => {
                        if let Some(leg) = core.incoming_pending.iter().next().copied() {
                            inputs.push_back(Input::Internal(Internal::Identified(Box::new(
                                crate::actor::Identified {
                                    leg,
                                    caller: "anonymous".into(),
                                    entry: EntryPoint::Flow("menu".into()),
                                    t: self.now,
                                    number: None,
                                    found: Ok(CallerLookup {
                                        customer: None,
                                        created: false,
                                        has_called_before: false,
                                        history: Vec::new(),
                                    }),
                                },
                            ))));
                        }
                    }
                    Effect::Voice { op, then } => {
                        let result = match op {
                            VoiceOp::Originate { .. } | VoiceOp::OriginateTrunk { .. } => {
                                self.next_leg += 1;
                                self.last_originated = Some(LegId(self.next_leg));
                                VoiceResult::Leg(Ok(LegId(self.next_leg)))
                            }
                            _ => VoiceResult::Done(Ok(())),
                        };
                        if let Some(op) = then {
                            self.inputs += 1;
                            core.handle(self.now, Input::Internal(Internal::Voice { op, result }));
                        }
                    }
                }
            }
        }
    }
}
