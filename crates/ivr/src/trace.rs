//! The path a call took through the IVR, stored on the interaction and shown
//! to the agent at screen-pop. Bounded: a DTMF storm cannot grow it past
//! [`TRACE_LIMIT`] entries per list.

use serde::{Deserialize, Serialize};

/// Most entries kept per list; later ones are counted in `dropped`.
pub const TRACE_LIMIT: usize = 256;

/// The serialisable trace of one IVR session. Times are ms since the start.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// Flow name.
    pub flow: String,
    /// Flow version the call ran.
    pub flow_version: u64,
    /// Language at the end of the session.
    pub language: String,
    /// Nodes in the order visited.
    pub nodes: Vec<NodeVisit>,
    /// Digits received (also those ignored).
    pub digits: Vec<DigitEntry>,
    /// Lookups with their outcome.
    pub lookups: Vec<LookupEntry>,
    /// Entries not kept because a list was full.
    pub dropped: u32,
    /// How the session ended, once it has.
    pub outcome: Option<Outcome>,
    /// Total duration in the IVR, ms, once ended.
    pub duration_ms: Option<i64>,
}

/// One visit of a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeVisit {
    /// Node name.
    pub node: String,
    /// When it was entered, ms since start.
    pub at_ms: i64,
    /// Time spent in it, ms (set when it is left).
    pub duration_ms: Option<i64>,
}

/// One DTMF digit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigitEntry {
    /// The key.
    pub digit: char,
    /// When, ms since start.
    pub at_ms: i64,
    /// Node that was current.
    pub node: String,
    /// What became of it.
    pub use_: DigitUse,
}

/// What a digit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigitUse {
    /// Chose a menu option or was collected.
    Accepted,
    /// Not a valid option.
    Invalid,
    /// Arrived while nothing listened (non-interruptible prompt, lookup...).
    Ignored,
}

/// One lookup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LookupEntry {
    /// Node name.
    pub node: String,
    /// `http` or `sql`.
    pub kind: String,
    /// When it was sent, ms since start.
    pub at_ms: i64,
    /// Time to the answer or time-out, ms.
    pub duration_ms: Option<i64>,
    /// `ok` or the error text.
    pub outcome: Option<String>,
}

/// How an IVR session ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Put in an ACD queue.
    Queued {
        /// Queue name.
        queue: String,
    },
    /// Handed over to a digital channel (R4 1-3).
    DigitalHandover {
        /// Channel name.
        channel: String,
    },
    /// Transferred to a number.
    Transferred {
        /// Destination.
        number: String,
    },
    /// The IVR hung up (self-service done, unavailable...).
    HungUp,
    /// The caller hung up in the IVR.
    CallerHungUp,
    /// The session stopped itself on an internal guard (too many steps
    /// without input, missing node): it hung up.
    Aborted {
        /// Why.
        reason: String,
    },
}
