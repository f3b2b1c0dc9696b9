//! Media anchored at the platform: one UDP RTP socket and one task per leg.
//!
//! A leg's task latches on the first RTP source it hears (symmetric RTP, RFC
//! 4961 style, for NAT), detects RFC 4733 DTMF, plays prompts paced at 20 ms,
//! sends DTMF, feeds a recording, and relays audio to a bridged peer leg
//! (transcoding PCMU↔PCMA only when the two legs differ).
//!
//! Each leg also terminates RTCP (RFC 3550 §6) on RTP port + 1: it reads the
//! peer's SR/RR (and RTCP multiplexed on the RTP port, RFC 5761), and sends a
//! compound report (SR when it sent RTP since the last one, else RR, with SDES
//! CNAME) about every 5 s, and a BYE when it stops. The round-trip time from
//! the peer's reports goes into the leg's [`MediaQuality`].

use crate::audio::{Recorder, Side};
use crate::bounded::EventSender;
use crate::codec::{Codec, FRAME_SAMPLES};
use crate::quality::{MediaQuality, ReceiveStats};
use crate::rtcp::{self, RtcpSession, SenderInfo};
use crate::rtp::{self, DtmfDetector, RtpSender};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// What the stack learns from a leg's media task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// An RFC 4733 digit was received.
    Dtmf {
        /// The digit.
        digit: char,
        /// Its duration in ms.
        duration_ms: u32,
    },
    /// The current prompt ended (`interrupted` when a DTMF barge-in stopped it).
    PromptFinished {
        /// Stopped by a digit rather than played to the end.
        interrupted: bool,
    },
}

/// Negotiated send parameters of a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendParams {
    /// Codec both directions use on this leg.
    pub codec: Codec,
    /// Payload type of telephone-event agreed with the peer, if any.
    pub telephone_event: Option<u8>,
}

/// State shared between a leg's task, its bridged peer's task and the stack.
#[derive(Debug)]
pub struct Shared {
    socket: Arc<UdpSocket>,
    rtcp_socket: Arc<UdpSocket>,
    remote: Mutex<Option<SocketAddr>>,
    /// RTCP destination from the peer's SDP (`a=rtcp`, RFC 3605), if given.
    rtcp_remote: Mutex<Option<SocketAddr>>,
    params: Mutex<SendParams>,
    /// The far end asked for no media (it sent sendonly/inactive).
    held: AtomicBool,
    /// We put the far end on hold: it hears prompts/music, not its peer.
    on_hold: AtomicBool,
    playing: AtomicBool,
    rx_packets: AtomicU64,
    tx_packets: AtomicU64,
    /// RTP payload octets sent (for the SR sender info).
    tx_octets: AtomicU64,
    rx_stats: Mutex<ReceiveStats>,
    /// [`MediaLeg::stop`] was called: the task ends (not a queued command,
    /// so it cannot be lost to a full command queue).
    stop: tokio::sync::Notify,
}

impl Shared {
    fn remote(&self) -> Option<SocketAddr> {
        self.remote.lock().ok().and_then(|g| *g)
    }

    fn params(&self) -> Option<SendParams> {
        self.params.lock().ok().map(|g| *g)
    }

    fn send(&self, bytes: &[u8]) {
        if let Some(to) = self.remote()
            && self.socket.try_send_to(bytes, to).is_ok()
        {
            self.tx_packets.fetch_add(1, Ordering::Relaxed);
            let payload = bytes.len().saturating_sub(12) as u64;
            self.tx_octets.fetch_add(payload, Ordering::Relaxed);
        }
    }
}

/// Packet counters and receive quality of a leg.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediaStats {
    /// RTP packets received from the leg's far end.
    pub rx_packets: u64,
    /// RTP packets sent to the leg's far end (prompts, DTMF and relayed audio).
    pub tx_packets: u64,
    /// Loss, jitter and MOS of the received audio.
    pub quality: MediaQuality,
}

enum Cmd {
    Play {
        samples: Arc<Vec<i16>>,
        barge_in: bool,
        looped: bool,
    },
    StopPlay,
    Dtmf(String),
    Record(Option<(Arc<Mutex<Recorder>>, Instant, Side)>),
    Bridge(Option<Arc<Shared>>),
    Mix(Option<conference::MixLink>),
    RtcpInterval(Duration),
}

/// Default RTCP report interval (RFC 3550 §6.2 minimum).
pub const RTCP_INTERVAL: Duration = Duration::from_secs(5);

