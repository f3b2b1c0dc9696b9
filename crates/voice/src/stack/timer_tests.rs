//! Session timers (RFC 4028) and session refreshes (UPDATE, re-INVITE with or
//! without SDP) through the stack on a virtual clock, with the minimum
//! lowered so that intervals of seconds can be used.

use super::tests::{Harness, answer, harness_with, in_dialog, invite, reply_to, trunk};
use crate::control::{CallEvent, HangupCause, LegId};
use crate::sip::message::{Message, Method, Request, Response, header_param};
use std::time::Duration;

fn timed_harness() -> Harness {
    harness_with(|c| {
        c.session_expires = Some(Duration::from_secs(20));
        c.session_min_se = Duration::from_secs(10);
    })
}

/// An INVITE with extra headers before the Content-Type.
fn invite_with(call_id: &str, extra: &str) -> String {
    invite(call_id).replace(
        "Content-Type: application/sdp",
        &format!("{extra}Content-Type: application/sdp"),
    )
}

/// Offer, answer and ACK a call; returns the leg, our To tag and our 200.
fn established(h: &mut Harness, call_id: &str, extra: &str) -> (LegId, String, Response) {
    h.feed(Duration::ZERO, trunk(), &invite_with(call_id, extra));
    h.out();
    let Some(CallEvent::Incoming { leg, .. }) = h.event() else {
        panic!("Incoming expected")
    };
    answer(h, leg, Duration::ZERO);
    let Some(Message::Response(ok)) = h.out().pop() else {
        panic!("200 expected")
    };
    assert_eq!(ok.status, 200);
    let tag = header_param(ok.headers.get("To").unwrap_or(""), "tag")
        .unwrap_or("")
        .to_string();
    h.feed(Duration::ZERO, trunk(), &in_dialog("ACK", call_id, &tag, 1));
    assert_eq!(h.event(), Some(CallEvent::Answered { leg }));
    (leg, tag, ok)
}

/// Step the clock by 100 ms ticks from `from` to `to`; the requests sent.
fn run(h: &mut Harness, from: Duration, to: Duration) -> Vec<(Duration, Request)> {
    let mut sent = Vec::new();
    let mut t = from;
    while t < to {
        t += Duration::from_millis(100);
        h.stack.on_tick(h.t0 + t);
        for m in h.out() {
            if let Message::Request(r) = m {
                sent.push((t, r));
            }
        }
    }
    sent
}

#[tokio::test]
async fn an_interval_below_our_minimum_gets_422_with_min_se() {
    let mut h = timed_harness();
    h.feed(
        Duration::ZERO,
        trunk(),
        &invite_with("st-1", "Supported: timer\r\nSession-Expires: 5\r\n"),
    );
    let Some(Message::Response(r)) = h.out().pop() else {
        panic!("422 expected")
    };
    assert_eq!(r.status, 422);
    assert_eq!(r.headers.get("Min-SE"), Some("10"));
    assert_eq!(h.event(), None, "no leg is created");
    // Timers off and the caller requires them: 420.
    let mut off = harness_with(|c| c.session_expires = None);
    off.feed(
        Duration::ZERO,
        trunk(),
        &invite_with("st-2", "Require: timer\r\nSession-Expires: 1800\r\n"),
    );
    let Some(Message::Response(r)) = off.out().pop() else {
        panic!("420 expected")
    };
    assert_eq!(
        (r.status, r.headers.get("Unsupported")),
        (420, Some("timer"))
    );
}

#[tokio::test]
async fn when_the_caller_refreshes_and_stops_we_send_bye_before_expiry() {
    let mut h = timed_harness();
    let extra = "Supported: timer\r\nSession-Expires: 15;refresher=uac\r\n";
    let (leg, tag, ok) = established(&mut h, "st-3", extra);
    assert_eq!(ok.headers.get("Session-Expires"), Some("15;refresher=uac"));
    assert_eq!(ok.headers.get("Require"), Some("timer"));
    // The caller refreshes with UPDATE at 7 s: 200 with Session-Expires.
    assert!(run(&mut h, Duration::ZERO, Duration::from_secs(7)).is_empty());
    let update = in_dialog("UPDATE", "st-3", &tag, 2).replace(
        "Content-Length: 0",
        "Supported: timer\r\nSession-Expires: 15;refresher=uac\r\nContent-Length: 0",
    );
    h.feed(Duration::from_secs(7), trunk(), &update);
    let Some(Message::Response(r)) = h.out().pop() else {
        panic!("200 to UPDATE expected")
    };
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("Session-Expires"), Some("15;refresher=uac"));
    // Then nothing: the session ends at 7 + 15 − 15/3 = 17 s with our BYE.
    let sent = run(&mut h, Duration::from_secs(7), Duration::from_secs(18));
    let (at, bye) = sent.first().expect("a BYE");
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(*at, Duration::from_secs(17));
    assert!(matches!(
        h.event(),
        Some(CallEvent::HungUp { leg: l, cause: HangupCause::Timeout, .. }) if l == leg
    ));
}

