//! OPTIONS qualify: a registered phone that stops answering is marked
//! unreachable and is no longer offered calls; one that answers stays usable.

mod common;

use common::{WAIT, start_stack_with, wait_for};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use voice::registrar::RegistrationChange;
use voice::sip::digest::{Algorithm, ClientSecret, client_response};
use voice::sip::message::{Message, Response, parse};
use voice::{CallControl, CallEvent, VoiceError};

async fn recv_msg(sock: &UdpSocket) -> Message {
    let mut buf = vec![0u8; 65536];
    let (n, _) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
        .await
        .expect("a message in time")
        .expect("recv");
    parse(&buf[..n]).expect("valid SIP from the stack")
}

/// Register `user` from `sock` with digest auth; returns when 200 arrives.
async fn register(sock: &UdpSocket, server: SocketAddr, user: &str, pw: &str) {
    let local = sock.local_addr().expect("addr");
    let req = |cseq: u32, auth: &str| {
        format!(
            "REGISTER sip:{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{user}{cseq}\r\n\
             From: <sip:{user}@{server}>;tag=t{user}\r\nTo: <sip:{user}@{server}>\r\n\
             Call-ID: reg-{user}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{local}>\r\n\
             {auth}Expires: 300\r\nContent-Length: 0\r\n\r\n"
        )
    };
    sock.send_to(req(1, "").as_bytes(), server)
        .await
        .expect("send");
    let Message::Response(chal) = recv_msg(sock).await else {
        panic!("expected 401")
    };
    assert_eq!(chal.status, 401);
    let www = chal.headers.get("WWW-Authenticate").expect("challenge");
    let nonce = www
        .split("nonce=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("nonce");
    let who = ClientSecret {
        alg: Algorithm::Md5,
        user,
        realm: "switchboard.test",
        password: pw,
    };
    let uri = format!("sip:{server}");
    let authz = client_response(&who, "REGISTER", &uri, nonce, "cn");
    let msg = req(2, &format!("Authorization: {authz}\r\n"));
    sock.send_to(msg.as_bytes(), server).await.expect("send");
    let Message::Response(ok) = recv_msg(sock).await else {
        panic!("expected 200")
    };
    assert_eq!(ok.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_phone_becomes_unreachable_and_is_not_offered_calls() {
    let (handle, mut events) = start_stack_with(|c| {
        c.qualify_interval = Some(Duration::from_millis(200));
        c.qualify_timeout = Duration::from_millis(1000);
    })
    .await;
    let server = handle.local_addr();
    let alive = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let silent = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    register(&alive, server, "2001", "agentpw").await;
    register(&silent, server, "2002", "otherpw").await;

    // The live phone answers every OPTIONS and reports the first INVITE.
    let (invite_tx, mut invite_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = alive.recv_from(&mut buf).await {
            if let Ok(Message::Request(r)) = parse(&buf[..n]) {
                if r.method == voice::sip::message::Method::Options {
                    let ok = Response::for_request(&r, 200, "OK", Some("p1"));
                    let _ = alive.send_to(&ok.to_bytes(), from).await;
                } else {
                    let _ = invite_tx.send(r.method);
                }
            }
        }
    });

    let ev = wait_for(&mut events, |e| {
        matches!(
            e,
            CallEvent::Registration(RegistrationChange::Reachability { .. })
        )
    })
    .await;
    assert_eq!(
        ev,
        CallEvent::Registration(RegistrationChange::Reachability {
            user: "2002".into(),
            contact: format!("sip:2002@{}", silent.local_addr().expect("addr")),
            reachable: false,
        })
    );
    let refused = handle
        .originate("2002".into(), "x".into(), Duration::from_secs(5))
        .await;
    assert!(matches!(refused, Err(VoiceError::NotRegistered(u)) if u == "2002"));
    handle
        .originate("2001".into(), "x".into(), Duration::from_secs(5))
        .await
        .expect("the answering phone is still offered calls");
    let got = tokio::time::timeout(WAIT, invite_rx.recv())
        .await
        .expect("INVITE in time");
    assert_eq!(got, Some(voice::sip::message::Method::Invite));
    handle.shutdown().await;
}
