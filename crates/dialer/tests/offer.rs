//! An answered call offered to an agent counts as connected only once the
//! engine bridges it; a person who hangs up while the agent's phone rings
//! (or after the agent let it ring out) is an abandoned call for the cap
//! (FTC TSR 16 CFR 310.4(b)(4)(i); Ofcom 2016 statement A1.3).

use dialer::*;
use domain::{AgentId, PhoneNumber, Timestamp};

const AGENT: AgentId = AgentId(7);

/// A progressive campaign with one contact and one ready agent, run to
/// the live answer: returns the dialer, the attempt and the answer time.
fn answered() -> (Dialer, AttemptId, Timestamp) {
    let t0 = Timestamp::from_millis(1_764_576_000_000);
    let cfg = CampaignConfig {
        mode: DialMode::Progressive,
        window: CallingWindow::always(),
        ..CampaignConfig::default()
    };
    let mut d = Dialer::new(t0, cfg).unwrap();
    d.handle_contacts_added(t0, vec![contact(1)]);
    d.handle_agent_available(t0, AGENT);
    d.handle_start(t0);
    let t1 = d.poll_timeout().unwrap();
    d.handle_timeout(t1);
    let Some(Action::PlaceCall { attempt, .. }) = d.poll_action() else {
        panic!("no call placed");
    };
    let t2 = t1.add_millis(8_000);
    d.handle_outcome(t2, attempt, Outcome::AnsweredLive)
        .unwrap();
    assert_eq!(
        d.poll_action(),
        Some(Action::ConnectAgent {
            attempt,
            agent: AGENT,
            contact: ContactId(1)
        })
    );
    (d, attempt, t2)
}

#[test]
fn an_offered_call_is_connected_at_the_bridge_not_at_the_offer() {
    let (mut d, attempt, t) = answered();
    assert_eq!(d.counters().connected, 0, "ringing at the agent only");
    d.handle_outcome(t.add_millis(3_000), attempt, Outcome::AgentConnected(AGENT))
        .unwrap();
    let c = d.counters();
    assert_eq!((c.live, c.connected, c.abandoned), (1, 1, 0));
    // once bridged, a hang-up is the end of a call, not an abandon
    assert!(matches!(
        d.handle_outcome(t.add_millis(60_000), attempt, Outcome::Abandoned),
        Err(DialerError::UnexpectedOutcome(..))
    ));
}

#[test]
fn a_person_hanging_up_while_the_agent_phone_rings_is_an_abandon() {
    let (mut d, attempt, t) = answered();
    d.handle_outcome(t.add_millis(12_000), attempt, Outcome::Abandoned)
        .unwrap();
    let c = d.counters();
    assert_eq!((c.live, c.connected, c.abandoned), (1, 0, 1));
    let (rate_24h, _) = d.abandon_rate_pct(t.add_millis(12_000));
    assert!(
        (rate_24h - 100.0).abs() < 1e-9,
        "one live answer, one abandon: {rate_24h} %"
    );
    // the attempt is over and dispositioned as abandoned
    let mut closed = None;
    while let Some(a) = d.poll_action() {
        if let Action::Dispositioned {
            attempt: a,
            disposition,
        } = a
        {
            closed = Some((a, disposition));
        }
    }
    assert_eq!(closed, Some((attempt, SystemDisposition::Abandoned)));
    assert!(matches!(
        d.handle_outcome(
            t.add_millis(13_000),
            attempt,
            Outcome::AgentConnected(AGENT)
        ),
        Err(DialerError::UnknownAttempt(_))
    ));
}

#[test]
fn an_agent_freed_during_the_offer_stays_free_after_the_abandon() {
    let (mut d, attempt, t) = answered();
    // The offer was cancelled and the agent is ready again before the
    // engine reports the person's hang-up.
    d.handle_agent_available(t.add_millis(20_000), AGENT);
    d.handle_outcome(t.add_millis(21_000), attempt, Outcome::Abandoned)
        .unwrap();
    let c = d.counters();
    assert_eq!((c.connected, c.abandoned), (0, 1));
    d.handle_contacts_added(t.add_millis(21_000), vec![contact(2)]);
    assert_eq!(placed(&mut d, t.add_millis(25_000)), vec![ContactId(2)]);
}

