//! A synthetic event log: `calls` interactions spread over a period, with
//! every kind of outcome, for the reconciliation test and the benchmark.
//! Deterministic (xorshift seeded by the caller).

use domain::event::AgentState;
use domain::{
    AgentId, Channel, CustomerId, Direction, Event, EventKind, InteractionId, QueueId, Timestamp,
};

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `calls` interactions between `from` and `to` (ms), `agents` agents,
/// 4 queues; sorted by time.
pub fn synth(seed: u64, from: Timestamp, to: Timestamp, calls: u64, agents: i64) -> Vec<Event> {
    let mut rng = Rng::new(seed);
    let span = to.millis_since(from).max(1) as u64;
    let mut out: Vec<Event> = Vec::with_capacity(calls as usize * 11);
    let push =
        |out: &mut Vec<Event>, at: Timestamp, i: i64, c: Option<i64>, a: Option<i64>, kind| {
            out.push(Event {
                seq: 0,
                at,
                interaction_id: (i != 0).then_some(InteractionId(i)),
                customer_id: c.map(CustomerId),
                agent_id: a.map(AgentId),
                kind,
            })
        };
    for n in 0..calls {
        let id = n as i64 + 1;
        let t0 = from.add_millis((n * span / calls) as i64);
        let cust = Some(rng.below(calls / 3 + 1) as i64 + 1);
        let q = rng.below(4) as i64 + 1;
        let digital = rng.below(10) == 0;
        let ch = if digital {
            Channel::Webchat
        } else {
            Channel::Voice
        };
        let mut t = t0;
        let mut s = |ms: u64, rng: &mut Rng| {
            t = t.add_millis((ms + rng.below(ms + 1)) as i64);
            t
        };
        push(
            &mut out,
            t0,
            id,
            cust,
            None,
            EventKind::InteractionCreated {
                channel: ch,
                direction: Direction::Inbound,
            },
        );
        if digital {
            push(
                &mut out,
                t0,
                id,
                cust,
                None,
                EventKind::MessageIn {
                    text: String::new(),
                },
            );
        } else {
            let at = s(2_000, &mut rng);
            push(
                &mut out,
                at,
                id,
                cust,
                None,
                EventKind::IvrStep {
                    flow: String::new(),
                    node: String::new(),
                    digits: None,
                },
            );
        }
        let r = rng.below(100);
        if r < 5 {
            let at = s(10_000, &mut rng);
            push(
                &mut out,
                at,
                id,
                cust,
                None,
                EventKind::Ended {
                    reason: "ivr_completed".into(),
                },
            );
            continue;
        }
        let queued_at = s(1_000, &mut rng);
        push(
            &mut out,
            queued_at,
            id,
            cust,
            None,
            EventKind::Queued {
                queue_id: QueueId(q),
                priority: 0,
            },
        );
        if r < 15 {
            let at = s(if r < 8 { 1_000 } else { 30_000 }, &mut rng);
            let w = at.millis_since(queued_at);
            push(
                &mut out,
                at,
                id,
                cust,
                None,
                EventKind::Abandoned {
                    queue_id: QueueId(q),
                    waited_ms: w,
                    short: w < 5_000,
                },
            );
            push(
                &mut out,
                at,
                id,
                cust,
                None,
                EventKind::Ended {
                    reason: "abandoned".into(),
                },
            );
            continue;
        }
        if r < 17 {
            let at = s(30_000, &mut rng);
            push(
                &mut out,
                at,
                id,
                cust,
                None,
                EventKind::CallbackRequested {
                    queue_id: QueueId(q),
                    number: String::new(),
                },
            );
            push(
                &mut out,
                at,
                id,
                cust,
                None,
                EventKind::Ended {
                    reason: "callback_requested".into(),
                },
            );
            continue;
        }
        let mut agent = rng.below(agents as u64) as i64 + 1;
        if rng.below(20) == 0 {
            let at = s(5_000, &mut rng);
            push(
                &mut out,
                at,
                id,
                cust,
                Some(agent),
                EventKind::Offered {
                    queue_id: QueueId(q),
                },
            );
            let at = s(15_000, &mut rng);
            push(
                &mut out,
                at,
                id,
                cust,
                Some(agent),
                EventKind::Rona {
                    queue_id: QueueId(q),
                },
            );
            agent = agent % agents + 1;
        }
        let at = s(8_000, &mut rng);
        push(
            &mut out,
            at,
            id,
            cust,
            Some(agent),
            EventKind::Answered {
                queue_id: Some(QueueId(q)),
                waited_ms: at.millis_since(queued_at),
            },
        );
        if digital {
            let at = s(20_000, &mut rng);
            push(
                &mut out,
                at,
                id,
                cust,
                Some(agent),
                EventKind::MessageOut {
                    text: String::new(),
                },
            );
        } else if rng.below(3) == 0 {
            let at = s(30_000, &mut rng);
            push(&mut out, at, id, cust, Some(agent), EventKind::Held);
            let at = s(20_000, &mut rng);
            push(&mut out, at, id, cust, Some(agent), EventKind::Unheld);
        }
        if rng.below(10) == 0 {
            let at = s(40_000, &mut rng);
            push(
                &mut out,
                at,
                id,
                cust,
                Some(agent),
                EventKind::Transferred {
                    to_queue: Some(QueueId(q % 4 + 1)),
                    to_agent: None,
                },
            );
            push(
                &mut out,
                at,
                id,
                cust,
                None,
                EventKind::Queued {
                    queue_id: QueueId(q % 4 + 1),
                    priority: 0,
                },
            );
            agent = agent % agents + 1;
            let at = s(5_000, &mut rng);
            push(
                &mut out,
                at,
                id,
                cust,
                Some(agent),
                EventKind::Answered {
                    queue_id: Some(QueueId(q % 4 + 1)),
                    waited_ms: 5_000,
                },
            );
        }
        let end = s(90_000, &mut rng);
        push(
            &mut out,
            end,
            id,
            cust,
            Some(agent),
            EventKind::Ended {
                reason: "completed".into(),
            },
        );
        if !digital {
            push(
                &mut out,
                end,
                id,
                None,
                Some(agent),
                EventKind::WrapUpStarted,
            );
            let at = s(10_000, &mut rng);
            push(&mut out, at, id, None, Some(agent), EventKind::WrapUpEnded);
        }
        if rng.below(5) == 0 {
            let at = s(60_000, &mut rng);
            push(
                &mut out,
                at,
                id,
                cust,
                None,
                EventKind::SurveyAnswered {
                    score: rng.below(5) as u8 + 1,
                },
            );
        }
        if rng.below(50) == 0 {
            let at = s(60_000, &mut rng);
            push(
                &mut out,
                at,
                0,
                None,
                Some(agent),
                EventKind::AgentStateChanged {
                    state: AgentState::Paused,
                    reason: Some(["lunch", "break", "training"][rng.below(3) as usize].into()),
                },
            );
            let at = s(600_000, &mut rng);
            push(
                &mut out,
                at,
                0,
                None,
                Some(agent),
                EventKind::AgentStateChanged {
                    state: AgentState::Available,
                    reason: None,
                },
            );
        }
    }
    out.sort_by_key(|e| e.at);
    for (i, e) in out.iter_mut().enumerate() {
        e.seq = i as i64 + 1;
    }
    out
}
