//! Every node kind on small inline flows.

use domain::{Channel, CustomerId, Segment, Timestamp};
use ivr::trace::DigitUse;
use ivr::{Action, CallContext, IvrSession, Outcome, PromptCatalog, load_flow};
use std::sync::Arc;

fn cat() -> PromptCatalog {
    let mut c = PromptCatalog::new();
    for l in ["fr", "en"] {
        for p in ["a", "b", "invalid_choice", "no_input", "sorry_technical"] {
            c.insert(l, p);
        }
        for g in [ivr::say::Grammar::French, ivr::say::Grammar::English] {
            if g.language() == l {
                for w in g.words() {
                    c.insert(l, &w);
                }
            }
        }
    }
    c
}

fn session(nodes: &str, ctx: CallContext) -> IvrSession {
    // `end` (a hang-up) is added when some node goes there.
    let end = if nodes.contains(": end") {
        "  end:\n    type: hangup\n"
    } else {
        ""
    };
    let text = format!(
        "name: t\nlanguages: [fr, en]\nstart: s\ncalendars:\n  cal:\n    hours: {{ mon-sun: \"00:00-24:00\" }}\n    holidays: [2026-12-25]\nnodes:\n{nodes}{end}"
    );
    let flow = load_flow("t.yaml", &text, &cat()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut s = IvrSession::new(Arc::new(flow));
    s.handle_start(t0(), ctx);
    s
}

fn t0() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-30T09:00:00Z").expect("t")
}

fn drain(s: &mut IvrSession) -> Vec<Action> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

