//! Registrar for agent phones (RFC 3261 §10): REGISTER with digest
//! authentication, several contacts per user, expiry, un-register, and
//! limits on authentication failures per account and per source address
//! (see [`RegistrarConfig`]).
//!
//! Sans-I/O: [`Registrar::handle_register`] takes `now` and a parsed request and
//! returns the response to send. Credentials come from a [`Directory`].

use crate::sip::digest::{self, DigestAuth, Verdict};
use crate::sip::message::{Request, Response, addr_uri, header_param, uri_user};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Where the registrar finds SIP credentials. The engine implements it (users
/// and their phone passwords live in the store); tests use [`MemoryDirectory`].
pub trait Directory: Send + Sync {
    /// The SIP digest password of `user` (the user part of the AOR), or `None`
    /// if there is no such user.
    fn sip_password(&self, user: &str) -> Option<String>;
}

/// A fixed in-memory [`Directory`].
#[derive(Debug, Clone, Default)]
pub struct MemoryDirectory(pub HashMap<String, String>);

impl MemoryDirectory {
    /// Build from `(user, password)` pairs.
    pub fn new<'a>(users: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        MemoryDirectory(
            users
                .into_iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
        )
    }
}

impl Directory for MemoryDirectory {
    fn sip_password(&self, user: &str) -> Option<String> {
        self.0.get(user).cloned()
    }
}

/// Registrar limits.
#[derive(Debug, Clone)]
pub struct RegistrarConfig {
    /// Expiry used when the phone asks for none, in s (RFC 3261 §10.3 step 7).
    pub default_expires_s: u32,
    /// Shortest expiry accepted, in s; shorter non-zero asks get 423.
    pub min_expires_s: u32,
    /// Longest expiry granted, in s (longer asks are shortened).
    pub max_expires_s: u32,
    /// Failed authentications allowed per account (the digest `username`,
    /// existing or not) within `failure_window`; then that account is refused
    /// (403, no check) until the window passes, except from an address that
    /// authenticated it within `known_address_memory`.
    pub max_failures: u32,
    /// Failed authentications allowed per source IP within `failure_window`,
    /// whatever the account (an address blocked here gets 403 for everything).
    /// Higher than `max_failures`: one NAT address carries a whole site.
    pub max_address_failures: u32,
    /// Window of the failure counters.
    pub failure_window: Duration,
    /// An address that sent correct credentials within this long is known:
    /// its failures count a quarter toward `max_address_failures` (a site
    /// with one misconfigured phone keeps its other phones), and the account
    /// it authenticated is never locked out for it.
    pub known_address_memory: Duration,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            default_expires_s: 3600,
            min_expires_s: 60,
            max_expires_s: 7200,
            max_failures: 5,
            max_address_failures: 20,
            failure_window: Duration::from_secs(60),
            known_address_memory: Duration::from_secs(3600),
        }
    }
}

/// One registered contact of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Contact URI as sent by the phone.
    pub contact: String,
    /// Where the REGISTER came from (we send requests there: NAT-friendly).
    pub source: SocketAddr,
    /// When the binding lapses.
    pub expires_at: Instant,
    /// Call-ID of the REGISTER that created it (RFC 3261 §10.3 step 7).
    pub call_id: String,
    /// False once an OPTIONS qualify went unanswered; unreachable contacts are
    /// not returned by [`Registrar::contacts`] (the ACD must not offer to them).
    pub reachable: bool,
    /// When the last OPTIONS qualify was sent (or the binding was made).
    pub last_qualify: Instant,
    /// An OPTIONS qualify sent at this instant is still unanswered.
    pub qualify_pending: Option<Instant>,
}

/// A binding as it is kept across a restart: its expiry in wall-clock ms
/// since the Unix epoch (an [`Instant`] does not survive the process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedBinding {
    /// User part of the AOR.
    pub user: String,
    /// Contact URI.
    pub contact: String,
    /// Where the REGISTER came from.
    pub source: SocketAddr,
    /// When the binding lapses, ms since the Unix epoch.
    pub expires_at_ms: i64,
    /// Call-ID of the REGISTER that made it.
    pub call_id: String,
}

/// What a REGISTER changed, for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationChange {
    /// The user now has `contacts` live bindings (≥ 1).
    Registered {
        /// User part of the AOR.
        user: String,
        /// Number of live bindings after the request.
        contacts: usize,
    },
    /// The user has no binding left.
    Unregistered {
        /// User part of the AOR.
        user: String,
    },
    /// A contact stopped or started answering OPTIONS qualify.
    Reachability {
        /// User part of the AOR.
        user: String,
        /// Contact URI.
        contact: String,
        /// Whether it answers now.
        reachable: bool,
    },
}

