//! Property tests: random sequences of events (arrivals, logins, pauses,
//! non-ACD calls, accepts, rejects, hang-ups, abandons, callbacks, time
//! passing) never break the ACD's promises. An outside observer rebuilds
//! what it can from inputs and decisions and checks, after every step:
//!
//! 1. a task is never offered to two agents at once, except ring-all, where
//!    exactly one accept wins and the others are cancelled;
//! 2. an agent never holds more tasks than its capacity (and voice stays
//!    exclusive unless configured);
//! 3. no agent stays reserved after its offer ended;
//! 4. every task ends exactly once (answered, abandoned, max-wait exit),
//!    and the tasks still in the ACD are exactly those not ended yet (plus
//!    answered ones still connected);
//! 5. wrap-up is respected: no offer reaches an agent before the wrap-up
//!    of its last task (in any queue) is over;
//! 6. no offer reaches a paused or logged-out agent;
//! 7. the ACD's own consistency check passes.
//!
//! `TRACE=1 cargo test -p routing --test invariants` prints every decision.

mod common;
use common::*;
use domain::Strategy as Pick;
use domain::{AgentId, Capacity, Channel, InteractionId, QueueId, Segment, Timestamp};
use proptest::prelude::*;
use routing::*;
use std::collections::{HashMap, HashSet};

