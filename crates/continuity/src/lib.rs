//! # continuity — backups you can restore, on a schedule you can test
//!
//! Switchboard's backup sets (SPEC §8, seed IV.3b): **full** and
//! **differential** sets of the database (SQLite by `VACUUM INTO`, an online
//! consistent copy; PostgreSQL by `pg_dump --format=custom`, restored with
//! `pg_restore`), recordings, prompts, IVR flows and configuration; a JSON
//! manifest with sizes and SHA-256 checksums, authenticated; every file sealed
//! with ChaCha20-Poly1305 (RFC 8439) under a 256-bit key from the
//! configuration or a key file. A differential stores only the files whose
//! checksum differs from its full's, and the database whole (see
//! [`SetKind`]). [`verify_set`] refuses a corrupted or tampered set and names
//! the bad file; [`restore_set`] restores a differential on top of its full.
//!
//! The schedule and retention are a pure state machine on virtual time
//! ([`schedule::Scheduler`]): the daily set at 01:00 local, a full every 14
//! days, one year kept locally and five years or more off-site, and pruning
//! that never removes the newest full nor a full a kept differential needs.
//!
//! It must not know about HTTP, SIP, the engine or the store's tables: the
//! shell (the `switchboard` binary) hands it a database URL, folders and a key,
//! and carries out the scheduler's effects.
//!
//! ```
//! use continuity::schedule::{Effect, Policy, Scheduler, SetInfo};
//! use continuity::{SetId, SetKind};
//! let mut s = Scheduler::new(Policy::default(), false).unwrap();
//! let t0: jiff::Timestamp = "2026-12-03T12:00:00Z".parse().unwrap();
//! s.handle_tick(t0); // nothing due before 01:00 (UTC here)
//! assert_eq!(s.poll_effect(), None);
//! let t1: jiff::Timestamp = "2026-12-04T01:00:00Z".parse().unwrap();
//! s.handle_tick(t1);
//! assert_eq!(s.poll_effect(), Some(Effect::MakeSet(SetKind::Full)));
//! // The shell made the set (continuity::create_set) and reports it:
//! let id = SetId::new(t1, SetKind::Full);
//! s.handle_set_done(t1, SetInfo { id, kind: SetKind::Full, parent: None, created_at: t1 });
//! s.handle_tick("2026-12-05T01:00:00Z".parse().unwrap());
//! assert_eq!(s.poll_effect(), Some(Effect::MakeSet(SetKind::Differential)));
//! ```

pub mod crypto;
pub mod database;
pub mod incidents;
pub mod manifest;
pub mod marker;
pub mod offsite;
pub mod schedule;
pub mod set;
pub mod sftp;

pub use crypto::BackupKey;
pub use database::DatabaseSource;
pub use manifest::{Content, DatabaseBackend, FileEntry, Manifest, SetId, SetKind};
pub use set::{
    NoProgress, Progress, RestoreTarget, Restored, Sources, Verified, create_set, delete_set,
    list_sets, read_manifest, restore_set, set_at, set_ids, verify_set,
};

/// Errors of backups and restores. None of them holds key material or a
/// database password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key is missing or malformed (the text is never echoed).
    #[error("backup key: {0}")]
    Key(String),
    /// A file of the set fails authentication or its checksum.
    #[error("{file} is corrupted or tampered with: {why}")]
    Tampered {
        /// The bad file (`content/path (set/files/blob)` or `SET/manifest.json`).
        file: String,
        /// What is wrong.
        why: String,
    },
    /// A file named by the manifest is not in the set.
    #[error("{0} is missing from the set")]
    Missing(String),
    /// No set with that id.
    #[error("no backup set {0:?}")]
    NoSuchSet(String),
    /// A differential was asked for but there is no full to base it on.
    #[error("no full backup set to base a differential on: make a full first")]
    NoFull,
    /// The restore target is not empty.
    #[error("restore target not empty: {0}")]
    NotEmpty(String),
    /// A set is still needed by another.
    #[error("set in use: {0}")]
    InUse(String),
    /// A file changed size while it was being backed up.
    #[error("a file changed while it was being backed up; run again")]
    Changed,
    /// The database copy or load failed.
    #[error("database: {0}")]
    Database(String),
    /// The off-site store failed.
    #[error("off-site: {0}")]
    Offsite(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// File system error.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
