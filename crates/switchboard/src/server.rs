//! `switchboard serve`: open the store, recover from a crash, seed the demo,
//! serve HTTP until SIGTERM/Ctrl-C, then drain requests and close the store
//! (which flushes SQLite's WAL).

use crate::api::{AppState, router};
use crate::settings::Settings;
use domain::{EventKind, NewEvent};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use store::Store;

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store could not be opened or failed at start.
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    /// Seeding the demo failed.
    #[error("demo: {0}")]
    Demo(#[from] crate::demo::DemoError),
    /// SIP or the engine failed to start.
    #[error("telephony: {0}")]
    Telephony(#[from] crate::telephony::TelephonyError),
    /// The digital channels failed to start.
    #[error("channels: {0}")]
    Messaging(#[from] crate::messaging::MessagingError),
    /// The audit signing key could not be read or created.
    #[error("audit key: {0}")]
    AuditKey(String),
    /// The HTTP listener could not bind or failed.
    #[error("http {0}: {1}")]
    Http(String, std::io::Error),
}

/// The process-wide Prometheus handle (the recorder can be installed once).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

/// Open the store named by the settings, close interactions a previous run
/// left open (`system_restart`), and seed the demo if asked.
///
/// # Errors
/// [`ServeError`] from the store or the demo.
pub async fn prepare(settings: &Settings) -> Result<AppState, ServeError> {
    let url = settings.database_url();
    tracing::info!(database = %crate::settings::redact_url(&url), "opening store");
    let store = store::open(&url).await?;
    replay_journal(settings, &store).await;
    recover(&*store).await?;
    spawn_heartbeat(store.clone());
    crate::api::positions::spawn_pruning(store.clone(), settings.positions.retention_days);
    if settings.demo.seed {
        let accounts =
            crate::demo::seed_if_empty(&*store, &settings.data_dir, crate::now()).await?;
        if !accounts.is_empty() {
            println!(
                "Demo configuration seeded. Accounts (also in {}):",
                settings.data_dir.join("demo-credentials.txt").display()
            );
            for a in &accounts {
                println!(
                    "  {:<10} {:<12} {}",
                    a.role.as_str(),
                    a.username,
                    a.password
                );
            }
            for a in accounts.iter().filter(|a| a.sip_password.is_some()) {
                println!(
                    "  sip-phone  {:<12} {}",
                    a.username,
                    a.sip_password.as_deref().unwrap_or_default()
                );
            }
        }
        let operator_db = settings.data_dir.join("operator.db");
        let script = std::path::Path::new("config/demo/operator.sql");
        if !operator_db.exists()
            && script.exists()
            && let Err(e) = crate::demo_operator::create_db(&operator_db, script).await
        {
            tracing::warn!(error = %e, "demo operator database not created");
        }
    }
    // The chatbot's knowledge base: the file's articles, once (issue 20).
    if !settings.bot.kb_dir.as_os_str().is_empty() {
        crate::knowledge_base::seed_once(&*store, &settings.bot.kb_dir).await?;
    }
    let mut state = AppState {
        store: store.clone(),
        settings: Arc::new(settings.clone()),
        metrics: metrics_handle(),
        messaging: None,
        engine: None,
        telephony: None,
        sip_addr: None,
        sip_directory: None,
        chat: Default::default(),
        security: crate::security::Security::new(settings.auth.limiter.clone()),
        incidents: crate::incidents::spawn(store.clone(), settings).await,
    };
    let audit_key = crate::security::load_key(&crate::security::key_path(settings), true)
        .map_err(ServeError::AuditKey)?;
    crate::security::spawn_checkpointer(store.clone(), audit_key);
    if settings.sip.enabled {
        let t = crate::telephony::start(settings, store).await?;
        println!("SIP listening on {} (UDP and TCP)", t.sip);
        state.engine = Some(t.engine);
        state.telephony = Some(Arc::new(t.stop));
        state.sip_addr = Some(t.sip);
        state.sip_directory = Some(t.directory);
        start_demo_operator(settings).await;
    }
    let messaging =
        crate::messaging::Messaging::start(settings, state.store.clone(), state.engine.clone())
            .await?;
    messaging.requeue_open_conversations().await?;
    state.messaging = Some(messaging);
    Ok(state)
}

/// Serve the demo operator web service, if configured and its database exists.
async fn start_demo_operator(settings: &Settings) {
    let operator_db = settings.data_dir.join("operator.db");
    let listen = settings.engine.demo_operator_listen.clone();
    if listen.is_empty() || !operator_db.exists() {
        return;
    }
    let app = match crate::demo_operator::router(&operator_db).await {
        Ok(app) => app,
        Err(e) => {
            tracing::warn!(error = %e, "demo operator database unreadable");
            return;
        }
    };
    match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => {
            tokio::spawn(async move {
                if let Err(e) = axum::serve(l, app).await {
                    tracing::warn!(error = %e, "demo operator service stopped");
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, %listen, "demo operator service not started"),
    }
}

/// Apply what the engine's event writer journaled in an earlier run (store
/// down, `kill -9`) before open interactions are closed, so that no
/// interaction the journal opens stays open. Waits at most 30 s for the
/// store; what is left stays in the journal for the engine's writer.
async fn replay_journal(settings: &Settings, store: &Arc<dyn Store>) {
    let dir = settings.data_dir.join("journal");
    if !dir.exists() {
        return;
    }
    match engine::writer::EventWriter::start(store.clone(), dir, 64).await {
        Ok((writer, task)) => {
            let waited =
                tokio::time::timeout(std::time::Duration::from_secs(30), writer.wait_applied())
                    .await;
            if waited.is_err() {
                tracing::warn!("journal not fully replayed yet: the engine's writer goes on");
            }
            writer.shutdown().await;
            let _ = task.await;
        }
        Err(e) => tracing::error!(error = %e, "cannot open the event journal"),
    }
}

/// After a crash (even `kill -9`) calls that were live are closed with the
/// end reason `system_restart`, each with an `ended` event (open digital
/// conversations are routed again once the engine runs), and agents
/// left logged in get an `agent_state_changed` to `logged_out` (reason
/// `system_restart`).
///
/// Each call ends at its last known activity (issue 13), not at the
/// restart: the later of its last stored event and the previous run's last
/// heartbeat ([`ALIVE_KEY`], written every [`HEARTBEAT`]) — a call open in
/// the engine was live while the process was, so its end is known to
/// within one heartbeat of the crash.
async fn recover(store: &dyn Store) -> Result<(), store::StoreError> {
    let now = crate::now();
    let alive_until = store
        .get_meta(ALIVE_KEY)
        .await?
        .and_then(|v| v.parse::<i64>().ok())
        .map(domain::Timestamp::from_millis);
    // Each row and its `ended` event in one transaction.
    let closed = store
        .close_open_calls("system_restart", alive_until, now)
        .await?;
    if !closed.is_empty() {
        tracing::warn!(
            count = closed.len(),
            alive_until = ?alive_until,
            "closed interactions left open by the previous run"
        );
    }
    // Agents the previous run left logged in (crash or stop) are logged out,
    // so that reports do not count them as present.
    let stale: Vec<NewEvent> = store
        .last_agent_states()
        .await?
        .into_iter()
        .filter(|e| {
            !matches!(
                e.kind,
                EventKind::AgentStateChanged {
                    state: domain::event::AgentState::LoggedOut,
                    ..
                }
            )
        })
        .filter_map(|e| e.agent_id)
        .map(|a| {
            NewEvent::new(
                now,
                EventKind::AgentStateChanged {
                    state: domain::event::AgentState::LoggedOut,
                    reason: Some("system_restart".into()),
                },
            )
            .with_agent(a)
        })
        .collect();
    if !stale.is_empty() {
        store.append_events(&stale).await?;
        tracing::warn!(
            count = stale.len(),
            "logged out agents left logged in by the previous run"
        );
    }
    Ok(())
}

/// Meta key of the server's heartbeat: wall-clock ms since the Unix epoch
/// when it was last known alive.
pub const ALIVE_KEY: &str = "alive_at";
/// How often the heartbeat is written (one small write; bounds the error on
/// the end time of calls a crash cut).
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(2);

/// Write [`ALIVE_KEY`] now and every [`HEARTBEAT`] while the process runs
/// (the first failure of a streak is logged; the next tick tries again).
fn spawn_heartbeat(store: Arc<dyn Store>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            let now = crate::now().as_millis().to_string();
            match store.set_meta(ALIVE_KEY, &now).await {
                Ok(()) => failing = false,
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "heartbeat not written");
                }
                Err(_) => {}
            }
        }
    });
}

