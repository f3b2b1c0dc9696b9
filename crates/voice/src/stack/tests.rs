//! The stack's SIP state machines on a virtual clock: inputs are fed with an
//! explicit `now`, outputs read from the outbox. No SIP socket, no sleeping
//! (only the per-leg RTP sockets exist, on loopback).

use super::{Dest, Stack};
use crate::config::{TrunkConfig, VoiceConfig};
use crate::control::{CallEvent, Command, HangupCause, LegId};
use crate::registrar::MemoryDirectory;
use crate::sip::digest::{Algorithm, ClientSecret, client_response};
use crate::sip::message::{Message, Method, Request, Response, header_param, parse};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

pub(super) const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
                   m=audio 7000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

pub(super) struct Harness {
    pub stack: Stack,
    pub events: mpsc::Receiver<CallEvent>,
    pub t0: Instant,
}

pub(super) fn trunk() -> Dest {
    Dest::Udp(SocketAddr::from(([127, 0, 0, 2], 5070)))
}

fn phone() -> Dest {
    Dest::Udp(SocketAddr::from(([127, 0, 0, 1], 5072)))
}

fn harness() -> Harness {
    harness_with(|_| {})
}

/// A stack with the test trunk and registrar, `adjust`ed config.
pub(super) fn harness_with(adjust: impl FnOnce(&mut VoiceConfig)) -> Harness {
    let mut dids = HashMap::new();
    dids.insert("3900".to_string(), "ivr".to_string());
    let mut cfg = VoiceConfig {
        realm: "sb".into(),
        trunks: vec![TrunkConfig {
            name: "op".into(),
            allowed_ips: vec![trunk().addr().ip()],
            dids,
            outbound: None,
            caller_id: None,
            auth_user: Some("op-trunk".into()),
        }],
        qualify_interval: None,
        ..VoiceConfig::default()
    };
    adjust(&mut cfg);
    let (ev_tx, events) = mpsc::channel(super::CALL_EVENTS);
    let (media_tx, _media_rx) = mpsc::channel(super::MEDIA_EVENTS);
    let t0 = Instant::now();
    let dir = Arc::new(MemoryDirectory::new([
        ("2001", "pw"),
        ("op-trunk", "trunkpw"),
    ]));
    let local = SocketAddr::from(([127, 0, 0, 1], 5060));
    let stack = Stack::new(cfg, local, dir, ev_tx, media_tx, t0);
    Harness { stack, events, t0 }
}

impl Harness {
    pub(super) fn out(&mut self) -> Vec<Message> {
        self.stack
            .out
            .drain(..)
            .map(|(_, b)| parse(&b).expect("stack output parses"))
            .collect()
    }

    pub(super) fn statuses(&mut self) -> Vec<u16> {
        self.out()
            .into_iter()
            .filter_map(|m| match m {
                Message::Response(r) => Some(r.status),
                Message::Request(_) => None,
            })
            .collect()
    }

    pub(super) fn feed(&mut self, at: Duration, from: Dest, text: &str) {
        self.stack.on_datagram(self.t0 + at, from, text.as_bytes());
    }

    /// The next event, leaving out the dialog bookkeeping ones
    /// (`DialogConfirmed`, `DialogEnded`: see [`Harness::dialog_event`]).
    pub(super) fn event(&mut self) -> Option<CallEvent> {
        loop {
            match self.events.try_recv().ok()? {
                CallEvent::DialogConfirmed(_) | CallEvent::DialogEnded { .. } => {}
                e => return Some(e),
            }
        }
    }

    /// The next `DialogConfirmed` or `DialogEnded` event (others skipped).
    pub(super) fn dialog_event(&mut self) -> Option<CallEvent> {
        loop {
            if let e @ (CallEvent::DialogConfirmed(_) | CallEvent::DialogEnded { .. }) =
                self.events.try_recv().ok()?
            {
                return Some(e);
            }
        }
    }
}

