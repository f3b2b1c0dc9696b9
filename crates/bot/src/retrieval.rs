//! BM25 retrieval over the knowledge base, one index per language.
//!
//! Each article is one document: its question variants, tags and answer. Scores are
//! Okapi BM25 (Robertson & Zaragoza, "The Probabilistic Relevance Framework:
//! BM25 and Beyond", 2009) as computed by the `bm25` crate, with k1 = 1.2,
//! b = 0.75 and idf = ln(1 + (N − n + 0.5) / (n + 0.5)):
//!
//! `score(D, Q) = Σ_{t ∈ Q} idf(t) · f(t,D)·(k1+1) / (f(t,D) + k1·(1 − b + b·|D|/avgdl))`
//!
//! where a query term written twice counts twice, and |D| counts terms after
//! stop words are removed.

use crate::kb::{Article, ArticleId, KnowledgeBase, LabelledQuestion};
use crate::text::{Analyzer, Lang, guess_lang};
use bm25::{Embedder, EmbedderBuilder, Scorer};
use std::collections::HashSet;

/// BM25 term-frequency saturation.
pub const K1: f32 = 1.2;
/// BM25 length normalisation.
pub const B: f32 = 0.75;

/// One scored article.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    /// Index of the article in [`KnowledgeBase::articles`].
    pub article: usize,
    /// BM25 score (≥ 0, unbounded).
    pub score: f32,
    /// Share of the query's distinct terms found in the article (0–1).
    pub coverage: f32,
}

struct LangIndex {
    analyzer: Analyzer,
    embedder: Embedder<u32, Analyzer>,
    scorer: Scorer<usize, u32>,
}

/// The BM25 indexes of a knowledge base (built once, read-only after).
pub struct Retriever {
    kb: KnowledgeBase,
    indexes: Vec<(Lang, LangIndex)>,
    /// Each article's distinct terms, for [`Hit::coverage`].
    terms: Vec<HashSet<String>>,
}

impl std::fmt::Debug for Retriever {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retriever")
            .field("articles", &self.kb.articles().len())
            .finish()
    }
}

/// The text indexed for an article: its questions, tags and answer.
fn document(a: &Article) -> String {
    let mut d = a.questions.join(" \n ");
    for t in &a.tags {
        d.push_str(" \n ");
        d.push_str(t);
    }
    d.push_str(" \n ");
    d.push_str(&a.answer);
    d
}

impl Retriever {
    /// Indexes every article of `kb`, one BM25 index per language present.
    pub fn new(kb: KnowledgeBase) -> Self {
        let mut indexes = Vec::new();
        for lang in Lang::ALL {
            let members: Vec<(usize, String)> = kb
                .articles()
                .iter()
                .enumerate()
                .filter(|(_, a)| a.lang == lang)
                .map(|(i, a)| (i, document(a)))
                .collect();
            if members.is_empty() {
                continue;
            }
            let corpus: Vec<&str> = members.iter().map(|(_, d)| d.as_str()).collect();
            let embedder = EmbedderBuilder::<u32, Analyzer>::with_tokenizer_and_fit_to_corpus(
                Analyzer::new(lang),
                &corpus,
            )
            .k1(K1)
            .b(B)
            .build();
            let mut scorer = Scorer::<usize, u32>::new();
            for (i, d) in &members {
                scorer.upsert(i, embedder.embed(d));
            }
            indexes.push((
                lang,
                LangIndex {
                    analyzer: Analyzer::new(lang),
                    embedder,
                    scorer,
                },
            ));
        }
        let terms = kb
            .articles()
            .iter()
            .map(|a| {
                Analyzer::new(a.lang)
                    .terms(&document(a))
                    .into_iter()
                    .collect()
            })
            .collect();
        Self { kb, indexes, terms }
    }

    /// The knowledge base indexed.
    pub fn kb(&self) -> &KnowledgeBase {
        &self.kb
    }

    fn index(&self, lang: Lang) -> Option<&LangIndex> {
        self.indexes
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, i)| i)
    }

    /// Average document length (terms) of the `lang` index, if any.
    pub fn avgdl(&self, lang: Lang) -> Option<f32> {
        self.index(lang).map(|i| i.embedder.avgdl())
    }

    /// Articles of `lang` matching `query`, best first (ties: file order),
    /// only those with a score > 0.
    pub fn search(&self, query: &str, lang: Lang) -> Vec<Hit> {
        let Some(ix) = self.index(lang) else {
            return Vec::new();
        };
        let q = ix.embedder.embed(query);
        let q_terms: HashSet<String> = ix.analyzer.terms(query).into_iter().collect();
        let mut hits: Vec<Hit> = ix
            .scorer
            .matches(&q)
            .into_iter()
            .filter(|d| d.score > 0.0)
            .map(|d| {
                let found = self
                    .terms
                    .get(d.id)
                    .map_or(0, |t| q_terms.iter().filter(|q| t.contains(*q)).count());
                Hit {
                    article: d.id,
                    score: d.score,
                    coverage: found as f32 / q_terms.len().max(1) as f32,
                }
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.article.cmp(&b.article)));
        hits
    }

    /// Searches in the language the query seems written in, else in `hint`;
    /// when that finds nothing, in the other language. Returns the language
    /// searched last and its hits.
    pub fn search_any(&self, query: &str, hint: Lang) -> (Lang, Vec<Hit>) {
        let first = guess_lang(query).unwrap_or(hint);
        let hits = self.search(query, first);
        if !hits.is_empty() {
            return (first, hits);
        }
        let other = if first == Lang::Fr {
            Lang::En
        } else {
            Lang::Fr
        };
        let hits = self.search(query, other);
        if hits.is_empty() {
            (first, hits)
        } else {
            (other, hits)
        }
    }

    /// The BM25 score of one article for `query` (0 when the article's
    /// language has no index or nothing matches).
    pub fn score(&self, article: usize, query: &str) -> f32 {
        let Some(a) = self.kb.articles().get(article) else {
            return 0.0;
        };
        let Some(ix) = self.index(a.lang) else {
            return 0.0;
        };
        ix.scorer
            .score(&article, &ix.embedder.embed(query))
            .unwrap_or(0.0)
    }
}

