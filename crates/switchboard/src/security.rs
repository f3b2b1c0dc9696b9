//! Wiring of the `iam` decisions into the server (issue 18): the login
//! brute-force limiter, the audit trail writer, the audit signing key and
//! its hourly checkpoints, and `switchboard audit verify`.

use domain::{Timestamp, UserId};
use ed25519_dalek::{SigningKey, VerifyingKey};
use iam::limiter::{LimitKey, Limiter, LimiterConfig, LimiterEffect, Verdict};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use store::{AuditAction, NewAuditEntry, Store};

/// Shared security state of a node (cheap to clone).
#[derive(Clone, Default)]
pub struct Security {
    limiter: Arc<Mutex<Limiter>>,
    sessions: Arc<Mutex<SessionCache>>,
}

/// Sessions the store confirmed recently, to keep serving their users while
/// the store does not answer (a PostgreSQL restart): the store stays the
/// authority whenever it answers (a logout, a disabled user or an expired
/// session count at once); the cache is read only when it fails.
/// Bounded: [`SESSION_CACHE_CAP`] entries; overflow policy: entries older
/// than [`SESSION_CACHE_TTL`] go first, then the whole cache is cleared
/// (it is a cache: nothing is lost, users are asked to the store again).
#[derive(Default)]
struct SessionCache {
    map: std::collections::HashMap<String, (store::User, std::time::Instant)>,
}

/// Most sessions kept in [`SessionCache`].
pub const SESSION_CACHE_CAP: usize = 10_000;
/// How long a store-confirmed session may serve while the store fails (15 min).
pub const SESSION_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl Security {
    /// A node's security state with this limiter configuration.
    pub fn new(config: LimiterConfig) -> Self {
        Security {
            limiter: Arc::new(Mutex::new(Limiter::new(config))),
            sessions: Arc::default(),
        }
    }

    /// The store confirmed this session now.
    pub fn session_confirmed(&self, token_hash: &str, user: &store::User) {
        let now = std::time::Instant::now();
        let mut g = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if g.map.len() >= SESSION_CACHE_CAP {
            g.map
                .retain(|_, (_, at)| now.duration_since(*at) < SESSION_CACHE_TTL);
            if g.map.len() >= SESSION_CACHE_CAP {
                g.map.clear();
            }
        }
        g.map.insert(token_hash.to_string(), (user.clone(), now));
    }

    /// The session is gone (logout, expired, unknown).
    pub fn session_gone(&self, token_hash: &str) {
        let mut g = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        g.map.remove(token_hash);
    }

    /// The session's user if the store confirmed it less than
    /// [`SESSION_CACHE_TTL`] ago (to use only when the store fails).
    pub fn recent_session(&self, token_hash: &str) -> Option<store::User> {
        let g = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        g.map
            .get(token_hash)
            .filter(|(_, at)| at.elapsed() < SESSION_CACHE_TTL)
            .map(|(u, _)| u.clone())
    }

    fn with<T>(&self, f: impl FnOnce(&mut Limiter) -> T) -> T {
        // A poisoned lock only means a panic elsewhere mid-update; the
        // counters are still usable.
        let mut g = self
            .limiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut g)
    }

    /// May a login attempt for `login` from `source` be verified now?
    pub fn check_login(&self, now: Timestamp, login: &str, source: IpAddr) -> Verdict {
        self.with(|l| l.check(now.as_millis(), login, source))
    }

    /// Count a failed login; returns lockouts it caused (to audit).
    pub fn login_failed(&self, now: Timestamp, login: &str, source: IpAddr) -> Vec<LimiterEffect> {
        self.with(|l| {
            l.handle_failure(now.as_millis(), login, source);
            std::iter::from_fn(|| l.poll_effect()).collect()
        })
    }

    /// A successful login forgets the account's failures.
    pub fn login_succeeded(&self, now: Timestamp, login: &str) {
        self.with(|l| l.handle_success(now.as_millis(), login));
    }
}

/// Append to the audit trail; a failure to write is logged as an error and
/// does not fail the caller's request (the action already happened).
pub async fn audit(store: &dyn Store, e: NewAuditEntry) {
    if let Err(err) = store.append_audit(&e).await {
        tracing::error!(error = %err, action = e.action.as_str(), target = %e.target, "audit write failed");
    }
}

