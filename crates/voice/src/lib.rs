//! voice
pub mod registrar;
pub mod sip;
