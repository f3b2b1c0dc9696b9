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
}

/// `[http]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Listen address, default `0.0.0.0:8080`.
    pub listen: String,
    /// Largest accepted request body, bytes (default 1 MiB).
    pub max_body_bytes: usize,
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
        std::fs::write(&f, "[http]\nlisten_typo = 1\n").unwrap();
        assert!(
            Settings::load(Some(&f)).is_err(),
            "unknown keys are refused"
        );
    }
}