/// An audit entry with a source address.
pub fn entry(
    at: Timestamp,
    actor: Option<UserId>,
    action: AuditAction,
    target: impl Into<String>,
    source: Option<IpAddr>,
) -> NewAuditEntry {
    let mut e = NewAuditEntry::new(at, actor, action, target);
    e.source = source.map(|s| s.to_string());
    e
}

/// Audit the lockouts a failure caused.
pub async fn audit_lockouts(
    store: &dyn Store,
    now: Timestamp,
    effects: Vec<LimiterEffect>,
    source: Option<IpAddr>,
) {
    for LimiterEffect::LockedOut {
        key,
        failures,
        until_ms,
    } in effects
    {
        let target = match &key {
            LimitKey::Account(a) => format!("login:{a}"),
            LimitKey::Source(ip) => format!("source:{ip}"),
        };
        tracing::warn!(%target, failures, "locked out after failed logins");
        let mut e = entry(now, None, AuditAction::Lockout, target, source);
        e.after = Some(serde_json::json!({ "failures": failures, "until": until_ms }));
        audit(store, e).await;
    }
}

/// Where the audit signing key lives: `audit.key_file`, else
/// `<data_dir>/audit-ed25519.key`.
pub fn key_path(settings: &crate::settings::Settings) -> PathBuf {
    settings
        .audit
        .key_file
        .clone()
        .unwrap_or_else(|| settings.data_dir.join("audit-ed25519.key"))
}

/// Read the Ed25519 signing key (64 hex characters: the RFC 8032 seed), or,
/// when `create` and the file is missing, generate one from the OS RNG and
/// write it (mode 0600 on Unix).
///
/// # Errors
/// A message for an unreadable, malformed or unwritable key file.
pub fn load_key(path: &Path, create: bool) -> Result<SigningKey, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let d = iam::audit::Digest::from_hex(text.trim())
                .ok_or_else(|| format!("{}: not 64 hex characters", path.display()))?;
            Ok(SigningKey::from_bytes(&d.0))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            use argon2::password_hash::rand_core::{OsRng, RngCore};
            let mut seed = [0u8; 32];
            OsRng.fill_bytes(&mut seed);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            std::io::Write::write_all(
                &mut f,
                format!("{}\n", iam::audit::Digest(seed).to_hex()).as_bytes(),
            )
            .map_err(|e| format!("{}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "audit signing key generated");
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

const PAGE: i64 = 10_000;

async fn whole_chain(
    store: &dyn Store,
    after: i64,
) -> Result<Vec<store::AuditEntry>, store::StoreError> {
    let mut out = Vec::new();
    let mut last = after;
    loop {
        let page = store.audit_chain(last, PAGE).await?;
        let Some(e) = page.last() else { break };
        last = e.seq;
        let full = page.len() as i64 == PAGE;
        out.extend(page);
        if !full {
            break;
        }
    }
    Ok(out)
}

/// Sign the checkpoints of every finished hour not yet signed; returns how
/// many were written.
///
/// # Errors
/// Store errors.
pub async fn checkpoint_due(
    store: &dyn Store,
    key: &SigningKey,
    now: Timestamp,
) -> Result<usize, store::StoreError> {
    let last = store
        .audit_checkpoints()
        .await?
        .last()
        .map_or(0, |c| c.last_seq);
    let pending = whole_chain(store, last).await?;
    let mut n = 0;
    for (hour, range) in iam::audit::plan_checkpoints(&pending, now.as_millis()) {
        if let Some(c) = iam::audit::Checkpoint::sign(key, hour, &pending[range]) {
            store.add_audit_checkpoint(&c).await?;
            n += 1;
        }
    }
    Ok(n)
}

/// Run [`checkpoint_due`] every minute until the process ends.
pub fn spawn_checkpointer(store: Arc<dyn Store>, key: SigningKey) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = checkpoint_due(&*store, &key, crate::now()).await {
                tracing::error!(error = %e, "audit checkpoint failed");
            }
        }
    });
}

/// `switchboard audit verify`: re-walk the chain and the checkpoints.
///
/// # Errors
/// The first bad entry or checkpoint, or a store/key error, as a message.
pub async fn verify(
    store: &dyn Store,
    key: &VerifyingKey,
) -> Result<iam::audit::VerifyReport, String> {
    let chain = whole_chain(store, 0).await.map_err(|e| e.to_string())?;
    let cps = store.audit_checkpoints().await.map_err(|e| e.to_string())?;
    iam::audit::verify(&chain, &cps, key).map_err(|e| e.to_string())
}
