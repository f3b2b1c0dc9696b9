//! The engine's scenarios on virtual time (issue 12): the core is driven by
//! hand — one input at a time with a manual clock in ms — and every effect
//! it queues is looked at and answered by a fake shell. Nothing sleeps and
//! no deadline is real: RONA's 20 s, wrap-up's 30 s and a re-INVITE that
//! never comes back take no time.
//!
//! The store is a real SQLite database in a temporary folder (for the
//! caller's lookup, which runs as a [`Effect::Task`]); the writes the engine
//! queues are kept in order in [`Shell::writes`] and checked there.

use super::{Actor, Effect, Input, Internal, VoiceOp, VoiceResult};
use crate::push::{Audience, Envelope, Push};
use crate::{Command, EngineConfig, EngineError, EntryPoint, TransferTarget};
use domain::*;
use std::collections::VecDeque;
use std::sync::Arc;
use store::{NewAgent, NewCustomer, NewQueue, Store, Write};
use tokio::sync::{broadcast, oneshot};
use voice::{CallEvent, HangupCause, LegId, VoiceError};

/// What the fake far end does with a hold re-INVITE.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum HoldMode {
    Accept,
    Refuse,
    Never,
}

/// The fake shell and the core it drives.
struct Shell {
    actor: Actor,
    store: Arc<dyn Store>,
    now: Timestamp,
    /// Every voice command, in order.
    ops: Vec<VoiceOp>,
    /// Every write, in order.
    writes: Vec<Write>,
    push: broadcast::Receiver<Envelope>,
    next_leg: u64,
    hold: HoldMode,
    /// Hold outcomes held back (mode `Never`): never handed to the core.
    unanswered: Vec<Internal>,
    agents: Vec<AgentId>,
    queue: QueueId,
    _dir: tempfile::TempDir,
}

const T0: i64 = 1_780_000_000_000;

/// The IVR menu of the scenarios (the same as the core benchmark's).
const FLOW: &str = crate::bench_support::FLOW;

impl Shell {
    async fn new(strategy: Strategy, agents: &[&str]) -> Shell {
        Self::with(strategy, agents, |_| {}).await
    }

    async fn with(
        strategy: Strategy,
        logins: &[&str],
        adjust: impl FnOnce(&mut EngineConfig),
    ) -> Shell {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sb.db").display());
        let store = store::open(&url).await.unwrap();
        let q = store
            .create_queue(&NewQueue {
                name: "sales".into(),
                required_skills: vec![],
                strategy,
                service_level: ServiceLevel::default(),
                wrap_up_s: 30,
                max_wait_s: 0,
                ring_timeout_s: 20,
                priority: 0,
            })
            .await
            .unwrap();
        let mut agents = Vec::new();
        for login in logins {
            let a = store
                .create_agent(&NewAgent {
                    login: (*login).into(),
                    name: (*login).into(),
                    skills: vec![],
                    languages: vec!["fr".into()],
                    capacity: Capacity::default(),
                })
                .await
                .unwrap();
            agents.push(a.id);
        }
        let mut cfg = EngineConfig {
            recordings_dir: dir.path().join("rec"),
            journal_dir: dir.path().join("journal"),
            entry_points: [
                ("sales".to_string(), EntryPoint::Queue("sales".into())),
                ("menu".to_string(), EntryPoint::Flow("menu".into())),
            ]
            .into(),
            music_on_hold: Some(dir.path().join("moh.wav")),
            ..EngineConfig::default()
        };
        adjust(&mut cfg);
        let mut catalog = ivr::PromptCatalog::new();
        for p in ["welcome", "invalid_choice", "no_input"] {
            catalog.insert("fr", p);
        }
        let mut flows = ivr::FlowSet::new(catalog);
        flows.load_str("menu.yaml", FLOW).unwrap();
        let (push_tx, push) = broadcast::channel(4096);
        let (writer, _task) =
            crate::writer::EventWriter::start(store.clone(), cfg.journal_dir.clone(), 64)
                .await
                .unwrap();
        let mut actor = Actor::new(store.clone(), flows, cfg, push_tx, writer)
            .await
            .unwrap();
        actor.now = Timestamp::from_millis(T0);
        let mut shell = Shell {
            actor,
            store,
            now: Timestamp::from_millis(T0),
            ops: Vec::new(),
            writes: Vec::new(),
            push,
            next_leg: 1000,
            hold: HoldMode::Accept,
            unanswered: Vec::new(),
            agents: agents.clone(),
            queue: q.id,
            _dir: dir,
        };
        for a in agents {
            let agent = shell.store.get_agent(a).await.unwrap().unwrap();
            let r = shell
                .command(|tx| Command::Login(Box::new(agent), tx))
                .await;
            r.unwrap();
        }
        shell
    }

    /// Hand one input to the core, then carry out every effect it queued
    /// (and the inputs their outcomes give).
    async fn input(&mut self, input: Input) {
        let mut inputs = VecDeque::from([input]);
        while let Some(input) = inputs.pop_front() {
            self.actor.handle(self.now, input);
            while let Some(effect) = self.actor.poll_effect() {
                match effect {
                    Effect::Write(w) => self.writes.push(w),
                    Effect::Reply(send) => send(),
                    Effect::Task(work) => {
                        if let Some(i) = work.await {
                            inputs.push_back(Input::Internal(i));
                        }
                    }
                    Effect::Store(job) => job(self.store.clone()).await,
                    Effect::Dialog(_) => {}
                    Effect::Voice { op, then } => {
                        let result = self.far_end(&op);
                        self.ops.push(op);
                        match (then, result) {
                            (Some(op), Some(result)) => {
                                self.actor.handle(
                                    self.now,
                                    Input::Internal(Internal::Voice { op, result }),
                                );
                            }
                            (Some(op), None) => {
                                let never = Internal::Voice {
                                    op,
                                    result: VoiceResult::Done(Ok(())),
                                };
                                self.unanswered.push(never);
                            }
                            (None, _) => {}
                        }
                    }
                }
            }
        }
    }

    /// The fake far end's answer to a command; `None`: no answer (yet).
    fn far_end(&mut self, op: &VoiceOp) -> Option<VoiceResult> {
        Some(match op {
            VoiceOp::Originate { .. } | VoiceOp::OriginateTrunk { .. } => {
                self.next_leg += 1;
                VoiceResult::Leg(Ok(LegId(self.next_leg)))
            }
            // The shell gives back the agent's leg of the call the
            // supervisor's leg monitors.
            VoiceOp::TakeOver(l) => VoiceResult::Leg(
                self.actor
                    .calls
                    .values()
                    .find(|c| c.monitor.as_ref().and_then(|m| m.leg) == Some(*l))
                    .and_then(|c| c.agent_leg)
                    .ok_or(VoiceError::InvalidState("the leg supervises no call")),
            ),
            VoiceOp::Hold(..) => match self.hold {
                HoldMode::Accept => VoiceResult::Done(Ok(())),
                HoldMode::Refuse => VoiceResult::Done(Err(VoiceError::Refused(488))),
                HoldMode::Never => return None,
            },
            _ => VoiceResult::Done(Ok(())),
        })
    }

    /// An API command through the core; its answer.
    async fn command<T: Send + 'static>(
        &mut self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> T {
        let (tx, mut rx) = oneshot::channel();
        self.input(Input::Command(make(tx))).await;
        rx.try_recv().expect("the command is answered at once")
    }

    async fn voice(&mut self, ev: CallEvent) {
        self.input(Input::Voice(ev)).await;
    }