/// The stack's handle on one leg's media task.
#[derive(Debug, Clone)]
pub struct MediaLeg {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Cmd>,
}

/// Commands queued for one leg's task (a handful per call). The task takes
/// them every 20 ms at worst; one refused past this is logged and dropped.
const LEG_COMMANDS: usize = 64;
/// A leg's media events waiting for room in the shared event channel; past
/// it the oldest is dropped and logged.
const LEG_EVENTS_BACKLOG: usize = 64;

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("media command")
    }
}

impl MediaLeg {
    /// Bind a socket on `(ip, 0)` and start the leg's task. Events are sent on
    /// `events` tagged with `tag`. Errors: the bind failed.
    pub fn start<T: Copy + Send + 'static>(
        ip: std::net::IpAddr,
        params: SendParams,
        tag: T,
        events: mpsc::Sender<(T, MediaEvent)>,
    ) -> std::io::Result<MediaLeg> {
        MediaLeg::start_in(ip, None, params, tag, events)
    }

    /// Like [`MediaLeg::start`], binding an even port of `ports` when given
    /// (firewall-friendly ranges) and RTCP on the odd port above it (RFC 3550
    /// §11). Errors: `AddrInUse` when no even/odd pair of the range is free.
    ///
    /// `events` is bounded and shared by many legs; the leg never waits for
    /// room: up to 64 of its events wait in its own backlog, moved on at
    /// each wake-up, and past that the oldest is dropped and logged.
    pub fn start_in<T: Copy + Send + 'static>(
        ip: std::net::IpAddr,
        ports: Option<std::ops::RangeInclusive<u16>>,
        params: SendParams,
        tag: T,
        events: mpsc::Sender<(T, MediaEvent)>,
    ) -> std::io::Result<MediaLeg> {
        let (std_sock, std_rtcp) = match ports {
            None => bind_any_pair(ip)?,
            Some(range) => bind_in_range(ip, range)?,
        };
        std_sock.set_nonblocking(true)?;
        std_rtcp.set_nonblocking(true)?;
        let socket = Arc::new(UdpSocket::from_std(std_sock)?);
        let rtcp_socket = Arc::new(UdpSocket::from_std(std_rtcp)?);
        let shared = Arc::new(Shared {
            socket,
            rtcp_socket,
            remote: Mutex::new(None),
            rtcp_remote: Mutex::new(None),
            params: Mutex::new(params),
            held: AtomicBool::new(false),
            on_hold: AtomicBool::new(false),
            playing: AtomicBool::new(false),
            rx_packets: AtomicU64::new(0),
            tx_packets: AtomicU64::new(0),
            tx_octets: AtomicU64::new(0),
            rx_stats: Mutex::new(ReceiveStats::new()),
            stop: tokio::sync::Notify::new(),
        });
        let (tx, rx) = mpsc::channel(LEG_COMMANDS);
        let seed = seed();
        let ssrc = seed as u32;
        let cname = format!("{ssrc:08x}@{ip}");
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let task = LegTask {
            shared: shared.clone(),
            rx,
            events: EventSender::new(events, LEG_EVENTS_BACKLOG, "media events"),
            tag,
            peer: None,
            mix: None,
            play: None,
            dtmf_out: VecDeque::new(),
            sender: RtpSender::new(ssrc, (seed >> 32) as u16, (seed >> 48) as u32),
            detector: DtmfDetector::new(),
            recording: None,
            latched: false,
            epoch: Instant::now(),
            unix_at_epoch: unix,
            rtcp: RtcpSession::new(ssrc, cname),
            rtcp_latched: None,
            rtcp_interval: RTCP_INTERVAL,
            source_ssrc: None,
            tx_at_report: 0,
        };
        tokio::spawn(task.run());
        Ok(MediaLeg { shared, tx })
    }

    /// Local RTP address (for our SDP).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.shared.socket.local_addr()
    }

    /// Local RTCP address (RTP port + 1).
    pub fn local_rtcp_addr(&self) -> std::io::Result<SocketAddr> {
        self.shared.rtcp_socket.local_addr()
    }

    /// Where to send RTCP before the peer's RTCP latches it: the `a=rtcp`
    /// address of its SDP (RFC 3605). Without one, RTP port + 1 is used.
    pub fn set_rtcp_remote(&self, addr: Option<SocketAddr>) {
        if let Ok(mut g) = self.shared.rtcp_remote.lock() {
            *g = addr;
        }
    }

    /// Send reports every `interval` (randomised ±25 %, RFC 3550 §6.3.1)
    /// instead of the default 5 s.
    pub fn set_rtcp_interval(&self, interval: Duration) {
        self.command(Cmd::RtcpInterval(interval));
    }

    /// Set where to send before latching (from the peer's SDP) and the codec.
    pub fn set_remote(&self, addr: SocketAddr, params: SendParams) {
        if let Ok(mut g) = self.shared.remote.lock() {
            *g = Some(addr);
        }
        if let Ok(mut g) = self.shared.params.lock() {
            *g = params;
        }
    }

    /// The far end put us on hold (its SDP is sendonly/inactive, RFC 3264
    /// §8.4): send it nothing at all.
    pub fn set_held(&self, held: bool) {
        self.shared.held.store(held, Ordering::Relaxed);
    }

    /// We put this leg on hold (our SDP is sendonly): stop relaying its bridged
    /// peer's audio to it; prompts and music on hold still play.
    pub fn set_on_hold(&self, on: bool) {
        self.shared.on_hold.store(on, Ordering::Relaxed);
    }

    /// True while we hold this leg ([`MediaLeg::set_on_hold`]).
    pub fn is_on_hold(&self) -> bool {
        self.shared.on_hold.load(Ordering::Relaxed)
    }

    /// Play 8 kHz samples; a DTMF digit stops it when `barge_in`; `looped`
    /// restarts it at the end until stopped (music on hold).
    pub fn play(&self, samples: Arc<Vec<i16>>, barge_in: bool, looped: bool) {
        self.command(Cmd::Play {
            samples,
            barge_in,
            looped,
        });
    }

    /// Stop the current prompt (a `PromptFinished { interrupted: true }` follows).
    pub fn stop_play(&self) {
        self.command(Cmd::StopPlay);
    }

    /// Queue RFC 4733 digits to send.
    pub fn send_dtmf(&self, digits: &str) {
        self.command(Cmd::Dtmf(digits.to_string()));
    }

    /// Start (Some) or stop (None) feeding a recording.
    pub fn record(&self, rec: Option<(Arc<Mutex<Recorder>>, Instant, Side)>) {
        self.command(Cmd::Record(rec));
    }

    /// Relay this leg's received audio to `peer` (or stop relaying).
    pub fn bridge(&self, peer: Option<&MediaLeg>) {
        self.command(Cmd::Bridge(peer.map(|p| p.shared.clone())));
    }

    /// Forward this leg's received audio to its call's conference task
    /// instead of relaying it to a bridged peer (or stop: `None`).
    pub(crate) fn mix(&self, link: Option<conference::MixLink>) {
        self.command(Cmd::Mix(link));
    }

    /// The codec this leg's far end receives.
    pub(crate) fn codec(&self) -> Option<Codec> {
        self.shared.params().map(|p| p.codec)
    }

    /// Packet counters so far.
    pub fn stats(&self) -> MediaStats {
        MediaStats {
            rx_packets: self.shared.rx_packets.load(Ordering::Relaxed),
            tx_packets: self.shared.tx_packets.load(Ordering::Relaxed),
            quality: self
                .shared
                .rx_stats
                .lock()
                .map(|s| s.quality())
                .unwrap_or_else(|_| ReceiveStats::new().quality()),
        }
    }

    /// End the task and close the socket.
    pub fn stop(&self) {
        self.shared.stop.notify_one();
    }

    /// Queue a command for the task without waiting; refused (logged) when
    /// the task has 64 untaken, i.e. it is stuck.
    fn command(&self, cmd: Cmd) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(cmd) {
            tracing::warn!("media task not taking commands ({LEG_COMMANDS} queued): one dropped");
        }
    }
}

