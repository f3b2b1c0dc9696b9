//! Configuration, layered: built-in defaults, then an optional TOML file
//! (`--config FILE`), then environment variables `SWITCHBOARD_<SECTION>__<KEY>`
//! (double underscore between section and key, e.g.
//! `SWITCHBOARD_DATABASE__URL=postgres://...`, `SWITCHBOARD_HTTP__LISTEN=0.0.0.0:9090`).

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// All settings of a node.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where local files live (the SQLite database, demo credentials, recordings).
    pub data_dir: PathBuf,
    /// HTTP listener.
    pub http: HttpSettings,
    /// Database.
    pub database: DatabaseSettings,
    /// Demo configuration.
    pub demo: DemoSettings,
    /// Phone number handling.
    pub phone: PhoneSettings,
    /// Authentication.
    pub auth: AuthSettings,
    /// Digital channels: SMS, e-mail, WhatsApp/Messenger/Instagram, web chat.
    #[serde(default)]
    pub channels: ChannelsSettings,
    /// SIP (voice) service.
    #[serde(default)]
    pub sip: SipSettings,
    /// The engine: flows, prompts, recordings, entry points.
    #[serde(default)]
    pub engine: EngineSettings,
    /// The agent desktop.
    #[serde(default)]
    pub desktop: DesktopSettings,
    /// Backups: key, schedule, retention (`switchboard backup ...`).
    #[serde(default)]
    pub backup: BackupSettings,
    /// The `--config` file these settings came from (set by the CLI; backed up).
    #[serde(skip)]
    pub config_file: Option<PathBuf>,
    /// The audit trail.
    #[serde(default)]
    pub audit: AuditSettings,
    /// The site: its time zone.
    #[serde(default)]
    pub site: SiteSettings,
    /// Mobile agents' positions (issue 22).
    #[serde(default)]
    pub positions: PositionSettings,
    /// The supervisors' map of agents.
    #[serde(default)]
    pub map: MapSettings,
    /// Scheduled e-mailed reports.
    #[serde(default)]
    pub reports: ReportsSettings,
    /// The chatbot in front of the digital queues (SPEC §3.4).
    #[serde(default)]
    pub bot: BotSettings,
    /// SLA incidents raised by the platform (issue 19).
    #[serde(default)]
    pub incidents: IncidentSettings,
}

/// `[bot]`: the chatbot that answers digital conversations before (or
/// instead of) an agent (SPEC §3.4, issue 20).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotSettings {
    /// Serve conversations at all (default true: the demo answers web
    /// chat visitors with the bot).
    pub enabled: bool,
    /// Digital channels the bot takes first (`webchat`, `whatsapp`,
    /// `messenger`, `instagram`, `sms`; default `["webchat"]`). A new
    /// conversation on another channel is queued for an agent at once.
    pub channels: Vec<String>,
    /// Folder of the knowledge base: `<kb_dir>/articles.toml` (default
    /// `config/demo/kb`).
    pub kb_dir: PathBuf,
    /// Self-service lookups (PUK, balance, last bills) on the IVR's
    /// connectors, in `bot::Lookups`' shape; none by default (the flows
    /// then answer with their article's generic text).
    pub lookups: bot::Lookups,
    /// A conversation left with the bot this long (seconds, default 1800)
    /// is closed as contained (`ended`, reason `bot_completed`).
    pub idle_close_s: u64,
    /// Most conversations with the bot at once (default 10,000); above it
    /// new conversations go to agents at once.
    pub max_sessions: usize,
}

impl Default for BotSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            channels: vec!["webchat".into()],
            kb_dir: PathBuf::from("config/demo/kb"),
            lookups: bot::Lookups::default(),
            idle_close_s: 1800,
            max_sessions: 10_000,
        }
    }
}

/// `[incidents]`: the SLA incident desk of `serve` (SPEC §8, SLA annex).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentSettings {
    /// How often the desk checks the store and runs its SLA timers, seconds
    /// (default 30; at least 1).
    pub tick_seconds: u64,
    /// Where notifications are POSTed as JSON (a webhook to the on-call
    /// tool); empty (the default): notifications are only logged.
    pub webhook_url: String,
    /// Disk usage of the data dir's file system that raises an "equipment /
    /// disk" incident, % (default 90; 1..=100).
    pub disk_full_percent: u8,
}

impl Default for IncidentSettings {
    fn default() -> Self {
        Self {
            tick_seconds: 30,
            webhook_url: String::new(),
            disk_full_percent: 90,
        }
    }
}

/// `[reports]`: reports e-mailed on a schedule (through `[channels.smtp]`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportsSettings {
    /// `[[reports.schedules]]`, one per report.
    pub schedules: Vec<ScheduledReportSettings>,
}

