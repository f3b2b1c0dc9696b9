//! The conference mixer core: parties, routes, per-source arrival buffers, the
//! 20 ms clock, mixing and the recording tap. See the crate docs for how to
//! drive it.

use crate::g711::{Codec, FRAME_SAMPLES, Frame, Pcm};
use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

/// Length of one mixer tick (one G.711 frame, RFC 3551 §4.5 default ptime).
pub const TICK: Duration = Duration::from_millis(20);

/// RTP timestamp units in one tick (8 kHz clock × 20 ms).
pub const TICK_SAMPLES: u32 = FRAME_SAMPLES as u32;

/// At most this many overdue ticks are mixed when [`Mixer::handle_timeout`]
/// is called late (60 ms of audio); older overdue ticks are skipped.
pub const MAX_CATCH_UP: u64 = 3;

/// Tap frames kept for [`Mixer::poll_tap`] (320 ms); the oldest is dropped
/// when the shell falls further behind.
pub const TAP_QUEUE: usize = 16;

/// A party of the mix (one call leg), chosen by the shell. Unique per mixer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartyId(pub u32);

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "party {}", self.0)
    }
}

/// A route's linear gain, fixed point with 8 fractional bits (256 = 0 dB).
/// At most +12 dB (1024) so the i32 sum of [`MixerConfig::max_parties`]
/// full-scale sources cannot overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gain(u16);

impl Gain {
    /// 0 dB: the source is heard as sent.
    pub const UNITY: Gain = Gain(256);
    /// Silence: a route with this gain is removed.
    pub const MUTE: Gain = Gain(0);
    /// Largest gain, +12 dB.
    pub const MAX: Gain = Gain(1024);

    /// From Q8 fixed point (256 = 0 dB), capped at [`Gain::MAX`].
    pub const fn from_q8(q8: u16) -> Gain {
        Gain(if q8 > 1024 { 1024 } else { q8 })
    }

    /// From decibels, capped at +12 dB; NaN and −∞ give [`Gain::MUTE`].
    pub fn from_db(db: f32) -> Gain {
        let q = (256.0 * 10f32.powf(db / 20.0)).round();
        if q.is_nan() || q <= 0.0 {
            Gain::MUTE
        } else {
            Gain::from_q8(q.min(1024.0) as u16)
        }
    }

    /// Q8 value (256 = 0 dB).
    pub const fn q8(self) -> u16 {
        self.0
    }
}

/// "`listener` hears `source` at `gain`". A route from a party to itself is
/// refused (mix-minus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// Whose audio.
    pub source: PartyId,
    /// Who hears it.
    pub listener: PartyId,
    /// At what level.
    pub gain: Gain,
}

impl Route {
    /// A 0 dB route.
    pub const fn unity(source: PartyId, listener: PartyId) -> Route {
        Route {
            source,
            listener,
            gain: Gain::UNITY,
        }
    }
}

/// What goes into each channel of the call's stereo recording: left is the
/// caller (customer) side, right the contact-center side (agent, and the
/// supervisor when heard by the agent or the caller). Same layout as the
/// voice crate's recordings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tap {
    /// Sources summed into the left channel.
    pub left: Vec<(PartyId, Gain)>,
    /// Sources summed into the right channel.
    pub right: Vec<(PartyId, Gain)>,
}

/// Sizing of a mixer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixerConfig {
    /// Most parties at once (default 8; at most 32).
    pub max_parties: usize,
    /// Frames held per source between ticks (default 3 = 60 ms, 1..=8). A
    /// frame arriving when it is full pushes out the oldest (latency stays
    /// bounded at `jitter_depth` × 20 ms; counted in
    /// [`MixerStats::overflow_drops`]).
    pub jitter_depth: usize,
}

impl Default for MixerConfig {
    fn default() -> Self {
        MixerConfig {
            max_parties: 8,
            jitter_depth: 3,
        }
    }
}

