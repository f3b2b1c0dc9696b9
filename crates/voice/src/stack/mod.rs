//! The running voice stack: transports (UDP, TCP), the B2BUA's legs, the
//! registrar, retransmissions, and the command/event plumbing.
//!
//! One tokio task owns all SIP state ([`Stack`]); it handles one input at a
//! time (`on_datagram`, `on_command`, `on_media`, `on_tick`, all taking `now`)
//! and queues its output in an outbox that the thin driver loop flushes.
//! Media runs in one task per leg ([`crate::media`]).
//!
//! Files: `checks.rs` (message checks before routing: 400/406/415/416/420),
//! `uas.rs` (requests we receive, late offers), `uac.rs` (our
//! INVITE/CANCEL/BYE and their responses, leg teardown, timers),
//! `session_timer.rs` (RFC 4028), `commands.rs` (the engine's commands),
//! `leg.rs` (dialog state of one leg), `fuzz.rs` (the entry point as fuzzers
//! drive it, with its property tests), `tests.rs` and `timer_tests.rs`
//! (virtual clock).
//! TCP connections are capped per source IP and in all, and closed when
//! idle or when a message stays incomplete ([`crate::config::TcpLimits`]).
//! Transactions are our own thin layer over rsipstack's message parser: 2xx
//! retransmission until ACK, INVITE/non-INVITE client retransmission (Timers
//! A/E, capped at 64·T1), response replay for retransmitted INVITEs.

mod checks;
mod commands;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod fuzz;
mod leg;
mod session_timer;
mod supervise;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod timer_tests;
mod uac;
mod uas;

use crate::bounded::EventSender;
use crate::config::VoiceConfig;
use crate::control::{CallEvent, CallEvents, Command, LegId, VoiceError, VoiceHandle};
use crate::media::MediaEvent;
use crate::registrar::{Directory, Registrar};
use crate::sip::digest::DigestAuth;
use crate::sip::message::{self, MAX_MESSAGE_BYTES, Message};
use leg::Leg;
pub use leg::SavedDialog;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

/// SIP timer T1 (RFC 3261 §17.1.1.1), the first retransmission interval.
const T1: Duration = Duration::from_millis(500);
/// SIP timer T2, the retransmission interval cap.
const T2: Duration = Duration::from_secs(4);
/// How often the stack checks its timers.
const TICK: Duration = Duration::from_millis(20);

/// Where a message goes: back over UDP to an address, or on a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest {
    /// UDP datagram to this address.
    Udp(SocketAddr),
    /// TCP connection id and its peer address.
    Tcp(u64, SocketAddr),
}

impl Dest {
    fn addr(self) -> SocketAddr {
        match self {
            Dest::Udp(a) | Dest::Tcp(_, a) => a,
        }
    }
}

/// What a retransmission entry waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RetransKey {
    /// Our 2xx to an INVITE, until the ACK (RFC 3261 §13.3.1.4).
    Ok2xx(String),
    /// A client transaction with this Via branch, until any response (§17.1).
    Client(String),
}

#[derive(Debug)]
struct Retrans {
    key: RetransKey,
    dest: Dest,
    bytes: Vec<u8>,
    next: Instant,
    interval: Duration,
    until: Instant,
    /// INVITE client transactions stop at a provisional; others keep doubling to T2.
    invite: bool,
}

enum Input {
    Tcp(u64, SocketAddr, Vec<u8>),
    TcpOpen(u64, mpsc::Sender<Vec<u8>>),
    TcpClosed(u64),
}