/// One `[[reports.schedules]]` entry: the KPI report of the last complete
/// day, week or month, in `[site] time_zone`, e-mailed at a local time.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledReportSettings {
    /// Unique name (`daily-kpis`), used by `POST /api/v1/reports/schedules/{name}/run`.
    pub name: String,
    /// `day` (yesterday, every day), `week` (last week, on Mondays) or
    /// `month` (last month, on the 1st).
    pub every: String,
    /// Local time of day `HH:MM` (default `07:00`).
    #[serde(default = "default_report_at")]
    pub at: String,
    /// `xlsx` (default) or `pdf`.
    #[serde(default = "default_report_format")]
    pub format: String,
    /// `fr` (default) or `en`.
    #[serde(default = "default_report_lang")]
    pub lang: String,
    /// Recipients' addresses (at least one).
    pub to: Vec<String>,
    /// Only this queue (by name); default every queue.
    #[serde(default)]
    pub queue: Option<String>,
}

fn default_report_at() -> String {
    "07:00".into()
}

fn default_report_format() -> String {
    "xlsx".into()
}

fn default_report_lang() -> String {
    "fr".into()
}

/// `[positions]`: agents' positions shared by their browsers (SPEC §6.1).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PositionSettings {
    /// Accept positions at all (default true; an agent still has to consent
    /// on `/agent`).
    pub enabled: bool,
    /// How often a consenting browser sends its position, seconds
    /// (default 60; at least 5).
    pub interval_s: u64,
    /// Days positions are kept; older ones are deleted by an hourly job
    /// (default 30; at least 1).
    pub retention_days: u32,
}

impl Default for PositionSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_s: 60,
            retention_days: 30,
        }
    }
}

/// `[map]`: the background of the supervisors' map (`/map`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MapSettings {
    /// Tile server URL template in Leaflet's form
    /// (`https://tile.example/{z}/{x}/{y}.png`). Empty (the default): no
    /// tiles, an offline background (a degree grid) drawn in the browser,
    /// so the map works on a closed network.
    pub tile_url: String,
    /// Attribution shown under the tiles (required by most tile servers'
    /// terms, e.g. "© OpenStreetMap contributors").
    pub attribution: String,
    /// Initial centre `[lat, lon]`, degrees (default Cotonou).
    pub center: [f64; 2],
    /// Initial zoom level, 1..=18 (default 12).
    pub zoom: u8,
}

impl Default for MapSettings {
    fn default() -> Self {
        Self {
            tile_url: String::new(),
            attribution: String::new(),
            center: [6.3654, 2.4183],
            zoom: 12,
        }
    }
}

/// `[site]`: where the contact center is.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteSettings {
    /// IANA time zone (`Africa/Porto-Novo`, `Europe/Paris`; default `UTC`):
    /// the live "today" figures restart at its midnight, and reports cut
    /// days there unless asked for another zone.
    pub time_zone: String,
}

impl Default for SiteSettings {
    fn default() -> Self {
        Self {
            time_zone: "UTC".into(),
        }
    }
}

/// `[backup]`: encrypted backup sets (crate `continuity`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupSettings {
    /// Local repository of sets (default `<data_dir>/backups`).
    pub dir: Option<PathBuf>,
    /// The 256-bit key, 64 hex digits. Never printed. Prefer `key_file`.
    pub key: Secret,
    /// A file holding the key (64 hex digits or 32 raw bytes).
    pub key_file: Option<PathBuf>,
    /// Run the daily schedule inside `serve` (default true; needs a key).
    pub schedule: bool,
    /// Local time of the daily set, `HH:MM` (default `01:00`).
    pub daily_at: String,
    /// The site's time zone as a POSIX TZ string (default `UTC0`; Paris is
    /// `CET-1CEST,M3.5.0,M10.5.0/3`, Cotonou `WAT-1`).
    pub time_zone: String,
    /// A full set at least every this many days (default 14).
    pub full_every_days: u32,
    /// Days sets are kept locally (default 365).
    pub local_retention_days: u32,
    /// Days off-site copies are kept (default and minimum 1826: five years).
    pub offsite_retention_days: u32,
    /// Configuration files or folders to include (the `--config` file is
    /// always included).
    pub config_paths: Vec<PathBuf>,
    /// Off-site copy to S3-compatible storage, after each scheduled set.
    pub s3: Option<BackupS3Settings>,
    /// Off-site copy over SFTP (the hosted storage's "lien FTP"), after
    /// each scheduled set. At most one of `s3` and `sftp`.
    pub sftp: Option<BackupSftpSettings>,
}

/// `[backup.sftp]`: the off-site SFTP server (key-based login; its host key
/// is pinned).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSftpSettings {
    /// Host name or address.
    pub host: String,
    /// TCP port (default 22).
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    /// Login.
    pub user: String,
    /// OpenSSH private key file (unencrypted) of the login.
    pub key_file: PathBuf,
    /// The server's host public key, one OpenSSH line
    /// (`ssh-ed25519 AAAA...`): a server with any other key is refused.
    pub host_key: String,
    /// Remote folder of the sets (must exist).
    pub dir: String,
}

fn default_ssh_port() -> u16 {
    22
}

