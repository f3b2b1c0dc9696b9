//! The in-memory shape of a flow: what a validated flow file becomes.
//! See `config/demo/flows/*.yaml` for the file syntax of every node kind.

use crate::calendar::Calendar;
use crate::error::Location;
use crate::template::Template;
use domain::{Channel, Segment};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A reference to another node, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    /// Node name.
    pub node: String,
    /// Where the reference is in the file.
    #[serde(skip)]
    pub loc: Location,
}

/// A prompt name (`welcome`), optionally pinned to a language (`en:lang_en`);
/// unpinned prompts play in the caller's current language. Names are
/// `[a-z0-9_]+`: they become file names `assets/prompts/<lang>/<name>.wav`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PromptRef {
    /// Pinned language, if any.
    pub lang: Option<String>,
    /// Prompt name.
    pub name: String,
    /// Where it was written.
    #[serde(skip)]
    pub loc: Location,
}

/// What to do with DTMF and silence while a list of prompts invites a choice:
/// shared by `menu`, `collect` and `offer_channels`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prompting {
    /// Prompts played when the node is entered (barge-in allowed).
    pub prompts: Vec<PromptRef>,
    /// Time allowed for the first digit after the prompts end, ms (default 5000).
    pub timeout_ms: u32,
    /// Extra attempts after the first (default 2, so 3 attempts in all).
    pub retries: u32,
    /// Played before re-prompting after a wrong entry (default `invalid_choice`).
    pub invalid_prompts: Vec<PromptRef>,
    /// Played before re-prompting after silence (default `no_input`).
    pub timeout_prompts: Vec<PromptRef>,
    /// Where to go when attempts are exhausted: the safe path.
    pub on_failure: Target,
}

/// Which queue a call or conversation joins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum QueueChoice {
    /// Always this queue.
    Fixed(String),
    /// One queue per customer segment (R4: vip / business / general).
    BySegment(BTreeMap<Segment, String>),
}

/// How a `say` node speaks its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SayAs {
    /// Digit by digit (`1234` → one two three four): PUK codes, numbers.
    Digits,
    /// A whole number (`1234` → one thousand two hundred thirty four).
    Number,
    /// A sum of money in [`SayNode::currency`].
    Amount,
    /// A calendar date `YYYY-MM-DD` (a longer RFC 3339 text is cut to its date).
    Date,
}

/// A `say` node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SayNode {
    /// The value to speak.
    pub value: Template,
    /// How to speak it.
    pub say_as: SayAs,
    /// Currency code for amounts (`xof`, `eur`, `usd`).
    pub currency: String,
    /// Whether a digit may interrupt.
    pub barge_in: bool,
    /// Next node.
    pub next: Target,
    /// Where to go when the value cannot be spoken (default: `next`).
    pub on_error: Option<Target>,
}

/// A web-service or SQL lookup's common part.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LookupCommon {
    /// Time allowed to the executor, ms.
    pub timeout_ms: u32,
    /// Variables to set from the result: (variable, JSON pointer RFC 6901, required).
    /// A required pointer that is missing, null or not a scalar makes the lookup fail.
    pub result: Vec<(String, String, bool)>,
    /// Next node on success.
    pub next: Target,
    /// Safe path on failure or time-out, after [`LookupCommon::apology`].
    pub on_error: Target,
    /// Spoken on failure (default `sorry_technical`).
    pub apology: Vec<PromptRef>,
}

/// HTTP method of a web-service lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum HttpMethod {
    /// GET, no body.
    Get,
    /// POST with a JSON body.
    Post,
}

/// A JSON body template: strings are [`Template`]s, the rest literal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum JsonTemplate {
    /// A templated string.
    Str(Template),
    /// A literal number, boolean or null.
    Lit(serde_json::Value),
    /// A list.
    Array(Vec<JsonTemplate>),
    /// An object (key order kept).
    Object(Vec<(String, JsonTemplate)>),
}

/// Texts per language (a plain string applies to every language).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LangText(pub BTreeMap<String, Template>);

/// One condition of a `condition` node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Cond {
    /// Inside open hours of the named calendar (and not a holiday).
    Open(String),
    /// Outside open hours or on a holiday.
    Closed(String),
    /// On a holiday of the named calendar.
    Holiday(String),
    /// The maintenance flag from [`crate::CallContext`] equals this.
    Maintenance(bool),
    /// The overload flag from [`crate::CallContext`] equals this.
    Overloaded(bool),
    /// No agent is logged in for the named queue.
    NoAgents(String),
    /// The caller's number has called before equals this (R2).
    CalledBefore(bool),
    /// The caller is a known customer equals this.
    KnownCustomer(bool),
    /// A language is stored for the caller equals this.
    LanguageKnown(bool),
    /// The caller's segment is one of these.
    Segment(Vec<Segment>),
    /// A variable compared with a value (numerically when both are numbers).
    Var {
        /// Variable name.
        name: String,
        /// Operator.
        op: CmpOp,
        /// Right-hand side.
        value: Template,
    },
    /// A variable is set (true) or not (false).
    VarExists(String, bool),
    /// Every sub-condition holds.
    All(Vec<Cond>),
    /// Some sub-condition holds.
    Any(Vec<Cond>),
    /// The sub-condition does not hold.
    Not(Box<Cond>),
}

/// Comparison operators of [`Cond::Var`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CmpOp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Less than (numbers only).
    Lt,
    /// Less or equal (numbers only).
    Le,
    /// Greater than (numbers only).
    Gt,
    /// Greater or equal (numbers only).
    Ge,
}

