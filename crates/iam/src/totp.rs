//! TOTP second factor (RFC 6238) and one-time recovery codes.
//!
//! Pure decisions: the caller hands in the shared secret (raw bytes), the
//! code the user typed, `now` in Unix **seconds** and the last time step this
//! user had accepted; it stores the returned step so the same code (or an
//! older one) is refused within its window (RFC 6238 §5.2: "the verifier MUST
//! NOT accept the second attempt of the OTP after the successful validation
//! has been issued for the first OTP").
//!
//! Codes are computed by the `totp-rs` crate (HMAC-SHA1, RFC 4226 §5.3
//! dynamic truncation). Defaults follow RFC 6238 §5.2: 30 s steps, one step
//! of skew either side, 6 digits (what authenticator apps show).
//!
//! Recovery codes: [`RECOVERY_CODES`] codes of 10 characters shown once at
//! enrolment; only their SHA-256 ([`recovery_hash`]) is stored, and each one
//! is deleted when used.

use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Totp};

/// Minimum secret length in bytes (RFC 4226 §4 R6: at least 128 bits).
pub const MIN_SECRET_BYTES: usize = 16;
/// Secret length generated at enrolment (RFC 4226 §4: 160 bits recommended).
pub const SECRET_BYTES: usize = 20;
/// Number of one-time recovery codes issued at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// How codes are computed and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Digits per code, 6..=8 (RFC 4226 §5.3).
    pub digits: u8,
    /// Time step X in seconds (RFC 6238 §4.1; 30 recommended).
    pub step_s: u64,
    /// Steps accepted before and after the current one (RFC 6238 §5.2: at
    /// most one backward step is recommended; we allow one either side).
    pub skew: u16,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            digits: 6,
            step_s: 30,
            skew: 1,
        }
    }
}

/// Outcome of checking a typed code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The code is right for time step `step` (`T = floor(unix_s / X)`),
    /// later than any step accepted before: store `step` as the new last one.
    Accepted {
        /// The matched time step.
        step: u64,
    },
    /// The code is right but its step was already accepted (or is older than
    /// the last accepted one): refused, RFC 6238 §5.2.
    Replayed,
    /// Not a valid code within the window (or malformed input, or a secret
    /// shorter than [`MIN_SECRET_BYTES`]).
    Wrong,
}

fn totp(params: Params, secret: &[u8]) -> Option<Totp> {
    if secret.len() < MIN_SECRET_BYTES || !(6..=8).contains(&params.digits) || params.step_s == 0 {
        return None;
    }
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(params.digits)
        .with_skew(0)
        .with_step_duration(params.step_s)
        .with_secret(secret.to_vec())
        .build()
        .ok()
}

/// Check `code` for `secret` at `now_s` (Unix seconds) with default
/// [`Params`]. `last_step` is the step of the user's last accepted code.
pub fn verify(secret: &[u8], code: &str, now_s: u64, last_step: Option<u64>) -> Verdict {
    verify_with(Params::default(), secret, code, now_s, last_step)
}

/// [`verify`] with explicit parameters. Spaces in `code` are ignored.
pub fn verify_with(
    params: Params,
    secret: &[u8],
    code: &str,
    now_s: u64,
    last_step: Option<u64>,
) -> Verdict {
    let Some(t) = totp(params, secret) else {
        return Verdict::Wrong;
    };
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != params.digits as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Verdict::Wrong;
    }
    let origin = now_s / params.step_s;
    let lo = origin.saturating_sub(u64::from(params.skew));
    let hi = origin + u64::from(params.skew);
    // Look at every step of the window so a replayed code is told apart from
    // a wrong one; the newest matching step wins.
    let mut matched = None;
    for step in lo..=hi {
        // `t` has no skew of its own: `check` compares against exactly this
        // step, in constant time.
        if t.check(&code, step * params.step_s) == Some(step) {
            matched = Some(step);
        }
    }
    match (matched, last_step) {
        (None, _) => Verdict::Wrong,
        (Some(s), Some(last)) if s <= last => Verdict::Replayed,
        (Some(step), _) => Verdict::Accepted { step },
    }
}

/// The code for `secret` at `now_s`: what an authenticator app shows. For
/// tests and diagnostics; `None` if the secret or parameters are invalid.
pub fn code_at(params: Params, secret: &[u8], now_s: u64) -> Option<String> {
    totp(params, secret).map(|t| t.generate(now_s).to_string())
}

/// Base32 (RFC 4648, no padding) of a secret, as typed into an app by hand.
pub fn secret_base32(secret: &[u8]) -> String {
    totp_rs::Secret::from(secret.to_vec()).to_base32()
}

/// Decode a Base32 secret. `None` if malformed.
pub fn secret_from_base32(s: &str) -> Option<Vec<u8>> {
    totp_rs::Secret::try_from_base32(s)
        .ok()
        .map(|s| s.as_ref().to_vec())
}

