//! Shared helpers of the reports tests: a script of events, and the
//! scripted golden day.
#![allow(dead_code)]

pub mod synth;

use domain::event::AgentState;
use domain::{
    AgentId, Channel, CustomerId, Direction, Event, EventKind, InteractionId, QueueId, Timestamp,
};
use reports::{Report, Tally};

/// Builds an event log in order, with seq numbers.
pub struct Script {
    pub base: Timestamp,
    pub events: Vec<Event>,
}

impl Script {
    pub fn new(base: &str) -> Self {
        Self {
            base: Timestamp::parse_rfc3339(base).unwrap(),
            events: Vec::new(),
        }
    }

    /// An event `s` seconds after the base, on interaction `i` (0 = none).
    pub fn at(&mut self, s: i64, i: i64, cust: Option<i64>, agent: Option<i64>, kind: EventKind) {
        let seq = self.events.len() as i64 + 1;
        self.events.push(Event {
            seq,
            at: self.base.add_millis(s * 1000),
            interaction_id: (i != 0).then_some(InteractionId(i)),
            customer_id: cust.map(CustomerId),
            agent_id: agent.map(AgentId),
            kind,
        });
    }

    pub fn sorted(mut self) -> Vec<Event> {
        self.events.sort_by_key(|e| (e.at, e.seq));
        self.events
    }
}

pub fn created(ch: Channel, dir: Direction) -> EventKind {
    EventKind::InteractionCreated {
        channel: ch,
        direction: dir,
    }
}
pub fn queued(q: i64) -> EventKind {
    EventKind::Queued {
        queue_id: QueueId(q),
        priority: 0,
    }
}
pub fn answered(q: i64, waited_s: i64) -> EventKind {
    EventKind::Answered {
        queue_id: Some(QueueId(q)),
        waited_ms: waited_s * 1000,
    }
}
pub fn abandoned(q: i64, waited_s: i64) -> EventKind {
    EventKind::Abandoned {
        queue_id: QueueId(q),
        waited_ms: waited_s * 1000,
        short: waited_s < 5,
    }
}
pub fn ended(r: &str) -> EventKind {
    EventKind::Ended { reason: r.into() }
}
pub fn state(s: AgentState, reason: Option<&str>) -> EventKind {
    EventKind::AgentStateChanged {
        state: s,
        reason: reason.map(String::from),
    }
}

