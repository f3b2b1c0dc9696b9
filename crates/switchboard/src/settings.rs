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
    /// SIP (voice) service.
    #[serde(default)]
    pub sip: SipSettings,
    /// The engine: flows, prompts, recordings, entry points.
    #[serde(default)]
    pub engine: EngineSettings,
    /// The agent desktop.
    #[serde(default)]
    pub desktop: DesktopSettings,
}

/// `[desktop]`: what the agent desktop offers.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DesktopSettings {
    /// Pause reason codes an agent may choose (`POST /api/v1/agent/state`
    /// refuses others). Labels come from the UI strings `reason_<code>`
    /// when they exist, else the code is shown. Default: `break`, `lunch`,
    /// `training`, `meeting`.
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
            .set_default("auth.session_ttl_s", 43_200)?;
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
        Ok(b.build()?.try_deserialize()?)
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
}