type SocketPair = (std::net::UdpSocket, std::net::UdpSocket);

/// Bind RTP on `port` (even) and RTCP on `port + 1`.
fn bind_pair(ip: std::net::IpAddr, port: u16) -> Option<SocketPair> {
    let rtcp_port = port.checked_add(1)?;
    let rtp = std::net::UdpSocket::bind((ip, port)).ok()?;
    let rtcp = std::net::UdpSocket::bind((ip, rtcp_port)).ok()?;
    Some((rtp, rtcp))
}

/// An even/odd pair of ports the OS picks: ask for any port, keep it if it
/// is even and the next one is free, else try again.
fn bind_any_pair(ip: std::net::IpAddr) -> std::io::Result<SocketPair> {
    for _ in 0..64 {
        let probe = std::net::UdpSocket::bind((ip, 0))?;
        let port = probe.local_addr()?.port();
        if port % 2 == 0
            && let Ok(rtcp) = std::net::UdpSocket::bind((ip, port + 1))
        {
            return Ok((probe, rtcp));
        }
    }
    Err(std::io::ErrorKind::AddrInUse.into())
}

/// Bind the first free even/odd pair of `range`, starting at a random one.
fn bind_in_range(
    ip: std::net::IpAddr,
    range: std::ops::RangeInclusive<u16>,
) -> std::io::Result<SocketPair> {
    let lo = range.start().saturating_add(range.start() % 2);
    let hi = *range.end();
    if lo >= hi {
        return Err(std::io::ErrorKind::InvalidInput.into());
    }
    let slots = u64::from((hi - lo - 1) / 2 + 1);
    let first = seed() % slots;
    for k in 0..slots {
        let port = lo + (((first + k) % slots) * 2) as u16;
        if let Some(pair) = bind_pair(ip, port) {
            return Ok(pair);
        }
    }
    Err(std::io::ErrorKind::AddrInUse.into())
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x5b);
    h.finish()
}