/// `[backup.s3]`: the off-site bucket.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupS3Settings {
    /// Endpoint URL (`https://...`; `http://` only for a local test server).
    pub endpoint: String,
    /// Region (default `us-east-1`).
    #[serde(default = "default_region")]
    pub region: String,
    /// Bucket (must exist).
    pub bucket: String,
    /// Key prefix in the bucket (default empty).
    #[serde(default)]
    pub prefix: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key. Never printed.
    pub secret_access_key: Secret,
}

fn default_region() -> String {
    "us-east-1".into()
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            dir: None,
            key: Secret::default(),
            key_file: None,
            schedule: true,
            daily_at: "01:00".into(),
            time_zone: "UTC0".into(),
            full_every_days: 14,
            local_retention_days: 365,
            offsite_retention_days: 1826,
            config_paths: Vec::new(),
            s3: None,
            sftp: None,
        }
    }
}

/// `[audit]`: the tamper-evident audit trail.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Ed25519 signing key of the hourly checkpoints (64 hex characters).
    /// Default: `<data_dir>/audit-ed25519.key`, generated at first start.
    pub key_file: Option<PathBuf>,
}

/// `[desktop]`: what the agent desktop offers.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DesktopSettings {
    /// Pause reason codes an agent may choose (`POST /api/v1/agent/state`
    /// refuses others). Labels come from the UI strings `reason_<code>`
    /// when they exist, else the code is shown. Default: `break`, `lunch`,
    /// `training`, `meeting`. Once an admin saves a list (`/admin`, `PUT
    /// /api/v1/pause-reasons`), the stored list replaces this one.
    pub pause_reasons: Vec<String>,
}

impl Default for DesktopSettings {
    fn default() -> Self {
        Self {
            pause_reasons: ["break", "lunch", "training", "meeting"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// `[sip]`: the voice shell (registrar, trunks, B2BUA).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipSettings {
    /// Run the SIP service (default true).
    pub enabled: bool,
    /// UDP and TCP listen address (default `0.0.0.0:5060`).
    pub listen: String,
    /// IP for RTP sockets, advertised in SDP (default `127.0.0.1`; set the
    /// host's address for phones on other machines).
    pub media_ip: String,
    /// Digest realm (default `switchboard`).
    pub realm: String,
    /// OPTIONS qualify interval for registered phones, s (0: off; default 30).
    pub qualify_interval_s: u64,
    /// Trunks (the operator's switch). The demo has one, `operator`,
    /// allowing 127.0.0.1 with DIDs 3900 (IVR `main`), 3901 (IVR `vip-line`),
    /// 3902 (queue `general`).
    pub trunks: Vec<TrunkSettings>,
    /// Product token sent as `Server`/`User-Agent` (RFC 3261 §20.35,
    /// §20.41); empty (the default): none, so scanners learn nothing.
    pub server_header: String,
    /// Load shedding: most inbound calls in setup at once; above it a new
    /// INVITE gets 503 with `Retry-After` (RFC 3261 §21.5.4). 0: no limit
    /// (default 400).
    pub max_calls_in_setup: usize,
    /// `Retry-After` of the overload 503s, s (default 2, at least 1).
    pub overload_retry_after_s: u64,
    /// Limits of the SIP TCP transport.
    pub tcp: SipTcpSettings,
    /// Digest lockout of the registrar and of INVITEs from phones.
    pub auth: SipAuthSettings,
}

/// `[sip.tcp]`: idle and slow-connection time-outs, connection caps.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipTcpSettings {
    /// Close a connection silent for this long, s (default 900; CRLF
    /// keep-alives and our qualify OPTIONS count as traffic).
    pub idle_timeout_s: u64,
    /// A message must be complete within this long of its first byte, and
    /// the first message within this long of the connection, s (default 10).
    pub header_timeout_s: u64,
    /// Open connections allowed from one IP (default 100).
    pub max_per_address: usize,
    /// Open connections allowed in all (default 4096).
    pub max_connections: usize,
}

impl Default for SipTcpSettings {
    fn default() -> Self {
        let d = voice::TcpLimits::default();
        Self {
            idle_timeout_s: d.idle_timeout.as_secs(),
            header_timeout_s: d.header_timeout.as_secs(),
            max_per_address: d.max_per_address,
            max_connections: d.max_connections,
        }
    }
}

/// `[sip.auth]`: how many wrong digest answers lock out an account or an
/// address (the answers stay the same for existing and unknown users).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipAuthSettings {
    /// Failures allowed per account within the window (default 5).
    pub max_failures: u32,
    /// Failures allowed per source IP within the window, any account
    /// (default 20: one NAT address carries a whole site).
    pub max_address_failures: u32,
    /// Window of the failure counters, s (default 60).
    pub failure_window_s: u64,
}

impl Default for SipAuthSettings {
    fn default() -> Self {
        let d = voice::RegistrarConfig::default();
        Self {
            max_failures: d.max_failures,
            max_address_failures: d.max_address_failures,
            failure_window_s: d.failure_window.as_secs(),
        }
    }
}

impl Default for SipSettings {
    fn default() -> Self {
        let dids = [("3900", "main"), ("3901", "vip-line"), ("3902", "general")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        Self {
            enabled: true,
            listen: "0.0.0.0:5060".into(),
            media_ip: "127.0.0.1".into(),
            realm: "switchboard".into(),
            qualify_interval_s: 30,
            trunks: vec![TrunkSettings {
                name: "operator".into(),
                allowed_ips: vec!["127.0.0.1".into()],
                dids,
                outbound: None,
                caller_id: None,
            }],
            server_header: String::new(),
            max_calls_in_setup: voice::VoiceConfig::default()
                .max_calls_in_setup
                .unwrap_or(0),
            overload_retry_after_s: 2,
            tcp: SipTcpSettings::default(),
            auth: SipAuthSettings::default(),
        }
    }
}

/// `[[sip.trunks]]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkSettings {
    /// Trunk name.
    pub name: String,
    /// Source IPs allowed to send calls as this trunk.
    pub allowed_ips: Vec<String>,
    /// Dialled number → entry point name (see `[engine.entry_points]`).
    #[serde(default)]
    pub dids: std::collections::BTreeMap<String, String>,
    /// Where outbound calls go (`host:port`), if any.
    pub outbound: Option<String>,
    /// Caller-ID of outbound calls.
    pub caller_id: Option<String>,
}

/// `[engine]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSettings {
    /// Prompts folder (`<dir>/<lang>/<name>.wav`, default `assets/prompts`).
    pub prompts_dir: PathBuf,
    /// IVR flow files folder (default `config/demo/flows`).
    pub flows_dir: PathBuf,
    /// Music on hold WAV (default `assets/moh/default.wav`; empty: none).
    pub music_on_hold: String,
    /// Entry point → `flow:NAME` or `queue:NAME`. Default: `main` →
    /// `flow:main`, `vip-line` → `flow:vip-line`, `general` → `queue:general`.
    pub entry_points: std::collections::BTreeMap<String, String>,
    /// Queues whose calls are recorded (default: all three demo queues).
    pub record_queues: Vec<String>,
    /// Queues whose calls get a CSAT survey (default: all three demo queues).
    pub survey_queues: Vec<String>,
    /// Abandons under this many ms are short (default 5000).
    pub short_abandon_ms: i64,
    /// Named SQL databases for IVR lookups: name → `sqlite://PATH`.
    /// Default: `operator` → `<data_dir>/operator.db` (created from
    /// `config/demo/operator.sql` when the demo is seeded).
    pub sql_databases: std::collections::BTreeMap<String, String>,
    /// IVR maintenance flag (R1).
    pub maintenance: bool,
    /// Demo operator web service for the IVR's lookups (`host:port`, empty: off).
    pub demo_operator_listen: String,
    /// Load shedding: most calls in IVR flows at once; a new call to a flow
    /// above it gets 503 with `Retry-After` before it is answered. 0: no
    /// limit (default 2000).
    pub max_calls_in_ivr: usize,
}

