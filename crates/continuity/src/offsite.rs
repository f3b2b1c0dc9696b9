//! Off-site copies of backup sets on S3-compatible storage (the
//! `object_store` crate): upload, list, download, delete. A set is stored
//! under `<prefix>/<set id>/` exactly as on disk (sealed files, manifest and
//! its tag), so a downloaded set verifies with the same key. The manifest is
//! uploaded last and deleted first: a set whose `manifest.json` is present is
//! complete.

use crate::manifest::SetId;
use crate::{Error, Result};
use futures_util::TryStreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};
use std::path::Path;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Where and how to reach the S3-compatible bucket.
#[derive(Clone)]
pub struct S3Config {
    /// Endpoint URL, e.g. `https://s3.example.net` or `http://127.0.0.1:9000`.
    pub endpoint: String,
    /// Region (`us-east-1` when the service has none).
    pub region: String,
    /// The bucket (must exist).
    pub bucket: String,
    /// Key prefix inside the bucket (e.g. `switchboard/site-a`).
    pub prefix: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key (never printed).
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .finish()
    }
}

/// An off-site repository of sets.
#[derive(Clone, Debug)]
pub struct Offsite {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

fn os_err(e: object_store::Error) -> Error {
    Error::Offsite(e.to_string())
}

impl Offsite {
    /// On an S3-compatible bucket (path-style requests; plain HTTP allowed
    /// only when the endpoint says `http://`).
    ///
    /// # Errors
    /// [`Error::Offsite`] for a bad configuration.
    pub fn s3(c: &S3Config) -> Result<Self> {
        let store = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&c.endpoint)
            .with_allow_http(c.endpoint.starts_with("http://"))
            .with_region(&c.region)
            .with_bucket_name(&c.bucket)
            .with_access_key_id(&c.access_key_id)
            .with_secret_access_key(&c.secret_access_key)
            .with_virtual_hosted_style_request(false)
            .build()
            .map_err(os_err)?;
        Ok(Self::on(Arc::new(store), &c.prefix))
    }

    /// On any object store (the local file system, memory, another cloud).
    pub fn on(store: Arc<dyn ObjectStore>, prefix: &str) -> Self {
        Self {
            store,
            prefix: prefix.trim_matches('/').to_string(),
        }
    }

    fn key(&self, rel: &str) -> ObjPath {
        if self.prefix.is_empty() {
            ObjPath::from(rel)
        } else {
            ObjPath::from(format!("{}/{rel}", self.prefix))
        }
    }

    /// Copy set `id` of the local `repo` off-site (streamed, multipart for
    /// large files).
    ///
    /// # Errors
    /// [`Error::NoSuchSet`]; [`Error::Io`]; [`Error::Offsite`].
    pub async fn upload_set(&self, repo: &Path, id: &SetId) -> Result<u64> {
        let dir = repo.join(&id.0);
        if !SetId::is_valid(&id.0) || !dir.join("manifest.json").is_file() {
            return Err(Error::NoSuchSet(id.0.clone()));
        }
        let mut names: Vec<String> = Vec::new();
        for e in std::fs::read_dir(dir.join("files"))? {
            names.push(format!("files/{}", e?.file_name().to_string_lossy()));
        }
        names.sort();
        names.push("manifest.tag".into());
        names.push("manifest.json".into());
        let mut bytes = 0;
        for n in names {
            let mut src = tokio::fs::File::open(dir.join(&n)).await?;
            let mut w = object_store::buffered::BufWriter::new(
                self.store.clone(),
                self.key(&format!("{}/{n}", id.0)),
            );
            bytes += tokio::io::copy(&mut src, &mut w).await?;
            w.shutdown().await?;
        }
        Ok(bytes)
    }

    /// The complete sets off-site, oldest first.
    ///
    /// # Errors
    /// [`Error::Offsite`].
    pub async fn list_sets(&self) -> Result<Vec<SetId>> {
        let prefix = (!self.prefix.is_empty()).then(|| ObjPath::from(self.prefix.as_str()));
        let listed = self
            .store
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(os_err)?;
        let mut ids = Vec::new();
        for p in listed.common_prefixes {
            let Some(name) = p.filename() else { continue };
            if !SetId::is_valid(name) {
                continue;
            }
            match self
                .store
                .head(&self.key(&format!("{name}/manifest.json")))
                .await
            {
                Ok(_) => ids.push(SetId(name.to_string())),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(os_err(e)),
            }
        }
        ids.sort();
        Ok(ids)
    }

    async fn objects(&self, id: &SetId) -> Result<Vec<ObjPath>> {
        let prefix = self.key(&id.0);
        let mut out: Vec<ObjPath> = self
            .store
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(os_err)?;
        out.sort();
        Ok(out)
    }

