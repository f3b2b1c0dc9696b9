//! [`BotSession`]: one conversation with the bot, a sans-I/O state machine.
//!
//! Inputs: [`BotSession::handle_message`], [`BotSession::handle_otp_sent`],
//! [`BotSession::handle_lookup_result`], [`BotSession::handle_phrase_result`],
//! [`BotSession::handle_timeout`], [`BotSession::handle_reopen`]. Outputs:
//! [`BotSession::poll_action`] and [`BotSession::poll_timeout`]. Time only
//! enters as `now` and must not go backwards.

use crate::config::BotConfig;
use crate::io::{
    Action, BotContext, Expect, HandOver, HandOverReason, Intent, OtpCode, PhraseError, PhraseId,
    SourceArticle, Speaker, TranscriptLine,
};
use crate::kb::{ArticleId, SelfService};
use crate::retrieval::{Hit, Retriever, Verdict, verdict};
use crate::text::{Lang, contains_phrase, guess_lang, normalise};
use domain::{PhoneNumber, Timestamp};
use ivr::{LookupError, LookupId};
use std::collections::VecDeque;
use std::sync::Arc;

/// Most transcript lines kept; older lines are dropped first (the hand-over
/// record says how many with a `[… N earlier lines …]` first line).
pub const MAX_TRANSCRIPT_LINES: usize = 100;
/// Longest customer text kept in the transcript, in characters (the rest is
/// replaced by `…`).
pub const MAX_TRANSCRIPT_CHARS: usize = 2_000;
/// Most actions waiting in the queue. One input queues at most 3, and the
/// driver drains the queue after every input; should a driver not, the
/// oldest action is dropped first (a hand-over is never dropped).
pub const MAX_PENDING_ACTIONS: usize = 16;
/// Most articles remembered in `articles_tried` (first ones kept).
pub const MAX_ARTICLES_TRIED: usize = 20;

/// Phrases (folded, lower case) by which a customer asks for a human.
const HUMAN_PHRASES: &[&str] = &[
    "agent",
    "agents",
    "conseiller",
    "conseillere",
    "conseillers",
    "teleconseiller",
    "humain",
    "humaine",
    "parler a quelqu'un",
    "parler a une personne",
    "vraie personne",
    "personne reelle",
    "human",
    "humans",
    "talk to a person",
    "speak to a person",
    "talk to someone",
    "speak to someone",
    "speak with someone",
    "talk with someone",
    "real person",
    "live person",
    "representative",
];

/// Negative feedback anywhere after an answer.
const NEGATIVE_PHRASES: &[&str] = &[
    "pas utile",
    "m'aide pas",
    "aide pas",
    "ne repond pas",
    "pas ma question",
    "n'importe quoi",
    "inutile",
    "not helpful",
    "unhelpful",
    "doesn't help",
    "does not help",
    "didn't help",
    "did not help",
    "useless",
    "not what i asked",
    "wrong answer",
];

/// Negative answers to "did this help?" (the whole message).
const NO_WORDS: &[&str] = &["non", "no", "nope", "pas vraiment", "not really", "nan"];
/// Positive answers to "did this help?" (the whole message).
const YES_WORDS: &[&str] = &[
    "oui",
    "yes",
    "merci",
    "thanks",
    "thank you",
    "parfait",
    "super",
    "ok",
    "great",
    "top",
    "perfect",
    "yep",
    "genial",
];
/// Greetings: a message of only these is answered, not counted as failed.
const GREETINGS: &[&str] = &[
    "bonjour",
    "salut",
    "bonsoir",
    "hello",
    "hi",
    "hey",
    "good morning",
    "good evening",
];