/// Refusals of the mixer (nothing is changed when one is returned).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MixerError {
    /// `join` of a party already in the mix.
    #[error("{0} already joined the mix")]
    AlreadyJoined(PartyId),
    /// A party that is not (or no longer) in the mix.
    #[error("{0} is not in the mix")]
    UnknownParty(PartyId),
    /// `join` beyond [`MixerConfig::max_parties`].
    #[error("the mix is full ({0} parties)")]
    Full(usize),
    /// A route from a party to itself (mix-minus: nobody hears themselves).
    #[error("{0} cannot hear itself (mix-minus)")]
    SelfRoute(PartyId),
    /// A payload that is not one 20 ms G.711 frame.
    #[error("frame of {len} bytes from {party}: expected 160 (20 ms of G.711 at 8 kHz)")]
    FrameSize {
        /// Sender.
        party: PartyId,
        /// Payload length in bytes.
        len: usize,
    },
    /// A mode needing a supervisor got none, or two roles are the same party.
    #[error("mode {0:?} needs distinct caller, agent and supervisor parties")]
    Roles(crate::modes::Mode),
}

/// One packet for a listener, produced by a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Who to send it to.
    pub listener: PartyId,
    /// The listener's codec (RTP payload type [`Codec::payload_type`]).
    pub codec: Codec,
    /// 20 ms of G.711 in `codec`.
    pub payload: Frame,
    /// RTP timestamp of this packet minus that of the previous packet the
    /// mixer gave this listener, in 8 kHz units: 160 back to back, 160 × k
    /// after k − 1 ticks with nothing to send (RFC 3550 §5.1); 160 for the
    /// first packet.
    pub ts_increment: u32,
    /// First packet after a gap (or the first one): the RTP marker bit of a
    /// talkspurt start (RFC 3551 §4.1).
    pub marker: bool,
    /// The source's packet relayed byte for byte (one source at 0 dB in the
    /// listener's codec): no decode/encode happened.
    pub verbatim: bool,
    /// Parties whose audio is in this packet (never `listener`), in id
    /// order; usable as the RTP CSRC list (RFC 3550 §5.1).
    pub contributors: Vec<PartyId>,
    /// Tick that made it (deadline = start + tick × 20 ms).
    pub tick: u64,
}

/// 20 ms of the stereo recording tap, produced every tick while a tap is set
/// (silence included, so the recording stays on the mixer's timeline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapFrame {
    /// Tick that made it.
    pub tick: u64,
    /// Left channel: caller side.
    pub left: Pcm,
    /// Right channel: contact-center side.
    pub right: Pcm,
}

/// Counters since the mixer started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MixerStats {
    /// Ticks mixed.
    pub ticks: u64,
    /// Overdue ticks skipped (more than [`MAX_CATCH_UP`] behind).
    pub skipped_ticks: u64,
    /// Frames accepted by [`Mixer::handle_frame`].
    pub frames_in: u64,
    /// Frames pushed out of a full arrival buffer.
    pub overflow_drops: u64,
    /// Outputs dropped because the shell did not poll them in time.
    pub dropped_outputs: u64,
    /// Tap frames dropped because the shell did not poll them in time.
    pub dropped_tap_frames: u64,
}

#[derive(Debug)]
struct Party {
    id: PartyId,
    codec: Codec,
    /// Arrival buffer, oldest first, at most `jitter_depth` frames.
    buffer: VecDeque<Frame>,
    /// This tick's frame (popped from `buffer`) and its decoding.
    frame: Option<Frame>,
    pcm: Pcm,
    /// Tick of the last output to this party.
    last_out: Option<u64>,
}

/// A conference mixer for one call. See the crate documentation.
#[derive(Debug)]
pub struct Mixer {
    config: MixerConfig,
    start: Instant,
    /// Number of the last tick mixed or skipped (0: none yet).
    tick: u64,
    /// Sorted by id.
    parties: Vec<Party>,
    routes: Vec<Route>,
    tap: Option<Tap>,
    mode: Option<(crate::modes::Roles, crate::modes::Mode)>,
    outputs: VecDeque<Output>,
    taps: VecDeque<TapFrame>,
    stats: MixerStats,
}

impl Mixer {
    /// A mixer whose ticks fall at `start + n × 20 ms` (n = 1, 2, ...).
    pub fn new(start: Instant, config: MixerConfig) -> Mixer {
        let config = MixerConfig {
            max_parties: config.max_parties.clamp(1, 32),
            jitter_depth: config.jitter_depth.clamp(1, 8),
        };
        Mixer {
            config,
            start,
            tick: 0,
            parties: Vec::new(),
            routes: Vec::new(),
            tap: None,
            mode: None,
            outputs: VecDeque::new(),
            taps: VecDeque::new(),
            stats: MixerStats::default(),
        }
    }