    /// Move the clock `ms` forward, waking the core at each deadline it
    /// asked for on the way.
    async fn advance(&mut self, ms: i64) {
        let until = self.now.add_millis(ms);
        while let Some(d) = self.actor.poll_timeout() {
            if d > until {
                break;
            }
            self.now = self.now.max(d);
            self.input(Input::Timeout).await;
        }
        self.now = until;
    }

    async fn incoming(&mut self, leg: u64, entry: &str) {
        self.voice(CallEvent::Incoming {
            leg: LegId(leg),
            caller: format!("+229970{leg:05}"),
            callee: "3900".into(),
            trunk: Some("operator".into()),
            entry_point: Some(entry.into()),
            from_user: None,
        })
        .await;
    }

    async fn answered(&mut self, leg: LegId) {
        self.voice(CallEvent::Answered { leg }).await;
    }

    async fn hung_up(&mut self, leg: LegId, cause: HangupCause) {
        self.voice(CallEvent::HungUp {
            leg,
            cause,
            rx_packets: 0,
            tx_packets: 0,
        })
        .await;
    }

    /// The agent legs rung so far, as `(user, leg)`, in order.
    fn rung(&self) -> Vec<(String, LegId)> {
        let mut leg = 1000;
        self.ops
            .iter()
            .filter_map(|op| match op {
                VoiceOp::Originate { user, .. } => {
                    leg += 1;
                    Some((user.clone(), LegId(leg)))
                }
                VoiceOp::OriginateTrunk { .. } => {
                    leg += 1;
                    None
                }
                _ => None,
            })
            .collect()
    }

    /// The interaction events written for `id`, in order, by kind name.
    fn kinds(&self, id: InteractionId) -> Vec<&'static str> {
        let mut out = Vec::new();
        for w in &self.writes {
            let (evs, owner): (&[NewEvent], Option<InteractionId>) = match w {
                Write::Open {
                    interaction,
                    events,
                } => (events, Some(interaction.id)),
                Write::Update { id, events, .. } => (events, Some(*id)),
                Write::Events(evs) => (evs, None),
            };
            for e in evs {
                if e.interaction_id.or(owner) == Some(id) {
                    out.push(e.kind.name());
                }
            }
        }
        out
    }

    /// The ids of the interactions opened, in order.
    fn opened(&self) -> Vec<InteractionId> {
        self.writes
            .iter()
            .filter_map(|w| match w {
                Write::Open { interaction, .. } => Some(interaction.id),
                _ => None,
            })
            .collect()
    }

    /// Pushes so far to `agent`.
    fn pushes_to(&mut self, agent: AgentId) -> Vec<Push> {
        let mut out = Vec::new();
        while let Ok(env) = self.push.try_recv() {
            if env.audience == Audience::Agent(agent) {
                out.push(env.message);
            }
        }
        out
    }
}

#[tokio::test]
async fn ivr_to_queue_to_agent_to_wrap_up_on_virtual_time() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    let amina = s.agents[0];
    s.incoming(1, "menu").await;
    let id = s.opened()[0];
    assert!(matches!(s.ops[0], VoiceOp::Answer(LegId(1))), "{:?}", s.ops);
    assert!(
        s.ops
            .iter()
            .any(|o| matches!(o, VoiceOp::Play { leg: LegId(1), .. })),
        "the welcome prompt plays: {:?}",
        s.ops
    );
    s.voice(CallEvent::PromptFinished {
        leg: LegId(1),
        interrupted: false,
    })
    .await;
    s.voice(CallEvent::Dtmf {
        leg: LegId(1),
        digit: '1',
        duration_ms: 100,
    })
    .await;
    let rung = s.rung();
    assert_eq!(rung.len(), 1, "amina's phone rings: {:?}", s.ops);
    assert_eq!(rung[0].0, "amina");
    let offer = s
        .pushes_to(amina)
        .into_iter()
        .find(|p| matches!(p, Push::Offer { .. }));
    assert!(offer.is_some(), "screen-pop pushed");
    s.advance(3_000).await;
    s.answered(rung[0].1).await;
    assert!(
        s.ops
            .iter()
            .any(|o| matches!(o, VoiceOp::Bridge(a, b) if *a == LegId(1) && *b == rung[0].1)),
        "bridged: {:?}",
        s.ops
    );
    s.advance(60_000).await;
    s.hung_up(LegId(1), HangupCause::RemoteBye).await;
    assert_eq!(
        s.kinds(id),
        [
            "interaction_created",
            "ivr_step",
            "ivr_step",
            "queued",
            "offered",
            "answered",
            "ended",
            "wrap_up_started"
        ]
    );
    // The queue's 30 s wrap-up ends on the clock, not on a sleep.
    s.advance(29_999).await;
    assert!(!s.kinds(id).contains(&"wrap_up_ended"));
    s.advance(1).await;
    assert_eq!(s.kinds(id).last(), Some(&"wrap_up_ended"));
    let answered = s.writes.iter().find_map(|w| {
        w.events().iter().find_map(|e| match e.kind {
            EventKind::Answered { waited_ms, .. } => Some(waited_ms),
            _ => None,
        })
    });
    // The row change and its events travel together: `ended` is in the
    // write that sets `ended_at`.
    let ended_with_row = s.writes.iter().any(|w| match w {
        Write::Update { change, events, .. } => {
            change.ended_at.is_some()
                && events
                    .iter()
                    .any(|e| matches!(e.kind, EventKind::Ended { .. }))
        }
        _ => false,
    });
    assert!(ended_with_row, "ended_at and `ended` in one write");
    assert_eq!(answered, Some(3_000), "waited 3 s of virtual time in queue");
}

#[tokio::test]
async fn rona_moves_the_call_to_the_next_agent_after_the_ring_time_out() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina", "koffi"]).await;
    s.incoming(1, "sales").await;
    let id = s.opened()[0];
    let first = s.rung();
    assert_eq!(first.len(), 1);
    // 20 s ring time-out, no answer: RONA at 20 000 ms exactly.
    s.advance(19_999).await;
    assert_eq!(s.rung().len(), 1, "nothing before the time-out");
    s.advance(1).await;
    let rung = s.rung();
    assert_eq!(rung.len(), 2, "the next agent rings: {:?}", s.ops);
    assert_ne!(rung[0].0, rung[1].0);
    assert!(
        s.ops.contains(&VoiceOp::HangUp(first[0].1)),
        "the first phone stops ringing"
    );
    assert!(s.kinds(id).contains(&"rona"));
    s.answered(rung[1].1).await;
    assert!(s.kinds(id).contains(&"answered"));
}

#[tokio::test]
async fn ring_all_first_answer_wins_and_the_other_phone_stops() {
    let mut s = Shell::new(Strategy::RingAll, &["amina", "koffi"]).await;
    s.incoming(1, "sales").await;
    let rung = s.rung();
    assert_eq!(rung.len(), 2, "both phones ring: {:?}", s.ops);
    s.advance(2_000).await;
    s.answered(rung[1].1).await;
    assert!(
        s.ops.contains(&VoiceOp::HangUp(rung[0].1)),
        "the other phone stops: {:?}",
        s.ops
    );
    assert!(s.ops.contains(&VoiceOp::Bridge(LegId(1), rung[1].1)));
}