#[tokio::test]
async fn we_refresh_with_reinvite_at_half_the_interval_when_the_peer_cannot_update() {
    let mut h = timed_harness();
    // No timer support at the caller: we refresh, 20 s (our value).
    let (leg, _tag, ok) = established(&mut h, "st-4", "");
    assert_eq!(ok.headers.get("Session-Expires"), Some("20;refresher=uas"));
    assert_eq!(
        ok.headers.get("Require"),
        None,
        "the caller does not know timers"
    );
    let sent = run(&mut h, Duration::ZERO, Duration::from_secs(10));
    let [(at, reinvite)] = sent.as_slice() else {
        panic!("one refresh expected: {sent:?}")
    };
    assert_eq!(*at, Duration::from_secs(10));
    assert_eq!(reinvite.method, Method::Invite);
    assert_eq!(
        reinvite.headers.get("Session-Expires"),
        Some("20;refresher=uac")
    );
    assert!(
        !reinvite.body.is_empty(),
        "a re-INVITE refresh carries our SDP"
    );
    // The caller accepts: we ACK, and the next refresh is 10 s later.
    let ok = reply_to(reinvite, 200, "c1", true);
    h.feed(Duration::from_millis(10_200), trunk(), &ok);
    assert!(matches!(h.out().as_slice(), [Message::Request(a)] if a.method == Method::Ack));
    let sent = run(
        &mut h,
        Duration::from_millis(10_200),
        Duration::from_millis(20_200),
    );
    let [(at, again)] = sent.as_slice() else {
        panic!("the second refresh expected: {sent:?}")
    };
    assert_eq!(*at, Duration::from_millis(20_200));
    assert_eq!(again.method, Method::Invite);
    // This one gets 481: the dialog is gone at the far end, we end it (BYE).
    let gone = reply_to(again, 481, "c1", false);
    h.feed(Duration::from_millis(20_300), trunk(), &gone);
    let out = h.out();
    assert!(
        out.iter()
            .any(|m| matches!(m, Message::Request(r) if r.method == Method::Bye))
    );
    assert!(matches!(
        h.event(),
        Some(CallEvent::HungUp { leg: l, cause: HangupCause::Timeout, .. }) if l == leg
    ));
}

#[tokio::test]
async fn we_refresh_with_update_when_allowed_and_expire_without_an_answer() {
    let mut h = timed_harness();
    let (leg, _tag, _) = established(&mut h, "st-5", "Allow: INVITE, ACK, BYE, UPDATE\r\n");
    let sent = run(&mut h, Duration::ZERO, Duration::from_secs(10));
    let [(_, update)] = sent.as_slice() else {
        panic!("one refresh expected: {sent:?}")
    };
    assert_eq!(update.method.as_str(), "UPDATE");
    assert!(update.body.is_empty());
    assert!(
        update.headers.get("Contact").is_some(),
        "UPDATE is a target refresh"
    );
    // No answer at all (retransmissions only): BYE at 20 − 20/3 s.
    let sent = run(&mut h, Duration::from_secs(10), Duration::from_secs(14));
    let bye = sent
        .iter()
        .find(|(_, r)| r.method == Method::Bye)
        .expect("BYE at expiry");
    assert_eq!(bye.0, Duration::from_millis(13_400));
    assert!(matches!(
        h.event(),
        Some(CallEvent::HungUp { leg: l, cause: HangupCause::Timeout, .. }) if l == leg
    ));
}

#[tokio::test]
async fn a_refresh_reinvite_without_sdp_gets_our_offer_and_the_ack_answers_it() {
    let mut h = timed_harness();
    let extra = "Supported: timer\r\nSession-Expires: 15;refresher=uac\r\n";
    let (leg, tag, _) = established(&mut h, "st-6", extra);
    let reinvite = in_dialog("INVITE", "st-6", &tag, 2).replace(
        "Content-Length: 0",
        "Supported: timer\r\nSession-Expires: 15;refresher=uac\r\nContent-Length: 0",
    );
    h.feed(Duration::from_secs(7), trunk(), &reinvite);
    let Some(Message::Response(ok)) = h.out().pop() else {
        panic!("200 expected")
    };
    assert_eq!(ok.status, 200);
    assert_eq!(ok.headers.get("Session-Expires"), Some("15;refresher=uac"));
    let offer = crate::sdp::parse(&ok.body).expect("our offer");
    assert_eq!(offer.payload_types, vec![0, 101], "the session as it is");
    // Retransmitted until the ACK, which answers sendonly (the caller holds).
    h.stack.on_tick(h.t0 + Duration::from_millis(7_500));
    assert!(matches!(h.out().as_slice(), [Message::Response(r)] if r.status == 200));
    let answer = SDP_SENDONLY;
    let ack = in_dialog("ACK", "st-6", &tag, 2).replace(
        "Content-Length: 0\r\n\r\n",
        &format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        ),
    );
    h.feed(Duration::from_millis(7_600), trunk(), &ack);
    assert!(h.out().is_empty());
    assert_eq!(h.event(), None, "the call goes on");
    assert!(run(&mut h, Duration::from_millis(7_600), Duration::from_secs(9)).is_empty());
    // The refresh counted: the session now ends at 7 + 15 − 5 = 17 s, not 10 s.
    let sent = run(&mut h, Duration::from_secs(9), Duration::from_secs(17));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.method, Method::Bye);
    assert!(matches!(
        h.event(),
        Some(CallEvent::HungUp { leg: l, cause: HangupCause::Timeout, .. }) if l == leg
    ));
    // A second one whose ACK has no answer ends the call.
    let mut h = timed_harness();
    let (leg2, tag, _) = established(&mut h, "st-7", "");
    h.feed(
        Duration::from_secs(1),
        trunk(),
        &in_dialog("INVITE", "st-7", &tag, 2),
    );
    assert!(matches!(h.out().as_slice(), [Message::Response(r)] if r.status == 200));
    h.feed(
        Duration::from_secs(1),
        trunk(),
        &in_dialog("ACK", "st-7", &tag, 2),
    );
    assert!(matches!(h.out().as_slice(), [Message::Request(r)] if r.method == Method::Bye));
    assert!(matches!(
        h.event(),
        Some(CallEvent::HungUp { leg: l, cause: HangupCause::Rejected(488), .. }) if l == leg2
    ));
}

const SDP_SENDONLY: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
                            m=audio 7000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";
