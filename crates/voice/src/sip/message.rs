//! Our own SIP message types (RFC 3261 §7), wrapping the `rsipstack` parser.
//!
//! The rest of the crate sees only [`Message`], [`Request`], [`Response`] and
//! [`Headers`]: a method, a Request-URI or status, ordered `(name, value)` header
//! pairs with long names, and a body. Parsing is delegated to
//! `rsipstack::sip::SipMessage` (pinned `=0.7.14`), then checked for the rules the
//! library leaves to its caller (mandatory headers, Content-Length, size).

use std::fmt::Write as _;

/// Largest message we accept, in bytes. Bigger datagrams or stream frames are
/// refused with [`ParseError::Oversized`] (RFC 3261 §18.1.1 lets us pick a bound).
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// A SIP method (RFC 3261 §7.1, RFC 3515 for REFER, RFC 6086 for INFO).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// Start a session.
    Invite,
    /// Confirm a final answer to an INVITE.
    Ack,
    /// End a dialog.
    Bye,
    /// Cancel a pending INVITE.
    Cancel,
    /// Bind a contact to an address of record.
    Register,
    /// Query capabilities (also used as a keep-alive).
    Options,
    /// Mid-dialog information (SIP INFO DTMF).
    Info,
    /// Call transfer (RFC 3515).
    Refer,
    /// Anything else, kept verbatim (answered 501 by the stack).
    Other(String),
}

impl Method {
    /// Parse a method token (case-sensitive per RFC 3261 §7.1, but we accept any case).
    pub fn from_token(token: &str) -> Method {
        match token.to_ascii_uppercase().as_str() {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "REFER" => Method::Refer,
            _ => Method::Other(token.to_string()),
        }
    }

    /// The wire token.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Refer => "REFER",
            Method::Other(s) => s,
        }
    }
}

/// Why a datagram or frame is not a usable SIP message. The stack answers
/// 400 when it can build a response, and drops the message otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Bigger than [`MAX_MESSAGE_BYTES`].
    #[error("message of {0} bytes is over the limit")]
    Oversized(usize),
    /// The library parser refused the start line or the header section.
    #[error("unparsable message: {0}")]
    Syntax(String),
    /// One of Via, From, To, Call-ID, CSeq is absent (RFC 3261 §8.1.1).
    #[error("missing mandatory header {0}")]
    MissingHeader(&'static str),
    /// CSeq is not `<number> <METHOD>` or its method differs from the request's.
    #[error("bad CSeq header")]
    BadCseq,
    /// Content-Length says more bytes than the datagram holds (RFC 3261 §18.3).
    #[error("Content-Length {declared} but {available} body bytes")]
    BadContentLength {
        /// Declared value.
        declared: usize,
        /// Bytes present after the blank line.
        available: usize,
    },
}

/// Ordered header list with long names (compact forms are expanded on parse).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

/// Expand a compact header name (RFC 3261 §7.3.3) to its long form.
fn long_name(name: &str) -> &str {
    match name {
        "v" | "V" => "Via",
        "f" | "F" => "From",
        "t" | "T" => "To",
        "i" | "I" => "Call-ID",
        "m" | "M" => "Contact",
        "l" | "L" => "Content-Length",
        "c" | "C" => "Content-Type",
        "k" | "K" => "Supported",
        "s" | "S" => "Subject",
        "e" | "E" => "Content-Encoding",
        "x" | "X" => "Session-Expires",
        other => other,
    }
}

impl Headers {
    /// First value of `name` (case-insensitive, compact forms accepted).
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = long_name(name);
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of `name`, in order. Comma-separated lists are NOT split here.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let name = long_name(name);
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Append a header.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// Remove every `name` header.
    pub fn remove(&mut self, name: &str) {
        let name = long_name(name).to_string();
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
    }

    /// Replace every `name` header with a single value.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.remove(name);
        self.push(name.to_string(), value);
    }

    /// Iterate `(name, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Request-URI, as text (`sip:user@host:port;params`).
    pub uri: String,
    /// Headers.
    pub headers: Headers,
    /// Body (SDP for INVITE/ACK/200).
    pub body: Vec<u8>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code 100..=699.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Headers.
    pub headers: Headers,
    /// Body.
    pub body: Vec<u8>,
}

