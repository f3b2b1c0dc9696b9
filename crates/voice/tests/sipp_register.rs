//! Registrar against a real peer: sipp (Debian `sip-tester`) registers with
//! digest auth; a wrong password is refused with 403.

mod common;

use common::{free_ports, next_event, sipp, start_stack};
use voice::CallEvent;
use voice::registrar::RegistrationChange;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_with_digest_then_wrong_password_is_refused() {
    let (handle, mut events) = start_stack().await;
    let target = handle.local_addr();
    let port = free_ports([127, 0, 0, 1], 1).to_string();
    let code = sipp(
        target,
        "register.xml",
        &["-s", "2001", "-au", "2001", "-ap", "agentpw", "-p", &port],
    )
    .wait()
    .await;
    assert_eq!(code, 0, "sipp register scenario failed");
    assert_eq!(
        next_event(&mut events).await,
        CallEvent::Registration(RegistrationChange::Registered {
            user: "2001".into(),
            contacts: 1
        })
    );
    let port = free_ports([127, 0, 0, 1], 1).to_string();
    let code = sipp(
        target,
        "register_wrong.xml",
        &["-s", "2002", "-au", "2002", "-ap", "wrong", "-p", &port],
    )
    .wait()
    .await;
    assert_eq!(code, 0, "wrong password must get 403");
    // Same answer for a user that does not exist.
    let port = free_ports([127, 0, 0, 1], 1).to_string();
    let code = sipp(
        target,
        "register_wrong.xml",
        &["-s", "9999", "-au", "9999", "-ap", "x", "-p", &port],
    )
    .wait()
    .await;
    assert_eq!(code, 0, "unknown user must get 403");
    handle.shutdown().await;
}