#[derive(Clone, Debug, PartialEq)]
enum Stage {
    /// Waiting for a question.
    Idle,
    /// An answer was sent; "did this help?" asked.
    AwaitFeedback,
    /// Two articles proposed (indexes into the knowledge base) for this
    /// question.
    AwaitChoice(Vec<usize>, String),
    /// Web chat: the mobile number was asked for.
    AwaitNumber(SelfService),
    /// `SendOtp` emitted, waiting for the driver's report.
    AwaitOtpSent(SelfService, PhoneNumber),
    /// The code was sent; waiting for the customer to type it.
    AwaitCode {
        flow: SelfService,
        number: PhoneNumber,
        code: OtpCode,
        expires: Timestamp,
        attempts: u32,
    },
    /// A self-service lookup is running.
    AwaitLookup(LookupId, SelfService),
    /// The LLM back-end is phrasing; `fallback` is sent at `deadline`.
    AwaitPhrase {
        id: PhraseId,
        deadline: Timestamp,
        fallback: String,
    },
    /// An agent owns the conversation: the bot says nothing.
    WithAgent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unclear {
    Low,
    Ambiguous,
}

/// One conversation with the bot. See the crate docs for the driver loop.
#[derive(Debug)]
pub struct BotSession {
    retriever: Arc<Retriever>,
    config: Arc<BotConfig>,
    ctx: BotContext,
    lang: Lang,
    stage: Stage,
    /// Unclear retrieval results in a row.
    unclear_streak: u32,
    last_unclear: Option<Unclear>,
    /// Turns where the bot could not move forward, since the last reopen.
    failed_turns: u32,
    otp_resends: u32,
    verified: Option<PhoneNumber>,
    intent: Intent,
    /// The last question searched (for the LLM after a choice).
    question: String,
    articles_tried: Vec<ArticleId>,
    transcript: VecDeque<TranscriptLine>,
    dropped_lines: usize,
    actions: VecDeque<Action>,
    next_id: u64,
    last_now: Timestamp,
}

impl BotSession {
    /// A session for one conversation, with a shared index and settings.
    pub fn new(retriever: Arc<Retriever>, config: Arc<BotConfig>, ctx: BotContext) -> Self {
        let lang = ctx.lang;
        Self {
            retriever,
            config,
            ctx,
            lang,
            stage: Stage::Idle,
            unclear_streak: 0,
            last_unclear: None,
            failed_turns: 0,
            otp_resends: 0,
            verified: None,
            intent: Intent::Unknown,
            question: String::new(),
            articles_tried: Vec::new(),
            transcript: VecDeque::new(),
            dropped_lines: 0,
            actions: VecDeque::new(),
            next_id: 1,
            last_now: Timestamp::from_millis(i64::MIN),
        }
    }

    // ----- getters -----

    /// True once the conversation was handed to an agent (the bot is silent).
    pub fn is_with_agent(&self) -> bool {
        self.stage == Stage::WithAgent
    }

    /// The conversation's language (the customer's last recognisable one).
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The transcript since the start or the last reopen.
    pub fn transcript(&self) -> impl Iterator<Item = &TranscriptLine> {
        self.transcript.iter()
    }

    /// The number verified by a one-time code in this conversation, if any.
    pub fn verified_number(&self) -> Option<&PhoneNumber> {
        self.verified.as_ref()
    }

    /// True while the bot waits for the customer to type a one-time code:
    /// the next message may hold it, so whatever stores or logs that
    /// message keeps only [`mask_code`] of it.
    pub fn awaits_code(&self) -> bool {
        matches!(self.stage, Stage::AwaitCode { .. })
    }

    // ----- outputs -----

