//! libFuzzer target: datagrams (split on `00 'S' 'B' 00`, at most 8) fed to a
//! fresh voice stack through `voice::fuzzing::feed`. A panic anywhere is a
//! finding; so is a malformed datagram answered with anything but one 400.
#![no_main]

use libfuzzer_sys::fuzz_target;

const SEPARATOR: &[u8] = b"\0SB\0";

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() < 7 {
        match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + SEPARATOR.len()..];
            }
            None => break,
        }
    }
    out.push(rest);
    out
}

fuzz_target!(|data: &[u8]| {
    let datagrams = split(data);
    let replies = voice::fuzzing::feed(&datagrams);
    for (input, out) in datagrams.iter().zip(&replies) {
        if voice::sip::message::parse(input).is_err() {
            assert!(out.len() <= 1, "one answer at most to a bad message");
            if let Some(reply) = out.first() {
                assert!(reply.starts_with(b"SIP/2.0 400 "), "a bad message gets 400");
            }
        }
    }
});
