//! The message entry point as fuzzing and property tests drive it: bytes in,
//! parsed, handled by a fresh stack (with an engine that answers every call),
//! and what the stack sent back out. See [`crate::fuzzing`].

use super::{Dest, Stack};
use crate::config::{TrunkConfig, VoiceConfig};
use crate::control::{CallEvent, Command};
use crate::registrar::MemoryDirectory;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// The trunk source of fed datagrams (an allowed trunk IP, so INVITEs reach
/// call handling rather than stopping at the toll-fraud check).
pub(crate) const SOURCE: ([u8; 4], u16) = ([127, 0, 0, 2], 5070);

/// Feed `datagrams` in order, 100 ms apart on a virtual clock, to a fresh
/// stack; answer every incoming call as the engine would; run the timers
/// between datagrams; shut down. Returns, per datagram, the messages the
/// stack sent in reply to it (timer output excluded).
pub(crate) fn feed(datagrams: &[&[u8]]) -> Vec<Vec<Vec<u8>>> {
    // The media legs of accepted calls need a runtime to bind their sockets;
    // their tasks never run and die with it.
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    rt.block_on(async { run(datagrams) })
}

fn run(datagrams: &[&[u8]]) -> Vec<Vec<Vec<u8>>> {
    let mut dids = HashMap::new();
    dids.insert("3900".to_string(), "ivr".to_string());
    let cfg = VoiceConfig {
        realm: "sb".into(),
        trunks: vec![TrunkConfig {
            name: "op".into(),
            allowed_ips: vec![SOURCE.0.into()],
            dids,
            outbound: None,
            caller_id: None,
            auth_user: None,
        }],
        qualify_interval: None,
        session_expires: Some(Duration::from_secs(90)),
        ..VoiceConfig::default()
    };
    let (ev_tx, mut events) = mpsc::channel(super::CALL_EVENTS);
    let (media_tx, _media_rx) = mpsc::channel(super::MEDIA_EVENTS);
    let t0 = Instant::now();
    let dir = Arc::new(MemoryDirectory::new([("2001", "pw")]));
    let local = SocketAddr::from(([127, 0, 0, 1], 5060));
    let mut stack = Stack::new(cfg, local, dir, ev_tx, media_tx, t0);
    let from = Dest::Udp(SocketAddr::from(SOURCE));
    let mut replies = Vec::with_capacity(datagrams.len());
    let mut now = t0;
    for d in datagrams {
        stack.on_datagram(now, from, d);
        replies.push(stack.out.drain(..).map(|(_, b)| b).collect());
        while let Ok(ev) = events.try_recv() {
            if let CallEvent::Incoming { leg, .. } = ev {
                let (tx, _rx) = oneshot::channel();
                stack.on_command(now, Command::Answer(leg, tx));
            }
        }
        now += Duration::from_millis(100);
        stack.on_tick(now);
        stack.out.clear();
    }
    stack.shutdown(now);
    replies
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::{Message, parse};
    use proptest::prelude::*;

    const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
                       m=audio 7000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

    fn request(method: &str, cseq: u32, extra: &str, body: &str) -> String {
        format!(
            "{method} sip:3900@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bK{method}{cseq}\r\n\
             From: <sip:+3361@127.0.0.2>;tag=c1\r\nTo: <sip:3900@127.0.0.1>\r\nCall-ID: fz\r\n\
             CSeq: {cseq} {method}\r\nContact: <sip:+3361@127.0.0.2:5070>\r\n{extra}\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    /// A whole dialog: INVITE, ACK, UPDATE, re-INVITE, INFO, UPDATE with an
    /// offer, re-INVITE without SDP and its ACK with the answer, BYE.
    fn dialog() -> Vec<String> {
        let sdp_hdr = "Content-Type: application/sdp\r\n";
        vec![
            request(
                "INVITE",
                1,
                &format!("Supported: timer\r\nSession-Expires: 120;refresher=uac\r\n{sdp_hdr}"),
                SDP,
            ),
            request("ACK", 1, "", ""),
            request("UPDATE", 2, "Session-Expires: 120;refresher=uac\r\n", ""),
            request(
                "INVITE",
                3,
                sdp_hdr,
                &SDP.replace("0 101", "0 101\r\na=sendonly"),
            ),
            request(
                "INFO",
                4,
                "Content-Type: application/dtmf-relay\r\n",
                "Signal=5\r\n",
            ),
            request("UPDATE", 5, sdp_hdr, SDP),
            request("INVITE", 6, "", ""),
            request("ACK", 6, sdp_hdr, SDP),
            request("BYE", 7, "", ""),
        ]
    }

    /// A datagram that does not parse gets one 400 (with routable Vias) or
    /// nothing; replies to messages that parse parse themselves.
    fn check(inputs: &[Vec<u8>], replies: &[Vec<Vec<u8>>]) -> Result<(), TestCaseError> {
        for (input, out) in inputs.iter().zip(replies) {
            if parse(input).is_err() {
                prop_assert!(out.len() <= 1, "one answer at most to a bad message");
                if let Some(b) = out.first() {
                    let text = String::from_utf8_lossy(b);
                    prop_assert!(
                        text.starts_with("SIP/2.0 400 ") || text.starts_with("SIP/2.0 505 "),
                        "a bad message gets 400 (505 for another SIP version): {text:?}"
                    );
                    let vias: Vec<&str> = text
                        .split("\r\n")
                        .filter(|l| {
                            l.to_ascii_lowercase().starts_with("via:") || l.starts_with("v:")
                        })
                        .collect();
                    prop_assert!(
                        !vias.is_empty() && vias.iter().all(|l| crate::sip::message::usable_via(l)),
                        "routable: {text:?}"
                    );
                }
            } else {
                for bytes in out {
                    prop_assert!(
                        parse(bytes).is_ok(),
                        "our output parses: {:?}",
                        String::from_utf8_lossy(bytes)
                    );
                }
            }
        }
        Ok(())
    }

    fn feed_owned(inputs: &[Vec<u8>]) -> Vec<Vec<Vec<u8>>> {
        let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
        feed(&refs)
    }

    #[test]
    fn the_unmutated_dialog_is_answered_throughout() {
        let inputs: Vec<Vec<u8>> = dialog().into_iter().map(String::into_bytes).collect();
        let replies = feed_owned(&inputs);
        let status = |i: usize| -> Vec<u16> {
            replies[i]
                .iter()
                .filter_map(|b| match parse(b) {
                    Ok(Message::Response(r)) => Some(r.status),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(status(0), vec![100, 180], "INVITE");
        assert!(status(1).is_empty(), "ACK");
        assert_eq!(status(2), vec![200], "UPDATE refresh");
        assert_eq!(status(3), vec![200], "re-INVITE");
        assert_eq!(status(4), vec![200], "INFO");
        assert_eq!(status(5), vec![200], "UPDATE with an offer");
        assert_eq!(status(6), vec![200], "re-INVITE without SDP");
        assert!(replies[7].is_empty(), "ACK with the answer");
        assert_eq!(status(8), vec![200], "BYE");
        assert!(check(&inputs, &replies).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn arbitrary_datagrams_never_panic_the_stack(
            inputs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..1200), 1..4)
        ) {
            let replies = feed_owned(&inputs);
            check(&inputs, &replies)?;
        }

        #[test]
        fn a_dialog_with_one_mangled_message_never_panics_the_stack(
            which in 0usize..9,
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..10),
            cut in 0usize..900,
            drop_line in proptest::option::of(0usize..12),
        ) {
            let mut inputs: Vec<Vec<u8>> = dialog().into_iter().map(String::into_bytes).collect();
            let target = &mut inputs[which];
            if let Some(n) = drop_line {
                let text = String::from_utf8_lossy(target).to_string();
                let kept: Vec<&str> = text.split("\r\n").enumerate().filter(|(i, _)| *i != n).map(|(_, l)| l).collect();
                *target = kept.join("\r\n").into_bytes();
            }
            for (pos, b) in &edits {
                if !target.is_empty() {
                    let i = pos % target.len();
                    target[i] = *b;
                }
            }
            target.truncate(cut.max(1).min(target.len()));
            let replies = feed_owned(&inputs);
            check(&inputs, &replies)?;
        }
    }
}