/// Every node kind (the capability list of issue 5). `next`/`on_*`/`voice`
/// fields name the node to go to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum NodeKind {
    /// Play prompts, then go on.
    Play {
        /// Prompts in order.
        prompts: Vec<PromptRef>,
        /// Whether a digit skips the rest (the digit is consumed).
        barge_in: bool,
        /// Next node.
        next: Target,
    },
    /// A DTMF menu: one digit chooses an option.
    Menu {
        /// Prompts, time-out, retries, failure path.
        prompting: Prompting,
        /// Key → node.
        options: BTreeMap<char, Target>,
    },
    /// Collect several digits into a variable.
    Collect {
        /// Prompts, time-out (first digit), retries, failure path.
        prompting: Prompting,
        /// Variable receiving the digits.
        var: String,
        /// Fewest digits accepted.
        min_digits: u32,
        /// Entry ends by itself at this many digits.
        max_digits: u32,
        /// Key that ends the entry early.
        terminator: Option<char>,
        /// Time allowed between digits, ms.
        inter_digit_timeout_ms: u32,
        /// Next node once collected.
        next: Target,
    },
    /// Say a value (digits, number, amount, date) from word prompts.
    Say(SayNode),
    /// Change the caller's language and store it on the customer (R2).
    SetLanguage {
        /// Language tag (literal or `{{var}}`); undeclared values are ignored.
        language: Template,
        /// Next node.
        next: Target,
    },
    /// Take the first branch whose condition holds, else `otherwise`.
    Condition {
        /// Conditions and their targets, in order.
        branches: Vec<(Cond, Target)>,
        /// Target when no branch holds.
        otherwise: Target,
    },
    /// Web-service lookup (HTTP JSON).
    Http {
        /// Name of a base URL in the flow's `services`.
        service: String,
        /// GET or POST.
        method: HttpMethod,
        /// Path and query, values percent-encoded.
        path: Template,
        /// JSON body for POST.
        body: Option<JsonTemplate>,
        /// Time-out, result mapping, success and failure paths.
        common: LookupCommon,
    },
    /// SQL lookup on a named database, bound parameters only.
    Sql {
        /// Database name in the platform configuration.
        db: String,
        /// One statement with `?N` placeholders, never templated.
        query: String,
        /// Parameter templates, bound in order.
        params: Vec<Template>,
        /// Time-out, result mapping, success and failure paths.
        common: LookupCommon,
    },
    /// Join an ACD queue (the call leaves the IVR).
    Queue {
        /// Fixed queue or one per segment.
        queue: QueueChoice,
        /// Added to the segment's priority.
        priority_boost: i32,
    },
    /// R4: offer SMS / WhatsApp / Messenger / voice.
    OfferChannels {
        /// Prompts, time-out, retries, failure path.
        prompting: Prompting,
        /// Key → digital channel, or `None` for voice.
        options: BTreeMap<char, Option<Channel>>,
        /// Played after a digital choice, before hanging up.
        confirm: Vec<PromptRef>,
        /// First message of the conversation, per language.
        first_message: LangText,
        /// Queue of the conversation.
        queue: QueueChoice,
        /// Node for the voice choice.
        voice: Target,
    },
    /// Send a message once the call is over (R1).
    SendMessage {
        /// Channel (SMS by default).
        channel: Channel,
        /// Text per language.
        text: LangText,
        /// Next node (the call goes on).
        next: Target,
    },
    /// Blind transfer to a number.
    Transfer {
        /// Destination number.
        number: Template,
    },
    /// Set variables.
    Set {
        /// Name → value template, in order.
        vars: Vec<(String, Template)>,
        /// Next node.
        next: Target,
    },
    /// Go to another node.
    Goto {
        /// Destination.
        target: Target,
    },
    /// End the call.
    Hangup,
}

/// A named node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeDef {
    /// Node name (unique in the flow).
    pub name: String,
    /// Where the node starts in the file.
    #[serde(skip)]
    pub loc: Location,
    /// What it does.
    pub kind: NodeKind,
}

/// One loaded flow (one entry point).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Flow {
    /// Flow name (the entry point's name).
    pub name: String,
    /// The file it came from.
    pub file: String,
    /// Version number given by [`crate::FlowSet`] (1 for the first load).
    pub version: u64,
    /// Languages the flow speaks (BCP 47 tags), the first being the default.
    pub languages: Vec<String>,
    /// Language used when a prompt (or number grammar) is missing in another.
    pub fallback: BTreeMap<String, String>,
    /// First node.
    pub start: Target,
    /// Nodes, in file order.
    pub nodes: Vec<NodeDef>,
    /// Open-hours calendars by name.
    pub calendars: BTreeMap<String, Calendar>,
    /// Web-service base URLs by name (`operator: http://127.0.0.1:8089`).
    pub services: BTreeMap<String, String>,
    /// Default variables (the engine's [`crate::CallContext::vars`] override them).
    pub vars: BTreeMap<String, String>,
    /// Prompts that exist, as (language, name): filled by validation.
    #[serde(skip)]
    pub(crate) available: BTreeSet<(String, String)>,
}

impl Flow {
    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&NodeDef> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The default language (the first declared).
    pub fn default_language(&self) -> &str {
        self.languages.first().map(String::as_str).unwrap_or("fr")
    }

    /// The language whose file plays prompt `name` for a caller speaking
    /// `lang`: `lang` itself when the file exists, else its fallback.
    pub fn prompt_language(&self, lang: &str, name: &str) -> String {
        if self
            .available
            .contains(&(lang.to_string(), name.to_string()))
        {
            return lang.to_string();
        }
        match self.fallback.get(lang) {
            Some(fb) => fb.clone(),
            None => lang.to_string(),
        }
    }
}
