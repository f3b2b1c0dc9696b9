//! Issue 13, load shedding on the running stack: above
//! `VoiceConfig::max_calls_in_setup` a new INVITE gets 503 with Retry-After,
//! and `VoiceHandle::calls_in_setup` reports the count the limit is held to.

mod common;

use common::{TRUNK_IP, WAIT, start_stack_with, wait_for};
use std::net::SocketAddr;
use tokio::net::UdpSocket;
use voice::{CallControl, CallEvent, VoiceConfig};

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";

fn invite(call_id: &str) -> String {
    format!(
        "INVITE sip:3900@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5999;branch=z9hG4bK{call_id}\r\n\
         From: <sip:+3361@127.0.0.2>;tag=f1\r\nTo: <sip:3900@127.0.0.1>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContact: <sip:+3361@127.0.0.2:5999>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
}

async fn first_answer(sock: &UdpSocket, to: SocketAddr, msg: &str) -> String {
    sock.send_to(msg.as_bytes(), to).await.expect("send");
    let mut buf = vec![0u8; 65536];
    let (n, _) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
        .await
        .expect("an answer in time")
        .expect("recv");
    String::from_utf8_lossy(&buf[..n]).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_over_the_setup_limit_gets_503_and_the_count_is_exposed() {
    let (handle, mut events) = start_stack_with(|c: &mut VoiceConfig| {
        c.max_calls_in_setup = Some(1);
    })
    .await;
    let to = handle.local_addr();
    let sock = UdpSocket::bind((std::net::IpAddr::from(TRUNK_IP), 0))
        .await
        .expect("bind");
    assert_eq!(handle.calls_in_setup(), 0);
    let r = first_answer(&sock, to, &invite("ov-1")).await;
    assert!(r.starts_with("SIP/2.0 100"), "{r}");
    let CallEvent::Incoming { leg, .. } =
        wait_for(&mut events, |e| matches!(e, CallEvent::Incoming { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(handle.calls_in_setup(), 1);
    // The 180 of the first call, then the second INVITE's 503.
    let mut buf = vec![0u8; 65536];
    let (n, _) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
        .await
        .expect("180 in time")
        .expect("recv");
    assert!(buf[..n].starts_with(b"SIP/2.0 180"));
    let r = first_answer(&sock, to, &invite("ov-2")).await;
    assert!(r.starts_with("SIP/2.0 503 Service Unavailable\r\n"), "{r}");
    assert!(r.contains("Retry-After: 2\r\n"), "{r}");
    assert!(r.contains("Call-ID: ov-2\r\n"), "{r}");
    // Answered: out of setup; the next call is taken.
    handle.answer(leg).await.expect("answer");
    assert_eq!(handle.calls_in_setup(), 0);
    sock.send_to(invite("ov-3").as_bytes(), to)
        .await
        .expect("send");
    // Skip the first call's 200 retransmissions: the answer to ov-3 is 100.
    loop {
        let (n, _) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
            .await
            .expect("an answer in time")
            .expect("recv");
        let r = String::from_utf8_lossy(&buf[..n]).to_string();
        if r.contains("Call-ID: ov-3\r\n") {
            assert!(r.starts_with("SIP/2.0 100"), "{r}");
            break;
        }
    }
    assert_eq!(handle.calls_in_setup(), 1);
    handle.shutdown().await;
}
