//! Priorities, agent states, wrap-up, RONA, overflow, max wait, callbacks,
//! capacity, announcements, statistics and refused inputs.

mod common;
use common::*;
use domain::*;
use routing::*;

fn task(id: i64, q: i64, channel: Channel, segment: Segment) -> Task {
    Task::new(InteractionId(id), QueueId(q), channel, segment)
}

fn paused_agent(acd: &mut Acd, id: i64, skills: &[(&str, u8)]) {
    acd.handle_agent_login(t(0), agent(id, skills))
        .expect("login");
    acd.handle_agent_state(
        t(0),
        AgentId(id),
        AgentInput::Pause {
            reason: "break".into(),
        },
    )
    .expect("pause");
}

#[test]
fn segment_priority_vip_business_mass() {
    let mut acd = acd(vec![queue(1, &[], Strategy::LongestIdle)]);
    paused_agent(&mut acd, 1, &[]);
    acd.handle_task_arrived(t(1), task(10, 1, Channel::Voice, Segment::Mass))
        .expect("arrive");
    acd.handle_task_arrived(t(2), task(11, 1, Channel::Voice, Segment::Vip))
        .expect("arrive");
    acd.handle_task_arrived(t(3), task(12, 1, Channel::Voice, Segment::Business))
        .expect("arrive");
    assert_eq!(acd.position(InteractionId(11)), Some(1));
    assert_eq!(acd.position(InteractionId(12)), Some(2));
    assert_eq!(acd.position(InteractionId(10)), Some(3));
    let mut served = Vec::new();
    acd.handle_agent_state(t(4), AgentId(1), AgentInput::Ready)
        .expect("ready");
    for k in 0..3 {
        let o = offers(&drain(&mut acd));
        let id = o[0].0;
        served.push(id);
        acd.handle_offer_accepted(t(5 + k), InteractionId(id), AgentId(1))
            .expect("accept");
        acd.handle_task_ended(t(6 + k), InteractionId(id))
            .expect("end");
    }
    assert_eq!(served, vec![11, 12, 10]);
    let e = acd.explain(InteractionId(10));
    assert!(e.is_none(), "explanations go with the task");
}

#[test]
fn aging_lets_an_old_mass_task_pass_a_new_vip() {
    let mut acd = acd(vec![queue(1, &[], Strategy::LongestIdle)]);
    paused_agent(&mut acd, 1, &[]);
    acd.handle_task_arrived(t(0), task(10, 1, Channel::Voice, Segment::Mass))
        .expect("arrive");
    // 10 points/min: after 11 min the mass task has 110 points > VIP's 100
    acd.handle_task_arrived(t(660), task(11, 1, Channel::Voice, Segment::Vip))
        .expect("arrive");
    acd.handle_agent_state(t(660), AgentId(1), AgentInput::Ready)
        .expect("ready");
    assert_eq!(offers(&drain(&mut acd)), vec![(10, vec![1])]);
    let e = acd.explain(InteractionId(10)).expect("explained");
    assert_eq!(e.task_score.segment, 0);
    assert_eq!(e.task_score.aging, 110.0);
    assert_eq!(e.trigger, Trigger::AgentFreed);
}

