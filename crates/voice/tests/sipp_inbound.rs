//! Inbound calls from a trunk with a real peer (sipp): answer, prompt with
//! barge-in, RFC 2833 DTMF digits collected, platform hang-up; and refusal of
//! calls from an IP that is neither a trunk nor a registered phone.

mod common;

use common::{TRUNK_IP, free_ports, next_event, sipp, start_stack, tone_wav, wait_for};
use std::time::Duration;
use voice::{CallControl, CallEvent, CollectEnd, HangupCause};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunk_call_answered_prompt_barged_in_and_digits_collected() {
    let (handle, mut events) = start_stack().await;
    let sip_port = free_ports(TRUNK_IP, 1).to_string();
    let media_port = free_ports(TRUNK_IP, 4).to_string();
    let caller = sipp(
        handle.local_addr(),
        "caller_dtmf.xml",
        &[
            "-s",
            "3900",
            "-i",
            "127.0.0.2",
            "-p",
            &sip_port,
            "-mp",
            &media_port,
        ],
    );
    let CallEvent::Incoming {
        leg,
        caller: from,
        callee,
        trunk,
        entry_point,
        from_user,
    } = next_event(&mut events).await
    else {
        panic!("expected an incoming call first");
    };
    assert_eq!(from, "+33612345678");
    assert_eq!(callee, "3900");
    assert_eq!(trunk.as_deref(), Some("operator"));
    assert_eq!(entry_point.as_deref(), Some("main-ivr"));
    assert_eq!(from_user, None);
    handle.answer(leg).await.expect("answer");
    assert_eq!(next_event(&mut events).await, CallEvent::Answered { leg });
    handle
        .play(leg, tone_wav("prompt", 5000), true)
        .await
        .expect("play");
    let h2 = handle.clone();
    let collect = tokio::spawn(async move {
        h2.collect_digits(leg, 6, Duration::from_secs(15), Some('#'))
            .await
    });
    let mut digits = String::new();
    let mut barged = false;
    while digits.len() < 3 {
        match next_event(&mut events).await {
            CallEvent::Dtmf { leg: l, digit, .. } => {
                assert_eq!(l, leg);
                digits.push(digit);
            }
            CallEvent::PromptFinished {
                leg: l,
                interrupted,
            } => {
                assert_eq!(l, leg);
                assert!(interrupted, "the first digit stops the 5 s prompt");
                barged = true;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(digits, "12#");
    assert!(barged, "barge-in reported");
    let collected = collect.await.expect("join").expect("collect");
    assert_eq!(collected.digits, "12");
    assert_eq!(collected.end, CollectEnd::Terminator);
    handle.hang_up(leg).await.expect("hang up");
    let CallEvent::HungUp {
        leg: l,
        cause,
        rx_packets,
        tx_packets,
    } = wait_for(&mut events, |e| matches!(e, CallEvent::HungUp { .. })).await
    else {
        unreachable!()
    };
    assert_eq!((l, cause), (leg, HangupCause::Local));
    // 3 digits x 10 RFC 2833 packets in the pcaps; the hang-up follows the first
    // end packet of '#', so its 2 retransmissions may arrive after the leg closed.
    assert!(
        (28..=30).contains(&rx_packets),
        "received {rx_packets} DTMF packets"
    );
    assert!(
        tx_packets >= 10,
        "prompt audio was sent before barge-in ({tx_packets})"
    );
    assert_eq!(caller.wait().await, 0, "sipp caller scenario failed");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_from_unknown_ip_is_refused_with_403() {
    let (handle, mut events) = start_stack().await;
    let sip_port = free_ports([127, 0, 0, 3], 1).to_string();
    let media_port = free_ports([127, 0, 0, 3], 4).to_string();
    let code = sipp(
        handle.local_addr(),
        "caller_refused.xml",
        &[
            "-s",
            "3900",
            "-i",
            "127.0.0.3",
            "-p",
            &sip_port,
            "-mp",
            &media_port,
        ],
    )
    .wait()
    .await;
    assert_eq!(code, 0, "sipp expected 403");
    // No call reached the engine (an Incoming event would have been queued
    // before the final answer was sent).
    assert_eq!(events.try_recv(), None);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_call_through_the_trunk_with_its_caller_id() {
    let (handle, mut events) = start_stack().await;
    let port = common::trunk_port().to_string();
    let media_port = free_ports(TRUNK_IP, 4).to_string();
    let switch = sipp(
        handle.local_addr(),
        "trunk_uas.xml",
        &["-i", "127.0.0.2", "-p", &port, "-mp", &media_port],
    );
    // If sipp is not bound yet, INVITE retransmission (Timer A) covers it.
    let leg = handle
        .originate_trunk(
            "operator".into(),
            "+33698765432".into(),
            None,
            Duration::from_secs(10),
        )
        .await
        .expect("originate through trunk");
    assert_eq!(next_event(&mut events).await, CallEvent::Ringing { leg });
    assert_eq!(next_event(&mut events).await, CallEvent::Answered { leg });
    handle.hang_up(leg).await.expect("hang up");
    let e = wait_for(&mut events, |e| matches!(e, CallEvent::HungUp { .. })).await;
    assert!(matches!(
        e,
        CallEvent::HungUp {
            cause: HangupCause::Local,
            ..
        }
    ));
    assert_eq!(
        switch.wait().await,
        0,
        "sipp switch checks number and caller-ID"
    );
    let unknown = handle
        .originate_trunk("nope".into(), "1".into(), None, Duration::from_secs(1))
        .await;
    assert!(unknown.is_err());
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_cancel_while_ringing_gets_487_and_a_clear_event() {
    let (handle, mut events) = start_stack().await;
    let sip_port = free_ports(TRUNK_IP, 1).to_string();
    let media_port = free_ports(TRUNK_IP, 4).to_string();
    let caller = sipp(
        handle.local_addr(),
        "caller_cancel.xml",
        &[
            "-s",
            "3900",
            "-i",
            "127.0.0.2",
            "-p",
            &sip_port,
            "-mp",
            &media_port,
        ],
    );
    let CallEvent::Incoming { leg, .. } = next_event(&mut events).await else {
        panic!("incoming call expected");
    };
    // The engine does not answer; the caller gives up.
    let e = next_event(&mut events).await;
    assert!(
        matches!(e, CallEvent::HungUp { leg: l, cause: HangupCause::Cancelled, .. } if l == leg),
        "{e:?}"
    );
    assert_eq!(caller.wait().await, 0, "sipp expected 200 and 487");
    assert!(handle.answer(leg).await.is_err(), "a cancelled leg is gone");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcement_before_answer_is_early_media() {
    let (handle, mut events) = start_stack().await;
    let sip_port = free_ports(TRUNK_IP, 1).to_string();
    let media_port = free_ports(TRUNK_IP, 4).to_string();
    let caller = sipp(
        handle.local_addr(),
        "caller_early.xml",
        &[
            "-s",
            "3900",
            "-i",
            "127.0.0.2",
            "-p",
            &sip_port,
            "-mp",
            &media_port,
        ],
    );
    let CallEvent::Incoming { leg, .. } = next_event(&mut events).await else {
        panic!("incoming call expected");
    };
    handle
        .play(leg, tone_wav("early", 1000), false)
        .await
        .expect("play before answer");
    assert_eq!(
        next_event(&mut events).await,
        CallEvent::PromptFinished {
            leg,
            interrupted: false
        }
    );
    handle
        .answer(leg)
        .await
        .expect("answer after the announcement");
    assert_eq!(next_event(&mut events).await, CallEvent::Answered { leg });
    let e = wait_for(&mut events, |e| matches!(e, CallEvent::HungUp { .. })).await;
    let CallEvent::HungUp {
        cause, tx_packets, ..
    } = e
    else {
        unreachable!()
    };
    assert_eq!(cause, HangupCause::RemoteBye);
    assert_eq!(
        tx_packets, 50,
        "1 s announcement = 50 packets of 20 ms, all before the 200"
    );
    assert_eq!(
        caller.wait().await,
        0,
        "sipp expected 183 with SDP then 200"
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_offer_caller_gets_our_offer_and_answers_in_the_ack() {
    let (handle, mut events) = start_stack().await;
    let sip_port = free_ports(TRUNK_IP, 1).to_string();
    let media_port = free_ports(TRUNK_IP, 4).to_string();
    let caller = sipp(
        handle.local_addr(),
        "caller_late_offer.xml",
        &[
            "-s",
            "3900",
            "-i",
            "127.0.0.2",
            "-p",
            &sip_port,
            "-mp",
            &media_port,
        ],
    );
    let CallEvent::Incoming { leg, .. } = next_event(&mut events).await else {
        panic!("incoming call expected, not a 488");
    };
    handle.answer(leg).await.expect("answer with our offer");
    assert_eq!(next_event(&mut events).await, CallEvent::Answered { leg });
    // The prompt reaches the address of the ACK's SDP answer: without it the
    // leg would have nowhere to send (sipp sends no RTP to latch on).
    handle
        .play(leg, tone_wav("late", 200), false)
        .await
        .expect("play");
    let e = wait_for(&mut events, |e| matches!(e, CallEvent::HungUp { .. })).await;
    let CallEvent::HungUp {
        cause, tx_packets, ..
    } = e
    else {
        unreachable!()
    };
    assert_eq!(cause, HangupCause::RemoteBye);
    assert!(tx_packets > 0, "audio sent to the answered address");
    assert_eq!(
        caller.wait().await,
        0,
        "sipp expected our SDP offer (PCMU, PCMA, telephone-event) in the 200"
    );
    handle.shutdown().await;
}
