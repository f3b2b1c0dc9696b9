//! Rules R1-R4 (SPEC §1.3) walked through the shipped demo flows, branch by
//! branch, on a virtual clock.

mod common;
use common::*;
use domain::{Channel, Segment, Timestamp};
use ivr::trace::DigitUse;
use ivr::{Action, CallContext, IvrSession, LookupError, LookupId, LookupKind, Outcome};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn lookup_of(actions: &[Action]) -> (LookupId, LookupKind) {
    actions
        .iter()
        .find_map(|a| match a {
            Action::Lookup { id, kind } => Some((*id, kind.clone())),
            _ => None,
        })
        .expect("a lookup action")
}

/// Report prompt-done and drain.
fn done(s: &mut IvrSession, now: Timestamp) -> Vec<Action> {
    s.handle_prompt_done(now);
    drain(s)
}

fn dtmf(s: &mut IvrSession, now: Timestamp, d: char) -> Vec<Action> {
    s.handle_dtmf(now, d);
    drain(s)
}

/// Keep reporting prompt-done while the session only plays, collecting
/// every prompt played; stop at the first non-Play action list.
fn play_through(
    s: &mut IvrSession,
    now: Timestamp,
    first: Vec<Action>,
) -> (Vec<String>, Vec<Action>) {
    let mut heard = played(&first);
    let mut last = first;
    for _ in 0..50 {
        if !last.iter().all(|a| matches!(a, Action::Play { .. })) || last.is_empty() {
            break;
        }
        last = done(s, now);
        heard.extend(played(&last));
    }
    (heard, last)
}

/// Drain, then [`play_through`].
fn play_all(s: &mut IvrSession, now: Timestamp) -> (Vec<String>, Vec<Action>) {
    let first = drain(s);
    play_through(s, now, first)
}

fn fr_returning() -> CallContext {
    returning("fr", Segment::Mass)
}

// ---------------- R1 ----------------

#[test]
fn r1_maintenance_plays_unavailable_hangs_up_then_sends_sms() {
    let now = open_time();
    let mut ctx = new_caller();
    ctx.maintenance = true;
    let mut s = start("main", now, ctx);
    let a = drain(&mut s);
    assert_eq!(played(&a), ["fr/unavailable", "en/unavailable"]);
    let a = done(&mut s, now.add_millis(9000));
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a[0], Action::Hangup);
    match &a[1] {
        Action::SendMessage { channel, to, text } => {
            assert_eq!(*channel, Channel::Sms);
            assert_eq!(to.as_ref().map(|p| p.as_str()), Some("+22997000001"));
            assert!(text.contains("WhatsApp +229 01 90 00 00 00"), "{text}");
            assert!(
                text.starts_with("Demo Telecom : notre service vocal"),
                "{text}"
            );
        }
        other => panic!("expected SMS, got {other:?}"),
    }
    assert!(s.is_finished());
    assert_eq!(s.trace().outcome, Some(Outcome::HungUp));
    assert_eq!(s.trace().duration_ms, Some(9000));
}

#[test]
fn r1_closed_hours_and_holidays_and_overload() {
    // Sunday 2026-11-29 12:00 local: closed. English returning caller: English only.
    let sunday = Timestamp::parse_rfc3339("2026-11-29T11:00:00Z").expect("t");
    let mut s = start("main", sunday, returning("en", Segment::Vip));
    assert_eq!(played(&drain(&mut s)), ["en/unavailable"]);
    let a = done(&mut s, sunday);
    assert!(
        matches!(&a[1], Action::SendMessage { text, .. } if text.starts_with("Demo Telecom: our voice"))
    );
    // Christmas, a Friday, 10:00 local.
    let xmas = Timestamp::parse_rfc3339("2026-12-25T09:00:00Z").expect("t");
    let mut s = start("main", xmas, new_caller());
    assert_eq!(played(&drain(&mut s)), ["fr/unavailable", "en/unavailable"]);
    // Monday 06:30 local: before opening.
    let early = Timestamp::parse_rfc3339("2026-11-30T05:30:00Z").expect("t");
    let mut s = start("main", early, new_caller());
    assert_eq!(played(&drain(&mut s)), ["fr/unavailable", "en/unavailable"]);
    // Overloaded during open hours.
    let mut ctx = new_caller();
    ctx.overloaded = true;
    let mut s = start("main", open_time(), ctx);
    assert_eq!(played(&drain(&mut s)), ["fr/unavailable", "en/unavailable"]);
}

