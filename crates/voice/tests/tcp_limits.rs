//! Issue 13, the TCP edge: idle and incomplete-message timeouts, a cap per
//! source address and a global cap (`VoiceConfig::tcp_limits`). Short
//! configured timeouts; every wait is for the event (answer or close) with a
//! deadline, never a sleep.

mod common;

use common::{WAIT, start_stack_with};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use voice::{TcpLimits, VoiceConfig};

const HEADER: Duration = Duration::from_millis(300);
const IDLE: Duration = Duration::from_millis(600);

fn limits(per_address: usize, total: usize) -> impl FnOnce(&mut VoiceConfig) {
    move |c: &mut VoiceConfig| {
        c.tcp_limits = TcpLimits {
            idle_timeout: IDLE,
            header_timeout: HEADER,
            max_per_address: per_address,
            max_connections: total,
        }
    }
}

fn options(n: u32) -> String {
    format!(
        "OPTIONS sip:3900@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKtl{n}\r\n\
         From: <sip:a@127.0.0.1>;tag=f{n}\r\nTo: <sip:3900@127.0.0.1>\r\nCall-ID: tl-{n}\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

/// Bytes until the server closes the connection (EOF or reset), bounded by
/// [`WAIT`]; panics if it stays open.
async fn until_closed(tcp: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        match tokio::time::timeout(WAIT, tcp.read(&mut buf)).await {
            Err(_) => panic!(
                "connection still open after {WAIT:?}: {}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Send an OPTIONS and read its answer's status line; `None` if the
/// connection is closed instead.
async fn ask(tcp: &mut TcpStream, n: u32) -> Option<String> {
    tcp.write_all(options(n).as_bytes()).await.ok()?;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(WAIT, tcp.read(&mut buf)).await {
            Err(_) => panic!("no answer nor close within {WAIT:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return None,
            Ok(Ok(k)) => got.extend_from_slice(&buf[..k]),
        }
    }
    let text = String::from_utf8_lossy(&got).to_string();
    Some(text.lines().next().unwrap_or("").to_string())
}

async fn connect_from(ip: [u8; 4], to: SocketAddr) -> TcpStream {
    let sock = TcpSocket::new_v4().expect("socket");
    sock.bind(SocketAddr::from((ip, 0))).expect("bind");
    sock.connect(to).await.expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_incomplete_connections_are_closed_after_the_header_timeout() {
    let (handle, _events) = start_stack_with(limits(10, 100)).await;
    let to = handle.local_addr();
    // Nothing sent at all.
    let mut silent = TcpStream::connect(to).await.expect("connect");
    let t0 = Instant::now();
    assert!(until_closed(&mut silent).await.is_empty());
    assert!(t0.elapsed() >= HEADER, "closed before the header timeout");
    // A header that never ends, after a complete first message.
    let mut slow = TcpStream::connect(to).await.expect("connect");
    assert_eq!(ask(&mut slow, 1).await.as_deref(), Some("SIP/2.0 200 OK"));
    let partial = options(2);
    slow.write_all(&partial.as_bytes()[..60])
        .await
        .expect("write");
    let t0 = Instant::now();
    assert!(
        until_closed(&mut slow).await.is_empty(),
        "no answer to half a message"
    );
    assert!(t0.elapsed() >= HEADER, "closed before the header timeout");
    assert!(
        t0.elapsed() < IDLE,
        "closed by the header timeout, not the idle one"
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_keep_alives_keep_them() {
    let (handle, _events) = start_stack_with(limits(10, 100)).await;
    let to = handle.local_addr();
    let mut idle = TcpStream::connect(to).await.expect("connect");
    assert_eq!(ask(&mut idle, 1).await.as_deref(), Some("SIP/2.0 200 OK"));
    let answered = Instant::now();

    // A second connection sends CRLF keep-alives (RFC 5626) for three idle
    // timeouts meanwhile, then is still served.
    let mut kept = TcpStream::connect(to).await.expect("connect");
    assert_eq!(ask(&mut kept, 2).await.as_deref(), Some("SIP/2.0 200 OK"));
    let keep_alive = async {
        let mut pace = tokio::time::interval(IDLE / 4);
        let until = Instant::now() + 3 * IDLE;
        while Instant::now() < until {
            pace.tick().await;
            kept.write_all(b"\r\n\r\n").await.expect("keep-alive");
        }
    };
    let closed = async {
        assert!(until_closed(&mut idle).await.is_empty());
        answered.elapsed()
    };
    let ((), after) = tokio::join!(keep_alive, closed);
    assert!(
        after >= IDLE - Duration::from_millis(50),
        "closed after {after:?}"
    );
    assert!(after < 3 * IDLE, "closed after {after:?}");
    assert_eq!(ask(&mut kept, 3).await.as_deref(), Some("SIP/2.0 200 OK"));
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_per_address_cap_are_closed() {
    let (handle, _events) = start_stack_with(|c: &mut VoiceConfig| {
        limits(2, 100)(c);
        // Long timeouts: only the caps close connections here.
        c.tcp_limits.idle_timeout = Duration::from_secs(60);
        c.tcp_limits.header_timeout = Duration::from_secs(60);
    })
    .await;
    let to = handle.local_addr();
    let mut a = connect_from([127, 0, 0, 1], to).await;
    let mut b = connect_from([127, 0, 0, 1], to).await;
    assert_eq!(ask(&mut a, 1).await.as_deref(), Some("SIP/2.0 200 OK"));
    assert_eq!(ask(&mut b, 2).await.as_deref(), Some("SIP/2.0 200 OK"));
    let mut third = connect_from([127, 0, 0, 1], to).await;
    assert!(
        until_closed(&mut third).await.is_empty(),
        "third from one address"
    );
    // Another address is not affected.
    let mut other = connect_from([127, 0, 0, 3], to).await;
    assert_eq!(ask(&mut other, 3).await.as_deref(), Some("SIP/2.0 200 OK"));
    // Closing one frees its slot (retried until the server has seen the close).
    drop(a);
    let deadline = Instant::now() + WAIT;
    let mut n = 10;
    loop {
        let mut again = connect_from([127, 0, 0, 1], to).await;
        if ask(&mut again, n).await.as_deref() == Some("SIP/2.0 200 OK") {
            break;
        }
        assert!(Instant::now() < deadline, "the slot was never freed");
        n += 1;
        tokio::task::yield_now().await;
    }
    assert_eq!(ask(&mut b, 4).await.as_deref(), Some("SIP/2.0 200 OK"));
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_global_cap_are_closed() {
    let (handle, _events) = start_stack_with(|c: &mut VoiceConfig| {
        limits(10, 3)(c);
        c.tcp_limits.idle_timeout = Duration::from_secs(60);
        c.tcp_limits.header_timeout = Duration::from_secs(60);
    })
    .await;
    let to = handle.local_addr();
    let mut open = Vec::new();
    for (i, ip) in [[127, 0, 0, 1], [127, 0, 0, 1], [127, 0, 0, 3]]
        .into_iter()
        .enumerate()
    {
        let mut c = connect_from(ip, to).await;
        assert_eq!(
            ask(&mut c, i as u32).await.as_deref(),
            Some("SIP/2.0 200 OK")
        );
        open.push(c);
    }
    let mut fourth = connect_from([127, 0, 0, 4], to).await;
    assert!(
        until_closed(&mut fourth).await.is_empty(),
        "fourth connection"
    );
    for (i, c) in open.iter_mut().enumerate() {
        assert_eq!(
            ask(c, 10 + i as u32).await.as_deref(),
            Some("SIP/2.0 200 OK")
        );
    }
    handle.shutdown().await;
}
