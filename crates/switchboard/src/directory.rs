//! LDAP / Active Directory login (issue 18): a [`Directory`] trait (search,
//! bind, group membership) with an `ldap3` client, and [`directory_login`],
//! which finds the user with the service account, binds as the user with
//! their password and maps their groups to a role (`iam::directory`).

use iam::directory::{LdapSettings, member_filter, user_filter, valid_username};
use std::time::Duration;

/// Why a directory login did not give a role.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DirectoryError {
    /// No such user, or a wrong password (the directory said so).
    #[error("wrong username or password")]
    Refused,
    /// The user is in none of the mapped groups.
    #[error("directory user {0} is in no group mapped to a role")]
    NoRole(String),
    /// The directory could not be reached or answered an error.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
}

/// The few directory operations a login needs; faked in unit tests.
#[async_trait::async_trait]
pub trait Directory: Send + Sync {
    /// DN of the one entry matching `filter` under `base` (subtree), found
    /// with the service account; `None` when none or several match.
    async fn find_dn(&self, base: &str, filter: &str) -> Result<Option<String>, DirectoryError>;
    /// Whether a simple bind (RFC 4513 §5.1.3) as `dn` with `password`
    /// succeeds; `Ok(false)` for invalid credentials (result code 49).
    async fn bind(&self, dn: &str, password: &str) -> Result<bool, DirectoryError>;
    /// Whether the entry `dn` matches `filter` (base scope), read with the
    /// service account.
    async fn matches(&self, dn: &str, filter: &str) -> Result<bool, DirectoryError>;
}

/// A successful directory login.
#[derive(Debug, PartialEq)]
pub struct DirectoryLogin {
    /// The user's DN.
    pub dn: String,
    /// Role from the first mapped group the user is a member of.
    pub role: domain::Role,
}

/// Find `username`, bind as them with `password`, then map groups in the
/// order of `settings.group_roles`.
///
/// # Errors
/// [`DirectoryError::Refused`] for an unknown user, an empty or wrong
/// password (an empty one is never sent: it would be an unauthenticated bind,
/// RFC 4513 §5.1.2); `NoRole`; `Unavailable` when the directory fails.
pub async fn directory_login(
    dir: &dyn Directory,
    settings: &LdapSettings,
    username: &str,
    password: &str,
) -> Result<DirectoryLogin, DirectoryError> {
    if !valid_username(username) || password.is_empty() {
        return Err(DirectoryError::Refused);
    }
    let filter = user_filter(&settings.user_filter, username);
    let Some(dn) = dir.find_dn(&settings.user_base, &filter).await? else {
        return Err(DirectoryError::Refused);
    };
    if !dir.bind(&dn, password).await? {
        return Err(DirectoryError::Refused);
    }
    for g in &settings.group_roles {
        if dir.matches(&g.group, &member_filter(&dn)).await? {
            return Ok(DirectoryLogin { dn, role: g.role });
        }
    }
    Err(DirectoryError::NoRole(dn))
}

/// The `ldap3` client: a new connection per operation (logins are rare),
/// each bounded by `timeout_ms`.
pub struct LdapDirectory {
    settings: LdapSettings,
}

impl LdapDirectory {
    /// A client for these settings (no connection is made yet).
    pub fn new(settings: LdapSettings) -> Self {
        Self { settings }
    }

    async fn connect(&self) -> Result<ldap3::Ldap, DirectoryError> {
        let timeout = Duration::from_millis(self.settings.timeout_ms);
        let conn = ldap3::LdapConnSettings::new().set_conn_timeout(timeout);
        let (driver, mut ldap) = ldap3::LdapConnAsync::with_settings(conn, &self.settings.url)
            .await
            .map_err(unavailable)?;
        tokio::spawn(async move {
            if let Err(e) = driver.drive().await {
                tracing::warn!(error = %e, "LDAP connection ended");
            }
        });
        ldap.with_timeout(timeout);
        Ok(ldap)
    }

    async fn service(&self) -> Result<ldap3::Ldap, DirectoryError> {
        let mut ldap = self.connect().await?;
        if !self.settings.bind_dn.is_empty() {
            ldap.with_timeout(Duration::from_millis(self.settings.timeout_ms));
            ldap.simple_bind(&self.settings.bind_dn, &self.settings.bind_password)
                .await
                .map_err(unavailable)?
                .success()
                .map_err(|e| DirectoryError::Unavailable(format!("service bind: {e}")))?;
        }
        Ok(ldap)
    }

    async fn search(
        &self,
        base: &str,
        scope: ldap3::Scope,
        filter: &str,
    ) -> Result<Vec<String>, DirectoryError> {
        let mut ldap = self.service().await?;
        ldap.with_timeout(Duration::from_millis(self.settings.timeout_ms));
        let res = ldap
            .search(base, scope, filter, vec!["1.1"])
            .await
            .map_err(unavailable)?;
        let _ = ldap.unbind().await;
        // 32 noSuchObject: the base does not exist, i.e. no match.
        if res.1.rc == 32 {
            return Ok(Vec::new());
        }
        let (entries, _) = res.success().map_err(unavailable)?;
        Ok(entries
            .into_iter()
            .map(|e| ldap3::SearchEntry::construct(e).dn)
            .collect())
    }
}