#[tokio::test]
async fn blind_transfer_to_another_agent() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina", "koffi"]).await;
    let (amina, koffi) = (s.agents[0], s.agents[1]);
    s.incoming(1, "sales").await;
    let id = s.opened()[0];
    let first = s.rung()[0].clone();
    let (from, to) = if first.0 == "amina" {
        (amina, koffi)
    } else {
        (koffi, amina)
    };
    s.answered(first.1).await;
    let r = s
        .command(|reply| Command::Transfer {
            agent: from,
            interaction: id,
            target: TransferTarget::Agent(to),
            reply,
        })
        .await;
    r.unwrap();
    assert!(
        s.ops.contains(&VoiceOp::HangUp(first.1)),
        "first agent's leg released"
    );
    let second = s.rung()[1].clone();
    assert_ne!(second.0, first.0, "the other agent rings");
    s.answered(second.1).await;
    assert!(s.ops.contains(&VoiceOp::Bridge(LegId(1), second.1)));
    let kinds = s.kinds(id);
    assert_eq!(
        kinds.iter().filter(|k| **k == "answered").count(),
        2,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"transferred"));
}

#[tokio::test]
async fn a_callback_rings_the_agent_then_dials_the_customer() {
    let mut s = Shell::with(Strategy::LongestIdle, &["amina"], |c| {
        c.callback_trunk = Some("operator".into());
    })
    .await;
    let queue = s.queue;
    let caller = crate::actor::identify_caller(
        &*s.store,
        Some(&phone::normalize_e164("+22997000123", None).unwrap()),
        s.now,
    )
    .await
    .unwrap();
    let r = s
        .command(|reply| Command::Callback {
            request: crate::CallbackRequest {
                queue,
                number: "+22997000123".into(),
                from_interaction: None,
            },
            caller: Some(Box::new(caller)),
            reply,
        })
        .await;
    let id = r.unwrap();
    let agent_leg = s.rung()[0].1;
    s.answered(agent_leg).await;
    let dialled = s
        .ops
        .iter()
        .any(|o| matches!(o, VoiceOp::OriginateTrunk { number, .. } if number == "+22997000123"));
    assert!(
        dialled,
        "the customer is dialled after the agent answers: {:?}",
        s.ops
    );
    let customer_leg = LegId(s.next_leg);
    s.answered(customer_leg).await;
    assert!(s.ops.contains(&VoiceOp::Bridge(customer_leg, agent_leg)));
    assert!(s.kinds(id).contains(&"callback_requested"));
}

/// A call bridged to amina; returns the interaction.
async fn talking(s: &mut Shell) -> InteractionId {
    s.incoming(1, "sales").await;
    let id = s.opened()[0];
    let leg = s.rung()[0].1;
    s.answered(leg).await;
    id
}

#[tokio::test]
async fn a_refused_hold_changes_nothing() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    let amina = s.agents[0];
    let id = talking(&mut s).await;
    s.hold = HoldMode::Refuse;
    let r = s.command(|r| Command::Hold(amina, id, true, r)).await;
    assert!(matches!(r, Err(EngineError::Invalid(_))), "{r:?}");
    assert!(!s.actor.calls[&id].on_hold);
    assert!(s.actor.calls[&id].hold_pending.is_none());
    assert!(!s.kinds(id).contains(&"held"));
    s.hold = HoldMode::Accept;
    let r = s.command(|r| Command::Hold(amina, id, true, r)).await;
    r.unwrap();
    assert!(s.actor.calls[&id].on_hold);
    assert!(s.kinds(id).contains(&"held"));
}

#[tokio::test]
async fn a_hold_never_answered_blocks_nothing_else() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina", "koffi"]).await;
    let amina = s.agents[0];
    let koffi = s.agents[1];
    s.incoming(1, "sales").await;
    let id = s.opened()[0];
    let (user, leg) = s.rung()[0].clone();
    let holder = if user == "amina" { amina } else { koffi };
    s.answered(leg).await;
    s.hold = HoldMode::Never;
    let (tx, mut rx) = oneshot::channel();
    s.input(Input::Command(Command::Hold(holder, id, true, tx)))
        .await;
    assert!(
        rx.try_recv().is_err(),
        "no answer while the far end is silent"
    );
    assert_eq!(s.actor.calls[&id].hold_pending, Some(true));
    assert!(!s.actor.calls[&id].on_hold, "on hold only after the 200");
    // Meanwhile: a second call is answered and routed to the other agent.
    s.incoming(2, "sales").await;
    let second = s.rung()[1].clone();
    assert_ne!(second.0, user);
    s.answered(second.1).await;
    assert!(s.ops.contains(&VoiceOp::Bridge(LegId(2), second.1)));
    // The far end's answer finally comes (Timer B: a failure).
    let pending = s.unanswered.pop().unwrap();
    let Internal::Voice { op, .. } = pending else {
        unreachable!()
    };
    s.input(Input::Internal(Internal::Voice {
        op,
        result: VoiceResult::Done(Err(VoiceError::Refused(408))),
    }))
    .await;
    assert!(matches!(rx.try_recv(), Ok(Err(EngineError::Invalid(_)))));
    assert!(!s.actor.calls[&id].on_hold);
    assert!(s.actor.calls[&id].hold_pending.is_none());
}

// --- Outbound campaigns (issue 15) -------------------------------------

impl Shell {
    /// The trunk legs dialled so far, as `(number, leg)`, in order.
    fn dialled(&self) -> Vec<(String, LegId)> {
        let mut leg = 1000;
        self.ops
            .iter()
            .filter_map(|op| match op {
                VoiceOp::Originate { .. } => {
                    leg += 1;
                    None
                }
                VoiceOp::OriginateTrunk { number, .. } => {
                    leg += 1;
                    Some((number.clone(), LegId(leg)))
                }
                _ => None,
            })
            .collect()
    }

    async fn start_campaign(
        &mut self,
        mode: dialer::DialMode,
        numbers: &[&str],
    ) -> crate::DialCampaignId {
        let contacts = numbers
            .iter()
            .enumerate()
            .map(|(i, n)| dialer::Contact {
                id: dialer::ContactId(i as i64 + 1),
                number: PhoneNumber::try_from(n.to_string()).unwrap(),
                tz: jiff::tz::TimeZone::UTC,
                consent: dialer::Consent::Given,
                customer: None,
            })
            .collect();
        let queue = self.queue;
        let c = crate::DialCampaign {
            name: "relance".into(),
            queue,
            trunk: "operator".into(),
            caller_id: Some("+22921000000".into()),
            settings: crate::DialSettings {
                mode: match mode {
                    dialer::DialMode::Preview { .. } => crate::DialModeSetting::Preview,
                    dialer::DialMode::Progressive => crate::DialModeSetting::Progressive,
                    _ => crate::DialModeSetting::Predictive,
                },
                window: crate::WindowSetting::Always,
                ring_timeout_s: 20,
                preview_auto_dial_s: None,
                follow_up_sms: Some("Appel manqué ({{reason}}) au {{number}}".into()),
                script: Some("Bonjour {{name}}, ici {{campaign}}.".into()),
            },
            contacts,
        };
        self.command(|r| Command::StartCampaign(Box::new(c), r))
            .await
            .unwrap()
    }

    /// `agent` sets the first disposition code (created if none) on `id`;
    /// the code used, or the engine's refusal.
    async fn dispose(
        &mut self,
        agent: AgentId,
        id: InteractionId,
    ) -> Result<Disposition, EngineError> {
        let code = match self.store.list_dispositions().await.unwrap().first() {
            Some(d) => d.clone(),
            None => self
                .store
                .create_disposition("sale", "Vente")
                .await
                .unwrap(),
        };
        let c = code.clone();
        self.command(|reply| Command::Disposition {
            agent,
            interaction: id,
            code: c.code,
            code_id: c.id,
            notes: None,
            stored: None,
            reply,
        })
        .await
        .map(|()| code)
    }