/// The `otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=...` URI that
/// authenticator apps read from a QR code (Key Uri Format).
///
/// # Errors
/// A secret shorter than [`MIN_SECRET_BYTES`], or an issuer/account holding
/// `:`.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> Result<String, String> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err("secret shorter than 128 bits".into());
    }
    let p = Params::default();
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(p.digits)
        .with_skew(p.skew)
        .with_step_duration(p.step_s)
        .with_secret(secret.to_vec())
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .and_then(|t| t.to_url())
        .map_err(|e| e.to_string())
}

/// Recovery codes from `random` bytes (the caller draws them from the OS;
/// at least `10 * RECOVERY_CODES` bytes are used, one per character).
/// Each code is `xxxxx-xxxxx` over an alphabet without look-alikes
/// (about 54 bits each). Returns `None` if `random` is too short.
pub fn recovery_codes(random: &[u8]) -> Option<Vec<String>> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789"; // 32 symbols
    if random.len() < 10 * RECOVERY_CODES {
        return None;
    }
    Some(
        random
            .chunks(10)
            .take(RECOVERY_CODES)
            .map(|chunk| {
                let mut s = String::with_capacity(11);
                for (i, b) in chunk.iter().enumerate() {
                    if i == 5 {
                        s.push('-');
                    }
                    s.push(ALPHABET[(*b as usize) % ALPHABET.len()] as char);
                }
                s
            })
            .collect(),
    )
}

/// SHA-256 (hex) of a recovery code after normalising it (lower case,
/// spaces and dashes removed), as stored and looked up.
pub fn recovery_hash(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    Sha256::digest(norm.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: SHA1 seed "12345678901234567890", X = 30, 8 digits.
    const SEED: &[u8] = b"12345678901234567890";
    const B: [(u64, &str); 6] = [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ];
    const P8: Params = Params {
        digits: 8,
        step_s: 30,
        skew: 1,
    };

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        for (t, code) in B {
            assert_eq!(code_at(P8, SEED, t).as_deref(), Some(code), "T={t}");
            assert_eq!(
                verify_with(P8, SEED, code, t, None),
                Verdict::Accepted { step: t / 30 },
                "T={t}"
            );
        }
    }

    #[test]
    fn replay_within_window_is_refused() {
        let (t, code) = B[3];
        let step = t / 30;
        assert_eq!(
            verify_with(P8, SEED, code, t, None),
            Verdict::Accepted { step }
        );
        assert_eq!(
            verify_with(P8, SEED, code, t, Some(step)),
            Verdict::Replayed
        );
        // Still refused one step later (inside the skew window).
        assert_eq!(
            verify_with(P8, SEED, code, t + 30, Some(step)),
            Verdict::Replayed
        );
        // The next step's code is accepted.
        let next = code_at(P8, SEED, t + 30).unwrap();
        assert_eq!(
            verify_with(P8, SEED, &next, t + 30, Some(step)),
            Verdict::Accepted { step: step + 1 }
        );
    }

    #[test]
    fn skew_and_wrong_codes() {
        let (t, code) = B[3];
        // One step late is accepted, two steps late is not.
        assert_eq!(
            verify_with(P8, SEED, code, t + 30, None),
            Verdict::Accepted { step: t / 30 }
        );
        assert_eq!(verify_with(P8, SEED, code, t + 60, None), Verdict::Wrong);
        assert_eq!(verify_with(P8, SEED, "89005925", t, None), Verdict::Wrong);
        assert_eq!(verify_with(P8, SEED, "8900592", t, None), Verdict::Wrong);
        assert_eq!(verify_with(P8, SEED, "8900592x", t, None), Verdict::Wrong);
        assert_eq!(verify_with(P8, SEED, "", t, None), Verdict::Wrong);
        // A too-short secret never verifies.
        assert_eq!(verify_with(P8, b"short", code, t, None), Verdict::Wrong);
        // Spaces are tolerated.
        assert_eq!(
            verify_with(P8, SEED, "8900 5924", t, None),
            Verdict::Accepted { step: t / 30 }
        );
    }

    #[test]
    fn six_digit_default_and_uri() {
        let c = code_at(Params::default(), SEED, 59).unwrap();
        // RFC 4226 truncation: the 6-digit code is the 8-digit one mod 10^6.
        assert_eq!(c, "287082");
        assert_eq!(verify(SEED, &c, 59, None), Verdict::Accepted { step: 1 });
        let uri = otpauth_uri(SEED, "Switchboard", "admin").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Switchboard:admin?"),
            "{uri}"
        );
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
        assert_eq!(secret_base32(SEED), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            secret_from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap(),
            SEED
        );
    }

    #[test]
    fn recovery_codes_shape_and_hash() {
        let random: Vec<u8> = (0..100u8).collect();
        let codes = recovery_codes(&random).unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(codes[0], "abcde-fghij");
        assert!(codes.iter().all(|c| c.len() == 11));
        assert_eq!(recovery_hash("ABCDE-FGHIJ"), recovery_hash("abcdefghij"));
        assert_ne!(recovery_hash(&codes[0]), recovery_hash(&codes[1]));
        assert!(recovery_codes(&random[..99]).is_none());
    }
}
