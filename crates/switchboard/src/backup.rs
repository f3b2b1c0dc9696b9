//! Wiring of the `continuity` crate: the key, sources and policy from the
//! settings, the CLI's progress bar, and the backup scheduler task of
//! `serve` (the pure [`continuity::schedule::Scheduler`] driven by the wall
//! clock once a minute, its effects carried out here).

use crate::settings::Settings;
use continuity::offsite::OffsiteRepo;
use continuity::schedule::{Effect, Location, Policy, Scheduler, SetInfo};
use continuity::{BackupKey, Content, DatabaseSource, Manifest, Progress, SetKind, Sources};
use std::path::PathBuf;

/// The backup key from `[backup] key_file` or `[backup] key`.
///
/// # Errors
/// A sentence (never the key) when neither is set or the key is malformed.
pub fn key(settings: &Settings) -> Result<BackupKey, String> {
    let b = &settings.backup;
    if let Some(f) = &b.key_file {
        return BackupKey::from_file(f).map_err(|e| e.to_string());
    }
    if !b.key.expose().trim().is_empty() {
        return BackupKey::from_hex(b.key.expose()).map_err(|e| e.to_string());
    }
    Err(
        "no backup key: set [backup] key_file (or SWITCHBOARD_BACKUP__KEY_FILE); \
         `switchboard backup keygen FILE` makes one"
            .into(),
    )
}

/// The local repository of sets (`[backup] dir`, default `<data_dir>/backups`).
pub fn repo(settings: &Settings) -> PathBuf {
    settings
        .backup
        .dir
        .clone()
        .unwrap_or_else(|| settings.data_dir.join("backups"))
}

/// What a set takes: the database, `<data_dir>/recordings`, the prompts and
/// flows folders, and the configuration (`--config` file and `[backup] config_paths`).
///
/// # Errors
/// An unsupported database URL.
pub fn sources(settings: &Settings) -> Result<Sources, String> {
    let database = DatabaseSource::from_url(&settings.database_url()).map_err(|e| e.to_string())?;
    let mut trees = vec![
        (Content::Recordings, settings.data_dir.join("recordings")),
        (Content::Prompts, settings.engine.prompts_dir.clone()),
        (Content::Flows, settings.engine.flows_dir.clone()),
    ];
    if let Some(f) = &settings.config_file {
        trees.push((Content::Config, f.clone()));
    }
    for p in &settings.backup.config_paths {
        trees.push((Content::Config, p.clone()));
    }
    Ok(Sources { database, trees })
}

/// The schedule and retention from `[backup]`.
///
/// # Errors
/// A bad `daily_at` or `time_zone`, or a rule [`Policy::validate`] refuses.
pub fn policy(settings: &Settings) -> Result<Policy, String> {
    let b = &settings.backup;
    let daily_at: jiff::civil::Time = b
        .daily_at
        .parse()
        .map_err(|e| format!("[backup] daily_at {:?}: {e}", b.daily_at))?;
    let time_zone = jiff::tz::TimeZone::posix(&b.time_zone)
        .map_err(|e| format!("[backup] time_zone {:?}: {e}", b.time_zone))?;
    let day = |d: u32| jiff::SignedDuration::from_hours(24 * i64::from(d));
    let p = Policy {
        daily_at,
        time_zone,
        full_every_days: b.full_every_days,
        local_retention: day(b.local_retention_days),
        offsite_retention: day(b.offsite_retention_days),
        ..Policy::default()
    };
    p.validate()?;
    Ok(p)
}

/// The off-site repository from `[backup.s3]` or `[backup.sftp]`, if one
/// is configured.
///
/// # Errors
/// A bad S3 configuration; both `[backup.s3]` and `[backup.sftp]` set.
pub fn offsite(settings: &Settings) -> Option<Result<OffsiteRepo, String>> {
    let b = &settings.backup;
    match (&b.s3, &b.sftp) {
        (None, None) => None,
        (Some(_), Some(_)) => Some(Err(
            "[backup.s3] and [backup.sftp] are both set: keep one off-site copy".into(),
        )),
        (Some(c), None) => Some(
            continuity::offsite::Offsite::s3(&continuity::offsite::S3Config {
                endpoint: c.endpoint.clone(),
                region: c.region.clone(),
                bucket: c.bucket.clone(),
                prefix: c.prefix.clone(),
                access_key_id: c.access_key_id.clone(),
                secret_access_key: c.secret_access_key.expose().to_string(),
            })
            .map(OffsiteRepo::S3)
            .map_err(|e| e.to_string()),
        ),
        (None, Some(c)) => Some(Ok(OffsiteRepo::Sftp(continuity::sftp::SftpOffsite::new(
            continuity::sftp::SftpConfig {
                host: c.host.clone(),
                port: c.port,
                user: c.user.clone(),
                key_file: c.key_file.clone(),
                host_key: c.host_key.clone(),
                dir: c.dir.clone(),
            },
        )))),
    }
}