pub(super) fn invite(call_id: &str) -> String {
    format!(
        "INVITE sip:3900@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bKi{call_id}\r\n\
         From: <sip:+3361@127.0.0.2>;tag=c1\r\nTo: <sip:3900@127.0.0.1>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:+3361@127.0.0.2:5070>\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
}

pub(super) fn in_dialog(method: &str, call_id: &str, to_tag: &str, cseq: u32) -> String {
    format!(
        "{method} sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bK{method}{cseq}\r\n\
         From: <sip:+3361@127.0.0.2>;tag=c1\r\nTo: <sip:3900@127.0.0.1>;tag={to_tag}\r\nCall-ID: {call_id}\r\n\
         CSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
    )
}

/// Offer an inbound call; returns its leg and our To tag.
fn offer(h: &mut Harness, call_id: &str) -> (LegId, String) {
    h.feed(Duration::ZERO, trunk(), &invite(call_id));
    let out = h.out();
    let tag = out
        .iter()
        .find_map(|m| match m {
            Message::Response(r) if r.status == 180 => {
                header_param(r.headers.get("To")?, "tag").map(str::to_string)
            }
            _ => None,
        })
        .expect("180 with a To tag");
    let Some(CallEvent::Incoming { leg, .. }) = h.event() else {
        panic!("Incoming expected")
    };
    (leg, tag)
}

pub(super) fn answer(h: &mut Harness, leg: LegId, at: Duration) {
    let (tx, mut rx) = oneshot::channel();
    h.stack.on_command(h.t0 + at, Command::Answer(leg, tx));
    assert!(matches!(rx.try_recv(), Ok(Ok(()))));
}

#[tokio::test]
async fn retransmitted_invite_repeats_the_180_and_the_200_is_resent_until_ack() {
    let mut h = harness();
    let (leg, tag) = offer(&mut h, "c-1");
    h.feed(Duration::from_millis(300), trunk(), &invite("c-1"));
    assert_eq!(h.statuses(), vec![180], "INVITE retransmission → same 180");
    answer(&mut h, leg, Duration::from_secs(1));
    assert_eq!(h.statuses(), vec![200]);
    // Timer G: T1, then 2·T1... (RFC 3261 §13.3.1.4).
    h.stack.on_tick(h.t0 + Duration::from_millis(1499));
    assert!(h.statuses().is_empty());
    h.stack.on_tick(h.t0 + Duration::from_millis(1500));
    assert_eq!(h.statuses(), vec![200]);
    h.stack.on_tick(h.t0 + Duration::from_millis(2400));
    assert!(h.statuses().is_empty());
    h.stack.on_tick(h.t0 + Duration::from_millis(2500));
    assert_eq!(h.statuses(), vec![200]);
    h.feed(
        Duration::from_millis(2600),
        trunk(),
        &in_dialog("ACK", "c-1", &tag, 1),
    );
    assert_eq!(h.event(), Some(CallEvent::Answered { leg }));
    h.stack.on_tick(h.t0 + Duration::from_secs(10));
    assert!(h.out().is_empty(), "no retransmission after ACK");
}

#[tokio::test]
async fn a_200_never_acked_ends_the_call_with_bye() {
    let mut h = harness();
    let (leg, _) = offer(&mut h, "c-2");
    answer(&mut h, leg, Duration::ZERO);
    h.out();
    // Timer H: 64·T1 = 32 s without ACK (RFC 3261 §17.2.1), then BYE.
    let mut t = Duration::ZERO;
    let mut ended = None;
    while ended.is_none() && t < Duration::from_secs(40) {
        t += Duration::from_millis(100);
        h.stack.on_tick(h.t0 + t);
        ended = h.event();
    }
    assert_eq!(t, Duration::from_secs(32));
    assert!(matches!(
        ended,
        Some(CallEvent::HungUp { leg: l, cause: HangupCause::Timeout, .. }) if l == leg
    ));
    let last = h.out().pop();
    assert!(matches!(last, Some(Message::Request(r)) if r.method == Method::Bye));
}

#[tokio::test]
async fn cancel_before_answer_gives_200_and_487() {
    let mut h = harness();
    let (leg, _) = offer(&mut h, "c-3");
    let cancel = invite("c-3")
        .replace("INVITE sip", "CANCEL sip")
        .replace("1 INVITE", "1 CANCEL");
    h.feed(Duration::from_secs(1), trunk(), &cancel);
    assert_eq!(h.statuses(), vec![200, 487]);
    assert!(matches!(
        h.event(),
        Some(CallEvent::HungUp { leg: l, cause: HangupCause::Cancelled, .. }) if l == leg
    ));
    // A late BYE finds no dialog.
    h.feed(
        Duration::from_secs(2),
        trunk(),
        &in_dialog("BYE", "c-3", "x", 2),
    );
    assert_eq!(h.statuses(), vec![481]);
}

/// Register 2001 from `phone()` through the stack.
fn register(h: &mut Harness) -> Vec<crate::registrar::SavedBinding> {
    let reg = |auth: &str| {
        format!(
            "REGISTER sip:sb SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bKr{}\r\n\
             From: <sip:2001@sb>;tag=r\r\nTo: <sip:2001@sb>\r\nCall-ID: reg\r\nCSeq: 1 REGISTER\r\n\
             Contact: <sip:2001@127.0.0.1:5072>\r\n{auth}Content-Length: 0\r\n\r\n",
            auth.len()
        )
    };
    h.feed(Duration::ZERO, phone(), &reg(""));
    let Some(Message::Response(chal)) = h.out().pop() else {
        panic!("challenge expected")
    };
    let www = chal.headers.get("WWW-Authenticate").unwrap_or("");
    let nonce = www
        .split("nonce=\"")
        .nth(1)
        .and_then(|r| r.split('"').next());
    let who = ClientSecret {
        alg: Algorithm::Md5,
        user: "2001",
        realm: "sb",
        password: "pw",
    };
    let authz = client_response(&who, "REGISTER", "sip:sb", nonce.unwrap_or(""), "c");
    h.feed(
        Duration::ZERO,
        phone(),
        &reg(&format!("Authorization: {authz}\r\n")),
    );
    assert_eq!(h.statuses(), vec![200]);
    assert!(matches!(h.event(), Some(CallEvent::Registration(_))));
    let Some(CallEvent::Bindings { user, bindings }) = h.event() else {
        panic!("a Bindings event follows the registration")
    };
    assert_eq!(user, "2001");
    bindings
}

pub(super) fn reply_to(req: &Request, status: u16, tag: &str, sdp: bool) -> String {
    let mut r = Response::for_request(req, status, "X", Some(tag));
    if sdp {
        r.headers.push("Contact", "<sip:2001@127.0.0.1:5072>");
        r.headers.push("Content-Type", "application/sdp");
        r.body = SDP.as_bytes().to_vec();
    }
    String::from_utf8_lossy(&r.to_bytes()).to_string()
}

fn originate(h: &mut Harness, ring: Duration) -> (LegId, Request) {
    let (tx, mut rx) = oneshot::channel();
    let cmd = Command::Originate("2001".into(), "+3361".into(), ring, tx);
    h.stack.on_command(h.t0, cmd);
    let Ok(Ok(leg)) = rx.try_recv() else {
        panic!("originate failed")
    };
    let Some(Message::Request(inv)) = h.out().pop() else {
        panic!("INVITE expected")
    };
    assert_eq!(inv.method, Method::Invite);
    assert_eq!(inv.uri, "sip:2001@127.0.0.1:5072");
    (leg, inv)
}

#[tokio::test]
async fn originate_retransmits_until_ringing_then_cancels_on_ring_timeout() {
    let mut h = harness();
    register(&mut h);
    let (leg, inv) = originate(&mut h, Duration::from_secs(5));
    h.stack.on_tick(h.t0 + Duration::from_millis(500));
    assert!(matches!(h.out().as_slice(), [Message::Request(r)] if r.method == Method::Invite));
    h.feed(
        Duration::from_millis(600),
        phone(),
        &reply_to(&inv, 180, "a1", false),
    );
    assert_eq!(h.event(), Some(CallEvent::Ringing { leg }));
    h.stack.on_tick(h.t0 + Duration::from_secs(2));
    assert!(
        h.out().is_empty(),
        "a provisional stops INVITE retransmission"
    );
    h.stack.on_tick(h.t0 + Duration::from_secs(5));
    let out = h.out();
    assert!(matches!(out.as_slice(), [Message::Request(r)] if r.method == Method::Cancel));
    h.feed(
        Duration::from_millis(5100),
        phone(),
        &reply_to(&inv, 487, "a1", false),
    );
    assert!(matches!(h.out().as_slice(), [Message::Request(r)] if r.method == Method::Ack));
    assert!(matches!(
        h.event(),
        Some(CallEvent::HungUp { leg: l, cause: HangupCause::NoAnswer, .. }) if l == leg
    ));
}

#[tokio::test]
async fn outbound_200_is_acked_each_time_and_failures_map_to_causes() {
    let mut h = harness();
    register(&mut h);
    let (leg, inv) = originate(&mut h, Duration::from_secs(30));
    let ok = reply_to(&inv, 200, "a2", true);
    h.feed(Duration::from_millis(100), phone(), &ok);
    assert!(matches!(h.out().as_slice(), [Message::Request(r)] if r.method == Method::Ack));
    assert_eq!(h.event(), Some(CallEvent::Answered { leg }));
    h.feed(Duration::from_millis(600), phone(), &ok);
    assert!(
        matches!(h.out().as_slice(), [Message::Request(r)] if r.method == Method::Ack),
        "a retransmitted 2xx gets its ACK again"
    );
    assert_eq!(h.event(), None);
    for (status, cause) in [
        (486, HangupCause::Busy),
        (480, HangupCause::NoAnswer),
        (408, HangupCause::Timeout),
        (503, HangupCause::Rejected(503)),
    ] {
        let (leg, inv) = originate(&mut h, Duration::from_secs(30));
        h.feed(
            Duration::from_secs(1),
            phone(),
            &reply_to(&inv, status, "b", false),
        );
        let acks = h.out();
        assert!(matches!(acks.as_slice(), [Message::Request(r)] if r.method == Method::Ack));
        assert_eq!(
            h.event().map(|e| match e {
                CallEvent::HungUp { leg: l, cause, .. } => (l, cause),
                other => panic!("{other:?}"),
            }),
            Some((leg, cause))
        );
    }
}

#[tokio::test]
async fn info_dtmf_and_refer_reach_the_engine() {
    let mut h = harness();
    let (leg, tag) = offer(&mut h, "c-4");
    answer(&mut h, leg, Duration::ZERO);
    h.feed(Duration::ZERO, trunk(), &in_dialog("ACK", "c-4", &tag, 1));
    h.out();
    assert_eq!(h.event(), Some(CallEvent::Answered { leg }));
    let body = "Signal=5\r\nDuration=160\r\n";
    let info = in_dialog("INFO", "c-4", &tag, 2).replace(
        "Content-Length: 0\r\n\r\n",
        &format!(
            "Content-Type: application/dtmf-relay\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    h.feed(Duration::from_secs(1), trunk(), &info);
    assert_eq!(h.statuses(), vec![200]);
    assert!(matches!(h.event(), Some(CallEvent::Dtmf { leg: l, digit: '5', .. }) if l == leg));
    let refer = in_dialog("REFER", "c-4", &tag, 3).replace(
        "Content-Length: 0",
        "Refer-To: <sip:2002@sb>\r\nContent-Length: 0",
    );
    h.feed(Duration::from_secs(2), trunk(), &refer);
    assert_eq!(h.statuses(), vec![202]);
    assert_eq!(
        h.event(),
        Some(CallEvent::TransferRequested {
            leg,
            target: "sip:2002@sb".into()
        })
    );
    let no_target = in_dialog("REFER", "c-4", &tag, 4);
    h.feed(Duration::from_secs(3), trunk(), &no_target);
    assert_eq!(h.statuses(), vec![400]);
}

#[tokio::test]
async fn transfer_sends_refer_and_reports_notify_progress() {
    let mut h = harness();
    let (leg, tag) = offer(&mut h, "c-5");
    answer(&mut h, leg, Duration::ZERO);
    h.feed(Duration::ZERO, trunk(), &in_dialog("ACK", "c-5", &tag, 1));
    h.out();
    let _ = h.event();
    let (tx, mut rx) = oneshot::channel();
    let cmd = Command::Transfer(leg, "sip:+3362@operator".into(), tx);
    h.stack.on_command(h.t0 + Duration::from_secs(1), cmd);
    let Some(Message::Request(refer)) = h.out().pop() else {
        panic!("REFER expected")
    };
    assert_eq!(refer.method, Method::Refer);
    assert_eq!(
        refer.uri, "sip:+3361@127.0.0.2:5070",
        "to the caller's Contact"
    );
    assert_eq!(refer.headers.get("Refer-To"), Some("<sip:+3362@operator>"));
    assert!(rx.try_recv().is_err(), "pending until the far end answers");
    h.feed(
        Duration::from_secs(1),
        trunk(),
        &reply_to(&refer, 202, "x", false),
    );
    assert!(matches!(rx.try_recv(), Ok(Ok(()))));
    let frag = "SIP/2.0 200 OK\r\n";
    let notify = in_dialog("NOTIFY", "c-5", &tag, 2).replace(
        "Content-Length: 0\r\n\r\n",
        &format!(
            "Event: refer\r\nSubscription-State: terminated\r\nContent-Type: message/sipfrag\r\nContent-Length: {}\r\n\r\n{frag}",
            frag.len()
        ),
    );
    h.feed(Duration::from_secs(2), trunk(), &notify);
    assert_eq!(h.statuses(), vec![200]);
    assert_eq!(
        h.event(),
        Some(CallEvent::TransferStatus { leg, status: 200 })
    );
}

#[tokio::test]
async fn invite_from_a_registered_phone_needs_digest_credentials() {
    let mut h = harness();
    register(&mut h);
    let phone_invite = |auth: &str| {
        format!(
            "INVITE sip:3900@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bKp{}\r\n\
             From: <sip:2001@sb>;tag=p1\r\nTo: <sip:3900@sb>\r\nCall-ID: p-1\r\nCSeq: 1 INVITE\r\n\
             Contact: <sip:2001@127.0.0.1:5072>\r\n{auth}Content-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{SDP}",
            auth.len(),
            SDP.len()
        )
    };
    h.feed(Duration::from_secs(1), phone(), &phone_invite(""));
    let Some(Message::Response(chal)) = h.out().pop() else {
        panic!("407 expected")
    };
    assert_eq!(chal.status, 407);
    let www = chal.headers.get("Proxy-Authenticate").unwrap_or("");
    let nonce = www
        .split("nonce=\"")
        .nth(1)
        .and_then(|r| r.split('"').next());
    let secret = |password| ClientSecret {
        alg: Algorithm::Md5,
        user: "2001",
        realm: "sb",
        password,
    };
    let bad = client_response(
        &secret("nope"),
        "INVITE",
        "sip:3900@127.0.0.1",
        nonce.unwrap_or(""),
        "c",
    );
    h.feed(
        Duration::from_secs(1),
        phone(),
        &phone_invite(&format!("Proxy-Authorization: {bad}\r\n")),
    );
    assert_eq!(h.statuses(), vec![403]);
    let good = client_response(
        &secret("pw"),
        "INVITE",
        "sip:3900@127.0.0.1",
        nonce.unwrap_or(""),
        "c",
    );
    h.feed(
        Duration::from_secs(1),
        phone(),
        &phone_invite(&format!("Proxy-Authorization: {good}\r\n")).replace("p-1", "p-2"),
    );
    assert_eq!(h.statuses(), vec![100, 180]);
    assert!(matches!(
        h.event(),
        Some(CallEvent::Incoming { from_user: Some(ref u), trunk: None, .. }) if u == "2001"
    ));
}

#[tokio::test]
async fn a_prompt_before_answer_opens_early_media_with_the_same_sdp_as_the_200() {
    let mut h = harness();
    let (leg, _) = offer(&mut h, "c-6");
    let (tx, mut rx) = oneshot::channel();
    let samples = Arc::new(vec![0i16; 1600]);
    h.stack
        .on_command(h.t0, Command::Play(leg, samples.clone(), false, false, tx));
    assert!(matches!(rx.try_recv(), Ok(Ok(()))));
    let Some(Message::Response(early)) = h.out().pop() else {
        panic!("183 expected")
    };
    assert_eq!(early.status, 183);
    assert!(!early.body.is_empty());
    // A second prompt does not repeat the 183.
    let (tx, _rx) = oneshot::channel();
    h.stack
        .on_command(h.t0, Command::Play(leg, samples, false, false, tx));
    assert!(h.out().is_empty());
    answer(&mut h, leg, Duration::from_secs(1));
    let Some(Message::Response(ok)) = h.out().pop() else {
        panic!("200 expected")
    };
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.body, early.body,
        "one SDP answer per offer (RFC 3264 §5)"
    );
}

#[tokio::test]
async fn a_retransmitted_bye_gets_the_same_200_not_481() {
    let mut h = harness();
    let (leg, tag) = offer(&mut h, "c-7");
    answer(&mut h, leg, Duration::ZERO);
    h.feed(Duration::ZERO, trunk(), &in_dialog("ACK", "c-7", &tag, 1));
    h.out();
    let bye = in_dialog("BYE", "c-7", &tag, 2);
    h.feed(Duration::from_secs(1), trunk(), &bye);
    assert_eq!(h.statuses(), vec![200]);
    // Our 200 was lost: the BYE comes again after the leg is gone.
    h.feed(Duration::from_millis(1500), trunk(), &bye);
    assert_eq!(h.statuses(), vec![200]);
    // Once Timer J has passed, the transaction is forgotten.
    h.stack.on_tick(h.t0 + Duration::from_secs(34));
    h.feed(Duration::from_secs(34), trunk(), &bye);
    assert_eq!(h.statuses(), vec![481]);
}

#[tokio::test]
async fn a_trunk_can_be_identified_by_digest_from_any_address() {
    let mut h = harness();
    let elsewhere = Dest::Udp(SocketAddr::from(([127, 0, 0, 9], 5080)));
    let inv = |call_id: &str, auth: &str| {
        invite(call_id).replace(
            "Content-Type: application/sdp",
            &format!("{auth}Content-Type: application/sdp"),
        )
    };
    h.feed(Duration::ZERO, elsewhere, &inv("d-1", ""));
    let Some(Message::Response(chal)) = h.out().pop() else {
        panic!("407 expected")
    };
    assert_eq!(chal.status, 407);
    let www = chal.headers.get("Proxy-Authenticate").unwrap_or("");
    let nonce = www
        .split("nonce=\"")
        .nth(1)
        .and_then(|r| r.split('"').next());
    let creds = |user, password| {
        let who = ClientSecret {
            alg: Algorithm::Md5,
            user,
            realm: "sb",
            password,
        };
        let a = client_response(
            &who,
            "INVITE",
            "sip:3900@127.0.0.1",
            nonce.unwrap_or(""),
            "c",
        );
        format!("Proxy-Authorization: {a}\r\n")
    };
    // A phone user's valid credentials do not make an unregistered address a trunk.
    h.feed(Duration::ZERO, elsewhere, &inv("d-2", &creds("2001", "pw")));
    assert_eq!(h.statuses(), vec![403]);
    h.feed(
        Duration::ZERO,
        elsewhere,
        &inv("d-3", &creds("op-trunk", "trunkpw")),
    );
    assert_eq!(h.statuses(), vec![100, 180]);
    assert!(matches!(
        h.event(),
        Some(CallEvent::Incoming { trunk: Some(ref t), entry_point: Some(ref e), .. })
            if t == "op" && e == "ivr"
    ));
}

/// An INVITE with no body (late offer, RFC 3261 §13.2.1).
fn late_invite(call_id: &str) -> String {
    let with_sdp = invite(call_id);
    let head = with_sdp.split("\r\n\r\n").next().unwrap_or("");
    head.replace("Content-Type: application/sdp\r\n", "")
        .replace(
            &format!("Content-Length: {}", SDP.len()),
            "Content-Length: 0",
        )
        + "\r\n\r\n"
}

fn ack_with(call_id: &str, tag: &str, body: &str) -> String {
    in_dialog("ACK", call_id, tag, 1).replace(
        "Content-Length: 0\r\n\r\n",
        &format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[tokio::test]
async fn a_late_offer_gets_our_offer_in_the_200_and_the_answer_comes_in_the_ack() {
    let mut h = harness();
    h.feed(Duration::ZERO, trunk(), &late_invite("lo-1"));
    let out = h.out();
    let statuses: Vec<u16> = out
        .iter()
        .filter_map(|m| match m {
            Message::Response(r) => Some(r.status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![100, 180], "no 488 for an INVITE without SDP");
    let Some(CallEvent::Incoming { leg, .. }) = h.event() else {
        panic!("Incoming expected")
    };
    // A prompt before answer cannot open early media (no reliable 183).
    let (tx, _rx) = oneshot::channel();
    h.stack.on_command(
        h.t0,
        Command::Play(leg, Arc::new(vec![0; 160]), false, false, tx),
    );
    assert!(h.out().is_empty(), "no 183 on a late-offer leg");
    answer(&mut h, leg, Duration::from_secs(1));
    let Some(Message::Response(ok)) = h.out().pop() else {
        panic!("200 expected")
    };
    assert_eq!(ok.status, 200);
    let tag = header_param(ok.headers.get("To").unwrap_or(""), "tag")
        .unwrap_or("")
        .to_string();
    let offer = crate::sdp::parse(&ok.body).expect("our offer");
    assert_eq!(
        offer.payload_types,
        vec![0, 8, 101],
        "all our codecs offered"
    );
    // The retransmitted 200 repeats the same offer.
    h.stack.on_tick(h.t0 + Duration::from_millis(1500));
    let Some(Message::Response(again)) = h.out().pop() else {
        panic!("200 retransmission expected")
    };
    assert_eq!(again.body, ok.body);
    // The caller answers with PCMA only.
    let answer_sdp = SDP.replace("RTP/AVP 0 101", "RTP/AVP 8 101");
    h.feed(
        Duration::from_millis(1600),
        trunk(),
        &ack_with("lo-1", &tag, &answer_sdp),
    );
    assert_eq!(h.event(), Some(CallEvent::Answered { leg }));
    let l = h.stack.legs.get(&leg).expect("leg lives");
    assert_eq!(l.params.codec, crate::codec::Codec::Pcma);
    assert_eq!(l.params.telephone_event, Some(101));
    h.stack.on_tick(h.t0 + Duration::from_secs(10));
    assert!(h.out().is_empty(), "no retransmission after ACK");
}

#[tokio::test]
async fn a_late_offer_whose_ack_has_no_usable_answer_ends_with_bye() {
    let g729 = SDP.replace("RTP/AVP 0 101", "RTP/AVP 18");
    for (n, body) in ["", "v=0\r\ngarbage", g729.as_str()]
        .into_iter()
        .enumerate()
    {
        let mut h = harness();
        let call_id = format!("lo-bad-{n}");
        h.feed(Duration::ZERO, trunk(), &late_invite(&call_id));
        h.out();
        let Some(CallEvent::Incoming { leg, .. }) = h.event() else {
            panic!("Incoming expected")
        };
        answer(&mut h, leg, Duration::ZERO);
        let Some(Message::Response(ok)) = h.out().pop() else {
            panic!("200 expected")
        };
        let tag = header_param(ok.headers.get("To").unwrap_or(""), "tag")
            .unwrap_or("")
            .to_string();
        let ack = if body.is_empty() {
            in_dialog("ACK", &call_id, &tag, 1)
        } else {
            ack_with(&call_id, &tag, body)
        };
        h.feed(Duration::from_millis(100), trunk(), &ack);
        let out = h.out();
        assert!(
            matches!(out.as_slice(), [Message::Request(r)] if r.method == Method::Bye),
            "case {n}: {out:?}"
        );
        assert!(
            matches!(
                h.event(),
                Some(CallEvent::HungUp { leg: l, cause: HangupCause::Rejected(488), .. }) if l == leg
            ),
            "case {n}"
        );
        h.stack.on_tick(h.t0 + Duration::from_secs(2));
        assert!(
            h.out().iter().all(|m| !matches!(m, Message::Response(_))),
            "case {n}: the 200 is no longer retransmitted"
        );
    }
}

#[tokio::test]
async fn server_and_user_agent_headers_are_sent_only_when_configured() {
    // Off by default: neither header in the 180, nor in our BYE.
    let mut h = harness();
    h.feed(Duration::ZERO, trunk(), &invite("ua-1"));
    let out = h.out();
    assert!(!out.is_empty());
    for m in &out {
        if let Message::Response(r) = m {
            assert_eq!(r.headers.get("Server"), None);
        }
    }
    // Configured (with an attempt at header injection): Server on responses,
    // User-Agent on requests, control characters removed.
    let mut h = harness_with(|c| c.server_header = Some("switchboard/0.1\r\nX-Evil: 1".into()));
    let (leg, tag) = offer(&mut h, "ua-2");
    answer(&mut h, leg, Duration::from_millis(10));
    let out = h.out();
    let resp = out
        .iter()
        .find_map(|m| match m {
            Message::Response(r) if r.status == 200 => Some(r),
            _ => None,
        })
        .expect("200");
    assert_eq!(resp.headers.get("Server"), Some("switchboard/0.1X-Evil: 1"));
    assert_eq!(resp.headers.get("X-Evil"), None);
    h.feed(
        Duration::from_millis(20),
        trunk(),
        &in_dialog("ACK", "ua-2", &tag, 1),
    );
    h.out();
    let (tx, _rx) = oneshot::channel();
    h.stack
        .on_command(h.t0 + Duration::from_secs(1), Command::HangUp(leg, tx));
    let bye = h
        .out()
        .into_iter()
        .find_map(|m| match m {
            Message::Request(r) if r.method == Method::Bye => Some(r),
            _ => None,
        })
        .expect("BYE");
    assert_eq!(
        bye.headers.get("User-Agent"),
        Some("switchboard/0.1X-Evil: 1")
    );
    assert_eq!(bye.headers.get("Server"), None);
}

fn options(call_id: &str, sent_by: &str, branch: &str) -> String {
    format!(
        "OPTIONS sip:3900@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {sent_by};branch={branch}\r\n\
         From: <sip:probe@{sent_by}>;tag=p1\r\nTo: <sip:3900@127.0.0.1>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

fn call_ids(h: &mut Harness) -> Vec<String> {
    h.out()
        .into_iter()
        .filter_map(|m| match m {
            Message::Response(r) => r.headers.get("Call-ID").map(str::to_string),
            Message::Request(_) => None,
        })
        .collect()
}

#[tokio::test]
async fn server_transactions_match_branch_sent_by_method_and_transport() {
    // RFC 3261 §17.2.3; issue 13: another peer reusing a branch got the first
    // request's stored answer (its Call-ID and Via).
    let mut h = harness();
    let a = SocketAddr::from(([127, 0, 0, 2], 5070));
    let b = SocketAddr::from(([127, 0, 0, 3], 5080));
    let t = Duration::from_millis(10);
    h.feed(
        t,
        Dest::Udp(a),
        &options("o-1", "127.0.0.2:5070", "z9hG4bKsame"),
    );
    let first = h.stack.out.drain(..).map(|(_, b)| b).collect::<Vec<_>>();
    assert_eq!(first.len(), 1);
    assert!(String::from_utf8_lossy(&first[0]).contains("Call-ID: o-1"));
    // A true retransmission gets the stored answer again, byte for byte (same To tag).
    h.feed(
        t,
        Dest::Udp(a),
        &options("o-1", "127.0.0.2:5070", "z9hG4bKsame"),
    );
    let again = h.stack.out.drain(..).map(|(_, b)| b).collect::<Vec<_>>();
    assert_eq!(again, first);
    // Same branch, other sent-by: a new transaction with its own answer.
    h.feed(
        t,
        Dest::Udp(b),
        &options("o-2", "127.0.0.3:5080", "z9hG4bKsame"),
    );
    assert_eq!(call_ids(&mut h), vec!["o-2"]);
    // Same branch and sent-by over TCP: another transport, another transaction.
    h.feed(
        t,
        Dest::Tcp(7, a),
        &options("o-3", "127.0.0.2:5070", "z9hG4bKsame"),
    );
    assert_eq!(call_ids(&mut h), vec!["o-3"]);
    // Same branch, same sent-by, other method (CSeq and request line): new.
    let reg_like = options("o-4", "127.0.0.2:5070", "z9hG4bKsame")
        .replace("OPTIONS sip", "INFO sip")
        .replace("1 OPTIONS", "1 INFO");
    h.feed(t, Dest::Udp(a), &reg_like);
    assert_eq!(call_ids(&mut h), vec!["o-4"]);
    // RFC 2543 peer (no magic cookie): matched on the whole request identity,
    // so two different calls with the same old-style branch are distinct.
    h.feed(t, Dest::Udp(a), &options("o-5", "127.0.0.2:5070", "old1"));
    h.feed(t, Dest::Udp(a), &options("o-6", "127.0.0.2:5070", "old1"));
    assert_eq!(call_ids(&mut h), vec!["o-5", "o-6"]);
}

/// Issue 13: above `max_calls_in_setup` calls in setup (INVITE received, not
/// answered nor ended), a new INVITE gets 503 with Retry-After and no leg;
/// answering or cancelling frees a place.
#[tokio::test]
async fn invites_over_the_setup_limit_get_503_with_retry_after() {
    let mut h = harness_with(|c| {
        c.max_calls_in_setup = Some(2);
        c.overload_retry_after = Duration::from_secs(3);
    });
    let (first, _) = offer(&mut h, "s-1");
    let (second, _) = offer(&mut h, "s-2");
    assert_eq!(h.stack.calls_in_setup(), 2);
    assert_eq!(
        h.stack
            .in_setup_count
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    h.feed(Duration::from_millis(10), trunk(), &invite("s-3"));
    let out = h.out();
    assert_eq!(out.len(), 1, "{out:?}");
    let Message::Response(r) = &out[0] else {
        panic!("a response expected: {out:?}")
    };
    assert_eq!((r.status, r.headers.get("Retry-After")), (503, Some("3")));
    assert_eq!(h.event(), None, "no leg for a shed INVITE");
    assert_eq!(h.stack.legs.len(), 2);
    // Answered: out of setup, a new call gets in.
    answer(&mut h, first, Duration::from_millis(20));
    h.out();
    assert_eq!(h.stack.calls_in_setup(), 1);
    let (_fourth, _) = offer(&mut h, "s-4");
    assert_eq!(h.stack.calls_in_setup(), 2);
    // Cancelled: out of setup too.
    let cancel = invite("s-4")
        .replace("INVITE sip", "CANCEL sip")
        .replace("1 INVITE", "1 CANCEL");
    h.feed(Duration::from_millis(30), trunk(), &cancel);
    assert_eq!(h.statuses(), vec![200, 487]);
    assert_eq!(h.stack.calls_in_setup(), 1);
    assert_eq!(
        h.stack
            .in_setup_count
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // Ended by the engine before answer (reject): out as well.
    let (tx, _rx) = oneshot::channel();
    h.stack.on_command(
        h.t0 + Duration::from_millis(40),
        Command::HangUp(second, tx),
    );
    assert_eq!(h.stack.calls_in_setup(), 0);
}

/// Issue 13: the engine's IVR limit refuses an offered call with 503 and
/// `Retry-After` (not the 480 of a plain reject), and the leg is gone.
#[tokio::test]
async fn an_engine_overload_refusal_is_503_with_retry_after() {
    let mut h = harness_with(|c| c.overload_retry_after = Duration::from_secs(4));
    let (leg, _) = offer(&mut h, "ivr-full");
    h.out();
    let (tx, rx) = oneshot::channel();
    h.stack.on_command(
        h.t0 + Duration::from_millis(10),
        Command::RefuseOverload(leg, tx),
    );
    let out = h.out();
    let statuses: Vec<(u16, Option<String>)> = out
        .iter()
        .filter_map(|m| match m {
            Message::Response(r) => {
                Some((r.status, r.headers.get("Retry-After").map(str::to_string)))
            }
            Message::Request(_) => None,
        })
        .collect();
    assert_eq!(statuses, vec![(503, Some("4".to_string()))]);
    assert!(matches!(rx.await, Ok(Ok(()))));
    assert!(!h.stack.legs.contains_key(&leg));
    assert_eq!(h.stack.calls_in_setup(), 0);
}

/// A restart keeps the phones (issue 13): the registration is reported as
/// a `Bindings` event with a wall-clock expiry, and a new stack given that
/// binding calls the phone without it registering again.
#[tokio::test]
async fn registrations_survive_a_restart() {
    let mut h = harness();
    h.stack.set_wall_clock(h.t0, 1_780_000_000_000);
    let saved = register(&mut h);
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].contact, "sip:2001@127.0.0.1:5072");
    assert_eq!(saved[0].source, SocketAddr::from(([127, 0, 0, 1], 5072)));
    assert!(saved[0].expires_at_ms > 1_780_000_000_000);

    // The next run: 10 s later, the same binding, no REGISTER.
    let mut h2 = harness_with(|c| c.restore_bindings = saved.clone());
    h2.stack.set_wall_clock(h2.t0, 1_780_000_010_000);
    let (_, inv) = originate(&mut h2, Duration::from_secs(5));
    assert_eq!(inv.uri, "sip:2001@127.0.0.1:5072");

    // A binding that lapsed meanwhile is not taken back.
    let mut h3 = harness_with(|c| c.restore_bindings = saved);
    h3.stack
        .set_wall_clock(h3.t0, 1_780_000_000_000 + 24 * 3600 * 1000);
    let (tx, mut rx) = oneshot::channel();
    h3.stack.on_command(
        h3.t0,
        Command::Originate("2001".into(), "+3361".into(), Duration::from_secs(5), tx),
    );
    assert!(
        matches!(rx.try_recv(), Ok(Err(_))),
        "not registered any more"
    );
}

/// A hold re-INVITE the far end never answers (issue 12): at Timer B the
/// engine gets a 408 refusal and the dialog ends with BYE (RFC 3261 §14.1,
/// §8.1.3.1), instead of the hold staying pending for ever.
#[tokio::test]
async fn a_hold_re_invite_never_answered_times_out_at_timer_b() {
    let mut h = harness();
    let (leg, tag) = offer(&mut h, "c-hold");
    answer(&mut h, leg, Duration::ZERO);
    h.feed(
        Duration::from_millis(100),
        trunk(),
        &in_dialog("ACK", "c-hold", &tag, 1),
    );
    assert_eq!(h.event(), Some(CallEvent::Answered { leg }));
    h.out();
    let (tx, mut rx) = oneshot::channel();
    h.stack
        .on_command(h.t0 + Duration::from_secs(1), Command::Hold(leg, true, tx));
    let sent = h.out();
    assert!(
        sent.iter()
            .any(|m| matches!(m, Message::Request(r) if r.method == Method::Invite)),
        "re-INVITE sent"
    );
    h.stack.on_tick(h.t0 + Duration::from_secs(32));
    assert!(rx.try_recv().is_err(), "still pending before Timer B");
    h.stack.on_tick(h.t0 + Duration::from_millis(33_001));
    assert!(matches!(
        rx.try_recv(),
        Ok(Err(crate::control::VoiceError::Refused(408)))
    ));
    assert!(
        h.out()
            .iter()
            .any(|m| matches!(m, Message::Request(r) if r.method == Method::Bye)),
        "the dialog ends with BYE"
    );
    let mut hung_up = false;
    while let Some(e) = h.event() {
        hung_up |=
            matches!(e, CallEvent::HungUp { leg: l, cause: HangupCause::Timeout, .. } if l == leg);
    }
    assert!(hung_up, "the engine hears the end");
}

/// Issue 13: a confirmed dialog is announced with what a BYE needs (and
/// again when our CSeq moves), its end is announced, and a new stack given
/// the saved dialogs sends each a BYE at start (RFC 3261 §15.1.1): next
/// CSeq, the peer's Contact as Request-URI, our tag in From, theirs in To,
/// Route from the route set; a 481 or Timer F ends the transaction.
#[tokio::test]
async fn dialogs_of_a_crashed_run_get_a_bye_at_start() {
    let mut h = harness();
    h.stack.set_wall_clock(h.t0, 1_780_000_000_000);
    let (leg, tag) = offer(&mut h, "c-dlg");
    answer(&mut h, leg, Duration::ZERO);
    h.feed(
        Duration::from_millis(100),
        trunk(),
        &in_dialog("ACK", "c-dlg", &tag, 1),
    );
    let Some(CallEvent::DialogConfirmed(d)) = h.dialog_event() else {
        panic!("DialogConfirmed expected")
    };
    assert_eq!(d.call_id, "c-dlg");
    assert_eq!(d.local_tag, tag);
    assert!(d.local.ends_with(&format!(";tag={tag}")), "{}", d.local);
    assert_eq!(d.remote, "<sip:+3361@127.0.0.2>;tag=c1");
    assert_eq!(d.remote_target, "sip:+3361@127.0.0.2:5070");
    assert_eq!((d.transport.as_str(), d.peer), ("udp", trunk().addr()));
    assert_eq!(d.saved_at_ms, 1_780_000_000_100);
    let cseq0 = d.local_cseq;
    // A hold re-INVITE raises our CSeq: announced again.
    let (tx, _rx) = oneshot::channel();
    h.stack
        .on_command(h.t0 + Duration::from_secs(1), Command::Hold(leg, true, tx));
    let Some(CallEvent::DialogConfirmed(d2)) = h.dialog_event() else {
        panic!("DialogConfirmed after the re-INVITE expected")
    };
    assert_eq!(d2.local_cseq, cseq0 + 1);
    // Its end is announced (the engine forgets it).
    h.feed(
        Duration::from_secs(2),
        trunk(),
        &in_dialog("BYE", "c-dlg", &tag, 2),
    );
    assert_eq!(
        h.dialog_event(),
        Some(CallEvent::DialogEnded {
            call_id: "c-dlg".into(),
        })
    );

    // The next run after a crash, with the dialog as it was saved and a
    // route set.
    let mut saved = d2.clone();
    saved.route_set = vec!["<sip:p1.example.net;lr>".into()];
    let mut other = d2.clone();
    other.call_id = "c-other".into();
    let mut h2 = harness_with(|c| c.restore_dialogs = vec![saved.clone(), other]);
    h2.stack.set_wall_clock(h2.t0, 1_780_000_060_000);
    let sent = h2.stack.out.clone();
    let byes: Vec<Request> = h2
        .out()
        .into_iter()
        .filter_map(|m| match m {
            Message::Request(r) if r.method == Method::Bye => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(byes.len(), 2, "one BYE per saved dialog");
    assert!(sent.iter().all(|(dest, _)| *dest == trunk()), "to the peer");
    let bye = &byes[0];
    assert_eq!(bye.uri, "sip:+3361@127.0.0.2:5070");
    assert_eq!(bye.headers.get("Call-ID"), Some("c-dlg"));
    assert_eq!(bye.headers.get("From"), Some(saved.local.as_str()));
    assert_eq!(bye.headers.get("To"), Some(saved.remote.as_str()));
    assert_eq!(bye.headers.get("Route"), Some("<sip:p1.example.net;lr>"));
    assert_eq!(
        bye.headers.get("CSeq"),
        Some(format!("{} BYE", cseq0 + 2).as_str())
    );
    assert_eq!(byes[1].headers.get("Call-ID"), Some("c-other"));
    assert_eq!(h2.stack.restored_byes.len(), 2);
    // The peer forgot the first one: 481 ends its transaction (no resend).
    let answer = Response::for_request(bye, 481, "Call/Transaction Does Not Exist", None);
    h2.stack.on_datagram(
        h2.t0 + Duration::from_millis(50),
        trunk(),
        &answer.to_bytes(),
    );
    assert_eq!(h2.stack.restored_byes.len(), 1);
    // The second one is never answered: resent (Timer E), then given up
    // at Timer F (64·T1).
    h2.stack.on_tick(h2.t0 + Duration::from_millis(600));
    let resent: Vec<_> = h2.out();
    assert!(
        resent.iter().all(
            |m| matches!(m, Message::Request(r) if r.headers.get("Call-ID") == Some("c-other"))
        ) && !resent.is_empty(),
        "only the unanswered BYE is resent"
    );
    h2.stack.on_tick(h2.t0 + Duration::from_secs(33));
    assert!(h2.stack.restored_byes.is_empty(), "Timer F");
    h2.stack.on_tick(h2.t0 + Duration::from_secs(40));
    assert!(h2.out().is_empty(), "no resend after Timer F");
}

/// Backpressure must not stop the engine's commands: with the call events
/// channel full and events waiting in the backlog, the driver reads no new
/// SIP input but still answers commands (the engine may be awaiting one,
/// and only the engine drains the channel: before, both waited for each
/// other under load and the whole platform hung). The backlog then reaches
/// the engine in order.
#[tokio::test]
async fn commands_are_answered_while_call_events_wait_for_room() {
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = udp.local_addr().unwrap();
    let peer = tokio::net::UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let peer_port = peer.local_addr().unwrap().port();
    let cfg = harness().stack.cfg.clone();
    let (ev_tx, mut events) = mpsc::channel(1);
    let (media_tx, media_rx) = mpsc::channel(super::MEDIA_EVENTS);
    let (cmd_tx, cmd_rx) = mpsc::channel(super::COMMANDS);
    let (_in_tx, in_rx) = mpsc::channel(1);
    let dir = Arc::new(MemoryDirectory::new([("2001", "pw")]));
    let stack = Stack::new(cfg, local, dir, ev_tx, media_tx, Instant::now());
    tokio::spawn(super::drive(stack, udp, in_rx, cmd_rx, media_rx));

    // Two INVITEs: the first call's event fills the channel, the second's
    // waits in the backlog. Their 100 Trying show both were taken.
    let mut buf = vec![0u8; 4096];
    for call_id in ["bp-1", "bp-2"] {
        let msg = invite(call_id).replace(
            "127.0.0.2:5070;branch",
            &format!("127.0.0.2:{peer_port};branch"),
        );
        peer.send_to(msg.as_bytes(), local).await.unwrap();
        loop {
            let (n, _) = tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf))
                .await
                .expect("the stack answers the INVITE")
                .unwrap();
            if let Ok(Message::Response(r)) = parse(&buf[..n])
                && r.status == 100
                && r.headers.get("Call-ID") == Some(call_id)
            {
                break;
            }
        }
    }
    // Nobody reads the events, yet a command is answered.
    let (reply, answer) = oneshot::channel();
    cmd_tx
        .send(Command::Answer(LegId(999_999), reply))
        .await
        .unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(5), answer)
        .await
        .expect("a command is answered while the engine is behind")
        .unwrap();
    assert!(answered.is_err(), "unknown leg: {answered:?}");
    // Then both calls reach the engine, in order (legs are numbered as
    // they come).
    let mut incoming = Vec::new();
    while incoming.len() < 2 {
        if let CallEvent::Incoming { leg, .. } =
            tokio::time::timeout(Duration::from_secs(5), events.recv())
                .await
                .expect("the backlog moves on")
                .unwrap()
        {
            incoming.push(leg.0);
        }
    }
    assert!(incoming[0] < incoming[1], "{incoming:?}");
}