/// Serve `state` on `listener` until `shutdown` resolves; then stop taking
/// requests, finish those in flight, and close the store.
///
/// # Errors
/// I/O errors of the listener.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let store = state.store.clone();
    let messaging = state.messaging.clone();
    let telephony = state.telephony.clone();
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(|e| ServeError::Http(addr, e))?;
    if let Some(m) = messaging {
        m.shutdown();
    }
    // Calls get their BYE and the engine writes what it holds before the
    // store closes.
    if let Some(t) = telephony {
        t.stop().await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// `switchboard serve`.
///
/// # Errors
/// [`ServeError`].
pub async fn serve(settings: Settings) -> Result<(), ServeError> {
    let state = prepare(&settings).await?;
    // The daily backup set, retention pruning (`[backup]`); ends with the runtime.
    let _backups = crate::backup::spawn_scheduler(&settings, state.incidents.clone());
    // `[[reports.schedules]]`: reports e-mailed at their times.
    let _reports = crate::scheduled_reports::spawn(state.store.clone(), &settings);
    // A run marker left by a previous run means it crashed (SLA "server crash").
    if crate::backup::detect_unclean_restart(&settings) {
        state
            .incidents
            .detect(continuity::incidents::Detection::UncleanRestart);
    }
    let listener = tokio::net::TcpListener::bind(&settings.http.listen)
        .await
        .map_err(|e| ServeError::Http(settings.http.listen.clone(), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| ServeError::Http(settings.http.listen.clone(), e))?;
    println!(
        "Switchboard listening on http://{local} (store: {})",
        state.store.backend()
    );
    let result = run(listener, state, shutdown_signal()).await;
    crate::backup::mark_clean_stop(&settings);
    result
}

/// Resolves at SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested: draining requests");
}