/// A [`Progress`] shown as an indicatif bar on standard error (hidden when
/// standard error is not a terminal).
pub struct Bar(indicatif::ProgressBar);

impl Bar {
    /// A bar with `verb` ("backing up", "verifying", "restoring").
    pub fn new(verb: &str) -> Self {
        let pb = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            indicatif::ProgressBar::new(0)
        } else {
            indicatif::ProgressBar::hidden()
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
            "{verb} [{{bar:30}}] {{bytes}}/{{total_bytes}} {{bytes_per_sec}} {{wide_msg}}"
        )) {
            pb.set_style(style.progress_chars("=> "));
        }
        Self(pb)
    }
}

impl Progress for Bar {
    fn start(&mut self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&mut self, bytes: u64, file: &str) {
        self.0.inc(bytes);
        self.0.set_message(file.to_string());
    }
    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}

fn info(m: &Manifest) -> SetInfo {
    SetInfo {
        id: m.id.clone(),
        kind: m.kind,
        parent: m.parent.clone(),
        created_at: m.created_at(),
    }
}

/// Make one set now (what `backup run` and the scheduler do). A
/// differential is made a full when the repository has no full yet.
///
/// # Errors
/// The set's error as a sentence.
pub async fn make_set(
    settings: &Settings,
    kind: SetKind,
    progress: &mut dyn Progress,
) -> Result<Manifest, String> {
    let key = key(settings)?;
    let repo = repo(settings);
    let sources = sources(settings)?;
    let has_full = continuity::list_sets(&repo, &key)
        .map_err(|e| e.to_string())?
        .iter()
        .any(|m| m.kind == SetKind::Full);
    let kind = if has_full { kind } else { SetKind::Full };
    continuity::create_set(
        &repo,
        &key,
        &sources,
        kind,
        jiff::Timestamp::now(),
        progress,
    )
    .await
    .map_err(|e| e.to_string())
}

/// Start the backup scheduler of `serve` when `[backup] schedule` is on and a
/// key is configured; it ticks once a minute. Returns the task, or `None`
/// (logged) when it does not run.
/// Failed and successful sets are handed to the incident desk (`incidents`).
pub fn spawn_scheduler(
    settings: &Settings,
    incidents: crate::incidents::Incidents,
) -> Option<tokio::task::JoinHandle<()>> {
    if !settings.backup.schedule {
        return None;
    }
    let key = match key(settings) {
        Ok(k) => k,
        Err(e) => {
            tracing::info!(reason = %e, "backup scheduler not started");
            return None;
        }
    };
    let offsite = match offsite(settings).transpose() {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "backup scheduler not started: bad off-site settings");
            return None;
        }
    };
    let mut sched = match policy(settings).and_then(|p| Scheduler::new(p, offsite.is_some())) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "backup scheduler not started: bad [backup] settings");
            return None;
        }
    };
    let settings = settings.clone();
    let repo = repo(&settings);
    Some(tokio::spawn(async move {
        match continuity::list_sets(&repo, &key) {
            Ok(sets) => sched.handle_catalog(Location::Local, sets.iter().map(info).collect()),
            Err(e) => tracing::warn!(error = %e, "cannot list backup sets"),
        }
        if let Some(off) = &offsite {
            match off.list_sets().await {
                Ok(ids) => {
                    let mut sets = Vec::new();
                    for id in ids {
                        match off.manifest(&key, &id).await {
                            Ok(m) => sets.push(info(&m)),
                            Err(e) => {
                                tracing::warn!(set = %id, error = %e, "off-site set left out")
                            }
                        }
                    }
                    sched.handle_catalog(Location::Offsite, sets);
                }
                Err(e) => tracing::warn!(error = %e, "cannot list off-site backup sets"),
            }
        }
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            sched.handle_tick(jiff::Timestamp::now());
            while let Some(effect) = sched.poll_effect() {
                carry_out(
                    &settings,
                    &repo,
                    &key,
                    offsite.as_ref(),
                    &mut sched,
                    &incidents,
                    effect,
                )
                .await;
            }
        }
    }))
}

