//! Wiring of the voice shell and the engine from the settings: the SIP
//! registrar's credentials come from the store, the IVR flows from
//! `engine.flows_dir`, the prompts from `engine.prompts_dir`.

use crate::settings::Settings;
use engine::{EngineConfig, EngineHandle, EntryPoint};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use store::Store;

/// SIP digest credentials of agents' phones, loaded from the store
/// (user = agent login). Implements the registrar's [`voice::Directory`].
#[derive(Debug, Default)]
pub struct StoreDirectory {
    users: RwLock<HashMap<String, String>>,
}

impl StoreDirectory {
    /// Load every agent's SIP secret.
    ///
    /// # Errors
    /// Store errors.
    pub async fn load(store: &dyn Store) -> Result<Self, store::StoreError> {
        let users = store.sip_credentials().await?.into_iter().collect();
        Ok(Self {
            users: RwLock::new(users),
        })
    }
}

impl StoreDirectory {
    /// Set (or replace) the digest password of `login`'s phone; the next
    /// REGISTER or INVITE challenge uses it (the store holds the same).
    pub fn set(&self, login: &str, password: &str) {
        match self.users.write() {
            Ok(mut u) => {
                u.insert(login.to_string(), password.to_string());
            }
            Err(_) => tracing::error!(%login, "SIP credentials not updated (lock poisoned)"),
        }
    }
}

impl voice::Directory for StoreDirectory {
    fn sip_password(&self, user: &str) -> Option<String> {
        self.users.read().ok()?.get(user).cloned()
    }
}

