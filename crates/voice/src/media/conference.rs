//! A supervised call's conference task: one [`media::Mixer`] per call, driven
//! as the `media` crate describes (bounded channels in, its own 20 ms clock
//! with absolute deadlines, packets out through each listener's socket).
//!
//! The legs' tasks stop relaying to each other and forward the payload of
//! every 20 ms G.711 packet they receive ([`MixFrame`]) instead; the task
//! sends each listener its mix with its own RTP stream (SSRC, sequence,
//! timestamp advanced by [`media::Output::ts_increment`]).

use super::{Shared, relay};
use crate::codec::Codec;
use crate::rtp::RtpSender;
use media::{Mixer, MixerConfig, Mode, PartyId, Roles};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// Frames waiting for the conference task: 64 = 0.4 s of three parties.
/// Overflow policy: the leg drops the newest frame (`try_send`), counted in
/// the `conference_frames_dropped` metric; the mixer's own arrival buffer
/// already bounds latency at 60 ms, so a backlog here is already stale.
pub const FRAME_QUEUE: usize = 64;

/// Commands waiting for the conference task. The stack uses `try_send`; a
/// full queue is reported to the caller as an error (nothing is lost
/// silently).
pub const COMMAND_QUEUE: usize = 16;

/// One received 20 ms payload of a leg, forwarded to its call's mixer.
#[derive(Debug)]
pub struct MixFrame {
    /// The sending leg's party.
    pub party: PartyId,
    /// When it arrived.
    pub at: Instant,
    /// 160 bytes of G.711.
    pub payload: media::Frame,
}

/// Where a leg's task forwards its audio while its call is mixed.
#[derive(Debug, Clone)]
pub struct MixLink {
    /// The leg's party in the mix.
    pub party: PartyId,
    /// The conference task's frame queue ([`FRAME_QUEUE`]).
    pub frames: mpsc::Sender<MixFrame>,
}

impl MixLink {
    /// Forward one received audio payload; anything but one 20 ms frame, and
    /// frames beyond a full queue, are dropped (see [`FRAME_QUEUE`]).
    pub(super) fn forward(&self, at: Instant, payload: &[u8]) {
        let Ok(payload) = media::Frame::try_from(payload) else {
            tracing::trace!(len = payload.len(), "not a 20 ms frame: not mixed");
            return;
        };
        if self
            .frames
            .try_send(MixFrame {
                party: self.party,
                at,
                payload,
            })
            .is_err()
        {
            metrics::counter!("conference_frames_dropped").increment(1);
        }
    }
}

enum Cmd {
    Mode(Roles, Mode),
    Stop,
}

/// The stack's handle on a call's conference task.
#[derive(Debug, Clone)]
pub struct Conference {
    frames: mpsc::Sender<MixFrame>,
    cmds: mpsc::Sender<Cmd>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("conference command")
    }
}

/// A party joining the mix: its id, the codec it receives, and the leg's
/// shared state (socket, hold flags) its mix is sent through.
pub struct Member {
    /// Its party id.
    pub party: PartyId,
    /// Its negotiated G.711 codec.
    pub codec: Codec,
    /// Its leg.
    pub leg: super::MediaLeg,
}

/// Why a conference could not start.
#[derive(Debug, thiserror::Error)]
#[error("conference refused: {0}")]
pub struct ConferenceError(#[from] media::MixerError);

impl Conference {
    /// Start the task with `members` in `mode` (roles from `roles`).
    /// Errors: the mixer refused a party or the mode.
    pub fn start(
        now: Instant,
        members: Vec<Member>,
        roles: Roles,
        mode: Mode,
    ) -> Result<Conference, ConferenceError> {
        let mut mixer = Mixer::new(now, MixerConfig::default());
        let mut outs = HashMap::new();
        for m in members {
            mixer.join(m.party, to_media(m.codec))?;
            let seed = super::seed();
            let sender = RtpSender::new(seed as u32, (seed >> 32) as u16, (seed >> 48) as u32);
            outs.insert(m.party, (m.leg.shared.clone(), sender));
        }
        mixer.set_mode(roles, mode)?;
        let (frames, frames_rx) = mpsc::channel(FRAME_QUEUE);
        let (cmds, cmds_rx) = mpsc::channel(COMMAND_QUEUE);
        tokio::spawn(run(mixer, outs, frames_rx, cmds_rx));
        Ok(Conference { frames, cmds })
    }

    /// The link a member's leg task forwards its audio through.
    pub fn link(&self, party: PartyId) -> MixLink {
        MixLink {
            party,
            frames: self.frames.clone(),
        }
    }

    /// Switch mode at the next tick (no renegotiation). Errors: the task's
    /// command queue is full or the task ended.
    pub fn set_mode(&self, roles: Roles, mode: Mode) -> Result<(), &'static str> {
        self.cmds
            .try_send(Cmd::Mode(roles, mode))
            .map_err(|_| "conference busy or ended")
    }

    /// End the task (the legs must be unlinked by the caller).
    pub fn stop(&self) {
        if self.cmds.try_send(Cmd::Stop).is_err() {
            tracing::debug!("conference task already gone or busy; it ends with its links");
        }
    }
}

pub(super) fn to_media(c: Codec) -> media::Codec {
    match c {
        Codec::Pcmu => media::Codec::Pcmu,
        Codec::Pcma => media::Codec::Pcma,
    }
}

type Outs = HashMap<PartyId, (Arc<Shared>, RtpSender)>;

async fn run(
    mut mixer: Mixer,
    mut outs: Outs,
    mut frames: mpsc::Receiver<MixFrame>,
    mut cmds: mpsc::Receiver<Cmd>,
) {
    loop {
        let deadline = tokio::time::Instant::from_std(mixer.poll_timeout());
        tokio::select! {
            f = frames.recv() => match f {
                Some(f) => {
                    if let Err(e) = mixer.handle_frame(f.at, f.party, &f.payload) {
                        tracing::trace!("frame not mixed: {e}");
                    }
                }
                None => break,
            },
            c = cmds.recv() => match c {
                Some(Cmd::Mode(roles, mode)) => {
                    if let Err(e) = mixer.set_mode(roles, mode) {
                        tracing::warn!("supervision mode refused: {e}");
                    }
                }
                None | Some(Cmd::Stop) => break,
            },
            () = tokio::time::sleep_until(deadline) => {
                mixer.handle_timeout(Instant::now());
            }
        }
        send_outputs(&mut mixer, &mut outs);
    }
    tracing::debug!(stats = ?mixer.stats(), "conference task ends");
}

fn send_outputs(mixer: &mut Mixer, outs: &mut Outs) {
    while let Some(out) = mixer.poll_output() {
        let Some((shared, sender)) = outs.get_mut(&out.listener) else {
            continue;
        };
        // The previous packet's timestamp plus the increment: RtpSender
        // advances after building, so skip the gap first.
        sender.skip(out.ts_increment.saturating_sub(media::TICK_SAMPLES));
        let pkt = sender.audio_marked(
            out.marker,
            out.codec.payload_type(),
            &out.payload,
            media::TICK_SAMPLES,
        );
        relay(shared, &pkt);
    }
    // No recorder is fed from the tap yet: the legs keep recording what they
    // receive (the caller's and the agent's channels).
    while mixer.poll_tap().is_some() {}
}