impl Default for EngineSettings {
    fn default() -> Self {
        let demo_queues: Vec<String> = ["general", "vip", "business"].map(String::from).to_vec();
        Self {
            prompts_dir: "assets/prompts".into(),
            flows_dir: "config/demo/flows".into(),
            music_on_hold: "assets/moh/default.wav".into(),
            entry_points: [
                ("main", "flow:main"),
                ("vip-line", "flow:vip-line"),
                ("general", "queue:general"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
            record_queues: demo_queues.clone(),
            survey_queues: demo_queues,
            short_abandon_ms: 5_000,
            sql_databases: Default::default(),
            maintenance: false,
            demo_operator_listen: "127.0.0.1:8089".into(),
            max_calls_in_ivr: engine::EngineConfig::default()
                .max_calls_in_ivr
                .unwrap_or(0),
        }
    }
}

/// A secret setting (password, token, app secret): read like a string, never
/// printed (`Debug` shows `***`, or `""` when empty).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("***")
        }
    }
}

/// `[channels]`: the digital channels (SPEC §3). Everything that needs a peer
/// is off by default; the web chat needs none and is on.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelsSettings {
    /// A customer's new message continues their open conversation on the same
    /// channel if it started less than this many seconds ago (default 86400).
    pub reopen_window_s: u64,
    /// A reply is read as a CSAT answer if a survey went to the same address
    /// less than this many hours ago (default 24).
    pub survey_window_h: u64,
    /// Queue (by name) of new conversations per channel (`sms`, `email`,
    /// `whatsapp`, `messenger`, `instagram`, `webchat`); others go to
    /// `default_queue`.
    pub queues: std::collections::BTreeMap<String, String>,
    /// Queue of conversations whose channel has no entry in `queues`
    /// (default `general`).
    pub default_queue: String,
    /// How often the outbox dispatcher looks for due messages, ms (default 250).
    pub dispatch_interval_ms: u64,
    /// `[channels.smpp]`: SMS through the operator's SMSC.
    pub smpp: SmppSettings,
    /// `[channels.smtp]`: outbound e-mail.
    pub smtp: SmtpSettings,
    /// `[channels.email_in]`: inbound e-mail.
    pub email_in: EmailInSettings,
    /// `[channels.meta]`: WhatsApp, Messenger, Instagram.
    pub meta: MetaSettings,
    /// `[channels.webchat]`: the embeddable web chat.
    pub webchat: WebchatSettings,
    /// `[channels.campaigns]`: outbound message campaigns and opt-outs.
    pub campaigns: CampaignSettings,
    /// `[channels.x]`: Twitter/X direct messages. EXPERIMENTAL, off, not wired yet.
    pub x: XSettings,
    /// `[channels.youtube]`: YouTube comments. EXPERIMENTAL, off, not wired yet.
    pub youtube: YoutubeSettings,
}

