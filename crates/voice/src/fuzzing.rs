//! The SIP message entry point for fuzzers (feature `fuzzing`): raw datagrams
//! into a fresh stack, its replies out. The `cargo fuzz` target in
//! `crates/voice/fuzz/` and the property tests of the stack drive the same
//! function.
//!
//! ```
//! let replies = voice::fuzzing::feed(&[b"OPTIONS sip:x SIP/2.0\r\n\r\n"]);
//! // Missing Via/From/To/Call-ID/CSeq: a 400 or nothing, never a panic.
//! assert!(replies[0].iter().all(|r| r.starts_with(b"SIP/2.0 400")));
//! ```

/// Feed `datagrams` in order (100 ms apart on a virtual clock) from a trunk
/// address to a fresh stack that answers every incoming call, running its
/// timers between datagrams. Returns, per datagram, the SIP messages the stack
/// sent in reply. Never panics on any input (that is what is fuzzed).
pub fn feed(datagrams: &[&[u8]]) -> Vec<Vec<Vec<u8>>> {
    crate::stack::fuzz::feed(datagrams)
}