/// Call events the engine has not taken yet. Past this the stack takes no
/// new input until it has room (backpressure; see [`crate::bounded`]).
pub(crate) const CALL_EVENTS: usize = 4096;
/// Most call events one input may leave waiting for room (never reached:
/// one input makes a handful); past it the oldest is dropped and logged.
const CALL_EVENTS_BACKLOG: usize = 1024;
/// Media events (DTMF, prompt ends, RTP time-outs) of all legs not yet
/// taken by the stack; a leg keeps its own backlog (see
/// [`crate::media::MediaLeg::start_in`]).
pub(crate) const MEDIA_EVENTS: usize = 4096;
/// Commands from [`VoiceHandle`]s not yet taken: past it callers wait.
pub(crate) const COMMANDS: usize = 1024;
/// Framed TCP messages not yet taken by the stack: past it the
/// connections' readers wait (the peers are not read meanwhile).
const TCP_INPUTS: usize = 1024;
/// Messages queued for one TCP connection's writer: past it the peer is not
/// reading and the connection is closed (its requests time out, RFC 3261
/// §17).
const TCP_WRITES: usize = 256;

/// All SIP state of the stack.
pub(crate) struct Stack {
    cfg: VoiceConfig,
    local: SocketAddr,
    directory: Arc<dyn Directory>,
    registrar: Registrar,
    legs: HashMap<LegId, Leg>,
    by_call_id: HashMap<String, LegId>,
    next_leg: u64,
    retrans: Vec<Retrans>,
    out: Vec<(Dest, Vec<u8>)>,
    events: EventSender<CallEvent>,
    media_tx: mpsc::Sender<(LegId, MediaEvent)>,
    token_state: u64,
    /// Call-ID of an outstanding OPTIONS qualify → (user, contact).
    qualifying: HashMap<String, (String, String)>,
    /// Peers that reached us over TCP → their connection (requests to a phone
    /// registered over TCP go back on its connection, RFC 5626 style).
    tcp_peers: HashMap<SocketAddr, u64>,
    /// Latest `now` handed to an input (time only moves forward).
    now: Instant,
    /// Final responses to non-INVITE requests by `branch METHOD`, replayed to
    /// retransmissions until the instant stored (Timer J, 64·T1).
    answered: HashMap<String, (Instant, Vec<u8>)>,
    /// Inbound legs in setup (INVITE received, not answered nor ended).
    in_setup: HashSet<LegId>,
    /// `in_setup.len()`, read by [`VoiceHandle::calls_in_setup`].
    in_setup_count: Arc<AtomicUsize>,
    /// An instant and the wall clock then (ms since the Unix epoch), to
    /// give saved registrations a wall-clock expiry.
    wall_anchor: (Instant, i64),
    /// Our BYEs to dialogs of the previous run, by Via branch → Call-ID
    /// (to log their answer or timeout; emptied by either).
    restored_byes: HashMap<String, String>,
    /// Calls a supervisor's leg is joined to (a few at a time).
    supervisions: Vec<supervise::Supervision>,
}

