//! Password rules after NIST SP 800-63B §5.1.1.2 (memorized secrets): at
//! least 8 characters (we default to 12), at most 64 accepted or more, every
//! printable character and space allowed, no composition rules, no periodic
//! change; refuse secrets found on a list of common/breached passwords, and
//! secrets built on the service name or the user's own login.
//!
//! The list ships with the crate (`data/common-passwords.txt`, offline).

use std::collections::HashSet;
use std::sync::OnceLock;

const COMMON: &str = include_str!("../data/common-passwords.txt");

/// The policy's numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters (Unicode scalar values); NIST minimum is 8.
    pub min_chars: usize,
    /// Most characters accepted; NIST asks for at least 64.
    pub max_chars: usize,
}

impl Default for PasswordPolicy {
    /// 12 to 128 characters.
    fn default() -> Self {
        PasswordPolicy {
            min_chars: 12,
            max_chars: 128,
        }
    }
}

/// Why a password is refused (the message is safe to show the user).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Too short.
    #[error("at least {0} characters are required")]
    TooShort(usize),
    /// Too long.
    #[error("at most {0} characters are accepted")]
    TooLong(usize),
    /// On the common/breached list.
    #[error("this password is too common (found in breached-password lists)")]
    Common,
    /// Built on the login or the service name.
    #[error("the password must not contain your login or the service name")]
    ContextSpecific,
    /// One character repeated, or a plain sequence.
    #[error("the password is a repetition or a sequence")]
    Repetitive,
    /// Control characters.
    #[error("control characters are not allowed")]
    ControlCharacter,
}

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Number of entries in the shipped common-password list.
pub fn common_list_len() -> usize {
    common().len()
}

fn is_sequence(s: &str) -> bool {
    let c: Vec<char> = s.chars().collect();
    c.len() > 1
        && (c.windows(2).all(|w| w[0] == w[1])
            || c.windows(2).all(|w| w[1] as i64 - w[0] as i64 == 1)
            || c.windows(2).all(|w| w[0] as i64 - w[1] as i64 == 1))
}

impl PasswordPolicy {
    /// Check a new password for `login`.
    ///
    /// # Errors
    /// The first rule broken, as a [`PasswordError`].
    pub fn check(&self, password: &str, login: &str) -> Result<(), PasswordError> {
        let n = password.chars().count();
        if n < self.min_chars {
            return Err(PasswordError::TooShort(self.min_chars));
        }
        if n > self.max_chars {
            return Err(PasswordError::TooLong(self.max_chars));
        }
        if password.chars().any(char::is_control) {
            return Err(PasswordError::ControlCharacter);
        }
        let lower = password.to_lowercase();
        if is_sequence(&lower) {
            return Err(PasswordError::Repetitive);
        }
        // The list's words with digits/punctuation stuck around them
        // ("Password123!", "!!qwerty2024") are still the list's words.
        let core = lower.trim_matches(|c: char| !c.is_alphabetic());
        let list = common();
        if list.contains(lower.as_str()) || (!core.is_empty() && list.contains(core)) {
            return Err(PasswordError::Common);
        }
        let login = login.trim().to_lowercase();
        if (login.chars().count() >= 3 && lower.contains(&login)) || lower.contains("switchboard") {
            return Err(PasswordError::ContextSpecific);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nist_rules() {
        let p = PasswordPolicy::default();
        assert!(common_list_len() > 150);
        assert_eq!(p.check("short", "ana"), Err(PasswordError::TooShort(12)));
        assert_eq!(
            p.check(&"x".repeat(129), "ana"),
            Err(PasswordError::TooLong(128))
        );
        assert_eq!(p.check("Password123!", "ana"), Err(PasswordError::Common));
        assert_eq!(p.check("!!Password1234", "ana"), Err(PasswordError::Common));
        assert_eq!(
            p.check("qwertyuiop", "ana").unwrap_err(),
            PasswordError::TooShort(12)
        );
        let loose = PasswordPolicy {
            min_chars: 8,
            max_chars: 64,
        };
        assert_eq!(loose.check("qwertyuiop", "ana"), Err(PasswordError::Common));
        assert_eq!(loose.check("QWERTY123", "ana"), Err(PasswordError::Common));
        assert_eq!(
            p.check("aaaaaaaaaaaaaa", "ana"),
            Err(PasswordError::Repetitive)
        );
        assert_eq!(
            p.check("abcdefghijklm", "ana"),
            Err(PasswordError::Repetitive)
        );
        assert_eq!(
            p.check("my-name-is-ana.kone", "ana.kone"),
            Err(PasswordError::ContextSpecific)
        );
        assert_eq!(
            p.check("MySwitchboard2026!", "ana"),
            Err(PasswordError::ContextSpecific)
        );
        assert_eq!(
            p.check("tab\there is bad", "ana"),
            Err(PasswordError::ControlCharacter)
        );
        // No composition rules: a long all-lowercase passphrase with spaces is fine.
        assert_eq!(p.check("correct horse battery staple", "ana"), Ok(()));
        assert_eq!(p.check("mot de passe très long é", "ana"), Ok(()));
    }
}