#[test]
fn wrap_up_blocks_every_queue_of_the_agent() {
    let mut q1 = queue(1, &[("a", 1)], Strategy::LongestIdle);
    q1.queue.wrap_up_s = 30;
    let q2 = queue(2, &[("b", 1)], Strategy::LongestIdle);
    let mut acd = acd(vec![q1, q2]);
    acd.handle_agent_login(t(0), agent(1, &[("a", 5), ("b", 5)]))
        .expect("login");
    acd.handle_task_arrived(t(1), voice(10, 1)).expect("arrive");
    drain(&mut acd);
    acd.handle_offer_accepted(t(2), InteractionId(10), AgentId(1))
        .expect("accept");
    acd.handle_task_ended(t(60), InteractionId(10))
        .expect("end");
    assert_eq!(acd.agent_status(AgentId(1)), Some(&AgentStatus::WrapUp));
    acd.handle_task_arrived(t(61), voice(11, 2))
        .expect("arrive");
    assert!(
        offers(&drain(&mut acd)).is_empty(),
        "nothing during wrap-up"
    );
    assert_eq!(acd.poll_timeout(), Some(t(90)));
    acd.handle_timeout(t(89));
    assert!(offers(&drain(&mut acd)).is_empty());
    acd.handle_timeout(t(90));
    let ds = drain(&mut acd);
    assert!(ds.contains(&Decision::WrapUpEnded { agent: AgentId(1) }));
    assert_eq!(offers(&ds), vec![(11, vec![1])]);
}

#[test]
fn wrap_up_can_end_early() {
    let mut q1 = queue(1, &[], Strategy::LongestIdle);
    q1.queue.wrap_up_s = 300;
    let mut acd = acd(vec![q1]);
    acd.handle_agent_login(t(0), agent(1, &[])).expect("login");
    acd.handle_task_arrived(t(1), voice(10, 1)).expect("arrive");
    acd.handle_offer_accepted(t(2), InteractionId(10), AgentId(1))
        .expect("accept");
    acd.handle_task_ended(t(3), InteractionId(10)).expect("end");
    acd.handle_task_arrived(t(4), voice(11, 1)).expect("arrive");
    drain(&mut acd);
    acd.handle_agent_state(t(5), AgentId(1), AgentInput::WrapUpDone)
        .expect("done");
    assert_eq!(offers(&drain(&mut acd)), vec![(11, vec![1])]);
    assert_eq!(
        acd.poll_timeout(),
        Some(t(20)),
        "only the ring time-out is left"
    );
}

#[test]
fn rona_requeues_in_place_and_pauses_after_n_misses() {
    let mut cfg = AcdConfig {
        queues: vec![queue(1, &[], Strategy::LongestIdle)],
        ..AcdConfig::default()
    };
    cfg.rona_max_misses = 2;
    let mut acd = Acd::new(cfg).expect("config");
    paused_agent(&mut acd, 1, &[]);
    acd.handle_task_arrived(t(1), voice(10, 1)).expect("arrive");
    acd.handle_task_arrived(t(2), voice(11, 1)).expect("arrive");
    acd.handle_agent_state(t(3), AgentId(1), AgentInput::Ready)
        .expect("ready");
    assert_eq!(offers(&drain(&mut acd)), vec![(10, vec![1])]);
    assert_eq!(acd.poll_timeout(), Some(t(18)));
    acd.handle_timeout(t(18));
    let ds = drain(&mut acd);
    assert!(ds.contains(&Decision::Requeued {
        task: InteractionId(10),
        reason: RequeueReason::Rona
    }));
    assert!(ds.iter().any(|d| matches!(
        d,
        Decision::CancelOffer {
            task: InteractionId(10),
            ..
        }
    )));
    // first miss: not paused, the task kept its place at the front
    assert_eq!(offers(&ds), vec![(10, vec![1])]);
    acd.handle_timeout(t(33));
    let ds = drain(&mut acd);
    assert!(ds.contains(&Decision::AgentPaused {
        agent: AgentId(1),
        reason: "rona".into()
    }));
    assert!(offers(&ds).is_empty());
    assert_eq!(
        acd.agent_status(AgentId(1)),
        Some(&AgentStatus::Paused("rona".into()))
    );
    assert_eq!(acd.position(InteractionId(10)), Some(1));
    let s = acd.queue_stats(QueueId(1)).expect("stats");
    assert_eq!((s.waiting, s.agents_paused), (2, 1));
    acd.check_invariants().expect("consistent");
}

