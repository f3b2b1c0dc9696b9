//! The seven strategies pick the agent they promise.

mod common;
use common::*;
use domain::*;
use routing::*;

/// Offers, accepts and ends a task at once; returns the agent chosen.
fn serve(acd: &mut Acd, id: i64, q: i64, at: i64) -> i64 {
    acd.handle_task_arrived(t(at), voice(id, q))
        .expect("arrive");
    let o = offers(&drain(acd));
    assert_eq!(o.len(), 1, "one offer for task {id}");
    let agent = o[0].1[0];
    acd.handle_offer_accepted(t(at), InteractionId(id), AgentId(agent))
        .expect("accept");
    acd.handle_task_ended(t(at + 1), InteractionId(id))
        .expect("end");
    drain(acd);
    agent
}

#[test]
fn longest_idle_goes_to_the_agent_idle_longest() {
    let mut acd = acd(vec![queue(1, &[("a", 1)], Strategy::LongestIdle)]);
    for (i, s) in [(1, 0), (2, 1), (3, 2)] {
        acd.handle_agent_login(t(s), agent(i, &[("a", 5)]))
            .expect("login");
    }
    assert_eq!(serve(&mut acd, 10, 1, 5), 1);
    assert_eq!(serve(&mut acd, 11, 1, 10), 2);
    assert_eq!(serve(&mut acd, 12, 1, 15), 3);
    assert_eq!(serve(&mut acd, 13, 1, 20), 1);
}

#[test]
fn round_robin_remembers_the_last_agent() {
    let mut acd = acd(vec![queue(1, &[], Strategy::RoundRobin)]);
    for i in 1..=3 {
        acd.handle_agent_login(t(0), agent(i, &[])).expect("login");
    }
    let picks: Vec<i64> = (0..5).map(|k| serve(&mut acd, 10 + k, 1, 5 * k)).collect();
    assert_eq!(picks, vec![1, 2, 3, 1, 2]);
}

#[test]
fn least_calls_beats_idle_time() {
    let mut acd = acd(vec![queue(1, &[], Strategy::LeastCalls)]);
    acd.handle_agent_login(t(0), agent(1, &[])).expect("login");
    assert_eq!(serve(&mut acd, 10, 1, 1), 1);
    acd.handle_agent_login(t(30), agent(2, &[])).expect("login");
    // agent 1 has been idle since t(2), agent 2 since t(30), but 1 has a call
    assert_eq!(serve(&mut acd, 11, 1, 40), 2);
    assert_eq!(
        acd.agent_stats(AgentId(1), t(40)).map(|s| s.calls_today),
        Some(1)
    );
}

#[test]
fn skills_weighted_prefers_the_best_level() {
    let mut acd = acd(vec![queue(1, &[("a", 2)], Strategy::SkillsWeighted)]);
    for (i, l) in [(1, 3), (2, 9), (3, 6)] {
        acd.handle_agent_login(t(0), agent(i, &[("a", l)]))
            .expect("login");
    }
    assert_eq!(serve(&mut acd, 10, 1, 1), 2);
    assert_eq!(serve(&mut acd, 11, 1, 5), 2);
    let e = {
        acd.handle_agent_state(
            t(6),
            AgentId(2),
            AgentInput::Pause {
                reason: "break".into(),
            },
        )
        .expect("pause");
        acd.handle_task_arrived(t(7), voice(12, 1)).expect("arrive");
        assert_eq!(offers(&drain(&mut acd)), vec![(12, vec![3])]);
        acd.explain(InteractionId(12)).cloned().expect("explained")
    };
    assert_eq!(e.strategy, Strategy::SkillsWeighted);
    assert_eq!(e.agents[0].skill_level_sum, 6);
    assert_eq!(e.agents[0].rank_key.0, -6);
}

#[test]
fn linear_always_starts_at_the_top_of_the_list() {
    let mut acd = acd(vec![queue(1, &[], Strategy::Linear)]);
    for (i, order) in [(1, 3), (2, 1), (3, 2)] {
        let mut p = agent(i, &[]);
        p.order = order;
        acd.handle_agent_login(t(0), p).expect("login");
    }
    assert_eq!(serve(&mut acd, 10, 1, 1), 2);
    assert_eq!(serve(&mut acd, 11, 1, 5), 2);
    acd.handle_agent_state(t(9), AgentId(2), AgentInput::Pause { reason: "x".into() })
        .expect("pause");
    assert_eq!(serve(&mut acd, 12, 1, 10), 3);
}

#[test]
fn random_spreads_and_is_reproducible() {
    let run = || {
        let mut acd = acd(vec![queue(1, &[], Strategy::Random)]);
        for i in 1..=4 {
            acd.handle_agent_login(t(0), agent(i, &[])).expect("login");
        }
        (0..400)
            .map(|k| serve(&mut acd, 10 + k, 1, 2 * k))
            .collect::<Vec<_>>()
    };
    let a = run();
    assert_eq!(a, run(), "same seed, same draws");
    for agent in 1..=4 {
        let n = a.iter().filter(|x| **x == agent).count();
        assert!((60..=140).contains(&n), "agent {agent} got {n} of 400");
    }
}

#[test]
fn ring_all_rings_everyone_and_the_first_to_answer_wins() {
    let mut acd = acd(vec![queue(1, &[], Strategy::RingAll)]);
    for i in 1..=3 {
        acd.handle_agent_login(t(0), agent(i, &[])).expect("login");
    }
    acd.handle_task_arrived(t(1), voice(10, 1)).expect("arrive");
    let o = offers(&drain(&mut acd));
    assert_eq!(o.len(), 1);
    let mut rung = o[0].1.clone();
    rung.sort_unstable();
    assert_eq!(rung, vec![1, 2, 3]);
    for i in 1..=3 {
        assert_eq!(acd.agent_status(AgentId(i)), Some(&AgentStatus::Reserved));
    }
    acd.handle_offer_accepted(t(3), InteractionId(10), AgentId(2))
        .expect("accept");
    let mut cancelled: Vec<i64> = drain(&mut acd)
        .iter()
        .filter_map(|d| match d {
            Decision::CancelOffer { agent, .. } => Some(agent.0),
            _ => None,
        })
        .collect();
    cancelled.sort_unstable();
    assert_eq!(cancelled, vec![1, 3]);
    assert_eq!(acd.agent_status(AgentId(1)), Some(&AgentStatus::Available));
    assert_eq!(acd.agent_status(AgentId(2)), Some(&AgentStatus::Busy));
    // a late answer from a cancelled agent is refused
    assert!(
        acd.handle_offer_accepted(t(4), InteractionId(10), AgentId(3))
            .is_err()
    );
    acd.check_invariants().expect("consistent");
}

#[test]
fn ring_all_rejections_keep_ringing_the_others() {
    let mut acd = acd(vec![queue(1, &[], Strategy::RingAll)]);
    for i in 1..=2 {
        acd.handle_agent_login(t(0), agent(i, &[])).expect("login");
    }
    acd.handle_task_arrived(t(1), voice(10, 1)).expect("arrive");
    drain(&mut acd);
    acd.handle_offer_rejected(t(2), InteractionId(10), AgentId(1))
        .expect("reject");
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
    assert_eq!(acd.agent_status(AgentId(2)), Some(&AgentStatus::Reserved));
    acd.handle_offer_accepted(t(3), InteractionId(10), AgentId(2))
        .expect("accept");
    acd.check_invariants().expect("consistent");
}