#[derive(Clone, Debug)]
enum Op {
    Arrive {
        queue: i64,
        channel: u8,
        segment: u8,
        french: bool,
    },
    Login {
        agent: i64,
        a: u8,
        b: bool,
        french: bool,
        mix: bool,
    },
    Logout {
        agent: i64,
    },
    Pause {
        agent: i64,
    },
    Ready {
        agent: i64,
    },
    WrapDone {
        agent: i64,
    },
    Ext {
        agent: i64,
        start: bool,
    },
    Accept {
        pick: usize,
    },
    Reject {
        pick: usize,
    },
    End {
        pick: usize,
    },
    Abandon {
        pick: usize,
    },
    Callback {
        pick: usize,
    },
    Advance {
        secs: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let agent = 1..7i64;
    prop_oneof![
        4 => (1..4i64, 0..3u8, 0..3u8, any::<bool>()).prop_map(|(queue, channel, segment, french)| Op::Arrive { queue, channel, segment, french }),
        2 => (agent.clone(), 0..10u8, any::<bool>(), any::<bool>(), any::<bool>())
            .prop_map(|(agent, a, b, french, mix)| Op::Login { agent, a, b, french, mix }),
        1 => agent.clone().prop_map(|agent| Op::Logout { agent }),
        1 => agent.clone().prop_map(|agent| Op::Pause { agent }),
        2 => agent.clone().prop_map(|agent| Op::Ready { agent }),
        1 => agent.clone().prop_map(|agent| Op::WrapDone { agent }),
        1 => (agent, any::<bool>()).prop_map(|(agent, start)| Op::Ext { agent, start }),
        4 => any::<usize>().prop_map(|pick| Op::Accept { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Reject { pick }),
        3 => any::<usize>().prop_map(|pick| Op::End { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Abandon { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Callback { pick }),
        3 => (1..40i64).prop_map(|secs| Op::Advance { secs }),
    ]
}

fn config() -> AcdConfig {
    let mut q1 = queue(1, &[("a", 5)], Pick::LongestIdle);
    q1.queue.wrap_up_s = 5;
    q1.queue.max_wait_s = 90;
    q1.widen = Some(Widen {
        after_s: 20,
        min_level: 2,
    });
    q1.overflow_to = Some(OverflowTo {
        after_s: 45,
        queue: QueueId(3),
    });
    q1.announce_every_s = 15;
    let mut q2 = queue(2, &[("b", 1)], Pick::RingAll);
    q2.queue.ring_timeout_s = 10;
    let mut q3 = queue(3, &[], Pick::Random);
    q3.queue.wrap_up_s = 3;
    q3.queue.max_wait_s = 120;
    AcdConfig {
        queues: vec![q1, q2, q3],
        rona_max_misses: 2,
        ..AcdConfig::default()
    }
}

const WRAP: [(i64, i64); 3] = [(1, 5_000), (2, 0), (3, 3_000)];

#[derive(Default)]
struct Observer {
    arrived: u64,
    ended: HashMap<InteractionId, u32>,
    /// task → (agents still ringing, ring-all?)
    ringing: HashMap<InteractionId, Vec<AgentId>>,
    connected: HashMap<InteractionId, (AgentId, ChannelClass)>,
    waiting: HashSet<InteractionId>,
    task_queue: HashMap<InteractionId, i64>,
    wrap_until: HashMap<AgentId, Timestamp>,
    ready: HashSet<AgentId>,
    caps: HashMap<AgentId, Capacity>,
    class: HashMap<InteractionId, ChannelClass>,
}

impl Observer {
    fn end(&mut self, task: InteractionId) -> Result<(), TestCaseError> {
        let n = self.ended.entry(task).or_insert(0);
        *n += 1;
        prop_assert_eq!(*n, 1, "task {} ended twice", task);
        Ok(())
    }

    fn observe(&mut self, acd: &mut Acd, now: Timestamp) -> Result<(), TestCaseError> {
        while let Some(d) = acd.poll_decision() {
            if std::env::var("TRACE").is_ok() {
                eprintln!("{} {:?}", now.as_millis(), d);
            }
            match d {
                Decision::Offer { task, agents, .. } => self.offered(acd, task, agents, now)?,
                Decision::CallbackDue { task, agent, .. } => {
                    self.offered(acd, task, vec![agent], now)?
                }
                Decision::CancelOffer { task, agent, .. } => {
                    let list = self.ringing.get_mut(&task);
                    prop_assert!(
                        list.as_ref().is_some_and(|l| l.contains(&agent)),
                        "cancel of unknown ring"
                    );
                    if let Some(l) = list {
                        l.retain(|a| *a != agent);
                        if l.is_empty() {
                            self.ringing.remove(&task);
                        }
                    }
                }
                Decision::Requeued { task, .. } => {
                    prop_assert!(
                        !self.ringing.contains_key(&task),
                        "requeued while still ringing"
                    );
                    self.waiting.insert(task);
                }
                Decision::MaxWaitExit { task, .. } => {
                    // waiting, or its offer just timed out past max wait
                    prop_assert!(!self.ringing.contains_key(&task), "exit of a ringing task");
                    prop_assert!(
                        !self.connected.contains_key(&task),
                        "exit of a connected task"
                    );
                    self.waiting.remove(&task);
                    self.end(task)?;
                }
                Decision::Overflow { task, to, .. } => {
                    self.task_queue.insert(task, to.0);
                }
                Decision::AgentPaused { agent, .. } => {
                    self.ready.remove(&agent);
                }
                Decision::WrapUpEnded { agent } => {
                    self.wrap_until.remove(&agent);
                }
                Decision::Announce { task, .. } => prop_assert!(self.waiting.contains(&task)),
                Decision::Widened { task, .. } => prop_assert!(self.waiting.contains(&task)),
            }
        }
        // 3. reserved ⇔ ringing
        let ringing: HashSet<AgentId> = self.ringing.values().flatten().copied().collect();
        for id in 1..7 {
            let a = AgentId(id);
            let reserved = acd.agent_status(a) == Some(&AgentStatus::Reserved);
            prop_assert_eq!(
                reserved,
                ringing.contains(&a),
                "agent {} reserved vs ringing",
                a
            );
        }
        // 4. tasks alive in the ACD
        let alive = self.arrived as usize - self.ended.len() + self.connected.len();
        prop_assert_eq!(acd.task_count(), alive);
        // 7.
        prop_assert_eq!(acd.check_invariants(), Ok(()));
        Ok(())
    }

    fn offered(
        &mut self,
        acd: &Acd,
        task: InteractionId,
        agents: Vec<AgentId>,
        now: Timestamp,
    ) -> Result<(), TestCaseError> {
        // 1. not already ringing; one agent unless ring-all
        prop_assert!(
            !self.ringing.contains_key(&task),
            "task {} offered twice at once",
            task
        );
        prop_assert!(self.waiting.remove(&task), "offer of a task not waiting");
        let ring_all = acd.explain(task).map(|e| e.strategy) == Some(Pick::RingAll);
        prop_assert!(!agents.is_empty());
        prop_assert!(
            agents.len() == 1 || ring_all,
            "{} agents for a non ring-all task",
            agents.len()
        );
        let busy: HashSet<AgentId> = self.ringing.values().flatten().copied().collect();
        for a in &agents {
            prop_assert!(!busy.contains(a), "agent {} rung twice", a);
            // 5. wrap-up
            prop_assert!(
                self.wrap_until.get(a).is_none_or(|w| *w <= now),
                "agent {} offered during wrap-up",
                a
            );
            // 6.
            prop_assert!(
                self.ready.contains(a),
                "agent {} offered while not ready",
                a
            );
        }
        self.ringing.insert(task, agents);
        Ok(())
    }

    fn held(&self, agent: AgentId) -> [u8; 3] {
        let mut h = [0u8; 3];
        for (a, c) in self.connected.values() {
            if *a == agent {
                h[c.idx()] += 1;
            }
        }
        h
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut acd = Acd::new(config()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut o = Observer::default();
    let mut now = t(0);
    let mut next_task = 1;
    for op in ops {
        match op {
            Op::Arrive {
                queue,
                channel,
                segment,
                french,
            } => {
                let channel =
                    [Channel::Voice, Channel::Whatsapp, Channel::Email][usize::from(channel)];
                let segment =
                    [Segment::Mass, Segment::Business, Segment::Vip][usize::from(segment)];
                let mut task =
                    Task::new(InteractionId(next_task), QueueId(queue), channel, segment);
                if french {
                    task.skills = vec![sk("french", 1)];
                }
                next_task += 1;
                o.waiting.insert(task.id);
                o.task_queue.insert(task.id, queue);
                o.class.insert(task.id, ChannelClass::of(channel));
                acd.handle_task_arrived(now, task)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                o.arrived += 1;
            }
            Op::Login {
                agent,
                a,
                b,
                french,
                mix,
            } => {
                let mut skills = vec![];
                if a > 0 {
                    skills.push(sk("a", a));
                }
                if b {
                    skills.push(sk("b", 3));
                }
                if french {
                    skills.push(sk("french", 2));
                }
                let mut p = AgentProfile::new(AgentId(agent), skills);
                p.capacity.chat_during_voice = mix;
                if acd.handle_agent_login(now, p.clone()).is_ok() {
                    o.ready.insert(p.id);
                    o.caps.insert(p.id, p.capacity);
                }
            }
            Op::Logout { agent } => {
                let a = AgentId(agent);
                let ok = acd.handle_agent_logout(now, a).is_ok();
                if ok {
                    o.ready.remove(&a);
                    o.wrap_until.remove(&a);
                }
            }
            Op::Pause { agent } => {
                let a = AgentId(agent);
                let pause = AgentInput::Pause {
                    reason: "break".into(),
                };
                let ok = acd.handle_agent_state(now, a, pause).is_ok();
                if ok {
                    o.ready.remove(&a);
                }
            }
            Op::Ready { agent } => {
                let a = AgentId(agent);
                let ok = acd.handle_agent_state(now, a, AgentInput::Ready).is_ok();
                if ok {
                    o.ready.insert(a);
                }
            }
            Op::WrapDone { agent } => {
                let _ = acd.handle_agent_state(now, AgentId(agent), AgentInput::WrapUpDone);
            }
            Op::Ext { agent, start } => {
                let input = if start {
                    AgentInput::ExternalCallStarted
                } else {
                    AgentInput::ExternalCallEnded
                };
                let _ = acd.handle_agent_state(now, AgentId(agent), input);
            }
            Op::Accept { pick } | Op::Reject { pick } if !o.ringing.is_empty() => {
                let mut pairs: Vec<(InteractionId, AgentId)> = o
                    .ringing
                    .iter()
                    .flat_map(|(t, l)| l.iter().map(|a| (*t, *a)))
                    .collect();
                pairs.sort_unstable();
                let Some(&(task, agent)) = pairs.get(pick % pairs.len().max(1)) else {
                    continue;
                };
                if matches!(op, Op::Accept { .. }) {
                    let r = acd.handle_offer_accepted(now, task, agent);
                    prop_assert_eq!(r, Ok(()));
                    if let Some(l) = o.ringing.get_mut(&task) {
                        l.retain(|a| *a != agent);
                        if l.is_empty() {
                            o.ringing.remove(&task);
                        }
                    }
                    let class = o.class.get(&task).copied().unwrap_or(ChannelClass::Voice);
                    o.connected.insert(task, (agent, class));
                    o.end(task)?;
                    // 2. capacity and voice exclusivity
                    let cap = o.caps.get(&agent).cloned().unwrap_or_default();
                    let h = o.held(agent);
                    for c in ChannelClass::ALL {
                        prop_assert!(
                            h[c.idx()] <= c.limit(&cap),
                            "agent {} over capacity: {:?}",
                            agent,
                            h
                        );
                    }
                    prop_assert!(
                        cap.chat_during_voice || h[0] == 0 || h[1] + h[2] == 0,
                        "voice not exclusive"
                    );
                } else {
                    prop_assert_eq!(acd.handle_offer_rejected(now, task, agent), Ok(()));
                }
            }
            Op::End { pick } if !o.connected.is_empty() => {
                let mut ids: Vec<InteractionId> = o.connected.keys().copied().collect();
                ids.sort_unstable();
                let task = ids[pick % ids.len()];
                let (agent, _) = o
                    .connected
                    .remove(&task)
                    .unwrap_or((AgentId(0), ChannelClass::Voice));
                prop_assert_eq!(acd.handle_task_ended(now, task), Ok(()));
                let q = o.task_queue.get(&task).copied().unwrap_or(0);
                let wrap = WRAP.iter().find(|w| w.0 == q).map_or(0, |w| w.1);
                let logged_in = acd.agent_status(agent) != Some(&AgentStatus::LoggedOut);
                if wrap > 0 && logged_in {
                    let until = now.add_millis(wrap);
                    let e = o.wrap_until.entry(agent).or_insert(until);
                    *e = (*e).max(until);
                }
            }
            Op::Abandon { pick } | Op::Callback { pick }
                if !o.waiting.is_empty() || !o.ringing.is_empty() =>
            {
                let mut ids: Vec<InteractionId> =
                    o.waiting.iter().chain(o.ringing.keys()).copied().collect();
                ids.sort_unstable();
                let task = ids[pick % ids.len()];
                if matches!(op, Op::Abandon { .. }) {
                    prop_assert_eq!(acd.handle_abandon(now, task), Ok(()));
                    o.waiting.remove(&task);
                    o.end(task)?;
                } else {
                    let r = acd.handle_callback_requested(now, task);
                    prop_assert_eq!(r.is_ok(), o.waiting.contains(&task));
                }
            }
            Op::Advance { secs } => {
                now = now.add_millis(secs * 1000);
                acd.handle_timeout(now);
                // every due timer fired
                prop_assert!(acd.poll_timeout().is_none_or(|d| d > now));
            }
            _ => {}
        }
        if let Op::WrapDone { agent } = op {
            o.wrap_until.remove(&AgentId(agent));
        }
        o.observe(&mut acd, now)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn random_event_sequences_keep_the_invariants(ops in proptest::collection::vec(op(), 1..120)) {
        run(ops)?;
    }
}