/// A parsed SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// Headers of either kind.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }
}

/// Parse one SIP message from a datagram or a framed stream chunk.
///
/// Errors: see [`ParseError`]. Never panics on any input (property-tested).
pub fn parse(data: &[u8]) -> Result<Message, ParseError> {
    if data.len() > MAX_MESSAGE_BYTES {
        return Err(ParseError::Oversized(data.len()));
    }
    let sep = find_blank_line(data).ok_or_else(|| ParseError::Syntax("no blank line".into()))?;
    let available = data.len() - (sep + 4);
    let first_token = data
        .iter()
        .position(|b| *b == b' ')
        .and_then(|p| std::str::from_utf8(&data[..p]).ok())
        .unwrap_or("");
    let unknown_method = !first_token.starts_with("SIP/")
        && !first_token.is_empty()
        && first_token.bytes().all(is_token_char)
        && matches!(Method::from_token(first_token), Method::Other(_))
        && rsipstack::sip::Method::try_from(first_token).is_err();
    // rsipstack refuses methods it does not know; re-parse with a stand-in so that
    // we can still answer 501 with the right headers.
    // RFC 3261 §8.2.2 / §21.5.6: only SIP/2.0 requests are ours; other
    // versions are refused here (answered 505 by [`bad_request_reply`]).
    if !first_token.starts_with("SIP/") {
        let line_end = data.iter().position(|b| *b == b'\r').unwrap_or(data.len());
        let line = String::from_utf8_lossy(&data[..line_end]);
        let version = line.rsplit(' ').next().unwrap_or("");
        if version != "SIP/2.0" {
            return Err(ParseError::Syntax(format!(
                "unsupported version {version:.20}"
            )));
        }
    }
    if declared_content_length(&String::from_utf8_lossy(&data[..sep])).is_err() {
        return Err(ParseError::Syntax(
            "negative, malformed or conflicting Content-Length".into(),
        ));
    }
    let parsed = if unknown_method {
        let mut patched = b"OPTIONS".to_vec();
        patched.extend_from_slice(&data[first_token.len()..]);
        rsipstack::sip::SipMessage::try_from(patched.as_slice())
    } else {
        rsipstack::sip::SipMessage::try_from(data)
    };
    let parsed = parsed.map_err(|e| ParseError::Syntax(e.to_string()))?;
    let (msg, declared) = match parsed {
        rsipstack::sip::SipMessage::Request(r) => {
            let headers = convert_headers(r.headers.iter());
            let method = if unknown_method {
                Method::Other(first_token.to_string())
            } else {
                Method::from_token(&r.method.to_string())
            };
            let declared = content_length(&headers);
            (
                Message::Request(Request {
                    method,
                    uri: r.uri.to_string(),
                    headers,
                    body: r.body,
                }),
                declared,
            )
        }
        rsipstack::sip::SipMessage::Response(r) => {
            let headers = convert_headers(r.headers.iter());
            let declared = content_length(&headers);
            let status: u16 = r.status_code.code();
            let reason = r.reason_phrase().unwrap_or("").to_string();
            (
                Message::Response(Response {
                    status,
                    reason,
                    headers,
                    body: r.body,
                }),
                declared,
            )
        }
    };
    if let Some(declared) = declared
        && declared > available
    {
        return Err(ParseError::BadContentLength {
            declared,
            available,
        });
    }
    let h = msg.headers();
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        if h.get(name).is_none_or(|v| v.trim().is_empty()) {
            return Err(ParseError::MissingHeader(name));
        }
    }
    // Single-value headers (RFC 3261 §7.3.1, §20) appear once.
    for name in ["From", "To", "Call-ID", "CSeq", "Max-Forwards"] {
        if h.get_all(name).nth(1).is_some() {
            return Err(ParseError::Syntax(format!("duplicate {name} header")));
        }
    }
    let (_, cseq_method) = cseq(h).ok_or(ParseError::BadCseq)?;
    if let Message::Request(r) = &msg
        && cseq_method != r.method
        && r.method != Method::Ack
        && r.method != Method::Cancel
    {
        return Err(ParseError::BadCseq);
    }
    Ok(msg)
}

