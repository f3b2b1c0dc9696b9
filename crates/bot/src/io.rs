//! What goes into a [`crate::BotSession`] and what comes out: the
//! conversation's context, the [`Action`]s for the driver, hand-over
//! records, the phrasing request for the optional LLM back-end.

use crate::kb::{ArticleId, SelfService};
use crate::text::Lang;
use domain::{Channel, CustomerId, PhoneNumber, Timestamp};
use ivr::{LookupId, LookupKind};
use serde::{Deserialize, Serialize};

/// What the engine knows about a conversation when the bot takes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BotContext {
    /// The digital channel (web chat, WhatsApp, SMS...).
    pub channel: Channel,
    /// The channel address when it is a phone number (WhatsApp, SMS); `None`
    /// for web chat, Messenger, Instagram.
    pub address: Option<PhoneNumber>,
    /// The customer the engine matched, if any.
    pub customer: Option<CustomerId>,
    /// The mobile number on that customer's record, if known.
    pub customer_number: Option<PhoneNumber>,
    /// Language to use until the customer's own writing says otherwise.
    pub lang: Lang,
}

/// Who wrote a transcript line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    /// The customer.
    Customer,
    /// The bot.
    Bot,
}

/// One line of the transcript handed to the agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    /// When it was written.
    pub at: Timestamp,
    /// Who wrote it.
    pub from: Speaker,
    /// The text (customer text cut at [`crate::MAX_TRANSCRIPT_CHARS`]; one-time
    /// codes are masked).
    pub text: String,
}

/// What the bot thinks the customer wants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Intent {
    /// A FAQ article.
    Faq(ArticleId),
    /// A self-service flow.
    SelfService(SelfService),
    /// Nothing recognised.
    Unknown,
}

/// Why the bot handed the conversation to an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandOverReason {
    /// The customer asked for a human ("conseiller", "talk to a person").
    CustomerAsked,
    /// The best article scored under the threshold twice in a row.
    LowConfidence,
    /// Two articles scored too close twice in a row.
    Ambiguous,
    /// Two turns in the conversation where the bot could not move forward.
    FailedTurns,
    /// The customer said the answer did not help.
    NegativeFeedback,
    /// A web-service or SQL lookup failed (or the one-time code could not be sent).
    LookupFailed,
    /// The identity check failed (number mismatch, wrong or expired codes).
    IdentityNotVerified,
}

/// The hand-over record: everything the agent's screen-pop shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandOver {
    /// Why.
    pub reason: HandOverReason,
    /// The conversation since the bot took it (or since the last reopen).
    pub transcript: Vec<TranscriptLine>,
    /// The last intent detected.
    pub intent: Intent,
    /// Articles the bot sent or proposed, in order, without repeats.
    pub articles_tried: Vec<ArticleId>,
    /// The conversation's language.
    pub lang: Lang,
}

/// What an [`Action::Ask`] expects back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "options", rename_all = "snake_case")]
pub enum Expect {
    /// A rewording of the question.
    Rephrase,
    /// One of these choices (by number, `1`-based, or by text).
    Choice(Vec<String>),
    /// The customer's mobile number.
    PhoneNumber,
    /// The one-time code sent by SMS.
    OtpCode,
}

/// The one-time code sent by SMS for the identity check. Its `Debug` form
/// hides the digits so that logs never carry it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OtpCode(pub String);

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(***)")
    }
}

/// Identifies one phrasing request (answers carry it back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PhraseId(pub u64);

/// A retrieved article given to the LLM as its only source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceArticle {
    /// Article id.
    pub id: ArticleId,
    /// Its title question.
    pub question: String,
    /// Its answer.
    pub answer: String,
}

/// Why the LLM back-end gave no phrasing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", content = "detail", rename_all = "snake_case")]
pub enum PhraseError {
    /// No answer within the time allowed.
    #[error("time-out")]
    Timeout,
    /// HTTP or connection error, or a reply in an unexpected shape.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// Something the driver must do. Drained with [`crate::BotSession::poll_action`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Send this text to the customer (plain text: the UI escapes it).
    Reply {
        /// The message.
        text: String,
    },
    /// Send this question to the customer and wait for the answer.
    Ask {
        /// The message.
        text: String,
        /// What the answer should be.
        expect: Expect,
    },
    /// Run a web-service or SQL lookup (the IVR's connectors) and answer with
    /// [`crate::BotSession::handle_lookup_result`].
    Lookup {
        /// Request id.
        id: LookupId,
        /// What to run, fully rendered.
        kind: LookupKind,
    },
    /// Generate a one-time code, send it by SMS to `to`, and report with
    /// [`crate::BotSession::handle_otp_sent`]. The code's randomness lives in
    /// the driver (the core has no entropy source).
    SendOtp {
        /// The verified mobile number.
        to: PhoneNumber,
    },
    /// Optional LLM back-end: phrase an answer to `question` from `articles`
    /// only, within `timeout_ms`, and answer with
    /// [`crate::BotSession::handle_phrase_result`]. On no answer the session
    /// falls back to the first article's answer at its deadline.
    Phrase {
        /// Request id.
        id: PhraseId,
        /// The customer's question.
        question: String,
        /// The sources, best first.
        articles: Vec<SourceArticle>,
        /// Language of the answer.
        lang: Lang,
        /// Time allowed, ms.
        timeout_ms: u32,
    },
    /// Queue the conversation for an agent with this record. The bot stays
    /// silent afterwards, until [`crate::BotSession::handle_reopen`].
    HandOver(HandOver),
}