    async fn stats(&mut self) -> crate::CampaignStats {
        self.command(Command::CampaignStats).await.remove(0)
    }
}

#[tokio::test]
async fn a_progressive_campaign_connects_a_live_answer_to_the_free_agent() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    let amina = s.agents[0];
    // The first number belongs to a known customer: the pop shows them.
    let awa = s
        .store
        .create_customer(
            &NewCustomer {
                name: "Awa Diallo".into(),
                phones: vec![PhoneNumber::try_from("+22997000001".to_string()).unwrap()],
                ..Default::default()
            },
            s.now,
        )
        .await
        .unwrap();
    s.start_campaign(
        dialer::DialMode::Progressive,
        &["+22997000001", "+22997000002"],
    )
    .await;
    s.advance(1_000).await;
    let dialled = s.dialled();
    assert_eq!(dialled.len(), 1, "one call per free agent: {:?}", s.ops);
    assert_eq!(dialled[0].0, "+22997000001");
    let (_, leg) = dialled[0].clone();
    let id = s.opened()[0];
    s.advance(6_000).await;
    s.answered(leg).await;
    // The live answer goes to amina through the ACD: her phone rings.
    let rung = s.rung();
    assert_eq!(rung.len(), 1, "{:?}", s.ops);
    assert_eq!(rung[0].0, "amina");
    let pushes = s.pushes_to(amina);
    let pop = pushes
        .iter()
        .find_map(|p| match p {
            Push::Offer {
                interaction_id,
                screen_pop,
                ..
            } if *interaction_id == id => Some(screen_pop.clone()),
            _ => None,
        })
        .expect("screen-pop of the campaign call");
    assert_eq!(pop.customer.as_ref().map(|c| c.id), Some(awa.id));
    let card = pop.campaign.expect("the outbound card");
    assert_eq!((card.name.as_str(), card.attempt), ("relance", 1));
    assert_eq!(
        card.script.as_deref(),
        Some("Bonjour Awa Diallo, ici relance.")
    );
    s.answered(rung[0].1).await;
    assert!(s.ops.contains(&VoiceOp::Bridge(leg, rung[0].1)));
    let st = s.stats().await;
    assert_eq!((st.dialed, st.live, st.connected), (1, 1, 1));
    assert_eq!(s.dialled().len(), 1, "no second call while amina talks");
    s.advance(30_000).await;
    s.hung_up(leg, HangupCause::RemoteBye).await;
    s.dispose(amina, id).await.unwrap();
    // Amina is free again (disposition ends the wrap-up): the next contact.
    s.advance(1_000).await;
    let dialled = s.dialled();
    assert_eq!(dialled.len(), 2, "{:?}", s.ops);
    assert_eq!(dialled[1].0, "+22997000002");
    assert_eq!(s.kinds(id).first(), Some(&"interaction_created"));
    assert!(s.kinds(id).contains(&"answered"));
}

#[tokio::test]
async fn a_campaign_call_its_agent_lets_ring_out_is_abandoned_with_the_message() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    s.start_campaign(dialer::DialMode::Progressive, &["+22997000001"])
        .await;
    s.advance(1_000).await;
    let (_, leg) = s.dialled()[0].clone();
    let id = s.opened()[0];
    s.advance(6_000).await;
    s.answered(leg).await;
    assert_eq!(s.rung().len(), 1, "{:?}", s.ops);
    let st = s.stats().await;
    assert_eq!((st.live, st.connected), (1, 0), "ringing at the agent only");
    // amina lets it ring out: 20 s ring time-out, RONA.
    s.advance(20_000).await;
    assert!(s.kinds(id).contains(&"rona"), "{:?}", s.kinds(id));
    assert!(
        s.ops
            .iter()
            .any(|o| matches!(o, VoiceOp::Play { leg: l, .. } if *l == leg)),
        "the abandon message to the person: {:?}",
        s.ops
    );
    let st = s.stats().await;
    assert_eq!((st.connected, st.abandoned), (0, 1));
    let kinds = s.kinds(id);
    assert!(kinds.contains(&"abandoned"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"ended"), "{kinds:?}");
    // The person's hang-up after the message changes nothing.
    s.hung_up(leg, HangupCause::RemoteBye).await;
    assert_eq!(s.stats().await.abandoned, 1);
}

/// The previews and preview ends pushed to `agent`: (number or reason).
fn preview_pushes(pushes: &[Push]) -> Vec<String> {
    pushes
        .iter()
        .filter_map(|p| match p {
            Push::Preview { number, .. } => Some(format!("preview {number}")),
            Push::PreviewEnded { reason, .. } => Some(format!("ended {reason}")),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_preview_campaign_shows_the_contact_and_dials_on_the_agent_click() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    let amina = s.agents[0];
    s.start_campaign(
        dialer::DialMode::Preview { auto_dial_s: None },
        &["+22997000001", "+22997000002"],
    )
    .await;
    s.advance(1_000).await;
    assert!(
        s.dialled().is_empty(),
        "nothing dialled before the agent decides"
    );
    let p = s.pushes_to(amina);
    assert_eq!(preview_pushes(&p), ["preview +22997000001"]);
    // Skip: the next contact at once.
    let r = s
        .command(|r| Command::Preview(amina, crate::PreviewChoice::Skip, r))
        .await;
    r.unwrap();
    let p = s.pushes_to(amina);
    assert_eq!(
        preview_pushes(&p),
        ["ended skipped", "preview +22997000002"]
    );
    assert!(s.dialled().is_empty());
    // Call: dialled now, the card goes.
    let r = s
        .command(|r| Command::Preview(amina, crate::PreviewChoice::Call, r))
        .await;
    r.unwrap();
    assert_eq!(s.dialled().len(), 1, "{:?}", s.ops);
    assert_eq!(s.dialled()[0].0, "+22997000002");
    assert_eq!(preview_pushes(&s.pushes_to(amina)), ["ended dialled"]);
    // Nothing previewed any more.
    let r = s
        .command(|r| Command::Preview(amina, crate::PreviewChoice::Call, r))
        .await;
    assert!(matches!(r, Err(EngineError::Invalid(_))), "{r:?}");
}

#[tokio::test]
async fn a_preview_is_taken_back_when_the_agent_pauses() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    let amina = s.agents[0];
    s.start_campaign(
        dialer::DialMode::Preview { auto_dial_s: None },
        &["+22997000001"],
    )
    .await;
    s.advance(1_000).await;
    assert_eq!(
        preview_pushes(&s.pushes_to(amina)),
        ["preview +22997000001"]
    );
    let r = s
        .command(|r| Command::State(amina, crate::AgentRequest::Pause("break".into()), r))
        .await;
    r.unwrap();
    assert_eq!(preview_pushes(&s.pushes_to(amina)), ["ended released"]);
    let r = s
        .command(|r| Command::Preview(amina, crate::PreviewChoice::Call, r))
        .await;
    assert!(r.is_err());
    assert!(s.dialled().is_empty());
}

#[tokio::test]
async fn the_abandon_rate_the_cap_checks_survives_a_restart() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    let amina = s.agents[0];
    s.start_campaign(dialer::DialMode::Progressive, &["+22997000001"])
        .await;
    s.advance(1_000).await;
    let (_, leg) = s.dialled()[0].clone();
    // amina pauses before the answer: nobody takes it within 2 s.
    let r = s
        .command(|r| Command::State(amina, crate::AgentRequest::Pause("break".into()), r))
        .await;
    r.unwrap();
    s.answered(leg).await;
    s.advance(2_001).await;
    let st = s.stats().await;
    assert_eq!((st.live, st.abandoned), (1, 1));
    assert_eq!(st.abandon_24h_pct, 100.0);
    // A restart: the campaigns are read back from the store.
    let stored = super::campaigns::load_campaigns(&*s.store).await;
    s.actor.campaigns.clear();
    s.actor.restore_campaigns(stored);
    let st = s.stats().await;
    assert_eq!((st.live, st.abandoned), (1, 1));
    assert_eq!(
        (st.abandon_24h_pct, st.abandon_period_pct),
        (100.0, 100.0),
        "the rate goes on, not from zero"
    );
    // A day later the abandon is out of the rolling 24 h, not of the period.
    s.advance(24 * 3_600_000).await;
    let st = s.stats().await;
    assert_eq!((st.abandon_24h_pct, st.abandon_period_pct), (0.0, 100.0));
}

