//! Off-site copies of backup sets over SFTP (the hosted storage's "lien
//! FTP"), with russh and russh-sftp: key-based login, the server's host key
//! checked against the configured one. Same layout and order as
//! [`crate::offsite`]: `<dir>/<set id>/files/*.enc`, then `manifest.tag`,
//! then `manifest.json` (a set with its manifest is complete).

use crate::manifest::SetId;
use crate::{Error, Result};
use russh::keys::{PrivateKeyWithHashAlg, PublicKey};
use russh_sftp::client::SftpSession;
use russh_sftp::protocol::OpenFlags;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Where and how to reach the SFTP server.
#[derive(Clone, Debug)]
pub struct SftpConfig {
    /// Host name or address.
    pub host: String,
    /// TCP port (22).
    pub port: u16,
    /// Login.
    pub user: String,
    /// OpenSSH private key file (unencrypted) for the login.
    pub key_file: PathBuf,
    /// The server's host public key, one OpenSSH line (`ssh-ed25519 AAAA...`):
    /// any other key is refused.
    pub host_key: String,
    /// Remote folder of the sets (must exist).
    pub dir: String,
}

struct Client {
    host_key: PublicKey,
}

impl russh::client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> std::result::Result<bool, Self::Error> {
        Ok(match key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => {
                key.key_data() == self.host_key.key_data()
            }
            russh::keys::PublicKeyOrCertificate::Certificate(_) => false,
        })
    }
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::Offsite(format!("sftp: {e}"))
}

/// An SFTP off-site repository.
#[derive(Clone, Debug)]
pub struct SftpOffsite {
    config: SftpConfig,
}

impl SftpOffsite {
    /// From a configuration (nothing is connected yet).
    pub fn new(config: SftpConfig) -> Self {
        Self { config }
    }

    async fn session(&self) -> Result<SftpSession> {
        let c = &self.config;
        let host_key = PublicKey::from_openssh(c.host_key.trim())
            .map_err(|e| err(format!("host_key: {e}")))?;
        let key = russh::keys::load_secret_key(&c.key_file, None)
            .map_err(|e| err(format!("key file {}: {e}", c.key_file.display())))?;
        let config = Arc::new(russh::client::Config::default());
        let mut session =
            russh::client::connect(config, (c.host.as_str(), c.port), Client { host_key })
                .await
                .map_err(|e| err(format!("connecting to {}:{}: {e}", c.host, c.port)))?;
        let auth = session
            .authenticate_publickey(&c.user, PrivateKeyWithHashAlg::new(Arc::new(key), None))
            .await
            .map_err(err)?;
        if !auth.success() {
            return Err(err(format!("login refused for {}", c.user)));
        }
        let channel = session.channel_open_session().await.map_err(err)?;
        channel.request_subsystem(true, "sftp").await.map_err(err)?;
        SftpSession::new(channel.into_stream()).await.map_err(err)
    }

    fn remote(&self, rel: &str) -> String {
        format!("{}/{rel}", self.config.dir.trim_end_matches('/'))
    }

    /// Copy set `id` of the local `repo` to the server.
    ///
    /// # Errors
    /// [`Error::NoSuchSet`]; [`Error::Io`]; [`Error::Offsite`].
    pub async fn upload_set(&self, repo: &Path, id: &SetId) -> Result<u64> {
        let dir = repo.join(&id.0);
        if !SetId::is_valid(&id.0) || !dir.join("manifest.json").is_file() {
            return Err(Error::NoSuchSet(id.0.clone()));
        }
        let mut names = Vec::new();
        for e in std::fs::read_dir(dir.join("files"))? {
            names.push(format!("files/{}", e?.file_name().to_string_lossy()));
        }
        names.sort();
        names.push("manifest.tag".into());
        names.push("manifest.json".into());
        let sftp = self.session().await?;
        for d in [self.remote(&id.0), self.remote(&format!("{}/files", id.0))] {
            if !sftp.try_exists(&d).await.map_err(err)? {
                sftp.create_dir(&d).await.map_err(err)?;
            }
        }
        let mut bytes = 0;
        for n in names {
            let mut src = tokio::fs::File::open(dir.join(&n)).await?;
            let mut dst = sftp
                .open_with_flags(
                    self.remote(&format!("{}/{n}", id.0)),
                    OpenFlags::CREATE | OpenFlags::TRUNCATE | OpenFlags::WRITE,
                )
                .await
                .map_err(err)?;
            bytes += tokio::io::copy(&mut src, &mut dst).await?;
            dst.shutdown().await?;
        }
        sftp.close().await.map_err(err)?;
        Ok(bytes)
    }