#[test]
fn r1_caller_hanging_up_during_message_still_gets_sms() {
    let mut ctx = new_caller();
    ctx.maintenance = true;
    let mut s = start("main", open_time(), ctx);
    drain(&mut s);
    s.handle_hangup(open_time().add_millis(2000));
    let a = drain(&mut s);
    assert_eq!(a.len(), 1);
    assert!(matches!(
        a[0],
        Action::SendMessage {
            channel: Channel::Sms,
            ..
        }
    ));
    assert_eq!(s.trace().outcome, Some(Outcome::CallerHungUp));
}

#[test]
fn r1_queue_only_entry_without_agents() {
    let mut ctx = new_caller();
    ctx.agents_logged_in = BTreeMap::from([("vip".to_string(), 0)]);
    let mut s = start("vip-line", open_time(), ctx);
    assert_eq!(played(&drain(&mut s)), ["fr/unavailable"]);
    let a = done(&mut s, open_time());
    assert_eq!(a[0], Action::Hangup);
    assert!(matches!(&a[1], Action::SendMessage { text, .. } if text.contains("ligne VIP")));

    let mut ctx = returning("en", Segment::Vip);
    ctx.agents_logged_in = BTreeMap::from([("vip".to_string(), 3)]);
    let mut s = start("vip-line", open_time(), ctx);
    assert_eq!(played(&drain(&mut s)), ["en/please_hold"]);
    let a = done(&mut s, open_time());
    assert_eq!(
        a,
        [Action::Queue {
            queue: "vip".into(),
            priority: 110,
            segment: Segment::Vip
        }]
    );
}

// ---------------- R2 ----------------

#[test]
fn r2_new_caller_chooses_language_and_it_is_stored() {
    let now = open_time();
    let mut s = start("main", now, new_caller());
    let a = drain(&mut s);
    assert_eq!(
        played(&a),
        [
            "fr/welcome",
            "en/welcome",
            "fr/lang_fr",
            "en/lang_en",
            "wo/lang_wo"
        ]
    );
    assert!(matches!(a[0], Action::Play { barge_in: true, .. }));
    assert_eq!(
        a[1],
        Action::CollectDigits {
            min: 1,
            max: 1,
            terminator: None,
            timeout_ms: 5000
        }
    );
    let a = dtmf(&mut s, now.add_millis(3000), '2');
    assert_eq!(a[0], Action::StoreLanguage { lang: "en".into() });
    assert_eq!(played(&a), ["en/main_menu"]);
    assert_eq!(s.language(), "en");
    let names: Vec<&str> = s.trace().nodes.iter().map(|v| v.node.as_str()).collect();
    assert_eq!(
        names,
        [
            "availability",
            "returning",
            "choose_language",
            "set_en",
            "main_menu"
        ]
    );
    assert_eq!(s.trace().nodes[2].duration_ms, Some(3000));
}

#[test]
fn r2_wolof_choice_plays_wolof_menu() {
    let mut s = start("main", open_time(), new_caller());
    drain(&mut s);
    let a = dtmf(&mut s, open_time(), '3');
    assert_eq!(a[0], Action::StoreLanguage { lang: "wo".into() });
    assert_eq!(played(&a), ["wo/main_menu"]);
}

#[test]
fn r2_returning_caller_goes_straight_to_menu_in_stored_language() {
    for (lang, expect) in [
        ("en", "en/main_menu"),
        ("fr", "fr/main_menu"),
        ("wo", "wo/main_menu"),
    ] {
        let mut s = start("main", open_time(), returning(lang, Segment::Mass));
        let a = drain(&mut s);
        assert_eq!(played(&a), [expect]);
        assert!(!a.iter().any(|x| matches!(x, Action::StoreLanguage { .. })));
    }
    // Called before but no (or an unknown) stored language: choose.
    let mut ctx = returning("de", Segment::Mass);
    ctx.language = Some("de".into());
    let mut s = start("main", open_time(), ctx);
    assert_eq!(played(&drain(&mut s))[0], "fr/welcome");
}

