//! Bad input: random YAML never panics the loader; DTMF storms, garbage and
//! hanging lookups never break a session nor leave it in a dead end.

mod common;
use common::*;
use domain::{Segment, Timestamp};
use ivr::{
    Action, CallContext, IvrSession, LookupError, LookupId, PromptCatalog, SessionState, load_flow,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn demo_text() -> String {
    std::fs::read_to_string(repo().join("config/demo/flows/main.yaml")).expect("main.yaml")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_text_never_panics_the_loader(text in "\\PC{0,400}") {
        let cat = PromptCatalog::new();
        if let Err(e) = load_flow("r.yaml", &text, &cat) {
            prop_assert!(!e.0.is_empty());
            prop_assert!(e.0.iter().all(|x| x.location.line >= 1 && x.location.column >= 1));
        }
    }

    #[test]
    fn yaml_like_text_never_panics_the_loader(
        lines in prop::collection::vec(
            (0usize..4, prop::sample::select(vec![
                "name:", "type:", "nodes:", "start:", "- ", "prompts:", "options:", "next:",
                "when:", "branches:", "{", "}", "[", "]", "\"1\":", "&a", "*a", "!!str", "menu",
                "collect", "say", "http", "sql", "queue", "offer_channels", "? ", "---", "|",
                "languages: [fr]", "on_failure:", "result:", "/rows/0", "{{x}}", "'", "\"",
            ]), "[a-z0-9_ :]{0,8}"),
            0..40,
        )
    ) {
        let text: String = lines
            .iter()
            .map(|(indent, tok, rest)| format!("{}{}{}\n", "  ".repeat(*indent), tok, rest))
            .collect();
        let _ = load_flow("r.yaml", &text, &catalog());
    }

    #[test]
    fn mutated_demo_flow_never_panics_the_loader(
        cuts in prop::collection::vec((any::<prop::sample::Index>(), 0usize..6, "\\PC{0,6}"), 1..6)
    ) {
        let mut text = demo_text();
        for (at, len, insert) in cuts {
            let mut i = at.index(text.len().max(1));
            while i > 0 && !text.is_char_boundary(i) { i -= 1; }
            let mut j = (i + len).min(text.len());
            while j < text.len() && !text.is_char_boundary(j) { j += 1; }
            text.replace_range(i..j, &insert);
        }
        let _ = load_flow("main.yaml", &text, &catalog());
    }

    #[test]
    fn random_calls_never_panic_nor_dead_end(
        maintenance in any::<bool>(),
        lang in prop::option::of(prop::sample::select(vec!["fr", "en", "wo", "de"])),
        before in any::<bool>(),
        seg in prop::option::of(prop::sample::select(vec![Segment::Mass, Segment::Business, Segment::Vip])),
        inputs in prop::collection::vec((0u8..6, any::<char>(), 0u8..6), 0..120),
    ) {
        let ctx = CallContext {
            caller: Some(caller()),
            language: lang.map(str::to_string),
            has_called_before: before,
            segment: seg,
            maintenance,
            ..CallContext::default()
        };
        let mut now = open_time();
        let mut s = start("main", now, ctx);
        let mut lookup: Option<LookupId> = None;
        for (what, c, answer) in inputs {
            now = now.add_millis(700);
            for a in drain(&mut s) {
                if let Action::Lookup { id, .. } = a { lookup = Some(id); }
            }
            check_invariant(&s)?;
            match what {
                0 => s.handle_dtmf(now, c),
                1 => s.handle_dtmf(now, char::from(b'0' + (u32::from(c) % 10) as u8)),
                2 => s.handle_prompt_done(now),
                3 => if let Some(d) = s.poll_timeout() { now = now.max(d); s.handle_timeout(now) },
                4 => if let Some(id) = lookup { s.handle_lookup_result(now, id, garbage(answer)) },
                _ => if c == 'x' { s.handle_hangup(now) },
            }
        }
        // Drive to the end with silence, failing lookups and prompt ends:
        // every path must end (queue, hang-up, transfer) within a bound.
        for _ in 0..200 {
            if s.is_finished() { break; }
            for a in drain(&mut s) {
                if let Action::Lookup { id, .. } = a { lookup = Some(id); }
            }
            check_invariant(&s)?;
            match s.state() {
                SessionState::Playing => s.handle_prompt_done(now),
                SessionState::LookingUp => {
                    if let Some(id) = lookup { s.handle_lookup_result(now, id, Err(LookupError::Timeout)); }
                }
                _ => {
                    if let Some(d) = s.poll_timeout() { now = d; s.handle_timeout(now); }
                }
            }
        }
        prop_assert!(s.is_finished(), "no end reached: {:?}", s.trace());
    }
}

fn check_invariant(s: &IvrSession) -> Result<(), TestCaseError> {
    match s.state() {
        SessionState::Listening | SessionState::LookingUp | SessionState::Playing => {
            prop_assert!(
                s.poll_timeout().is_some(),
                "waiting without a timer: {:?}",
                s.state()
            );
        }
        SessionState::Finished => prop_assert!(s.poll_timeout().is_none()),
        _ => {}
    }
    prop_assert!(s.trace().nodes.len() <= ivr::trace::TRACE_LIMIT);
    prop_assert!(s.trace().digits.len() <= ivr::trace::TRACE_LIMIT);
    Ok(())
}

fn garbage(n: u8) -> Result<Map<String, Value>, LookupError> {
    let v = match n {
        0 => return Err(LookupError::BadAnswer("not json".into())),
        1 => json!({}),
        2 => json!({"match": [1, 2], "puk": {"a": 1}, "balance": null, "rows": "x", "segment": 42}),
        3 => {
            json!({"match": true, "puk": "🙂🙂", "balance": "-1e999", "row_count": "many", "segment": "platinum"})
        }
        4 => {
            json!({"match": "true", "puk": "9".repeat(5000), "balance": 12.5, "row_count": 3, "rows": [], "segment": "vip"})
        }
        _ => return Err(LookupError::Status(500)),
    };
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(LookupError::BadAnswer("not an object".into())),
    }
}