/// Why [`Registrar::authenticate`] refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No (or stale) credentials: answer 407 with fresh challenges.
    Challenge {
        /// The nonce was authentic but too old.
        stale: bool,
    },
    /// Wrong credentials, unknown user, or rate-limited source: 403.
    Forbidden,
}

/// Points a failure adds to its address's counter; a failure from a known
/// address (see [`RegistrarConfig::known_address_memory`]) adds 1.
const FAILURE_POINTS: u32 = 4;

/// Most entries kept in each failure or success table. Overflow policy: new
/// keys are not tracked until expired ones are swept (the address limit
/// still applies to an account that could not be tracked).
const MAX_TRACKED: usize = 100_000;

/// Failures counted since `start` (reset when the window has passed).
#[derive(Debug, Clone, Copy)]
struct FailureCount {
    start: Instant,
    points: u32,
}

/// The registrar core.
pub struct Registrar {
    cfg: RegistrarConfig,
    auth: DigestAuth,
    epoch: Instant,
    bindings: HashMap<String, Vec<Binding>>,
    /// Failures per account (digest username, existing or not).
    account_failures: HashMap<String, FailureCount>,
    /// Failure points per source address.
    address_failures: HashMap<IpAddr, FailureCount>,
    /// Last correct credentials per address, and per (address, account).
    known_addresses: HashMap<IpAddr, Instant>,
    known_accounts: HashMap<(IpAddr, String), Instant>,
}

impl Registrar {
    /// New registrar. `epoch` anchors nonce timestamps (any past instant).
    pub fn new(cfg: RegistrarConfig, auth: DigestAuth, epoch: Instant) -> Self {
        Registrar {
            cfg,
            auth,
            epoch,
            bindings: HashMap::new(),
            account_failures: HashMap::new(),
            address_failures: HashMap::new(),
            known_addresses: HashMap::new(),
            known_accounts: HashMap::new(),
        }
    }

