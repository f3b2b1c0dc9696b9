//! SIP signalling pieces that do no I/O: messages (wrapping rsipstack's parser)
//! and digest authentication.

pub mod digest;
pub mod message;
