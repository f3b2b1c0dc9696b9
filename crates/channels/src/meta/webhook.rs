//! Meta webhooks (WhatsApp Business Cloud API, Messenger, Instagram): the GET
//! verification handshake and the `X-Hub-Signature-256` check of POST bodies.
//!
//! These are plain functions, no HTTP framework: the server crate mounts them
//! and maps [`WebhookError::http_status`] to its response.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// Why a webhook request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// GET handshake with a missing `hub.mode=subscribe` or a wrong
    /// `hub.verify_token` (HTTP 403, as Meta's sample servers answer).
    #[error("webhook verification refused")]
    VerifyRefused,
    /// POST without `X-Hub-Signature-256` (HTTP 401).
    #[error("missing X-Hub-Signature-256")]
    MissingSignature,
    /// POST whose signature does not match the body (HTTP 401).
    #[error("bad X-Hub-Signature-256")]
    BadSignature,
    /// Signed correctly but not a payload we understand (HTTP 400).
    #[error("bad webhook payload: {0}")]
    BadPayload(String),
}

impl WebhookError {
    /// The HTTP status the server should answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookError::VerifyRefused => 403,
            WebhookError::MissingSignature | WebhookError::BadSignature => 401,
            WebhookError::BadPayload(_) => 400,
        }
    }
}

/// Answer Meta's verification request: `GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`.
/// Returns the challenge to echo back as the 200 body.
///
/// `params` are the decoded query parameters.
///
/// # Errors
/// [`WebhookError::VerifyRefused`] when the mode is not `subscribe`, the token
/// differs (compared in constant time) or the challenge is missing.
pub fn verify_subscription<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    verify_token: &str,
) -> Result<String, WebhookError> {
    let (mut mode, mut token, mut challenge) = (None, None, None);
    for (k, v) in params {
        match k {
            "hub.mode" => mode = Some(v),
            "hub.verify_token" => token = Some(v),
            "hub.challenge" => challenge = Some(v),
            _ => {}
        }
    }
    let token_ok = token.is_some_and(|t| constant_time_eq(t.as_bytes(), verify_token.as_bytes()));
    match (mode, challenge) {
        (Some("subscribe"), Some(c)) if token_ok && !verify_token.is_empty() => Ok(c.to_string()),
        _ => Err(WebhookError::VerifyRefused),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Check `X-Hub-Signature-256: sha256=<hex>`: the lower-case hex HMAC-SHA256 of
/// the raw body keyed with the app secret. The comparison is constant-time
/// (`hmac`'s `verify_slice`).
///
/// # Errors
/// [`WebhookError::MissingSignature`] without the header,
/// [`WebhookError::BadSignature`] when it is malformed or does not match.
pub fn verify_signature(
    app_secret: &[u8],
    header: Option<&str>,
    body: &[u8],
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::MissingSignature)?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(WebhookError::BadSignature)?;
    let sig = hex::decode(hex_sig).map_err(|_| WebhookError::BadSignature)?;
    let mut mac =
        hmac::Hmac::<Sha256>::new_from_slice(app_secret).map_err(|_| WebhookError::BadSignature)?;
    mac.update(body);
    mac.verify_slice(&sig)
        .map_err(|_| WebhookError::BadSignature)
}

/// The header value Meta would send for `body` (for tests and stand-ins).
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    match hmac::Hmac::<Sha256>::new_from_slice(app_secret) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake() {
        let ok = verify_subscription(
            [
                ("hub.mode", "subscribe"),
                ("hub.verify_token", "s3cret"),
                ("hub.challenge", "1158201444"),
            ],
            "s3cret",
        );
        assert_eq!(ok, Ok("1158201444".to_string()));
        let bad = verify_subscription(
            [
                ("hub.mode", "subscribe"),
                ("hub.verify_token", "guess"),
                ("hub.challenge", "1"),
            ],
            "s3cret",
        );
        assert_eq!(bad, Err(WebhookError::VerifyRefused));
        assert_eq!(bad.unwrap_err().http_status(), 403);
        let no_mode = verify_subscription(
            [("hub.verify_token", "s3cret"), ("hub.challenge", "1")],
            "s3cret",
        );
        assert!(no_mode.is_err());
        // An unset verify token never matches an empty one.
        let empty = verify_subscription(
            [
                ("hub.mode", "subscribe"),
                ("hub.verify_token", ""),
                ("hub.challenge", "1"),
            ],
            "",
        );
        assert!(empty.is_err());
    }

    #[test]
    fn signature_known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let body = b"what do ya want for nothing?";
        let header = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(sign(b"Jefe", body), header);
        assert_eq!(verify_signature(b"Jefe", Some(header), body), Ok(()));
    }

    #[test]
    fn forged_or_missing_signatures_are_401() {
        let body = br#"{"object":"page","entry":[]}"#;
        let good = sign(b"app-secret", body);
        assert_eq!(verify_signature(b"app-secret", Some(&good), body), Ok(()));
        let tampered = br#"{"object":"page","entry":[{}]}"#;
        let e = verify_signature(b"app-secret", Some(&good), tampered).unwrap_err();
        assert_eq!(
            (e.clone(), e.http_status()),
            (WebhookError::BadSignature, 401)
        );
        assert_eq!(
            verify_signature(b"other-secret", Some(&good), body),
            Err(WebhookError::BadSignature)
        );
        for h in ["sha1=abcd", "sha256=zz", "sha256=", "garbage"] {
            assert_eq!(
                verify_signature(b"app-secret", Some(h), body),
                Err(WebhookError::BadSignature),
                "{h}"
            );
        }
        assert_eq!(
            verify_signature(b"app-secret", None, body),
            Err(WebhookError::MissingSignature)
        );
    }
}
