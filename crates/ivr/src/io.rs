//! What goes into an [`crate::IvrSession`] and what comes out: the call's
//! context, the actions for the shells, lookup requests and their results.

use domain::{Channel, CustomerId, PhoneNumber, Segment};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the engine knows about a call when it enters the IVR.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallContext {
    /// The caller's number in E.164, if presented.
    pub caller: Option<PhoneNumber>,
    /// The customer the number belongs to, if known.
    pub customer_id: Option<CustomerId>,
    /// The language stored on the customer (R2), if any.
    pub language: Option<String>,
    /// The customer's segment, if known (R4).
    pub segment: Option<Segment>,
    /// True when this number has called before (R2).
    pub has_called_before: bool,
    /// The IVR's maintenance flag is set (R1).
    pub maintenance: bool,
    /// The platform is overloaded (R1).
    pub overloaded: bool,
    /// Agents logged in per queue name (R1: no agent for a queue-only entry).
    pub agents_logged_in: BTreeMap<String, u32>,
    /// Extra variables (they override the flow's `vars`).
    pub vars: BTreeMap<String, String>,
}

/// One prompt file to play: `assets/prompts/<lang>/<name>.wav`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// Language folder.
    pub lang: String,
    /// File stem.
    pub name: String,
}

impl Prompt {
    /// The path relative to the prompts folder: `fr/welcome.wav`.
    pub fn path(&self) -> String {
        format!("{}/{}.wav", self.lang, self.name)
    }
}

/// Identifies one lookup request of a session (answers carry it back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LookupId(pub u64);

/// What to look up, fully rendered: the executor only performs it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LookupKind {
    /// A web-service call; the answer must be a JSON object.
    Http {
        /// `GET` or `POST`.
        method: String,
        /// Full URL (substituted values percent-encoded).
        url: String,
        /// JSON body for POST.
        body: Option<serde_json::Value>,
        /// Time allowed, ms.
        timeout_ms: u32,
    },
    /// A parameterised query on a named database; parameters are bound,
    /// never spliced into the text. The executor answers
    /// `{"rows": [{column: value, ...}, ...], "row_count": n}`.
    Sql {
        /// Database name from the platform configuration.
        db: String,
        /// SQL text with `?N` placeholders.
        query: String,
        /// Bound parameters, in order.
        params: Vec<String>,
        /// Time allowed, ms.
        timeout_ms: u32,
    },
}

/// Why a lookup failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", content = "detail", rename_all = "snake_case")]
pub enum LookupError {
    /// No answer in time.
    #[error("time-out")]
    Timeout,
    /// Connection or database error.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The service answered with an HTTP error status.
    #[error("HTTP status {0}")]
    Status(u16),
    /// The answer was not a JSON object or lacked a required field.
    #[error("bad answer: {0}")]
    BadAnswer(String),
}

/// Something the shells must do. Drained with [`crate::IvrSession::poll_action`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Play prompts in order; report the end with `handle_prompt_done`. With
    /// `barge_in`, a DTMF digit stops the playback (the interrupted playback
    /// is then not reported as done).
    Play {
        /// Files to play.
        prompts: Vec<Prompt>,
        /// Whether DTMF interrupts.
        barge_in: bool,
    },
    /// Start collecting DTMF (RFC 4733 events) for a menu or a digit entry.
    /// Informative: the session runs its own timers via `poll_timeout`.
    CollectDigits {
        /// Fewest digits accepted.
        min: u32,
        /// Most digits accepted.
        max: u32,
        /// Key that ends the entry, if any.
        terminator: Option<char>,
        /// Time allowed for the first digit after the prompts, ms.
        timeout_ms: u32,
    },
    /// Run a lookup and answer with `handle_lookup_result(now, id, ..)`.
    Lookup {
        /// Request id.
        id: LookupId,
        /// What to run.
        kind: LookupKind,
    },
    /// Store the caller's language on the customer record (R2).
    StoreLanguage {
        /// BCP 47 tag.
        lang: String,
    },
    /// Put the call in an ACD queue (the IVR is done with it).
    Queue {
        /// Queue name.
        queue: String,
        /// Routing priority (segment priority + the node's boost).
        priority: i32,
        /// The segment the priority came from.
        segment: Segment,
    },
    /// After hang-up: open a conversation for the caller on a digital
    /// channel, queue it, and send `first_message` (R4, choices 1-3).
    OpenConversation {
        /// Channel chosen by the caller.
        channel: Channel,
        /// The caller's number.
        to: Option<PhoneNumber>,
        /// ACD queue for the conversation.
        queue: String,
        /// Routing priority.
        priority: i32,
        /// Text of the first message, in the caller's language.
        first_message: String,
    },
    /// After hang-up: send a message to the caller (R1's SMS).
    SendMessage {
        /// Channel (SMS by default).
        channel: Channel,
        /// Recipient.
        to: Option<PhoneNumber>,
        /// Text in the caller's language.
        text: String,
    },
    /// Blind-transfer the call to a number (the IVR is done with it).
    Transfer {
        /// Destination.
        number: String,
    },
    /// Hang the call up.
    Hangup,
}
