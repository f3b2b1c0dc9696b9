//! The bot session on the shipped demo knowledge base, driven like the
//! engine will drive it: messages in, actions out, lookups and codes
//! answered as inputs, time virtual.

use bot::{
    Action, BotConfig, BotContext, BotSession, Expect, HandOver, HandOverReason, Intent,
    KnowledgeBase, Lang, LookupSpec, Lookups, OtpCode, PhraseError, PhrasingConfig, Retriever,
    SelfService, Speaker, Texts,
};
use domain::{Channel, PhoneNumber, Timestamp};
use ivr::{LookupError, LookupId, LookupKind};
use proptest::prelude::*;
use serde_json::json;
use std::sync::{Arc, OnceLock};

const ARTICLES: &str = include_str!("../../../config/demo/kb/articles.toml");

fn retriever() -> Arc<Retriever> {
    static R: OnceLock<Arc<Retriever>> = OnceLock::new();
    Arc::clone(
        R.get_or_init(|| Arc::new(Retriever::new(KnowledgeBase::from_toml(ARTICLES).unwrap()))),
    )
}

fn number(s: &str) -> PhoneNumber {
    PhoneNumber::try_from(s.to_string()).unwrap()
}

fn config() -> BotConfig {
    BotConfig {
        default_country: Some("BJ".into()),
        lookups: Lookups {
            puk: Some(LookupSpec {
                kind: LookupKind::Sql {
                    db: "operator".into(),
                    query: "SELECT puk FROM subscribers WHERE msisdn = ?1".into(),
                    params: vec!["{msisdn}".into()],
                    timeout_ms: 2_000,
                },
                reply: Texts {
                    fr: "Votre code PUK est {puk}.".into(),
                    en: "Your PUK code is {puk}.".into(),
                },
                row: None,
            }),
            balance: Some(LookupSpec {
                kind: LookupKind::Http {
                    method: "GET".into(),
                    url: "http://127.0.0.1:9/balance?msisdn={msisdn}".into(),
                    body: None,
                    timeout_ms: 2_000,
                },
                reply: Texts {
                    fr: "Votre solde est de {balance} FCFA.".into(),
                    en: "Your balance is {balance} XOF.".into(),
                },
                row: None,
            }),
            last_bills: Some(LookupSpec {
                kind: LookupKind::Sql {
                    db: "operator".into(),
                    query: "SELECT date, amount_xof FROM bills WHERE msisdn = ?1 ORDER BY date DESC LIMIT 3".into(),
                    params: vec!["{msisdn}".into()],
                    timeout_ms: 2_000,
                },
                reply: Texts {
                    fr: "Vos dernières factures :\n{rows}".into(),
                    en: "Your last bills:\n{rows}".into(),
                },
                row: Some(Texts {
                    fr: "{date} : {amount_xof} FCFA".into(),
                    en: "{date}: {amount_xof} XOF".into(),
                }),
            }),
        },
        ..BotConfig::default()
    }
}

fn whatsapp(from: &str, on_file: Option<&str>) -> BotContext {
    BotContext {
        channel: Channel::Whatsapp,
        address: Some(number(from)),
        customer: None,
        customer_number: on_file.map(number),
        lang: Lang::Fr,
    }
}

fn webchat() -> BotContext {
    BotContext {
        channel: Channel::Webchat,
        address: None,
        customer: None,
        customer_number: None,
        lang: Lang::Fr,
    }
}

fn session(cfg: BotConfig, ctx: BotContext) -> BotSession {
    BotSession::new(retriever(), Arc::new(cfg), ctx)
}

fn drain(s: &mut BotSession) -> Vec<Action> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + ms)
}

fn hand_over(actions: &[Action]) -> Option<&HandOver> {
    actions.iter().find_map(|a| match a {
        Action::HandOver(h) => Some(h),
        _ => None,
    })
}