struct Playback {
    samples: Arc<Vec<i16>>,
    pos: usize,
    barge_in: bool,
    looped: bool,
}

struct LegTask<T> {
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Cmd>,
    events: EventSender<(T, MediaEvent)>,
    tag: T,
    peer: Option<Arc<Shared>>,
    /// While the call is mixed (supervision): where received audio goes
    /// instead of `peer`.
    mix: Option<conference::MixLink>,
    play: Option<Playback>,
    dtmf_out: VecDeque<Vec<u8>>,
    sender: RtpSender,
    detector: DtmfDetector,
    recording: Option<(Arc<Mutex<Recorder>>, Instant, Side)>,
    latched: bool,
    epoch: Instant,
    /// Wall clock at `epoch`, for NTP timestamps in SRs.
    unix_at_epoch: Duration,
    rtcp: RtcpSession,
    /// Source of the peer's RTCP once heard (symmetric RTCP).
    rtcp_latched: Option<SocketAddr>,
    rtcp_interval: Duration,
    /// SSRC of the RTP stream we receive.
    source_ssrc: Option<u32>,
    /// `tx_packets` at the last report (SR if it moved since).
    tx_at_report: u64,
}

impl<T: Copy + Send + 'static> LegTask<T> {
    async fn run(mut self) {
        // The 20 ms pacing timer only runs while there is something to send
        // (a prompt or DTMF): a bridged leg just relays on packet arrival.
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let socket = self.shared.socket.clone();
        let rtcp_socket = self.shared.rtcp_socket.clone();
        let mut buf = vec![0u8; 2048];
        let mut rtcp_buf = vec![0u8; 1500];
        // The first report goes out after half an interval (§6.2 "initial").
        let report = tokio::time::sleep(self.next_interval() / 2);
        tokio::pin!(report);
        loop {
            // Events that found the shared channel full go on now.
            self.events.try_flush();
            let sending = self.play.is_some() || !self.dtmf_out.is_empty();
            tokio::select! {
                r = socket.recv_from(&mut buf) => {
                    if let Ok((n, from)) = r {
                        self.on_packet(&buf[..n], from);
                    }
                }
                r = rtcp_socket.recv_from(&mut rtcp_buf) => {
                    if let Ok((n, from)) = r {
                        self.on_rtcp(&rtcp_buf[..n], from, true);
                    }
                }
                () = &mut report => {
                    self.send_report(false);
                    report.as_mut().reset(tokio::time::Instant::now() + self.next_interval());
                }
                () = self.shared.stop.notified() => {
                    self.send_report(true);
                    break;
                }
                cmd = self.rx.recv() => match cmd {
                    None => {
                        self.send_report(true);
                        break;
                    }
                    Some(Cmd::RtcpInterval(d)) => {
                        self.rtcp_interval = d;
                        report.as_mut().reset(tokio::time::Instant::now() + self.next_interval());
                    }
                    Some(c) => {
                        self.on_cmd(c);
                        if !sending && (self.play.is_some() || !self.dtmf_out.is_empty()) {
                            tick.reset_immediately();
                        }
                    }
                },
                _ = tick.tick(), if sending => self.on_tick(),
            }
        }
    }

    fn emit(&self, ev: MediaEvent) {
        self.events.send((self.tag, ev));
    }

    fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Play {
                samples,
                barge_in,
                looped,
            } => {
                if self.play.is_some() {
                    self.emit(MediaEvent::PromptFinished { interrupted: true });
                }
                self.shared.playing.store(true, Ordering::Relaxed);
                self.play = Some(Playback {
                    samples,
                    pos: 0,
                    barge_in,
                    looped,
                });
            }
            Cmd::StopPlay => self.finish_play(true),
            Cmd::Dtmf(digits) => {
                let te = self.shared.params().and_then(|p| p.telephone_event);
                if let Some(pt) = te {
                    for d in digits.chars() {
                        if let Some(pkts) = self.sender.dtmf(pt, d, 100) {
                            self.dtmf_out.extend(pkts);
                        }
                    }
                }
            }
            Cmd::Record(r) => self.recording = r,
            Cmd::Bridge(p) => self.peer = p,
            Cmd::Mix(m) => self.mix = m,
            Cmd::RtcpInterval(_) => {}
        }
    }

    /// NTP timestamp of now on this task's clock.
    fn ntp_now(&self) -> u64 {
        rtcp::ntp_from_unix(self.unix_at_epoch + self.epoch.elapsed())
    }

    /// The report interval randomised over [0.75, 1.25]·interval (§6.3.1
    /// randomises to avoid synchronised reports).
    fn next_interval(&mut self) -> Duration {
        let r = seed() % 1000;
        self.rtcp_interval.mul_f64(0.75 + r as f64 / 2000.0)
    }

    /// Where our RTCP goes: the peer's RTCP source once heard, else its SDP
    /// `a=rtcp`, else its RTP address with port + 1 (RFC 3550 §11).
    fn rtcp_dest(&self) -> Option<SocketAddr> {
        if let Some(a) = self.rtcp_latched {
            return Some(a);
        }
        if let Some(a) = self.shared.rtcp_remote.lock().ok().and_then(|g| *g) {
            return Some(a);
        }
        let rtp = self.shared.remote()?;
        Some(SocketAddr::new(rtp.ip(), rtp.port().checked_add(1)?))
    }

    /// Send a compound report (with BYE when `bye`) if we know where.
    fn send_report(&mut self, bye: bool) {
        let Some(to) = self.rtcp_dest() else { return };
        let tx = self.shared.tx_packets.load(Ordering::Relaxed);
        let sent = (tx != self.tx_at_report).then(|| SenderInfo {
            ntp: 0,
            rtp_ts: self.sender.timestamp(),
            packet_count: tx as u32,
            octet_count: self.shared.tx_octets.load(Ordering::Relaxed) as u32,
        });
        self.tx_at_report = tx;
        let now = self.ntp_now();
        let bytes = match self.shared.rx_stats.lock() {
            Ok(mut st) => self.rtcp.report(now, &mut st, self.source_ssrc, sent, bye),
            Err(_) => return,
        };
        let _ = self.shared.rtcp_socket.try_send_to(&bytes, to);
    }

    /// A datagram on the RTCP port (or RTCP multiplexed on the RTP port).
    fn on_rtcp(&mut self, data: &[u8], from: SocketAddr, own_port: bool) {
        let now = self.ntp_now();
        match self.rtcp.handle_packet(now, data) {
            Ok(rtt) => {
                // Latch only on the address the RTP comes from (or will).
                let same_host = self.shared.remote().is_none_or(|r| r.ip() == from.ip());
                if own_port && self.rtcp_latched.is_none() && same_host {
                    self.rtcp_latched = Some(from);
                }
                if let Some(ms) = rtt
                    && let Ok(mut st) = self.shared.rx_stats.lock()
                {
                    st.handle_rtt(ms);
                }
            }
            Err(e) => tracing::trace!(%from, "bad RTCP: {e}"),
        }
    }

    fn finish_play(&mut self, interrupted: bool) {
        if self.play.take().is_some() {
            self.shared.playing.store(false, Ordering::Relaxed);
            self.emit(MediaEvent::PromptFinished { interrupted });
        }
    }

    fn record(&self, side: Side, samples: &[i16]) {
        if let Some((rec, start, _)) = &self.recording
            && let Ok(mut r) = rec.lock()
        {
            r.push(side, start.elapsed(), samples);
        }
    }

    fn my_side(&self) -> Option<Side> {
        self.recording.as_ref().map(|(_, _, s)| *s)
    }

    fn on_tick(&mut self) {
        let Some(params) = self.shared.params() else {
            return;
        };
        if let Some(pkt) = self.dtmf_out.pop_front() {
            self.shared.send(&pkt);
            return;
        }
        let Some(play) = &mut self.play else { return };
        let end = (play.pos + FRAME_SAMPLES).min(play.samples.len());
        let mut frame = play.samples.get(play.pos..end).unwrap_or(&[]).to_vec();
        frame.resize(FRAME_SAMPLES, 0);
        play.pos = end;
        let mut done = play.pos >= play.samples.len();
        if done && play.looped && !play.samples.is_empty() {
            play.pos = 0;
            done = false;
        }
        if !self.shared.held.load(Ordering::Relaxed) {
            let payload = params.codec.encode(&frame);
            let pkt =
                self.sender
                    .audio(params.codec.payload_type(), &payload, FRAME_SAMPLES as u32);
            self.shared.send(&pkt);
        }
        if let Some(side) = self.my_side() {
            let other = match side {
                Side::Caller => Side::Agent,
                Side::Agent => Side::Caller,
            };
            self.record(other, &frame);
        }
        if done {
            self.finish_play(false);
        }
    }

    fn on_packet(&mut self, data: &[u8], from: SocketAddr) {
        if rtcp::is_rtcp(data) {
            return self.on_rtcp(data, from, false);
        }
        let Some(pkt) = rtp::parse(data) else { return };
        if !self.latched {
            if let Ok(mut g) = self.shared.remote.lock() {
                *g = Some(from);
            }
            self.latched = true;
        } else if self.shared.remote() != Some(from) {
            return;
        }
        self.shared.rx_packets.fetch_add(1, Ordering::Relaxed);
        let Some(params) = self.shared.params() else {
            return;
        };
        if Some(pkt.payload_type) == params.telephone_event {
            // RFC 4733 packets share the audio stream's sequence numbers: count
            // them as received so digits do not show up as lost audio (issue 13).
            if self.source_ssrc.is_none_or(|s| s == pkt.ssrc)
                && let Ok(mut st) = self.shared.rx_stats.lock()
            {
                st.handle_non_audio(pkt.seq);
            }
            for d in self.detector.handle_packet(pkt.timestamp, pkt.payload) {
                self.emit(MediaEvent::Dtmf {
                    digit: d.digit,
                    duration_ms: d.duration_ms,
                });
                if self.play.as_ref().is_some_and(|p| p.barge_in) {
                    self.finish_play(true);
                }
            }
            if let Some(peer) = &self.peer
                && let Some(pt) = peer.params().and_then(|p| p.telephone_event)
            {
                let out = rtp::build(
                    pkt.marker,
                    pt,
                    pkt.seq,
                    pkt.timestamp,
                    pkt.ssrc,
                    pkt.payload,
                );
                relay(peer, &out);
            }
            return;
        }
        let Some(codec) = Codec::from_payload_type(pkt.payload_type) else {
            return;
        };
        self.source_ssrc = Some(pkt.ssrc);
        if let Ok(mut st) = self.shared.rx_stats.lock() {
            let ticks = self.epoch.elapsed().as_micros() as u64 * 8 / 1000;
            st.handle_packet(pkt.seq, pkt.timestamp, ticks);
        }
        if let Some(side) = self.my_side() {
            let pcm = codec.decode(pkt.payload);
            self.record(side, &pcm);
        }
        if let Some(mix) = &self.mix {
            mix.forward(Instant::now(), pkt.payload);
            return;
        }
        if let Some(peer) = &self.peer {
            let Some(peer_params) = peer.params() else {
                return;
            };
            if peer_params.codec == codec {
                relay(peer, data);
            } else {
                let payload = codec.transcode(peer_params.codec, pkt.payload);
                let out = rtp::build(
                    pkt.marker,
                    peer_params.codec.payload_type(),
                    pkt.seq,
                    pkt.timestamp,
                    pkt.ssrc,
                    &payload,
                );
                relay(peer, &out);
            }
        }
    }
}

/// Send relayed audio to a bridged peer unless it is held or hearing a prompt.
fn relay(peer: &Shared, bytes: &[u8]) {
    if !peer.held.load(Ordering::Relaxed)
        && !peer.on_hold.load(Ordering::Relaxed)
        && !peer.playing.load(Ordering::Relaxed)
    {
        peer.send(bytes);
    }
}

pub(crate) mod conference;
#[cfg(test)]
mod tests;