#[test]
fn an_agent_whose_offer_was_abandoned_waits_for_the_engine_to_say_ready() {
    let (mut d, attempt, t) = answered();
    d.handle_outcome(t.add_millis(12_000), attempt, Outcome::Abandoned)
        .unwrap();
    d.handle_contacts_added(t.add_millis(12_000), vec![contact(2)]);
    assert_eq!(placed(&mut d, t.add_millis(16_000)), vec![]);
    d.handle_agent_available(t.add_millis(16_000), AGENT);
    assert_eq!(placed(&mut d, t.add_millis(20_000)), vec![ContactId(2)]);
}

fn contact(id: i64) -> Contact {
    Contact {
        id: ContactId(id),
        number: PhoneNumber::try_from(format!("+3361234567{id}")).unwrap(),
        tz: jiff::tz::TimeZone::UTC,
        consent: Consent::Given,
        customer: None,
    }
}

/// Run the dialer to `t` and return the contacts it called.
fn placed(d: &mut Dialer, t: Timestamp) -> Vec<ContactId> {
    let mut out = Vec::new();
    loop {
        while let Some(a) = d.poll_action() {
            if let Action::PlaceCall { contact, .. } = a {
                out.push(contact);
            }
        }
        match d.poll_timeout().filter(|&at| at <= t) {
            Some(at) => d.handle_timeout(at),
            None => return out,
        }
    }
}

/// Run the dialer to `t`; the contacts previewed on the way (and when
/// each auto-dials). Panics on a call placed.
fn previewed(d: &mut Dialer, t: Timestamp) -> Vec<(ContactId, Option<Timestamp>)> {
    let mut out = Vec::new();
    loop {
        while let Some(a) = d.poll_action() {
            match a {
                Action::Preview {
                    contact,
                    auto_dial_at,
                    ..
                } => out.push((contact, auto_dial_at)),
                Action::PlaceCall { contact, .. } => panic!("dialled {contact:?}"),
                _ => {}
            }
        }
        match d.poll_timeout().filter(|&at| at <= t) {
            Some(at) => d.handle_timeout(at),
            None => return out,
        }
    }
}

fn preview_campaign(contacts: Vec<Contact>) -> (Dialer, Timestamp) {
    let t0 = Timestamp::from_millis(1_764_576_000_000);
    let cfg = CampaignConfig {
        mode: DialMode::Preview {
            auto_dial_s: Some(30),
        },
        window: CallingWindow::always(),
        ..CampaignConfig::default()
    };
    let mut d = Dialer::new(t0, cfg).unwrap();
    d.handle_contacts_added(t0, contacts);
    d.handle_agent_available(t0, AGENT);
    d.handle_start(t0);
    (d, t0)
}

#[test]
fn a_skipped_preview_gives_the_next_contact_at_once_and_never_auto_dials() {
    let (mut d, t0) = preview_campaign(vec![contact(1), contact(2)]);
    let got = previewed(&mut d, t0.add_millis(1_000));
    assert_eq!(got.len(), 1, "{got:?}");
    let (first, auto) = got[0];
    assert_eq!(first, ContactId(1));
    let t1 = t0.add_millis(5_000);
    assert_eq!(d.handle_preview_skip(t1, AGENT).unwrap(), ContactId(1));
    assert_eq!(
        previewed(&mut d, t1),
        vec![(ContactId(2), Some(t1.add_millis(30_000)))],
        "the next contact at once"
    );
    // contact 1's auto-dial time passes: nothing is dialled
    assert!(auto.is_some_and(|a| a < t1.add_millis(30_000)));
    assert_eq!(previewed(&mut d, t1.add_millis(29_000)), vec![]);
    assert!(matches!(
        d.handle_preview_skip(t1, AgentId(99)),
        Err(DialerError::NoPreview(_))
    ));
}

#[test]
fn a_skipped_contact_comes_back_an_hour_later() {
    let (mut d, t0) = preview_campaign(vec![contact(1)]);
    assert_eq!(previewed(&mut d, t0.add_millis(1_000)).len(), 1);
    let t1 = t0.add_millis(5_000);
    d.handle_preview_skip(t1, AGENT).unwrap();
    assert_eq!(
        previewed(&mut d, t1.add_millis(PREVIEW_SKIP_DELAY_MS - 1_000)),
        vec![],
        "not before the hour"
    );
    let again = previewed(&mut d, t1.add_millis(PREVIEW_SKIP_DELAY_MS + 1_000));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].0, ContactId(1));
}
