//! HTTP Digest authentication for SIP (RFC 3261 §22.4, RFC 7616 for SHA-256,
//! RFC 8760 for its use in SIP): challenges, credential parsing and checking.
//!
//! Nonces are stateless: `<issued-at ms hex>.<H(secret:issued-at)>`, valid for
//! [`NONCE_LIFETIME`]; an old but authentic nonce gives `stale=true`.

use md5::Md5;
use sha2::{Digest as _, Sha256};
use std::time::Duration;

/// How long a nonce is accepted after it was issued.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// Digest hash algorithm (RFC 7616 §3.2; `-sess` variants are not offered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// MD5 (RFC 2617), still what most phones do.
    Md5,
    /// SHA-256 (RFC 7616, RFC 8760).
    Sha256,
}

impl Algorithm {
    /// Token used in `algorithm=`.
    pub fn token(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    fn from_token(t: &str) -> Option<Self> {
        if t.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if t.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    /// Lower-case hex digest of `data`.
    pub fn hex(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => to_hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => to_hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Credentials from an `Authorization` header (RFC 3261 §22.4, RFC 7616 §3.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `uri` (digest-uri).
    pub uri: String,
    /// `response` (hex).
    pub response: String,
    /// `algorithm`, MD5 when absent.
    pub algorithm: String,
    /// `qop` (only `auth` is supported).
    pub qop: Option<String>,
    /// `nc`.
    pub nc: Option<String>,
    /// `cnonce`.
    pub cnonce: Option<String>,
}

/// Parse `Digest k=v, k="v", ...`. `None` if not a Digest header or no username.
pub fn parse_credentials(header: &str) -> Option<Credentials> {
    let rest = header.trim();
    let (scheme, params) = rest.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("Digest") {
        return None;
    }
    let mut c = Credentials {
        algorithm: "MD5".into(),
        ..Credentials::default()
    };
    for (k, v) in split_params(params) {
        match k.to_ascii_lowercase().as_str() {
            "username" => c.username = v,
            "realm" => c.realm = v,
            "nonce" => c.nonce = v,
            "uri" => c.uri = v,
            "response" => c.response = v.to_ascii_lowercase(),
            "algorithm" => c.algorithm = v,
            "qop" => c.qop = Some(v),
            "nc" => c.nc = Some(v),
            "cnonce" => c.cnonce = Some(v),
            _ => {}
        }
    }
    (!c.username.is_empty()).then_some(c)
}

/// Split `a=1, b="x, y"` into pairs, honouring quotes.
fn split_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().trim_start_matches(',').trim().to_string();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').unwrap_or(r.len());
            value = r[..end].to_string();
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        out.push((key, value));
    }
    out
}

/// Outcome of checking credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The response matches.
    Valid,
    /// Authentic nonce past its lifetime: re-challenge with `stale=true`.
    Stale,
    /// Anything else (wrong password, forged nonce, bad realm...).
    Invalid,
}

/// Issues nonces and checks digest responses for one realm.
#[derive(Debug, Clone)]
pub struct DigestAuth {
    realm: String,
    secret: String,
    algorithms: Vec<Algorithm>,
}

impl DigestAuth {
    /// `secret` keys the nonces (random per process is fine); `algorithms` are
    /// offered in this order of preference (RFC 8760 §2.4: most preferred first).
    pub fn new(realm: &str, secret: &str, algorithms: Vec<Algorithm>) -> Self {
        DigestAuth {
            realm: realm.to_string(),
            secret: secret.to_string(),
            algorithms,
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Build a nonce for time `now_ms` (ms since an arbitrary epoch).
    pub fn nonce(&self, now_ms: u64) -> String {
        let mac = Algorithm::Sha256.hex(&format!("{}:{now_ms:x}", self.secret));
        format!("{now_ms:x}.{}", &mac[..32])
    }

    /// `WWW-Authenticate` values, one per offered algorithm.
    pub fn challenges(&self, now_ms: u64, stale: bool) -> Vec<String> {
        let nonce = self.nonce(now_ms);
        self.algorithms
            .iter()
            .map(|a| {
                let mut v = format!(
                    "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm={}, qop=\"auth\"",
                    self.realm,
                    a.token()
                );
                if stale {
                    v.push_str(", stale=true");
                }
                v
            })
            .collect()
    }

    /// Check `creds` for `method` against `password`. Unknown users must be
    /// checked with a dummy password by the caller so timing and answer match.
    pub fn verify(
        &self,
        now_ms: u64,
        method: &str,
        creds: &Credentials,
        password: &str,
    ) -> Verdict {
        let Some(alg) = Algorithm::from_token(&creds.algorithm) else {
            return Verdict::Invalid;
        };
        if !self.algorithms.contains(&alg) || creds.realm != self.realm {
            return Verdict::Invalid;
        }
        let Some((issued, mac)) = creds.nonce.split_once('.') else {
            return Verdict::Invalid;
        };
        let Ok(issued_ms) = u64::from_str_radix(issued, 16) else {
            return Verdict::Invalid;
        };
        if self.nonce(issued_ms).split_once('.').map(|(_, m)| m) != Some(mac) {
            return Verdict::Invalid;
        }
        let ha1 = alg.hex(&format!("{}:{}:{password}", creds.username, self.realm));
        let ha2 = alg.hex(&format!("{method}:{}", creds.uri));
        let expected = match (&creds.qop, &creds.nc, &creds.cnonce) {
            (Some(qop), Some(nc), Some(cnonce)) if qop.eq_ignore_ascii_case("auth") => {
                alg.hex(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", creds.nonce))
            }
            (None, _, _) => alg.hex(&format!("{ha1}:{}:{ha2}", creds.nonce)),
            _ => return Verdict::Invalid,
        };
        if !constant_time_eq(expected.as_bytes(), creds.response.as_bytes()) {
            return Verdict::Invalid;
        }
        if now_ms.saturating_sub(issued_ms) > NONCE_LIFETIME.as_millis() as u64
            || issued_ms > now_ms + 1_000
        {
            return Verdict::Stale;
        }
        Verdict::Valid
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Who a client authenticates as (for [`client_response`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientSecret<'a> {
    /// Hash algorithm to answer with.
    pub alg: Algorithm,
    /// Username.
    pub user: &'a str,
    /// Realm from the challenge.
    pub realm: &'a str,
    /// Password.
    pub password: &'a str,
}

/// Compute the `Authorization` value a client would send with `qop=auth`,
/// `nc=00000001` (used by our tests, later by outbound trunk registration).
pub fn client_response(
    who: &ClientSecret<'_>,
    method: &str,
    uri: &str,
    nonce: &str,
    cnonce: &str,
) -> String {
    let ClientSecret {
        alg,
        user,
        realm,
        password,
    } = *who;
    let ha1 = alg.hex(&format!("{user}:{realm}:{password}"));
    let ha2 = alg.hex(&format!("{method}:{uri}"));
    let resp = alg.hex(&format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{resp}\", algorithm={}, qop=auth, nc=00000001, cnonce=\"{cnonce}\"",
        alg.token()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_md5_vector() {
        // RFC 2617 §3.5 example (HTTP, but the arithmetic is the same).
        let auth = DigestAuth::new("testrealm@host.com", "k", vec![Algorithm::Md5]);
        let creds = Credentials {
            username: "Mufasa".into(),
            realm: "testrealm@host.com".into(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".into(),
            uri: "/dir/index.html".into(),
            response: "6629fae49393a05397450978507c4ef1".into(),
            algorithm: "MD5".into(),
            qop: Some("auth".into()),
            nc: Some("00000001".into()),
            cnonce: Some("0a4f113b".into()),
        };
        let ha1 = Algorithm::Md5.hex("Mufasa:testrealm@host.com:Circle Of Life");
        let ha2 = Algorithm::Md5.hex("GET:/dir/index.html");
        let r = Algorithm::Md5.hex(&format!(
            "{ha1}:{}:00000001:0a4f113b:auth:{ha2}",
            creds.nonce
        ));
        assert_eq!(r, creds.response);
        // Foreign nonce: refused even with the right response.
        assert_eq!(
            auth.verify(0, "GET", &creds, "Circle Of Life"),
            Verdict::Invalid
        );
    }

    #[test]
    fn sha256_round_trip_wrong_password_and_stale() {
        let auth = DigestAuth::new("sb", "secret", vec![Algorithm::Sha256, Algorithm::Md5]);
        let nonce = auth.nonce(1_000);
        for alg in [Algorithm::Sha256, Algorithm::Md5] {
            let who = ClientSecret {
                alg,
                user: "1001",
                realm: "sb",
                password: "pw",
            };
            let h = client_response(&who, "REGISTER", "sip:sb", &nonce, "c1");
            let c = parse_credentials(&h).expect("parsed");
            assert_eq!(auth.verify(2_000, "REGISTER", &c, "pw"), Verdict::Valid);
            assert_eq!(auth.verify(2_000, "REGISTER", &c, "bad"), Verdict::Invalid);
            assert_eq!(
                auth.verify(1_000 + 301_000, "REGISTER", &c, "pw"),
                Verdict::Stale
            );
        }
        let challenges = auth.challenges(5, false);
        assert_eq!(challenges.len(), 2);
        assert!(challenges[0].contains("algorithm=SHA-256"));
    }

    #[test]
    fn parse_quoted_commas() {
        let c = parse_credentials(
            "Digest username=\"a,b\", realm=\"r\", nonce=n, uri=\"sip:x\", response=\"AB\"",
        )
        .expect("parsed");
        assert_eq!(c.username, "a,b");
        assert_eq!(c.nonce, "n");
        assert_eq!(c.response, "ab");
        assert!(parse_credentials("Basic abc").is_none());
    }
}
