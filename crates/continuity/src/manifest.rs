//! The manifest of a backup set (`manifest.json`, authenticated by
//! `manifest.tag`).

use serde::{Deserialize, Serialize};

/// A backup set's id: its UTC creation time (ms resolution) and kind, e.g.
/// `20261204T010000.000Z-full`. Ids sort in creation order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SetId(pub String);

impl SetId {
    /// The id of a set of `kind` created at `at`.
    pub fn new(at: jiff::Timestamp, kind: SetKind) -> Self {
        let k = match kind {
            SetKind::Full => "full",
            SetKind::Differential => "diff",
        };
        Self(format!("{}-{k}", at.strftime("%Y%m%dT%H%M%S%.3fZ")))
    }

    /// Whether `s` has the shape of a set id (starts with a digit; digits,
    /// letters, `.` and `-` only: no path separator), so it is safe as a
    /// folder or object name.
    pub fn is_valid(s: &str) -> bool {
        s.len() <= 64
            && s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    }
}

impl std::fmt::Display for SetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Full: every file stored in the set. Differential: only the files whose
/// SHA-256 differs from the parent full's (the database is always stored
/// whole: a `VACUUM INTO` copy or a compressed `pg_dump` archive does not
/// diff usefully).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetKind {
    /// Everything.
    Full,
    /// Changes since the parent full.
    Differential,
}

/// Which database engine a set's database file comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseBackend {
    /// An SQLite file made by `VACUUM INTO`.
    Sqlite,
    /// A `pg_dump --format=custom` archive.
    Postgres,
}

/// What part of the platform a file belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// The database copy.
    Database,
    /// Call recordings (`<data_dir>/recordings`).
    Recordings,
    /// IVR prompts.
    Prompts,
    /// IVR flow files.
    Flows,
    /// Configuration files.
    Config,
}

impl Content {
    /// The folder name used for this content in a set and in a restore.
    pub fn dir(self) -> &'static str {
        match self {
            Content::Database => "database",
            Content::Recordings => "recordings",
            Content::Prompts => "prompts",
            Content::Flows => "flows",
            Content::Config => "config",
        }
    }
}

/// One file of the platform as of a set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// What it is.
    pub content: Content,
    /// Path relative to its content's root, `/`-separated, no `..`.
    pub path: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext, hex.
    pub sha256: String,
    /// The set whose `files/` folder holds the sealed copy (this set, or the
    /// parent full for a file unchanged since it).
    pub stored_in: SetId,
    /// The sealed copy's name inside that set's `files/` folder.
    pub blob: String,
    /// SHA-256 of the sealed copy as stored, hex.
    pub blob_sha256: String,
}

/// The manifest of one set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version (1).
    pub format: u32,
    /// The set.
    pub id: SetId,
    /// Full or differential.
    pub kind: SetKind,
    /// For a differential, the full it applies on top of.
    pub parent: Option<SetId>,
    /// Creation time, ms since the Unix epoch (UTC).
    pub created_at_ms: i64,
    /// The database engine of the [`Content::Database`] entry, if any.
    pub database: Option<DatabaseBackend>,
    /// Every file of the platform as of this set, sorted by content then path.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// Total plaintext bytes of the files stored in this set itself.
    pub fn own_bytes(&self) -> u64 {
        self.files
            .iter()
            .filter(|f| f.stored_in == self.id)
            .map(|f| f.size)
            .sum()
    }

    /// Creation time.
    pub fn created_at(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.created_at_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

/// Check a manifest read from an off-site copy of set `id`: its `tag`
/// (`manifest.tag`) must authenticate `json` (`manifest.json`) under `key`
/// and it must name `id`.
///
/// # Errors
/// [`crate::Error::Tampered`]: the tag does not match (edited, or another
/// key), the JSON is not a manifest, or it names another set.
pub fn check_offsite(
    key: &crate::BackupKey,
    id: &SetId,
    json: &[u8],
    tag: &[u8],
) -> crate::Result<Manifest> {
    let bad = |why: &str| crate::Error::Tampered {
        file: format!("off-site {}/manifest.json", id.0),
        why: why.into(),
    };
    if !key.check_tag(json, &String::from_utf8_lossy(tag)) {
        return Err(bad("its tag does not match (edited, or another key)"));
    }
    let m: Manifest = serde_json::from_slice(json).map_err(|e| bad(&e.to_string()))?;
    if m.id != *id {
        return Err(bad("it names another set"));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_ids_name_time_and_kind_and_are_path_safe() {
        let at: jiff::Timestamp = "2026-12-04T01:00:00.042Z".parse().unwrap();
        let id = SetId::new(at, SetKind::Full);
        assert_eq!(id.0, "20261204T010000.042Z-full");
        assert!(SetId::is_valid(&id.0));
        let later = at + jiff::SignedDuration::from_millis(1);
        assert!(SetId::new(later, SetKind::Differential) > id);
        for bad in ["", ".", "..", "../x", "a/b", "2026/..", "x-full"] {
            assert!(!SetId::is_valid(bad), "{bad}");
        }
    }
}
