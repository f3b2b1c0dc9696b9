//! LDAP / Active Directory login decisions (issue 18, seed IV.3a): the
//! `[auth.ldap]` settings, RFC 4515 filter escaping and the mapping of
//! directory groups to roles. The directory client itself (I/O) lives with
//! the server; this module holds only pure functions.

use domain::Role;
use serde::Deserialize;

/// `[auth.ldap]`: where the directory is and how users and roles are found.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LdapSettings {
    /// `ldap://host:port` (or `ldaps://`).
    pub url: String,
    /// DN used for the user search (a service account); empty = anonymous.
    #[serde(default)]
    pub bind_dn: String,
    /// Its password.
    #[serde(default)]
    pub bind_password: String,
    /// Where users are searched (subtree), e.g. `ou=people,dc=example,dc=org`.
    pub user_base: String,
    /// Search filter with `{username}` replaced by the escaped login, e.g.
    /// `(uid={username})` or `(sAMAccountName={username})` for AD.
    #[serde(default = "default_filter")]
    pub user_filter: String,
    /// Group DN → role, checked in order: the first group (`member` holds
    /// the user's DN) gives the role. A user in none of them is refused.
    #[serde(default)]
    pub group_roles: Vec<GroupRole>,
    /// Connection and operation timeout, ms (default 5 000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_filter() -> String {
    "(uid={username})".to_owned()
}

fn default_timeout() -> u64 {
    5_000
}

/// One entry of [`LdapSettings::group_roles`].
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupRole {
    /// The group's DN, e.g. `cn=supervisors,ou=groups,dc=example,dc=org`.
    pub group: String,
    /// The role its members get.
    pub role: Role,
}

/// Escape a value for an LDAP search filter (RFC 4515 §3: `*`, `(`, `)`,
/// `\` and NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`).
pub fn escape_filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// The user search filter for `username` (escaped) from the template.
pub fn user_filter(template: &str, username: &str) -> String {
    template.replace("{username}", &escape_filter_value(username))
}

/// The filter that matches a group whose `member` is `user_dn`.
pub fn member_filter(user_dn: &str) -> String {
    format!("(member={})", escape_filter_value(user_dn))
}

/// Is `username` acceptable to send to a directory? Non-empty, at most 128
/// characters, no control characters.
pub fn valid_username(username: &str) -> bool {
    !username.is_empty()
        && username.chars().count() <= 128
        && !username.chars().any(char::is_control)
}

/// Two DNs equal for our purposes: ASCII case and spaces after commas
/// ignored (RFC 4514 attribute types and most values compare case-insensitively).
pub fn same_dn(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split(',')
            .map(|p| p.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_filter_metacharacters() {
        assert_eq!(
            escape_filter_value("a*b(c)\\d\0"),
            "a\\2ab\\28c\\29\\5cd\\00"
        );
        assert_eq!(
            user_filter("(uid={username})", "x)(uid=*"),
            "(uid=x\\29\\28uid=\\2a)"
        );
        assert_eq!(member_filter("uid=ana,dc=x"), "(member=uid=ana,dc=x)");
    }

    #[test]
    fn usernames_and_dns() {
        assert!(valid_username("ana.b"));
        assert!(!valid_username(""));
        assert!(!valid_username("a\nb"));
        assert!(same_dn("CN=Sup, OU=g,dc=x", "cn=sup,ou=g,DC=x"));
        assert!(!same_dn("cn=sup,dc=x", "cn=adm,dc=x"));
    }
}
