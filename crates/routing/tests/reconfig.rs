//! Queue settings changed or queues added while the ACD runs.

mod common;

use common::*;
use domain::*;
use routing::*;

fn ring_until(ds: &[Decision]) -> Option<Timestamp> {
    ds.iter().find_map(|d| match d {
        Decision::Offer { ring_until, .. } => Some(*ring_until),
        _ => None,
    })
}

#[test]
fn a_new_ring_time_out_applies_to_the_next_offer() {
    let mut a = acd(vec![queue(1, &[("billing", 1)], Strategy::LongestIdle)]);
    a.handle_agent_login(t(0), agent(7, &[("billing", 5)]))
        .unwrap();
    a.handle_task_arrived(t(1), voice(100, 1)).unwrap();
    assert_eq!(
        ring_until(&drain(&mut a)),
        Some(t(16)),
        "15 s as configured"
    );
    a.handle_offer_accepted(t(2), InteractionId(100), AgentId(7))
        .unwrap();
    a.handle_task_ended(t(3), InteractionId(100)).unwrap();
    drain(&mut a);

    let mut q = queue(1, &[("billing", 1)], Strategy::LongestIdle);
    q.queue.ring_timeout_s = 5;
    a.handle_queue_config(t(4), q).unwrap();
    a.handle_task_arrived(t(5), voice(101, 1)).unwrap();
    assert_eq!(ring_until(&drain(&mut a)), Some(t(10)), "5 s from now on");
    a.check_invariants().unwrap();
}

#[test]
fn a_queue_added_live_takes_calls_from_agents_already_logged_in() {
    let mut a = acd(vec![queue(1, &[("billing", 1)], Strategy::LongestIdle)]);
    a.handle_agent_login(t(0), agent(7, &[("billing", 5), ("vip_care", 6)]))
        .unwrap();
    a.handle_agent_login(t(0), agent(8, &[("billing", 5)]))
        .unwrap();
    assert!(
        a.handle_task_arrived(t(1), voice(100, 2)).is_err(),
        "queue 2 does not exist yet"
    );
    a.handle_queue_config(t(2), queue(2, &[("vip_care", 5)], Strategy::LongestIdle))
        .unwrap();
    a.handle_task_arrived(t(3), voice(101, 2)).unwrap();
    assert_eq!(offers(&drain(&mut a)), vec![(101, vec![7])]);
    let s = a.queue_stats(QueueId(2)).unwrap();
    assert_eq!(
        (s.agents_available + s.agents_busy, s.waiting),
        (1, 0),
        "agent 7 (ringing) is its only member"
    );
    a.check_invariants().unwrap();
}

#[test]
fn required_skills_changed_live_move_members() {
    let mut a = acd(vec![queue(1, &[("billing", 1)], Strategy::LongestIdle)]);
    a.handle_agent_login(t(0), agent(7, &[("billing", 5)]))
        .unwrap();
    a.handle_agent_login(t(0), agent(8, &[("billing", 5), ("french", 8)]))
        .unwrap();
    // Now the queue needs French: agent 7 is no longer a member.
    a.handle_queue_config(
        t(1),
        queue(1, &[("billing", 1), ("french", 5)], Strategy::LongestIdle),
    )
    .unwrap();
    a.handle_task_arrived(t(2), voice(100, 1)).unwrap();
    assert_eq!(offers(&drain(&mut a)), vec![(100, vec![8])]);
    a.handle_task_arrived(t(3), voice(101, 1)).unwrap();
    assert!(offers(&drain(&mut a)).is_empty(), "7 may not take it");
    assert_eq!(a.queue_stats(QueueId(1)).unwrap().waiting, 1);
    a.check_invariants().unwrap();
}

#[test]
fn an_invalid_change_changes_nothing() {
    let mut a = acd(vec![queue(1, &[("billing", 1)], Strategy::LongestIdle)]);
    let mut bad = queue(1, &[("billing", 1)], Strategy::LongestIdle);
    bad.overflow_to = Some(OverflowTo {
        after_s: 30,
        queue: QueueId(99),
    });
    assert!(matches!(
        a.handle_queue_config(t(1), bad),
        Err(ConfigError::UnknownOverflowTarget(..))
    ));
    let mut bad = queue(1, &[("billing", 11)], Strategy::LongestIdle);
    bad.queue.ring_timeout_s = 1;
    assert!(a.handle_queue_config(t(1), bad).is_err());
    a.handle_agent_login(t(2), agent(7, &[("billing", 5)]))
        .unwrap();
    a.handle_task_arrived(t(3), voice(100, 1)).unwrap();
    assert_eq!(ring_until(&drain(&mut a)), Some(t(18)), "still 15 s");
}