impl Default for ChannelsSettings {
    fn default() -> Self {
        Self {
            reopen_window_s: 86_400,
            survey_window_h: 24,
            queues: Default::default(),
            default_queue: "general".into(),
            dispatch_interval_ms: 250,
            smpp: SmppSettings::default(),
            smtp: SmtpSettings::default(),
            email_in: EmailInSettings::default(),
            meta: MetaSettings::default(),
            webchat: WebchatSettings::default(),
            campaigns: CampaignSettings::default(),
            x: XSettings::default(),
            youtube: YoutubeSettings::default(),
        }
    }
}

/// `[channels.smpp]`: an SMPP 3.4 transceiver bind to the SMSC.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmppSettings {
    /// Connect to the SMSC (default false).
    pub enabled: bool,
    /// SMSC host.
    pub host: String,
    /// SMSC port (default 2775).
    pub port: u16,
    /// `system_id` of the bind.
    pub system_id: String,
    /// Bind password.
    pub password: Secret,
    /// Default `source_addr` (short code, MSISDN or alphanumeric id).
    pub source_addr: String,
    /// Most `submit_sm` in flight (default 10).
    pub window: usize,
    /// Most `submit_sm` per second (default 50, 0: no limit).
    pub max_per_second: u32,
}

impl Default for SmppSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            host: "127.0.0.1".into(),
            port: 2775,
            system_id: String::new(),
            password: Secret::default(),
            source_addr: String::new(),
            window: 10,
            max_per_second: 50,
        }
    }
}

/// `[channels.smtp]`: the mail relay for outbound e-mail.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// Send e-mail (default false).
    pub enabled: bool,
    /// Relay host.
    pub host: String,
    /// Relay port (default 25).
    pub port: u16,
    /// Require STARTTLS (RFC 3207; default false).
    pub starttls: bool,
    /// SMTP AUTH user (empty: no AUTH).
    pub username: String,
    /// SMTP AUTH password.
    pub password: Secret,
    /// From mailbox, e.g. `Service client <support@example.com>`.
    pub from: String,
    /// Right-hand side of generated Message-IDs (default `switchboard.local`).
    pub message_id_domain: String,
}

impl SmtpSettings {
    /// The relay as the e-mail adapter wants it.
    pub fn config(&self) -> channels::email::SmtpConfig {
        channels::email::SmtpConfig {
            host: self.host.clone(),
            port: self.port,
            security: if self.starttls {
                channels::email::SmtpSecurity::StartTls
            } else {
                channels::email::SmtpSecurity::None
            },
            credentials: (!self.username.is_empty())
                .then(|| (self.username.clone(), self.password.expose().to_string())),
            from: self.from.clone(),
            message_id_domain: self.message_id_domain.clone(),
        }
    }
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            host: "127.0.0.1".into(),
            port: 25,
            starttls: false,
            username: String::new(),
            password: Secret::default(),
            from: "Switchboard <support@switchboard.local>".into(),
            message_id_domain: "switchboard.local".into(),
        }
    }
}

/// `[channels.email_in]`: inbound e-mail through a built-in SMTP listener
/// (point the domain's MX or the mail server's forward at it).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailInSettings {
    /// Listen address (`127.0.0.1:2525`; empty: off, the default).
    pub smtp_listen: String,
    /// Largest message accepted, bytes (default 10 MiB).
    pub max_message_bytes: usize,
}

impl Default for EmailInSettings {
    fn default() -> Self {
        Self {
            smtp_listen: String::new(),
            max_message_bytes: 10 * 1024 * 1024,
        }
    }
}

/// `[channels.meta]`: WhatsApp Business Cloud API, Messenger and Instagram.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetaSettings {
    /// Mount `/webhooks/meta` and send through the Graph API (default false).
    pub enabled: bool,
    /// App secret: the key of `X-Hub-Signature-256`.
    pub app_secret: Secret,
    /// The verify token of the subscription handshake.
    pub verify_token: Secret,
    /// Graph API base URL (default `https://graph.facebook.com`).
    pub graph_base: String,
    /// Graph API version (default `v21.0`).
    pub api_version: String,
    /// System-user or page access token.
    pub access_token: Secret,
    /// The WhatsApp business phone number id (empty: no WhatsApp sends).
    pub whatsapp_phone_number_id: String,
}