fn unavailable(e: ldap3::LdapError) -> DirectoryError {
    DirectoryError::Unavailable(e.to_string())
}

#[async_trait::async_trait]
impl Directory for LdapDirectory {
    async fn find_dn(&self, base: &str, filter: &str) -> Result<Option<String>, DirectoryError> {
        let mut found = self.search(base, ldap3::Scope::Subtree, filter).await?;
        Ok(if found.len() == 1 { found.pop() } else { None })
    }

    async fn bind(&self, dn: &str, password: &str) -> Result<bool, DirectoryError> {
        if password.is_empty() {
            return Ok(false);
        }
        let mut ldap = self.connect().await?;
        let res = ldap.simple_bind(dn, password).await.map_err(unavailable)?;
        let _ = ldap.unbind().await;
        match res.rc {
            0 => Ok(true),
            49 => Ok(false),
            _ => Err(DirectoryError::Unavailable(format!("bind: {res}"))),
        }
    }

    async fn matches(&self, dn: &str, filter: &str) -> Result<bool, DirectoryError> {
        Ok(!self
            .search(dn, ldap3::Scope::Base, filter)
            .await?
            .is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Role;
    use iam::directory::GroupRole;

    /// A directory in memory: (dn, uid, password), groups (dn, member DNs).
    struct Fake {
        users: Vec<(&'static str, &'static str, &'static str)>,
        groups: Vec<(&'static str, Vec<&'static str>)>,
        down: bool,
    }

    #[async_trait::async_trait]
    impl Directory for Fake {
        async fn find_dn(&self, _: &str, filter: &str) -> Result<Option<String>, DirectoryError> {
            if self.down {
                return Err(DirectoryError::Unavailable("connection refused".into()));
            }
            Ok(self
                .users
                .iter()
                .find(|u| filter == format!("(uid={})", u.1))
                .map(|u| u.0.to_owned()))
        }
        async fn bind(&self, dn: &str, password: &str) -> Result<bool, DirectoryError> {
            Ok(self.users.iter().any(|u| u.0 == dn && u.2 == password))
        }
        async fn matches(&self, dn: &str, filter: &str) -> Result<bool, DirectoryError> {
            Ok(self
                .groups
                .iter()
                .any(|g| g.0 == dn && g.1.iter().any(|m| filter == member_filter(m))))
        }
    }

    fn settings() -> LdapSettings {
        LdapSettings {
            url: "ldap://127.0.0.1:1".into(),
            bind_dn: String::new(),
            bind_password: String::new(),
            user_base: "ou=people,dc=x".into(),
            user_filter: "(uid={username})".into(),
            group_roles: vec![
                GroupRole {
                    group: "cn=admins,dc=x".into(),
                    role: Role::Admin,
                },
                GroupRole {
                    group: "cn=agents,dc=x".into(),
                    role: Role::Agent,
                },
            ],
            timeout_ms: 100,
        }
    }

    fn fake(down: bool) -> Fake {
        Fake {
            users: vec![
                ("uid=ana,dc=x", "ana", "s3cret"),
                ("uid=bob,dc=x", "bob", "pw"),
                ("uid=eve,dc=x", "eve", "pw"),
            ],
            groups: vec![
                ("cn=agents,dc=x", vec!["uid=ana,dc=x", "uid=bob,dc=x"]),
                ("cn=admins,dc=x", vec!["uid=bob,dc=x"]),
            ],
            down,
        }
    }

    #[tokio::test]
    async fn maps_first_group_refuses_wrong_password_and_unmapped_users() {
        let (d, s) = (fake(false), settings());
        let ana = directory_login(&d, &s, "ana", "s3cret").await.unwrap();
        assert_eq!(
            ana,
            DirectoryLogin {
                dn: "uid=ana,dc=x".into(),
                role: Role::Agent
            }
        );
        let bob = directory_login(&d, &s, "bob", "pw").await.unwrap();
        assert_eq!(bob.role, Role::Admin, "first mapped group wins");
        assert_eq!(
            directory_login(&d, &s, "ana", "nope").await,
            Err(DirectoryError::Refused)
        );
        assert_eq!(
            directory_login(&d, &s, "ana", "").await,
            Err(DirectoryError::Refused)
        );
        assert_eq!(
            directory_login(&d, &s, "zed", "pw").await,
            Err(DirectoryError::Refused)
        );
        assert_eq!(
            directory_login(&d, &s, "eve", "pw").await,
            Err(DirectoryError::NoRole("uid=eve,dc=x".into()))
        );
        assert!(matches!(
            directory_login(&fake(true), &s, "ana", "s3cret").await,
            Err(DirectoryError::Unavailable(_))
        ));
    }
}
