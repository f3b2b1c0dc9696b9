//! Configuration of the voice shell: listening address, media address, realm,
//! registrar limits and trunks.

use crate::registrar::RegistrarConfig;
use crate::sip::digest::Algorithm;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// A SIP trunk: the operator's switch, recognised by source IP or digest (inbound) and
/// reached at `outbound` (outbound calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkConfig {
    /// Name reported in [`crate::CallEvent::Incoming`].
    pub name: String,
    /// Source IPs allowed to send INVITEs as this trunk.
    pub allowed_ips: Vec<IpAddr>,
    /// Dialled number (user part of the Request-URI) → entry point (IVR flow or
    /// queue name, opaque to this crate).
    pub dids: HashMap<String, String>,
    /// Where outbound calls through this trunk are sent (`None`: inbound only).
    pub outbound: Option<SocketAddr>,
    /// Default caller-ID (From user) of outbound calls.
    pub caller_id: Option<String>,
    /// Digest username identifying this trunk when its INVITEs come from an
    /// address not in `allowed_ips` (password from the [`crate::Directory`]).
    pub auth_user: Option<String>,
}

/// Limits on SIP over TCP (RFC 3261 §18.3 leaves connection management to
/// the implementation). A connection over a cap is accepted and closed at
/// once; one past a timeout is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpLimits {
    /// A connection on which nothing was received or sent for this long is
    /// closed. CRLF keep-alives (RFC 5626 §3.5.1) and our OPTIONS qualify
    /// count as traffic, so registered phones keep theirs.
    pub idle_timeout: Duration,
    /// A message must be complete (header and body) within this long of its
    /// first byte, and the first message within this long of the connection's
    /// opening (slow or silent connections: "slowloris").
    pub header_timeout: Duration,
    /// Open connections allowed from one source IP.
    pub max_per_address: usize,
    /// Open connections allowed in all.
    pub max_connections: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            idle_timeout: Duration::from_secs(900),
            header_timeout: Duration::from_secs(10),
            max_per_address: 100,
            max_connections: 4096,
        }
    }
}

/// Everything the voice stack needs to start.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    /// UDP (and TCP when `tcp`) listening address; port 0 picks a free one.
    pub sip_addr: SocketAddr,
    /// Also listen on TCP at the same address (RFC 3261 §18).
    pub tcp: bool,
    /// Timeouts and connection caps of the TCP transport.
    pub tcp_limits: TcpLimits,
    /// IP to bind RTP sockets on and advertise in SDP (never 0.0.0.0).
    pub media_ip: IpAddr,
    /// UDP ports for RTP (even ones are used), e.g. `10000..=20000`; `None`
    /// lets the OS pick.
    pub rtp_ports: Option<std::ops::RangeInclusive<u16>>,
    /// Digest realm and domain of our URIs.
    pub realm: String,
    /// Digest algorithms offered, most preferred first (RFC 8760 §2.4). MD5 comes
    /// first by default: many UAs (sipp 3.6 among them) answer only the first
    /// challenge and know no SHA-256.
    pub digest_algorithms: Vec<Algorithm>,
    /// Registrar limits.
    pub registrar: RegistrarConfig,
    /// Trunks.
    pub trunks: Vec<TrunkConfig>,
    /// Give up on an outbound INVITE without a final answer after this long
    /// (RFC 3261 Timer B is 64·T1 = 32 s).
    pub invite_timeout: Duration,
    /// Send OPTIONS to every registered contact this often (`None`: never).
    pub qualify_interval: Option<Duration>,
    /// A contact that has not answered a qualify within this is unreachable.
    pub qualify_timeout: Duration,
    /// How often each leg sends an RTCP report (RFC 3550 §6.2: 5 s minimum in
    /// general use; randomised ±25 %).
    pub rtcp_interval: Duration,
    /// Session interval we want on inbound dialogs (RFC 4028 Session-Expires);
    /// `None` turns session timers off (an INVITE with `Require: timer` then
    /// gets 420).
    pub session_expires: Option<Duration>,
    /// Smallest session interval we accept (RFC 4028 Min-SE; 90 s at least in
    /// service, lowered only in tests); smaller requests get 422.
    pub session_min_se: Duration,
    /// Product token sent as `Server` in our responses and `User-Agent` in our
    /// requests (RFC 3261 §20.35, §20.41), e.g. `"switchboard/0.1"`. `None`
    /// (the default) sends neither, so the edge does not advertise its
    /// software to scanners. CR, LF and other control characters are removed.
    pub server_header: Option<String>,
    /// Load shedding: most inbound calls in setup (INVITE received, not yet
    /// answered nor ended) at once; a new INVITE above it gets `503 Service
    /// Unavailable` with `Retry-After` (RFC 3261 §21.5.4) instead of queueing
    /// without limit. `None`: no limit. The count is
    /// [`crate::VoiceHandle::calls_in_setup`] and the gauge `sip_calls_in_setup`.
    pub max_calls_in_setup: Option<usize>,
    /// `Retry-After` of the overload 503, in whole seconds (at least 1 s).
    pub overload_retry_after: Duration,
    /// Registrations kept from the previous run (the store's copy of the
    /// [`crate::CallEvent::Bindings`] events); lapsed ones are dropped.
    pub restore_bindings: Vec<crate::registrar::SavedBinding>,
    /// Confirmed dialogs of the previous run (the store's copy of the
    /// [`crate::CallEvent::DialogConfirmed`] events not followed by
    /// [`crate::CallEvent::DialogEnded`]): at start each gets a BYE
    /// (RFC 3261 §15.1.1), whose answer (often 481) or timeout is logged.
    pub restore_dialogs: Vec<crate::SavedDialog>,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            sip_addr: SocketAddr::from(([0, 0, 0, 0], 5060)),
            tcp: true,
            tcp_limits: TcpLimits::default(),
            media_ip: IpAddr::from([127, 0, 0, 1]),
            rtp_ports: None,
            realm: "switchboard".into(),
            digest_algorithms: vec![Algorithm::Md5, Algorithm::Sha256],
            registrar: RegistrarConfig::default(),
            trunks: Vec::new(),
            invite_timeout: Duration::from_secs(32),
            qualify_interval: Some(Duration::from_secs(30)),
            qualify_timeout: Duration::from_secs(5),
            rtcp_interval: crate::media::RTCP_INTERVAL,
            session_expires: Some(Duration::from_secs(1800)),
            session_min_se: Duration::from_secs(90),
            server_header: None,
            max_calls_in_setup: Some(400),
            overload_retry_after: Duration::from_secs(2),
            restore_bindings: Vec::new(),
            restore_dialogs: Vec::new(),
        }
    }
}
