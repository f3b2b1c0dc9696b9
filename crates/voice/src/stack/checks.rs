//! Checks on a parsed request before it is routed (RFC 3261 §8.2.2, §8.2.3,
//! §20.1): a request that fails one is refused with the status the RFC names,
//! before authentication, trunk lookup or dialog matching, so that a carrier's
//! interconnection tests (RFC 4475 torture messages) get the same answer on a
//! real number as on an unknown one.
//!
//! Order (RFC 3261 §8.2): method (the stack's 501 comes first, these checks
//! skip methods we do not implement), malformed Via (400), Request-URI scheme
//! (416), `Require`/`Proxy-Require` (420), body type and encoding (415),
//! `Accept` on an offer/answer exchange (406). ACK is never refused (it gets
//! no response, RFC 3261 §17.2.1); CANCEL is not checked for extensions.
//! Pure functions of the request and the configuration: no state, no clock.

use crate::config::VoiceConfig;
use crate::sip::message::{Method, Request};

/// A request refused before routing: the status, its reason phrase and the
/// extra headers the RFC asks for (`Unsupported` on 420, `Accept` and
/// `Accept-Encoding` on 415).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    /// SIP status code (400, 406, 415, 416, 420).
    pub status: u16,
    /// Reason phrase.
    pub reason: &'static str,
    /// Headers to add to the response.
    pub headers: Vec<(&'static str, String)>,
}

impl Refusal {
    fn new(status: u16, reason: &'static str) -> Refusal {
        Refusal {
            status,
            reason,
            headers: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Refusal {
        self.headers.push((name, value.into()));
        self
    }
}

/// Request-URI schemes we route (RFC 3261 §19.1, RFC 3966 `tel`).
const SCHEMES: [&str; 3] = ["sip", "sips", "tel"];

/// The option tags (RFC 3261 §19.2) we implement: `timer` (RFC 4028) when
/// session timers are on.
fn supported_tags(cfg: &VoiceConfig) -> Vec<&'static str> {
    if cfg.session_expires.is_some() {
        vec!["timer"]
    } else {
        Vec::new()
    }
}

/// The body types we read for `method` (empty: we read no body on it, and
/// any body is ignored, RFC 3261 §8.2.3 leaves that to the method).
fn body_types(method: &Method) -> &'static [&'static str] {
    match method {
        Method::Invite => &["application/sdp"],
        Method::Info => &["application/dtmf-relay", "application/dtmf"],
        Method::Other(m) if m.eq_ignore_ascii_case("UPDATE") => &["application/sdp"],
        Method::Other(m) if m.eq_ignore_ascii_case("NOTIFY") => &["message/sipfrag"],
        _ => &[],
    }
}

/// Methods the stack implements (the others get 501 before any check).
fn implemented(method: &Method) -> bool {
    match method {
        Method::Other(m) => m.eq_ignore_ascii_case("UPDATE") || m.eq_ignore_ascii_case("NOTIFY"),
        _ => true,
    }
}

/// Check `req` before routing. `None`: go on; `Some`: answer with the refusal.
pub(super) fn check_request(req: &Request, cfg: &VoiceConfig) -> Option<Refusal> {
    if req.method == Method::Ack || !implemented(&req.method) {
        return None;
    }
    // RFC 3261 §25.1 `via-params`: every parameter has a name, every list
    // element a value (RFC 4475 §3.1.2.1: `Via: SIP/2.0/UDP host;;,;,,`).
    if req.headers.get_all("Via").any(malformed_via) {
        return Some(Refusal::new(400, "Malformed Via"));
    }
    // §8.2.2.1: a scheme we do not understand gets 416.
    let scheme = req.uri.split(':').next().unwrap_or("");
    if !SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) || !req.uri.contains(':') {
        return Some(Refusal::new(416, "Unsupported URI Scheme"));
    }
    // §8.2.2.3: every option tag in Require must be ours; we are also the
    // edge proxy of the platform, so Proxy-Require is held to the same rule.
    if req.method != Method::Cancel {
        let ours = supported_tags(cfg);
        let mut unknown: Vec<String> = Vec::new();
        for name in ["Require", "Proxy-Require"] {
            for tag in req.headers.get_all(name).flat_map(|v| v.split(',')) {
                let tag = tag.trim();
                if tag.is_empty() {
                    continue;
                }
                if !ours.iter().any(|o| o.eq_ignore_ascii_case(tag))
                    && !unknown.iter().any(|u| u.eq_ignore_ascii_case(tag))
                {
                    unknown.push(tag.to_string());
                }
            }
        }
        if !unknown.is_empty() {
            return Some(
                Refusal::new(420, "Bad Extension").with("Unsupported", unknown.join(", ")),
            );
        }
    }
    // §8.2.3: a body we cannot read gets 415 with what we accept. A body
    // without Content-Type is read as the method's first type (lenient with
    // old gateways; RFC 3261 §20.15 makes the header mandatory).
    let types = body_types(&req.method);
    if !req.body.is_empty() && !types.is_empty() {
        let accept = types.join(", ");
        if let Some(ct) = req.headers.get("Content-Type") {
            let media = media_type(ct);
            if !types.iter().any(|t| t.eq_ignore_ascii_case(&media)) {
                return Some(
                    Refusal::new(415, "Unsupported Media Type")
                        .with("Accept", accept)
                        .with("Accept-Encoding", "identity"),
                );
            }
        }
        let encoded = req
            .headers
            .get_all("Content-Encoding")
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .any(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity"));
        if encoded {
            return Some(
                Refusal::new(415, "Unsupported Media Type")
                    .with("Accept", accept)
                    .with("Accept-Encoding", "identity"),
            );
        }
    }
    // §20.1, §21.4.7: our answer to an INVITE (and to an UPDATE offer)
    // carries SDP; an Accept that excludes it gets 406.
    let sdp_in_reply = req.method == Method::Invite
        || (!req.body.is_empty() && body_types(&req.method) == ["application/sdp"]);
    if sdp_in_reply && req.headers.get("Accept").is_some() && !accepts_sdp(req) {
        return Some(Refusal::new(406, "Not Acceptable").with("Accept", "application/sdp"));
    }
    None
}