/// Why telephony could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelephonyError {
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// The voice stack failed to start.
    #[error("SIP: {0}")]
    Voice(#[from] voice::VoiceError),
    /// The engine failed to start.
    #[error("engine: {0}")]
    Engine(#[from] engine::EngineError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
}

/// What stops SIP and the engine in order at shutdown ([`Stop::stop`]).
#[derive(Debug)]
pub struct Stop {
    voice: voice::VoiceHandle,
    engine: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// How long the engine may take to finish after the SIP stack has stopped
/// (its queued store operations and the event writer's queue).
const ENGINE_STOP: Duration = Duration::from_secs(10);

impl Stop {
    /// Every live call leg gets its BYE (CANCEL or 480 before an answer)
    /// and the SIP stack stops; the engine sees its event stream end, takes
    /// the hang-ups, runs its queued store operations, drains the event
    /// writer, and ends. Waits for both (the engine for at most 10 s);
    /// call it before the store closes. A second call does nothing.
    pub async fn stop(&self) {
        self.voice.shutdown().await;
        let task = self.engine.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            match tokio::time::timeout(ENGINE_STOP, task).await {
                Ok(Ok(())) => tracing::info!("engine stopped"),
                Ok(Err(e)) => tracing::error!(error = %e, "engine ended abnormally"),
                Err(_) => tracing::warn!("engine still busy after 10 s: stopping anyway"),
            }
        }
    }
}

/// What [`start`] hands back: the engine, the SIP address, what stops both
/// at shutdown, and the registrar's credentials (updated live when an admin
/// sets a phone password).
pub struct Telephony {
    /// The engine's handle.
    pub engine: EngineHandle,
    /// The SIP address (UDP and TCP).
    pub sip: SocketAddr,
    /// Stops SIP and the engine in order.
    pub stop: Stop,
    /// The registrar's credentials.
    pub directory: Arc<StoreDirectory>,
}

/// Start SIP and the engine.
///
/// # Errors
/// [`TelephonyError`].
pub async fn start(
    settings: &Settings,
    store: Arc<dyn Store>,
) -> Result<Telephony, TelephonyError> {
    let sip = &settings.sip;
    let bad = |what: &str, v: &str| TelephonyError::Config(format!("{what}: {v:?} is not valid"));
    let sip_addr: SocketAddr = sip
        .listen
        .parse()
        .map_err(|_| bad("sip.listen", &sip.listen))?;
    let media_ip: IpAddr = sip
        .media_ip
        .parse()
        .map_err(|_| bad("sip.media_ip", &sip.media_ip))?;
    let mut trunks = Vec::new();
    for t in &sip.trunks {
        let allowed_ips = t
            .allowed_ips
            .iter()
            .map(|ip| ip.parse().map_err(|_| bad("sip.trunks.allowed_ips", ip)))
            .collect::<Result<Vec<IpAddr>, _>>()?;
        let outbound = t
            .outbound
            .as_deref()
            .map(|o| o.parse().map_err(|_| bad("sip.trunks.outbound", o)))
            .transpose()?;
        trunks.push(voice::TrunkConfig {
            name: t.name.clone(),
            allowed_ips,
            dids: t.dids.clone().into_iter().collect(),
            outbound,
            caller_id: t.caller_id.clone(),
            auth_user: None,
        });
    }
    // Registrations of the previous run: phones stay reachable until their
    // binding expires (a row whose source does not parse is skipped).
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let restore_bindings: Vec<voice::SavedBinding> = store
        .list_sip_bindings(domain::Timestamp::from_millis(now_ms))
        .await?
        .into_iter()
        .filter_map(|b| {
            Some(voice::SavedBinding {
                source: b.source.parse().ok()?,
                user: b.user,
                contact: b.contact,
                expires_at_ms: b.expires_at.as_millis(),
                call_id: b.call_id,
            })
        })
        .collect();
    // Dialogs the previous run left confirmed (a crash): each gets a BYE
    // as the stack starts, before any new call (RFC 3261 §15.1.1); they are
    // taken out of the store now (a row whose peer does not parse is
    // logged and dropped).
    let restore_dialogs: Vec<voice::SavedDialog> = store
        .take_sip_dialogs()
        .await?
        .into_iter()
        .filter_map(|d| {
            let peer = match d.peer.parse() {
                Ok(p) => p,
                Err(_) => {
                    tracing::warn!(call_id = %d.call_id, peer = %d.peer, "saved dialog with a bad peer address: no BYE");
                    return None;
                }
            };
            Some(voice::SavedDialog {
                call_id: d.call_id,
                local: d.local,
                local_tag: d.local_tag,
                remote: d.remote,
                remote_target: d.remote_target,
                route_set: d.route_set,
                transport: d.transport,
                peer,
                local_cseq: d.local_cseq,
                saved_at_ms: d.saved_at.as_millis(),
            })
        })
        .collect();
    if !restore_dialogs.is_empty() {
        tracing::warn!(
            count = restore_dialogs.len(),
            "ending the SIP dialogs left by the previous run with BYE"
        );
    }
    let vcfg = voice::VoiceConfig {
        sip_addr,
        restore_bindings,
        restore_dialogs,
        tcp: true,
        media_ip,
        realm: sip.realm.clone(),
        trunks,
        qualify_interval: (sip.qualify_interval_s > 0)
            .then(|| Duration::from_secs(sip.qualify_interval_s)),
        server_header: (!sip.server_header.is_empty()).then(|| sip.server_header.clone()),
        max_calls_in_setup: (sip.max_calls_in_setup > 0).then_some(sip.max_calls_in_setup),
        overload_retry_after: Duration::from_secs(sip.overload_retry_after_s.max(1)),
        tcp_limits: voice::TcpLimits {
            idle_timeout: Duration::from_secs(sip.tcp.idle_timeout_s),
            header_timeout: Duration::from_secs(sip.tcp.header_timeout_s),
            max_per_address: sip.tcp.max_per_address,
            max_connections: sip.tcp.max_connections,
        },
        registrar: voice::RegistrarConfig {
            max_failures: sip.auth.max_failures,
            max_address_failures: sip.auth.max_address_failures,
            failure_window: Duration::from_secs(sip.auth.failure_window_s),
            ..voice::RegistrarConfig::default()
        },
        ..voice::VoiceConfig::default()
    };
    let directory = Arc::new(StoreDirectory::load(&*store).await?);
    let (calls, events) = voice::start(vcfg, directory.clone()).await?;
    let local = calls.local_addr();

    let e = &settings.engine;
    let catalog = match ivr::PromptCatalog::from_dir(&e.prompts_dir) {
        Ok(c) => c,
        Err(err) => {
            tracing::warn!(dir = %e.prompts_dir.display(), error = %err, "no prompts: IVR flows cannot load");
            ivr::PromptCatalog::new()
        }
    };
    let mut flows = ivr::FlowSet::new(catalog);
    if e.flows_dir.as_os_str().is_empty() || !e.flows_dir.exists() {
        tracing::warn!(dir = %e.flows_dir.display(), "no IVR flows folder: flows are off");
    } else {
        match flows.load_dir(&e.flows_dir) {
            Ok(report) => {
                for err in &report.errors {
                    tracing::warn!(error = %err, "IVR flow refused");
                }
                tracing::info!(loaded = ?report.loaded, "IVR flows loaded");
            }
            Err(err) => {
                tracing::warn!(dir = %e.flows_dir.display(), error = %err, "IVR flows not loaded")
            }
        }
    }
    let mut entry_points = HashMap::new();
    for (name, target) in &e.entry_points {
        let ep = match target.split_once(':') {
            Some(("flow", f)) => EntryPoint::Flow(f.to_string()),
            Some(("queue", q)) => EntryPoint::Queue(q.to_string()),
            _ => return Err(bad("engine.entry_points (flow:NAME or queue:NAME)", target)),
        };
        entry_points.insert(name.clone(), ep);
    }
    let mut sql = e.sql_databases.clone();
    let operator_db = settings.data_dir.join("operator.db");
    if operator_db.exists() {
        sql.entry("operator".into())
            .or_insert_with(|| format!("sqlite://{}", operator_db.display()));
    }
    let ecfg = EngineConfig {
        prompts_dir: e.prompts_dir.clone(),
        flows_dir: Some(e.flows_dir.clone()),
        music_on_hold: (!e.music_on_hold.is_empty()).then(|| e.music_on_hold.clone().into()),
        recordings_dir: std::path::absolute(settings.data_dir.join("recordings"))
            .unwrap_or_else(|_| settings.data_dir.join("recordings")),
        journal_dir: settings.data_dir.join("journal"),
        entry_points,
        default_country: settings.phone.default_country.clone(),
        short_abandon_ms: e.short_abandon_ms,
        record_queues: e.record_queues.iter().cloned().collect(),
        survey_queues: e.survey_queues.iter().cloned().collect(),
        sql_databases: sql.into_iter().collect(),
        maintenance: e.maintenance,
        max_calls_in_ivr: (e.max_calls_in_ivr > 0).then_some(e.max_calls_in_ivr),
        time_zone: jiff::tz::TimeZone::get(&settings.site.time_zone).map_err(|err| {
            TelephonyError::Config(format!(
                "site.time_zone {:?} is not an IANA time zone: {err}",
                settings.site.time_zone
            ))
        })?,
        callback_trunk: settings
            .sip
            .trunks
            .iter()
            .find(|t| t.outbound.is_some())
            .map(|t| t.name.clone()),
        callback_caller_id: settings
            .sip
            .trunks
            .iter()
            .find(|t| t.outbound.is_some())
            .and_then(|t| t.caller_id.clone()),
        bot: bot_wiring(settings, &*store).await?,
        ..EngineConfig::default()
    };
    let voice = calls.clone();
    let (handle, task) = engine::start(store, calls, events, flows, ecfg).await?;
    let stop = Stop {
        voice,
        engine: std::sync::Mutex::new(Some(task)),
    };
    Ok(Telephony {
        engine: handle,
        sip: local,
        stop,
        directory,
    })
}

/// The chatbot from `[bot]`: its channels, the knowledge base as stored
/// (filled from `<kb_dir>/articles.toml` at the first start, then edited by
/// admins) and indexed, its lookups. `None` when off, or when the
/// knowledge base has no article at start (logged: conversations then go to
/// agents at once, until a restart with articles).
///
/// # Errors
/// An unknown or voice channel; the store's.
async fn bot_wiring(
    settings: &Settings,
    store: &dyn Store,
) -> Result<Option<engine::BotWiring>, TelephonyError> {
    let b = &settings.bot;
    if !b.enabled {
        return Ok(None);
    }
    let mut channels = std::collections::HashSet::new();
    for name in &b.channels {
        match domain::Channel::parse(name) {
            Some(c) if c != domain::Channel::Voice => {
                channels.insert(c);
            }
            _ => {
                return Err(TelephonyError::Config(format!(
                    "bot.channels: {name:?} is not a digital channel"
                )));
            }
        }
    }
    let kb = crate::knowledge_base::load(store).await?;
    if kb.articles().is_empty() {
        tracing::warn!("the knowledge base has no article: the chatbot is off");
        return Ok(None);
    }
    let articles = kb.articles().len();
    let config = bot::BotConfig {
        default_country: Some(settings.phone.default_country.clone()),
        lookups: b.lookups.clone(),
        ..bot::BotConfig::default()
    };
    tracing::info!(articles, channels = ?b.channels, "chatbot on");
    Ok(Some(engine::BotWiring {
        channels,
        retriever: Arc::new(bot::Retriever::new(kb)),
        config: Arc::new(config),
        idle_close_ms: i64::try_from(b.idle_close_s)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000),
        max_sessions: b.max_sessions,
    }))
}