fn names(a: &[Action]) -> Vec<String> {
    a.iter()
        .filter_map(|x| match x {
            Action::Play { prompts, .. } => Some(prompts.iter().map(|p| p.name.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

fn visited(s: &IvrSession) -> Vec<String> {
    s.trace().nodes.iter().map(|v| v.node.clone()).collect()
}

#[test]
fn play_without_barge_in_ignores_digits_and_with_barge_in_skips() {
    let mut s = session(
        "  s:\n    type: play\n    prompts: [a, en:b]\n    next: p2\n  p2:\n    type: play\n    prompts: a\n    barge_in: true\n    next: end\n",
        CallContext::default(),
    );
    let a = drain(&mut s);
    assert_eq!(
        a,
        [Action::Play {
            prompts: vec![
                ivr::Prompt {
                    lang: "fr".into(),
                    name: "a".into()
                },
                ivr::Prompt {
                    lang: "en".into(),
                    name: "b".into()
                }
            ],
            barge_in: false
        }]
    );
    s.handle_dtmf(t0(), '5');
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.trace().digits[0].use_, DigitUse::Ignored);
    s.handle_prompt_done(t0());
    assert!(matches!(
        drain(&mut s)[..],
        [Action::Play { barge_in: true, .. }]
    ));
    s.handle_dtmf(t0(), '5');
    assert_eq!(drain(&mut s), [Action::Hangup]);
    assert_eq!(s.trace().outcome, Some(Outcome::HungUp));
}

#[test]
fn set_goto_and_transfer_with_templates() {
    let mut s = session(
        "  s:\n    type: set\n    vars: { target: \"+229{{ext}}\", greeting: hi }\n    next: g\n  g:\n    type: goto\n    target: x\n  x:\n    type: transfer\n    number: \"{{target}}\"\n",
        CallContext {
            vars: [("ext".to_string(), "21300000".to_string())].into(),
            ..CallContext::default()
        },
    );
    assert_eq!(
        drain(&mut s),
        [Action::Transfer {
            number: "+22921300000".into()
        }]
    );
    assert_eq!(s.var("greeting"), Some("hi"));
    assert_eq!(visited(&s), ["s", "g", "x"]);
    assert_eq!(
        s.trace().outcome,
        Some(Outcome::Transferred {
            number: "+22921300000".into()
        })
    );
}

#[test]
fn set_language_from_a_variable_and_store_it() {
    let mut s = session(
        "  s:\n    type: set_language\n    language: \"{{wanted}}\"\n    next: p\n  p:\n    type: play\n    prompts: a\n    next: end\n",
        CallContext {
            vars: [("wanted".to_string(), "en".to_string())].into(),
            ..CallContext::default()
        },
    );
    let a = drain(&mut s);
    assert_eq!(a[0], Action::StoreLanguage { lang: "en".into() });
    assert!(matches!(&a[1], Action::Play { prompts, .. } if prompts[0].lang == "en"));
    // An undeclared language from a variable is ignored (no store).
    let mut s = session(
        "  s:\n    type: set_language\n    language: \"{{wanted}}\"\n    next: end\n",
        CallContext {
            vars: [("wanted".to_string(), "xx".to_string())].into(),
            ..CallContext::default()
        },
    );
    assert_eq!(drain(&mut s), [Action::Hangup]);
    assert_eq!(s.language(), "fr");
}

fn branch(when: &str, ctx: CallContext) -> bool {
    let nodes = format!(
        "  s:\n    type: condition\n    branches:\n      - when: {when}\n        goto: yes\n    else: end\n  yes:\n    type: transfer\n    number: \"1\"\n"
    );
    let mut s = session(&nodes, ctx);
    drain(&mut s).first() == Some(&Action::Transfer { number: "1".into() })
}

#[test]
fn condition_kinds() {
    let vars = |k: &str, v: &str| CallContext {
        vars: [(k.to_string(), v.to_string())].into(),
        ..CallContext::default()
    };
    assert!(branch("{ var: n, gt: 2 }", vars("n", "10")));
    assert!(!branch("{ var: n, lt: 2 }", vars("n", "10")));
    assert!(branch("{ var: n, eq: \"abc\" }", vars("n", "abc")));
    assert!(branch("{ var: n, ne: \"abc\" }", CallContext::default()));
    assert!(!branch("{ var: n, eq: \"abc\" }", CallContext::default()));
    assert!(branch("{ var: n, exists: false }", CallContext::default()));
    assert!(branch("{ var: n, exists: true }", vars("n", "x")));
    assert!(branch(
        "{ var: n, eq: \"{{m}}\" }",
        CallContext {
            vars: [("n".into(), "7".into()), ("m".into(), "7".into())].into(),
            ..CallContext::default()
        }
    ));
    let vip = CallContext {
        segment: Some(Segment::Vip),
        ..CallContext::default()
    };
    assert!(branch("{ segment: [vip, business] }", vip.clone()));
    assert!(!branch("{ segment: general }", vip.clone()));
    assert!(branch("{ segment: general }", CallContext::default()));
    assert!(branch(
        "{ known_customer: true }",
        CallContext {
            customer_id: Some(CustomerId(1)),
            ..CallContext::default()
        }
    ));
    assert!(branch("{ known_customer: false }", CallContext::default()));
    assert!(branch("{ called_before: false }", CallContext::default()));
    assert!(branch("{ open: cal }", CallContext::default()));
    assert!(!branch("{ holiday: cal }", CallContext::default()));
    assert!(branch("{ not: { closed: cal } }", CallContext::default()));
    assert!(branch(
        "{ any: [{ maintenance: true }, { overloaded: false }] }",
        CallContext::default()
    ));
    assert!(!branch(
        "{ all: [{ maintenance: true }, { overloaded: false }] }",
        CallContext::default()
    ));
    assert!(
        !branch("{ no_agents: q }", CallContext::default()),
        "unknown count is not zero"
    );
    assert!(branch(
        "{ no_agents: q }",
        CallContext {
            agents_logged_in: [("q".to_string(), 0)].into(),
            ..CallContext::default()
        }
    ));
}

#[test]
fn say_number_digits_in_both_languages() {
    let nodes = "  s:\n    type: say\n    value: \"{{v}}\"\n    as: number\n    next: d\n  d:\n    type: say\n    value: \"{{v}}\"\n    as: digits\n    barge_in: true\n    next: end\n";
    let ctx = |lang: &str| CallContext {
        language: Some(lang.into()),
        vars: [("v".to_string(), "95".to_string())].into(),
        ..CallContext::default()
    };
    let mut s = session(nodes, ctx("fr"));
    assert_eq!(names(&drain(&mut s)), ["num_80", "num_15"]);
    s.handle_prompt_done(t0());
    assert_eq!(names(&drain(&mut s)), ["num_9", "num_5"]);
    let mut s = session(nodes, ctx("en"));
    assert_eq!(names(&drain(&mut s)), ["num_90", "num_5"]);
    // Unsayable value: skip to next (no on_error given).
    let mut s = session(
        nodes,
        CallContext {
            vars: [("v".to_string(), "x".to_string())].into(),
            ..CallContext::default()
        },
    );
    assert_eq!(drain(&mut s), [Action::Hangup]);
}

const COLLECT: &str = "  s:\n    type: collect\n    prompts: a\n    var: code\n    min_digits: 2\n    max_digits: 6\n    terminator: \"#\"\n    timeout_ms: 3000\n    inter_digit_timeout_ms: 1000\n    retries: 1\n    next: ok\n    on_failure: end\n  ok:\n    type: transfer\n    number: \"{{code}}\"\n";

#[test]
fn collect_terminator_timeout_and_failure() {
    let mut s = session(COLLECT, CallContext::default());
    assert_eq!(
        drain(&mut s)[1],
        Action::CollectDigits {
            min: 2,
            max: 6,
            terminator: Some('#'),
            timeout_ms: 3000
        }
    );
    for d in ['1', '*', '2', '3', '#'] {
        s.handle_dtmf(t0(), d);
    }
    assert_eq!(
        drain(&mut s),
        [Action::Transfer {
            number: "123".into()
        }]
    );

    // Inter-digit time-out with enough digits accepts them.
    let mut s = session(COLLECT, CallContext::default());
    drain(&mut s);
    s.handle_dtmf(t0(), '4');
    s.handle_dtmf(t0(), '2');
    assert_eq!(s.poll_timeout(), Some(t0().add_millis(1000)));
    s.handle_timeout(t0().add_millis(1000));
    assert_eq!(
        drain(&mut s),
        [Action::Transfer {
            number: "42".into()
        }]
    );

    // Too few digits then silence: one retry, then on_failure.
    let mut s = session(COLLECT, CallContext::default());
    drain(&mut s);
    s.handle_dtmf(t0(), '4');
    s.handle_timeout(t0().add_millis(1000));
    assert_eq!(names(&drain(&mut s)), ["invalid_choice", "a"]);
    s.handle_prompt_done(t0().add_millis(2000));
    s.handle_timeout(t0().add_millis(5000));
    assert_eq!(drain(&mut s), [Action::Hangup]);
}

#[test]
fn send_message_waits_for_the_end_of_the_call() {
    let mut s = session(
        "  s:\n    type: send_message\n    text: \"Call {{caller}} back\"\n    next: q\n  q:\n    type: queue\n    queue: support\n    priority_boost: 5\n",
        CallContext {
            segment: Some(Segment::Business),
            ..CallContext::default()
        },
    );
    let a = drain(&mut s);
    assert_eq!(
        a[0],
        Action::Queue {
            queue: "support".into(),
            priority: 55,
            segment: Segment::Business
        }
    );
    assert_eq!(
        a[1],
        Action::SendMessage {
            channel: Channel::Sms,
            to: None,
            text: "Call  back".into()
        }
    );
}

#[test]
fn menu_digits_after_the_end_are_ignored() {
    let mut s = session(
        "  s:\n    type: menu\n    prompts: a\n    options: { \"1\": end }\n    on_failure: end\n",
        CallContext::default(),
    );
    drain(&mut s);
    s.handle_dtmf(t0(), '1');
    assert_eq!(drain(&mut s), [Action::Hangup]);
    s.handle_dtmf(t0(), '1');
    s.handle_prompt_done(t0());
    s.handle_timeout(t0().add_millis(100_000));
    s.handle_hangup(t0());
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.trace().outcome, Some(Outcome::HungUp));
}

#[test]
fn long_chains_hit_the_step_guard_and_hang_up() {
    let mut nodes = String::new();
    let n = ivr::session::MAX_STEPS + 5;
    for i in 0..n {
        let name = if i == 0 {
            "s".to_string()
        } else {
            format!("n{i}")
        };
        let next = if i + 1 == n {
            "end".to_string()
        } else {
            format!("n{}", i + 1)
        };
        nodes.push_str(&format!("  {name}:\n    type: goto\n    target: {next}\n"));
    }
    let mut s = session(&nodes, CallContext::default());
    assert_eq!(drain(&mut s), [Action::Hangup]);
    assert!(matches!(s.trace().outcome, Some(Outcome::Aborted { .. })));
}

#[test]
fn a_stray_key_during_collect_prompts_keeps_the_prompt_and_timer() {
    use ivr::SessionState;
    let mut s = session(COLLECT, CallContext::default());
    drain(&mut s);
    s.handle_dtmf(t0(), '*');
    assert_eq!(s.state(), SessionState::Playing, "still playing the prompt");
    assert_eq!(
        s.poll_timeout(),
        Some(t0().add_millis(ivr::session::PLAY_GUARD_MS)),
        "only the play guard"
    );
    s.handle_prompt_done(t0().add_millis(2000));
    assert_eq!(s.state(), SessionState::Listening);
    assert_eq!(s.poll_timeout(), Some(t0().add_millis(5000)));
}

#[test]
fn a_lost_end_of_playback_does_not_strand_the_call() {
    use ivr::session::PLAY_GUARD_MS;
    let mut s = session(
        "  s:\n    type: play\n    prompts: a\n    next: m\n  m:\n    type: menu\n    prompts: b\n    options: { \"1\": end }\n    on_failure: end\n",
        CallContext::default(),
    );
    assert_eq!(names(&drain(&mut s)), ["a"]);
    // The voice layer never says the prompt ended: the guard moves on.
    let guard = s.poll_timeout().expect("guard");
    assert_eq!(guard, t0().add_millis(PLAY_GUARD_MS));
    s.handle_timeout(guard);
    assert_eq!(names(&drain(&mut s)), ["b"]);
    // Same for the menu prompt: the guard ends it, then the menu listens.
    let guard2 = s.poll_timeout().expect("guard");
    s.handle_timeout(guard2);
    assert_eq!(s.state(), ivr::SessionState::Listening);
    assert_eq!(s.poll_timeout(), Some(guard2.add_millis(5000)));
}