/// Best-effort `400 Bad Request` for a request we could not parse: copies the
/// raw Via, From, To, Call-ID and CSeq lines (RFC 3261 §8.2.6 needs them).
/// `None` when the data is not a request, is an ACK, or has no usable Via
/// (`SIP/2.0/<transport> <sent-by>`: the reply could not be routed, §18.2.2);
/// Via lines that are not usable are left out.
pub fn bad_request_reply(data: &[u8], reason: &str) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(data.get(..data.len().min(MAX_MESSAGE_BYTES))?).ok()?;
    let mut lines = text.split("\r\n");
    let start = lines.next()?;
    let version = start.rsplit(' ').next().unwrap_or("");
    if start.starts_with("SIP/")
        || start.starts_with("ACK ")
        || !(version.starts_with("SIP/") && version.is_ascii())
    {
        return None;
    }
    // RFC 3261 §21.5.6: a request in another SIP version gets 505.
    let well_formed_other = version != "SIP/2.0"
        && version[4..].split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        });
    let mut out = if well_formed_other {
        String::from("SIP/2.0 505 Version Not Supported\r\n")
    } else {
        String::from("SIP/2.0 400 Bad Request\r\n")
    };
    let mut has_via = false;
    for line in lines.take_while(|l| !l.is_empty()) {
        let Some((name, _)) = line.split_once(':') else {
            continue;
        };
        let name = long_name(name.trim());
        if ["Via", "From", "To", "Call-ID", "CSeq"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
        {
            if name.eq_ignore_ascii_case("Via") {
                if !usable_via(line) {
                    continue;
                }
                has_via = true;
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    let reason: String = reason
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    out.push_str(&format!(
        "Warning: 399 switchboard \"{}\"\r\nContent-Length: 0\r\n\r\n",
        reason.replace('"', "'")
    ));
    has_via.then(|| out.into_bytes())
}

/// RFC 3261 §25.1 `token` characters: alphanumerics and `-.!%*_+`'~`.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// A raw `Via:` line whose value starts `SIP/2.0/<transport> <sent-by>`.
pub fn usable_via(line: &str) -> bool {
    let Some((_, value)) = line.split_once(':') else {
        return false;
    };
    let mut it = value.split_whitespace();
    let proto = it.next().unwrap_or("");
    let sent_by = it.next().unwrap_or("");
    proto.len() > 8
        && proto
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("SIP/2.0/"))
        && !sent_by.is_empty()
        && !sent_by.starts_with(';')
}

fn find_blank_line(data: &[u8]) -> Option<usize> {
    data.windows(4).position(|w| w == b"\r\n\r\n")
}

fn convert_headers<'a>(it: impl Iterator<Item = &'a rsipstack::sip::Header>) -> Headers {
    let mut out = Headers::default();
    for h in it {
        let text = h.to_string();
        if let Some((n, v)) = text.split_once(':') {
            let n = long_name(n.trim()).to_string();
            out.push(n, v.trim().to_string());
        }
    }
    out
}

/// The Content-Length declared in a message head (the text before the blank
/// line), from every `Content-Length`/`l` header (RFC 3261 §20.14, §7.3.3).
/// `Ok(None)` without one; `Err(())` if a value is not a non-negative decimal
/// or two values differ: such a message cannot be framed safely (on TCP the
/// bytes after it could be read as a smuggled second request), so it gets
/// 400 on UDP and closes a TCP connection.
#[allow(clippy::result_unit_err)]
pub fn declared_content_length(head: &str) -> Result<Option<usize>, ()> {
    let mut found: Option<usize> = None;
    for line in head.split("\r\n").skip(1) {
        let Some((n, v)) = line.split_once(':') else {
            continue;
        };
        let n = n.trim();
        if !(n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("l")) {
            continue;
        }
        let v = v.trim();
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        let v: usize = v.parse().map_err(|_| ())?;
        match found {
            Some(prev) if prev != v => return Err(()),
            _ => found = Some(v),
        }
    }
    Ok(found)
}

fn content_length(h: &Headers) -> Option<usize> {
    h.get("Content-Length").and_then(|v| v.trim().parse().ok())
}

/// `(number, method)` from the CSeq header, if well-formed.
pub fn cseq(h: &Headers) -> Option<(u32, Method)> {
    let v = h.get("CSeq")?;
    let mut parts = v.split_whitespace();
    let n = parts.next()?.parse().ok()?;
    let m = Method::from_token(parts.next()?);
    Some((n, m))
}

/// Value of a `;name=value` parameter in a header value (case-insensitive name),
/// looking only after the closing `>` of a name-addr if there is one.
pub fn header_param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let params = match value.rfind('>') {
        Some(p) => &value[p + 1..],
        None => value,
    };
    params.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"'))
    })
}