async fn carry_out(
    settings: &Settings,
    repo: &std::path::Path,
    key: &BackupKey,
    offsite: Option<&OffsiteRepo>,
    sched: &mut Scheduler,
    incidents: &crate::incidents::Incidents,
    effect: Effect,
) {
    use continuity::incidents::Detection;
    match effect {
        Effect::MakeSet(kind) => {
            // The set is file-heavy: run it off the async workers.
            let s = settings.clone();
            let handle = tokio::runtime::Handle::current();
            let done = tokio::task::spawn_blocking(move || {
                handle.block_on(make_set(&s, kind, &mut continuity::NoProgress))
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
            let now = jiff::Timestamp::now();
            match done {
                Ok(m) => {
                    tracing::info!(set = %m.id, files = m.files.len(), bytes = m.own_bytes(), "backup set made");
                    sched.handle_set_done(now, info(&m));
                    incidents.detect(Detection::BackupSucceeded);
                }
                Err(e) => sched.handle_set_failed(now, kind, e),
            }
        }
        Effect::Prune(Location::Local, id) => match continuity::delete_set(repo, key, &id) {
            Ok(()) => tracing::info!(set = %id, "expired backup set pruned"),
            Err(e) => tracing::warn!(set = %id, error = %e, "expired backup set not pruned"),
        },
        Effect::Upload(id) => {
            let Some(off) = offsite else { return };
            let uploaded = match off.upload_set(repo, &id).await {
                Ok(bytes) => continuity::read_manifest(repo, key, &id)
                    .map(|m| (m, bytes))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match uploaded {
                Ok((m, bytes)) => {
                    tracing::info!(set = %id, bytes, "backup set copied off-site");
                    sched.handle_uploaded(jiff::Timestamp::now(), info(&m));
                }
                // Not retried here: the next set's upload goes on; the
                // failure is raised like a failed set.
                Err(e) => {
                    tracing::error!(set = %id, error = %e, "off-site copy failed");
                    incidents.detect(Detection::BackupFailed);
                }
            }
        }
        Effect::Prune(Location::Offsite, id) => {
            let Some(off) = offsite else { return };
            match off.delete_set(&id).await {
                Ok(()) => tracing::info!(set = %id, "expired off-site set pruned"),
                Err(e) => tracing::warn!(set = %id, error = %e, "expired off-site set not pruned"),
            }
        }
        Effect::BackupFailed { kind, reason } => {
            tracing::error!(?kind, %reason, "backup failed");
            incidents.detect(Detection::BackupFailed);
        }
    }
}

/// At the start of `serve`: write the run marker. Returns whether the
/// previous run left its marker (crash, `kill -9`): the caller raises the
/// "server crash" detection in the incident desk.
pub fn detect_unclean_restart(settings: &Settings) -> bool {
    let now = jiff::Timestamp::now();
    match continuity::marker::mark_running(
        &settings.data_dir,
        std::process::id(),
        now.as_millisecond(),
    ) {
        Ok(None) => false,
        Ok(Some(previous)) => {
            tracing::error!(previous_run = %previous, "unclean restart detected: server crash incident");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot write the run marker");
            false
        }
    }
}

/// At a clean stop of `serve`: remove the run marker.
pub fn mark_clean_stop(settings: &Settings) {
    if let Err(e) = continuity::marker::mark_stopped(&settings.data_dir) {
        tracing::warn!(error = %e, "cannot remove the run marker");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings from a TOML `[backup]` block.
    fn settings(toml: &str) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, toml).unwrap();
        Settings::load(Some(&f)).unwrap()
    }

    const SFTP: &str = "[backup.sftp]\nhost = \"backup.example.net\"\nuser = \"switchboard\"\n\
        key_file = \"/etc/switchboard/sftp_ed25519\"\nhost_key = \"ssh-ed25519 AAAA\"\n\
        dir = \"/srv/backups\"\n";
    const S3: &str = "[backup.s3]\nendpoint = \"http://127.0.0.1:9000\"\nbucket = \"b\"\n\
        access_key_id = \"k\"\nsecret_access_key = \"s\"\n";

    #[test]
    fn the_offsite_repository_is_the_one_configured() {
        assert!(offsite(&settings("")).is_none(), "none configured");
        let s = settings(SFTP);
        let c = s.backup.sftp.as_ref().unwrap();
        assert_eq!((c.port, c.dir.as_str()), (22, "/srv/backups"));
        assert!(matches!(offsite(&s), Some(Ok(OffsiteRepo::Sftp(_)))));
        assert!(matches!(
            offsite(&settings(S3)),
            Some(Ok(OffsiteRepo::S3(_)))
        ));
        let both = offsite(&settings(&format!("{S3}{SFTP}")))
            .unwrap()
            .unwrap_err();
        assert!(both.contains("both set"), "{both}");
    }
}
