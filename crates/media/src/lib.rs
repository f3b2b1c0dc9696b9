//! Switchboard's conference mixer: the audio core of supervision (listen,
//! whisper, barge, take over; SPEC §4.2) and of agent conferences.
//!
//! One [`Mixer`] per call. Parties (legs, named by [`PartyId`]) join with
//! their G.711 codec; the shell hands each received 20 ms payload to
//! [`Mixer::handle_frame`]. The mixer runs on its own 20 ms clock with
//! absolute deadlines (`start + n × 20 ms`, [`Mixer::poll_timeout`] /
//! [`Mixer::handle_timeout`]), never on packet arrival, so a silent party does
//! not stall anyone and the tick count never drifts. At each tick it takes at
//! most one frame per source from a small arrival buffer (3 frames by
//! default; overflow pushes out the oldest), decodes G.711 to linear PCM, and
//! for each listener sums in i32 the sources routed to it (per-(source,
//! listener) [`Route`]s with a [`Gain`]), clamps once and re-encodes in the
//! listener's codec. Nobody ever hears themselves (mix-minus: a self route is
//! refused). A listener with a single 0 dB source in its own codec gets that
//! source's packet byte for byte ([`Output::verbatim`]), so in Listen and
//! Whisper the caller receives exactly what the agent sent. The packets come
//! out of [`Mixer::poll_output`]; a stereo recording [`Tap`] (caller left,
//! contact-center side right) out of [`Mixer::poll_tap`].
//!
//! Supervision modes are route presets ([`Mode::preset`], [`Mixer::set_mode`]);
//! switching is a route change applied at the next tick (≤ 20 ms, no
//! renegotiation). [`Mixer::passthrough`] tells the shell when only two
//! parties hear each other plainly, so it can go back to relaying packets.
//!
//! # Driving it from the voice shell (not wired yet)
//!
//! - One mixer per supervised call, owned by one tokio task (the call's
//!   "conference task"), created when a supervisor joins. Its loop:
//!   `select!` on a bounded channel of [`handle_frame`](Mixer::handle_frame)
//!   inputs from the legs' tasks, on a command channel (join, leave,
//!   [`set_mode`](Mixer::set_mode), [`set_tap`](Mixer::set_tap)), and on
//!   `sleep_until(poll_timeout())` → [`handle_timeout`](Mixer::handle_timeout);
//!   after each, drain [`poll_output`](Mixer::poll_output) (send through the
//!   listener leg's socket with its own RTP sequence/SSRC, timestamp +=
//!   [`Output::ts_increment`], marker from [`Output::marker`]) and
//!   [`poll_tap`](Mixer::poll_tap) (to the call's recorder).
//! - Each leg's task, instead of relaying to a bridged peer, forwards the
//!   payload of every audio RTP packet (its negotiated PCMU/PCMA payload
//!   type; RFC 4733 events stay with the leg's DTMF detector) with its
//!   arrival time, in arrival order.
//! - The engine chooses the mode (supervisor page, or DTMF 4/5/6 via
//!   [`Mode::from_dtmf`]); the shell applies it as [`Mixer::set_mode`].
//!   When the supervisor leaves, `set_mode(.., Mode::Direct)` and
//!   [`Mixer::passthrough`] returns the pair: the shell drops the mixer and
//!   bridges the two legs again.
//!
//! It must not know about SIP, SDP, RTP headers, sockets, tasks or the
//! engine's interactions: the voice shell owns the legs and the RTP streams,
//! the engine decides the mode. It is a state machine: the clock is an input.
//!
//! ```
//! use media::{Codec, Mixer, MixerConfig, Mode, PartyId, Roles};
//! use std::time::{Duration, Instant};
//!
//! let t0 = Instant::now();
//! let mut mix = Mixer::new(t0, MixerConfig::default());
//! let (caller, agent, supervisor) = (PartyId(1), PartyId(2), PartyId(3));
//! mix.join(caller, Codec::Pcmu).unwrap();
//! mix.join(agent, Codec::Pcma).unwrap();
//! let roles = Roles { caller, agent, supervisor: None };
//! mix.set_mode(roles, Mode::Direct).unwrap();
//! // Two parties, plain routes: the shell relays packets itself.
//! assert_eq!(mix.passthrough(), Some((caller, agent)));
//!
//! // The supervisor joins and listens (DTMF 4 on its phone).
//! mix.join(supervisor, Codec::Pcmu).unwrap();
//! let roles = Roles { supervisor: Some(supervisor), ..roles };
//! mix.set_mode(roles, Mode::from_dtmf('4').unwrap()).unwrap();
//! assert_eq!(mix.passthrough(), None);
//!
//! // The shell's loop: frames in as they arrive, a timer on poll_timeout().
//! let now = t0 + Duration::from_millis(5);
//! mix.handle_frame(now, caller, &[0xFF; 160]).unwrap(); // µ-law silence
//! mix.handle_frame(now, agent, &[0xD5; 160]).unwrap(); // A-law silence
//! assert_eq!(mix.poll_timeout(), t0 + Duration::from_millis(20));
//! mix.handle_timeout(mix.poll_timeout());
//! let mut heard = Vec::new();
//! while let Some(out) = mix.poll_output() {
//!     // send out.payload to out.listener: RTP payload type
//!     // out.codec.payload_type(), timestamp += out.ts_increment.
//!     heard.push((out.listener, out.contributors));
//! }
//! heard.sort();
//! assert_eq!(heard, vec![
//!     (caller, vec![agent]),
//!     (agent, vec![caller]),
//!     (supervisor, vec![caller, agent]),
//! ]);
//! ```

mod g711;
mod mixer;
mod modes;

pub use g711::{Codec, FRAME_SAMPLES, Frame, Pcm};
pub use mixer::{
    Gain, MAX_CATCH_UP, Mixer, MixerConfig, MixerError, MixerStats, Output, PartyId, Route,
    TAP_QUEUE, TICK, TICK_SAMPLES, Tap, TapFrame,
};
pub use modes::{Mode, Preset, Roles};