/// How sure retrieval is of its best article.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    /// The best article scores at least `min_score`, covers at least
    /// `min_coverage` of the query, and is clearly above the next.
    Confident(Hit),
    /// The second article scores at least `ambiguity_ratio` × the best one.
    Ambiguous(Hit, Hit),
    /// Nothing, or the best article scores under `min_score` or covers
    /// under `min_coverage` of the query's terms.
    Low,
}

/// Classifies sorted `hits`: `min_score` is a BM25 score, `min_coverage`
/// and `ambiguity_ratio` fractions (0–1).
pub fn verdict(hits: &[Hit], min_score: f32, min_coverage: f32, ambiguity_ratio: f32) -> Verdict {
    match (hits.first(), hits.get(1)) {
        (Some(&a), _) if a.score < min_score || a.coverage < min_coverage => Verdict::Low,
        (Some(&a), Some(&b)) if b.score >= ambiguity_ratio * a.score => Verdict::Ambiguous(a, b),
        (Some(&a), _) => Verdict::Confident(a),
        (None, _) => Verdict::Low,
    }
}

/// The result of [`Retriever::evaluate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Questions whose first hit was the expected article.
    pub correct: usize,
    /// Questions asked.
    pub total: usize,
    /// The others: (question, expected, first hit or `None`).
    pub misses: Vec<(String, ArticleId, Option<ArticleId>)>,
}

impl Evaluation {
    /// Top-1 accuracy, % (0 for an empty set).
    pub fn accuracy_pct(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        100.0 * self.correct as f64 / self.total as f64
    }
}

impl Retriever {
    /// Top-1 accuracy on a labelled test set, each question searched with
    /// [`Retriever::search_any`] and the expected article's language as hint.
    pub fn evaluate(&self, cases: &[LabelledQuestion]) -> Evaluation {
        let mut correct = 0;
        let mut misses = Vec::new();
        for c in cases {
            let hint = self.kb.get(&c.expect).map_or(Lang::Fr, |a| a.lang);
            let (_, hits) = self.search_any(&c.text, hint);
            let first = hits
                .first()
                .and_then(|h| self.kb.articles().get(h.article))
                .map(|a| a.id.clone());
            if first.as_ref() == Some(&c.expect) {
                correct += 1;
            } else {
                misses.push((c.text.clone(), c.expect.clone(), first));
            }
        }
        Evaluation {
            correct,
            total: cases.len(),
            misses,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::KnowledgeBase;

    fn art(id: &str, q: &str) -> Article {
        Article {
            id: ArticleId(id.into()),
            lang: Lang::En,
            tags: vec![],
            questions: vec![q.into()],
            // Only stop words: the answer adds no term to the document.
            answer: "it is".into(),
            self_service: None,
        }
    }

    /// Reference: BM25 computed by hand (f64) on a corpus whose words the
    /// English analyzer keeps as they are.
    #[test]
    fn scores_match_a_hand_computed_reference() {
        // Terms after analysis: d0 = [puk, sim, puk] (3), d1 = [sim, card] (2),
        // d2 = [roam, abroad, roam, fee] (4); avgdl = 3.
        let kb = KnowledgeBase::new(vec![
            art("d0", "PUK sim PUK"),
            art("d1", "sim card"),
            art("d2", "roaming abroad roam fees"),
        ])
        .unwrap();
        let r = Retriever::new(kb);
        assert_eq!(r.avgdl(Lang::En), Some(3.0));
        let (k1, b, n, avgdl) = (1.2f64, 0.75f64, 3.0f64, 3.0f64);
        let idf = |df: f64| (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        let tf = |f: f64, len: f64| f * (k1 + 1.0) / (f + k1 * (1.0 - b + b * len / avgdl));
        // "puk sim": d0 has puk×2, sim×1, |d0| = 3.
        let d0 = idf(1.0) * tf(2.0, 3.0) + idf(2.0) * tf(1.0, 3.0);
        // d1 has sim×1, |d1| = 2.
        let d1 = idf(2.0) * tf(1.0, 2.0);
        assert!((f64::from(r.score(0, "puk sim")) - d0).abs() < 1e-4, "{d0}");
        assert!((f64::from(r.score(1, "puk sim")) - d1).abs() < 1e-4, "{d1}");
        assert_eq!(r.score(2, "puk sim"), 0.0);
        // By hand: d0 = 0.98083 × 1.375 + 0.47000 × 1 = 1.81864.
        assert!((d0 - 1.81864).abs() < 1e-4, "{d0}");
        // "roaming fees": d2 has roam×2, fee×1, |d2| = 4.
        let d2 = idf(1.0) * tf(2.0, 4.0) + idf(1.0) * tf(1.0, 4.0);
        assert!((f64::from(r.score(2, "roaming fees")) - d2).abs() < 1e-4);
        let hits = r.search("puk sim", Lang::En);
        assert_eq!(
            hits.iter().map(|h| h.article).collect::<Vec<_>>(),
            vec![0, 1]
        );
    }
}