#[test]
fn r2_invalid_digit_then_timeouts_then_default_french() {
    let t0 = open_time();
    let mut s = start("main", t0, new_caller());
    drain(&mut s);
    let a = dtmf(&mut s, t0.add_millis(1000), '7');
    assert_eq!(&played(&a)[..2], ["fr/invalid_choice", "en/invalid_choice"]);
    assert_eq!(s.trace().digits[0].use_, DigitUse::Invalid);
    // Silence: only the play guard runs until the prompts end.
    assert_eq!(
        s.poll_timeout(),
        Some(t0.add_millis(1000 + ivr::session::PLAY_GUARD_MS))
    );
    drain(&mut s);
    s.handle_prompt_done(t0.add_millis(5000));
    assert_eq!(s.poll_timeout(), Some(t0.add_millis(10_000)));
    s.handle_timeout(t0.add_millis(9_999));
    assert!(drain(&mut s).is_empty(), "early timeout ignored");
    s.handle_timeout(t0.add_millis(10_000));
    let a = drain(&mut s);
    assert_eq!(&played(&a)[..2], ["fr/no_input", "en/no_input"]);
    // Third attempt also silent: retries exhausted → French by default.
    s.handle_prompt_done(t0.add_millis(20_000));
    s.handle_timeout(t0.add_millis(25_000));
    let a = drain(&mut s);
    assert_eq!(a[0], Action::StoreLanguage { lang: "fr".into() });
    assert_eq!(played(&a), ["fr/main_menu"]);
}

// ---------------- R3 ----------------

fn at_main_menu(ctx: CallContext) -> IvrSession {
    let mut s = start("main", open_time(), ctx);
    drain(&mut s);
    s
}

#[test]
fn r3_puk_code_confirmed_by_id_digits_and_spoken() {
    let t = open_time();
    let mut s = at_main_menu(fr_returning());
    let a = dtmf(&mut s, t, '1');
    assert_eq!(played(&a), ["fr/puk_enter_id"]);
    assert!(a.contains(&Action::CollectDigits {
        min: 4,
        max: 4,
        terminator: Some('#'),
        timeout_ms: 8000
    }));
    for d in ['1', '2', '3'] {
        assert!(dtmf(&mut s, t, d).is_empty());
    }
    assert_eq!(
        s.poll_timeout(),
        Some(t.add_millis(4000)),
        "inter-digit timer"
    );
    let a = dtmf(&mut s, t.add_millis(100), '4');
    let (id, kind) = lookup_of(&a);
    assert_eq!(
        kind,
        LookupKind::Http {
            method: "POST".into(),
            url: "http://127.0.0.1:8089/puk".into(),
            body: Some(json!({"msisdn": "+22997000001", "id_last4": "1234"})),
            timeout_ms: 3000,
        }
    );
    assert_eq!(s.poll_timeout(), Some(t.add_millis(100 + 3000 + 500)));
    s.handle_lookup_result(
        t.add_millis(350),
        id,
        Ok(obj(json!({"match": true, "puk": "12345678"}))),
    );
    let (heard, last) = play_all(&mut s, t.add_millis(400));
    assert_eq!(
        heard,
        [
            "fr/puk_is",
            "fr/num_1",
            "fr/num_2",
            "fr/num_3",
            "fr/num_4",
            "fr/num_5",
            "fr/num_6",
            "fr/num_7",
            "fr/num_8",
            "fr/back_to_menu",
            "fr/main_menu"
        ]
    );
    assert!(
        last.iter()
            .any(|a| matches!(a, Action::CollectDigits { .. }))
    );
    let l = &s.trace().lookups[0];
    assert_eq!(
        (l.kind.as_str(), l.outcome.as_deref(), l.duration_ms),
        ("http", Some("ok"), Some(250))
    );
}

