//! Errors of the routing core: one enum for configuration, one for inputs
//! the core refuses (unknown ids, inputs that do not fit the current state).

use domain::{AgentId, InteractionId, QueueId};

/// A configuration the ACD cannot run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Two queues share an id.
    #[error("queue {0} is configured twice")]
    DuplicateQueue(QueueId),
    /// A skill name or level is invalid.
    #[error("queue {0}: {1}")]
    BadSkill(QueueId, String),
    /// An overflow rule points at a queue that does not exist (or itself).
    #[error("queue {0}: overflow target {1} is not another configured queue")]
    UnknownOverflowTarget(QueueId, QueueId),
}

/// An input the ACD refused. The state is unchanged when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// The queue is not configured.
    #[error("unknown queue {0}")]
    UnknownQueue(QueueId),
    /// The task is not known (never arrived, or already ended).
    #[error("unknown task {0}")]
    UnknownTask(InteractionId),
    /// A task with this id is already in the ACD.
    #[error("task {0} is already known")]
    DuplicateTask(InteractionId),
    /// The agent never logged in or is logged out.
    #[error("agent {0} is not logged in")]
    NotLoggedIn(AgentId),
    /// The agent is already logged in.
    #[error("agent {0} is already logged in")]
    AlreadyLoggedIn(AgentId),
    /// The agent has no pending offer for this task.
    #[error("agent {agent} has no pending offer for task {task}")]
    NoSuchOffer {
        /// The task named by the input.
        task: InteractionId,
        /// The agent named by the input.
        agent: AgentId,
    },
    /// The input does not fit the task's state (e.g. abandon of a task
    /// already answered).
    #[error("task {0}: {1}")]
    WrongTaskState(InteractionId, &'static str),
    /// A skill level is outside 1..=10.
    #[error("agent {0}: {1}")]
    BadSkill(AgentId, String),
}
