//! Backup sets on disk: make, list, verify, restore, delete.
//!
//! A repository is a folder of sets; a set is a folder named by its
//! [`SetId`] holding `manifest.json`, `manifest.tag` (a Poly1305 tag over
//! the manifest under the backup key) and `files/NNNNNN.enc` (sealed files,
//! see [`crate::crypto`]). A set is written as `<id>.partial` and renamed
//! when complete, so a crash never leaves a half set that looks whole.

use crate::crypto::{self, BackupKey};
use crate::database::{self, DatabaseSource};
use crate::manifest::{Content, DatabaseBackend, FileEntry, Manifest, SetId, SetKind};
use crate::{Error, Result};
use std::collections::HashMap;
use std::io::{BufReader, BufWriter};
use std::path::{Component, Path, PathBuf};

/// What a backup takes.
#[derive(Clone, Debug)]
pub struct Sources {
    /// The database.
    pub database: DatabaseSource,
    /// Folders (or single files) of files, by content. A missing path is
    /// skipped (an install without recordings yet).
    pub trees: Vec<(Content, PathBuf)>,
}

/// Progress of a long operation, in plaintext bytes. The CLI shows it as a bar.
pub trait Progress {
    /// The operation will handle `total` bytes.
    fn start(&mut self, total: u64);
    /// `bytes` more were handled, the current file being `file`.
    fn advance(&mut self, bytes: u64, file: &str);
    /// Done.
    fn finish(&mut self) {}
}

/// A [`Progress`] that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&mut self, _: u64) {}
    fn advance(&mut self, _: u64, _: &str) {}
}

fn set_dir(repo: &Path, id: &SetId) -> PathBuf {
    repo.join(&id.0)
}

struct Found {
    content: Content,
    rel: String,
    abs: PathBuf,
    size: u64,
}

fn collect(trees: &[(Content, PathBuf)]) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    for (content, root) in trees {
        if !root.exists() {
            continue;
        }
        if root.is_file() {
            let name = root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push(Found {
                content: *content,
                rel: name,
                abs: root.clone(),
                size: std::fs::metadata(root)?.len(),
            });
            continue;
        }
        for entry in walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(root)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push(Found {
                content: *content,
                rel,
                abs: entry.path().to_path_buf(),
                size: entry.metadata().map_err(|e| Error::Io(e.into()))?.len(),
            });
        }
    }
    out.sort_by(|a, b| (a.content.dir(), &a.rel).cmp(&(b.content.dir(), &b.rel)));
    Ok(out)
}

fn seal_into(
    key: &BackupKey,
    src: &Path,
    size: u64,
    dst: &Path,
    label: &str,
    progress: &mut dyn Progress,
) -> Result<crypto::Sealed> {
    let input = BufReader::new(std::fs::File::open(src)?);
    let output = BufWriter::new(std::fs::File::create(dst)?);
    crypto::seal_stream(key, input, size, output, &mut |n| {
        progress.advance(n, label)
    })
}

fn write_manifest(dir: &Path, key: &BackupKey, m: &Manifest) -> Result<()> {
    let json = serde_json::to_vec_pretty(m).map_err(|e| Error::Invalid(e.to_string()))?;
    std::fs::write(dir.join("manifest.json"), &json)?;
    std::fs::write(dir.join("manifest.tag"), key.tag(&json)?)?;
    Ok(())
}

/// Read and authenticate a set's manifest.
///
/// # Errors
/// [`Error::NoSuchSet`]; [`Error::Tampered`] naming `manifest.json` when the
/// tag does not match (edited manifest or another key).
pub fn read_manifest(repo: &Path, key: &BackupKey, id: &SetId) -> Result<Manifest> {
    if !SetId::is_valid(&id.0) {
        return Err(Error::NoSuchSet(id.0.clone()));
    }
    let dir = set_dir(repo, id);
    let json = match std::fs::read(dir.join("manifest.json")) {
        Ok(j) => j,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoSuchSet(id.0.clone()));
        }
        Err(e) => return Err(e.into()),
    };
    let tag = std::fs::read_to_string(dir.join("manifest.tag")).unwrap_or_default();
    let bad = |why: &str| Error::Tampered {
        file: format!("{}/manifest.json", id.0),
        why: why.into(),
    };
    if !key.check_tag(&json, &tag) {
        return Err(bad("its tag does not match (edited, or another key)"));
    }
    let m: Manifest = serde_json::from_slice(&json).map_err(|e| bad(&e.to_string()))?;
    if m.id != *id {
        return Err(bad("it names another set"));
    }
    Ok(m)
}