#[test]
fn reject_requeues_and_tries_another_agent() {
    let mut acd = acd(vec![queue(1, &[], Strategy::LongestIdle)]);
    acd.handle_agent_login(t(0), agent(1, &[])).expect("login");
    acd.handle_agent_login(t(1), agent(2, &[])).expect("login");
    acd.handle_task_arrived(t(2), voice(10, 1)).expect("arrive");
    assert_eq!(offers(&drain(&mut acd)), vec![(10, vec![1])]);
    acd.handle_offer_rejected(t(3), InteractionId(10), AgentId(1))
        .expect("reject");
    let ds = drain(&mut acd);
    assert_eq!(offers(&ds), vec![(10, vec![2])]);
    assert_eq!(
        acd.agent_stats(AgentId(1), t(3)).map(|s| s.rona_misses),
        Some(0)
    );
}

#[test]
fn overflow_to_another_queue_after_x_seconds() {
    let mut q1 = queue(1, &[("a", 1)], Strategy::LongestIdle);
    q1.overflow_to = Some(OverflowTo {
        after_s: 30,
        queue: QueueId(2),
    });
    let q2 = queue(2, &[("b", 1)], Strategy::LongestIdle);
    let mut acd = acd(vec![q1, q2]);
    acd.handle_agent_login(t(0), agent(1, &[("b", 4)]))
        .expect("login");
    acd.handle_task_arrived(t(0), voice(10, 1)).expect("arrive");
    assert!(offers(&drain(&mut acd)).is_empty());
    acd.handle_timeout(t(30));
    let ds = drain(&mut acd);
    assert_eq!(
        ds[0],
        Decision::Overflow {
            task: InteractionId(10),
            from: QueueId(1),
            to: QueueId(2)
        }
    );
    assert_eq!(offers(&ds), vec![(10, vec![1])]);
    let s1 = acd.queue_stats(QueueId(1)).expect("stats");
    assert_eq!(s1.counters.overflowed_out, 1);
}

#[test]
fn widening_reaches_lower_skill_levels() {
    let mut q1 = queue(1, &[("a", 7)], Strategy::LongestIdle);
    q1.widen = Some(Widen {
        after_s: 20,
        min_level: 3,
    });
    let mut acd = acd(vec![q1]);
    acd.handle_agent_login(t(0), agent(1, &[("a", 4)]))
        .expect("login");
    acd.handle_agent_login(t(0), agent(2, &[("a", 2)]))
        .expect("login");
    acd.handle_task_arrived(t(0), voice(10, 1)).expect("arrive");
    assert!(offers(&drain(&mut acd)).is_empty());
    acd.handle_timeout(t(20));
    let ds = drain(&mut acd);
    assert!(ds.contains(&Decision::Widened {
        task: InteractionId(10),
        queue: QueueId(1),
        min_level: 3
    }));
    assert_eq!(offers(&ds), vec![(10, vec![1])]);
    let e = acd.explain(InteractionId(10)).expect("explained");
    assert_eq!(e.agents[0].tier, Tier::Widened);
    // widened members are not counted as queue members on wallboards
    assert_eq!(acd.queue_stats(QueueId(1)).map(|s| s.agents_busy), Some(0));
}

#[test]
fn max_wait_exit() {
    let mut q1 = queue(1, &[], Strategy::LongestIdle);
    q1.queue.max_wait_s = 60;
    let mut acd = acd(vec![q1]);
    acd.handle_task_arrived(t(0), voice(10, 1)).expect("arrive");
    assert_eq!(acd.poll_timeout(), Some(t(60)));
    acd.handle_timeout(t(60));
    assert_eq!(
        drain(&mut acd),
        vec![Decision::MaxWaitExit {
            task: InteractionId(10),
            queue: QueueId(1)
        }]
    );
    assert_eq!(acd.task_count(), 0);
    let s = acd.queue_stats(QueueId(1)).expect("stats");
    assert_eq!(s.counters.max_wait_exits, 1);
    assert_eq!(s.service_level_pct, 0.0);
    assert_eq!(acd.poll_timeout(), None);
}

