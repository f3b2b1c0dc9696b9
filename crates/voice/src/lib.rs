//! voice
pub mod audio;
pub mod codec;
pub mod registrar;
pub mod rtp;
pub mod sdp;
pub mod sip;