    fn index(&self, id: PartyId) -> Result<usize, MixerError> {
        self.parties
            .binary_search_by_key(&id, |p| p.id)
            .map_err(|_| MixerError::UnknownParty(id))
    }

    /// Add a party speaking `codec`. It hears nobody and nobody hears it
    /// until routes say so. Errors: [`MixerError::AlreadyJoined`],
    /// [`MixerError::Full`].
    pub fn join(&mut self, party: PartyId, codec: Codec) -> Result<(), MixerError> {
        let at = match self.parties.binary_search_by_key(&party, |p| p.id) {
            Ok(_) => return Err(MixerError::AlreadyJoined(party)),
            Err(at) => at,
        };
        if self.parties.len() >= self.config.max_parties {
            return Err(MixerError::Full(self.config.max_parties));
        }
        self.parties.insert(
            at,
            Party {
                id: party,
                codec,
                buffer: VecDeque::with_capacity(self.config.jitter_depth),
                frame: None,
                pcm: [0; FRAME_SAMPLES],
                last_out: None,
            },
        );
        Ok(())
    }

    /// Remove a party with its routes, tap entries, buffered frames and
    /// queued outputs. The mode (if any) is forgotten when the party had a
    /// role in it. Errors: [`MixerError::UnknownParty`].
    pub fn leave(&mut self, party: PartyId) -> Result<(), MixerError> {
        let i = self.index(party)?;
        self.parties.remove(i);
        self.routes
            .retain(|r| r.source != party && r.listener != party);
        if let Some(tap) = self.tap.as_mut() {
            tap.left.retain(|(p, _)| *p != party);
            tap.right.retain(|(p, _)| *p != party);
        }
        self.outputs.retain(|o| o.listener != party);
        if self.mode.is_some_and(|(roles, _)| roles.has(party)) {
            self.mode = None;
        }
        Ok(())
    }

    /// Change a party's codec (after a re-INVITE); its buffered frames are
    /// dropped. Errors: [`MixerError::UnknownParty`].
    pub fn set_codec(&mut self, party: PartyId, codec: Codec) -> Result<(), MixerError> {
        let i = self.index(party)?;
        let p = &mut self.parties[i];
        if p.codec != codec {
            p.codec = codec;
            p.buffer.clear();
        }
        Ok(())
    }

