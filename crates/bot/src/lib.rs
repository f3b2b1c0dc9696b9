//! # bot — the chatbot core for the digital channels (SPEC §3.4, issue 20)
//!
//! Answers customers on web chat, WhatsApp, Messenger, Instagram and SMS
//! without an agent: FAQ answers by BM25 retrieval over a French and English
//! knowledge base ([`Retriever`]), self-service flows (PUK code, balance,
//! last bills) behind an identity check (the channel's number + a one-time
//! code by SMS), and hand-over to an agent with the transcript, the detected
//! intent and the articles tried. [`BotSession`] is a sans-I/O state
//! machine shaped like the IVR's session: `handle_*(now, ..)` in,
//! [`BotSession::poll_action`] and [`BotSession::poll_timeout`] out.
//!
//! It must not know about sockets, HTTP clients, databases, the clock,
//! randomness or the channel's wire formats: the driver (the engine) sends
//! [`Action::Reply`] and [`Action::Ask`] on the channel, runs
//! [`Action::Lookup`] with the IVR's connectors, generates and sends the
//! code for [`Action::SendOtp`], calls the optional LLM for
//! [`Action::Phrase`], and queues the conversation on [`Action::HandOver`].
//! Texts are plain: the UI escapes them.
//!
//! ```
//! use bot::{Action, BotConfig, BotContext, BotSession, HandOverReason, KnowledgeBase, Lang, Retriever};
//! use domain::{Channel, Timestamp};
//! use std::sync::Arc;
//!
//! let kb = KnowledgeBase::from_toml(r#"
//! [[article]]
//! id = "hours.en"
//! lang = "en"
//! questions = ["What are your opening hours?", "When are your shops open?"]
//! answer = "Our shops are open Monday to Saturday, 8 am to 7 pm."
//!
//! [[article]]
//! id = "roaming.en"
//! lang = "en"
//! questions = ["How do I use my phone abroad?", "Activate roaming"]
//! answer = "Roaming is on by default; dial *123# to check the rates."
//! "#).expect("valid knowledge base");
//! let retriever = Arc::new(Retriever::new(kb));
//! let config = Arc::new(BotConfig { min_score: 0.5, ..BotConfig::default() });
//! let ctx = BotContext {
//!     channel: Channel::Webchat, address: None, customer: None,
//!     customer_number: None, lang: Lang::En,
//! };
//! let mut chat = BotSession::new(retriever, config, ctx);
//! let mut now = Timestamp::from_millis(0);
//!
//! // The driver loop: hand in each message, then run every action.
//! chat.handle_message(now, "when do your shops open on saturday?");
//! let Some(Action::Reply { text }) = chat.poll_action() else { panic!() };
//! assert!(text.starts_with("Our shops are open"));
//! assert!(matches!(chat.poll_action(), Some(Action::Ask { .. }))); // "Did this answer..."
//!
//! now = now.add_millis(20_000);
//! chat.handle_message(now, "I'd like to talk to a person");
//! let Some(Action::Reply { .. }) = chat.poll_action() else { panic!() }; // "passing you to an agent"
//! let Some(Action::HandOver(h)) = chat.poll_action() else { panic!() };
//! assert_eq!(h.reason, HandOverReason::CustomerAsked);
//! assert_eq!(h.articles_tried[0].0, "hours.en");
//! assert_eq!(h.transcript.len(), 5);
//!
//! // An agent owns the conversation now: the bot stays silent.
//! chat.handle_message(now.add_millis(1_000), "hello?");
//! assert_eq!(chat.poll_action(), None);
//! ```
//!
//! ## Layout
//! - [`text`]: [`Lang`], the [`text::Analyzer`] (stop words, Snowball
//!   stemming, accent folding), language guessing, phrase matching.
//! - [`kb`]: [`Article`], [`KnowledgeBase`] (TOML), the labelled test set.
//! - [`retrieval`]: the BM25 [`Retriever`], one index per language.
//! - [`config`]: [`BotConfig`]: thresholds, code limits, lookups, LLM.
//! - [`io`]: [`BotContext`], [`Action`], [`HandOver`] and what they carry.
//! - [`session`]: the [`BotSession`] state machine.

#![warn(missing_docs)]

pub mod config;
pub mod io;
pub mod kb;
pub mod retrieval;
pub mod session;
pub mod text;

pub use config::{BotConfig, LookupSpec, Lookups, PhrasingConfig, Texts};
pub use io::{
    Action, BotContext, Expect, HandOver, HandOverReason, Intent, OtpCode, PhraseError, PhraseId,
    SourceArticle, Speaker, TranscriptLine,
};
pub use kb::parse_test_set;
pub use kb::{Article, ArticleId, KbError, KnowledgeBase, LabelledQuestion, SelfService};
pub use retrieval::{Evaluation, Hit, Retriever, Verdict, verdict};
pub use session::{BotSession, MAX_TRANSCRIPT_CHARS, mask_code};
pub use text::Lang;