    /// The complete sets on the server, oldest first.
    ///
    /// # Errors
    /// [`Error::Offsite`].
    pub async fn list_sets(&self) -> Result<Vec<SetId>> {
        let sftp = self.session().await?;
        let mut ids = Vec::new();
        for e in sftp.read_dir(self.remote("")).await.map_err(err)? {
            let name = e.file_name();
            if SetId::is_valid(&name)
                && sftp
                    .try_exists(self.remote(&format!("{name}/manifest.json")))
                    .await
                    .map_err(err)?
            {
                ids.push(SetId(name));
            }
        }
        sftp.close().await.map_err(err)?;
        ids.sort();
        Ok(ids)
    }

    /// Download set `id` into the local `repo` (verify it afterwards).
    ///
    /// # Errors
    /// [`Error::NoSuchSet`]; [`Error::Offsite`]; [`Error::Io`].
    pub async fn download_set(&self, id: &SetId, repo: &Path) -> Result<u64> {
        if !SetId::is_valid(&id.0) {
            return Err(Error::NoSuchSet(id.0.clone()));
        }
        let sftp = self.session().await?;
        if !sftp
            .try_exists(self.remote(&format!("{}/manifest.json", id.0)))
            .await
            .map_err(err)?
        {
            return Err(Error::NoSuchSet(id.0.clone()));
        }
        let mut names: Vec<String> = vec!["manifest.json".into(), "manifest.tag".into()];
        for e in sftp
            .read_dir(self.remote(&format!("{}/files", id.0)))
            .await
            .map_err(err)?
        {
            let n = e.file_name();
            if n.len() == 10 && n.ends_with(".enc") && !n.contains('/') {
                names.push(format!("files/{n}"));
            }
        }
        let partial = repo.join(format!("{}.partial", id.0));
        if partial.exists() {
            std::fs::remove_dir_all(&partial)?;
        }
        std::fs::create_dir_all(partial.join("files"))?;
        let mut bytes = 0;
        for n in names {
            let mut src = sftp
                .open(self.remote(&format!("{}/{n}", id.0)))
                .await
                .map_err(err)?;
            let mut dst = tokio::fs::File::create(partial.join(&n)).await?;
            bytes += tokio::io::copy(&mut src, &mut dst).await?;
            dst.flush().await?;
        }
        sftp.close().await.map_err(err)?;
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

    /// The authenticated manifest of set `id` on the server (to rebuild the
    /// off-site catalog at start, parents included).
    ///
    /// # Errors
    /// [`Error::Offsite`]; [`Error::Tampered`] when the tag does not match.
    pub async fn manifest(&self, key: &crate::BackupKey, id: &SetId) -> Result<crate::Manifest> {
        if !SetId::is_valid(&id.0) {
            return Err(Error::NoSuchSet(id.0.clone()));
        }
        let sftp = self.session().await?;
        let json = sftp
            .read(self.remote(&format!("{}/manifest.json", id.0)))
            .await
            .map_err(err)?;
        let tag = sftp
            .read(self.remote(&format!("{}/manifest.tag", id.0)))
            .await
            .map_err(err)?;
        sftp.close().await.map_err(err)?;
        crate::manifest::check_offsite(key, id, &json, &tag)
    }

    /// Delete set `id` on the server (manifest first).
    ///
    /// # Errors
    /// [`Error::Offsite`].
    pub async fn delete_set(&self, id: &SetId) -> Result<()> {
        if !SetId::is_valid(&id.0) {
            return Err(Error::NoSuchSet(id.0.clone()));
        }
        let sftp = self.session().await?;
        let base = self.remote(&id.0);
        for n in ["manifest.json", "manifest.tag"] {
            let p = format!("{base}/{n}");
            if sftp.try_exists(&p).await.map_err(err)? {
                sftp.remove_file(&p).await.map_err(err)?;
            }
        }
        let files = format!("{base}/files");
        if sftp.try_exists(&files).await.map_err(err)? {
            for e in sftp.read_dir(&files).await.map_err(err)? {
                sftp.remove_file(format!("{files}/{}", e.file_name()))
                    .await
                    .map_err(err)?;
            }
            sftp.remove_dir(&files).await.map_err(err)?;
        }
        if sftp.try_exists(&base).await.map_err(err)? {
            sftp.remove_dir(&base).await.map_err(err)?;
        }
        sftp.close().await.map_err(err)?;
        Ok(())
    }
}
