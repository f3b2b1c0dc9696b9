//! Helpers shared by the integration tests.
#![allow(dead_code)]

use domain::*;
use routing::*;

pub fn t(s: i64) -> Timestamp {
    Timestamp::from_millis(1_000_000 + s * 1000)
}

pub fn sk(name: &str, level: u8) -> SkillLevel {
    SkillLevel {
        skill: name.into(),
        level,
    }
}

pub fn queue(id: i64, skills: &[(&str, u8)], strategy: Strategy) -> QueueConfig {
    let mut q = QueueConfig::new(Queue {
        id: QueueId(id),
        name: format!("q{id}"),
        required_skills: skills.iter().map(|(s, l)| sk(s, *l)).collect(),
        strategy,
        service_level: ServiceLevel::default(),
        wrap_up_s: 0,
        max_wait_s: 0,
        ring_timeout_s: 15,
        priority: 0,
    });
    q.announce_on_arrival = false;
    q
}

pub fn acd(queues: Vec<QueueConfig>) -> Acd {
    Acd::new(AcdConfig {
        queues,
        ..AcdConfig::default()
    })
    .expect("valid config")
}

pub fn agent(id: i64, skills: &[(&str, u8)]) -> AgentProfile {
    AgentProfile::new(AgentId(id), skills.iter().map(|(s, l)| sk(s, *l)).collect())
}

pub fn voice(id: i64, q: i64) -> Task {
    Task::new(InteractionId(id), QueueId(q), Channel::Voice, Segment::Mass)
}

pub fn drain(acd: &mut Acd) -> Vec<Decision> {
    std::iter::from_fn(|| acd.poll_decision()).collect()
}

/// The (task, agents) of every offer among the decisions.
pub fn offers(ds: &[Decision]) -> Vec<(i64, Vec<i64>)> {
    ds.iter()
        .filter_map(|d| match d {
            Decision::Offer { task, agents, .. } => {
                Some((task.0, agents.iter().map(|a| a.0).collect()))
            }
            Decision::CallbackDue { task, agent, .. } => Some((task.0, vec![agent.0])),
            _ => None,
        })
        .collect()
}
