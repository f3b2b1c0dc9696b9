//! A campaign resumed after a restart (issue 15): the restored history is
//! what the rules read — a contact due later is not called before its time,
//! one whose call died with the old process is called again at once (its
//! attempt counted), a closed one never, and the attempt cap counts the
//! attempts made before the restart.

use dialer::*;
use domain::{AgentId, PhoneNumber, Timestamp};

fn contact(id: i64, n: &str) -> Contact {
    Contact {
        id: ContactId(id),
        number: PhoneNumber::try_from(n.to_string()).unwrap(),
        tz: jiff::tz::TimeZone::UTC,
        consent: Consent::Given,
        customer: None,
    }
}

fn progress(state: ProgressState, attempts: u32) -> ContactProgress {
    ContactProgress {
        state,
        attempts,
        retries: [attempts, 0, 0, 0, 0],
        recent: Vec::new(),
        last_abandoned: None,
    }
}

/// Run the dialer to `t` and return the contacts it called.
fn placed(d: &mut Dialer, t: Timestamp) -> Vec<ContactId> {
    let mut out = Vec::new();
    while let Some(at) = d.poll_timeout().filter(|&at| at <= t) {
        d.handle_timeout(at);
        while let Some(a) = d.poll_action() {
            if let Action::PlaceCall { contact, .. } = a {
                out.push(contact);
            }
        }
    }
    out
}

#[test]
fn restored_contacts_are_called_by_their_history() {
    let t0 = Timestamp::from_millis(1_764_576_000_000);
    let cfg = CampaignConfig {
        mode: DialMode::Progressive,
        window: CallingWindow::always(),
        ..CampaignConfig::default()
    };
    let mut d = Dialer::new(t0, cfg.clone()).unwrap();
    let later = t0.add_millis(600_000);
    let skipped = d.handle_contacts_restored(
        t0,
        vec![
            (
                contact(1, "+33611111111"),
                progress(ProgressState::Due(later), 1),
            ),
            (
                contact(2, "+33622222222"),
                progress(ProgressState::InFlight, 1),
            ),
            (
                contact(3, "+33633333333"),
                progress(ProgressState::Closed, 2),
            ),
            (
                contact(4, "+33644444444"),
                progress(ProgressState::Due(t0), cfg.retry.max_attempts),
            ),
            (
                contact(5, "+33622222222"),
                progress(ProgressState::Due(t0), 0),
            ),
        ],
    );
    assert_eq!(
        skipped,
        vec![ContactId(5)],
        "a number listed twice is skipped"
    );
    d.handle_counters_restored(Counters {
        dialed: 4,
        busy: 3,
        ..Counters::default()
    });
    for a in 1..=4 {
        d.handle_agent_available(t0, AgentId(a));
    }
    d.handle_start(t0);
    assert_eq!(
        placed(&mut d, t0.add_millis(599_000)),
        vec![ContactId(2)],
        "only the call that died with the old process, at once"
    );
    assert_eq!(
        d.contact_progress(ContactId(4)).unwrap().state,
        ProgressState::Closed,
        "the attempt cap counts attempts made before the restart"
    );
    assert_eq!(placed(&mut d, later.add_millis(1_000)), vec![ContactId(1)]);
    assert_eq!(
        d.counters().dialed,
        6,
        "counted on from the restored figures"
    );
    let p = d.contact_progress(ContactId(1)).unwrap();
    assert_eq!(
        (p.state, p.attempts, p.recent.len()),
        (ProgressState::InFlight, 2, 1)
    );
    assert_eq!(
        d.contact_progress(ContactId(3)).unwrap().state,
        ProgressState::Closed
    );
}