/// The URI inside a name-addr (`"Bob" <sip:bob@host>;tag=1` → `sip:bob@host`),
/// or the addr-spec before any `;` parameter.
pub fn addr_uri(value: &str) -> &str {
    if let (Some(a), Some(b)) = (value.find('<'), value.find('>'))
        && a < b
    {
        return value[a + 1..b].trim();
    }
    value.split(';').next().unwrap_or("").trim()
}

/// True for a `sip:`/`sips:` URI that the pinned parser reads, with no
/// whitespace or control characters: safe to send as a Request-URI.
pub fn usable_sip_uri(uri: &str) -> bool {
    let lower = uri
        .get(..5)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let rest = if lower.starts_with("sip:") {
        &uri[4..]
    } else if lower == "sips:" {
        &uri[5..]
    } else {
        return false;
    };
    !rest.is_empty()
        && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
        && rsipstack::sip::Uri::try_from(uri).is_ok()
}

/// The user part of a SIP URI (`sip:+3312@host` → `+3312`), if any.
pub fn uri_user(uri: &str) -> Option<&str> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .or_else(|| uri.strip_prefix("tel:"))?;
    let rest = rest.split([';', '?']).next()?;
    match rest.split_once('@') {
        Some((user, _)) => Some(user.split(':').next().unwrap_or(user)),
        None if uri.starts_with("tel:") => Some(rest),
        None => None,
    }
}

/// `host:port` of a SIP URI (port 5060 if absent); `None` if not a SIP URI.
pub fn uri_host_port(uri: &str) -> Option<(String, u16)> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))?;
    let rest = rest.split([';', '?']).next()?;
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            Some((h.to_string(), p.parse().ok()?))
        }
        _ => Some((hostport.to_string(), 5060)),
    }
}

impl Request {
    /// Serialise to wire bytes; Content-Length is (re)computed from the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!("{} {} SIP/2.0\r\n", self.method.as_str(), self.uri);
        write_headers(&mut s, &self.headers, self.body.len());
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

impl Response {
    /// A response to `req` (RFC 3261 §8.2.6): copies Via, From, To, Call-ID and
    /// CSeq; adds `;tag=to_tag` to To when given and To has no tag yet.
    pub fn for_request(req: &Request, status: u16, reason: &str, to_tag: Option<&str>) -> Self {
        let mut headers = Headers::default();
        for v in req.headers.get_all("Via") {
            headers.push("Via", v);
        }
        for name in ["From", "To", "Call-ID", "CSeq"] {
            if let Some(v) = req.headers.get(name) {
                let mut v = v.to_string();
                if name == "To"
                    && header_param(&v, "tag").is_none()
                    && let Some(t) = to_tag
                {
                    v.push_str(";tag=");
                    v.push_str(t);
                }
                headers.push(name, v);
            }
        }
        Response {
            status,
            reason: reason.to_string(),
            headers,
            body: Vec::new(),
        }
    }