/// `type/subtype` of a Content-Type value, lower-case, without parameters.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether the request's `Accept` headers admit `application/sdp` (a media
/// range `*/*`, `application/*` or `application/sdp` without `q=0`). An
/// empty `Accept` admits nothing (RFC 3261 §20.1).
fn accepts_sdp(req: &Request) -> bool {
    req.headers
        .get_all("Accept")
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let zero = parts.any(|p| {
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("q")
                        && v.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
                })
            });
            !zero && matches!(media.as_str(), "*/*" | "application/*" | "application/sdp")
        })
}

/// A Via header value with an empty list element or an empty parameter
/// (`;;`, a trailing `;`, `;=x`).
fn malformed_via(value: &str) -> bool {
    value.split(',').any(|element| {
        let element = element.trim();
        if element.is_empty() {
            return true;
        }
        element
            .split(';')
            .skip(1)
            .any(|p| p.split('=').next().unwrap_or("").trim().is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::{Message, parse};

    fn req(method: &str, uri: &str, extra: &str, body: &str) -> Request {
        let text = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1\r\n\
             From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 {method}\r\n\
             {extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        match parse(text.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("fixture: {other:?}"),
        }
    }

    fn status(r: &Request) -> Option<u16> {
        check_request(r, &VoiceConfig::default()).map(|x| x.status)
    }

    #[test]
    fn each_rule_gives_its_status() {
        let sdp = "v=0\r\n";
        let ct = "Content-Type: application/sdp\r\n";
        assert_eq!(status(&req("INVITE", "sip:1@h", ct, sdp)), None);
        assert_eq!(status(&req("INVITE", "sip:1@h", "", "")), None);
        assert_eq!(status(&req("INVITE", "tel:+3312", "", "")), None);
        assert_eq!(
            status(&req("INVITE", "sip:1@h", "Require: timer\r\n", "")),
            None
        );
        let r = check_request(
            &req(
                "INVITE",
                "sip:1@h",
                "Require: timer, foo\r\nProxy-Require: bar\r\n",
                "",
            ),
            &VoiceConfig::default(),
        )
        .expect("refused");
        assert_eq!((r.status, r.reason), (420, "Bad Extension"));
        assert_eq!(r.headers, vec![("Unsupported", "foo, bar".to_string())]);
        let off = VoiceConfig {
            session_expires: None,
            ..VoiceConfig::default()
        };
        let r = check_request(&req("INVITE", "sip:1@h", "Require: timer\r\n", ""), &off);
        assert_eq!(r.map(|r| r.status), Some(420));
        assert_eq!(
            status(&req(
                "INVITE",
                "sip:1@h",
                "Content-Type: text/plain\r\n",
                sdp
            )),
            Some(415)
        );
        assert_eq!(
            status(&req(
                "INVITE",
                "sip:1@h",
                &format!("{ct}Content-Encoding: gzip\r\n"),
                sdp
            )),
            Some(415)
        );
        assert_eq!(
            status(&req("INVITE", "sip:1@h", "Accept: text/plain\r\n", "")),
            Some(406)
        );
        assert_eq!(
            status(&req(
                "INVITE",
                "sip:1@h",
                "Accept: application/sdp;q=0, text/html\r\n",
                ""
            )),
            Some(406)
        );
        assert_eq!(
            status(&req(
                "INVITE",
                "sip:1@h",
                "Accept: text/html, application/*\r\n",
                ""
            )),
            None
        );
        // OPTIONS answers carry no SDP: no 406; INFO takes DTMF relay only.
        assert_eq!(
            status(&req("OPTIONS", "sip:1@h", "Accept: text/plain\r\n", "")),
            None
        );
        assert_eq!(
            status(&req(
                "INFO",
                "sip:1@h",
                "Content-Type: application/dtmf-relay\r\n",
                "Signal=1\r\n"
            )),
            None
        );
        assert_eq!(
            status(&req(
                "INFO",
                "sip:1@h",
                "Content-Type: application/x-foo\r\n",
                "x"
            )),
            Some(415)
        );
        // Unimplemented methods are left to the 501, ACK to nobody.
        assert_eq!(
            status(&req("FROB", "sip:1@h", "Require: foo\r\n", "")),
            None
        );
        assert_eq!(status(&req("ACK", "sip:1@h", "Require: foo\r\n", "")), None);
    }

    #[test]
    fn via_with_empty_parameters_is_malformed() {
        assert!(malformed_via("SIP/2.0/UDP 192.0.2.15;;,;,,"));
        assert!(malformed_via("SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK1;"));
        assert!(malformed_via("SIP/2.0/UDP 192.0.2.15;=x"));
        assert!(!malformed_via(
            "SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK1;rport"
        ));
        assert!(!malformed_via(
            "SIP/2.0/UDP h1;branch=z9hG4bK1, SIP/2.0/TCP h2;received=1.2.3.4"
        ));
        assert!(!malformed_via("SIP/2.0/UDP 192.0.2.15"));
    }
}
