//! Loader and validator: every rule reports the right kind of error at the
//! right line and column; reload keeps the good version.

use ivr::{ErrorKind, FlowErrors, FlowSet, PromptCatalog, load_flow};
use std::sync::Arc;

fn cat() -> PromptCatalog {
    let mut c = PromptCatalog::new();
    for l in ["fr", "en"] {
        for p in [
            "hello",
            "invalid_choice",
            "no_input",
            "sorry_technical",
            "bye",
        ] {
            c.insert(l, p);
        }
    }
    c
}

fn errors(text: &str) -> FlowErrors {
    load_flow("t.yaml", text, &cat()).expect_err("should be refused")
}

const GOOD: &str = "\
name: t
languages: [fr, en]
start: m
nodes:
  m:
    type: menu
    prompts: hello
    options: { \"1\": b }
    on_failure: b
  b:
    type: hangup
";

#[test]
fn good_flow_loads() {
    let f = load_flow("t.yaml", GOOD, &cat()).expect("valid");
    assert_eq!(f.name, "t");
    assert_eq!(f.nodes.len(), 2);
}

#[test]
fn unknown_node_type_at_its_line() {
    let e = errors(&GOOD.replace("type: hangup", "type: hang_up"));
    let x = e.first(ErrorKind::UnknownNodeType).expect("kind");
    assert_eq!(
        (x.file.as_str(), x.location.line, x.location.column),
        ("t.yaml", 11, 5)
    );
    assert!(x.message.contains("hang_up"));
    assert_eq!(
        e.to_string().lines().next(),
        Some("t.yaml:11:5: unknown node type `hang_up`")
    );
}

#[test]
fn missing_target_at_the_reference() {
    let e = errors(&GOOD.replace("{ \"1\": b }", "{ \"1\": nowhere }"));
    let x = e.first(ErrorKind::MissingTarget).expect("kind");
    assert_eq!((x.location.line, x.location.column), (8, 21));
    let e = errors(&GOOD.replace("start: m", "start: zz"));
    assert_eq!(
        e.first(ErrorKind::MissingTarget).map(|x| x.location.line),
        Some(3)
    );
}

#[test]
fn unreachable_node() {
    let text = format!("{GOOD}  orphan:\n    type: hangup\n");
    let e = errors(&text);
    let x = e.first(ErrorKind::Unreachable).expect("kind");
    assert_eq!((x.location.line, x.location.column), (12, 3));
    assert!(x.message.contains("orphan"));
}

#[test]
fn loop_without_input() {
    let text = "\
name: t
languages: [fr]
start: a
nodes:
  a:
    type: play
    prompts: hello
    next: b
  b:
    type: set
    vars: { x: \"1\" }
    next: c
  c:
    type: goto
    target: a
";
    let e = errors(text);
    let x = e.first(ErrorKind::LoopWithoutInput).expect("kind");
    assert_eq!(x.location.line, 5);
    assert!(x.message.contains("a -> b -> c -> a"), "{}", x.message);
    // The same loop through a menu is fine.
    let ok = text.replace(
        "type: goto\n    target: a",
        "type: menu\n    prompts: hello\n    options: { \"1\": a }\n    on_failure: a",
    );
    assert!(load_flow("t.yaml", &ok, &cat()).is_ok());
}

#[test]
fn missing_prompt_for_a_language() {
    let mut c = cat();
    c.insert("fr", "only_fr");
    let e = load_flow(
        "t.yaml",
        &GOOD.replace("prompts: hello", "prompts: [hello, only_fr]"),
        &c,
    )
    .expect_err("refused");
    let x = e.first(ErrorKind::MissingPrompt).expect("kind");
    assert_eq!((x.location.line, x.location.column), (7, 22));
    assert!(x.message.contains("`en`"), "{}", x.message);
    // A fallback language covers it.
    let with_fb = GOOD
        .replace("prompts: hello", "prompts: [hello, only_fr]")
        .replace("start: m", "fallback: { en: fr }\nstart: m");
    assert!(load_flow("t.yaml", &with_fb, &c).is_ok());
    // Default prompts of a menu are checked too.
    let mut bare = PromptCatalog::new();
    for l in ["fr", "en"] {
        bare.insert(l, "hello");
    }
    let e = load_flow("t.yaml", GOOD, &bare).expect_err("refused");
    assert!(e.0.iter().any(|x| x.message.contains("invalid_choice")));
}

#[test]
fn say_needs_every_word_prompt() {
    let text = GOOD.replace(
        "  b:\n    type: hangup\n",
        "  b:\n    type: say\n    value: \"{{n}}\"\n    as: number\n    next: c\n  c:\n    type: hangup\n",
    );
    let e = errors(&text);
    let x = e.first(ErrorKind::MissingPrompt).expect("kind");
    assert_eq!(x.location.line, 10);
    assert!(x.message.contains("num_"));
}

#[test]
fn schema_errors_are_located() {
    let e = errors(&GOOD.replace(
        "    on_failure: b\n",
        "    on_failure: b\n    colour: red\n",
    ));
    let x = e.first(ErrorKind::Schema).expect("kind");
    assert_eq!((x.location.line, x.location.column), (10, 5));
    assert!(x.message.contains("colour"));
    let e = errors(&GOOD.replace("    on_failure: b\n", ""));
    assert!(
        e.first(ErrorKind::Schema)
            .expect("kind")
            .message
            .contains("on_failure")
    );
    let e = errors(&GOOD.replace("options: { \"1\": b }", "options: { \"12\": b }"));
    assert_eq!(
        e.first(ErrorKind::Invalid).map(|x| x.location.line),
        Some(8)
    );
    let e = errors("name: t\nlanguages: [fr\n");
    assert_eq!(e.first(ErrorKind::Syntax).map(|x| x.location.line), Some(3));
}

#[test]
fn sql_must_use_bound_parameters() {
    let node = "  b:\n    type: sql\n    db: op\n    query: \"SELECT a FROM t WHERE m = '{{caller}}'\"\n    next: c\n    on_error: c\n  c:\n    type: hangup\n";
    let e = errors(&GOOD.replace("  b:\n    type: hangup\n", node));
    assert!(
        e.first(ErrorKind::Invalid)
            .expect("kind")
            .message
            .contains("never templated")
    );
    let node = "  b:\n    type: sql\n    db: op\n    query: \"SELECT a FROM t WHERE m = ?1\"\n    next: c\n    on_error: c\n  c:\n    type: hangup\n";
    let e = errors(&GOOD.replace("  b:\n    type: hangup\n", node));
    assert!(
        e.first(ErrorKind::Invalid)
            .expect("kind")
            .message
            .contains("1 placeholder(s) but 0 param(s)")
    );
}

#[test]
fn unknown_calendar_service_and_language() {
    let node = "  b:\n    type: condition\n    branches:\n      - when: { open: office }\n        goto: c\n    else: c\n  c:\n    type: hangup\n";
    assert!(
        errors(&GOOD.replace("  b:\n    type: hangup\n", node)).0[0]
            .message
            .contains("unknown calendar")
    );
    let node = "  b:\n    type: http\n    service: crm\n    path: /x\n    next: c\n    on_error: c\n  c:\n    type: hangup\n";
    assert!(
        errors(&GOOD.replace("  b:\n    type: hangup\n", node)).0[0]
            .message
            .contains("unknown service")
    );
    let node =
        "  b:\n    type: set_language\n    language: de\n    next: c\n  c:\n    type: hangup\n";
    assert!(
        errors(&GOOD.replace("  b:\n    type: hangup\n", node)).0[0]
            .message
            .contains("`de`")
    );
}

#[test]
fn reload_replaces_only_when_valid_and_calls_keep_their_version() {
    let mut set = FlowSet::new(cat());
    let v1 = set.load_str("t.yaml", GOOD).expect("v1");
    assert_eq!(v1.version, 1);
    let running_call = Arc::clone(&v1);
    let v2 = set
        .load_str(
            "t.yaml",
            &GOOD.replace("{ \"1\": b }", "{ \"1\": b, \"2\": b }"),
        )
        .expect("v2");
    assert_eq!(v2.version, 2);
    assert_eq!(set.get("t").map(|f| f.version), Some(2));
    assert_eq!(
        running_call.version, 1,
        "a call keeps the version it started with"
    );
    // A bad file never replaces the running one.
    let bad = set.load_str("t.yaml", &GOOD.replace("type: hangup", "type: nope"));
    assert!(bad.is_err());
    assert_eq!(set.get("t").map(|f| f.version), Some(2));
    // Another file may not steal the name.
    assert!(set.load_str("other.yaml", GOOD).is_err());
}

#[test]
fn load_dir_reports_bad_files_and_keeps_good_ones() {
    let dir = std::env::temp_dir().join(format!("ivr-flows-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    std::fs::write(dir.join("a.yaml"), GOOD).expect("write");
    std::fs::write(
        dir.join("b.yaml"),
        GOOD.replace("name: t", "name: u")
            .replace("type: hangup", "type: ???"),
    )
    .expect("write");
    std::fs::write(dir.join("notes.txt"), "ignored").expect("write");
    let mut set = FlowSet::new(cat());
    let r = set.load_dir(&dir).expect("dir");
    assert_eq!(r.loaded, [("t".to_string(), 1)]);
    assert_eq!(r.errors.len(), 1);
    assert!(r.errors[0].file.ends_with("b.yaml"));
    assert_eq!(r.errors[0].location.line, 11);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_call_in_progress_runs_the_version_it_started_with() {
    use domain::Timestamp;
    use ivr::{Action, CallContext, IvrSession};
    let mut set = FlowSet::new(cat());
    set.load_str("t.yaml", GOOD).expect("v1");
    let mut call = IvrSession::new(set.get("t").expect("t"));
    let t = Timestamp::from_millis(0);
    call.handle_start(t, CallContext::default());
    while call.poll_action().is_some() {}
    // v2 sends "1" to a transfer instead of a hang-up.
    let v2 = GOOD.replace("options: { \"1\": b }", "options: { \"1\": x }")
        + "  x:\n    type: transfer\n    number: \"100\"\n";
    let v2 = v2
        .replace("    on_failure: b\n", "    on_failure: x\n")
        .replace("  b:\n    type: hangup\n", "");
    set.load_str("t.yaml", &v2).expect("v2");
    call.handle_dtmf(t, '1');
    assert_eq!(
        call.poll_action(),
        Some(Action::Hangup),
        "old call keeps v1"
    );
    assert_eq!(call.trace().flow_version, 1);
    let mut new_call = IvrSession::new(set.get("t").expect("t"));
    new_call.handle_start(t, CallContext::default());
    while new_call.poll_action().is_some() {}
    new_call.handle_dtmf(t, '1');
    assert_eq!(
        new_call.poll_action(),
        Some(Action::Transfer {
            number: "100".into()
        })
    );
    assert_eq!(new_call.trace().flow_version, 2);
}