#[test]
fn r3_puk_wrong_id_digits_and_short_entry() {
    let t = open_time();
    let mut s = at_main_menu(fr_returning());
    dtmf(&mut s, t, '1');
    // "12#": too short → invalid, re-prompt.
    dtmf(&mut s, t, '1');
    dtmf(&mut s, t, '2');
    let a = dtmf(&mut s, t, '#');
    assert_eq!(played(&a), ["fr/invalid_choice", "fr/puk_enter_id"]);
    let mut a = Vec::new();
    for d in "9999".chars() {
        a = dtmf(&mut s, t, d);
    }
    let (id, _) = lookup_of(&a);
    s.handle_lookup_result(t, id, Ok(obj(json!({"match": false}))));
    let (heard, _) = play_all(&mut s, t);
    assert_eq!(heard, ["fr/puk_mismatch", "fr/main_menu"]);
    assert_eq!(s.var("id_last4"), Some("9999"));
}

#[test]
fn r3_puk_lookup_failure_apologises_and_returns_to_menu() {
    let t = open_time();
    let mut s = at_main_menu(returning("en", Segment::Mass));
    dtmf(&mut s, t, '1');
    let mut a = Vec::new();
    for d in "1234".chars() {
        a = dtmf(&mut s, t, d);
    }
    let (id, _) = lookup_of(&a);
    s.handle_lookup_result(t.add_millis(20), id, Err(LookupError::Status(503)));
    let (heard, last) = play_all(&mut s, t);
    assert_eq!(heard, ["en/sorry_technical", "en/main_menu"]);
    assert!(
        last.iter()
            .any(|a| matches!(a, Action::CollectDigits { .. }))
    );
    assert_eq!(
        s.trace().lookups[0].outcome.as_deref(),
        Some("HTTP status 503")
    );
}

#[test]
fn r3_puk_lookup_timeout_then_late_answer_is_ignored() {
    let t = open_time();
    let mut s = at_main_menu(fr_returning());
    dtmf(&mut s, t, '1');
    let mut a = Vec::new();
    for d in "1234".chars() {
        a = dtmf(&mut s, t, d);
    }
    let (id, _) = lookup_of(&a);
    let deadline = s.poll_timeout().expect("lookup timer");
    s.handle_timeout(deadline);
    assert_eq!(played(&drain(&mut s)), ["fr/sorry_technical"]);
    s.handle_lookup_result(
        deadline.add_millis(10),
        id,
        Ok(obj(json!({"match": true, "puk": "1"}))),
    );
    assert!(drain(&mut s).is_empty(), "late answer ignored");
    assert_eq!(played(&done(&mut s, deadline)), ["fr/main_menu"]);
    assert_eq!(s.trace().lookups[0].outcome.as_deref(), Some("time-out"));
    assert_eq!(s.var("puk"), None);
}

#[test]
fn r3_last_three_recharges_by_sql() {
    let t = open_time();
    let mut s = at_main_menu(fr_returning());
    let a = dtmf(&mut s, t, '2');
    let (id, kind) = lookup_of(&a);
    match kind {
        LookupKind::Sql {
            db,
            query,
            params,
            timeout_ms,
        } => {
            assert_eq!(db, "operator");
            assert!(query.contains("WHERE msisdn = ?1"), "{query}");
            assert!(!query.contains("+229"), "caller never spliced into SQL");
            assert_eq!(params, ["+22997000001"]);
            assert_eq!(timeout_ms, 2000);
        }
        other => panic!("expected SQL, got {other:?}"),
    }
    let rows = json!({"rows": [
        {"amount": 1000, "recharged_at": "2026-11-20 10:00:00"},
        {"amount": 500, "recharged_at": "2026-11-01"}
    ], "row_count": 2});
    s.handle_lookup_result(t, id, Ok(obj(rows)));
    let (heard, _) = play_all(&mut s, t);
    assert_eq!(
        heard,
        [
            "fr/recharges_intro",
            "fr/num_1000",
            "fr/currency_xof",
            "fr/on_date",
            "fr/num_20",
            "fr/month_11",
            "fr/num_2",
            "fr/num_1000",
            "fr/num_20",
            "fr/num_6",
            "fr/num_5",
            "fr/num_100",
            "fr/currency_xof",
            "fr/on_date",
            "fr/date_first",
            "fr/month_11",
            "fr/num_2",
            "fr/num_1000",
            "fr/num_20",
            "fr/num_6",
            "fr/back_to_menu",
            "fr/main_menu"
        ]
    );
}

