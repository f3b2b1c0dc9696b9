//! Media anchored at the platform: one UDP RTP socket and one task per leg.
//!
//! A leg's task latches on the first RTP source it hears (symmetric RTP, RFC
//! 4961 style, for NAT), detects RFC 4733 DTMF, plays prompts paced at 20 ms,
//! sends DTMF, feeds a recording, and relays audio to a bridged peer leg
//! (transcoding PCMU↔PCMA only when the two legs differ).

use crate::audio::{Recorder, Side};
use crate::codec::{Codec, FRAME_SAMPLES};
use crate::quality::{MediaQuality, ReceiveStats};
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
    remote: Mutex<Option<SocketAddr>>,
    params: Mutex<SendParams>,
    /// The far end asked for no media (it sent sendonly/inactive).
    held: AtomicBool,
    /// We put the far end on hold: it hears prompts/music, not its peer.
    on_hold: AtomicBool,
    playing: AtomicBool,
    rx_packets: AtomicU64,
    tx_packets: AtomicU64,
    rx_stats: Mutex<ReceiveStats>,
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
    Stop,
}

/// The stack's handle on one leg's media task.
#[derive(Debug, Clone)]
pub struct MediaLeg {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Cmd>,
}

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
        events: mpsc::UnboundedSender<(T, MediaEvent)>,
    ) -> std::io::Result<MediaLeg> {
        MediaLeg::start_in(ip, None, params, tag, events)
    }

    /// Like [`MediaLeg::start`], binding an even port of `ports` when given
    /// (firewall-friendly ranges; odd ports stay free for RTCP). Errors:
    /// `AddrInUse` when every even port of the range is taken.
    pub fn start_in<T: Copy + Send + 'static>(
        ip: std::net::IpAddr,
        ports: Option<std::ops::RangeInclusive<u16>>,
        params: SendParams,
        tag: T,
        events: mpsc::UnboundedSender<(T, MediaEvent)>,
    ) -> std::io::Result<MediaLeg> {
        let std_sock = match ports {
            None => std::net::UdpSocket::bind((ip, 0))?,
            Some(range) => bind_in_range(ip, range)?,
        };
        std_sock.set_nonblocking(true)?;
        let socket = Arc::new(UdpSocket::from_std(std_sock)?);
        let shared = Arc::new(Shared {
            socket,
            remote: Mutex::new(None),
            params: Mutex::new(params),
            held: AtomicBool::new(false),
            on_hold: AtomicBool::new(false),
            playing: AtomicBool::new(false),
            rx_packets: AtomicU64::new(0),
            tx_packets: AtomicU64::new(0),
            rx_stats: Mutex::new(ReceiveStats::new()),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let seed = seed();
        let task = LegTask {
            shared: shared.clone(),
            rx,
            events,
            tag,
            peer: None,
            play: None,
            dtmf_out: VecDeque::new(),
            sender: RtpSender::new(seed as u32, (seed >> 32) as u16, (seed >> 48) as u32),
            detector: DtmfDetector::new(),
            recording: None,
            latched: false,
            epoch: Instant::now(),
        };
        tokio::spawn(task.run());
        Ok(MediaLeg { shared, tx })
    }

    /// Local RTP address (for our SDP).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.shared.socket.local_addr()
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

    /// Play 8 kHz samples; a DTMF digit stops it when `barge_in`; `looped`
    /// restarts it at the end until stopped (music on hold).
    pub fn play(&self, samples: Arc<Vec<i16>>, barge_in: bool, looped: bool) {
        let _ = self.tx.send(Cmd::Play {
            samples,
            barge_in,
            looped,
        });
    }

    /// Stop the current prompt (a `PromptFinished { interrupted: true }` follows).
    pub fn stop_play(&self) {
        let _ = self.tx.send(Cmd::StopPlay);
    }

    /// Queue RFC 4733 digits to send.
    pub fn send_dtmf(&self, digits: &str) {
        let _ = self.tx.send(Cmd::Dtmf(digits.to_string()));
    }

    /// Start (Some) or stop (None) feeding a recording.
    pub fn record(&self, rec: Option<(Arc<Mutex<Recorder>>, Instant, Side)>) {
        let _ = self.tx.send(Cmd::Record(rec));
    }

    /// Relay this leg's received audio to `peer` (or stop relaying).
    pub fn bridge(&self, peer: Option<&MediaLeg>) {
        let _ = self.tx.send(Cmd::Bridge(peer.map(|p| p.shared.clone())));
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
        let _ = self.tx.send(Cmd::Stop);
    }
}

/// Bind the first free even port of `range`, starting at a random one.
fn bind_in_range(
    ip: std::net::IpAddr,
    range: std::ops::RangeInclusive<u16>,
) -> std::io::Result<std::net::UdpSocket> {
    let lo = range.start().saturating_add(range.start() % 2);
    let hi = *range.end();
    if lo > hi {
        return Err(std::io::ErrorKind::InvalidInput.into());
    }
    let slots = u64::from((hi - lo) / 2 + 1);
    let first = seed() % slots;
    for k in 0..slots {
        let port = lo + (((first + k) % slots) * 2) as u16;
        if let Ok(s) = std::net::UdpSocket::bind((ip, port)) {
            return Ok(s);
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
    rx: mpsc::UnboundedReceiver<Cmd>,
    events: mpsc::UnboundedSender<(T, MediaEvent)>,
    tag: T,
    peer: Option<Arc<Shared>>,
    play: Option<Playback>,
    dtmf_out: VecDeque<Vec<u8>>,
    sender: RtpSender,
    detector: DtmfDetector,
    recording: Option<(Arc<Mutex<Recorder>>, Instant, Side)>,
    latched: bool,
    epoch: Instant,
}

impl<T: Copy + Send + 'static> LegTask<T> {
    async fn run(mut self) {
        // The 20 ms pacing timer only runs while there is something to send
        // (a prompt or DTMF): a bridged leg just relays on packet arrival.
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let socket = self.shared.socket.clone();
        let mut buf = vec![0u8; 2048];
        loop {
            let sending = self.play.is_some() || !self.dtmf_out.is_empty();
            tokio::select! {
                r = socket.recv_from(&mut buf) => {
                    if let Ok((n, from)) = r {
                        self.on_packet(&buf[..n], from);
                    }
                }
                cmd = self.rx.recv() => match cmd {
                    None | Some(Cmd::Stop) => break,
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
        let _ = self.events.send((self.tag, ev));
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
            Cmd::Stop => {}
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
        if let Ok(mut st) = self.shared.rx_stats.lock() {
            let ticks = self.epoch.elapsed().as_micros() as u64 * 8 / 1000;
            st.handle_packet(pkt.seq, pkt.timestamp, ticks);
        }
        if let Some(side) = self.my_side() {
            let pcm = codec.decode(pkt.payload);
            self.record(side, &pcm);
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn next(rx: &mut mpsc::UnboundedReceiver<(u8, MediaEvent)>) -> MediaEvent {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some((_, e))) => e,
            other => panic!("no media event: {other:?}"),
        }
    }

    #[tokio::test]
    async fn rtp_ports_come_from_the_configured_range_until_it_is_full() {
        let ip = std::net::IpAddr::from([127, 0, 0, 1]);
        let (etx, _erx) = mpsc::unbounded_channel();
        let p = SendParams {
            codec: Codec::Pcmu,
            telephone_event: None,
        };
        // Find 6 free consecutive ports to make a range of 3 even slots.
        let base = loop {
            let probe = std::net::UdpSocket::bind((ip, 0)).expect("probe");
            let b = probe.local_addr().expect("addr").port() & !1;
            drop(probe);
            if b < 65000 && (0..6).all(|i| std::net::UdpSocket::bind((ip, b + i)).is_ok()) {
                break b;
            }
        };
        let range = base..=base + 5;
        let legs: Vec<MediaLeg> = (0..3)
            .map(|i| MediaLeg::start_in(ip, Some(range.clone()), p, i, etx.clone()).expect("leg"))
            .collect();
        let mut ports: Vec<u16> = legs
            .iter()
            .map(|l| l.local_addr().expect("addr").port())
            .collect();
        ports.sort_unstable();
        assert_eq!(ports, vec![base, base + 2, base + 4]);
        let full = MediaLeg::start_in(ip, Some(range), p, 9, etx);
        assert_eq!(
            full.map(|_| ()).map_err(|e| e.kind()),
            Err(std::io::ErrorKind::AddrInUse)
        );
    }

    #[tokio::test]
    async fn looped_prompt_keeps_playing_and_a_single_one_ends() {
        let ip = std::net::IpAddr::from([127, 0, 0, 1]);
        let (etx, mut erx) = mpsc::unbounded_channel();
        let p = SendParams {
            codec: Codec::Pcmu,
            telephone_event: None,
        };
        let leg = MediaLeg::start(ip, p, 1u8, etx).expect("leg");
        let phone = UdpSocket::bind((ip, 0)).await.expect("bind");
        leg.set_remote(phone.local_addr().expect("addr"), p);
        leg.set_on_hold(true); // music on hold still reaches a held leg
        let one_frame = Arc::new(vec![1000i16; FRAME_SAMPLES]);
        leg.play(one_frame.clone(), false, false);
        assert_eq!(
            next(&mut erx).await,
            MediaEvent::PromptFinished { interrupted: false }
        );
        leg.play(one_frame, false, true);
        let mut buf = [0u8; 2048];
        let mut seqs = Vec::new();
        while seqs.len() < 4 {
            let (n, _) = tokio::time::timeout(Duration::from_secs(10), phone.recv_from(&mut buf))
                .await
                .expect("packet in time")
                .expect("recv");
            seqs.push(rtp::parse(&buf[..n]).expect("rtp").seq);
        }
        assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
        leg.stop_play();
        assert_eq!(
            next(&mut erx).await,
            MediaEvent::PromptFinished { interrupted: true }
        );
    }

    #[tokio::test]
    async fn bridge_transcodes_and_detects_dtmf() {
        let ip = std::net::IpAddr::from([127, 0, 0, 1]);
        let (etx, mut erx) = mpsc::unbounded_channel();
        let pcma = SendParams {
            codec: Codec::Pcma,
            telephone_event: Some(101),
        };
        let pcmu = SendParams {
            codec: Codec::Pcmu,
            telephone_event: Some(96),
        };
        let a = MediaLeg::start(ip, pcma, 1u8, etx.clone()).expect("leg a");
        let b = MediaLeg::start(ip, pcmu, 2u8, etx).expect("leg b");
        let phone_a = UdpSocket::bind((ip, 0)).await.expect("bind");
        let phone_b = UdpSocket::bind((ip, 0)).await.expect("bind");
        a.set_remote(phone_a.local_addr().expect("addr"), pcma);
        b.set_remote(phone_b.local_addr().expect("addr"), pcmu);
        a.bridge(Some(&b));
        b.bridge(Some(&a));
        let a_addr = a.local_addr().expect("addr");
        // Round-trip a command so the bridge is installed before we send.
        a.send_dtmf("");
        let mut tx = RtpSender::new(7, 0, 0);
        let tone: Vec<i16> = (0..160)
            .map(|i| ((i as f32 * 0.2).sin() * 6000.0) as i16)
            .collect();
        let alaw = Codec::Pcma.encode(&tone);
        let mut buf = [0u8; 2048];
        // Retry until the bridge command has been applied by the task.
        let got = loop {
            phone_a
                .send_to(&tx.audio(8, &alaw, 160), a_addr)
                .await
                .expect("send");
            match tokio::time::timeout(Duration::from_millis(200), phone_b.recv_from(&mut buf))
                .await
            {
                Ok(Ok((n, _))) => break buf[..n].to_vec(),
                _ => continue,
            }
        };
        let p = rtp::parse(&got).expect("rtp");
        assert_eq!(p.payload_type, 0, "relayed as PCMU");
        assert_eq!(
            p.payload,
            Codec::Pcma.transcode(Codec::Pcmu, &alaw).as_slice()
        );
        for pkt in tx.dtmf(101, '5', 60).expect("digit") {
            phone_a.send_to(&pkt, a_addr).await.expect("send");
        }
        assert_eq!(
            next(&mut erx).await,
            MediaEvent::Dtmf {
                digit: '5',
                duration_ms: 60
            }
        );
        assert!(a.stats().rx_packets >= 2);
        assert!(b.stats().tx_packets >= 1);
    }
}