    /// Download set `id` into the local `repo` (as `<id>.partial`, renamed
    /// when complete). Verify it afterwards with [`crate::verify_set`].
    ///
    /// # Errors
    /// [`Error::NoSuchSet`] when it is not off-site; [`Error::Offsite`]; [`Error::Io`].
    pub async fn download_set(&self, id: &SetId, repo: &Path) -> Result<u64> {
        if !SetId::is_valid(&id.0) {
            return Err(Error::NoSuchSet(id.0.clone()));
        }
        let objects = self.objects(id).await?;
        let base = self.key(&id.0);
        if !objects
            .iter()
            .any(|o| o.filename() == Some("manifest.json"))
        {
            return Err(Error::NoSuchSet(id.0.clone()));
        }
        let partial = repo.join(format!("{}.partial", id.0));
        if partial.exists() {
            std::fs::remove_dir_all(&partial)?;
        }
        let mut bytes = 0;
        for o in objects {
            let rel: Vec<String> = o
                .prefix_match(&base)
                .map(|parts| parts.map(|p| p.as_ref().to_string()).collect())
                .unwrap_or_default();
            let ok = matches!(rel.as_slice(), [a] if a == "manifest.json" || a == "manifest.tag")
                || matches!(rel.as_slice(), [d, f] if d == "files" && f.ends_with(".enc") && !f.contains(".."));
            if !ok {
                continue;
            }
            let out = partial.join(rel.join("/"));
            if let Some(p) = out.parent() {
                std::fs::create_dir_all(p)?;
            }
            let mut file = tokio::fs::File::create(&out).await?;
            let mut stream = self.store.get(&o).await.map_err(os_err)?.into_stream();
            while let Some(chunk) = stream.try_next().await.map_err(os_err)? {
                bytes += chunk.len() as u64;
                file.write_all(&chunk).await?;
            }
            file.flush().await?;
        }
        std::fs::create_dir_all(partial.join("files"))?;
        let dest = repo.join(&id.0);
        if dest.exists() {
            std::fs::remove_dir_all(&partial)?;
            return Err(Error::Invalid(format!(
                "set {id} is already in the local repository"
            )));
        }
        std::fs::rename(&partial, dest)?;
        Ok(bytes)
    }

    /// Delete set `id` off-site (manifest first).
    ///
    /// # Errors
    /// [`Error::Offsite`].
    pub async fn delete_set(&self, id: &SetId) -> Result<()> {
        if !SetId::is_valid(&id.0) {
            return Err(Error::NoSuchSet(id.0.clone()));
        }
        let mut objects = self.objects(id).await?;
        objects.sort_by_key(|o| o.filename() != Some("manifest.json"));
        for o in objects {
            self.store.delete(&o).await.map_err(os_err)?;
        }
        Ok(())
    }

    /// The authenticated manifest of set `id` off-site (to rebuild the
    /// off-site catalog at start, parents included).
    ///
    /// # Errors
    /// [`Error::Offsite`]; [`Error::Tampered`] when the tag does not match.
    pub async fn manifest(&self, key: &crate::BackupKey, id: &SetId) -> Result<crate::Manifest> {
        let get = |name: &'static str| {
            let k = self.key(&format!("{}/{name}", id.0));
            async move {
                self.store
                    .get(&k)
                    .await
                    .map_err(os_err)?
                    .bytes()
                    .await
                    .map_err(os_err)
            }
        };
        let json = get("manifest.json").await?;
        let tag = get("manifest.tag").await?;
        crate::manifest::check_offsite(key, id, &json, &tag)
    }
}

/// The configured off-site repository: an S3-compatible bucket or an SFTP
/// server. Same operations and layout on both (see [`Offsite`],
/// [`crate::sftp::SftpOffsite`]).
#[derive(Clone, Debug)]
pub enum OffsiteRepo {
    /// `[backup.s3]`.
    S3(Offsite),
    /// `[backup.sftp]`.
    Sftp(crate::sftp::SftpOffsite),
}

impl OffsiteRepo {
    /// Copy set `id` of the local `repo` off-site; the bytes sent.
    ///
    /// # Errors
    /// [`Error::NoSuchSet`]; [`Error::Io`]; [`Error::Offsite`].
    pub async fn upload_set(&self, repo: &Path, id: &SetId) -> Result<u64> {
        match self {
            Self::S3(o) => o.upload_set(repo, id).await,
            Self::Sftp(o) => o.upload_set(repo, id).await,
        }
    }

    /// The complete sets off-site, oldest first.
    ///
    /// # Errors
    /// [`Error::Offsite`].
    pub async fn list_sets(&self) -> Result<Vec<SetId>> {
        match self {
            Self::S3(o) => o.list_sets().await,
            Self::Sftp(o) => o.list_sets().await,
        }
    }

    /// Download set `id` into the local `repo`; the bytes received.
    ///
    /// # Errors
    /// [`Error::NoSuchSet`]; [`Error::Offsite`]; [`Error::Io`].
    pub async fn download_set(&self, id: &SetId, repo: &Path) -> Result<u64> {
        match self {
            Self::S3(o) => o.download_set(id, repo).await,
            Self::Sftp(o) => o.download_set(id, repo).await,
        }
    }

    /// Delete set `id` off-site (manifest first).
    ///
    /// # Errors
    /// [`Error::Offsite`].
    pub async fn delete_set(&self, id: &SetId) -> Result<()> {
        match self {
            Self::S3(o) => o.delete_set(id).await,
            Self::Sftp(o) => o.delete_set(id).await,
        }
    }

    /// The authenticated manifest of set `id` off-site.
    ///
    /// # Errors
    /// [`Error::Offsite`]; [`Error::Tampered`] when the tag does not match.
    pub async fn manifest(&self, key: &crate::BackupKey, id: &SetId) -> Result<crate::Manifest> {
        match self {
            Self::S3(o) => o.manifest(key, id).await,
            Self::Sftp(o) => o.manifest(key, id).await,
        }
    }
}
