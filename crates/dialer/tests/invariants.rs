//! Property tests: over random agent log-ins/log-outs, wrap-ups, call
//! outcomes, DNC additions and clock steps, the dialer never has more
//! unconnected calls in flight than its pacing limit, never dials outside
//! the calling window, never dials a DNC number, and never has two calls to
//! one number at once.

use std::collections::{HashMap, HashSet};

use dialer::*;
use domain::{AgentId, DispositionId, PhoneNumber, Timestamp};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Login(u8),
    Logout(u8),
    WrapUp(u8),
    Outcome(u8, u8),
    Dnc(u8),
    Advance(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..8).prop_map(Op::Login),
        (0u8..8).prop_map(Op::Logout),
        (0u8..8).prop_map(Op::WrapUp),
        ((0u8..16), (0u8..7)).prop_map(|(a, b)| Op::Outcome(a, b)),
        (0u8..40).prop_map(Op::Dnc),
        (1u32..3_600_000).prop_map(Op::Advance),
    ]
}

fn mode() -> impl Strategy<Value = DialMode> {
    prop_oneof![
        Just(DialMode::Progressive),
        Just(DialMode::Predictive),
        Just(DialMode::AdaptTapered)
    ]
}

const ZONES: [&str; 3] = ["Europe/Paris", "America/New_York", "Asia/Tokyo"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn dialer_keeps_its_rules(mode in mode(), ops in prop::collection::vec(op(), 1..250), start_h in 0i64..168) {
        // a Monday 00:00Z plus up to a week
        let t0 = Timestamp::parse_rfc3339("2026-11-30T00:00:00Z").unwrap().add_millis(start_h * 3_600_000);
        let window = CallingWindow::france_2022_1313();
        let cfg = CampaignConfig { mode, window: window.clone(), ..CampaignConfig::default() };
        let mut d = Dialer::new(t0, cfg).unwrap();
        let contacts: Vec<Contact> = (0..40)
            .map(|i| Contact {
                id: ContactId(i),
                number: PhoneNumber::try_from(format!("+336000000{:02}", i % 37)).unwrap(),
                tz: jiff::tz::db().get(ZONES[(i % 3) as usize]).unwrap(),
                consent: if i % 11 == 5 { Consent::Refused } else { Consent::Given },
                customer: None,
            })
            .collect();
        let by_id: HashMap<ContactId, Contact> = contacts.iter().map(|c| (c.id, c.clone())).collect();
        d.handle_contacts_added(t0, contacts);
        d.handle_start(t0);
        let mut now = t0;
        let mut dnc: HashSet<PhoneNumber> = HashSet::new();
        let mut in_flight: HashMap<AttemptId, PhoneNumber> = HashMap::new();
        let mut ringing: Vec<AttemptId> = Vec::new();
        let mut connected: HashMap<u8, AttemptId> = HashMap::new();
        for op in ops {
            match op {
                Op::Login(a) => d.handle_agent_available(now, AgentId(i64::from(a))),
                Op::Logout(a) => { connected.remove(&a); d.handle_agent_logged_out(now, AgentId(i64::from(a))) }
                Op::WrapUp(a) => {
                    d.handle_agent_wrap_up(now, AgentId(i64::from(a)), now.add_millis(10_000));
                    if let Some(at) = connected.remove(&a) {
                        let _ = d.handle_outcome(now, at, Outcome::Disposition { code: DispositionId(1), callback_at: None });
                    }
                }
                Op::Outcome(k, o) => {
                    if !ringing.is_empty() {
                        let at = ringing[k as usize % ringing.len()];
                        let outcome = [Outcome::AnsweredLive, Outcome::AnsweredMachine, Outcome::Busy, Outcome::NoAnswer, Outcome::Failed, Outcome::Abandoned, Outcome::AnsweredLive][o as usize];
                        if d.handle_outcome(now, at, outcome).is_ok() && outcome != Outcome::AnsweredLive {
                            ringing.retain(|&x| x != at);
                        }
                    }
                }
                Op::Dnc(i) => {
                    let n = PhoneNumber::try_from(format!("+336000000{:02}", i % 37)).unwrap();
                    dnc.insert(n.clone());
                    d.handle_dnc_added(now, n, if i % 2 == 0 { DncScope::Global } else { DncScope::Campaign });
                }
                Op::Advance(ms) => {
                    let target = now.add_millis(i64::from(ms));
                    while let Some(t) = d.poll_timeout().filter(|&t| t <= target) {
                        now = t;
                        d.handle_timeout(now);
                        drain(&mut d, now, &window, &by_id, &dnc, &mut in_flight, &mut ringing, &mut connected)?;
                    }
                    now = target;
                    d.handle_timeout(now);
                }
            }
            drain(&mut d, now, &window, &by_id, &dnc, &mut in_flight, &mut ringing, &mut connected)?;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn drain(
    d: &mut Dialer,
    now: Timestamp,
    window: &CallingWindow,
    by_id: &HashMap<ContactId, Contact>,
    dnc: &HashSet<PhoneNumber>,
    in_flight: &mut HashMap<AttemptId, PhoneNumber>,
    ringing: &mut Vec<AttemptId>,
    connected: &mut HashMap<u8, AttemptId>,
) -> Result<(), TestCaseError> {
    let mut placed = false;
    while let Some(a) = d.poll_action() {
        match a {
            Action::PlaceCall {
                attempt,
                contact,
                number,
                ring_timeout_ms,
                ..
            } => {
                placed = true;
                prop_assert!(ring_timeout_ms >= 15_000);
                prop_assert!(!dnc.contains(&number), "dialled DNC {number}");
                let c = &by_id[&contact];
                prop_assert!(c.consent != Consent::Refused);
                prop_assert!(
                    window.is_open(now, &c.tz),
                    "dialled {number} outside the window at {now}"
                );
                prop_assert!(
                    !in_flight.values().any(|n| *n == number),
                    "two calls to {number}"
                );
                in_flight.insert(attempt, number);
                ringing.push(attempt);
            }
            Action::ConnectAgent { attempt, agent, .. } => {
                ringing.retain(|&x| x != attempt);
                connected.insert(agent.0 as u8, attempt);
                // the agent answers the offer at once
                prop_assert!(
                    d.handle_outcome(now, attempt, Outcome::AgentConnected(agent))
                        .is_ok()
                );
            }
            Action::Dispositioned { attempt, .. } => {
                ringing.retain(|&x| x != attempt);
                in_flight.remove(&attempt);
            }
            Action::ContactClosed { .. } => {}
            _ => {}
        }
    }
    // a disposition after a connected call frees the number
    in_flight.retain(|a, _| ringing.contains(a) || connected.values().any(|c| c == a));
    if placed {
        prop_assert!(
            d.calls_in_flight() <= d.pacing_limit(),
            "{} in flight > limit {}",
            d.calls_in_flight(),
            d.pacing_limit()
        );
    }
    Ok(())
}
