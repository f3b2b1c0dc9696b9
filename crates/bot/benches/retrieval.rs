//! `cargo bench -p bot`: top-1 accuracy of BM25 retrieval on the shipped
//! demo test set (and on the held-out set), then queries per second of
//! `Retriever::search_any` and of a whole `BotSession` turn. A plain timing
//! program (no criterion): it prints its figures.

use bot::{
    Action, BotConfig, BotContext, BotSession, KnowledgeBase, Lang, Retriever, Verdict,
    parse_test_set, verdict,
};
use domain::{Channel, Timestamp};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

const ARTICLES: &str = include_str!("../../../config/demo/kb/articles.toml");
const TEST_SET: &str = include_str!("../../../config/demo/kb/testset.toml");
const HOLD_OUT: &str = include_str!("../../../config/demo/kb/holdout.toml");

fn main() {
    let kb = KnowledgeBase::from_toml(ARTICLES).expect("articles.toml");
    let cases = parse_test_set(TEST_SET, &kb).expect("testset.toml");
    let held = parse_test_set(HOLD_OUT, &kb).expect("holdout.toml");
    let n_articles = kb.articles().len();
    let t0 = Instant::now();
    let r = Arc::new(Retriever::new(kb));
    let build = t0.elapsed();

    let e = r.evaluate(&cases);
    let h = r.evaluate(&held);
    println!("knowledge base: {n_articles} articles, index built in {build:?}");
    println!(
        "top-1 accuracy (testset.toml): {}/{} = {:.1} %",
        e.correct,
        e.total,
        e.accuracy_pct()
    );
    println!(
        "top-1 accuracy (holdout.toml, not used for tuning): {}/{} = {:.1} %",
        h.correct,
        h.total,
        h.accuracy_pct()
    );

    // How the session's default thresholds sort the test set.
    let cfg = BotConfig::default();
    let (mut sure_right, mut sure_wrong, mut ambiguous, mut low) = (0, 0, 0, 0);
    for c in &cases {
        let (_, hits) = r.search_any(&c.text, Lang::Fr);
        match verdict(&hits, cfg.min_score, cfg.min_coverage, cfg.ambiguity_ratio) {
            Verdict::Confident(h) if r.kb().articles()[h.article].id == c.expect => sure_right += 1,
            Verdict::Confident(_) => sure_wrong += 1,
            Verdict::Ambiguous(..) => ambiguous += 1,
            Verdict::Low => low += 1,
        }
    }
    println!(
        "with min_score {}, min_coverage {}, ambiguity_ratio {}: answered right {sure_right}, answered wrong {sure_wrong}, asked to choose {ambiguous}, asked to rephrase {low}",
        cfg.min_score, cfg.min_coverage, cfg.ambiguity_ratio
    );
    let ood = [
        "quel temps fait-il à Paris demain",
        "what's the weather like in Paris tomorrow",
        "recette du poulet yassa",
        "who won the football match yesterday",
        "asdfgh qwerty",
    ];
    for q in ood {
        let (_, hits) = r.search_any(q, Lang::Fr);
        println!(
            "out of domain {q:?}: best score {:.2}, coverage {:.2} -> {}",
            hits.first().map_or(0.0, |h| h.score),
            hits.first().map_or(0.0, |h| h.coverage),
            match verdict(&hits, cfg.min_score, cfg.min_coverage, cfg.ambiguity_ratio) {
                Verdict::Confident(_) => "answered",
                Verdict::Ambiguous(..) => "asked to choose",
                Verdict::Low => "asked to rephrase",
            }
        );
    }

    let rounds = 50;
    let t = Instant::now();
    for _ in 0..rounds {
        for c in &cases {
            black_box(r.search_any(black_box(&c.text), Lang::Fr));
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let n = (rounds * cases.len()) as f64;
    println!(
        "retrieval: {:.0} queries/s ({:.1} µs/query, {} queries)",
        n / secs,
        secs * 1e6 / n,
        n
    );

    let config = Arc::new(BotConfig::default());
    let ctx = BotContext {
        channel: Channel::Webchat,
        address: None,
        customer: None,
        customer_number: None,
        lang: Lang::Fr,
    };
    let t = Instant::now();
    let mut turns = 0u64;
    for _ in 0..10 {
        for c in &cases {
            let mut s = BotSession::new(Arc::clone(&r), Arc::clone(&config), ctx.clone());
            s.handle_message(Timestamp::from_millis(0), &c.text);
            while let Some(a) = s.poll_action() {
                if let Action::HandOver(h) = a {
                    black_box(h);
                }
            }
            turns += 1;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "session: {:.0} first turns/s ({:.1} µs/turn)",
        turns as f64 / secs,
        secs * 1e6 / turns as f64
    );
}
