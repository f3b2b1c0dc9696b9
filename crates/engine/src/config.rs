//! What the engine needs to know that is not in the store: where prompts and
//! recordings live, which entry point runs which flow, thresholds.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// Where a dialled number (DID) leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryPoint {
    /// Run this IVR flow (by its `name`).
    Flow(String),
    /// Queue the call directly (by queue name).
    Queue(String),
}

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Folder of prompts: `<dir>/<lang>/<name>.wav`.
    pub prompts_dir: PathBuf,
    /// Folder of IVR flow files, re-read by [`crate::EngineHandle::reload_flows`].
    pub flows_dir: Option<PathBuf>,
    /// Music on hold played to waiting callers (looped), if any.
    pub music_on_hold: Option<PathBuf>,
    /// Folder for call recordings (stereo WAV: caller left, agent right).
    pub recordings_dir: PathBuf,
    /// Entry point names (from the voice shell's DID map) → flow or queue.
    pub entry_points: HashMap<String, EntryPoint>,
    /// ISO 3166-1 alpha-2 country for national caller numbers.
    pub default_country: String,
    /// Abandons shorter than this (ms) are "short" and left out of the
    /// abandon rate (the usual 5 s threshold).
    pub short_abandon_ms: i64,
    /// Queues whose calls are recorded (by name).
    pub record_queues: HashSet<String>,
    /// Queues whose calls get a satisfaction survey after the call (by name).
    pub survey_queues: HashSet<String>,
    /// Language of prompts when the caller's is unknown.
    pub default_language: String,
    /// Named SQL databases for IVR lookups: name → `sqlite://PATH`.
    pub sql_databases: HashMap<String, String>,
    /// Maintenance flag: flows see `maintenance: true` (R1).
    pub maintenance: bool,
    /// Extra time given to the phone over the ACD's ring time-out, so that
    /// ring-no-answer is the ACD's decision, ms.
    pub ring_grace_ms: u64,
    /// Trunk (by name) for callbacks' outbound legs; `None`: callbacks are
    /// refused.
    pub callback_trunk: Option<String>,
    /// Caller-ID presented on callbacks (the trunk's default when `None`).
    pub callback_caller_id: Option<String>,
    /// The DTMF digit a waiting caller presses to be called back without
    /// losing their place (announced after the queue position when
    /// callbacks are possible). `None`: no callback by phone.
    pub queue_callback_digit: Option<char>,
    /// Folder of the event writer's journal (`<data dir>/journal`): writes
    /// wait there, fsync'd, while the store is unavailable
    /// ([`crate::writer`]).
    pub journal_dir: PathBuf,
    /// Capacity of the event writer's channel, writes; when full, the
    /// engine waits (backpressure, [`crate::writer::WriterHandle::submit`]).
    pub writer_capacity: usize,
    /// Load shedding: most calls in IVR flows at once (answered and running
    /// a flow, or being identified before their flow starts). A new call to
    /// a flow entry point above it is refused with `503 Service Unavailable`
    /// and `Retry-After` before it is answered (RFC 3261 §21.5.4), so the
    /// operator's switch retries or overflows it elsewhere. Calls to a queue
    /// entry point are never refused (they count only while their caller is
    /// being identified). `None`: no limit. The count is the gauge
    /// `switchboard_calls_in_ivr`; refusals count in
    /// `switchboard_ivr_calls_shed_total`. The voice stack's own limit on
    /// calls in setup (`voice::VoiceConfig::max_calls_in_setup`) applies
    /// before this one.
    pub max_calls_in_ivr: Option<usize>,
    /// The site's time zone (IANA): the live "today" figures (queue
    /// counters and service level, agents' calls today) restart at each
    /// local midnight there ([`domain::Timestamp::next_local_midnight`]).
    /// Default UTC.
    pub time_zone: jiff::tz::TimeZone,
    /// The chatbot (SPEC §3.4): `None` (the default) queues every digital
    /// conversation for an agent at once.
    pub bot: Option<BotWiring>,
}

/// The chatbot in front of the ACD: a new conversation on one of
/// `channels` is served by a [`bot::BotSession`] first and joins its queue
/// only on hand-over.
#[derive(Clone, Debug)]
pub struct BotWiring {
    /// Digital channels the bot serves (never [`domain::Channel::Voice`]).
    pub channels: HashSet<domain::Channel>,
    /// The knowledge base's BM25 index, shared by every session.
    pub retriever: std::sync::Arc<bot::Retriever>,
    /// Thresholds, code limits, self-service lookups.
    pub config: std::sync::Arc<bot::BotConfig>,
    /// A conversation the customer leaves with the bot for this long (ms)
    /// is closed (`ended`, reason `bot_completed`): the bot contained it.
    pub idle_close_ms: i64,
    /// Most conversations with the bot at once. Overflow policy: a new
    /// conversation above it is queued for an agent at once (logged).
    pub max_sessions: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            prompts_dir: PathBuf::from("assets/prompts"),
            flows_dir: None,
            music_on_hold: Some(PathBuf::from("assets/moh/default.wav")),
            recordings_dir: PathBuf::from("data/recordings"),
            entry_points: HashMap::new(),
            default_country: "BJ".into(),
            short_abandon_ms: 5_000,
            record_queues: HashSet::new(),
            survey_queues: HashSet::new(),
            default_language: "fr".into(),
            sql_databases: HashMap::new(),
            maintenance: false,
            ring_grace_ms: 2_000,
            callback_trunk: None,
            callback_caller_id: None,
            queue_callback_digit: Some('*'),
            journal_dir: PathBuf::from("data/journal"),
            writer_capacity: 4096,
            max_calls_in_ivr: Some(2_000),
            time_zone: jiff::tz::TimeZone::UTC,
            bot: None,
        }
    }
}
