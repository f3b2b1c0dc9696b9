//! Helpers shared by the integration tests: the demo flows and prompts, and
//! a small driver that drains actions.
#![allow(dead_code)]

use domain::{PhoneNumber, Segment, Timestamp};
use ivr::{Action, CallContext, FlowSet, IvrSession, PromptCatalog};
use std::path::PathBuf;
use std::sync::Arc;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn catalog() -> PromptCatalog {
    PromptCatalog::from_dir(&repo().join("assets/prompts")).expect("assets/prompts readable")
}

pub fn demo_set() -> FlowSet {
    let mut set = FlowSet::new(catalog());
    let report = set
        .load_dir(&repo().join("config/demo/flows"))
        .expect("flows dir");
    assert!(
        report.errors.is_empty(),
        "demo flows invalid: {:#?}",
        report.errors
    );
    set
}

/// Monday 2026-11-30 10:00 local (+01:00): the office is open.
pub fn open_time() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-30T09:00:00Z").expect("time")
}

pub fn caller() -> PhoneNumber {
    PhoneNumber::try_from("+22997000001".to_string()).expect("phone")
}

pub fn new_caller() -> CallContext {
    CallContext {
        caller: Some(caller()),
        ..CallContext::default()
    }
}

pub fn returning(lang: &str, segment: Segment) -> CallContext {
    CallContext {
        caller: Some(caller()),
        customer_id: Some(domain::CustomerId(7)),
        language: Some(lang.to_string()),
        segment: Some(segment),
        has_called_before: true,
        ..CallContext::default()
    }
}

/// A session on the demo flow `name`, started at `now`.
pub fn start(name: &str, now: Timestamp, ctx: CallContext) -> IvrSession {
    let flow = demo_set().get(name).expect("flow");
    let mut s = IvrSession::new(Arc::clone(&flow));
    s.handle_start(now, ctx);
    s
}

pub fn drain(s: &mut IvrSession) -> Vec<Action> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

/// Names (lang/name) of the prompts in the Play actions.
pub fn played(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Play { prompts, .. } => {
                Some(prompts.iter().map(|p| format!("{}/{}", p.lang, p.name)))
            }
            _ => None,
        })
        .flatten()
        .collect()
}