impl Default for MetaSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            app_secret: Secret::default(),
            verify_token: Secret::default(),
            graph_base: "https://graph.facebook.com".into(),
            api_version: "v21.0".into(),
            access_token: Secret::default(),
            whatsapp_phone_number_id: String::new(),
        }
    }
}

/// `[channels.webchat]`: the widget (`/widget.js`) and its WebSocket
/// (`/chat/ws`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebchatSettings {
    /// Serve the widget (default true).
    pub enabled: bool,
    /// Shown to a visitor who writes while no agent is logged in.
    pub offline_message: String,
}

impl Default for WebchatSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            offline_message: "No advisor is online right now. Leave your message (and your e-mail): we will answer as soon as possible.".into(),
        }
    }
}

/// `[channels.campaigns]`: the campaign runner and the STOP/START replies
/// (SPEC §2.6).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignSettings {
    /// Run the campaign runner on this node (default true).
    pub enabled: bool,
    /// Longest pause of the runner between two looks at the running
    /// campaigns, ms (default 200).
    pub tick_ms: u64,
    /// Sent once to an address that answers STOP / ARRET / UNSUBSCRIBE.
    pub stop_reply: String,
    /// Sent to an opted-out address that answers START.
    pub start_reply: String,
}

impl Default for CampaignSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            tick_ms: 200,
            stop_reply: "Vous ne recevrez plus nos messages. Envoyez START pour vous reabonner. / You will no longer receive our messages. Send START to subscribe again.".into(),
            start_reply: "Vous recevrez de nouveau nos messages. Envoyez STOP pour arreter. / You will receive our messages again. Send STOP to stop.".into(),
        }
    }
}

/// `[channels.x]`: Twitter/X direct messages through the X API v2
/// (EXPERIMENTAL: the adapter exists in `channels::social::x`; the server does
/// not poll it yet).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct XSettings {
    /// Turn it on (default false).
    pub enabled: bool,
    /// API base URL (default `https://api.x.com`).
    pub api_base: String,
    /// OAuth 2.0 user access token (scopes `dm.read dm.write users.read`).
    pub access_token: Secret,
    /// Our own X user id (our own DM events are skipped).
    pub own_user_id: String,
    /// Poll period, s (default 60).
    pub poll_interval_s: u64,
}

impl Default for XSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            api_base: "https://api.x.com".into(),
            access_token: Secret::default(),
            own_user_id: String::new(),
            poll_interval_s: 60,
        }
    }
}

impl XSettings {
    /// The adapter's configuration.
    pub fn adapter_config(&self) -> channels::social::x::XConfig {
        channels::social::x::XConfig {
            api_base: self.api_base.clone(),
            access_token: self.access_token.expose().to_string(),
            own_user_id: self.own_user_id.clone(),
            max_results: 100,
        }
    }
}

/// `[channels.youtube]`: comments on our YouTube channel's videos through the
/// YouTube Data API v3 (EXPERIMENTAL: the adapter exists in
/// `channels::social::youtube`; the server does not poll it yet).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct YoutubeSettings {
    /// Turn it on (default false).
    pub enabled: bool,
    /// API base URL (default `https://www.googleapis.com`).
    pub api_base: String,
    /// OAuth 2.0 access token of the channel owner (scope `youtube.force-ssl`).
    pub access_token: Secret,
    /// Our channel id (`UC…`).
    pub channel_id: String,
    /// Poll period, s (default 300: the API's daily quota is small).
    pub poll_interval_s: u64,
}

impl Default for YoutubeSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            api_base: "https://www.googleapis.com".into(),
            access_token: Secret::default(),
            channel_id: String::new(),
            poll_interval_s: 300,
        }
    }
}

impl YoutubeSettings {
    /// The adapter's configuration.
    pub fn adapter_config(&self) -> channels::social::youtube::YoutubeConfig {
        channels::social::youtube::YoutubeConfig {
            api_base: self.api_base.clone(),
            access_token: self.access_token.expose().to_string(),
            channel_id: self.channel_id.clone(),
            max_results: 100,
        }
    }
}

/// `[http]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Listen address, default `0.0.0.0:8080`.
    pub listen: String,
    /// Largest accepted request body, bytes (default 1 MiB).
    pub max_body_bytes: usize,
    /// Mark the web session cookie `Secure` (set when the UI is served over
    /// TLS, directly or behind a TLS proxy). Default `false`.
    pub secure_cookies: bool,
}

/// `[database]`
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`. Empty means
    /// `sqlite://<data_dir>/switchboard.db`. May hold a password: never printed.
    pub url: String,
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