/// The scripted day of `tests/golden.rs` (2026-12-01, Europe/Paris, base
/// 09:00 local = 08:00Z). Times in s after the base. The expected figures
/// are worked out by hand in that file.
pub fn golden_day() -> Vec<Event> {
    use EventKind as K;
    let v = Channel::Voice;
    let inb = Direction::Inbound;
    let mut s = Script::new("2026-12-01T08:00:00Z");
    // 0: began 23:30 local the day before (out of the period); its end and
    // talk fall inside the period and must not count.
    s.at(-34_200, 50, Some(105), None, created(v, inb));
    s.at(-34_195, 50, Some(105), None, queued(1));
    s.at(-34_194, 50, Some(105), Some(10), answered(1, 1));
    s.at(-31_800, 50, Some(105), Some(10), ended("completed"));

    // 1: IVR, queue 1, RONA on agent 10, answered by 11 at 20 s (within T),
    // 30 s hold, wrap-up 30 s, survey 5 after the end.
    s.at(0, 1, Some(100), None, created(v, inb));
    s.at(
        2,
        1,
        Some(100),
        None,
        K::IvrStep {
            flow: "main".into(),
            node: "menu".into(),
            digits: Some("1".into()),
        },
    );
    s.at(10, 1, Some(100), None, queued(1));
    s.at(
        12,
        1,
        Some(100),
        Some(10),
        K::Offered {
            queue_id: QueueId(1),
        },
    );
    s.at(
        27,
        1,
        Some(100),
        Some(10),
        K::Rona {
            queue_id: QueueId(1),
        },
    );
    s.at(
        28,
        1,
        Some(100),
        Some(11),
        K::Offered {
            queue_id: QueueId(1),
        },
    );
    s.at(30, 1, Some(100), Some(11), answered(1, 20));
    s.at(60, 1, Some(100), Some(11), K::Held);
    s.at(90, 1, Some(100), Some(11), K::Unheld);
    s.at(150, 1, Some(100), Some(11), ended("caller_hangup"));
    s.at(150, 1, None, Some(11), K::WrapUpStarted);
    s.at(180, 1, None, Some(11), K::WrapUpEnded);
    s.at(400, 1, Some(100), None, K::SurveyAnswered { score: 5 });

    // 2: hangs up in the IVR.
    s.at(600, 2, Some(101), None, created(v, inb));
    s.at(
        602,
        2,
        Some(101),
        None,
        K::IvrStep {
            flow: "main".into(),
            node: "menu".into(),
            digits: None,
        },
    );
    s.at(640, 2, Some(101), None, ended("ivr_completed"));

    // 3: short abandon (3 s).
    s.at(1_200, 3, Some(102), None, created(v, inb));
    s.at(1_210, 3, Some(102), None, queued(1));
    s.at(1_213, 3, Some(102), None, abandoned(1, 3));
    s.at(1_213, 3, Some(102), None, ended("abandoned"));

    // 4: abandon in queue after 45 s.
    s.at(1_800, 4, Some(103), None, created(v, inb));
    s.at(1_805, 4, Some(103), None, queued(1));
    s.at(1_850, 4, Some(103), None, abandoned(1, 45));
    s.at(1_850, 4, Some(103), None, ended("abandoned"));

    // 5: asks for a callback after 60 s in queue 2; 6 is the callback
    // (outbound), answered by 12: 60 s talk, 10 s wrap-up.
    s.at(2_400, 5, Some(104), None, created(v, inb));
    s.at(2_405, 5, Some(104), None, queued(2));
    s.at(
        2_465,
        5,
        Some(104),
        None,
        K::CallbackRequested {
            queue_id: QueueId(2),
            number: "+22997000104".into(),
        },
    );
    s.at(2_465, 5, Some(104), None, ended("callback_requested"));
    s.at(3_000, 6, Some(104), None, created(v, Direction::Outbound));
    s.at(3_000, 6, Some(104), None, queued(2));
    s.at(3_010, 6, Some(104), Some(12), answered(2, 10));
    s.at(3_070, 6, Some(104), Some(12), ended("completed"));
    s.at(3_070, 6, None, Some(12), K::WrapUpStarted);
    s.at(3_080, 6, None, Some(12), K::WrapUpEnded);

    // 7: queue 2, answered by 10 after 40 s, 20 s hold, transferred to
    // queue 1, answered by 11, 60 s talk, 20 s wrap-up, survey 3.
    s.at(3_600, 7, Some(105), None, created(v, inb));
    s.at(3_605, 7, Some(105), None, queued(2));
    s.at(3_645, 7, Some(105), Some(10), answered(2, 40));
    s.at(3_700, 7, Some(105), Some(10), K::Held);
    s.at(3_720, 7, Some(105), Some(10), K::Unheld);
    s.at(
        3_765,
        7,
        Some(105),
        Some(10),
        K::Transferred {
            to_queue: Some(QueueId(1)),
            to_agent: None,
        },
    );
    s.at(3_765, 7, Some(105), None, queued(1));
    s.at(3_775, 7, Some(105), Some(11), answered(1, 10));
    s.at(3_835, 7, Some(105), Some(11), ended("caller_hangup"));
    s.at(3_835, 7, None, Some(11), K::WrapUpStarted);
    s.at(3_855, 7, None, Some(11), K::WrapUpEnded);
    s.at(4_000, 7, Some(105), None, K::SurveyAnswered { score: 3 });
    // Bad input: a score out of range.
    s.at(4_002, 1, Some(100), None, K::SurveyAnswered { score: 9 });

    // 8: web chat in queue 3, answered by 12 after 29 s, first agent reply
    // 60 s after the customer's first message, closed 600 s after start.
    s.at(7_200, 8, Some(106), None, created(Channel::Webchat, inb));
    s.at(
        7_200,
        8,
        Some(106),
        None,
        K::MessageIn {
            text: "Bonjour, ma facture ?".into(),
        },
    );
    s.at(7_201, 8, Some(106), None, queued(3));
    s.at(7_230, 8, Some(106), Some(12), answered(3, 29));
    s.at(
        7_260,
        8,
        Some(106),
        Some(12),
        K::MessageOut {
            text: "Bonjour, je regarde.".into(),
        },
    );
    s.at(
        7_300,
        8,
        Some(106),
        None,
        K::MessageIn {
            text: "Merci".into(),
        },
    );
    s.at(
        7_320,
        8,
        Some(106),
        Some(12),
        K::MessageOut {
            text: "C'est réglé.".into(),
        },
    );
    s.at(7_800, 8, Some(106), Some(12), ended("completed"));

    // 9: customer 100 again 10 h later (so 1 is not FCR), queue 1, answered
    // by 10 after 5 s, 60 s talk, 15 s wrap-up.
    s.at(36_000, 9, Some(100), None, created(v, inb));
    s.at(36_005, 9, Some(100), None, queued(1));
    s.at(36_010, 9, Some(100), Some(10), answered(1, 5));
    s.at(36_070, 9, Some(100), Some(10), ended("completed"));
    s.at(36_070, 9, None, Some(10), K::WrapUpStarted);
    s.at(36_085, 9, None, Some(10), K::WrapUpEnded);

    // 10: still waiting in queue 1 when the log ends.
    s.at(50_000, 10, Some(107), None, created(v, inb));
    s.at(50_005, 10, Some(107), None, queued(1));
    // Bad input: an unhold with no hold.
    s.at(50_010, 10, Some(107), None, K::Unheld);

    // Logins: every agent at 1 000 s; 11 logs out at 40 000 s (10 and 12
    // are still in when the log ends at 51 800 s).
    for a in [10, 11, 12] {
        s.at(1_000, 0, None, Some(a), state(AgentState::Available, None));
    }
    s.at(
        40_000,
        0,
        None,
        Some(11),
        state(AgentState::LoggedOut, None),
    );
    // Pauses: 10 lunch 3600 s; 11 training 1800 s then lunch 1800 s; 12
    // break 900 s.
    s.at(
        10_000,
        0,
        None,
        Some(10),
        state(AgentState::Paused, Some("lunch")),
    );
    s.at(
        13_600,
        0,
        None,
        Some(10),
        state(AgentState::Available, None),
    );
    s.at(
        20_000,
        0,
        None,
        Some(11),
        state(AgentState::Paused, Some("training")),
    );
    s.at(
        21_800,
        0,
        None,
        Some(11),
        state(AgentState::Paused, Some("lunch")),
    );
    s.at(
        23_600,
        0,
        None,
        Some(11),
        state(AgentState::Available, None),
    );
    s.at(
        50_900,
        0,
        None,
        Some(12),
        state(AgentState::Paused, Some("break")),
    );
    s.at(
        51_800,
        0,
        None,
        Some(12),
        state(AgentState::Available, None),
    );
    s.sorted()
}

/// Sums over agents equal the totals (talk, hold, wrap-up, RONA, pause);
/// sums over queues, channels and intervals equal the totals for every sum.
pub fn assert_reconciles(r: &Report) {
    let mut agents = Tally::default();
    for t in r.by_agent.values() {
        agents.merge(t);
    }
    let t = &r.total;
    assert_eq!(
        (agents.talk_ms, agents.hold_ms, agents.wrap_ms, agents.ronas),
        (t.talk_ms, t.hold_ms, t.wrap_ms, t.ronas)
    );
    assert_eq!(agents.pause_ms, t.pause_ms);
    assert_eq!(agents.staffed_ms, t.staffed_ms);
    for parts in [
        r.by_queue.values().collect::<Vec<_>>(),
        r.by_channel.values().collect(),
        r.by_interval.iter().map(|row| &row.tally).collect(),
    ] {
        let mut sum = Tally::default();
        for p in parts {
            sum.merge(p);
        }
        sum.pause_ms = t.pause_ms.clone();
        sum.staffed_ms = t.staffed_ms;
        assert_eq!(&sum, t);
    }
    assert_eq!(t.classes_sum(), t.offered);
}
