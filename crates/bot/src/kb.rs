//! The knowledge base: FAQ [`Article`]s (question variants, answer,
//! language, tags), loaded from TOML, and the labelled test set used to
//! measure retrieval.
//!
//! File shape (`config/demo/kb/articles.toml`):
//! ```toml
//! [[article]]
//! id = "puk.fr"
//! lang = "fr"
//! tags = ["puk", "sim"]
//! questions = ["Quel est mon code PUK ?", "Ma carte SIM est bloquée"]
//! answer = "Le code PUK débloque la carte SIM..."
//! self_service = "puk"      # optional: the bot runs the PUK flow instead
//! ```

use crate::text::Lang;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;

/// An article's id, unique in its knowledge base (`puk.fr`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ArticleId(pub String);

impl fmt::Display for ArticleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A self-service flow that reveals personal data, so it runs only after
/// the identity check (channel address + SMS one-time code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfService {
    /// The SIM's PUK code.
    Puk,
    /// The prepaid balance.
    Balance,
    /// The last bills (date, amount).
    LastBills,
}

/// One FAQ article in one language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Article {
    /// Unique id.
    pub id: ArticleId,
    /// Language of the questions and the answer.
    pub lang: Lang,
    /// Keywords, indexed with the questions.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Ways customers ask this question (at least one; the first is the title).
    pub questions: Vec<String>,
    /// The answer sent to the customer (plain text; the UI escapes it).
    pub answer: String,
    /// When set, the bot runs this flow instead of sending `answer`.
    #[serde(default)]
    pub self_service: Option<SelfService>,
}

/// Longest article id, in bytes.
pub const MAX_ID_LEN: usize = 64;
/// Most question variants of one article.
pub const MAX_QUESTIONS: usize = 50;
/// Most tags of one article.
pub const MAX_TAGS: usize = 50;
/// Longest question or tag, in characters.
pub const MAX_QUESTION_CHARS: usize = 500;
/// Longest answer, in characters.
pub const MAX_ANSWER_CHARS: usize = 4_000;

impl Article {
    /// The article's title: its first question.
    pub fn title(&self) -> &str {
        self.questions.first().map_or("", String::as_str)
    }

    /// The rules an article edited by an admin must meet, as `(field,
    /// message)` per broken rule (empty when it is fine). Fields: `id`
    /// (1 to [`MAX_ID_LEN`] of `a-z`, `0-9`, `.`, `_`, `-`), `questions`
    /// (1 to [`MAX_QUESTIONS`] non-blank, each at most
    /// [`MAX_QUESTION_CHARS`] characters), `tags` (at most [`MAX_TAGS`],
    /// non-blank, each at most [`MAX_QUESTION_CHARS`]), `answer` (non-blank,
    /// at most [`MAX_ANSWER_CHARS`] characters).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let id = &self.id.0;
        if id.is_empty()
            || id.len() > MAX_ID_LEN
            || !id.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
        {
            out.push((
                "id",
                format!("1 to {MAX_ID_LEN} characters of a-z, 0-9, '.', '_', '-' (e.g. puk.fr)"),
            ));
        }
        if self.questions.is_empty() || self.questions.len() > MAX_QUESTIONS {
            out.push(("questions", format!("1 to {MAX_QUESTIONS} questions")));
        } else if self.questions.iter().any(|q| q.trim().is_empty()) {
            out.push(("questions", "a question is empty".to_string()));
        } else if self
            .questions
            .iter()
            .any(|q| q.chars().count() > MAX_QUESTION_CHARS)
        {
            out.push((
                "questions",
                format!("each question: at most {MAX_QUESTION_CHARS} characters"),
            ));
        }
        if self.tags.len() > MAX_TAGS
            || self
                .tags
                .iter()
                .any(|t| t.trim().is_empty() || t.chars().count() > MAX_QUESTION_CHARS)
        {
            out.push((
                "tags",
                format!("at most {MAX_TAGS} tags, none empty, each at most {MAX_QUESTION_CHARS} characters"),
            ));
        }
        let n = self.answer.trim().chars().count();
        if n == 0 || self.answer.chars().count() > MAX_ANSWER_CHARS {
            out.push(("answer", format!("1 to {MAX_ANSWER_CHARS} characters")));
        }
        out
    }
}

/// A knowledge-base file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    /// Not valid TOML for the schema.
    #[error("knowledge base: {0}")]
    Parse(#[from] toml::de::Error),
    /// Two articles share an id.
    #[error("knowledge base: duplicate article id {0}")]
    DuplicateId(ArticleId),
    /// An article without question or with an empty answer.
    #[error("knowledge base: article {0} needs at least one question and an answer")]
    Empty(ArticleId),
    /// A test question names an article that does not exist.
    #[error("test set: unknown article {0}")]
    UnknownArticle(ArticleId),
}