    /// Parties in the mix, in id order, with their codecs.
    pub fn parties(&self) -> impl Iterator<Item = (PartyId, Codec)> + '_ {
        self.parties.iter().map(|p| (p.id, p.codec))
    }

    /// Set one route ([`Gain::MUTE`] removes it). Takes effect at the next
    /// tick. Errors: [`MixerError::SelfRoute`], [`MixerError::UnknownParty`].
    pub fn set_route(&mut self, route: Route) -> Result<(), MixerError> {
        self.check_route(&route)?;
        self.routes
            .retain(|r| (r.source, r.listener) != (route.source, route.listener));
        if route.gain != Gain::MUTE {
            self.routes.push(route);
        }
        self.mode = None;
        Ok(())
    }

    /// Replace every route at once (later duplicates of a pair win). Takes
    /// effect at the next tick. Errors as [`Mixer::set_route`]; on error
    /// nothing changes.
    pub fn set_routes(&mut self, routes: &[Route]) -> Result<(), MixerError> {
        for r in routes {
            self.check_route(r)?;
        }
        self.routes.clear();
        for r in routes {
            self.routes
                .retain(|o| (o.source, o.listener) != (r.source, r.listener));
            if r.gain != Gain::MUTE {
                self.routes.push(*r);
            }
        }
        self.mode = None;
        Ok(())
    }

    fn check_route(&self, r: &Route) -> Result<(), MixerError> {
        if r.source == r.listener {
            return Err(MixerError::SelfRoute(r.source));
        }
        self.index(r.source)?;
        self.index(r.listener)?;
        Ok(())
    }

    /// Current routes (unordered).
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Apply a supervision mode's routes ([`crate::Mode::preset`]) and, when
    /// a tap is set, its tap. Takes effect at the next tick: the switch costs
    /// at most one 20 ms frame, with no renegotiation. Errors:
    /// [`MixerError::Roles`], [`MixerError::UnknownParty`] (every role in the
    /// preset must have joined).
    pub fn set_mode(
        &mut self,
        roles: crate::modes::Roles,
        mode: crate::modes::Mode,
    ) -> Result<(), MixerError> {
        let preset = mode.preset(roles)?;
        self.set_routes(&preset.routes)?;
        if self.tap.is_some() {
            self.tap = Some(preset.tap);
        }
        self.mode = Some((roles, mode));
        Ok(())
    }

    /// The mode last applied, unless routes were changed by hand since or a
    /// party of it left.
    pub fn mode(&self) -> Option<(crate::modes::Roles, crate::modes::Mode)> {
        self.mode
    }

    /// Start (`Some`), change or stop (`None`) the stereo recording tap.
    /// While a tap is set, [`Mixer::set_mode`] replaces it with the mode's.
    /// Errors: [`MixerError::UnknownParty`].
    pub fn set_tap(&mut self, tap: Option<Tap>) -> Result<(), MixerError> {
        if let Some(t) = &tap {
            for (p, _) in t.left.iter().chain(&t.right) {
                self.index(*p)?;
            }
        }
        self.tap = tap;
        Ok(())
    }

    /// The current tap.
    pub fn tap(&self) -> Option<&Tap> {
        self.tap.as_ref()
    }

    /// `Some((a, b))` when exactly two parties are in the mix, each hears the
    /// other at 0 dB and nothing else is routed: the shell may relay their
    /// packets directly (as without a mixer; transcoding only if their codecs
    /// differ) and stop feeding this mixer.
    pub fn passthrough(&self) -> Option<(PartyId, PartyId)> {
        let [a, b] = self.parties.as_slice() else {
            return None;
        };
        let unity = |s: PartyId, l: PartyId| {
            self.routes
                .iter()
                .any(|r| r.source == s && r.listener == l && r.gain == Gain::UNITY)
        };
        (self.routes.len() == 2 && unity(a.id, b.id) && unity(b.id, a.id)).then_some((a.id, b.id))
    }

    /// A 20 ms G.711 payload received from `party` at `now`, in arrival
    /// order. Overdue ticks are run first, so a frame never lands in a tick
    /// that was due before it arrived. Errors: [`MixerError::UnknownParty`],
    /// [`MixerError::FrameSize`] (the frame is not taken).
    pub fn handle_frame(
        &mut self,
        now: Instant,
        party: PartyId,
        payload: &[u8],
    ) -> Result<(), MixerError> {
        let i = self.index(party)?;
        let frame: Frame = payload.try_into().map_err(|_| MixerError::FrameSize {
            party,
            len: payload.len(),
        })?;
        self.handle_timeout(now);
        let depth = self.config.jitter_depth;
        let p = &mut self.parties[i];
        if p.buffer.len() >= depth {
            p.buffer.pop_front();
            self.stats.overflow_drops += 1;
        }
        p.buffer.push_back(frame);
        self.stats.frames_in += 1;
        Ok(())
    }

    /// Deadline of the next tick: `start + (n + 1) × 20 ms`, absolute (a late
    /// call never shifts later deadlines).
    pub fn poll_timeout(&self) -> Instant {
        self.deadline(self.tick + 1)
    }

    fn deadline(&self, tick: u64) -> Instant {
        self.start + Duration::from_micros(tick.saturating_mul(20_000))
    }

    /// Number of the last tick mixed or skipped: after
    /// `handle_timeout(now)` it is exactly ⌊(now − start) / 20 ms⌋.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// Run every tick whose deadline is ≤ `now`. Catch-up rule: when more
    /// than [`MAX_CATCH_UP`] ticks are overdue, the older ones are skipped
    /// (counted, no output; buffered audio stays for the ticks that run) and
    /// the last [`MAX_CATCH_UP`] are mixed; the next packet's
    /// [`Output::ts_increment`] covers the skipped time.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(elapsed) = now.checked_duration_since(self.start) else {
            return;
        };
        let due = (elapsed.as_micros() / 20_000) as u64;
        if due <= self.tick {
            return;
        }
        if due - self.tick > MAX_CATCH_UP {
            self.stats.skipped_ticks += due - self.tick - MAX_CATCH_UP;
            self.tick = due - MAX_CATCH_UP;
        }
        while self.tick < due {
            self.tick += 1;
            self.mix(self.tick);
        }
    }

    /// Next packet to send, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Next 20 ms of the recording tap, oldest first.
    pub fn poll_tap(&mut self) -> Option<TapFrame> {
        self.taps.pop_front()
    }

    /// Counters.
    pub fn stats(&self) -> MixerStats {
        self.stats
    }

    /// One tick: take one frame per source, mix per listener, feed the tap.
    fn mix(&mut self, tick: u64) {
        self.stats.ticks += 1;
        for p in &mut self.parties {
            p.frame = p.buffer.pop_front();
            if let Some(f) = &p.frame {
                p.codec.decode(f, &mut p.pcm);
            }
        }
        let out_cap = self.config.max_parties * (MAX_CATCH_UP as usize + 1);
        for li in 0..self.parties.len() {
            let listener = &self.parties[li];
            let mut contributors: Vec<(usize, Gain)> = self
                .routes
                .iter()
                .filter(|r| r.listener == listener.id && r.source != listener.id)
                .filter_map(|r| {
                    let si = self.index(r.source).ok()?;
                    self.parties[si].frame.as_ref()?;
                    Some((si, r.gain))
                })
                .collect();
            if contributors.is_empty() {
                continue;
            }
            contributors.sort_unstable_by_key(|(si, _)| *si);
            let (payload, verbatim) = match contributors.as_slice() {
                [(si, g)] if *g == Gain::UNITY && self.parties[*si].codec == listener.codec => {
                    match self.parties[*si].frame {
                        Some(f) => (f, true),
                        None => continue,
                    }
                }
                _ => {
                    let mut acc = [0i32; FRAME_SAMPLES];
                    for (si, g) in &contributors {
                        add(&mut acc, &self.parties[*si].pcm, *g);
                    }
                    let mut pcm = [0i16; FRAME_SAMPLES];
                    clamp(&acc, &mut pcm);
                    let mut f = [0u8; FRAME_SAMPLES];
                    listener.codec.encode(&pcm, &mut f);
                    (f, false)
                }
            };
            let (ts_increment, marker) = match listener.last_out {
                Some(t) => (((tick - t) as u32).wrapping_mul(TICK_SAMPLES), tick - t > 1),
                None => (TICK_SAMPLES, true),
            };
            let out = Output {
                listener: listener.id,
                codec: listener.codec,
                payload,
                ts_increment,
                marker,
                verbatim,
                contributors: contributors
                    .iter()
                    .map(|(si, _)| self.parties[*si].id)
                    .collect(),
                tick,
            };
            self.parties[li].last_out = Some(tick);
            if self.outputs.len() >= out_cap {
                self.outputs.pop_front();
                self.stats.dropped_outputs += 1;
            }
            self.outputs.push_back(out);
        }
        if let Some(tap) = &self.tap {
            let channel = |sources: &[(PartyId, Gain)]| {
                let mut acc = [0i32; FRAME_SAMPLES];
                for (id, g) in sources {
                    if let Ok(si) = self.index(*id)
                        && self.parties[si].frame.is_some()
                    {
                        add(&mut acc, &self.parties[si].pcm, *g);
                    }
                }
                let mut pcm = [0i16; FRAME_SAMPLES];
                clamp(&acc, &mut pcm);
                pcm
            };
            let frame = TapFrame {
                tick,
                left: channel(&tap.left),
                right: channel(&tap.right),
            };
            if self.taps.len() >= TAP_QUEUE {
                self.taps.pop_front();
                self.stats.dropped_tap_frames += 1;
            }
            self.taps.push_back(frame);
        }
    }
}

/// `acc += pcm × gain` in i32 (no clamping here: one clamp at the end).
fn add(acc: &mut [i32; FRAME_SAMPLES], pcm: &Pcm, gain: Gain) {
    if gain == Gain::UNITY {
        for (a, s) in acc.iter_mut().zip(pcm) {
            *a += i32::from(*s);
        }
    } else {
        let g = i32::from(gain.q8());
        for (a, s) in acc.iter_mut().zip(pcm) {
            *a += (i32::from(*s) * g) >> 8;
        }
    }
}

/// The one clamp of the mix, to the i16 range.
fn clamp(acc: &[i32; FRAME_SAMPLES], out: &mut Pcm) {
    for (o, a) in out.iter_mut().zip(acc) {
        *o = (*a).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
    }
}