#[test]
fn callback_keeps_its_place_and_is_due_at_the_head() {
    let mut q1 = queue(1, &[], Strategy::LongestIdle);
    q1.queue.max_wait_s = 100;
    let mut acd = acd(vec![q1]);
    paused_agent(&mut acd, 1, &[]);
    acd.handle_task_arrived(t(1), voice(10, 1)).expect("arrive");
    acd.handle_task_arrived(t(2), voice(11, 1)).expect("arrive");
    acd.handle_callback_requested(t(5), InteractionId(10))
        .expect("callback");
    assert_eq!(acd.position(InteractionId(11)), Some(2));
    // the max-wait exit does not apply to the callback
    acd.handle_timeout(t(101));
    assert_eq!(drain(&mut acd), vec![]);
    acd.handle_timeout(t(102));
    assert_eq!(
        drain(&mut acd),
        vec![Decision::MaxWaitExit {
            task: InteractionId(11),
            queue: QueueId(1)
        }]
    );
    acd.handle_agent_state(t(200), AgentId(1), AgentInput::Ready)
        .expect("ready");
    let ds = drain(&mut acd);
    assert!(
        matches!(
            ds.as_slice(),
            [Decision::CallbackDue {
                task: InteractionId(10),
                agent: AgentId(1),
                ..
            }]
        ),
        "{ds:?}"
    );
    acd.handle_offer_accepted(t(201), InteractionId(10), AgentId(1))
        .expect("accept");
    assert_eq!(
        acd.queue_stats(QueueId(1)).map(|s| s.callbacks_waiting),
        Some(0)
    );
}

#[test]
fn per_channel_capacity_and_voice_exclusivity() {
    let mut acd = acd(vec![queue(1, &[], Strategy::LongestIdle)]);
    let mut p = agent(1, &[]);
    p.capacity = Capacity {
        voice: 1,
        chat: 2,
        email: 1,
        chat_during_voice: false,
    };
    acd.handle_agent_login(t(0), p).expect("login");
    for k in 0..3 {
        acd.handle_task_arrived(t(1), task(10 + k, 1, Channel::Whatsapp, Segment::Mass))
            .expect("arrive");
    }
    acd.handle_task_arrived(t(1), task(20, 1, Channel::Email, Segment::Mass))
        .expect("arrive");
    acd.handle_task_arrived(t(1), task(30, 1, Channel::Voice, Segment::Mass))
        .expect("arrive");
    let mut held = Vec::new();
    loop {
        let o = offers(&drain(&mut acd));
        let Some((id, _)) = o.first() else { break };
        acd.handle_offer_accepted(t(2), InteractionId(*id), AgentId(1))
            .expect("accept");
        held.push(*id);
    }
    held.sort_unstable();
    // 2 chats and 1 e-mail; the third chat and the voice call wait
    assert_eq!(held, vec![10, 11, 20]);
    assert_eq!(acd.queue_stats(QueueId(1)).map(|s| s.waiting), Some(2));
    for id in held {
        acd.handle_task_ended(t(3), InteractionId(id)).expect("end");
    }
    // all digital tasks gone: the voice call (older than nothing else) comes now
    let o = offers(&drain(&mut acd));
    assert_eq!(o.len(), 1);
    acd.handle_offer_accepted(t(4), InteractionId(o[0].0), AgentId(1))
        .expect("accept");
    acd.check_invariants().expect("consistent");
}