#[test]
fn r3_no_recharges_and_sql_failure() {
    let t = open_time();
    let mut s = at_main_menu(returning("en", Segment::Mass));
    let (id, _) = lookup_of(&dtmf(&mut s, t, '2'));
    s.handle_lookup_result(t, id, Ok(obj(json!({"rows": [], "row_count": 0}))));
    let (heard, _) = play_all(&mut s, t);
    assert_eq!(heard, ["en/no_recharges", "en/main_menu"]);
    let (id, _) = lookup_of(&dtmf(&mut s, t, '2'));
    s.handle_lookup_result(
        t,
        id,
        Err(LookupError::Unavailable("database locked".into())),
    );
    let (heard, _) = play_all(&mut s, t);
    assert_eq!(heard, ["en/sorry_technical", "en/main_menu"]);
}

#[test]
fn r3_balance_by_web_service_in_english_and_garbage_balance() {
    let t = open_time();
    let mut s = at_main_menu(returning("en", Segment::Mass));
    let (id, kind) = lookup_of(&dtmf(&mut s, t, '3'));
    assert_eq!(
        kind,
        LookupKind::Http {
            method: "GET".into(),
            url: "http://127.0.0.1:8089/balance?msisdn=%2B22997000001".into(),
            body: None,
            timeout_ms: 3000
        }
    );
    s.handle_lookup_result(t, id, Ok(obj(json!({"balance": 2500, "currency": "XOF"}))));
    let (heard, _) = play_all(&mut s, t);
    assert_eq!(
        heard,
        [
            "en/balance_is",
            "en/num_2",
            "en/num_1000",
            "en/num_5",
            "en/num_100",
            "en/currency_xof",
            "en/back_to_menu",
            "en/main_menu"
        ]
    );
    // A balance that is not a number: apology and menu, never silence.
    let (id, _) = lookup_of(&dtmf(&mut s, t, '3'));
    s.handle_lookup_result(t, id, Ok(obj(json!({"balance": "lots"}))));
    let (heard, _) = play_all(&mut s, t);
    assert_eq!(
        heard,
        ["en/balance_is", "en/sorry_technical", "en/main_menu"]
    );
}

#[test]
fn r3_wolof_caller_hears_numbers_in_french() {
    let t = open_time();
    let mut s = at_main_menu(returning("wo", Segment::Mass));
    let (id, _) = lookup_of(&dtmf(&mut s, t, '3'));
    s.handle_lookup_result(t, id, Ok(obj(json!({"balance": 71}))));
    let (heard, _) = play_all(&mut s, t);
    assert_eq!(
        heard,
        [
            "fr/balance_is",
            "fr/num_60",
            "fr/num_and",
            "fr/num_11",
            "fr/currency_xof",
            "fr/back_to_menu",
            "wo/main_menu"
        ]
    );
}

// ---------------- R4 ----------------

#[test]
fn r4_digital_channels_hang_up_then_open_conversation() {
    for (digit, channel) in [
        ('1', Channel::Sms),
        ('2', Channel::Whatsapp),
        ('3', Channel::Messenger),
    ] {
        let t = open_time();
        let mut s = at_main_menu(returning("fr", Segment::Vip));
        assert_eq!(played(&dtmf(&mut s, t, '9')), ["fr/advisor_channels"]);
        let a = dtmf(&mut s, t, digit);
        assert_eq!(played(&a), ["fr/advisor_will_write"]);
        assert!(matches!(
            a[0],
            Action::Play {
                barge_in: false,
                ..
            }
        ));
        // DTMF during the confirmation is ignored.
        assert!(dtmf(&mut s, t, '4').is_empty());
        let a = done(&mut s, t.add_millis(4000));
        assert_eq!(a[0], Action::Hangup);
        assert_eq!(
            a[1],
            Action::OpenConversation {
                channel,
                to: Some(caller()),
                queue: "vip".into(),
                priority: 100,
                first_message:
                    "Bonjour, ici votre conseiller Demo Telecom. Comment puis-je vous aider ?"
                        .into(),
            }
        );
        assert_eq!(
            s.trace().outcome,
            Some(Outcome::DigitalHandover {
                channel: channel.as_str().into()
            })
        );
    }
}