    fn now_ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_millis() as u64
    }

    /// `user`'s bindings to keep across a restart (live at `now`; `wall_ms`
    /// is the wall clock at `now`, ms since the Unix epoch).
    pub fn saved(&self, now: Instant, wall_ms: i64, user: &str) -> Vec<SavedBinding> {
        self.bindings
            .get(user)
            .map(|bs| {
                bs.iter()
                    .filter(|b| b.expires_at > now)
                    .map(|b| SavedBinding {
                        user: user.to_string(),
                        contact: b.contact.clone(),
                        source: b.source,
                        expires_at_ms: wall_ms
                            + b.expires_at.saturating_duration_since(now).as_millis() as i64,
                        call_id: b.call_id.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Take back bindings kept across a restart (RFC 3261 §10.3: a binding
    /// lives until it expires, whatever happens to the registrar); those
    /// already lapsed at `wall_ms` are dropped. Returns how many were taken.
    pub fn restore(&mut self, now: Instant, wall_ms: i64, saved: &[SavedBinding]) -> usize {
        let mut n = 0;
        for b in saved {
            let left = b.expires_at_ms - wall_ms;
            if left <= 0 {
                continue;
            }
            let list = self.bindings.entry(b.user.clone()).or_default();
            list.retain(|x| x.contact != b.contact);
            list.push(Binding {
                contact: b.contact.clone(),
                source: b.source,
                expires_at: now + Duration::from_millis(left as u64),
                call_id: b.call_id.clone(),
                reachable: true,
                last_qualify: now,
                qualify_pending: None,
            });
            n += 1;
        }
        n
    }

    /// Live bindings of `user` at `now`, most recent first.
    pub fn contacts(&self, now: Instant, user: &str) -> Vec<Binding> {
        let mut v: Vec<Binding> = self
            .bindings
            .get(user)
            .map(|b| {
                b.iter()
                    .filter(|b| b.expires_at > now && b.reachable)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by_key(|b| std::cmp::Reverse(b.expires_at));
        v
    }

    /// Contacts due for an OPTIONS qualify at `now` (last one `interval` ago and
    /// none pending): marks them pending and returns `(user, binding)` pairs.
    pub fn qualify_due(&mut self, now: Instant, interval: Duration) -> Vec<(String, Binding)> {
        let mut due = Vec::new();
        for (user, bs) in &mut self.bindings {
            for b in bs.iter_mut() {
                if b.qualify_pending.is_none()
                    && b.expires_at > now
                    && now.saturating_duration_since(b.last_qualify) >= interval
                {
                    b.qualify_pending = Some(now);
                    b.last_qualify = now;
                    due.push((user.clone(), b.clone()));
                }
            }
        }
        due
    }

    /// Any answer to a qualify of `contact` arrived: it is reachable.
    pub fn qualify_answered(&mut self, user: &str, contact: &str) -> Option<RegistrationChange> {
        let b = self
            .bindings
            .get_mut(user)?
            .iter_mut()
            .find(|b| b.contact == contact)?;
        b.qualify_pending = None;
        (!b.reachable).then(|| {
            b.reachable = true;
            RegistrationChange::Reachability {
                user: user.to_string(),
                contact: contact.to_string(),
                reachable: true,
            }
        })
    }

    /// Qualifies unanswered for `timeout` mark their contact unreachable.
    pub fn qualify_timeouts(&mut self, now: Instant, timeout: Duration) -> Vec<RegistrationChange> {
        let mut out = Vec::new();
        for (user, bs) in &mut self.bindings {
            for b in bs.iter_mut() {
                if b.qualify_pending
                    .is_some_and(|t| now.saturating_duration_since(t) >= timeout)
                {
                    b.qualify_pending = None;
                    if b.reachable {
                        b.reachable = false;
                        out.push(RegistrationChange::Reachability {
                            user: user.clone(),
                            contact: b.contact.clone(),
                            reachable: false,
                        });
                    }
                }
            }
        }
        out
    }

    /// Whether some live binding was registered from `ip` (toll-fraud check for
    /// INVITEs that do not come from a trunk).
    pub fn is_registered_source(&self, now: Instant, ip: IpAddr) -> Option<String> {
        self.bindings.iter().find_map(|(user, bs)| {
            bs.iter()
                .any(|b| b.source.ip() == ip && b.expires_at > now)
                .then(|| user.clone())
        })
    }

    /// Drop expired bindings; returns users left with none.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<RegistrationChange> {
        let mut gone = Vec::new();
        self.bindings.retain(|user, bs| {
            bs.retain(|b| b.expires_at > now);
            if bs.is_empty() {
                gone.push(RegistrationChange::Unregistered { user: user.clone() });
            }
            !bs.is_empty()
        });
        let window = self.cfg.failure_window;
        let memory = self.cfg.known_address_memory;
        let live = |start: &Instant| now.saturating_duration_since(*start) < window;
        self.account_failures.retain(|_, c| live(&c.start));
        self.address_failures.retain(|_, c| live(&c.start));
        let known = |at: &Instant| now.saturating_duration_since(*at) < memory;
        self.known_addresses.retain(|_, at| known(at));
        self.known_accounts.retain(|_, at| known(at));
        gone
    }

    fn points(&self, now: Instant, count: Option<&FailureCount>) -> u32 {
        count
            .filter(|c| now.saturating_duration_since(c.start) < self.cfg.failure_window)
            .map_or(0, |c| c.points)
    }

    fn is_known(&self, now: Instant, at: Option<&Instant>) -> bool {
        at.is_some_and(|t| now.saturating_duration_since(*t) < self.cfg.known_address_memory)
    }

    /// The source address is over its failure limit: everything from it gets
    /// 403 until the window passes.
    fn address_blocked(&self, now: Instant, ip: IpAddr) -> bool {
        self.points(now, self.address_failures.get(&ip))
            >= self.cfg.max_address_failures.saturating_mul(FAILURE_POINTS)
    }

    /// The account `user` (existing or not: the answer must not tell) is over
    /// its failure limit, and `ip` did not authenticate it recently.
    fn account_locked(&self, now: Instant, ip: IpAddr, user: &str) -> bool {
        self.points(now, self.account_failures.get(user)) >= self.cfg.max_failures
            && !self.is_known(now, self.known_accounts.get(&(ip, user.to_string())))
    }

    fn note_failure(&mut self, now: Instant, ip: IpAddr, user: &str) {
        let window = self.cfg.failure_window;
        let weight = if self.is_known(now, self.known_addresses.get(&ip)) {
            1
        } else {
            FAILURE_POINTS
        };
        let bump = |c: &mut FailureCount, by: u32| {
            if now.saturating_duration_since(c.start) >= window {
                *c = FailureCount {
                    start: now,
                    points: 0,
                };
            }
            c.points = c.points.saturating_add(by);
        };
        let fresh = FailureCount {
            start: now,
            points: 0,
        };
        if let Some(c) = self.account_failures.get_mut(user) {
            bump(c, 1);
        } else if self.account_failures.len() < MAX_TRACKED {
            bump(
                self.account_failures
                    .entry(user.to_string())
                    .or_insert(fresh),
                1,
            );
        }
        if let Some(c) = self.address_failures.get_mut(&ip) {
            bump(c, weight);
        } else if self.address_failures.len() < MAX_TRACKED {
            bump(self.address_failures.entry(ip).or_insert(fresh), weight);
        }
    }

    fn note_success(&mut self, now: Instant, ip: IpAddr, user: &str) {
        if self.known_addresses.len() < MAX_TRACKED || self.known_addresses.contains_key(&ip) {
            self.known_addresses.insert(ip, now);
        }
        let key = (ip, user.to_string());
        if self.known_accounts.len() < MAX_TRACKED || self.known_accounts.contains_key(&key) {
            self.known_accounts.insert(key, now);
        }
    }

    fn challenge(&self, now: Instant, req: &Request, stale: bool, tag: &str) -> Response {
        let mut r = Response::for_request(req, 401, "Unauthorized", Some(tag));
        for c in self.auth.challenges(self.now_ms(now), stale) {
            r.headers.push("WWW-Authenticate", c);
        }
        r
    }

    /// Digest challenge values (`WWW-Authenticate` / `Proxy-Authenticate`).
    pub fn challenge_values(&self, now: Instant, stale: bool) -> Vec<String> {
        self.auth.challenges(self.now_ms(now), stale)
    }

    /// Authenticate a request other than REGISTER (an INVITE from an agent
    /// phone, RFC 3261 §22.3) from its `Proxy-Authorization` header. Returns the
    /// user, or why not; failures count toward the account's and the source
    /// address's limits ([`RegistrarConfig`]).
    pub fn authenticate(
        &mut self,
        now: Instant,
        source: SocketAddr,
        req: &Request,
        dir: &dyn Directory,
    ) -> Result<String, AuthFailure> {
        if self.address_blocked(now, source.ip()) {
            return Err(AuthFailure::Forbidden);
        }
        let Some(creds) = req
            .headers
            .get("Proxy-Authorization")
            .and_then(digest::parse_credentials)
        else {
            return Err(AuthFailure::Challenge { stale: false });
        };
        if self.account_locked(now, source.ip(), &creds.username) {
            return Err(AuthFailure::Forbidden);
        }
        let password = dir.sip_password(&creds.username);
        let verdict = self.auth.verify(
            self.now_ms(now),
            req.method.as_str(),
            &creds,
            password.as_deref().unwrap_or("\u{0}no-such-user"),
        );
        match (verdict, password.is_some()) {
            (Verdict::Valid, true) => {
                self.note_success(now, source.ip(), &creds.username);
                Ok(creds.username)
            }
            (Verdict::Stale, true) => Err(AuthFailure::Challenge { stale: true }),
            _ => {
                self.note_failure(now, source.ip(), &creds.username);
                Err(AuthFailure::Forbidden)
            }
        }
    }

    /// Handle one REGISTER from `source`. Returns the response and what changed.
    ///
    /// Unknown user and wrong password both get the same `403 Forbidden` (no
    /// extension enumeration); a source address over its failure limit, or
    /// an account over its own (existing or not), gets 403 without any check
    /// until the window passes ([`RegistrarConfig`]).
    pub fn handle_register(
        &mut self,
        now: Instant,
        source: SocketAddr,
        req: &Request,
        dir: &dyn Directory,
        to_tag: &str,
    ) -> (Response, Option<RegistrationChange>) {
        let forbidden = |req: &Request| Response::for_request(req, 403, "Forbidden", Some(to_tag));
        if self.address_blocked(now, source.ip()) {
            return (forbidden(req), None);
        }
        let aor_user = req
            .headers
            .get("To")
            .map(addr_uri)
            .and_then(uri_user)
            .map(str::to_string);
        let Some(aor_user) = aor_user else {
            return (
                Response::for_request(req, 400, "Bad To", Some(to_tag)),
                None,
            );
        };
        let Some(creds) = req
            .headers
            .get("Authorization")
            .and_then(digest::parse_credentials)
        else {
            return (self.challenge(now, req, false, to_tag), None);
        };
        if self.account_locked(now, source.ip(), &creds.username) {
            return (forbidden(req), None);
        }
        let password = dir.sip_password(&creds.username);
        // Same work for unknown users as for known ones.
        let verdict = self.auth.verify(
            self.now_ms(now),
            "REGISTER",
            &creds,
            password.as_deref().unwrap_or("\u{0}no-such-user"),
        );
        match (verdict, password.is_some() && creds.username == aor_user) {
            (Verdict::Stale, true) => return (self.challenge(now, req, true, to_tag), None),
            (Verdict::Valid, true) => self.note_success(now, source.ip(), &creds.username),
            _ => {
                self.note_failure(now, source.ip(), &creds.username);
                return (forbidden(req), None);
            }
        }
        self.apply_bindings(now, source, req, &aor_user, to_tag)
    }

    fn apply_bindings(
        &mut self,
        now: Instant,
        source: SocketAddr,
        req: &Request,
        user: &str,
        to_tag: &str,
    ) -> (Response, Option<RegistrationChange>) {
        let call_id = req.headers.get("Call-ID").unwrap_or("").to_string();
        let header_expires: Option<u32> = req
            .headers
            .get("Expires")
            .and_then(|v| v.trim().parse().ok());
        let contacts: Vec<&str> = req
            .headers
            .get_all("Contact")
            .flat_map(split_contacts)
            .collect();
        let before = self.contacts(now, user).len();
        if contacts.iter().any(|c| c.trim() == "*") {
            if header_expires != Some(0) || contacts.len() != 1 {
                return (
                    Response::for_request(req, 400, "Bad Wildcard", Some(to_tag)),
                    None,
                );
            }
            self.bindings.remove(user);
        } else {
            for c in &contacts {
                let expires = header_param(c, "expires")
                    .and_then(|v| v.parse().ok())
                    .or(header_expires)
                    .unwrap_or(self.cfg.default_expires_s);
                if expires != 0 && expires < self.cfg.min_expires_s {
                    let mut r = Response::for_request(req, 423, "Interval Too Brief", Some(to_tag));
                    r.headers
                        .push("Min-Expires", self.cfg.min_expires_s.to_string());
                    return (r, None);
                }
                let uri = addr_uri(c).to_string();
                let list = self.bindings.entry(user.to_string()).or_default();
                list.retain(|b| b.contact != uri);
                if expires > 0 {
                    let secs = expires.min(self.cfg.max_expires_s);
                    list.push(Binding {
                        contact: uri,
                        source,
                        expires_at: now + Duration::from_secs(u64::from(secs)),
                        call_id: call_id.clone(),
                        reachable: true,
                        last_qualify: now,
                        qualify_pending: None,
                    });
                }
            }
        }
        let live = self.contacts(now, user);
        if live.is_empty() {
            self.bindings.remove(user);
        }
        let mut resp = Response::for_request(req, 200, "OK", Some(to_tag));
        for b in &live {
            let left = b.expires_at.saturating_duration_since(now).as_secs();
            resp.headers
                .push("Contact", format!("<{}>;expires={left}", b.contact));
        }
        let change = match (before, live.len()) {
            (_, 0) if before > 0 => Some(RegistrationChange::Unregistered {
                user: user.to_string(),
            }),
            (_, 0) => None,
            (_, n) => Some(RegistrationChange::Registered {
                user: user.to_string(),
                contacts: n,
            }),
        };
        (resp, change)
    }
}

/// Split a Contact header value on commas that are outside `<...>` and quotes.
fn split_contacts(v: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, ch) in v.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(v[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(v[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

#[cfg(test)]
mod restore_tests {
    use super::*;

    #[test]
    fn bindings_survive_a_restart_until_they_expire() {
        let t0 = Instant::now();
        let mut a = Registrar::new(
            RegistrarConfig::default(),
            DigestAuth::new("sb", "s", vec![crate::sip::digest::Algorithm::Md5]),
            t0,
        );
        let src: SocketAddr = "10.0.0.7:5062".parse().unwrap();
        let wall = 1_780_000_000_000;
        let saved = vec![
            SavedBinding {
                user: "1001".into(),
                contact: "sip:1001@10.0.0.7:5062".into(),
                source: src,
                expires_at_ms: wall + 60_000,
                call_id: "r1".into(),
            },
            SavedBinding {
                user: "1002".into(),
                contact: "sip:1002@10.0.0.8".into(),
                source: src,
                expires_at_ms: wall - 1,
                call_id: "r2".into(),
            },
        ];
        assert_eq!(a.restore(t0, wall, &saved), 1, "the lapsed one is dropped");
        let c = a.contacts(t0, "1001");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].source, src);
        assert_eq!(c[0].expires_at, t0 + Duration::from_secs(60));
        assert!(a.contacts(t0, "1002").is_empty());
        assert!(a.contacts(t0 + Duration::from_secs(61), "1001").is_empty());
        // And saved again as they are.
        let again = a.saved(t0 + Duration::from_secs(10), wall + 10_000, "1001");
        assert_eq!(again, vec![saved[0].clone()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::digest::{Algorithm, ClientSecret, client_response};
    use crate::sip::message::{Message, parse};

    fn register(contact: &str, expires: Option<u32>, auth: Option<&str>) -> Request {
        let mut s = String::from(
            "REGISTER sip:sb SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.7:5062;branch=z9hG4bK1\r\n\
             From: <sip:1001@sb>;tag=a\r\nTo: <sip:1001@sb>\r\nCall-ID: reg1\r\nCSeq: 2 REGISTER\r\n",
        );
        s.push_str(&format!("Contact: {contact}\r\n"));
        if let Some(e) = expires {
            s.push_str(&format!("Expires: {e}\r\n"));
        }
        if let Some(a) = auth {
            s.push_str(&format!("Authorization: {a}\r\n"));
        }
        s.push_str("Content-Length: 0\r\n\r\n");
        match parse(s.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("bad fixture: {other:?}"),
        }
    }

    fn setup() -> (Registrar, MemoryDirectory, Instant) {
        let t0 = Instant::now();
        let auth = DigestAuth::new("sb", "k", vec![Algorithm::Sha256, Algorithm::Md5]);
        let cfg = RegistrarConfig {
            max_failures: 3,
            ..RegistrarConfig::default()
        };
        (
            Registrar::new(cfg, auth, t0),
            MemoryDirectory::new([("1001", "pw")]),
            t0,
        )
    }

    fn nonce_of(resp: &Response) -> String {
        let h = resp.headers.get("WWW-Authenticate").unwrap_or("");
        h.split("nonce=\"")
            .nth(1)
            .unwrap_or("")
            .split('"')
            .next()
            .unwrap_or("")
            .to_string()
    }

    fn src() -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 7], 5062))
    }

    fn authed(
        reg: &mut Registrar,
        dir: &MemoryDirectory,
        now: Instant,
        user: &str,
        pw: &str,
        contact: &str,
        exp: Option<u32>,
    ) -> (Response, Option<RegistrationChange>) {
        let (chal, _) = reg.handle_register(now, src(), &register(contact, exp, None), dir, "t");
        assert_eq!(chal.status, 401);
        let who = ClientSecret {
            alg: Algorithm::Md5,
            user,
            realm: "sb",
            password: pw,
        };
        let a = client_response(&who, "REGISTER", "sip:sb", &nonce_of(&chal), "cn");
        reg.handle_register(now, src(), &register(contact, exp, Some(&a)), dir, "t")
    }

    #[test]
    fn register_two_contacts_then_unregister_one_then_all() {
        let (mut reg, dir, t0) = setup();
        let (r, ch) = authed(
            &mut reg,
            &dir,
            t0,
            "1001",
            "pw",
            "<sip:1001@10.0.0.7:5062>",
            Some(300),
        );
        assert_eq!(r.status, 200);
        assert_eq!(
            ch,
            Some(RegistrationChange::Registered {
                user: "1001".into(),
                contacts: 1
            })
        );
        let (r, _) = authed(
            &mut reg,
            &dir,
            t0,
            "1001",
            "pw",
            "<sip:1001@10.0.0.7:5064>;expires=120",
            None,
        );
        assert_eq!(r.headers.get_all("Contact").count(), 2);
        assert_eq!(reg.contacts(t0, "1001").len(), 2);
        assert_eq!(
            reg.is_registered_source(t0, src().ip()),
            Some("1001".into())
        );
        // The 120 s one lapses first.
        let later = t0 + Duration::from_secs(200);
        assert_eq!(reg.contacts(later, "1001").len(), 1);
        let (_, ch) = authed(
            &mut reg,
            &dir,
            t0,
            "1001",
            "pw",
            "<sip:1001@10.0.0.7:5062>",
            Some(0),
        );
        assert!(matches!(
            ch,
            Some(RegistrationChange::Registered { contacts: 1, .. })
        ));
        let (r, ch) = authed(&mut reg, &dir, t0, "1001", "pw", "*", Some(0));
        assert_eq!(r.status, 200);
        assert_eq!(
            ch,
            Some(RegistrationChange::Unregistered {
                user: "1001".into()
            })
        );
        assert!(reg.contacts(t0, "1001").is_empty());
    }

    /// One REGISTER for 1001 from `from`, challenged then answered with
    /// `user`/`pw`: the final response (the challenge's if it is not a 401).
    fn attempt(
        reg: &mut Registrar,
        dir: &MemoryDirectory,
        now: Instant,
        from: SocketAddr,
        user: &str,
        pw: &str,
    ) -> Response {
        let contact = "<sip:1001@h>";
        let (chal, _) = reg.handle_register(now, from, &register(contact, None, None), dir, "t");
        if chal.status != 401 {
            return chal;
        }
        let who = ClientSecret {
            alg: Algorithm::Md5,
            user,
            realm: "sb",
            password: pw,
        };
        let a = client_response(&who, "REGISTER", "sip:sb", &nonce_of(&chal), "cn");
        reg.handle_register(now, from, &register(contact, None, Some(&a)), dir, "t")
            .0
    }

    fn ip(last: u8) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, last], 5060))
    }

    #[test]
    fn unknown_user_and_wrong_password_look_the_same_and_lock_the_same() {
        let (mut reg, dir, t0) = setup();
        let (wrong, _) = authed(&mut reg, &dir, t0, "1001", "nope", "<sip:1001@h>", None);
        let (unknown, _) = authed(&mut reg, &dir, t0, "1001x", "pw", "<sip:1001@h>", None);
        assert_eq!(
            (wrong.status, &wrong.reason),
            (403, &"Forbidden".to_string())
        );
        assert_eq!(
            (unknown.status, &unknown.reason),
            (wrong.status, &wrong.reason)
        );
        assert_eq!(wrong.headers.iter().count(), unknown.headers.iter().count());
        // Third failure of each account (max_failures = 3) locks it, wherever
        // the next attempt comes from, even with the right password; the
        // locked existing and non-existing accounts answer alike.
        for _ in 0..2 {
            let _ = attempt(&mut reg, &dir, t0, ip(1), "1001", "nope");
            let _ = attempt(&mut reg, &dir, t0, ip(2), "1001x", "x");
        }
        let locked = attempt(&mut reg, &dir, t0, ip(3), "1001", "pw");
        let ghost = attempt(&mut reg, &dir, t0, ip(3), "1001x", "pw");
        assert_eq!((locked.status, ghost.status), (403, 403));
        assert_eq!(locked.reason, ghost.reason);
        assert_eq!(locked.headers.iter().count(), ghost.headers.iter().count());
        // After the window, the right password works again.
        let later = t0 + Duration::from_secs(61);
        assert_eq!(
            attempt(&mut reg, &dir, later, ip(3), "1001", "pw").status,
            200
        );
    }

    /// Issue 13: wrong passwords for a non-existent user from a site's NAT
    /// address lock that name, not the site's phones.
    #[test]
    fn a_hammered_unknown_user_does_not_lock_out_the_phones_behind_the_same_nat() {
        let (mut reg, dir, t0) = setup();
        let nat = ip(10);
        for _ in 0..5 {
            assert_eq!(
                attempt(&mut reg, &dir, t0, nat, "ghost", "guess").status,
                403
            );
        }
        let phone = SocketAddr::new(nat.ip(), 5072);
        assert_eq!(attempt(&mut reg, &dir, t0, phone, "1001", "pw").status, 200);
        assert_eq!(reg.contacts(t0, "1001").len(), 1);
    }

    /// Issue 13: an address is blocked after `max_address_failures` failures
    /// whatever the names; one that sent correct credentials pays a quarter
    /// per failure; the account an address authenticated stays open to it.
    #[test]
    fn address_limit_with_a_smaller_penalty_for_known_addresses() {
        let (mut reg, dir, t0) = setup();
        let limit = RegistrarConfig::default().max_address_failures;
        let scanner = ip(20);
        for i in 0..limit {
            let user = format!("u{i}");
            assert_eq!(attempt(&mut reg, &dir, t0, scanner, &user, "x").status, 403);
        }
        // Blocked: no challenge any more, even for a real account.
        let (r, _) = reg.handle_register(
            t0,
            scanner,
            &register("<sip:1001@h>", None, None),
            &dir,
            "t",
        );
        assert_eq!(r.status, 403);
        assert_eq!(
            attempt(&mut reg, &dir, t0, ip(21), "1001", "pw").status,
            200
        );

        // A known site: the same number of failures leaves it open...
        let site = ip(22);
        assert_eq!(attempt(&mut reg, &dir, t0, site, "1001", "pw").status, 200);
        for i in 0..limit {
            let user = format!("v{i}");
            assert_eq!(attempt(&mut reg, &dir, t0, site, &user, "x").status, 403);
        }
        assert_eq!(attempt(&mut reg, &dir, t0, site, "1001", "pw").status, 200);
        // ...and four times as many block it.
        for i in limit..4 * limit {
            let user = format!("v{i}");
            let _ = attempt(&mut reg, &dir, t0, site, &user, "x");
        }
        assert_eq!(attempt(&mut reg, &dir, t0, site, "1001", "pw").status, 403);

        // An attacker locking 1001 from elsewhere does not lock the address
        // that authenticated it.
        let (mut reg, dir, t0) = setup();
        let home = ip(30);
        assert_eq!(attempt(&mut reg, &dir, t0, home, "1001", "pw").status, 200);
        for _ in 0..3 {
            let _ = attempt(&mut reg, &dir, t0, ip(31), "1001", "guess");
        }
        assert_eq!(
            attempt(&mut reg, &dir, t0, ip(32), "1001", "pw").status,
            403
        );
        assert_eq!(attempt(&mut reg, &dir, t0, home, "1001", "pw").status, 200);
    }

    #[test]
    fn too_brief_and_expiry_sweep() {
        let (mut reg, dir, t0) = setup();
        let (r, _) = authed(&mut reg, &dir, t0, "1001", "pw", "<sip:1001@h>", Some(10));
        assert_eq!(r.status, 423);
        assert_eq!(r.headers.get("Min-Expires"), Some("60"));
        let (r, _) = authed(&mut reg, &dir, t0, "1001", "pw", "<sip:1001@h>", Some(60));
        assert_eq!(r.status, 200);
        assert!(reg.handle_timeout(t0 + Duration::from_secs(30)).is_empty());
        assert_eq!(
            reg.handle_timeout(t0 + Duration::from_secs(61)),
            vec![RegistrationChange::Unregistered {
                user: "1001".into()
            }]
        );
    }

    #[test]
    fn unanswered_qualify_hides_the_contact_until_it_answers() {
        let (mut reg, dir, t0) = setup();
        let _ = authed(&mut reg, &dir, t0, "1001", "pw", "<sip:1001@h>", None);
        let iv = Duration::from_secs(30);
        let to = Duration::from_secs(5);
        assert!(reg.qualify_due(t0 + Duration::from_secs(29), iv).is_empty());
        let t1 = t0 + iv;
        let due = reg.qualify_due(t1, iv);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].1.contact, "sip:1001@h");
        assert!(reg.qualify_due(t1, iv).is_empty(), "one pending at a time");
        assert!(
            reg.qualify_timeouts(t1 + Duration::from_secs(4), to)
                .is_empty()
        );
        let gone = reg.qualify_timeouts(t1 + to, to);
        assert_eq!(
            gone,
            vec![RegistrationChange::Reachability {
                user: "1001".into(),
                contact: "sip:1001@h".into(),
                reachable: false
            }]
        );
        assert!(reg.contacts(t1 + to, "1001").is_empty());
        let t2 = t1 + iv;
        assert_eq!(reg.qualify_due(t2, iv).len(), 1);
        assert!(matches!(
            reg.qualify_answered("1001", "sip:1001@h"),
            Some(RegistrationChange::Reachability {
                reachable: true,
                ..
            })
        ));
        assert_eq!(reg.contacts(t2, "1001").len(), 1);
        assert_eq!(reg.qualify_answered("1001", "sip:1001@h"), None);
    }

    /// The same limits hold for INVITEs authenticated by `authenticate`
    /// (Proxy-Authorization, RFC 3261 §22.3): a hammered non-existent user
    /// does not stop a phone behind the same NAT from calling.
    #[test]
    fn invite_digest_uses_the_per_account_limit() {
        let (mut reg, dir, t0) = setup();
        let invite = |user: &str, pw: &str, nonce: &str| {
            let who = ClientSecret {
                alg: Algorithm::Md5,
                user,
                realm: "sb",
                password: pw,
            };
            let a = client_response(&who, "INVITE", "sip:3900@sb", nonce, "cn");
            let text = format!(
                "INVITE sip:3900@sb SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.40:5062;branch=z9hG4bKi\r\n\
                 From: <sip:{user}@sb>;tag=a\r\nTo: <sip:3900@sb>\r\nCall-ID: inv\r\n\
                 CSeq: 1 INVITE\r\nProxy-Authorization: {a}\r\nContent-Length: 0\r\n\r\n"
            );
            match parse(text.as_bytes()) {
                Ok(Message::Request(r)) => r,
                other => panic!("bad fixture: {other:?}"),
            }
        };
        let nonce = reg
            .challenge_values(t0, false)
            .iter()
            .find(|c| c.contains("MD5"))
            .and_then(|c| c.split("nonce=\"").nth(1))
            .and_then(|r| r.split('"').next())
            .map(str::to_string)
            .expect("an MD5 challenge");
        let nat = ip(40);
        for _ in 0..5 {
            let r = reg.authenticate(t0, nat, &invite("ghost", "guess", &nonce), &dir);
            assert_eq!(r, Err(AuthFailure::Forbidden));
        }
        let phone = SocketAddr::new(nat.ip(), 5072);
        let r = reg.authenticate(t0, phone, &invite("1001", "pw", &nonce), &dir);
        assert_eq!(r, Ok("1001".to_string()));
        // The ghost account is locked: even a "right" answer is not checked.
        let r = reg.authenticate(t0, ip(41), &invite("ghost", "pw", &nonce), &dir);
        assert_eq!(r, Err(AuthFailure::Forbidden));
    }

    #[test]
    fn contact_list_split() {
        assert_eq!(
            split_contacts("<sip:a@h;x=1,2>;q=1, \"B, c\" <sip:b@h>"),
            vec!["<sip:a@h;x=1,2>;q=1", "\"B, c\" <sip:b@h>"]
        );
    }
}
