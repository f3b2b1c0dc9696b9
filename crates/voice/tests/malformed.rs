//! Bad input against the running stack over UDP and TCP: malformed SIP gets
//! 400 or is dropped, unknown methods 501, unusable SDP 488/400, and the stack
//! keeps serving afterwards.

mod common;

use common::{TRUNK_IP, WAIT, start_stack};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

fn request(method: &str, extra: &str, body: &str) -> String {
    format!(
        "{method} sip:3900@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5999;branch=z9hG4bK{method}\r\n\
         From: <sip:+3361@127.0.0.2>;tag=f1\r\nTo: <sip:3900@127.0.0.1>\r\nCall-ID: {method}-{}\r\n\
         CSeq: 1 {method}\r\nMax-Forwards: 70\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len(),
        body.len()
    )
}

async fn exchange(sock: &UdpSocket, to: SocketAddr, msg: &[u8]) -> String {
    sock.send_to(msg, to).await.expect("send");
    let mut buf = vec![0u8; 65536];
    let (n, _) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
        .await
        .expect("a response in time")
        .expect("recv");
    String::from_utf8_lossy(&buf[..n]).to_string()
}

fn status(resp: &str) -> &str {
    resp.split_whitespace().nth(1).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sip_is_answered_or_dropped_and_the_stack_survives() {
    let (handle, _events) = start_stack().await;
    let to = handle.local_addr();
    let sock = UdpSocket::bind((std::net::IpAddr::from(TRUNK_IP), 0))
        .await
        .expect("bind");

    // Garbage and an oversized datagram are dropped: the next answer is OPTIONS'.
    sock.send_to(b"\x00\xffnot sip at all\r\n\r\n", to)
        .await
        .expect("send");
    sock.send_to(&vec![b'A'; 20_000], to).await.expect("send");
    let r = exchange(&sock, to, request("OPTIONS", "", "").as_bytes()).await;
    assert_eq!(status(&r), "200", "{r}");
    assert!(r.contains("Allow:"));

    let no_call_id = request("OPTIONS", "", "").replace("Call-ID: OPTIONS-", "X-Nothing: ");
    let r = exchange(&sock, to, no_call_id.as_bytes()).await;
    assert_eq!(status(&r), "400", "{r}");

    let short_body = request("OPTIONS", "", "").replace("Content-Length: 0", "Content-Length: 500");
    let r = exchange(&sock, to, short_body.as_bytes()).await;
    assert_eq!(status(&r), "400", "{r}");

    let r = exchange(&sock, to, request("FROBNICATE", "", "").as_bytes()).await;
    assert_eq!(status(&r), "501", "{r}");

    let sdp = "application/sdp";
    let broken = request(
        "INVITE",
        &format!("Content-Type: {sdp}\r\n"),
        "v=0\r\nc=IN IP4 nowhere\r\n",
    );
    let r = exchange(&sock, to, broken.as_bytes()).await;
    assert_eq!(status(&r), "400", "{r}");

    let g729 = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 18\r\n";
    let r = exchange(
        &sock,
        to,
        request("INVITE", &format!("Content-Type: {sdp}\r\n"), g729)
            .replace("INVITE-", "INVITE2-")
            .as_bytes(),
    )
    .await;
    assert_eq!(status(&r), "488", "{r}");

    // Unknown DID on a trunk.
    let pcmu = g729.replace("RTP/AVP 18", "RTP/AVP 0");
    let r = exchange(
        &sock,
        to,
        request("INVITE", &format!("Content-Type: {sdp}\r\n"), &pcmu)
            .replace("sip:3900@127.0.0.1 SIP", "sip:4000@127.0.0.1 SIP")
            .replace("INVITE-", "INVITE3-")
            .as_bytes(),
    )
    .await;
    assert_eq!(status(&r), "404", "{r}");

    // Still alive.
    let r = exchange(&sock, to, request("OPTIONS", "", "").as_bytes()).await;
    assert_eq!(status(&r), "200", "{r}");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_transport_frames_by_content_length() {
    let (handle, _events) = start_stack().await;
    let mut tcp = TcpStream::connect(handle.local_addr())
        .await
        .expect("connect");
    // Two messages in one write, the second split across writes.
    let reg = request(
        "REGISTER",
        "Contact: <sip:2001@127.0.0.1:5999;transport=tcp>\r\n",
        "",
    )
    .replace("3900@", "2001@")
    .replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    let opts = request("OPTIONS", "", "").replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    let mut bytes = opts.clone().into_bytes();
    bytes.extend_from_slice(&reg.as_bytes()[..40]);
    tcp.write_all(&bytes).await.expect("write");
    tcp.write_all(&reg.as_bytes()[40..]).await.expect("write");
    let mut got = String::new();
    let mut buf = vec![0u8; 8192];
    while got.matches("SIP/2.0 ").count() < 2 {
        let n = tokio::time::timeout(WAIT, tcp.read(&mut buf))
            .await
            .expect("responses in time")
            .expect("read");
        assert!(n > 0, "connection closed early: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(got.starts_with("SIP/2.0 200 OK"), "{got}");
    let second = got.split("SIP/2.0 ").nth(2).unwrap_or("");
    assert!(second.starts_with("401"), "REGISTER is challenged: {got}");
    assert!(second.contains("WWW-Authenticate: Digest realm=\"switchboard.test\""));
    handle.shutdown().await;
}

/// Read one SIP message from a TCP stream (framed by Content-Length).
async fn read_sip(tcp: &mut TcpStream, pending: &mut Vec<u8>) -> String {
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).to_string();
            let cl: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if pending.len() >= end + 4 + cl {
                let msg: Vec<u8> = pending.drain(..end + 4 + cl).collect();
                return String::from_utf8_lossy(&msg).to_string();
            }
        }
        let mut buf = vec![0u8; 8192];
        let n = tokio::time::timeout(WAIT, tcp.read(&mut buf))
            .await
            .expect("data in time")
            .expect("read");
        assert!(n > 0, "connection closed");
        pending.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_registered_over_tcp_is_called_on_its_connection() {
    use voice::sip::digest::{Algorithm, ClientSecret, client_response};
    use voice::{CallControl, CallEvent};
    let (handle, mut events) = start_stack().await;
    let server = handle.local_addr();
    let mut tcp = TcpStream::connect(server).await.expect("connect");
    let local = tcp.local_addr().expect("addr");
    let reg = |cseq: u32, auth: &str| {
        format!(
            "REGISTER sip:{server} SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bKt{cseq}\r\n\
             From: <sip:2001@{server}>;tag=t\r\nTo: <sip:2001@{server}>\r\nCall-ID: tcp-reg\r\n\
             CSeq: {cseq} REGISTER\r\nContact: <sip:2001@{local};transport=tcp>\r\n{auth}\
             Content-Length: 0\r\n\r\n"
        )
    };
    let mut pending = Vec::new();
    tcp.write_all(reg(1, "").as_bytes()).await.expect("write");
    let chal = read_sip(&mut tcp, &mut pending).await;
    let nonce = chal
        .split("nonce=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("nonce");
    let who = ClientSecret {
        alg: Algorithm::Md5,
        user: "2001",
        realm: "switchboard.test",
        password: "agentpw",
    };
    let authz = client_response(&who, "REGISTER", &format!("sip:{server}"), nonce, "c");
    let msg = reg(2, &format!("Authorization: {authz}\r\n"));
    tcp.write_all(msg.as_bytes()).await.expect("write");
    assert!(
        read_sip(&mut tcp, &mut pending)
            .await
            .starts_with("SIP/2.0 200")
    );
    assert!(matches!(
        common::next_event(&mut events).await,
        CallEvent::Registration(_)
    ));
    handle
        .originate("2001".into(), "x".into(), std::time::Duration::from_secs(5))
        .await
        .expect("originate");
    let invite = read_sip(&mut tcp, &mut pending).await;
    assert!(invite.starts_with("INVITE sip:2001@"), "{invite}");
    assert!(invite.contains("Via: SIP/2.0/TCP"), "{invite}");
    handle.shutdown().await;
}

/// Issue 13: a request in another SIP version gets 505 and a method made of
/// legal token characters gets 501 (not 400), on UDP and on TCP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_versions_get_505_and_token_methods_501_on_udp_and_tcp() {
    let (handle, _events) = start_stack().await;
    let to = handle.local_addr();
    let sock = UdpSocket::bind((std::net::IpAddr::from(TRUNK_IP), 0))
        .await
        .expect("bind");
    let v7 = request("INVITE", "", "").replace("SIP/2.0\r\nVia", "SIP/7.0\r\nVia");
    let odd = request("NEWMETHOD.-~%!", "", "");
    let r = exchange(&sock, to, v7.as_bytes()).await;
    assert_eq!(status(&r), "505", "{r}");
    assert!(r.contains("Call-ID: INVITE-"), "{r}");
    let r = exchange(&sock, to, odd.as_bytes()).await;
    assert_eq!(status(&r), "501", "{r}");
    assert!(r.contains("Allow:"), "{r}");

    let mut tcp = TcpStream::connect(to).await.expect("connect");
    let mut pending = Vec::new();
    tcp.write_all(v7.replace("SIP/2.0/UDP", "SIP/2.0/TCP").as_bytes())
        .await
        .expect("write");
    let r = read_sip(&mut tcp, &mut pending).await;
    assert_eq!(status(&r), "505", "{r}");
    tcp.write_all(odd.replace("SIP/2.0/UDP", "SIP/2.0/TCP").as_bytes())
        .await
        .expect("write");
    let r = read_sip(&mut tcp, &mut pending).await;
    assert_eq!(status(&r), "501", "{r}");
    // Still serving.
    let r = exchange(&sock, to, request("OPTIONS", "", "").as_bytes()).await;
    assert_eq!(status(&r), "200", "{r}");
}

/// Issue 13: duplicate single-value headers get 400; a negative or conflicting
/// Content-Length gets 400 on UDP and closes the TCP connection without the
/// bytes after the head being run as a second request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_headers_and_bad_content_length_are_refused() {
    let (handle, _events) = start_stack().await;
    let to = handle.local_addr();
    let sock = UdpSocket::bind((std::net::IpAddr::from(TRUNK_IP), 0))
        .await
        .expect("bind");
    let base = request("OPTIONS", "", "");
    for (name, line) in [
        ("Call-ID", "Call-ID: other\r\n"),
        ("From", "From: <sip:x@127.0.0.2>;tag=zz\r\n"),
        ("To", "To: <sip:y@127.0.0.1>\r\n"),
        ("CSeq", "CSeq: 2 OPTIONS\r\n"),
        ("Max-Forwards", "Max-Forwards: 10\r\n"),
    ] {
        let dup = base.replace("Content-Length", &format!("{line}Content-Length"));
        let r = exchange(&sock, to, dup.as_bytes()).await;
        assert_eq!(status(&r), "400", "duplicate {name}: {r}");
    }
    let negative = base.replace("Content-Length: 0", "Content-Length: -5");
    let r = exchange(&sock, to, negative.as_bytes()).await;
    assert_eq!(status(&r), "400", "{r}");
    let conflicting = base.replace("Content-Length: 0", "Content-Length: 0\r\nl: 30");
    let r = exchange(&sock, to, conflicting.as_bytes()).await;
    assert_eq!(status(&r), "400", "{r}");

    // TCP: a smuggled OPTIONS behind a conflicting Content-Length is never run.
    let mut tcp = TcpStream::connect(to).await.expect("connect");
    let smuggled = request("OPTIONS", "", "").replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    let lead = conflicting.replace("SIP/2.0/UDP", "SIP/2.0/TCP") + &smuggled;
    tcp.write_all(lead.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, tcp.read(&mut buf))
        .await
        .expect("closed in time")
        .unwrap_or(0);
    assert_eq!(
        n,
        0,
        "no answer, connection closed: {}",
        String::from_utf8_lossy(&buf[..n])
    );
    // UDP still served.
    let r = exchange(&sock, to, base.as_bytes()).await;
    assert_eq!(status(&r), "200", "{r}");
}

/// Issue 13: checks before routing, on the trunk's real number (3900, which
/// a valid INVITE reaches): unknown option tag in Require/Proxy-Require →
/// 420 with Unsupported, unknown Request-URI scheme → 416, a Via with empty
/// parameters and no branch → 400, a body that is not SDP → 415 (not "400 Bad
/// SDP"), an Accept without SDP → 406; on UDP and on TCP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_before_routing_on_udp_and_tcp() {
    let (handle, _events) = start_stack().await;
    let to = handle.local_addr();
    let sock = UdpSocket::bind((std::net::IpAddr::from(TRUNK_IP), 0))
        .await
        .expect("bind");
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";
    let ct = "Content-Type: application/sdp\r\n";
    let invite = |extra: &str| request("INVITE", extra, sdp);
    let cases: Vec<(&str, String, &str, Option<&str>)> = vec![
        (
            "unknown Require tag",
            invite(&format!("Require: nosuchext, timer\r\n{ct}")),
            "420",
            Some("Unsupported: nosuchext\r\n"),
        ),
        (
            "unknown Proxy-Require tag",
            invite(&format!("Proxy-Require: foo\r\n{ct}")),
            "420",
            Some("Unsupported: foo\r\n"),
        ),
        (
            "unknown Request-URI scheme",
            invite(ct).replace(
                "INVITE sip:3900@127.0.0.1 SIP/2.0",
                "INVITE nobodyknowsthisscheme:totallyopaquecontent SIP/2.0",
            ),
            "416",
            None,
        ),
        (
            "Via without branch, empty parameters",
            invite(ct).replace(";branch=z9hG4bKINVITE", ";;,;,,"),
            "400",
            None,
        ),
        (
            "body that is not SDP",
            invite("Content-Type: text/plain\r\n"),
            "415",
            Some("Accept: application/sdp\r\n"),
        ),
        (
            "Accept without SDP",
            invite(&format!("Accept: text/plain\r\n{ct}")),
            "406",
            None,
        ),
    ];
    for (what, msg, want, header) in &cases {
        let r = exchange(&sock, to, msg.as_bytes()).await;
        assert_eq!(status(&r), *want, "UDP, {what}: {r}");
        assert!(r.contains("Call-ID: INVITE-"), "UDP, {what}: {r}");
        if let Some(h) = header {
            assert!(r.contains(h), "UDP, {what}: {r}");
        }
    }
    let mut tcp = TcpStream::connect(to).await.expect("connect");
    let mut pending = Vec::new();
    for (what, msg, want, header) in &cases {
        let msg = msg.replace("SIP/2.0/UDP", "SIP/2.0/TCP");
        tcp.write_all(msg.as_bytes()).await.expect("write");
        let r = read_sip(&mut tcp, &mut pending).await;
        assert_eq!(status(&r), *want, "TCP, {what}: {r}");
        if let Some(h) = header {
            assert!(r.contains(h), "TCP, {what}: {r}");
        }
    }
    // The same INVITE without the defect reaches routing (100 Trying first).
    let good = invite(&format!(
        "Require: timer\r\nAccept: application/sdp\r\n{ct}"
    ))
    .replace("Call-ID: INVITE-", "Call-ID: good-INVITE-");
    let r = exchange(&sock, to, good.as_bytes()).await;
    assert_eq!(status(&r), "100", "{r}");
    handle.shutdown().await;
}
