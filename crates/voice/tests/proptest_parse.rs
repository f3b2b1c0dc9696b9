//! Property tests over every entry point that reads bytes from the network:
//! none may panic, whatever the input (RFC 3261 §18.3: malformed input is
//! answered 400 or dropped).

use proptest::prelude::*;
use voice::sip::message::{Message, bad_request_reply, parse};

const VALID: &str = "INVITE sip:3900@127.0.0.1 SIP/2.0\r\n\
    Via: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bK1\r\n\
    From: <sip:+3361@127.0.0.2>;tag=1\r\nTo: <sip:3900@127.0.0.1>\r\n\
    Call-ID: abc\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\
    Content-Length: 79\r\n\r\n\
    v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";

fn mutate(base: &[u8], edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    let mut v = base.to_vec();
    for (pos, b) in edits {
        if !v.is_empty() {
            let i = pos % v.len();
            v[i] = *b;
        }
    }
    v.truncate(cut.min(v.len()));
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&data);
        let _ = bad_request_reply(&data, "x");
        let _ = voice::sdp::parse(&data);
        let _ = voice::rtp::parse(&data);
        let mut det = voice::rtp::DtmfDetector::new();
        let _ = det.handle_packet(0, &data);
    }

    #[test]
    fn mutated_messages_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..12),
        cut in 0usize..600,
    ) {
        let data = mutate(VALID.as_bytes(), &edits, cut);
        if let Ok(Message::Request(r)) = parse(&data) {
            let _ = voice::sdp::parse(&r.body);
            let _ = r.to_bytes();
        }
        let _ = bad_request_reply(&data, "x");
    }

    #[test]
    fn header_lines_of_any_text_never_panic(name in "[A-Za-z-]{1,12}", value in ".{0,80}") {
        let msg = VALID.replace("Content-Type: application/sdp", &format!("{name}: {value}"));
        let _ = parse(msg.as_bytes());
        let _ = voice::sip::digest::parse_credentials(&value);
    }
}

#[test]
fn the_unmutated_fixture_parses() {
    assert!(matches!(parse(VALID.as_bytes()), Ok(Message::Request(_))));
}
