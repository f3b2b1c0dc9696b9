//! The telephony shell of Switchboard: a SIP registrar for agent phones, SIP
//! trunks, a B2BUA, and RTP media anchored at the platform (prompts, RFC 4733
//! DTMF, stereo recording, bridging with PCMU↔PCMA transcoding).
//!
//! It knows nothing of call-center logic: no queues, agents' states, IVR flows
//! or customers. The engine drives it through the [`CallControl`] trait and
//! reads [`CallEvent`]s; credentials come from the engine's [`Directory`].
//! Interactions, domain events and the store are the engine's business.
//!
//! The protocol pieces are sans-I/O and take `now` (the registrar, digest
//! auth, SDP, RTP/DTMF, the recorder); the tokio shell around them is thin.
//! Driving the registrar core by hand:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use voice::registrar::{MemoryDirectory, Registrar, RegistrarConfig};
//! use voice::sip::digest::{Algorithm, ClientSecret, DigestAuth, client_response};
//! use voice::sip::message::{Message, parse};
//!
//! let t0 = Instant::now();
//! let auth = DigestAuth::new("sb", "nonce-key", vec![Algorithm::Md5]);
//! let mut reg = Registrar::new(RegistrarConfig::default(), auth, t0);
//! let dir = MemoryDirectory::new([("2001", "secret")]);
//! let src = "10.0.0.7:5062".parse().unwrap();
//! let register = |auth: Option<String>| {
//!     let mut m = String::from(
//!         "REGISTER sip:sb SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.7:5062;branch=z9hG4bK1\r\n\
//!          From: <sip:2001@sb>;tag=a\r\nTo: <sip:2001@sb>\r\nCall-ID: c1\r\n\
//!          CSeq: 1 REGISTER\r\nContact: <sip:2001@10.0.0.7:5062>\r\n",
//!     );
//!     if let Some(a) = auth {
//!         m.push_str(&format!("Authorization: {a}\r\n"));
//!     }
//!     m.push_str("Content-Length: 0\r\n\r\n");
//!     match parse(m.as_bytes()) {
//!         Ok(Message::Request(r)) => r,
//!         _ => unreachable!(),
//!     }
//! };
//! // No credentials: 401 with a challenge.
//! let (resp, _) = reg.handle_register(t0, src, &register(None), &dir, "tag1");
//! assert_eq!(resp.status, 401);
//! let challenge = resp.headers.get("WWW-Authenticate").unwrap();
//! let nonce = challenge.split("nonce=\"").nth(1).unwrap().split('"').next().unwrap();
//! // Answer it: 200, and the binding lives until its expiry.
//! let who = ClientSecret { alg: Algorithm::Md5, user: "2001", realm: "sb", password: "secret" };
//! let authz = client_response(&who, "REGISTER", "sip:sb", nonce, "cnonce");
//! let now = t0 + Duration::from_secs(1);
//! let (resp, _) = reg.handle_register(now, src, &register(Some(authz)), &dir, "tag2");
//! assert_eq!(resp.status, 200);
//! assert_eq!(reg.contacts(now, "2001").len(), 1);
//! assert!(reg.contacts(now + Duration::from_secs(3601), "2001").is_empty());
//! ```
//!
//! Running the whole shell (what the engine does):
//!
//! ```no_run
//! use std::{sync::Arc, time::Duration};
//! use voice::{CallControl, CallEvent, MemoryDirectory, VoiceConfig};
//!
//! # async fn run() -> Result<(), voice::VoiceError> {
//! let dir = Arc::new(MemoryDirectory::new([("2001", "secret")]));
//! let (calls, mut events) = voice::start(VoiceConfig::default(), dir).await?;
//! while let Some(ev) = events.recv().await {
//!     if let CallEvent::Incoming { leg, .. } = ev {
//!         calls.answer(leg).await?;
//!         let agent = calls.originate("2001".into(), "+3361".into(), Duration::from_secs(20)).await?;
//!         // ... on CallEvent::Answered { leg: agent }:
//!         calls.bridge(leg, agent).await?;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`sip`]: SIP messages (our types over the pinned `rsipstack` parser) and
//!   digest authentication.
//! - [`registrar`]: REGISTER handling, bindings, auth-failure limits per
//!   account and per source address.
//! - [`sdp`]: offer/answer for one audio stream.
//! - [`codec`], [`rtp`], [`rtcp`], [`audio`]: G.711, RTP and RFC 4733, RTCP
//!   reports (RFC 3550 §6), WAV prompts and
//!   the stereo recorder.
//! - [`media`]: one RTP socket and task per leg (latching, relay, play, record).
//! - [`quality`]: loss, jitter and an E-model MOS per received stream.
//! - `stack` (private): transports, transactions, legs, the B2BUA.
//! - [`control`]: the [`CallControl`] trait, [`CallEvent`]s, [`VoiceHandle`].
//! - [`config`]: [`VoiceConfig`] and [`TrunkConfig`].
//! - `fuzzing` (feature `fuzzing`): the message entry point for fuzzers.
#![warn(missing_docs)]

pub mod audio;
mod bounded;
pub mod codec;
pub mod config;
pub mod control;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod media;
pub mod prompt_cache;
pub mod quality;
pub mod registrar;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod sip;
mod stack;

pub use config::{TcpLimits, TrunkConfig, VoiceConfig};
pub use control::{
    CallControl, CallEvent, CallEvents, CollectEnd, Collected, HangupCause, LegId, SupervisionMode,
    VoiceError, VoiceHandle,
};
pub use registrar::{Directory, MemoryDirectory, RegistrarConfig, SavedBinding};
pub use stack::{SavedDialog, start};