#[tokio::test]
async fn the_survey_after_a_campaign_call_does_not_thank_them_for_calling() {
    let mut s = Shell::with(Strategy::LongestIdle, &["amina"], |c| {
        c.survey_queues = ["sales".to_string()].into();
    })
    .await;
    s.start_campaign(dialer::DialMode::Progressive, &["+22997000001"])
        .await;
    s.advance(1_000).await;
    let (_, leg) = s.dialled()[0].clone();
    s.answered(leg).await;
    let agent_leg = s.rung()[0].1;
    s.answered(agent_leg).await;
    s.hung_up(leg, HangupCause::RemoteBye).await;
    let surveys: Vec<String> = s
        .store
        .list_outbox(None, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.purpose == "survey")
        .map(|m| m.body)
        .collect();
    assert_eq!(surveys.len(), 1, "{surveys:?}");
    assert!(
        surveys[0].starts_with("Merci pour cet échange avec Démo Télécom."),
        "{surveys:?}"
    );
}

#[tokio::test]
async fn a_number_put_on_the_do_not_call_list_is_never_dialled_and_the_list_is_stored() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    s.start_campaign(
        dialer::DialMode::Progressive,
        &["+22997000001", "+22997000002"],
    )
    .await;
    // An opt-out (STOP by SMS) arrives before the first pacing tick.
    let n = PhoneNumber::try_from("+22997000001".to_string()).unwrap();
    s.command(|r| Command::DncAdded(n, r)).await;
    s.advance(1_000).await;
    let dialled = s.dialled();
    assert_eq!(dialled.len(), 1, "{:?}", s.ops);
    assert_eq!(dialled[0].0, "+22997000002");
    // The campaign and its list are in the store, with each contact's state.
    let rows = s.store.list_dial_campaigns().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, store::DialRunState::Running);
    let list = s.store.list_dial_contacts(rows[0].id).await.unwrap();
    let status: Vec<(&str, &str, i64)> = list
        .iter()
        .map(|c| {
            (
                c.number.as_str(),
                c.progress.status.as_str(),
                c.progress.attempts,
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("+22997000001", "closed:do_not_call", 0),
            ("+22997000002", "in_flight", 1)
        ]
    );
    assert!(
        rows[0].counters.contains("\"dialed\":1"),
        "{}",
        rows[0].counters
    );
}

#[tokio::test]
async fn a_campaign_call_nobody_answers_is_ended_and_counted() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    s.start_campaign(dialer::DialMode::Progressive, &["+22997000001"])
        .await;
    s.advance(1_000).await;
    let (_, leg) = s.dialled()[0].clone();
    let id = s.opened()[0];
    s.advance(20_000).await;
    s.hung_up(leg, HangupCause::NoAnswer).await;
    let st = s.stats().await;
    assert_eq!((st.dialed, st.no_answer, st.connected), (1, 1, 0));
    assert_eq!(s.kinds(id), ["interaction_created", "ended"]);
    assert!(s.rung().is_empty(), "no agent was rung");
    // The campaign's follow-up SMS, its placeholders filled.
    let sms: Vec<(String, String, String)> = s
        .store
        .list_outbox(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.recipient, m.body, m.purpose))
        .collect();
    assert_eq!(
        sms,
        [(
            "+22997000001".to_string(),
            "Appel manqué (pas de réponse) au +22997000001".to_string(),
            "campaign_follow_up".to_string()
        )]
    );
}

#[test]
fn campaign_texts_with_an_unknown_or_broken_placeholder_are_refused() {
    let settings = |t: &str| crate::DialSettings {
        mode: crate::DialModeSetting::Progressive,
        window: crate::WindowSetting::Always,
        ring_timeout_s: 20,
        preview_auto_dial_s: None,
        follow_up_sms: Some(t.into()),
        script: None,
    };
    assert_eq!(
        settings("Rappel {{reason}} {{ number }}").text_error(),
        None
    );
    assert_eq!(
        settings("Bonjour {{prenom}}").text_error().as_deref(),
        Some("follow_up_sms: unknown placeholder {{prenom}} (use reason, number)")
    );
    assert!(
        settings("oops {{reason")
            .text_error()
            .is_some_and(|e| e.starts_with("follow_up_sms: malformed placeholder"))
    );
    assert!(settings("  ").text_error().is_some());
    let mut with_script = settings("{{reason}}");
    with_script.script = Some("Bonjour {{name}} ({{reason}})".into());
    assert_eq!(
        with_script.text_error().as_deref(),
        Some("script: unknown placeholder {{reason}} (use name, number, campaign)")
    );
}

#[tokio::test]
async fn a_live_answer_with_no_agent_in_2_s_hears_the_abandon_message() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    let amina = s.agents[0];
    s.start_campaign(
        dialer::DialMode::Predictive,
        &["+22997000001", "+22997000002", "+22997000003"],
    )
    .await;
    s.advance(1_000).await;
    let first = s.dialled();
    assert!(!first.is_empty(), "predictive dials: {:?}", s.ops);
    // Amina pauses before the person answers: nobody can take the call.
    let r = s
        .command(|r| Command::State(amina, crate::AgentRequest::Pause("break".into()), r))
        .await;
    r.unwrap();
    s.answered(first[0].1).await;
    s.advance(2_001).await;
    assert!(
        s.ops
            .iter()
            .any(|o| matches!(o, VoiceOp::Play { leg, .. } if *leg == first[0].1)),
        "the abandon message plays: {:?}",
        s.ops
    );
    let st = s.stats().await;
    assert_eq!(st.abandoned, 1, "{st:?}");
    assert_eq!(st.connected, 0);
}