#[test]
fn chat_during_voice_when_configured() {
    let mut acd = acd(vec![queue(1, &[], Strategy::LongestIdle)]);
    let mut p = agent(1, &[]);
    p.capacity.chat_during_voice = true;
    acd.handle_agent_login(t(0), p).expect("login");
    acd.handle_task_arrived(t(1), voice(10, 1)).expect("arrive");
    acd.handle_offer_accepted(t(2), InteractionId(10), AgentId(1))
        .expect("accept");
    drain(&mut acd);
    acd.handle_task_arrived(t(3), task(11, 1, Channel::Webchat, Segment::Mass))
        .expect("arrive");
    assert_eq!(offers(&drain(&mut acd)), vec![(11, vec![1])]);
}

#[test]
fn a_non_acd_call_makes_the_agent_unavailable() {
    let mut acd = acd(vec![queue(1, &[], Strategy::LongestIdle)]);
    acd.handle_agent_login(t(0), agent(1, &[])).expect("login");
    acd.handle_agent_state(t(1), AgentId(1), AgentInput::ExternalCallStarted)
        .expect("ext");
    assert_eq!(acd.agent_status(AgentId(1)), Some(&AgentStatus::Busy));
    acd.handle_task_arrived(t(2), task(10, 1, Channel::Sms, Segment::Mass))
        .expect("arrive");
    assert!(offers(&drain(&mut acd)).is_empty());
    acd.handle_agent_state(t(9), AgentId(1), AgentInput::ExternalCallEnded)
        .expect("ext end");
    assert_eq!(offers(&drain(&mut acd)), vec![(10, vec![1])]);
    assert_eq!(
        acd.agent_stats(AgentId(1), t(12)).map(|s| s.in_status_ms),
        Some(3000)
    );
}

#[test]
fn abandon_while_ringing_cancels_the_offer() {
    let mut acd = acd(vec![queue(1, &[], Strategy::LongestIdle)]);
    acd.handle_agent_login(t(0), agent(1, &[])).expect("login");
    acd.handle_task_arrived(t(1), voice(10, 1)).expect("arrive");
    drain(&mut acd);
    acd.handle_abandon(t(4), InteractionId(10))
        .expect("abandon");
    let ds = drain(&mut acd);
    assert!(
        matches!(
            ds.as_slice(),
            [Decision::CancelOffer {
                agent: AgentId(1),
                ..
            }]
        ),
        "{ds:?}"
    );
    assert_eq!(acd.agent_status(AgentId(1)), Some(&AgentStatus::Available));
    assert_eq!(
        acd.queue_stats(QueueId(1)).map(|s| s.counters.abandoned),
        Some(1)
    );
    assert_eq!(acd.poll_timeout(), None, "ring timer disarmed");
    assert!(acd.handle_abandon(t(5), InteractionId(10)).is_err());
    // 3 s of wait: a short abandon, left out of the service level.
    let c = acd.queue_stats(QueueId(1)).expect("stats");
    assert_eq!(
        (c.counters.abandoned_short, c.service_level_pct),
        (1, 100.0)
    );
    // A caller who waited 10 s (5 s is the default threshold) counts against.
    acd.handle_task_arrived(t(20), voice(11, 1))
        .expect("arrive");
    drain(&mut acd);
    acd.handle_abandon(t(30), InteractionId(11))
        .expect("abandon");
    let c = acd.queue_stats(QueueId(1)).expect("stats");
    assert_eq!((c.counters.abandoned, c.counters.abandoned_short), (2, 1));
    assert_eq!(c.service_level_pct, 0.0);
}

