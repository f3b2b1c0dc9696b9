//! voice
pub mod audio;
pub mod codec;
pub mod config;
pub mod control;
pub mod media;
pub mod registrar;
pub mod rtp;
pub mod sdp;
pub mod sip;
mod stack;

pub use config::{TrunkConfig, VoiceConfig};
pub use control::{
    CallControl, CallEvent, CallEvents, CollectEnd, Collected, HangupCause, LegId, VoiceError,
    VoiceHandle,
};
pub use registrar::{Directory, MemoryDirectory};
pub use stack::start;