#[tokio::test]
async fn on_the_embedded_store_a_restart_frees_every_dialer_claim() {
    let s = Shell::new(Strategy::LongestIdle, &[]).await;
    let number = PhoneNumber::try_from("+22997000001".to_string()).unwrap();
    // A claim of the process that crashed a second ago.
    let t = super::now().add_millis(-1_000);
    assert!(s.store.claim_dial_number(&number, 1, t).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let cfg = EngineConfig {
        recordings_dir: dir.path().join("rec"),
        journal_dir: dir.path().join("journal"),
        ..EngineConfig::default()
    };
    let (push_tx, _push) = broadcast::channel(16);
    let (writer, _task) =
        crate::writer::EventWriter::start(s.store.clone(), cfg.journal_dir.clone(), 64)
            .await
            .unwrap();
    let flows = ivr::FlowSet::new(ivr::PromptCatalog::new());
    let _restarted = Actor::new(s.store.clone(), flows, cfg, push_tx, writer)
        .await
        .unwrap();
    assert!(
        s.store
            .claim_dial_number(&number, 1, super::now())
            .await
            .unwrap(),
        "the crashed process's claim is released at start"
    );
}

#[tokio::test]
async fn a_number_already_in_flight_is_not_dialled_twice() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    let number = PhoneNumber::try_from("+22997000001".to_string()).unwrap();
    // Another campaign (or node) has a call to this number on the wire.
    assert!(s.store.claim_dial_number(&number, 99, s.now).await.unwrap());
    s.start_campaign(dialer::DialMode::Progressive, &["+22997000001"])
        .await;
    s.advance(1_000).await;
    assert!(s.dialled().is_empty(), "not dialled: {:?}", s.ops);
    assert_eq!(s.stats().await.failed, 1);
    s.store.release_dial_number(&number).await.unwrap();

    // A call of ours holds the claim while it lives, and frees it at its end.
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    s.start_campaign(dialer::DialMode::Progressive, &["+22997000001"])
        .await;
    s.advance(1_000).await;
    let (_, leg) = s.dialled()[0].clone();
    assert!(
        !s.store.claim_dial_number(&number, 99, s.now).await.unwrap(),
        "claimed while the call rings"
    );
    s.hung_up(leg, HangupCause::Busy).await;
    assert!(
        s.store.claim_dial_number(&number, 99, s.now).await.unwrap(),
        "released when the attempt ended"
    );
}

#[tokio::test]
async fn when_every_agent_logs_out_the_campaign_stops_dialling() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina", "koffi"]).await;
    let numbers: Vec<String> = (1..=20).map(|i| format!("+229970{i:05}")).collect();
    let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
    s.start_campaign(dialer::DialMode::Predictive, &refs).await;
    s.advance(1_000).await;
    let before = s.dialled().len();
    assert!(before > 0, "it dials while agents are in: {:?}", s.ops);
    for a in s.agents.clone() {
        s.command(|r| Command::Logout(a, r)).await.unwrap();
    }
    s.advance(1_000).await;
    assert_eq!(
        s.dialled().len(),
        before,
        "no new call within 1 s of the last logout"
    );
    // A call already ringing that is answered now finds nobody: abandon rule.
    let (_, leg) = s.dialled()[0].clone();
    s.answered(leg).await;
    s.advance(2_001).await;
    assert!(
        s.ops
            .iter()
            .any(|o| matches!(o, VoiceOp::Play { leg: l, .. } if *l == leg)),
        "the abandon message: {:?}",
        s.ops
    );
    assert_eq!(s.stats().await.abandoned, 1);
    s.advance(60_000).await;
    assert_eq!(s.dialled().len(), before, "no new call later either");
}

#[tokio::test]
async fn a_campaign_whose_queue_no_agent_serves_waits() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    let q = s
        .store
        .create_queue(&NewQueue {
            name: "wolof".into(),
            required_skills: vec![SkillLevel {
                skill: "wolof".into(),
                level: 3,
            }],
            strategy: Strategy::LongestIdle,
            service_level: ServiceLevel::default(),
            wrap_up_s: 0,
            max_wait_s: 0,
            ring_timeout_s: 20,
            priority: 0,
        })
        .await
        .unwrap();
    s.command(|r| Command::QueueChanged(q.clone(), r))
        .await
        .unwrap();
    s.queue = q.id;
    s.start_campaign(dialer::DialMode::Predictive, &["+22997000001"])
        .await;
    s.advance(30_000).await;
    assert!(s.dialled().is_empty(), "nobody holds `wolof`: {:?}", s.ops);
    assert_eq!(s.stats().await.dialed, 0);
}

#[tokio::test]
async fn a_call_cancelled_before_the_answer_is_closed_as_abandoned() {
    let mut s = Shell::new(Strategy::LongestIdle, &[]).await;
    s.incoming(1, "menu").await;
    let id = s.opened()[0];
    s.hung_up(LegId(1), HangupCause::Cancelled).await;
    let ended = s.writes.iter().find_map(|w| match w {
        Write::Update { id: i, change, .. } if *i == id => change.end_reason.clone(),
        _ => None,
    });
    assert_eq!(ended.as_deref(), Some("abandoned"));
    assert!(s.actor.calls.is_empty(), "nothing left open");
    assert_eq!(s.kinds(id).last(), Some(&"ended"));
}

/// Issue 13 load shedding: with `max_calls_in_ivr` = 2, the third call to a
/// flow is refused with 503 before it is answered (no interaction opened);
/// calls to a queue entry point are never refused; once a call leaves the
/// IVR, a new flow call is taken again.
#[tokio::test]
async fn calls_over_the_ivr_limit_are_refused_before_the_answer() {
    let mut s = Shell::with(Strategy::LongestIdle, &[], |c| c.max_calls_in_ivr = Some(2)).await;
    s.incoming(1, "menu").await;
    s.incoming(2, "menu").await;
    assert_eq!(s.actor.calls_in_ivr(), 2);
    assert_eq!(s.opened().len(), 2);
    s.incoming(3, "menu").await;
    assert!(
        s.ops.contains(&VoiceOp::RefuseOverload(LegId(3))),
        "{:?}",
        s.ops
    );
    assert!(!s.ops.contains(&VoiceOp::Answer(LegId(3))));
    assert_eq!(s.opened().len(), 2, "no interaction for a refused call");
    // A queue entry point is not an IVR: taken even now.
    s.incoming(4, "sales").await;
    assert!(s.ops.contains(&VoiceOp::Answer(LegId(4))), "{:?}", s.ops);
    assert_eq!(s.opened().len(), 3);
    assert_eq!(s.actor.calls_in_ivr(), 2);
    // One IVR caller hangs up: room for one more.
    s.hung_up(LegId(1), HangupCause::RemoteBye).await;
    assert_eq!(s.actor.calls_in_ivr(), 1);
    s.incoming(5, "menu").await;
    assert!(s.ops.contains(&VoiceOp::Answer(LegId(5))), "{:?}", s.ops);
    assert!(!s.ops.contains(&VoiceOp::RefuseOverload(LegId(5))));
    assert_eq!(s.actor.calls_in_ivr(), 2);
}

/// Issue 17: the live "today" figures restart at local midnight in the
/// site's time zone. T0 is 22:26:40 in Paris (UTC+2 in May): the counters
/// of a call answered before are zero after 00:00 Paris (22:00 UTC), and the
/// next reset is 24 h later.
#[tokio::test]
async fn queue_figures_restart_at_local_midnight() {
    let mut s = Shell::with(Strategy::LongestIdle, &[], |c| {
        c.time_zone = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    })
    .await;
    s.incoming(1, "sales").await;
    let offered = |v: &[(String, routing::QueueStats)]| v[0].1.counters.entered;
    let before = s.command(Command::QueueStats).await;
    assert_eq!(offered(&before), 1);
    let midnight = Timestamp::parse_rfc3339("2026-05-28T22:00:00Z").unwrap();
    assert_eq!(
        s.actor.day_ends_at,
        Some(midnight),
        "the core wakes at 00:00 Paris"
    );
    // One minute before midnight: still today.
    s.advance(midnight.millis_since(s.now) - 60_000).await;
    assert_eq!(offered(&s.command(Command::QueueStats).await), 1);
    s.advance(120_000).await;
    assert_eq!(offered(&s.command(Command::QueueStats).await), 0);
    assert_eq!(s.actor.day_ends_at, Some(midnight.add_millis(86_400_000)));
}

