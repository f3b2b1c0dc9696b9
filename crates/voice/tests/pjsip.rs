//! Real peer #2: PJSIP (PyPI `pjsua2-python`, null audio device) registers with
//! digest auth (wrong password refused), places a call and sends RFC 2833
//! DTMF, and is called by the platform. Needs `python3` with `pjsua2`; fails
//! loudly without it.

mod common;

use common::{WAIT, next_event, start_stack, wait_for};
use std::process::Stdio;
use std::time::Duration;
use voice::registrar::RegistrationChange;
use voice::{CallControl, CallEvent, CollectEnd, HangupCause};

fn phone(args: &[&str]) -> tokio::process::Child {
    let script = common::scenario("").join("../pjsua/phone.py");
    tokio::process::Command::new("python3")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 with pjsua2 (pip install pjsua2-python) is required")
}

async fn exit_code(mut child: tokio::process::Child) -> i32 {
    tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("pjsua phone finished in time")
        .expect("status")
        .code()
        .unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pjsip_registers_and_a_wrong_password_is_refused() {
    let (handle, mut events) = start_stack().await;
    let server = handle.local_addr().to_string();
    let ok = phone(&["register", &server, "2001", "agentpw", "200"]);
    assert_eq!(exit_code(ok).await, 0, "PJSIP registration with digest");
    assert!(matches!(
        next_event(&mut events).await,
        CallEvent::Registration(RegistrationChange::Registered { ref user, .. }) if user == "2001"
    ));
    let bad = phone(&["register", &server, "2002", "wrong", "403"]);
    assert_eq!(exit_code(bad).await, 0, "wrong password gets 403");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pjsip_calls_the_trunk_number_and_its_dtmf_is_collected() {
    let (handle, mut events) = start_stack().await;
    let server = handle.local_addr().to_string();
    let caller = phone(&["call", &server, "127.0.0.2", "3900", "42"]);
    let CallEvent::Incoming { leg, callee, .. } = next_event(&mut events).await else {
        panic!("incoming call expected");
    };
    assert_eq!(callee, "3900");
    handle.answer(leg).await.expect("answer");
    let got = handle
        .collect_digits(leg, 2, Duration::from_secs(20), None)
        .await
        .expect("collect");
    assert_eq!(
        (got.digits.as_str(), got.end),
        ("42", CollectEnd::MaxDigits)
    );
    handle.hang_up(leg).await.expect("hang up");
    let e = wait_for(&mut events, |e| matches!(e, CallEvent::HungUp { .. })).await;
    assert!(matches!(
        e,
        CallEvent::HungUp {
            cause: HangupCause::Local,
            ..
        }
    ));
    assert_eq!(exit_code(caller).await, 0, "PJSIP caller saw the call end");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_calls_a_registered_pjsip_phone() {
    let (handle, mut events) = start_stack().await;
    let server = handle.local_addr().to_string();
    let agent = phone(&["answer", &server, "2001", "agentpw"]);
    assert!(matches!(
        next_event(&mut events).await,
        CallEvent::Registration(RegistrationChange::Registered { .. })
    ));
    let leg = handle
        .originate(
            "2001".into(),
            "+33612345678".into(),
            Duration::from_secs(10),
        )
        .await
        .expect("originate");
    wait_for(&mut events, |e| *e == CallEvent::Answered { leg }).await;
    handle.hang_up(leg).await.expect("hang up");
    let e = wait_for(&mut events, |e| matches!(e, CallEvent::HungUp { .. })).await;
    assert!(matches!(e, CallEvent::HungUp { leg: l, cause: HangupCause::Local, .. } if l == leg));
    assert_eq!(
        exit_code(agent).await,
        0,
        "PJSIP phone answered and saw the BYE"
    );
    handle.shutdown().await;
}
