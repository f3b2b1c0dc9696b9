//! Passwords and session tokens.
//!
//! - Passwords: argon2id (RFC 9106) PHC strings, default parameters of the
//!   `argon2` crate (19 MiB, 2 passes, 1 lane: the OWASP minimum).
//! - Sessions: 32 random bytes from the OS, shown to the client once as 64 hex
//!   characters; only their SHA-256 (hex) is stored, so a copy of the database
//!   yields no usable token.
//! - Login answers take the same work whether the user exists or not: an
//!   unknown user is checked against a dummy hash.

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Hash a password with argon2id.
///
/// # Errors
/// Only if the hasher fails (it does not for valid UTF-8 input).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Check `password` against a stored PHC hash. A malformed hash is a mismatch.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spend the same work as [`verify_password`] on a real hash, for users that
/// do not exist (no user enumeration by timing).
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let h = DUMMY.get_or_init(|| hash_password("dummy password for timing").unwrap_or_default());
    let _ = verify_password(password, h);
}

/// A new session token (64 hex characters) and its SHA-256 to store.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = to_hex(&bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// SHA-256 of a token, hex.
pub fn token_hash(token: &str) -> String {
    to_hex(&Sha256::digest(token.as_bytes()))
}

/// A random password of `len` characters from an alphabet without look-alikes
/// (no 0/O, 1/l/I).
pub fn random_password(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 1];
    while out.len() < len {
        OsRng.fill_bytes(&mut buf);
        // Rejection sampling keeps the choice uniform.
        let n = buf[0] as usize;
        if n < 256 - (256 % ALPHABET.len()) {
            out.push(ALPHABET[n % ALPHABET.len()] as char);
        }
    }
    out
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("s3cres", &h));
        assert!(!verify_password("s3cret", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (t1, h1) = new_token();
        let (t2, _) = new_token();
        assert_eq!(t1.len(), 64);
        assert_ne!(t1, t2);
        assert_eq!(h1, token_hash(&t1));
        assert_ne!(h1, t1);
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn random_passwords() {
        let p = random_password(14);
        assert_eq!(p.len(), 14);
        assert!(!p.contains(['0', 'O', '1', 'l', 'I']));
        assert_ne!(p, random_password(14));
    }
}