/// Issue 16: a supervisor's request on a call not yet connected is
/// refused; once amina talks, Listen rings the supervisor's phone and joins
/// it when answered (`monitoring_started`); a second supervisor is refused;
/// Whisper switches mode on the same leg (no new call); stop hangs the
/// supervisor's phone up and its end is `monitoring_ended`.
#[tokio::test]
async fn a_supervisor_listens_whispers_and_leaves() {
    use domain::SupervisionMode::{Barge, Listen, Whisper};
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    s.incoming(1, "sales").await;
    let id = s.opened()[0];
    let supervise = |who: &str, interaction: InteractionId, mode| {
        let supervisor = who.to_string();
        move |reply| Command::Supervise {
            phone: supervisor.clone(),
            supervisor,
            interaction,
            mode,
            reply,
        }
    };
    let r = s.command(supervise("sophie", id, Listen)).await;
    assert!(matches!(r, Err(EngineError::Invalid(_))), "ringing: {r:?}");
    let agent_leg = s.rung()[0].1;
    s.answered(agent_leg).await;
    let r = s
        .command(supervise("sophie", InteractionId(999_999), Listen))
        .await;
    assert!(
        matches!(r, Err(EngineError::UnknownInteraction(_))),
        "{r:?}"
    );

    s.command(supervise("sophie", id, Listen)).await.unwrap();
    assert!(
        s.ops
            .iter()
            .any(|o| matches!(o, VoiceOp::Originate { user, .. } if user == "sophie")),
        "{:?}",
        s.ops
    );
    let sup_leg = LegId(s.next_leg);
    s.answered(sup_leg).await;
    assert!(s.ops.contains(&VoiceOp::Supervise {
        agent: agent_leg,
        supervisor: sup_leg,
        mode: Listen
    }));
    assert!(s.kinds(id).contains(&"monitoring_started"));

    let r = s.command(supervise("chief", id, Barge)).await;
    assert!(matches!(r, Err(EngineError::Invalid(_))), "{r:?}");

    let calls_before = s.next_leg;
    s.command(supervise("sophie", id, Whisper)).await.unwrap();
    assert_eq!(s.next_leg, calls_before, "no new call to switch mode");
    assert!(s.ops.contains(&VoiceOp::Supervise {
        agent: agent_leg,
        supervisor: sup_leg,
        mode: Whisper
    }));
    assert!(s.kinds(id).contains(&"monitoring_mode_changed"));

    s.command(|reply| Command::StopSupervising {
        supervisor: "sophie".into(),
        interaction: id,
        reply,
    })
    .await
    .unwrap();
    assert!(s.ops.contains(&VoiceOp::HangUp(sup_leg)));
    s.hung_up(sup_leg, HangupCause::Local).await;
    assert_eq!(s.kinds(id).last(), Some(&"monitoring_ended"));
    // The call itself goes on: amina and the caller are still bridged.
    assert!(s.actor.calls.contains_key(&id));
}

/// Issue 16: take over. Only the supervisor on the call may; then the
/// agent's phone is hung up and amina goes to wrap-up on this interaction
/// (`taken_over` in its timeline) while the customer stays with the
/// supervisor; the call ends when either of them hangs up, with no second
/// wrap-up.
#[tokio::test]
async fn a_supervisor_takes_the_call_over_and_the_agent_goes_to_wrap_up() {
    let mut s = Shell::new(Strategy::LongestIdle, &["amina"]).await;
    let amina = s.agents[0];
    s.incoming(1, "sales").await;
    let id = s.opened()[0];
    let agent_leg = s.rung()[0].1;
    s.answered(agent_leg).await;
    let take_over = |who: &str| {
        let supervisor = who.to_string();
        move |reply| Command::TakeOver {
            supervisor,
            interaction: id,
            reply,
        }
    };
    let r = s.command(take_over("sophie")).await;
    assert!(
        matches!(r, Err(EngineError::Invalid(_))),
        "not monitoring: {r:?}"
    );
    s.command(|reply| Command::Supervise {
        supervisor: "sophie".into(),
        phone: "sophie".into(),
        interaction: id,
        mode: domain::SupervisionMode::Whisper,
        reply,
    })
    .await
    .unwrap();
    let sup_leg = LegId(s.next_leg);
    s.answered(sup_leg).await;
    let r = s.command(take_over("chief")).await;
    assert!(matches!(r, Err(EngineError::Invalid(_))), "{r:?}");
    s.pushes_to(amina);

    s.command(take_over("sophie")).await.unwrap();
    assert!(s.ops.contains(&VoiceOp::TakeOver(sup_leg)), "{:?}", s.ops);
    assert!(s.ops.contains(&VoiceOp::HangUp(agent_leg)), "{:?}", s.ops);
    let kinds = s.kinds(id);
    assert!(kinds.contains(&"taken_over"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "wrap_up_started").count(), 1);
    let pushes = s.pushes_to(amina);
    assert!(
        pushes.iter().any(|p| matches!(p, Push::Ended { interaction_id, reason } if *interaction_id == id && reason == "taken_over")),
        "{pushes:?}"
    );
    assert!(
        pushes
            .iter()
            .any(|p| matches!(p, Push::AgentState { state, .. } if state == "wrap_up")),
        "{pushes:?}"
    );
    // The agent's phone going down does not end the call.
    s.hung_up(agent_leg, HangupCause::Local).await;
    assert!(!s.kinds(id).contains(&"ended"), "{:?}", s.kinds(id));
    // amina's disposition ends her wrap-up, not the call.
    let code = s.dispose(amina, id).await.unwrap();
    assert!(s.actor.calls.contains_key(&id), "the call goes on");
    // A mode switch makes no sense any more.
    let r = s
        .command(|reply| Command::Supervise {
            supervisor: "sophie".into(),
            phone: "sophie".into(),
            interaction: id,
            mode: domain::SupervisionMode::Listen,
            reply,
        })
        .await;
    assert!(matches!(r, Err(EngineError::Invalid(_))), "{r:?}");
    // The customer hangs up: the call ends, the supervisor's phone with it.
    s.hung_up(LegId(1), HangupCause::RemoteBye).await;
    let kinds = s.kinds(id);
    assert_eq!(kinds.last(), Some(&"ended"), "{kinds:?}");
    assert!(s.ops.contains(&VoiceOp::HangUp(sup_leg)));
    assert_eq!(kinds.iter().filter(|k| **k == "wrap_up_started").count(), 1);
    // The row is closed with amina's code on it.
    let ended = s.writes.iter().rev().find_map(|w| match w {
        Write::Update {
            id: w_id, change, ..
        } if *w_id == id && change.ended_at.is_some() => Some(change.clone()),
        _ => None,
    });
    let ended = ended.expect("the call's end is written");
    assert_eq!(ended.disposition.as_deref(), Some(code.code.as_str()));
}