    /// The next action for the driver, oldest first.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`BotSession::handle_timeout`] must be called next (the LLM
    /// phrasing deadline), if a timer runs.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match &self.stage {
            Stage::AwaitPhrase { deadline, .. } => Some(*deadline),
            _ => None,
        }
    }

    // ----- inputs -----

    /// A message from the customer (any text: empty, emoji, 10,000
    /// characters, markup — never a panic; markup is plain text here and
    /// escaped by the UI).
    pub fn handle_message(&mut self, now: Timestamp, text: &str) {
        self.tick(now);
        if self.stage == Stage::WithAgent {
            return;
        }
        let masked = matches!(self.stage, Stage::AwaitCode { .. });
        self.record(now, Speaker::Customer, text, masked);
        if let Some(l) = guess_lang(text) {
            self.lang = l;
        }
        let norm = normalise(text);
        if contains_phrase(&norm, HUMAN_PHRASES) {
            self.hand_over(now, HandOverReason::CustomerAsked);
            return;
        }
        if !self.articles_tried.is_empty() && contains_phrase(&norm, NEGATIVE_PHRASES) {
            self.hand_over(now, HandOverReason::NegativeFeedback);
            return;
        }
        match self.stage.clone() {
            Stage::AwaitCode {
                flow,
                number,
                code,
                expires,
                attempts,
            } => self.on_code(now, text, flow, number, code, expires, attempts),
            Stage::AwaitNumber(flow) => self.on_number(now, text, flow),
            Stage::AwaitChoice(options, question) => {
                if let Some(i) = choice(&norm, &options, &self.retriever) {
                    self.unclear_streak = 0;
                    self.answer(now, &question, i, Vec::new());
                } else {
                    self.on_question(now, text, &norm);
                }
            }
            Stage::AwaitFeedback => {
                // Only a bare yes/no is feedback: "no signal at home" is a question.
                if is_only(&norm, NO_WORDS) || norm.trim() == "2" {
                    self.hand_over(now, HandOverReason::NegativeFeedback);
                } else if is_only(&norm, YES_WORDS) || norm.trim() == "1" {
                    self.stage = Stage::Idle;
                    let t = self.t(
                        "Avec plaisir ! Avez-vous une autre question ?",
                        "You're welcome! Anything else I can help with?",
                    );
                    self.reply(now, t);
                } else {
                    self.on_question(now, text, &norm);
                }
            }
            Stage::AwaitOtpSent(..) | Stage::AwaitLookup(..) | Stage::AwaitPhrase { .. } => {
                let t = self.t("Un instant, je vérifie…", "One moment, I'm checking…");
                self.reply(now, t);
            }
            Stage::Idle => self.on_question(now, text, &norm),
            Stage::WithAgent => {}
        }
    }

    /// The driver's report on [`Action::SendOtp`]: the code it generated and
    /// sent, or why sending failed (then the bot hands over). Ignored when no
    /// code was requested.
    pub fn handle_otp_sent(&mut self, now: Timestamp, sent: Result<OtpCode, LookupError>) {
        self.tick(now);
        let Stage::AwaitOtpSent(flow, number) = self.stage.clone() else {
            return;
        };
        match sent {
            Ok(code) => {
                self.stage = Stage::AwaitCode {
                    flow,
                    number: number.clone(),
                    code,
                    expires: now.add_millis(self.config.otp_ttl_ms),
                    attempts: 0,
                };
                let tail = tail(&number);
                let t = match self.lang {
                    Lang::Fr => format!(
                        "Pour vérifier votre identité, je vous ai envoyé un code par SMS au numéro se terminant par {tail}. Tapez-le ici."
                    ),
                    Lang::En => format!(
                        "To check it's you, I've sent a code by SMS to the number ending in {tail}. Please type it here."
                    ),
                };
                self.ask(now, t, Expect::OtpCode);
            }
            Err(_) => self.hand_over(now, HandOverReason::LookupFailed),
        }
    }

    /// The answer to [`Action::Lookup`] `id`: a JSON object (web service) or
    /// `{"rows": [...], "row_count": n}` (SQL). Stale ids are ignored. An
    /// error, or an answer lacking a field the reply needs, hands over.
    pub fn handle_lookup_result(
        &mut self,
        now: Timestamp,
        id: LookupId,
        result: Result<serde_json::Value, LookupError>,
    ) {
        self.tick(now);
        let Stage::AwaitLookup(want, flow) = self.stage else {
            return;
        };
        if want != id {
            return;
        }
        let Some(spec) = self.config.lookups.get(flow) else {
            self.hand_over(now, HandOverReason::LookupFailed);
            return;
        };
        let rendered = result
            .ok()
            .and_then(|v| spec.render(self.lang, &v, self.config.max_rows));
        match rendered {
            Some(text) => {
                self.reply(now, text);
                self.ask_feedback(now);
            }
            None => self.hand_over(now, HandOverReason::LookupFailed),
        }
    }

    /// The LLM back-end's phrasing for [`Action::Phrase`] `id`. On error, an
    /// empty text, or one longer than [`MAX_TRANSCRIPT_CHARS`], the retrieved
    /// answer is sent instead. Late or stale answers are ignored.
    pub fn handle_phrase_result(
        &mut self,
        now: Timestamp,
        id: PhraseId,
        result: Result<String, PhraseError>,
    ) {
        self.tick(now);
        let Stage::AwaitPhrase {
            id: want, fallback, ..
        } = self.stage.clone()
        else {
            return;
        };
        if want != id {
            return;
        }
        let text = match result {
            Ok(t) if !t.trim().is_empty() && t.chars().count() <= MAX_TRANSCRIPT_CHARS => {
                t.trim().to_string()
            }
            _ => fallback,
        };
        self.reply(now, text);
        self.ask_feedback(now);
    }

    /// Time passed: a phrasing past its deadline falls back to the retrieved
    /// answer.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.tick(now);
        if let Stage::AwaitPhrase {
            deadline, fallback, ..
        } = self.stage.clone()
            && now >= deadline
        {
            self.reply(now, fallback);
            self.ask_feedback(now);
        }
    }

    /// The conversation was closed and the customer wrote again: the bot
    /// takes it afresh. Transcript, counters, flows, pending lookups and
    /// the verified number are forgotten (no replay of old context); late
    /// answers to old lookups are ignored.
    pub fn handle_reopen(&mut self, now: Timestamp) {
        self.tick(now);
        self.stage = Stage::Idle;
        self.unclear_streak = 0;
        self.last_unclear = None;
        self.failed_turns = 0;
        self.otp_resends = 0;
        self.verified = None;
        self.intent = Intent::Unknown;
        self.question.clear();
        self.articles_tried.clear();
        self.transcript.clear();
        self.dropped_lines = 0;
        self.actions.clear();
    }

    /// A new index (the knowledge base was edited): the next questions are
    /// searched in it. A pending choice between two articles keeps the
    /// articles that still exist (found by id); with fewer than two left
    /// the bot waits for a new question. Articles already tried stay in
    /// the hand-over record by id.
    pub fn handle_index(&mut self, now: Timestamp, retriever: Arc<Retriever>) {
        self.tick(now);
        if let Stage::AwaitChoice(options, question) = &self.stage {
            let old = self.retriever.kb().articles();
            let new = retriever.kb().articles();
            let kept: Vec<usize> = options
                .iter()
                .filter_map(|&i| old.get(i))
                .filter_map(|a| new.iter().position(|b| b.id == a.id))
                .collect();
            self.stage = if kept.len() == options.len() {
                Stage::AwaitChoice(kept, question.clone())
            } else {
                Stage::Idle
            };
        }
        self.retriever = retriever;
    }

    // ----- the turn logic -----

    fn on_question(&mut self, now: Timestamp, text: &str, norm: &str) {
        let (lang, hits) = self.retriever.search_any(text, self.lang);
        if hits.is_empty() && !norm.trim().is_empty() && is_only(norm, GREETINGS) {
            self.stage = Stage::Idle;
            let t = self.t(
                "Bonjour ! Posez-moi votre question (code PUK, solde, factures, roaming…).",
                "Hello! Ask me your question (PUK code, balance, bills, roaming…).",
            );
            self.reply(now, t);
            return;
        }
        self.lang = lang;
        self.question = cut(text, MAX_TRANSCRIPT_CHARS);
        match verdict(
            &hits,
            self.config.min_score,
            self.config.min_coverage,
            self.config.ambiguity_ratio,
        ) {
            Verdict::Confident(h) => {
                self.unclear_streak = 0;
                self.last_unclear = None;
                self.answer(now, text, h.article, hits);
            }
            Verdict::Ambiguous(a, b) => self.unclear(now, Unclear::Ambiguous, Some((a, b))),
            Verdict::Low => self.unclear(now, Unclear::Low, None),
        }
    }

    fn unclear(&mut self, now: Timestamp, kind: Unclear, pair: Option<(Hit, Hit)>) {
        self.unclear_streak += 1;
        self.failed_turns += 1;
        self.last_unclear = Some(kind);
        if self.unclear_streak >= 2 {
            let reason = match kind {
                Unclear::Low => HandOverReason::LowConfidence,
                Unclear::Ambiguous => HandOverReason::Ambiguous,
            };
            self.hand_over(now, reason);
            return;
        }
        if self.failed_turns >= 2 {
            self.hand_over(now, HandOverReason::FailedTurns);
            return;
        }
        match pair {
            Some((a, b)) => {
                let retriever = Arc::clone(&self.retriever);
                let kb = retriever.kb();
                let titles: Vec<String> = [a.article, b.article]
                    .iter()
                    .filter_map(|&i| kb.articles().get(i))
                    .map(|x| x.title().to_string())
                    .collect();
                for i in [a.article, b.article] {
                    self.tried(i);
                }
                if let Some(a) = kb.articles().get(a.article) {
                    self.intent = intent_of(a);
                }
                let head = self.t(
                    "Je veux être sûr de bien comprendre. Vous voulez dire :",
                    "I want to be sure I understand. Do you mean:",
                );
                let mut t = head.to_string();
                for (n, title) in titles.iter().enumerate() {
                    t.push_str(&format!("\n{}. {title}", n + 1));
                }
                self.stage = Stage::AwaitChoice(vec![a.article, b.article], self.question.clone());
                self.ask(now, t, Expect::Choice(titles));
            }
            None => {
                self.stage = Stage::Idle;
                let t = self.t(
                    "Je n'ai pas bien compris. Pouvez-vous reformuler votre question ?",
                    "Sorry, I didn't get that. Could you rephrase your question?",
                );
                self.ask(now, t.to_string(), Expect::Rephrase);
            }
        }
    }

    fn answer(&mut self, now: Timestamp, question: &str, article: usize, hits: Vec<Hit>) {
        let Some(a) = self.retriever.kb().articles().get(article).cloned() else {
            return;
        };
        self.tried(article);
        self.intent = intent_of(&a);
        if let Some(flow) = a.self_service
            && self.config.lookups.get(flow).is_some()
        {
            self.start_flow(now, flow);
            return;
        }
        match self.config.phrasing {
            Some(p) => {
                let id = PhraseId(self.next_id());
                let kb = self.retriever.kb();
                let mut sources = vec![source(&a)];
                for h in hits.iter().skip(1).take(p.max_articles.saturating_sub(1)) {
                    if let Some(x) = kb.articles().get(h.article)
                        && x.self_service.is_none()
                    {
                        sources.push(source(x));
                    }
                }
                self.stage = Stage::AwaitPhrase {
                    id,
                    deadline: now.add_millis(i64::from(p.timeout_ms)),
                    fallback: a.answer.clone(),
                };
                self.push(Action::Phrase {
                    id,
                    question: cut(question, MAX_TRANSCRIPT_CHARS),
                    articles: sources,
                    lang: self.lang,
                    timeout_ms: p.timeout_ms,
                });
            }
            None => {
                self.reply(now, a.answer.clone());
                self.ask_feedback(now);
            }
        }
    }

    fn start_flow(&mut self, now: Timestamp, flow: SelfService) {
        if let Some(n) = self.verified.clone() {
            self.run_lookup(flow, &n);
            return;
        }
        match self.ctx.address.clone() {
            Some(addr) => {
                if self
                    .ctx
                    .customer_number
                    .as_ref()
                    .is_some_and(|n| *n != addr)
                {
                    self.hand_over(now, HandOverReason::IdentityNotVerified);
                    return;
                }
                self.send_otp(flow, addr);
            }
            None => {
                self.stage = Stage::AwaitNumber(flow);
                let t = self.t(
                    "Pour accéder à vos informations, quel est votre numéro de mobile ?",
                    "To access your account, what is your mobile number?",
                );
                self.ask(now, t.to_string(), Expect::PhoneNumber);
            }
        }
    }

    fn send_otp(&mut self, flow: SelfService, to: PhoneNumber) {
        self.stage = Stage::AwaitOtpSent(flow, to.clone());
        self.push(Action::SendOtp { to });
    }

    fn on_number(&mut self, now: Timestamp, text: &str, flow: SelfService) {
        let parsed = domain::phone::normalize_e164(text, self.config.default_country.as_deref());
        match parsed {
            Ok(n) => {
                if self.ctx.customer_number.as_ref().is_some_and(|c| *c != n) {
                    self.hand_over(now, HandOverReason::IdentityNotVerified);
                } else {
                    self.send_otp(flow, n);
                }
            }
            Err(_) if looks_numeric(text) => {
                self.failed_turns += 1;
                if self.failed_turns >= 2 {
                    self.hand_over(now, HandOverReason::FailedTurns);
                } else {
                    let t = self.t(
                        "Ce numéro ne semble pas valide. Pouvez-vous le retaper ?",
                        "That number doesn't look valid. Could you type it again?",
                    );
                    self.ask(now, t.to_string(), Expect::PhoneNumber);
                }
            }
            Err(_) => {
                self.stage = Stage::Idle;
                let norm = normalise(text);
                self.on_question(now, text, &norm);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_code(
        &mut self,
        now: Timestamp,
        text: &str,
        flow: SelfService,
        number: PhoneNumber,
        code: OtpCode,
        expires: Timestamp,
        attempts: u32,
    ) {
        if !looks_numeric(text) {
            // Not a code: the customer moved on to another question.
            self.stage = Stage::Idle;
            let norm = normalise(text);
            self.on_question(now, text, &norm);
            return;
        }
        let typed: String = text.chars().filter(char::is_ascii_digit).collect();
        if now >= expires {
            if self.otp_resends < self.config.otp_max_resends {
                self.otp_resends += 1;
                let t = self.t(
                    "Ce code a expiré ; je vous en envoie un nouveau.",
                    "That code has expired; I'm sending you a new one.",
                );
                self.reply(now, t.to_string());
                self.send_otp(flow, number);
            } else {
                self.hand_over(now, HandOverReason::IdentityNotVerified);
            }
            return;
        }
        if constant_time_eq(typed.as_bytes(), code.0.as_bytes()) {
            self.verified = Some(number.clone());
            self.run_lookup(flow, &number);
            return;
        }
        let attempts = attempts + 1;
        if attempts >= self.config.otp_max_attempts {
            self.hand_over(now, HandOverReason::IdentityNotVerified);
            return;
        }
        self.stage = Stage::AwaitCode {
            flow,
            number,
            code,
            expires,
            attempts,
        };
        let left = self.config.otp_max_attempts - attempts;
        let t = match self.lang {
            Lang::Fr => format!("Code incorrect. Il vous reste {left} essai(s)."),
            Lang::En => format!("Wrong code. You have {left} attempt(s) left."),
        };
        self.ask(now, t, Expect::OtpCode);
    }

    fn run_lookup(&mut self, flow: SelfService, number: &PhoneNumber) {
        let config = Arc::clone(&self.config);
        let Some(spec) = config.lookups.get(flow) else {
            return;
        };
        let id = LookupId(self.next_id());
        let kind = spec.request(number);
        self.stage = Stage::AwaitLookup(id, flow);
        self.intent = Intent::SelfService(flow);
        self.push(Action::Lookup { id, kind });
    }

    fn ask_feedback(&mut self, now: Timestamp) {
        self.stage = Stage::AwaitFeedback;
        let (t, yes, no) = match self.lang {
            Lang::Fr => ("Cette réponse vous aide-t-elle ?", "Oui", "Non"),
            Lang::En => ("Did this answer your question?", "Yes", "No"),
        };
        self.ask(
            now,
            t.to_string(),
            Expect::Choice(vec![yes.to_string(), no.to_string()]),
        );
    }

    fn hand_over(&mut self, now: Timestamp, reason: HandOverReason) {
        let t = match (self.lang, reason) {
            (Lang::Fr, HandOverReason::LookupFailed) => {
                "Je n'arrive pas à consulter votre dossier pour le moment. Je vous mets en relation avec un conseiller, qui aura notre échange sous les yeux."
            }
            (Lang::En, HandOverReason::LookupFailed) => {
                "I can't reach your account right now. I'm passing you to an agent, who will see our conversation."
            }
            (Lang::Fr, HandOverReason::IdentityNotVerified) => {
                "Je n'ai pas pu vérifier votre identité. Je vous mets en relation avec un conseiller, qui aura notre échange sous les yeux."
            }
            (Lang::En, HandOverReason::IdentityNotVerified) => {
                "I couldn't verify your identity. I'm passing you to an agent, who will see our conversation."
            }
            (Lang::Fr, _) => {
                "Je vous mets en relation avec un conseiller, qui aura notre échange sous les yeux. Merci de patienter."
            }
            (Lang::En, _) => {
                "I'm passing you to an agent, who will see our conversation. Please hold on."
            }
        };
        self.reply(now, t.to_string());
        let mut transcript: Vec<TranscriptLine> = Vec::with_capacity(self.transcript.len() + 1);
        if self.dropped_lines > 0 {
            transcript.push(TranscriptLine {
                at: self.transcript.front().map_or(now, |l| l.at),
                from: Speaker::Bot,
                text: format!("[… {} earlier lines …]", self.dropped_lines),
            });
        }
        transcript.extend(self.transcript.iter().cloned());
        self.stage = Stage::WithAgent;
        self.push(Action::HandOver(HandOver {
            reason,
            transcript,
            intent: self.intent.clone(),
            articles_tried: self.articles_tried.clone(),
            lang: self.lang,
        }));
    }

    // ----- helpers -----

    fn tick(&mut self, now: Timestamp) {
        debug_assert!(now >= self.last_now, "time must not go backwards");
        self.last_now = self.last_now.max(now);
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn t(&self, fr: &'static str, en: &'static str) -> &'static str {
        match self.lang {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    fn reply(&mut self, now: Timestamp, text: impl Into<String>) {
        let text = text.into();
        self.record(now, Speaker::Bot, &text, false);
        self.push(Action::Reply { text });
    }

    fn ask(&mut self, now: Timestamp, text: impl Into<String>, expect: Expect) {
        let text = text.into();
        self.record(now, Speaker::Bot, &text, false);
        self.push(Action::Ask { text, expect });
    }

    fn push(&mut self, a: Action) {
        if self.actions.len() >= MAX_PENDING_ACTIONS
            && let Some(i) = self
                .actions
                .iter()
                .position(|x| !matches!(x, Action::HandOver(_)))
        {
            self.actions.remove(i);
        }
        self.actions.push_back(a);
    }

    fn record(&mut self, now: Timestamp, from: Speaker, text: &str, masked: bool) {
        let mut text = cut(text, MAX_TRANSCRIPT_CHARS);
        if masked {
            text = mask_code(&text);
        }
        if self.transcript.len() >= MAX_TRANSCRIPT_LINES {
            self.transcript.pop_front();
            self.dropped_lines += 1;
        }
        self.transcript.push_back(TranscriptLine {
            at: now,
            from,
            text,
        });
    }

    fn tried(&mut self, article: usize) {
        if let Some(a) = self.retriever.kb().articles().get(article)
            && !self.articles_tried.contains(&a.id)
            && self.articles_tried.len() < MAX_ARTICLES_TRIED
        {
            self.articles_tried.push(a.id.clone());
        }
    }
}

/// `text` with every ASCII digit replaced by `•` (`"123456"` →
/// `"••••••"`): how a message that may hold a one-time code is kept in the
/// transcript, the event log and the logs. Other characters are kept, so a
/// question typed instead of the code stays readable.
pub fn mask_code(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_digit() { '•' } else { c })
        .collect()
}

fn intent_of(a: &crate::kb::Article) -> Intent {
    match a.self_service {
        Some(f) => Intent::SelfService(f),
        None => Intent::Faq(a.id.clone()),
    }
}

fn source(a: &crate::kb::Article) -> SourceArticle {
    SourceArticle {
        id: a.id.clone(),
        question: a.title().to_string(),
        answer: a.answer.clone(),
    }
}

/// The choice named by a normalised answer: `1`/`2`, or an option's title.
fn choice(norm: &str, options: &[usize], r: &Retriever) -> Option<usize> {
    let t = norm.trim();
    if let Ok(n) = t.parse::<usize>() {
        return options.get(n.checked_sub(1)?).copied();
    }
    options.iter().copied().find(|&i| {
        r.kb()
            .articles()
            .get(i)
            .is_some_and(|a| normalise(a.title()).trim() == t)
    })
}

/// True when the normalised text is made only of these phrases.
fn is_only(norm: &str, phrases: &[&str]) -> bool {
    if norm.trim().is_empty() {
        return false;
    }
    let mut rest = format!(" {} ", norm.trim());
    for p in phrases {
        rest = rest.replace(&format!(" {p} "), " ");
    }
    rest.trim().is_empty()
}

/// Digits with at most spaces, dots, dashes, parentheses and a leading `+`.
fn looks_numeric(text: &str) -> bool {
    let t = text.trim();
    t.len() <= 32
        && t.chars().any(|c| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || " .-()+\u{a0}".contains(c))
}

/// The first `max` characters of `s`, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The last 2 digits of a number, for "ending in 42".
fn tail(n: &PhoneNumber) -> &str {
    let s = n.as_str();
    &s[s.len().saturating_sub(2)..]
}

/// Compares without stopping at the first difference (no timing hint).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
