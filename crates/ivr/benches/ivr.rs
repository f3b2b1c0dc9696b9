//! Figures, not tests: how long loading the demo flow takes, and how many
//! calls per second one core can walk through R2 → R3 (balance) → R4 voice.
//! Run: `cargo bench -p ivr`.

use domain::{PhoneNumber, Timestamp};
use ivr::{Action, CallContext, FlowSet, IvrSession, PromptCatalog};
use serde_json::{Value, json};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let catalog = PromptCatalog::from_dir(&repo.join("assets/prompts")).expect("prompts");
    let text = std::fs::read_to_string(repo.join("config/demo/flows/main.yaml")).expect("flow");

    let n = 200;
    let t = Instant::now();
    for _ in 0..n {
        black_box(ivr::load_flow("main.yaml", &text, &catalog).expect("valid"));
    }
    let per = t.elapsed() / n;
    println!(
        "load+validate main.yaml ({} bytes): {:?} per load",
        text.len(),
        per
    );

    let mut set = FlowSet::new(catalog);
    let flow = set.load_str("main.yaml", &text).expect("valid");
    let calls = 20_000;
    let answer = |v: Value| match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let t = Instant::now();
    let mut actions = 0usize;
    for i in 0..calls {
        let now = Timestamp::parse_rfc3339("2026-11-30T09:00:00Z")
            .expect("t")
            .add_millis(i);
        let mut s = IvrSession::new(Arc::clone(&flow));
        let ctx = CallContext {
            caller: PhoneNumber::try_from("+22997000001".to_string()).ok(),
            ..CallContext::default()
        };
        s.handle_start(now, ctx);
        let mut script = vec!['2', '3', '9', '4'].into_iter();
        for _ in 0..100 {
            let mut lookup = None;
            while let Some(a) = s.poll_action() {
                actions += 1;
                if let Action::Lookup { id, .. } = a {
                    lookup = Some(id);
                }
            }
            if s.is_finished() {
                break;
            }
            if let Some(id) = lookup {
                s.handle_lookup_result(
                    now,
                    id,
                    Ok(answer(json!({"balance": 12500, "segment": "vip"}))),
                );
                continue;
            }
            match s.state() {
                ivr::SessionState::Playing => s.handle_prompt_done(now),
                _ => match script.next() {
                    Some(d) => s.handle_dtmf(now, d),
                    None => s.handle_hangup(now),
                },
            }
        }
        black_box(s.trace());
    }
    let el = t.elapsed();
    println!(
        "{calls} calls (language → balance → advisor → voice queue): {:?} total, {:.1} µs per call, {:.0} calls/s, {actions} actions",
        el,
        el.as_secs_f64() * 1e6 / calls as f64,
        calls as f64 / el.as_secs_f64()
    );
}