fn replies(actions: &[Action]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Reply { text } | Action::Ask { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_faq_is_answered_then_feedback_is_asked() {
    let mut s = session(config(), webchat());
    s.handle_message(t(0), "à quelle heure ouvrent vos boutiques le samedi ?");
    let a = drain(&mut s);
    assert_eq!(
        a[0],
        Action::Reply {
            text: "Nos boutiques sont ouvertes du lundi au samedi de 8 h à 19 h ; le service client répond tous les jours de 7 h à 22 h.".into()
        }
    );
    assert!(matches!(&a[1], Action::Ask { expect: Expect::Choice(o), .. } if o == &["Oui", "Non"]));
    s.handle_message(t(5_000), "oui merci");
    let a = drain(&mut s);
    assert_eq!(
        replies(&a),
        vec!["Avec plaisir ! Avez-vous une autre question ?"]
    );
    assert!(hand_over(&a).is_none());
}

#[test]
fn english_question_gets_an_english_answer() {
    let mut s = session(config(), webchat());
    s.handle_message(t(0), "how do I forward my calls to my landline?");
    let a = drain(&mut s);
    assert!(replies(&a)[0].starts_with("Dial **21*number#"), "{a:?}");
    assert_eq!(s.lang(), Lang::En);
}

#[test]
fn asking_for_a_human_hands_over_at_once_then_the_bot_is_silent() {
    let mut s = session(config(), whatsapp("+22997000001", None));
    s.handle_message(t(0), "roaming au Togo ?");
    drain(&mut s);
    s.handle_message(t(10_000), "je veux parler à un conseiller");
    let a = drain(&mut s);
    assert_eq!(a.len(), 2, "{a:?}");
    assert!(replies(&a)[0].contains("conseiller"));
    let h = hand_over(&a).unwrap();
    assert_eq!(h.reason, HandOverReason::CustomerAsked);
    assert_eq!(h.intent, Intent::Faq(bot::ArticleId("roaming.fr".into())));
    assert_eq!(h.articles_tried, vec![bot::ArticleId("roaming.fr".into())]);
    let who: Vec<Speaker> = h.transcript.iter().map(|l| l.from).collect();
    assert_eq!(
        who,
        [
            Speaker::Customer,
            Speaker::Bot,
            Speaker::Bot,
            Speaker::Customer,
            Speaker::Bot
        ]
    );
    assert_eq!(h.transcript[3].text, "je veux parler à un conseiller");
    assert!(s.is_with_agent());
    // The agent owns it: nothing, whatever the customer writes.
    for m in ["allo ?", "je veux parler à un conseiller", "code PUK", ""] {
        s.handle_message(t(20_000), m);
        assert_eq!(s.poll_action(), None);
    }
}

#[test]
fn english_human_phrases_hand_over() {
    for m in [
        "can I talk to a person please",
        "I want a human",
        "agent!",
        "let me speak to someone",
    ] {
        let mut s = session(config(), webchat());
        s.handle_message(t(0), m);
        let a = drain(&mut s);
        assert_eq!(
            hand_over(&a).unwrap().reason,
            HandOverReason::CustomerAsked,
            "{m}"
        );
    }
}

#[test]
fn after_a_reopen_old_context_is_not_replayed_and_no_hand_over_loop() {
    let mut s = session(config(), webchat());
    s.handle_message(t(0), "parler à quelqu'un");
    assert!(hand_over(&drain(&mut s)).is_some());
    s.handle_reopen(t(3_600_000));
    assert!(!s.is_with_agent());
    assert_eq!(s.transcript().count(), 0);
    s.handle_message(t(3_600_100), "comment recharger avec une carte à gratter ?");
    let a = drain(&mut s);
    assert!(hand_over(&a).is_none(), "{a:?}");
    assert!(replies(&a)[0].starts_with("Rechargez avec une carte à gratter"));
    // A later hand-over carries only the new conversation.
    s.handle_message(t(3_600_200), "ça ne m'aide pas");
    let a = drain(&mut s);
    let h = hand_over(&a).unwrap();
    assert_eq!(h.reason, HandOverReason::NegativeFeedback);
    assert!(h.transcript.iter().all(|l| !l.text.contains("quelqu'un")));
    assert_eq!(h.articles_tried, vec![bot::ArticleId("topup.fr".into())]);
}

#[test]
fn low_scores_twice_in_a_row_hand_over() {
    let mut s = session(config(), webchat());
    s.handle_message(t(0), "quel temps fera-t-il demain à Paris ?");
    let a = drain(&mut s);
    assert!(
        matches!(
            &a[..],
            [Action::Ask {
                expect: Expect::Rephrase,
                ..
            }]
        ),
        "{a:?}"
    );
    s.handle_message(t(1_000), "la recette du poulet yassa");
    let a = drain(&mut s);
    assert_eq!(hand_over(&a).unwrap().reason, HandOverReason::LowConfidence);
    assert!(replies(&a)[0].contains("conseiller"));
}

#[test]
fn two_failed_turns_apart_hand_over() {
    let mut s = session(config(), webchat());
    s.handle_message(t(0), "🙂🙂🙂");
    assert!(matches!(
        &drain(&mut s)[..],
        [Action::Ask {
            expect: Expect::Rephrase,
            ..
        }]
    ));
    s.handle_message(t(1_000), "comment configurer l'APN de mon téléphone ?");
    assert!(hand_over(&drain(&mut s)).is_none());
    s.handle_message(t(2_000), "qui a gagné le match hier soir");
    let a = drain(&mut s);
    assert_eq!(hand_over(&a).unwrap().reason, HandOverReason::FailedTurns);
}

#[test]
fn a_question_starting_with_no_is_not_feedback() {
    let mut s = session(config(), webchat());
    s.handle_message(t(0), "I lost my phone yesterday");
    drain(&mut s);
    s.handle_message(t(1_000), "no signal at home");
    let a = drain(&mut s);
    assert!(hand_over(&a).is_none(), "{a:?}");
    assert!(replies(&a)[0].starts_with("Restart the phone"), "{a:?}");
}

#[test]
fn negative_feedback_hands_over() {
    let mut s = session(config(), webchat());
    s.handle_message(t(0), "I lost my phone yesterday");
    drain(&mut s);
    s.handle_message(t(1_000), "no");
    let a = drain(&mut s);
    let h = hand_over(&a).unwrap();
    assert_eq!(h.reason, HandOverReason::NegativeFeedback);
    assert_eq!(h.lang, Lang::En);
    assert!(replies(&a)[0].contains("agent"));
}

/// Two articles about the same words: every question on them is ambiguous.
fn twin_kb() -> Arc<Retriever> {
    let kb = KnowledgeBase::from_toml(
        r#"
[[article]]
id = "a.en"
lang = "en"
questions = ["box router price"]
answer = "X"
[[article]]
id = "b.en"
lang = "en"
questions = ["box router setup"]
answer = "Y"
"#,
    )
    .unwrap();
    Arc::new(Retriever::new(kb))
}

#[test]
fn ambiguity_asks_to_choose_then_twice_hands_over() {
    let cfg = Arc::new(BotConfig {
        min_score: 0.1,
        ..BotConfig::default()
    });
    let mut s = BotSession::new(twin_kb(), Arc::clone(&cfg), webchat());
    s.handle_message(t(0), "box router");
    let a = drain(&mut s);
    let [
        Action::Ask {
            expect: Expect::Choice(o),
            text,
        },
    ] = &a[..]
    else {
        panic!("{a:?}")
    };
    assert_eq!(o, &["box router price", "box router setup"]);
    assert!(text.contains("1. box router price"));
    // Picking an option answers it.
    s.handle_message(t(1_000), "2");
    assert_eq!(drain(&mut s)[0], Action::Reply { text: "Y".into() });

    let mut s = BotSession::new(twin_kb(), cfg, webchat());
    s.handle_message(t(0), "box router");
    drain(&mut s);
    s.handle_message(t(1_000), "router box please");
    let a = drain(&mut s);
    let h = hand_over(&a).unwrap();
    assert_eq!(h.reason, HandOverReason::Ambiguous);
    assert_eq!(h.articles_tried.len(), 2);
}

/// An edited knowledge base handed in mid-conversation: the next question
/// is searched in it; a pending choice keeps its articles by id, or is
/// dropped when one of them is gone.
#[test]
fn a_new_index_applies_to_the_next_question() {
    let cfg = Arc::new(BotConfig {
        min_score: 0.1,
        ..BotConfig::default()
    });
    let mut s = BotSession::new(twin_kb(), Arc::clone(&cfg), webchat());
    s.handle_message(t(0), "parrot colour");
    assert!(
        matches!(
            &drain(&mut s)[..],
            [Action::Ask {
                expect: Expect::Rephrase,
                ..
            }]
        ),
        "nothing about parrots yet"
    );
    // The admin adds an article before "a.en": indexes shift, ids do not.
    let edited = Arc::new(Retriever::new(
        KnowledgeBase::from_toml(
            r#"
[[article]]
id = "parrot.en"
lang = "en"
questions = ["What colour is the parrot?"]
answer = "Green."
[[article]]
id = "a.en"
lang = "en"
questions = ["box router price"]
answer = "X"
[[article]]
id = "b.en"
lang = "en"
questions = ["box router setup"]
answer = "Y"
"#,
        )
        .unwrap(),
    ));
    s.handle_index(t(500), Arc::clone(&edited));
    s.handle_message(t(1_000), "what colour is your parrot");
    assert_eq!(
        drain(&mut s)[0],
        Action::Reply {
            text: "Green.".into()
        }
    );

    // A pending choice follows its articles to their new places.
    let mut s = BotSession::new(twin_kb(), Arc::clone(&cfg), webchat());
    s.handle_message(t(0), "box router");
    drain(&mut s);
    s.handle_index(t(500), edited);
    s.handle_message(t(1_000), "2");
    assert_eq!(drain(&mut s)[0], Action::Reply { text: "Y".into() });

    // A choice whose article was deleted is dropped: "1" is a new question.
    let mut s = BotSession::new(twin_kb(), cfg, webchat());
    s.handle_message(t(0), "box router");
    drain(&mut s);
    let only_b = Arc::new(Retriever::new(
        KnowledgeBase::from_toml(
            "[[article]]\nid = \"b.en\"\nlang = \"en\"\nquestions = [\"box router setup\"]\nanswer = \"Y\"\n",
        )
        .unwrap(),
    ));
    s.handle_index(t(500), only_b);
    s.handle_message(t(1_000), "1");
    assert!(
        !drain(&mut s)
            .iter()
            .any(|a| matches!(a, Action::Reply { text } if text == "X")),
        "the deleted article is not answered"
    );
}

/// The PUK flow on WhatsApp: the address is the number on file, a code is
/// sent, a wrong code is refused, the right one runs the SQL lookup with the
/// number bound, and the code never reaches the transcript.
#[test]
fn puk_after_the_sms_code_on_whatsapp() {
    let mut s = session(config(), whatsapp("+22997000001", Some("+22997000001")));
    s.handle_message(t(0), "ma SIM est bloquée, il me faut le code PUK");
    let a = drain(&mut s);
    assert_eq!(
        a,
        vec![Action::SendOtp {
            to: number("+22997000001")
        }]
    );
    assert!(!s.awaits_code(), "not before the code is sent");
    s.handle_otp_sent(t(500), Ok(OtpCode("482913".into())));
    let a = drain(&mut s);
    assert!(
        matches!(&a[..], [Action::Ask { expect: Expect::OtpCode, text }] if text.contains("01"))
    );
    assert!(s.awaits_code());
    s.handle_message(t(30_000), "111111");
    let a = drain(&mut s);
    assert!(replies(&a)[0].contains("Il vous reste 2 essai(s)"));
    assert!(s.awaits_code(), "still waiting after a wrong code");
    s.handle_message(t(40_000), "482 913");
    assert!(!s.awaits_code());
    let a = drain(&mut s);
    let [Action::Lookup { id, kind }] = &a[..] else {
        panic!("{a:?}")
    };
    assert_eq!(
        kind,
        &LookupKind::Sql {
            db: "operator".into(),
            query: "SELECT puk FROM subscribers WHERE msisdn = ?1".into(),
            params: vec!["+22997000001".into()],
            timeout_ms: 2_000,
        }
    );
    s.handle_lookup_result(
        t(40_100),
        *id,
        Ok(json!({"rows": [{"puk": "12345678"}], "row_count": 1})),
    );
    let a = drain(&mut s);
    assert_eq!(replies(&a)[0], "Votre code PUK est 12345678.");
    assert_eq!(s.verified_number(), Some(&number("+22997000001")));
    assert!(s.transcript().all(|l| !l.text.contains("482")));
    // Verified once: the balance needs no new code.
    s.handle_message(t(60_000), "et mon solde ?");
    let a = drain(&mut s);
    let [Action::Lookup { id, kind }] = &a[..] else {
        panic!("{a:?}")
    };
    assert!(
        matches!(kind, LookupKind::Http { url, .. } if url == "http://127.0.0.1:9/balance?msisdn=%2B22997000001")
    );
    s.handle_lookup_result(t(60_100), *id, Ok(json!({"balance": 1500})));
    assert_eq!(replies(&drain(&mut s))[0], "Votre solde est de 1500 FCFA.");
}

#[test]
fn last_bills_are_listed_after_the_code() {
    let mut s = session(config(), whatsapp("+22997000001", Some("+22997000001")));
    s.handle_message(t(0), "show me my last bills please");
    assert!(matches!(&drain(&mut s)[..], [Action::SendOtp { .. }]));
    s.handle_otp_sent(t(100), Ok(OtpCode("5555".into())));
    drain(&mut s);
    s.handle_message(t(9_000), "5555");
    let a = drain(&mut s);
    let [Action::Lookup { id, .. }] = &a[..] else {
        panic!("{a:?}")
    };
    s.handle_lookup_result(
        t(9_100),
        *id,
        Ok(json!({"rows": [
            {"date": "2026-11-01", "amount_xof": 5000},
            {"date": "2026-10-01", "amount_xof": 4500}
        ], "row_count": 2})),
    );
    assert_eq!(
        replies(&drain(&mut s))[0],
        "Your last bills:\n2026-11-01: 5000 XOF\n2026-10-01: 4500 XOF"
    );
}

#[test]
fn a_number_not_the_one_on_file_is_not_verified() {
    let mut s = session(config(), whatsapp("+22997000002", Some("+22997000001")));
    s.handle_message(t(0), "quel est mon code PUK");
    let a = drain(&mut s);
    assert_eq!(
        hand_over(&a).unwrap().reason,
        HandOverReason::IdentityNotVerified
    );
    assert!(!a.iter().any(|x| matches!(x, Action::SendOtp { .. })));
}

#[test]
fn web_chat_asks_for_the_number_then_sends_the_code_there() {
    let mut s = session(config(), webchat());
    s.handle_message(t(0), "what is my PUK code");
    let a = drain(&mut s);
    assert!(matches!(
        &a[..],
        [Action::Ask {
            expect: Expect::PhoneNumber,
            ..
        }]
    ));
    s.handle_message(t(1_000), "01 97 00 00 01");
    assert_eq!(
        drain(&mut s),
        vec![Action::SendOtp {
            to: number("+2290197000001")
        }]
    );
}

#[test]
fn wrong_codes_exhaust_the_attempts() {
    let mut s = session(config(), whatsapp("+22997000001", None));
    s.handle_message(t(0), "code PUK svp");
    drain(&mut s);
    s.handle_otp_sent(t(0), Ok(OtpCode("123456".into())));
    drain(&mut s);
    for i in 1..=3 {
        s.handle_message(t(i * 1_000), "000000");
    }
    let a = drain(&mut s);
    assert_eq!(
        hand_over(&a).unwrap().reason,
        HandOverReason::IdentityNotVerified
    );
    // Even the right code is now too late.
    s.handle_message(t(10_000), "123456");
    assert_eq!(s.poll_action(), None);
}

#[test]
fn an_expired_code_is_resent_once_then_hands_over() {
    let mut s = session(config(), whatsapp("+22997000001", None));
    s.handle_message(t(0), "what's my PUK");
    drain(&mut s);
    s.handle_otp_sent(t(0), Ok(OtpCode("123456".into())));
    drain(&mut s);
    // 5 min + 1 ms later (virtual time): expired, a new code is sent.
    s.handle_message(t(300_001), "123456");
    let a = drain(&mut s);
    assert!(replies(&a)[0].contains("expired"));
    assert_eq!(
        a.last(),
        Some(&Action::SendOtp {
            to: number("+22997000001")
        })
    );
    s.handle_otp_sent(t(300_500), Ok(OtpCode("654321".into())));
    drain(&mut s);
    // Just in time with the new code: it works.
    s.handle_message(t(600_499), "654321");
    assert!(matches!(&drain(&mut s)[..], [Action::Lookup { .. }]));

    let mut s = session(config(), whatsapp("+22997000001", None));
    s.handle_message(t(0), "what's my PUK");
    drain(&mut s);
    s.handle_otp_sent(t(0), Ok(OtpCode("123456".into())));
    s.handle_message(t(300_000), "123456");
    drain(&mut s);
    s.handle_otp_sent(t(300_000), Ok(OtpCode("222222".into())));
    s.handle_message(t(600_000), "222222");
    assert_eq!(
        hand_over(&drain(&mut s)).unwrap().reason,
        HandOverReason::IdentityNotVerified
    );
}

#[test]
fn a_lookup_error_or_a_failed_sms_hands_over_and_says_so() {
    let mut s = session(config(), whatsapp("+22997000001", None));
    s.handle_message(t(0), "PUK code please");
    drain(&mut s);
    s.handle_otp_sent(t(0), Ok(OtpCode("1234".into())));
    s.handle_message(t(1_000), "1234");
    let a = drain(&mut s);
    let Some(Action::Lookup { id, .. }) = a.last() else {
        panic!("{a:?}")
    };
    s.handle_lookup_result(t(3_000), *id, Err(LookupError::Timeout));
    let a = drain(&mut s);
    assert!(replies(&a)[0].contains("can't reach your account"));
    let h = hand_over(&a).unwrap();
    assert_eq!(h.reason, HandOverReason::LookupFailed);
    assert_eq!(h.intent, Intent::SelfService(SelfService::Puk));

    let mut s = session(config(), whatsapp("+22997000001", None));
    s.handle_message(t(0), "PUK code please");
    drain(&mut s);
    s.handle_otp_sent(t(0), Err(LookupError::Unavailable("SMSC down".into())));
    assert_eq!(
        hand_over(&drain(&mut s)).unwrap().reason,
        HandOverReason::LookupFailed
    );

    // An answer without the field the reply needs is a lookup error too.
    let mut s = session(config(), whatsapp("+22997000001", None));
    s.handle_message(t(0), "PUK code please");
    drain(&mut s);
    s.handle_otp_sent(t(0), Ok(OtpCode("1234".into())));
    s.handle_message(t(1_000), "1234");
    let a = drain(&mut s);
    let Some(Action::Lookup { id, .. }) = a.last() else {
        panic!()
    };
    s.handle_lookup_result(t(1_100), *id, Ok(json!({"rows": [], "row_count": 0})));
    assert_eq!(
        hand_over(&drain(&mut s)).unwrap().reason,
        HandOverReason::LookupFailed
    );
}

#[test]
fn a_stale_lookup_answer_after_a_reopen_is_ignored() {
    let mut s = session(config(), whatsapp("+22997000001", None));
    s.handle_message(t(0), "PUK code please");
    drain(&mut s);
    s.handle_otp_sent(t(0), Ok(OtpCode("1234".into())));
    s.handle_message(t(1_000), "1234");
    drain(&mut s);
    s.handle_reopen(t(2_000));
    s.handle_lookup_result(t(2_100), LookupId(1), Ok(json!({"puk": "12345678"})));
    s.handle_lookup_result(t(2_100), LookupId(2), Ok(json!({"puk": "12345678"})));
    assert_eq!(s.poll_action(), None);
    assert_eq!(s.verified_number(), None);
}

fn phrasing() -> BotConfig {
    BotConfig {
        phrasing: Some(PhrasingConfig {
            timeout_ms: 3_000,
            max_articles: 2,
        }),
        ..config()
    }
}

#[test]
fn llm_phrasing_is_used_when_it_answers_in_time() {
    let mut s = session(phrasing(), webchat());
    s.handle_message(t(0), "how do I check my voicemail messages");
    let a = drain(&mut s);
    let [
        Action::Phrase {
            id,
            articles,
            lang,
            timeout_ms,
            question,
        },
    ] = &a[..]
    else {
        panic!("{a:?}")
    };
    assert_eq!(articles[0].id.0, "voicemail.en");
    assert!(articles.len() <= 2);
    assert_eq!((*lang, *timeout_ms), (Lang::En, 3_000));
    assert_eq!(question, "how do I check my voicemail messages");
    assert_eq!(s.poll_timeout(), Some(t(3_000)));
    s.handle_phrase_result(t(1_200), *id, Ok("Just call 888.".into()));
    let a = drain(&mut s);
    assert_eq!(
        a[0],
        Action::Reply {
            text: "Just call 888.".into()
        }
    );
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn llm_error_or_timeout_falls_back_to_the_retrieved_answer() {
    let fallback =
        "Call 888 to listen to your messages and record your greeting; the default code is 1234.";
    let mut s = session(phrasing(), webchat());
    s.handle_message(t(0), "how do I check my voicemail messages");
    let Some(Action::Phrase { id, .. }) = s.poll_action() else {
        panic!()
    };
    s.handle_phrase_result(t(500), id, Err(PhraseError::Unavailable("HTTP 500".into())));
    assert_eq!(
        drain(&mut s)[0],
        Action::Reply {
            text: fallback.into()
        }
    );

    let mut s = session(phrasing(), webchat());
    s.handle_message(t(0), "how do I check my voicemail messages");
    let Some(Action::Phrase { id, .. }) = s.poll_action() else {
        panic!()
    };
    s.handle_timeout(t(2_999));
    assert_eq!(s.poll_action(), None);
    s.handle_timeout(t(3_000));
    assert_eq!(
        drain(&mut s)[0],
        Action::Reply {
            text: fallback.into()
        }
    );
    // The late phrasing is dropped.
    s.handle_phrase_result(t(3_500), id, Ok("late".into()));
    assert_eq!(s.poll_action(), None);
}

#[test]
fn bad_inputs_are_answered_or_handed_over() {
    let long = "facture ".repeat(1_250); // 10,000 characters
    let inputs = [
        long.as_str(),
        "",
        "   ",
        "😀😀😀🎉",
        "<script>alert('x')</script>",
        "<script>alert(1)</script> code PUK",
        "\u{0}\u{202e}\u{feff}",
    ];
    for m in inputs {
        let mut s = session(config(), webchat());
        s.handle_message(t(0), m);
        let a = drain(&mut s);
        assert!(!a.is_empty(), "no answer to {m:?}");
        for l in s.transcript() {
            assert!(l.text.chars().count() <= bot::MAX_TRANSCRIPT_CHARS + 1);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Arbitrary messages, one after another: never a panic; every message
    /// gets an answer until an agent owns the conversation, then none.
    #[test]
    fn arbitrary_messages_never_panic(msgs in prop::collection::vec(any::<String>(), 1..6)) {
        let mut s = session(config(), whatsapp("+22997000001", None));
        for (i, m) in msgs.iter().enumerate() {
            let was_with_agent = s.is_with_agent();
            s.handle_message(t(i as i64 * 1_000), m);
            let a = drain(&mut s);
            if was_with_agent {
                prop_assert!(a.is_empty());
            } else {
                prop_assert!(!a.is_empty(), "no answer to {:?}", m);
            }
            if let Some(Action::SendOtp { .. }) = a.last() {
                s.handle_otp_sent(t(i as i64 * 1_000 + 1), Ok(OtpCode("1234".into())));
                drain(&mut s);
            }
        }
    }
}