#[test]
fn announcements_give_position_and_ewt() {
    let mut q1 = queue(1, &[], Strategy::LongestIdle);
    q1.announce_on_arrival = true;
    q1.announce_every_s = 30;
    let mut acd = acd(vec![q1]);
    for i in 1..=2 {
        acd.handle_agent_login(t(0), agent(i, &[])).expect("login");
        acd.handle_task_arrived(t(0), voice(i, 1)).expect("arrive");
        acd.handle_offer_accepted(t(0), InteractionId(i), AgentId(i))
            .expect("accept");
    }
    drain(&mut acd);
    for k in 0..3 {
        acd.handle_task_arrived(t(1), voice(10 + k, 1))
            .expect("arrive");
    }
    let ds = drain(&mut acd);
    // AHT 180 s default, 2 agents staffed: EWT = p × 90 s
    assert_eq!(
        ds,
        vec![
            Decision::Announce {
                task: InteractionId(10),
                position: 1,
                ewt_s: Some(90)
            },
            Decision::Announce {
                task: InteractionId(11),
                position: 2,
                ewt_s: Some(180)
            },
            Decision::Announce {
                task: InteractionId(12),
                position: 3,
                ewt_s: Some(270)
            },
        ]
    );
    acd.handle_task_ended(t(21), InteractionId(1)).expect("end");
    drain(&mut acd);
    acd.handle_timeout(t(31));
    let ds = drain(&mut acd);
    // task 10 got agent 1; AHT moved to 180 + 0.1 × (21 − 180) = 164.1 s
    assert_eq!(
        ds,
        vec![
            Decision::Announce {
                task: InteractionId(11),
                position: 1,
                ewt_s: Some(83)
            },
            Decision::Announce {
                task: InteractionId(12),
                position: 2,
                ewt_s: Some(165)
            },
        ]
    );
}

#[test]
fn wallboard_statistics() {
    let mut q1 = queue(1, &[], Strategy::LongestIdle);
    q1.queue.service_level = ServiceLevel {
        percent: 80.0,
        within_s: 20,
    };
    let mut acd = acd(vec![q1]);
    paused_agent(&mut acd, 1, &[]);
    acd.handle_agent_login(t(0), agent(2, &[])).expect("login");
    acd.handle_agent_state(
        t(0),
        AgentId(2),
        AgentInput::Pause {
            reason: "lunch".into(),
        },
    )
    .expect("pause");
    acd.handle_task_arrived(t(0), voice(10, 1)).expect("arrive");
    acd.handle_task_arrived(t(5), voice(11, 1)).expect("arrive");
    acd.handle_task_arrived(t(6), voice(12, 1)).expect("arrive");
    acd.handle_abandon(t(8), InteractionId(12))
        .expect("abandon");
    acd.handle_agent_state(t(10), AgentId(1), AgentInput::Ready)
        .expect("ready");
    acd.handle_offer_accepted(t(10), InteractionId(10), AgentId(1))
        .expect("accept");
    let s = acd.queue_stats(QueueId(1)).expect("stats");
    assert_eq!((s.waiting, s.longest_wait_ms), (1, 5000));
    // Asked later, between inputs: the wait runs on to the caller's clock;
    // a clock behind the last input counts as the last input.
    let later = acd.queue_stats_at(QueueId(1), t(25)).expect("stats");
    assert_eq!(later.longest_wait_ms, 20_000);
    let earlier = acd.queue_stats_at(QueueId(1), t(7)).expect("stats");
    assert_eq!(earlier.longest_wait_ms, 5000);
    assert_eq!(
        (
            s.agents_available,
            s.agents_busy,
            s.agents_wrap_up,
            s.agents_paused
        ),
        (0, 1, 0, 1)
    );
    assert_eq!(
        (
            s.counters.answered,
            s.counters.abandoned,
            s.counters.answered_in_sl
        ),
        (1, 1, 1)
    );
    // The abandon came after 2 s of wait: short, so out of the service
    // level (1 answered in time ÷ 1 answered).
    assert_eq!(s.counters.abandoned_short, 1);
    assert_eq!(s.service_level_pct, 100.0);
    assert_eq!(s.asa_s, 10.0);
    let a = acd.agent_stats(AgentId(1), t(15)).expect("agent");
    assert_eq!(
        (a.status, a.in_status_ms, a.tasks),
        (AgentStatus::Busy, 5000, vec![InteractionId(10)])
    );
    acd.reset_stats();
    assert_eq!(
        acd.queue_stats(QueueId(1)).map(|s| s.counters.answered),
        Some(0)
    );
}