/// `[demo]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSettings {
    /// Seed the demo configuration into an empty database (default true).
    pub seed: bool,
}

/// `[phone]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneSettings {
    /// ISO 3166-1 alpha-2 country for national numbers (default `BJ`).
    pub default_country: String,
}

/// `[auth]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Session lifetime, seconds (default 12 h).
    pub session_ttl_s: u64,
    /// A session unused this long ends, seconds (default 30 min; issue 18).
    pub session_idle_s: u64,
    /// Roles that must use TOTP (e.g. `["admin"]`): such a user without an
    /// active TOTP reaches only the enrolment, `me` and logout (issue 18).
    #[serde(default)]
    pub require_2fa_roles: Vec<domain::Role>,
    /// Login brute-force limiter (`iam::limiter`): `free_failures` (3),
    /// `base_delay_ms` (1 000, doubling), `max_delay_ms` (60 000),
    /// `lockout_after` (10), `source_lockout_after` (30), `lockout_ms`
    /// (15 min), `forget_after_ms` (15 min), `max_keys` (100 000).
    #[serde(default)]
    pub limiter: iam::limiter::LimiterConfig,
    /// `[auth.ldap]`: log in with a directory account (LDAP / Active
    /// Directory, issue 18); none = local accounts only.
    #[serde(default)]
    pub ldap: Option<iam::directory::LdapSettings>,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct SettingsError(#[from] config::ConfigError);

impl Settings {
    /// Load defaults, then `file` if given, then the environment.
    ///
    /// # Errors
    /// A missing or malformed file, an unknown key, a value of the wrong type.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut b = config::Config::builder()
            .set_default("data_dir", "./data")?
            .set_default("http.listen", "0.0.0.0:8080")?
            .set_default("http.max_body_bytes", 1_048_576)?
            .set_default("http.secure_cookies", false)?
            .set_default("database.url", "")?
            .set_default("demo.seed", true)?
            .set_default("phone.default_country", "BJ")?
            .set_default("auth.session_ttl_s", 43_200)?
            .set_default("auth.session_idle_s", 1_800)?;
        if let Some(f) = file {
            b = b.add_source(
                config::File::from(f)
                    .format(config::FileFormat::Toml)
                    .required(true),
            );
        }
        // Only `SWITCHBOARD_<SECTION>__<KEY>` and `SWITCHBOARD_DATA_DIR` are
        // settings; other SWITCHBOARD_* variables (SWITCHBOARD_CONFIG, test
        // switches) are not.
        let env: config::Map<String, String> = std::env::vars()
            .filter(|(k, _)| {
                k.strip_prefix("SWITCHBOARD_")
                    .is_some_and(|rest| rest.contains("__") || rest == "DATA_DIR")
            })
            .collect();
        b = b.add_source(
            config::Environment::with_prefix("SWITCHBOARD")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        );
        let mut s: Self = b.build()?.try_deserialize()?;
        s.config_file = file.map(Path::to_path_buf);
        Ok(s)
    }

    /// The database URL, defaulting to the embedded SQLite file.
    pub fn database_url(&self) -> String {
        if self.database.url.trim().is_empty() {
            format!(
                "sqlite://{}",
                self.data_dir.join("switchboard.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
        let s = DatabaseSettings {
            url: "postgres://u:topsecret@h/db".into(),
        };
        assert!(!format!("{s:?}").contains("topsecret"));
        let c = ChannelsSettings {
            meta: MetaSettings {
                app_secret: Secret("s3cr3t".into()),
                ..MetaSettings::default()
            },
            ..ChannelsSettings::default()
        };
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn file_then_env_override() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "data_dir = \"/tmp/x\"\n[http]\nlisten = \"127.0.0.1:1\"\n",
        )
        .unwrap();
        let s = Settings::load(Some(&f)).unwrap();
        assert_eq!(s.http.listen, "127.0.0.1:1");
        assert_eq!(s.database_url(), "sqlite:///tmp/x/switchboard.db");
        assert_eq!(
            s.desktop.pause_reasons,
            ["break", "lunch", "training", "meeting"]
        );
        std::fs::write(&f, "[desktop]\npause_reasons = [\"break\", \"coaching\"]\n").unwrap();
        let s = Settings::load(Some(&f)).unwrap();
        assert_eq!(s.desktop.pause_reasons, ["break", "coaching"]);
        std::fs::write(&f, "[http]\nlisten_typo = 1\n").unwrap();
        assert!(
            Settings::load(Some(&f)).is_err(),
            "unknown keys are refused"
        );
    }

    /// The README's configuration example is a valid file (unknown keys
    /// are refused, so a renamed setting breaks this), and the SIP edge and
    /// load-shedding limits it shows reach the settings.
    #[test]
    fn the_readme_configuration_example_loads() {
        let readme = include_str!("../../../README.md");
        let after = readme
            .split("## Configuration")
            .nth(1)
            .expect("README has a Configuration section");
        let block = after
            .split("```toml\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .expect("a toml block");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("readme.toml");
        std::fs::write(&f, block).unwrap();
        let s = Settings::load(Some(&f)).expect("the README example loads");
        assert_eq!(s.sip.max_calls_in_setup, 400);
        assert_eq!(s.sip.tcp.max_per_address, 100);
        assert_eq!(s.sip.auth.max_failures, 5);
        assert_eq!(s.engine.max_calls_in_ivr, 2000);
        assert_eq!(s.site.time_zone, "Africa/Porto-Novo");
        assert_eq!(s.reports.schedules[0].every, "day");
        crate::scheduled_reports::jobs(&s).expect("the README's schedule is valid");
        std::fs::write(
            &f,
            "[sip]\nmax_calls_in_setup = 0\nserver_header = \"sb/1\"\n[sip.tcp]\nidle_timeout_s = 30\n\
             [sip.auth]\nmax_failures = 3\n[engine]\nmax_calls_in_ivr = 50\n",
        )
        .unwrap();
        let s = Settings::load(Some(&f)).unwrap();
        assert_eq!(
            (s.sip.max_calls_in_setup, s.sip.server_header.as_str()),
            (0, "sb/1")
        );
        assert_eq!(
            (s.sip.tcp.idle_timeout_s, s.sip.tcp.header_timeout_s),
            (30, 10)
        );
        assert_eq!(
            (s.sip.auth.max_failures, s.sip.auth.max_address_failures),
            (3, 20)
        );
        assert_eq!(s.engine.max_calls_in_ivr, 50);
    }

    #[test]
    fn channels_section() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "").unwrap();
        let d = Settings::load(Some(&f)).unwrap().channels;
        assert!(d.webchat.enabled && !d.smpp.enabled && !d.smtp.enabled && !d.meta.enabled);
        assert_eq!(
            (d.reopen_window_s, d.default_queue.as_str()),
            (86_400, "general")
        );
        std::fs::write(
            &f,
            "[channels]\nreopen_window_s = 600\n[channels.queues]\nemail = \"business\"\n\
             [channels.smpp]\nenabled = true\nport = 2776\npassword = \"pw\"\n",
        )
        .unwrap();
        let c = Settings::load(Some(&f)).unwrap().channels;
        assert_eq!(c.reopen_window_s, 600);
        assert_eq!(c.queues.get("email").map(String::as_str), Some("business"));
        assert!(c.smpp.enabled);
        assert_eq!((c.smpp.port, c.smpp.password.expose()), (2776, "pw"));
        assert_eq!(c.smpp.window, 10, "unset keys keep their defaults");
    }

    #[test]
    fn experimental_social_channels_are_off_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "").unwrap();
        let d = Settings::load(Some(&f)).unwrap().channels;
        assert!(!d.x.enabled && !d.youtube.enabled);
        assert_eq!(d.x.adapter_config().api_base, "https://api.x.com");
        std::fs::write(
            &f,
            "[channels.x]\nenabled = true\naccess_token = \"t\"\nown_user_id = \"42\"\n\
             [channels.youtube]\nchannel_id = \"UCx\"\n",
        )
        .unwrap();
        let c = Settings::load(Some(&f)).unwrap().channels;
        assert!(c.x.enabled && !c.youtube.enabled);
        let x = c.x.adapter_config();
        assert_eq!(
            (x.access_token.as_str(), x.own_user_id.as_str()),
            ("t", "42")
        );
        assert_eq!(c.youtube.adapter_config().channel_id, "UCx");
        assert_eq!(c.youtube.poll_interval_s, 300);
    }

    #[test]
    fn bot_section_defaults_and_lookups() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "").unwrap();
        let d = Settings::load(Some(&f)).unwrap().bot;
        assert!(d.enabled);
        assert_eq!(d.channels, vec!["webchat".to_string()]);
        assert_eq!(d.kb_dir, PathBuf::from("config/demo/kb"));
        assert!(d.lookups.puk.is_none());
        std::fs::write(
            &f,
            "[bot]\nchannels = [\"webchat\", \"sms\"]\n\
             [bot.lookups.puk]\nkind = { kind = \"http\", method = \"POST\", \
             url = \"http://127.0.0.1:8089/puk\", body = { msisdn = \"{msisdn}\" }, timeout_ms = 2000 }\n\
             reply = { fr = \"PUK : {puk}\", en = \"PUK: {puk}\" }\n",
        )
        .unwrap();
        let b = Settings::load(Some(&f)).unwrap().bot;
        assert_eq!(b.channels, vec!["webchat".to_string(), "sms".to_string()]);
        let puk = b.lookups.puk.expect("puk lookup");
        assert_eq!(puk.reply.en, "PUK: {puk}");
        let ivr::LookupKind::Http { method, url, .. } = puk.kind else {
            panic!("an HTTP lookup")
        };
        assert_eq!(
            (method.as_str(), url.as_str()),
            ("POST", "http://127.0.0.1:8089/puk")
        );
    }
}