#[test]
fn r4_caller_hangs_up_during_confirmation_conversation_still_opens() {
    let t = open_time();
    let mut s = at_main_menu(returning("en", Segment::Mass));
    dtmf(&mut s, t, '9');
    dtmf(&mut s, t, '2');
    s.handle_hangup(t.add_millis(500));
    let a = drain(&mut s);
    assert!(
        matches!(&a[..], [Action::OpenConversation { channel: Channel::Whatsapp, queue, priority: 0, first_message, .. }]
        if queue == "general" && first_message.starts_with("Hello"))
    );
}

#[test]
fn r4_voice_joins_queue_of_looked_up_segment() {
    for (answer, queue, prio, seg) in [
        ("vip", "vip", 100, Segment::Vip),
        ("business", "business", 50, Segment::Business),
        ("general", "general", 0, Segment::Mass),
    ] {
        let t = open_time();
        let mut s = at_main_menu(returning("fr", Segment::Mass));
        dtmf(&mut s, t, '9');
        let (id, kind) = lookup_of(&dtmf(&mut s, t, '4'));
        assert!(
            matches!(kind, LookupKind::Http { ref url, .. } if url == "http://127.0.0.1:8089/customer?msisdn=%2B22997000001")
        );
        s.handle_lookup_result(t, id, Ok(obj(json!({"segment": answer}))));
        assert_eq!(played(&drain(&mut s)), ["fr/please_hold"]);
        let a = done(&mut s, t);
        assert_eq!(
            a,
            [Action::Queue {
                queue: queue.into(),
                priority: prio,
                segment: seg
            }]
        );
        assert_eq!(
            s.trace().outcome,
            Some(Outcome::Queued {
                queue: queue.into()
            })
        );
    }
}

#[test]
fn r4_segment_lookup_failure_uses_known_segment() {
    let t = open_time();
    let mut s = at_main_menu(returning("fr", Segment::Business));
    dtmf(&mut s, t, '9');
    let (id, _) = lookup_of(&dtmf(&mut s, t, '4'));
    s.handle_lookup_result(t, id, Err(LookupError::Timeout));
    let (heard, last) = play_all(&mut s, t);
    assert_eq!(heard, ["fr/sorry_technical", "fr/please_hold"]);
    assert_eq!(
        last,
        [Action::Queue {
            queue: "business".into(),
            priority: 50,
            segment: Segment::Business
        }]
    );
}

#[test]
fn r4_main_menu_retries_exhausted_goes_to_an_advisor() {
    let t = open_time();
    let mut s = at_main_menu(fr_returning());
    dtmf(&mut s, t, '5');
    dtmf(&mut s, t, '6');
    let a = dtmf(&mut s, t, '7');
    let (id, _) = lookup_of(&a);
    s.handle_lookup_result(t, id, Ok(obj(json!({"segment": "vip"}))));
    let (_, last) = play_all(&mut s, t);
    assert_eq!(
        last,
        [Action::Queue {
            queue: "vip".into(),
            priority: 100,
            segment: Segment::Vip
        }]
    );
    let uses: Vec<DigitUse> = s.trace().digits.iter().map(|d| d.use_).collect();
    assert_eq!(uses, [DigitUse::Invalid; 3]);
}

#[test]
fn trace_serialises_for_screen_pop() {
    let t = open_time();
    let mut s = at_main_menu(returning("fr", Segment::Vip));
    dtmf(&mut s, t, '9');
    dtmf(&mut s, t, '1');
    done(&mut s, t.add_millis(3000));
    let j = serde_json::to_value(s.trace()).expect("json");
    assert_eq!(j["flow"], "main");
    assert_eq!(j["outcome"]["outcome"], "digital_handover");
    assert_eq!(j["digits"][1]["digit"], "1");
    assert_eq!(j["nodes"].as_array().map(Vec::len), Some(4));
}