/// A web chat conversation served by the bot (issue 20): its answer is
/// queued in the outbox as a `bot_replied`; above `max_sessions` a new
/// conversation goes to the ACD at once (the overflow policy); a
/// conversation left idle is closed as contained (`bot_completed`).
#[tokio::test]
async fn bot_answers_overflows_to_the_acd_and_closes_idle_conversations() {
    let kb = bot::KnowledgeBase::from_toml(
        r#"
[[article]]
id = "hours.fr"
lang = "fr"
questions = ["Quelles sont vos heures d'ouverture ?", "Quand vos boutiques sont-elles ouvertes ?"]
answer = "Nos boutiques sont ouvertes du lundi au samedi, de 8 h à 19 h."
"#,
    )
    .unwrap();
    let mut s = Shell::with(Strategy::LongestIdle, &["amina"], |c| {
        c.bot = Some(crate::BotWiring {
            channels: [Channel::Webchat].into(),
            retriever: Arc::new(bot::Retriever::new(kb)),
            config: Arc::new(bot::BotConfig {
                min_score: 0.5,
                ..bot::BotConfig::default()
            }),
            idle_close_ms: 60_000,
            max_sessions: 1,
        });
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let i = store::open_interaction(
            &*s.store,
            &store::NewInteraction {
                channel: Channel::Webchat,
                direction: Direction::Inbound,
                customer_id: None,
                queue_id: None,
                agent_id: None,
                started_at: s.now,
            },
            vec![],
        )
        .await
        .unwrap();
        open.push(i);
    }
    let queue = s.queue;
    for (n, i) in open.iter().enumerate() {
        let conversation = Box::new(super::Prefetched {
            interaction: i.clone(),
            customer: None,
            history: vec![],
        });
        let r = s
            .command(|reply| Command::StartConversation {
                conversation,
                queue,
                address: format!("visitor-000{n}-abc"),
                text: "quand vos boutiques sont-elles ouvertes ?".into(),
                reply,
            })
            .await;
        r.unwrap();
    }
    let (first, second) = (open[0].id, open[1].id);
    assert_eq!(s.kinds(first), ["bot_replied"]);
    let outbox = s
        .store
        .latest_outbox_to("visitor-0000-abc", "bot_reply", Timestamp::from_millis(0))
        .await
        .unwrap()
        .expect("the bot's answer in the outbox");
    assert!(
        outbox
            .body
            .starts_with("Nos boutiques sont ouvertes du lundi au samedi"),
        "{}",
        outbox.body
    );
    // The bot is full: the second conversation is queued and offered.
    assert!(s.actor.bots.contains_key(&first) && !s.actor.bots.contains_key(&second));
    assert_eq!(s.kinds(second), ["queued", "offered"]);

    s.advance(59_000).await;
    assert!(s.actor.bots.contains_key(&first));
    s.advance(1_000).await;
    assert!(s.actor.bots.is_empty());
    assert_eq!(s.kinds(first), ["bot_replied", "ended"]);
    let ended = s.writes.iter().any(|w| {
        matches!(w, Write::Update { id, change, .. }
            if *id == first && change.end_reason.as_deref() == Some("bot_completed"))
    });
    assert!(ended, "the row is closed as contained");
}

/// Issue 20: a conversation the ACD routes (a restart's re-queue of what
/// the bot had handed over) is never the bot's again: its next messages go
/// to the agent without a `bot_replied`, and the stored hand-over record
/// is on the offer's screen-pop. A knowledge-base index handed in as an
/// input serves the next conversation; a one-time code wait is reported.
#[tokio::test]
async fn requeued_conversations_skip_the_bot_and_a_new_index_serves_the_next_one() {
    let kb = |answer: &str| {
        Arc::new(bot::Retriever::new(
            bot::KnowledgeBase::from_toml(&format!(
                "[[article]]\nid = \"hours.fr\"\nlang = \"fr\"\n\
                 questions = [\"Quelles sont vos heures d'ouverture ?\"]\nanswer = \"{answer}\"\n"
            ))
            .unwrap(),
        ))
    };
    let mut s = Shell::with(Strategy::LongestIdle, &["amina"], |c| {
        c.bot = Some(crate::BotWiring {
            channels: [Channel::Webchat].into(),
            retriever: kb("De 8 h à 19 h."),
            config: Arc::new(bot::BotConfig {
                min_score: 0.5,
                ..bot::BotConfig::default()
            }),
            idle_close_ms: 600_000,
            max_sessions: 10,
        });
    })
    .await;
    let amina = s.agents[0];
    let queue = s.queue;
    let open = |s: &Shell| {
        let store = s.store.clone();
        let now = s.now;
        async move {
            store::open_interaction(
                &*store,
                &store::NewInteraction {
                    channel: Channel::Webchat,
                    direction: Direction::Inbound,
                    customer_id: None,
                    queue_id: None,
                    agent_id: None,
                    started_at: now,
                },
                vec![],
            )
            .await
            .unwrap()
        }
    };
    let start = |i: &Interaction, text: &str| {
        let conversation = Box::new(super::Prefetched {
            interaction: i.clone(),
            customer: None,
            history: vec![],
        });
        let text = text.to_string();
        move |reply| Command::StartConversation {
            conversation,
            queue,
            address: "visitor-0001-abc".into(),
            text,
            reply,
        }
    };

    // The bot has the first conversation; a re-queue (what `serve` does at
    // start for open conversations) hands it to the ACD with the record.
    let first = open(&s).await;
    s.command(start(&first, "quelles sont vos heures d'ouverture ?"))
        .await
        .unwrap();
    assert!(s.actor.bots.contains_key(&first.id));
    let pop = crate::push::BotPop {
        reason: "customer_asked".into(),
        intent: "faq:hours.fr".into(),
        articles_tried: vec!["hours.fr".into()],
        transcript: vec![],
    };
    let conversation = Box::new(super::Prefetched {
        interaction: first.clone(),
        customer: None,
        history: vec![],
    });
    s.command(|reply| Command::RouteConversation {
        conversation,
        queue,
        address: "visitor-0001-abc".into(),
        bot: Some(Box::new(pop)),
        reply,
    })
    .await
    .unwrap();
    assert!(!s.actor.bots.contains_key(&first.id), "the bot let go");
    let offered = s
        .pushes_to(amina)
        .into_iter()
        .find_map(|p| match p {
            Push::Offer {
                interaction_id,
                screen_pop,
                ..
            } if interaction_id == first.id => Some(screen_pop),
            _ => None,
        })
        .expect("offered to amina");
    assert_eq!(
        offered.bot.map(|b| b.intent).as_deref(),
        Some("faq:hours.fr")
    );
    s.command(|reply| Command::Offer {
        agent: amina,
        interaction: first.id,
        accept: true,
        reply,
    })
    .await
    .unwrap();
    s.command(|reply| Command::ConversationMessage {
        interaction: first.id,
        text: "quelles sont vos heures d'ouverture ?".into(),
        reply,
    })
    .await
    .unwrap();
    assert_eq!(
        s.kinds(first.id)
            .iter()
            .filter(|k| **k == "bot_replied")
            .count(),
        1,
        "only the answer before the re-queue: {:?}",
        s.kinds(first.id)
    );
    assert!(
        s.pushes_to(amina).iter().any(
            |p| matches!(p, Push::Message { interaction_id, .. } if *interaction_id == first.id)
        ),
        "the agent gets the message"
    );
    // Starting it again (a duplicate start) does not wake the bot either.
    s.command(start(&first, "bonjour")).await.unwrap();
    assert!(!s.actor.bots.contains_key(&first.id));

    // A new index: the next conversation is answered from it.
    let n = s
        .command(|reply| Command::BotIndex(kb("Nouveaux horaires : 7 h à 20 h."), reply))
        .await
        .unwrap();
    assert_eq!(n, 0, "no live bot session");
    let second = open(&s).await;
    s.command(start(&second, "quelles sont vos heures d'ouverture ?"))
        .await
        .unwrap();
    let body = s
        .store
        .latest_outbox_to("visitor-0001-abc", "bot_reply", Timestamp::from_millis(0))
        .await
        .unwrap()
        .expect("the bot's answer")
        .body;
    assert!(body.starts_with("Nouveaux horaires"), "{body}");
    let waits = s
        .command(|reply| Command::BotAwaitsCode(second.id, reply))
        .await;
    assert!(!waits, "no code asked");
}
