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

impl Article {
    /// The article's title: its first question.
    pub fn title(&self) -> &str {
        self.questions.first().map_or("", String::as_str)
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
