//! Benchmark (prints its figures): how long from a trunk INVITE to the
//! agent desktop's `offer` push (the screen-pop), and to the 200 OK, through
//! the whole platform in this process (SIP stack, engine, ACD, store,
//! WebSocket). Each round: an INVITE to DID 3902 (queue `general`) from the
//! trunk address, the offer to amina (logged in, phone registered with sipp),
//! then ACK and BYE; the abandon frees amina for the next round. Callers
//! alternate between known demo customers and unknown numbers (a customer
//! is created).
//!
//! `cargo bench -p switchboard --bench screen_pop` (needs Debian
//! `sip-tester` for the phone's REGISTER). `BENCH_CALLS` sets the rounds
//! (default 300). `SWITCHBOARD_TEST_PG=URL` runs it with the store on
//! PostgreSQL as well.

#[path = "../tests/common/mod.rs"]
mod common;

use common::sip::*;
use serde_json::json;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

const SDP: &str = "v=0\r\no=bench 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

/// Wait for a SIP response to `cseq` (e.g. `1 INVITE`) with `code`; returns it.
async fn response(sock: &UdpSocket, code: &str, cseq: &str) -> String {
    let mut buf = vec![0u8; 8192];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), sock.recv(&mut buf))
            .await
            .expect("SIP response in time")
            .unwrap();
        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
        if msg.starts_with(&format!("SIP/2.0 {code}"))
            && msg
                .lines()
                .any(|l| l.to_ascii_lowercase().starts_with("cseq:") && l.ends_with(cseq))
        {
            return msg;
        }
    }
}

fn header<'a>(msg: &'a str, name: &str) -> &'a str {
    msg.lines()
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l[name.len()..].starts_with(':')
        })
        .unwrap_or_default()
}

/// p-th percentile (0..=100) of sorted values.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p / 100.0).round() as usize;
    sorted[i]
}

async fn run(pg: bool, calls: usize) {
    let p = platform_with(None, pg).await;
    let token = p.srv.login("amina").await;
    let mut ws = desktop(&p, &token).await;
    let mut seen = Vec::new();
    let _silent_phone = register_phone(&p, "amina").await;
    assert_eq!(
        post(&p, &token, "/api/v1/agent/login", json!({})).await,
        204
    );
    next_of(&mut ws, "agent_state", &mut seen).await;
    let sock = UdpSocket::bind((TRUNK_IP, 0)).await.unwrap();
    let local = sock.local_addr().unwrap();
    sock.connect(p.sip).await.unwrap();
    let (mut to_offer, mut to_answer) = (Vec::new(), Vec::new());
    for i in 0..calls {
        let from = if i % 2 == 0 {
            format!("+229019700{:04}", i % 50 + 1)
        } else {
            format!("+2290196{:06}", i)
        };
        let call_id = format!("bench-{i}-{}@{}", std::process::id(), local.ip());
        let invite = format!(
            "INVITE sip:3902@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-{i}-inv\r\nFrom: <sip:{from}@{ip}>;tag=bench{i}\r\nTo: <sip:3902@{sip}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:{from}@{local}>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{SDP}",
            sip = p.sip,
            ip = local.ip(),
            len = SDP.len()
        );
        let t0 = Instant::now();
        sock.send(invite.as_bytes()).await.unwrap();
        let ok = response(&sock, "200", "1 INVITE").await;
        to_answer.push(t0.elapsed());
        let offer = next_of(&mut ws, "offer", &mut seen).await;
        to_offer.push(t0.elapsed());
        assert_eq!(offer["screen_pop"]["caller"], from.as_str());
        let to = header(&ok, "To").to_string();
        let dialog = |method: &str, cseq: u32, branch: &str| {
            format!(
                "{method} sip:3902@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-{i}-{branch}\r\nFrom: <sip:{from}@{ip}>;tag=bench{i}\r\n{to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                sip = p.sip,
                ip = local.ip(),
            )
        };
        sock.send(dialog("ACK", 1, "ack").as_bytes()).await.unwrap();
        sock.send(dialog("BYE", 2, "bye").as_bytes()).await.unwrap();
        response(&sock, "200", "2 BYE").await;
        // The abandon cancels the offer and frees amina.
        next_of(&mut ws, "offer_cancelled", &mut seen).await;
    }
    to_offer.sort();
    to_answer.sort();
    let store = if pg { "PostgreSQL" } else { "SQLite" };
    let addr: SocketAddr = p.sip;
    println!(
        "screen-pop, store {store}, {calls} calls to {addr}: INVITE→offer push p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; INVITE→200 OK p50 {:.2} ms, p99 {:.2} ms",
        ms(pct(&to_offer, 50.0)),
        ms(pct(&to_offer, 99.0)),
        ms(*to_offer.last().unwrap()),
        ms(pct(&to_answer, 50.0)),
        ms(pct(&to_answer, 99.0)),
    );
    p.srv.shutdown().await;
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let calls = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(false, calls));
    if std::env::var("SWITCHBOARD_TEST_PG").is_ok() {
        rt.block_on(run(true, calls));
    }
}