#[test]
fn dtmf_storm_in_every_state() {
    let t = open_time();
    let mut s = start("main", t, new_caller());
    drain(&mut s);
    // 10 000 digits in the language menu: the retries run out, the call goes
    // on, the trace stays bounded.
    let keys = ['1', '9', '*', '#', '0', '7', 'A', 'z', '\u{0}', '5'];
    let mut lookups = Vec::new();
    for i in 0..10_000 {
        let d = keys[i % keys.len()];
        s.handle_dtmf(t.add_millis(i as i64), d);
        for a in drain(&mut s) {
            if let Action::Lookup { id, .. } = a {
                lookups.push(id);
            }
        }
        if let Some(id) = lookups.pop() {
            s.handle_lookup_result(t.add_millis(i as i64), id, Err(LookupError::Timeout));
        }
        if s.is_finished() {
            break;
        }
    }
    let tr = s.trace();
    assert!(tr.digits.len() <= ivr::trace::TRACE_LIMIT);
    assert!(tr.nodes.len() <= ivr::trace::TRACE_LIMIT);
    assert!(tr.dropped > 0 || s.is_finished());
    assert!(matches!(
        s.state(),
        SessionState::Finished
            | SessionState::Playing
            | SessionState::Listening
            | SessionState::LookingUp
    ));
    assert!(serde_json::to_string(tr).is_ok());
}

#[test]
fn storm_while_a_lookup_is_out_is_ignored() {
    let t = open_time();
    let mut s = start("main", t, returning("fr", Segment::Mass));
    drain(&mut s);
    s.handle_dtmf(t, '3');
    let id = drain(&mut s)
        .into_iter()
        .find_map(|a| match a {
            Action::Lookup { id, .. } => Some(id),
            _ => None,
        })
        .expect("lookup");
    for _ in 0..1000 {
        s.handle_dtmf(t, '1');
    }
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.state(), SessionState::LookingUp);
    s.handle_lookup_result(t, LookupId(999), Ok(Map::new()));
    assert_eq!(
        s.state(),
        SessionState::LookingUp,
        "unknown ids are ignored"
    );
    s.handle_lookup_result(
        t,
        id,
        Ok(match json!({"balance": 10}) {
            Value::Object(m) => m,
            _ => Map::new(),
        }),
    );
    assert_eq!(played(&drain(&mut s)), ["fr/balance_is"]);
}

#[test]
fn a_hanging_lookup_times_out_on_the_sessions_own_timer() {
    let t = open_time();
    let mut s = start("main", t, returning("fr", Segment::Mass));
    drain(&mut s);
    s.handle_dtmf(t, '2');
    drain(&mut s);
    assert_eq!(
        s.poll_timeout(),
        Some(Timestamp::from_millis(t.as_millis() + 2000 + 500))
    );
    s.handle_timeout(t.add_millis(2500));
    assert_eq!(played(&drain(&mut s)), ["fr/sorry_technical"]);
    assert_eq!(s.trace().lookups[0].outcome.as_deref(), Some("time-out"));
    assert_eq!(s.trace().lookups[0].duration_ms, Some(2500));
}