/// The ids of the complete sets in `repo`, oldest first.
///
/// # Errors
/// [`Error::Io`] when the folder cannot be read (a missing folder is empty).
pub fn set_ids(repo: &Path) -> Result<Vec<SetId>> {
    let mut ids = Vec::new();
    let rd = match std::fs::read_dir(repo) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
        Err(e) => return Err(e.into()),
    };
    for e in rd {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if SetId::is_valid(&name) && e.path().join("manifest.json").is_file() {
            ids.push(SetId(name));
        }
    }
    ids.sort();
    Ok(ids)
}

/// The authenticated manifests of `repo`'s sets, oldest first. A set whose
/// manifest fails authentication is left out and logged.
///
/// # Errors
/// [`Error::Io`].
pub fn list_sets(repo: &Path, key: &BackupKey) -> Result<Vec<Manifest>> {
    let mut out = Vec::new();
    for id in set_ids(repo)? {
        match read_manifest(repo, key, &id) {
            Ok(m) => out.push(m),
            Err(e) => tracing::warn!(set = %id, error = %e, "backup set left out of the list"),
        }
    }
    Ok(out)
}

/// Make a set of `kind` in `repo` at `now`. A differential applies on top of
/// the newest full in `repo`.
///
/// # Errors
/// [`Error::NoFull`] for a differential without a full; [`Error::Database`]
/// when the database copy fails; [`Error::Io`]; [`Error::Changed`] when a file
/// changed size while being read (retry).
pub async fn create_set(
    repo: &Path,
    key: &BackupKey,
    sources: &Sources,
    kind: SetKind,
    now: jiff::Timestamp,
    progress: &mut dyn Progress,
) -> Result<Manifest> {
    std::fs::create_dir_all(repo)?;
    let parent = match kind {
        SetKind::Full => None,
        SetKind::Differential => Some(
            list_sets(repo, key)?
                .into_iter()
                .rev()
                .find(|m| m.kind == SetKind::Full)
                .ok_or(Error::NoFull)?,
        ),
    };
    let id = SetId::new(now, kind);
    if set_dir(repo, &id).exists() {
        return Err(Error::Invalid(format!("set {id} already exists")));
    }
    let partial = repo.join(format!("{}.partial", id.0));
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    std::fs::create_dir_all(partial.join("files"))?;
    let result = fill_set(
        &partial,
        key,
        sources,
        &id,
        kind,
        parent.as_ref(),
        now,
        progress,
    )
    .await;
    match result {
        Ok(m) => {
            std::fs::rename(&partial, set_dir(repo, &id))?;
            Ok(m)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn fill_set(
    dir: &Path,
    key: &BackupKey,
    sources: &Sources,
    id: &SetId,
    kind: SetKind,
    parent: Option<&Manifest>,
    now: jiff::Timestamp,
    progress: &mut dyn Progress,
) -> Result<Manifest> {
    // The database copy is plaintext on disk only until it is sealed.
    let db_tmp = dir.join("database.tmp");
    database::dump(&sources.database, &db_tmp).await?;
    let (backend, db_name) = match &sources.database {
        DatabaseSource::Sqlite(_) => (DatabaseBackend::Sqlite, "switchboard.db"),
        DatabaseSource::Postgres(_) => (DatabaseBackend::Postgres, "switchboard.pgdump"),
    };
    let mut found = vec![Found {
        content: Content::Database,
        rel: db_name.into(),
        size: std::fs::metadata(&db_tmp)?.len(),
        abs: db_tmp.clone(),
    }];
    found.extend(collect(&sources.trees)?);
    let in_parent: HashMap<(Content, &str), &FileEntry> = parent
        .map(|p| {
            p.files
                .iter()
                .map(|f| ((f.content, f.path.as_str()), f))
                .collect()
        })
        .unwrap_or_default();
    progress.start(found.iter().map(|f| f.size).sum());
    let mut files = Vec::with_capacity(found.len());
    let mut n = 0usize;
    for f in &found {
        let label = format!("{}/{}", f.content.dir(), f.rel);
        if f.content != Content::Database
            && let Some(prev) = in_parent.get(&(f.content, f.rel.as_str()))
        {
            let (size, sha) = crypto::hash_file(&f.abs)?;
            if size == prev.size && sha == prev.sha256 {
                progress.advance(size, &label);
                files.push((*prev).clone());
                continue;
            }
        }
        n += 1;
        let blob = format!("{n:06}.enc");
        let sealed = seal_into(
            key,
            &f.abs,
            f.size,
            &dir.join("files").join(&blob),
            &label,
            progress,
        )?;
        files.push(FileEntry {
            content: f.content,
            path: f.rel.clone(),
            size: sealed.size,
            sha256: sealed.sha256,
            stored_in: id.clone(),
            blob,
            blob_sha256: sealed.stored_sha256,
        });
    }
    std::fs::remove_file(&db_tmp)?;
    progress.finish();
    let m = Manifest {
        format: 1,
        id: id.clone(),
        kind,
        parent: parent.map(|p| p.id.clone()),
        created_at_ms: now.as_millisecond(),
        database: Some(backend),
        files,
    };
    write_manifest(dir, key, &m)?;
    Ok(m)
}

/// The result of a successful verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Files checked.
    pub files: usize,
    /// Plaintext bytes checked.
    pub bytes: u64,
}

fn entry_label(f: &FileEntry) -> String {
    format!(
        "{}/{} ({}/files/{})",
        f.content.dir(),
        f.path,
        f.stored_in,
        f.blob
    )
}

/// Check that every file of set `id` (and, for a differential, the files
/// it takes from its full) is present, unaltered and decrypts to the
/// recorded size and SHA-256.
///
/// # Errors
/// [`Error::Tampered`] or [`Error::Missing`] naming the first bad file;
/// [`Error::NoSuchSet`] when the set or its parent full is gone.
pub fn verify_set(
    repo: &Path,
    key: &BackupKey,
    id: &SetId,
    progress: &mut dyn Progress,
) -> Result<Verified> {
    let m = read_manifest(repo, key, id)?;
    let parent = match &m.parent {
        Some(p) => Some(read_manifest(repo, key, p)?),
        None => None,
    };
    progress.start(m.files.iter().map(|f| f.size).sum());
    for f in &m.files {
        check_entry_origin(&m, parent.as_ref(), f)?;
        let label = entry_label(f);
        let path = set_dir(repo, &f.stored_in).join("files").join(&f.blob);
        let file = std::fs::File::open(&path).map_err(|_| Error::Missing(label.clone()))?;
        let got = crypto::open_stream(
            key,
            &label,
            BufReader::new(file),
            std::io::sink(),
            &mut |n| progress.advance(n, &label),
        )?;
        if got.stored_sha256 != f.blob_sha256 || got.sha256 != f.sha256 || got.size != f.size {
            return Err(Error::Tampered {
                file: label,
                why: "checksum differs from the manifest".into(),
            });
        }
    }
    progress.finish();
    Ok(Verified {
        files: m.files.len(),
        bytes: m.files.iter().map(|f| f.size).sum(),
    })
}

fn check_entry_origin(m: &Manifest, parent: Option<&Manifest>, f: &FileEntry) -> Result<()> {
    if !(safe_rel(&f.path) && f.blob.len() == 10 && f.blob.ends_with(".enc")) {
        return Err(Error::Tampered {
            file: format!("{}/manifest.json", m.id),
            why: format!("unsafe path {:?}", f.path),
        });
    }
    if f.stored_in == m.id {
        return Ok(());
    }
    let ok = parent.is_some_and(|p| {
        p.id == f.stored_in
            && p.files
                .iter()
                .any(|pf| pf.blob == f.blob && pf.blob_sha256 == f.blob_sha256)
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Tampered {
            file: entry_label(f),
            why: "not a file of this set nor of its parent full".into(),
        })
    }
}

fn safe_rel(p: &str) -> bool {
    !p.is_empty()
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Where a restore goes.
#[derive(Clone, Debug)]
pub struct RestoreTarget {
    /// An empty (or missing) folder that receives the files:
    /// `switchboard.db` (SQLite sets), `recordings/`, `prompts/`, `flows/`,
    /// `config/` — the layout of a data dir plus the engine's folders.
    pub dir: PathBuf,
    /// For a PostgreSQL set: the empty database to `pg_restore` into.
    /// For an SQLite set, `sqlite://PATH` puts the database file at PATH
    /// instead of `<dir>/switchboard.db`.
    pub database_url: Option<String>,
}

/// What a restore wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    /// Files written (the database counts as one).
    pub files: usize,
    /// Plaintext bytes written.
    pub bytes: u64,
}

/// Restore set `id` (a differential with the unchanged files of its full)
/// after verifying it whole.
///
/// # Errors
/// Those of [`verify_set`]; [`Error::NotEmpty`] when the target folder or
/// database is not empty; [`Error::Invalid`] for a PostgreSQL set without a
/// target database URL, or an SQLite set with a PostgreSQL URL.
pub async fn restore_set(
    repo: &Path,
    key: &BackupKey,
    id: &SetId,
    target: &RestoreTarget,
    progress: &mut dyn Progress,
) -> Result<Restored> {
    verify_set(repo, key, id, &mut NoProgress)?;
    let m = read_manifest(repo, key, id)?;
    if target.dir.exists() && std::fs::read_dir(&target.dir)?.next().is_some() {
        return Err(Error::NotEmpty(format!(
            "{} is not empty",
            target.dir.display()
        )));
    }
    let db_path = match (m.database, target.database_url.as_deref()) {
        (Some(DatabaseBackend::Postgres), None) => {
            return Err(Error::Invalid(
                "a PostgreSQL set needs a target database URL".into(),
            ));
        }
        (Some(DatabaseBackend::Sqlite), Some(url)) => match DatabaseSource::from_url(url)? {
            DatabaseSource::Sqlite(p) => {
                if p.exists() {
                    return Err(Error::NotEmpty(format!("{} exists", p.display())));
                }
                p
            }
            DatabaseSource::Postgres(_) => {
                return Err(Error::Invalid(
                    "an SQLite set restores into sqlite://PATH or a folder".into(),
                ));
            }
        },
        (Some(DatabaseBackend::Postgres), Some(_)) => target.dir.join("switchboard.pgdump.tmp"),
        _ => target.dir.join("switchboard.db"),
    };
    std::fs::create_dir_all(&target.dir)?;
    progress.start(m.files.iter().map(|f| f.size).sum());
    let mut bytes = 0;
    for f in &m.files {
        let label = entry_label(f);
        let out = if f.content == Content::Database {
            db_path.clone()
        } else {
            target.dir.join(f.content.dir()).join(&f.path)
        };
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let src = set_dir(repo, &f.stored_in).join("files").join(&f.blob);
        let input =
            BufReader::new(std::fs::File::open(&src).map_err(|_| Error::Missing(label.clone()))?);
        let output = BufWriter::new(std::fs::File::create(&out)?);
        let got = crypto::open_stream(key, &label, input, output, &mut |n| {
            progress.advance(n, &label)
        })?;
        if got.sha256 != f.sha256 {
            return Err(Error::Tampered {
                file: label,
                why: "checksum differs from the manifest".into(),
            });
        }
        bytes += got.size;
    }
    if m.database == Some(DatabaseBackend::Postgres)
        && let Some(url) = &target.database_url
    {
        let r = database::pg_restore(url, &db_path).await;
        let _ = std::fs::remove_file(&db_path);
        r?;
    }
    progress.finish();
    Ok(Restored {
        files: m.files.len(),
        bytes,
    })
}

/// The newest set created at or before `at` (for `restore --at`).
pub fn set_at(sets: &[Manifest], at: jiff::Timestamp) -> Option<&Manifest> {
    sets.iter()
        .filter(|m| m.created_at() <= at)
        .max_by_key(|m| m.created_at_ms)
}

/// Delete set `id` from `repo`.
///
/// # Errors
/// [`Error::InUse`] when a differential still in `repo` needs it;
/// [`Error::Io`].
pub fn delete_set(repo: &Path, key: &BackupKey, id: &SetId) -> Result<()> {
    if !SetId::is_valid(&id.0) {
        return Err(Error::NoSuchSet(id.0.clone()));
    }
    if let Some(child) = list_sets(repo, key)?
        .iter()
        .find(|m| m.parent.as_ref() == Some(id))
    {
        return Err(Error::InUse(format!("{} needs {}", child.id, id)));
    }
    std::fs::remove_dir_all(set_dir(repo, id))?;
    Ok(())
}