#[test]
fn refused_inputs_change_nothing() {
    let mut acd = acd(vec![queue(1, &[], Strategy::LongestIdle)]);
    assert_eq!(
        acd.handle_task_arrived(t(0), voice(1, 9)),
        Err(RoutingError::UnknownQueue(QueueId(9)))
    );
    acd.handle_task_arrived(t(0), voice(1, 1)).expect("arrive");
    assert_eq!(
        acd.handle_task_arrived(t(0), voice(1, 1)),
        Err(RoutingError::DuplicateTask(InteractionId(1)))
    );
    assert!(matches!(
        acd.handle_offer_accepted(t(1), InteractionId(1), AgentId(1)),
        Err(RoutingError::NoSuchOffer { .. })
    ));
    assert_eq!(
        acd.handle_task_ended(t(1), InteractionId(1)),
        Err(RoutingError::WrongTaskState(
            InteractionId(1),
            "not connected"
        ))
    );
    assert_eq!(
        acd.handle_agent_logout(t(1), AgentId(1)),
        Err(RoutingError::NotLoggedIn(AgentId(1)))
    );
    assert!(matches!(
        acd.handle_agent_login(t(1), agent(1, &[("a", 11)])),
        Err(RoutingError::BadSkill(..))
    ));
    acd.handle_agent_login(t(1), agent(2, &[])).expect("login");
    assert_eq!(
        acd.handle_agent_login(t(1), agent(2, &[])),
        Err(RoutingError::AlreadyLoggedIn(AgentId(2)))
    );
    // time going backwards is read as "no time passed"
    acd.handle_offer_accepted(t(-100), InteractionId(1), AgentId(2))
        .expect("accept");
    assert_eq!(acd.queue_stats(QueueId(1)).map(|s| s.asa_s), Some(1.0));
    let bad = AcdConfig {
        queues: vec![{
            let mut q = queue(1, &[], Strategy::LongestIdle);
            q.overflow_to = Some(OverflowTo {
                after_s: 1,
                queue: QueueId(5),
            });
            q
        }],
        ..AcdConfig::default()
    };
    assert!(matches!(
        Acd::new(bad),
        Err(ConfigError::UnknownOverflowTarget(..))
    ));
    acd.check_invariants().expect("consistent");
}

#[test]
fn logout_while_ringing_requeues_the_task() {
    let mut acd = acd(vec![queue(1, &[], Strategy::LongestIdle)]);
    acd.handle_agent_login(t(0), agent(1, &[])).expect("login");
    acd.handle_task_arrived(t(1), voice(10, 1)).expect("arrive");
    drain(&mut acd);
    acd.handle_agent_logout(t(2), AgentId(1)).expect("logout");
    let ds = drain(&mut acd);
    assert!(ds.contains(&Decision::Requeued {
        task: InteractionId(10),
        reason: RequeueReason::AgentLoggedOut
    }));
    assert_eq!(acd.position(InteractionId(10)), Some(1));
    assert_eq!(acd.agent_status(AgentId(1)), Some(&AgentStatus::LoggedOut));
    acd.handle_agent_login(t(3), agent(1, &[]))
        .expect("login again");
    assert_eq!(offers(&drain(&mut acd)), vec![(10, vec![1])]);
}

#[test]
fn extra_task_skills_are_honoured() {
    let mut acd = acd(vec![queue(1, &[], Strategy::LongestIdle)]);
    acd.handle_agent_login(t(0), agent(1, &[("english", 5)]))
        .expect("login");
    acd.handle_agent_login(t(1), agent(2, &[("french", 5)]))
        .expect("login");
    let mut fr = voice(10, 1);
    fr.skills = vec![sk("french", 3)];
    acd.handle_task_arrived(t(2), fr).expect("arrive");
    assert_eq!(offers(&drain(&mut acd)), vec![(10, vec![2])]);
}