/// The articles of one tenant, in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KnowledgeBase {
    articles: Vec<Article>,
}

#[derive(Deserialize)]
struct KbFile {
    #[serde(default)]
    article: Vec<Article>,
}

impl KnowledgeBase {
    /// A knowledge base from articles.
    ///
    /// # Errors
    /// [`KbError::DuplicateId`], [`KbError::Empty`].
    pub fn new(articles: Vec<Article>) -> Result<Self, KbError> {
        let mut seen = HashSet::new();
        for a in &articles {
            if !seen.insert(a.id.clone()) {
                return Err(KbError::DuplicateId(a.id.clone()));
            }
            if a.questions.iter().all(|q| q.trim().is_empty()) || a.answer.trim().is_empty() {
                return Err(KbError::Empty(a.id.clone()));
            }
        }
        Ok(Self { articles })
    }

    /// Parses the TOML file shape shown in the module docs.
    ///
    /// # Errors
    /// [`KbError::Parse`] with line and column, or a [`KnowledgeBase::new`] error.
    pub fn from_toml(text: &str) -> Result<Self, KbError> {
        let file: KbFile = toml::from_str(text)?;
        Self::new(file.article)
    }

    /// All articles.
    pub fn articles(&self) -> &[Article] {
        &self.articles
    }

    /// The article with this id.
    pub fn get(&self, id: &ArticleId) -> Option<&Article> {
        self.articles.iter().find(|a| &a.id == id)
    }
}

/// One paraphrased question of the test set and the article that answers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelledQuestion {
    /// What a customer might write.
    pub text: String,
    /// The article expected first.
    pub expect: ArticleId,
}

/// Parses a test set (`[[case]] text = ".." expect = "puk.fr"`) and checks
/// that every expected article exists in `kb`.
///
/// # Errors
/// [`KbError::Parse`], [`KbError::UnknownArticle`].
pub fn parse_test_set(text: &str, kb: &KnowledgeBase) -> Result<Vec<LabelledQuestion>, KbError> {
    #[derive(Deserialize)]
    struct File {
        case: Vec<LabelledQuestion>,
    }
    let file: File = toml::from_str(text)?;
    for c in &file.case {
        if kb.get(&c.expect).is_none() {
            return Err(KbError::UnknownArticle(c.expect.clone()));
        }
    }
    Ok(file.case)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_edits_are_checked_field_by_field() {
        let good = Article {
            id: ArticleId("hours.en".into()),
            lang: Lang::En,
            tags: vec!["shops".into()],
            questions: vec!["When are you open?".into()],
            answer: "8 to 19".into(),
            self_service: None,
        };
        assert!(good.problems().is_empty(), "{:?}", good.problems());
        let fields = |a: &Article| a.problems().into_iter().map(|(f, _)| f).collect::<Vec<_>>();
        let bad = Article {
            id: ArticleId("Hours EN".into()),
            tags: vec![" ".into()],
            questions: vec![],
            answer: "  ".into(),
            ..good.clone()
        };
        assert_eq!(fields(&bad), ["id", "questions", "tags", "answer"]);
        let blank_q = Article {
            questions: vec!["ok".into(), "".into()],
            ..good.clone()
        };
        assert_eq!(fields(&blank_q), ["questions"]);
        let long = Article {
            answer: "x".repeat(MAX_ANSWER_CHARS + 1),
            id: ArticleId("a".repeat(MAX_ID_LEN + 1)),
            ..good
        };
        assert_eq!(fields(&long), ["id", "answer"]);
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let one = "[[article]]\nid = \"a\"\nlang = \"fr\"\nquestions = [\"q\"]\nanswer = \"r\"\n";
        assert_eq!(KnowledgeBase::from_toml(one).unwrap().articles().len(), 1);
        let twice = format!("{one}{one}");
        assert!(matches!(
            KnowledgeBase::from_toml(&twice),
            Err(KbError::DuplicateId(ArticleId(id))) if id == "a"
        ));
        let empty = one.replace("answer = \"r\"", "answer = \" \"");
        assert!(matches!(
            KnowledgeBase::from_toml(&empty),
            Err(KbError::Empty(_))
        ));
        let typo = one.replace("answer", "anwser");
        let e = KnowledgeBase::from_toml(&typo).unwrap_err().to_string();
        assert!(e.contains("anwser") && e.contains("line 5"), "{e}");
        let de = one.replace("\"fr\"", "\"de\"");
        assert!(KnowledgeBase::from_toml(&de).is_err());
        let kb = KnowledgeBase::from_toml(one).unwrap();
        assert!(matches!(
            parse_test_set("[[case]]\ntext = \"x\"\nexpect = \"b\"\n", &kb),
            Err(KbError::UnknownArticle(_))
        ));
    }
}