    /// Serialise to wire bytes; Content-Length is (re)computed from the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!("SIP/2.0 {} {}\r\n", self.status, self.reason);
        write_headers(&mut s, &self.headers, self.body.len());
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

fn write_headers(s: &mut String, h: &Headers, body_len: usize) {
    for (n, v) in h.iter() {
        if n.eq_ignore_ascii_case("Content-Length") {
            continue;
        }
        let _ = write!(s, "{n}: {v}\r\n");
    }
    let _ = write!(s, "Content-Length: {body_len}\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const REG: &str = "REGISTER sip:example.com SIP/2.0\r\n\
        v: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK776\r\n\
        Max-Forwards: 70\r\n\
        t: <sip:1001@example.com>\r\n\
        f: \"Ann\" <sip:1001@example.com>;tag=456\r\n\
        i: abc@10.0.0.1\r\n\
        CSeq: 1 REGISTER\r\n\
        m: <sip:1001@10.0.0.1:5062>;expires=120\r\n\
        l: 0\r\n\r\n";

    #[test]
    fn compact_headers_are_expanded() {
        let Ok(Message::Request(r)) = parse(REG.as_bytes()) else {
            panic!("not parsed")
        };
        assert_eq!(r.method, Method::Register);
        assert_eq!(r.headers.get("Call-ID"), Some("abc@10.0.0.1"));
        assert_eq!(
            header_param(r.headers.get("From").unwrap_or(""), "tag"),
            Some("456")
        );
        assert_eq!(
            header_param(r.headers.get("Contact").unwrap_or(""), "expires"),
            Some("120")
        );
        assert_eq!(cseq(&r.headers), Some((1, Method::Register)));
    }

    #[test]
    fn missing_call_id_is_refused() {
        let msg = REG.replace("i: abc@10.0.0.1\r\n", "");
        assert_eq!(
            parse(msg.as_bytes()),
            Err(ParseError::MissingHeader("Call-ID"))
        );
    }

    #[test]
    fn short_body_is_refused() {
        let msg = REG.replace("l: 0", "l: 50");
        assert!(matches!(
            parse(msg.as_bytes()),
            Err(ParseError::BadContentLength { declared: 50, .. })
        ));
    }

    #[test]
    fn unknown_method_is_kept() {
        let msg = REG
            .replace("REGISTER sip", "FROB sip")
            .replace("1 REGISTER", "1 FROB");
        let Ok(Message::Request(r)) = parse(msg.as_bytes()) else {
            panic!("not parsed")
        };
        assert_eq!(r.method, Method::Other("FROB".into()));
    }

    #[test]
    fn response_round_trip_keeps_tag_and_vias() {
        let Ok(Message::Request(r)) = parse(REG.as_bytes()) else {
            panic!("not parsed")
        };
        let resp = Response::for_request(&r, 200, "OK", Some("xyz"));
        let Ok(Message::Response(back)) = parse(&resp.to_bytes()) else {
            panic!("not parsed")
        };
        assert_eq!(back.status, 200);
        assert_eq!(
            header_param(back.headers.get("To").unwrap_or(""), "tag"),
            Some("xyz")
        );
        assert_eq!(back.headers.get("Via"), r.headers.get("Via"));
    }

    #[test]
    fn uri_helpers() {
        assert!(usable_sip_uri("sip:+3361@127.0.0.2:5070"));
        assert!(usable_sip_uri("SIPS:alice@example.com"));
        assert!(!usable_sip_uri("s\tp:+3361@127.0.0.2"));
        assert!(!usable_sip_uri("sip:+3361@;27.0.0.2:5070"));
        assert!(!usable_sip_uri("tel:+3361"));
        assert!(!usable_sip_uri("sip:"));
        assert!(usable_via("Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1"));
        assert!(!usable_via("Via:"));
        assert!(!usable_via("Via: SIP/2.0/UDP ;branch=x"));
        assert_eq!(uri_user("sip:+3312@h:5060;transport=udp"), Some("+3312"));
        assert_eq!(uri_user("tel:+3312"), Some("+3312"));
        assert_eq!(
            uri_host_port("sip:u@127.0.0.1:5070;ob"),
            Some(("127.0.0.1".into(), 5070))
        );
        assert_eq!(addr_uri("\"B\" <sip:b@h>;tag=1"), "sip:b@h");
    }
}