/// Bind the SIP UDP socket and, when `tcp`, a TCP listener on the same port
/// (RFC 3261 §18: one port for both transports).
///
/// With port 0 the UDP port is ephemeral and the same number may already be
/// taken on TCP by another process; then a new UDP port is tried, up to 32
/// times. Errors: the address cannot be bound (`AddrInUse` after the retries).
async fn bind_sip(
    addr: std::net::SocketAddr,
    tcp: bool,
) -> std::io::Result<(UdpSocket, Option<TcpListener>)> {
    let mut attempts = 0;
    loop {
        let udp = UdpSocket::bind(addr).await?;
        if !tcp {
            return Ok((udp, None));
        }
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(listener) => return Ok((udp, Some(listener))),
            Err(e)
                if addr.port() == 0
                    && e.kind() == std::io::ErrorKind::AddrInUse
                    && attempts < 32 =>
            {
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Start the voice stack on `cfg.sip_addr`. Returns the handle (commands), the
/// event stream, and spawns the stack task on the current tokio runtime.
///
/// Errors: the SIP socket(s) cannot be bound.
pub async fn start(
    cfg: VoiceConfig,
    directory: Arc<dyn Directory>,
) -> Result<(VoiceHandle, CallEvents), VoiceError> {
    let (udp, tcp) = bind_sip(cfg.sip_addr, cfg.tcp).await?;
    let local = udp.local_addr()?;
    let (in_tx, in_rx) = mpsc::channel(TCP_INPUTS);
    if let Some(listener) = tcp {
        tokio::spawn(accept_loop(listener, in_tx.clone(), cfg.tcp_limits.clone()));
    }
    drop(in_tx);
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMANDS);
    let (ev_tx, ev_rx) = mpsc::channel(CALL_EVENTS);
    let (media_tx, media_rx) = mpsc::channel(MEDIA_EVENTS);
    let t0 = Instant::now();
    let mut stack = Stack::new(cfg, local, directory, ev_tx, media_tx, t0);
    let wall_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    stack.set_wall_clock(t0, wall_ms);
    let in_setup = stack.in_setup_count.clone();
    tokio::spawn(drive(stack, udp, in_rx, cmd_rx, media_rx));
    Ok((
        VoiceHandle {
            tx: cmd_tx,
            local_addr: local,
            in_setup,
            prompts: Default::default(),
        },
        CallEvents(ev_rx),
    ))
}

/// The thin driver: wait for one input, hand it to the stack, flush the outbox.
async fn drive(
    mut stack: Stack,
    udp: UdpSocket,
    mut in_rx: mpsc::Receiver<Input>,
    mut cmd_rx: mpsc::Receiver<Command>,
    mut media_rx: mpsc::Receiver<(LegId, MediaEvent)>,
) {
    let mut tcp: HashMap<u64, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let events = stack.events.sender();
    let mut buf = vec![0u8; MAX_MESSAGE_BYTES + 1];
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut done: Option<tokio::sync::oneshot::Sender<()>> = None;
    loop {
        // The engine is behind when call events wait in the backlog: then
        // no new SIP input is read (UDP peers retransmit, TCP peers are not
        // read) until there is room, but the engine's commands, the timers
        // and media events are still served — the engine may be awaiting a
        // command's answer, and only it drains the channel.
        let behind = stack.events.is_backlogged();
        tokio::select! {
            r = udp.recv_from(&mut buf), if !behind => {
                if let Ok((n, from)) = r {
                    stack.on_datagram(Instant::now(), Dest::Udp(from), &buf[..n]);
                }
            }
            Some(input) = in_rx.recv(), if !behind => match input {
                Input::Tcp(id, from, bytes) => stack.on_datagram(Instant::now(), Dest::Tcp(id, from), &bytes),
                Input::TcpOpen(id, w) => { tcp.insert(id, w); }
                Input::TcpClosed(id) => {
                    tcp.remove(&id);
                    stack.tcp_peers.retain(|_, c| *c != id);
                }
            },
            permit = events.reserve(), if behind => match permit {
                Ok(p) => stack.events.send_oldest(p),
                Err(_) => stack.events.clear_backlog(),
            },
            cmd = cmd_rx.recv() => match cmd {
                Some(Command::Shutdown(reply)) => {
                    stack.shutdown(Instant::now());
                    done = Some(reply);
                }
                Some(c) => stack.on_command(Instant::now(), c),
                None => stack.shutdown(Instant::now()),
            },
            Some((leg, ev)) = media_rx.recv() => stack.on_media(Instant::now(), leg, ev),
            _ = tick.tick() => stack.on_tick(Instant::now()),
        }
        for (dest, bytes) in stack.out.drain(..) {
            match dest {
                Dest::Udp(to) => {
                    if let Err(e) = udp.send_to(&bytes, to).await {
                        tracing::debug!(%to, "sip send failed: {e}");
                    }
                }
                Dest::Tcp(id, peer) => {
                    if let Some(w) = tcp.get(&id)
                        && w.try_send(bytes).is_err()
                    {
                        // Not reading (or gone): close it; its reader
                        // reports TcpClosed.
                        tracing::warn!(%peer, "TCP: peer not reading, {TCP_WRITES} messages queued; closing");
                        tcp.remove(&id);
                    }
                }
            }
        }
        stack.events.try_flush();
        if stack.legs.is_empty() && (done.is_some() || cmd_rx.is_closed()) {
            break;
        }
    }
    if let Some(d) = done {
        let _ = d.send(());
    }
}

/// Open TCP connections, in all and per source IP (the caps of
/// [`crate::config::TcpLimits`]).
#[derive(Debug, Default)]
struct ConnCounts {
    total: usize,
    per_ip: HashMap<std::net::IpAddr, usize>,
}

/// One counted connection; uncounted when dropped (its reader task ends).
struct ConnSlot {
    counts: Arc<std::sync::Mutex<ConnCounts>>,
    ip: std::net::IpAddr,
}

impl ConnSlot {
    /// Count a new connection from `ip`, or `None` when a cap is reached.
    fn take(
        counts: &Arc<std::sync::Mutex<ConnCounts>>,
        ip: std::net::IpAddr,
        limits: &crate::config::TcpLimits,
    ) -> Option<ConnSlot> {
        let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
        let mine = c.per_ip.get(&ip).copied().unwrap_or(0);
        if c.total >= limits.max_connections || mine >= limits.max_per_address {
            return None;
        }
        c.total += 1;
        *c.per_ip.entry(ip).or_insert(0) += 1;
        Some(ConnSlot {
            counts: counts.clone(),
            ip,
        })
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    tx: mpsc::Sender<Input>,
    limits: crate::config::TcpLimits,
) {
    let counts = Arc::new(std::sync::Mutex::new(ConnCounts::default()));
    let mut next = 1u64;
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        if tx.is_closed() {
            return;
        }
        let Some(slot) = ConnSlot::take(&counts, peer.ip(), &limits) else {
            tracing::debug!(%peer, "TCP: connection cap reached; closing");
            drop(stream);
            continue;
        };
        let id = next;
        next += 1;
        let (rd, mut wr) = stream.into_split();
        let (wtx, mut wrx) = mpsc::channel::<Vec<u8>>(TCP_WRITES);
        if tx.send(Input::TcpOpen(id, wtx)).await.is_err() {
            return;
        }
        let opened = tokio::time::Instant::now();
        // Milliseconds from `opened` to our last write (idle timer).
        let last_write = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let written = last_write.clone();
        tokio::spawn(async move {
            while let Some(b) = wrx.recv().await {
                if wr.write_all(&b).await.is_err() {
                    break;
                }
                let ms = opened.elapsed().as_millis() as u64;
                written.store(ms, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let conn = TcpConn {
            id,
            peer,
            opened,
            last_write,
            limits: limits.clone(),
            _slot: slot,
        };
        tokio::spawn(tcp_reader(conn, rd, tx.clone()));
    }
}

/// What the reader of one TCP connection knows about it.
struct TcpConn {
    id: u64,
    peer: SocketAddr,
    opened: tokio::time::Instant,
    /// Milliseconds from `opened` to our last write on it.
    last_write: Arc<std::sync::atomic::AtomicU64>,
    limits: crate::config::TcpLimits,
    /// Held while the reader runs: the connection counts toward the caps.
    _slot: ConnSlot,
}

/// Frame SIP messages on a TCP stream by Content-Length (RFC 3261 §18.3),
/// and close the connection on the idle and incomplete-message timeouts of
/// [`crate::config::TcpLimits`].
async fn tcp_reader(
    conn: TcpConn,
    mut rd: tokio::net::tcp::OwnedReadHalf,
    tx: mpsc::Sender<Input>,
) {
    use tokio::time::Instant as TokioInstant;
    let TcpConn { id, peer, .. } = conn;
    let limits = &conn.limits;
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 4096];
    let mut last_read = conn.opened;
    // First byte of the message being received (from the opening for the
    // first one): it must be complete within `header_timeout`.
    let mut message_start: Option<TokioInstant> = Some(conn.opened);
    'conn: loop {
        let last_write = conn.opened
            + Duration::from_millis(conn.last_write.load(std::sync::atomic::Ordering::Relaxed));
        let idle_deadline = last_read.max(last_write) + limits.idle_timeout;
        let header_deadline = message_start.map(|t| t + limits.header_timeout);
        let deadline = header_deadline.map_or(idle_deadline, |h| h.min(idle_deadline));
        match tokio::time::timeout_at(deadline, rd.read(&mut chunk)).await {
            Err(_) => {
                if header_deadline.is_some_and(|h| TokioInstant::now() >= h) {
                    tracing::debug!(%peer, "TCP: message incomplete after the header timeout; closing");
                    break;
                }
                // A write since the deadline was computed moves the idle timer.
                let last_write = conn.opened
                    + Duration::from_millis(
                        conn.last_write.load(std::sync::atomic::Ordering::Relaxed),
                    );
                if TokioInstant::now() >= last_read.max(last_write) + limits.idle_timeout {
                    tracing::debug!(%peer, "TCP: idle timeout; closing");
                    break;
                }
                continue;
            }
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                last_read = TokioInstant::now();
            }
        }
        loop {
            // Skip keep-alive CRLFs between messages (RFC 5626 §3.5.1).
            while buf.starts_with(b"\r\n") {
                buf.drain(..2);
            }
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                if buf.len() > MAX_MESSAGE_BYTES {
                    break 'conn;
                }
                break;
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            // A negative, malformed or conflicting Content-Length cannot be
            // framed: close the connection rather than guess where the next
            // message starts (no request smuggling).
            let Ok(cl) = message::declared_content_length(&head) else {
                tracing::debug!(%peer, "TCP: unframeable Content-Length; closing");
                break 'conn;
            };
            let cl = cl.unwrap_or(0);
            let total = end + 4 + cl;
            if total > MAX_MESSAGE_BYTES {
                break 'conn;
            }
            if buf.len() < total {
                break;
            }
            let msg: Vec<u8> = buf.drain(..total).collect();
            message_start = None;
            if tx.send(Input::Tcp(id, peer, msg)).await.is_err() {
                break 'conn;
            }
        }
        // A lone "\r" may be the start of a keep-alive; anything else starts
        // a message, whose timer runs from now.
        let partial = !buf.is_empty() && buf.as_slice() != b"\r";
        if partial && message_start.is_none() {
            message_start = Some(last_read);
        }
    }
    let _ = tx.send(Input::TcpClosed(id)).await;
}

impl Stack {
    /// A stack with no transports: the driver (or a test) feeds it inputs and
    /// drains `out`. `epoch` anchors nonce timestamps.
    fn new(
        cfg: VoiceConfig,
        local: SocketAddr,
        directory: Arc<dyn Directory>,
        events: mpsc::Sender<CallEvent>,
        media_tx: mpsc::Sender<(LegId, MediaEvent)>,
        epoch: Instant,
    ) -> Stack {
        let secret = format!("{:016x}", leg::random_u64());
        let auth = DigestAuth::new(&cfg.realm, &secret, cfg.digest_algorithms.clone());
        let registrar = Registrar::new(cfg.registrar.clone(), auth, epoch);
        Stack {
            cfg,
            local,
            directory,
            registrar,
            legs: HashMap::new(),
            by_call_id: HashMap::new(),
            next_leg: 1,
            retrans: Vec::new(),
            out: Vec::new(),
            events: EventSender::new(events, CALL_EVENTS_BACKLOG, "call events"),
            media_tx,
            token_state: leg::random_u64(),
            qualifying: HashMap::new(),
            tcp_peers: HashMap::new(),
            now: epoch,
            answered: HashMap::new(),
            in_setup: HashSet::new(),
            in_setup_count: Arc::new(AtomicUsize::new(0)),
            wall_anchor: (epoch, 0),
            restored_byes: HashMap::new(),
            supervisions: Vec::new(),
        }
    }

    /// Mark an inbound leg in setup (`true`) or out of it (`false`).
    pub(crate) fn set_in_setup(&mut self, id: LegId, in_setup: bool) {
        let changed = if in_setup {
            self.in_setup.insert(id)
        } else {
            self.in_setup.remove(&id)
        };
        if changed {
            self.in_setup_count
                .store(self.in_setup.len(), Ordering::Relaxed);
        }
    }

    /// Inbound calls in setup now (see [`VoiceHandle::calls_in_setup`]).
    pub(crate) fn calls_in_setup(&self) -> usize {
        self.in_setup.len()
    }

    pub(crate) fn emit(&self, ev: CallEvent) {
        let user = match &ev {
            CallEvent::Registration(
                crate::registrar::RegistrationChange::Registered { user, .. }
                | crate::registrar::RegistrationChange::Unregistered { user },
            ) => Some(user.clone()),
            _ => None,
        };
        self.events.send(ev);
        if let Some(user) = user {
            let bindings = self
                .registrar
                .saved(self.now, self.wall_ms(self.now), &user);
            self.events.send(CallEvent::Bindings { user, bindings });
        }
    }

    /// The wall clock at `now`, ms since the Unix epoch (from the anchor
    /// taken when the stack started).
    pub(crate) fn wall_ms(&self, now: Instant) -> i64 {
        let (t0, ms0) = self.wall_anchor;
        if now >= t0 {
            ms0 + now.duration_since(t0).as_millis() as i64
        } else {
            ms0 - t0.duration_since(now).as_millis() as i64
        }
    }

    /// Anchor the wall clock (the shell reads it once at start) and take
    /// back the registrations of the previous run.
    pub(crate) fn set_wall_clock(&mut self, now: Instant, wall_ms: i64) {
        self.wall_anchor = (now, wall_ms);
        let saved = std::mem::take(&mut self.cfg.restore_bindings);
        let n = self.registrar.restore(now, wall_ms, &saved);
        if n > 0 {
            tracing::info!(n, "registrations restored from the previous run");
        }
        let dialogs = std::mem::take(&mut self.cfg.restore_dialogs);
        self.bye_restored(now, &dialogs);
    }

    pub(crate) fn send(&mut self, dest: Dest, bytes: Vec<u8>) {
        let bytes = match &self.cfg.server_header {
            Some(token) => with_product_header(bytes, token),
            None => bytes,
        };
        self.out.push((dest, bytes));
    }

    /// Send and, over UDP, retransmit until `key` is cleared (RFC 3261 §17).
    fn send_reliably(
        &mut self,
        now: Instant,
        dest: Dest,
        bytes: Vec<u8>,
        key: RetransKey,
        invite: bool,
    ) {
        if matches!(dest, Dest::Udp(_)) {
            self.retrans.push(Retrans {
                key,
                dest,
                bytes: bytes.clone(),
                next: now + T1,
                interval: T1,
                until: now + 64 * T1,
                invite,
            });
        }
        self.send(dest, bytes);
    }

    fn clear_retrans(&mut self, key: &RetransKey) {
        self.retrans.retain(|r| &r.key != key);
    }

    /// A fresh random token for tags, branches and Call-IDs.
    pub(crate) fn token(&mut self) -> String {
        self.token_state = self
            .token_state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        format!("{:016x}", self.token_state ^ leg::random_u64())
    }

    fn on_datagram(&mut self, now: Instant, from: Dest, data: &[u8]) {
        self.now = self.now.max(now);
        if let Dest::Tcp(id, addr) = from {
            self.tcp_peers.insert(addr, id);
        }
        if data.iter().all(|b| b.is_ascii_whitespace()) {
            return; // keep-alive
        }
        match message::parse(data) {
            Ok(Message::Request(req)) => {
                // Non-INVITE server transactions (RFC 3261 §17.2.2): a
                // retransmitted request gets the same final response again.
                let key = match req.method {
                    message::Method::Invite | message::Method::Ack => None,
                    _ => server_transaction_key(&req, from),
                };
                if let Some(k) = &key
                    && let Some((_, bytes)) = self.answered.get(k)
                {
                    let bytes = bytes.clone();
                    return self.send(from, bytes);
                }
                let before = self.out.len();
                match checks::check_request(&req, &self.cfg) {
                    Some(refusal) => self.refuse(from, &req, refusal),
                    None => self.on_request(now, from, req),
                }
                let last_final = self.out[before..]
                    .iter()
                    .rev()
                    .find(|(d, b)| {
                        *d == from && b.starts_with(b"SIP/2.0 ") && !b.starts_with(b"SIP/2.0 1")
                    })
                    .map(|(_, b)| b.clone());
                if let (Some(k), Some(b)) = (key, last_final) {
                    self.answered.insert(k, (now + 64 * T1, b));
                }
            }
            Ok(Message::Response(resp)) => self.on_response(now, from, resp),
            Err(e) => {
                tracing::debug!(from = %from.addr(), "bad SIP message: {e}");
                if let Some(reply) = message::bad_request_reply(data, &e.to_string()) {
                    self.send(from, reply);
                }
            }
        }
    }

    fn on_tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
        self.answered.retain(|_, (until, _)| now < *until);
        metrics::gauge!("sip_calls_in_setup").set(self.in_setup.len() as f64);
        let mut expired = Vec::new();
        let mut resend = Vec::new();
        for r in &mut self.retrans {
            if now >= r.until {
                expired.push(r.key.clone());
            } else if now >= r.next {
                resend.push((r.dest, r.bytes.clone()));
                r.interval = if r.invite {
                    r.interval * 2
                } else {
                    (r.interval * 2).min(T2)
                };
                r.next = now + r.interval;
            }
        }
        self.retrans.retain(|r| now < r.until);
        for (d, b) in resend {
            self.send(d, b);
        }
        for key in expired {
            if let RetransKey::Client(branch) = &key
                && let Some(call_id) = self.restored_byes.remove(branch)
            {
                tracing::warn!(%call_id, "BYE to a dialog of the previous run: no answer (Timer F)");
            }
            if let RetransKey::Ok2xx(call_id) = key {
                // No ACK to our 2xx within 64·T1: end the dialog (RFC 3261 §13.3.1.4).
                if let Some(id) = self.by_call_id.get(&call_id).copied() {
                    self.bye_and_end(now, id, crate::control::HangupCause::Timeout);
                }
            }
        }
        for change in self.registrar.handle_timeout(now) {
            self.emit(CallEvent::Registration(change));
        }
        self.qualify(now);
        self.leg_timers(now);
        self.session_timers(now);
    }

    /// How to reach a phone registered from `source` (its TCP connection if it
    /// came over TCP and the connection is still open, else UDP).
    pub(crate) fn dest_for(&self, source: SocketAddr) -> Dest {
        match self.tcp_peers.get(&source) {
            Some(id) => Dest::Tcp(*id, source),
            None => Dest::Udp(source),
        }
    }

    /// OPTIONS qualify of registered contacts (keep-alive, RFC 3261 §11).
    fn qualify(&mut self, now: Instant) {
        let Some(interval) = self.cfg.qualify_interval else {
            return;
        };
        for change in self
            .registrar
            .qualify_timeouts(now, self.cfg.qualify_timeout)
        {
            if let crate::registrar::RegistrationChange::Reachability { contact, .. } = &change {
                self.qualifying.retain(|_, (_, c)| c != contact);
            }
            self.emit(CallEvent::Registration(change));
        }
        for (user, b) in self.registrar.qualify_due(now, interval) {
            let dest = self.dest_for(b.source);
            let (via, _) = self.via(dest);
            let call_id = format!("q{}@switchboard", self.token());
            let tag = self.token();
            let mut h = message::Headers::default();
            h.push("Via", via);
            h.push("Max-Forwards", "70");
            h.push(
                "From",
                format!("<sip:switchboard@{}>;tag={tag}", self.cfg.realm),
            );
            h.push("To", format!("<{}>", b.contact));
            h.push("Call-ID", call_id.clone());
            h.push("CSeq", "1 OPTIONS");
            let req = message::Request {
                method: message::Method::Options,
                uri: b.contact.clone(),
                headers: h,
                body: Vec::new(),
            };
            self.qualifying.insert(call_id, (user, b.contact));
            self.send(dest, req.to_bytes());
        }
    }

    fn shutdown(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let ids: Vec<LegId> = self.legs.keys().copied().collect();
        for id in ids {
            self.hang_up(now, id);
            self.end_leg(id, crate::control::HangupCause::Local);
        }
    }

    fn on_media(&mut self, now: Instant, id: LegId, ev: MediaEvent) {
        self.now = self.now.max(now);
        match ev {
            MediaEvent::Dtmf { digit, duration_ms } => self.on_digit(now, id, digit, duration_ms),
            MediaEvent::PromptFinished { interrupted } => {
                if self.legs.contains_key(&id) {
                    self.emit(CallEvent::PromptFinished {
                        leg: id,
                        interrupted,
                    });
                }
            }
        }
    }
}

/// `bytes` (one serialised SIP message) with `Server: token` after the status
/// line of a response, or `User-Agent: token` after the request line of a
/// request (RFC 3261 §20.35, §20.41), unless it already has that header.
/// Control characters in `token` are dropped so it cannot inject headers.
fn with_product_header(bytes: Vec<u8>, token: &str) -> Vec<u8> {
    let token: String = token.chars().filter(|c| !c.is_control()).collect();
    let token = token.trim();
    if token.is_empty() {
        return bytes;
    }
    let name = if bytes.starts_with(b"SIP/2.0 ") {
        "Server"
    } else {
        "User-Agent"
    };
    let Some(eol) = bytes.windows(2).position(|w| w == b"\r\n") else {
        return bytes;
    };
    let head_end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(bytes.len());
    let needle = format!("\r\n{}:", name.to_ascii_lowercase());
    let head = String::from_utf8_lossy(&bytes[..head_end]).to_ascii_lowercase();
    if head.contains(&needle) {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len() + name.len() + token.len() + 4);
    out.extend_from_slice(&bytes[..eol + 2]);
    out.extend_from_slice(format!("{name}: {token}\r\n").as_bytes());
    out.extend_from_slice(&bytes[eol + 2..]);
    out
}

/// The key of the server transaction `req` belongs to (RFC 3261 §17.2.3), on
/// the transport it came in on (UDP, or this TCP connection): with the magic
/// cookie `z9hG4bK`, the top Via's branch and sent-by plus the method (CSeq
/// method, ACK and CANCEL keep their own); without it (RFC 2543 peers), the
/// Request-URI, To tag, From tag, Call-ID, CSeq and whole top Via. `None`
/// without a Via (the message checks answer those).
pub(super) fn server_transaction_key(req: &message::Request, from: Dest) -> Option<String> {
    let transport = match from {
        Dest::Udp(_) => "udp".to_string(),
        Dest::Tcp(id, _) => format!("tcp{id}"),
    };
    let via = req.headers.get("Via")?.split(',').next()?.trim();
    let method = req.method.as_str();
    if let Some(branch) = message::header_param(via, "branch")
        && branch.starts_with("z9hG4bK")
    {
        // sent-by: the host[:port] after the protocol, before any parameter.
        let sent_by = via
            .split(';')
            .next()
            .and_then(|p| p.split_whitespace().nth(1))
            .unwrap_or("")
            .to_ascii_lowercase();
        return Some(format!("{transport} {branch} {sent_by} {method}"));
    }
    let tag = |h: &str| {
        req.headers
            .get(h)
            .and_then(|v| message::header_param(v, "tag"))
            .unwrap_or("")
            .to_string()
    };
    Some(format!(
        "{transport} 2543 {} {} {} {} {} {via} {method}",
        req.uri,
        tag("To"),
        tag("From"),
        req.headers.get("Call-ID").unwrap_or(""),
        req.headers.get("CSeq").unwrap_or(""),
    ))
}
