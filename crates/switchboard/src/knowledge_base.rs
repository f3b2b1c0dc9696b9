//! Wiring of the chatbot's knowledge base (issue 20): the articles live in
//! the store ([`store::KnowledgeBaseStore`]) and admins edit them at run
//! time (`/api/v1/bot/articles`, `/admin/knowledge-base`). At the first
//! start the demo's `<bot.kb_dir>/articles.toml` is copied in once; after
//! every change the BM25 index is rebuilt here, off the engine's loop
//! (`spawn_blocking`), and handed to the engine as an input
//! ([`engine::EngineHandle::set_bot_index`]).
//!
//! The rules an article must meet are the bot's ([`bot::Article::problems`]);
//! this module only converts between the bot's article and the store's row.

use bot::{Article, ArticleId, KnowledgeBase, Lang, SelfService};
use domain::Timestamp;
use std::path::Path;
use std::sync::Arc;
use store::{KbArticleRecord, Store, StoreError};

/// The store's row of an article.
pub fn record_of(a: &Article) -> KbArticleRecord {
    KbArticleRecord {
        id: a.id.0.clone(),
        lang: a.lang.tag().to_string(),
        tags: a.tags.clone(),
        questions: a.questions.clone(),
        answer: a.answer.clone(),
        self_service: a.self_service.map(self_service_name),
        updated_at: Timestamp::from_millis(0),
    }
}

/// `puk`, `balance`, `last_bills`.
pub fn self_service_name(f: SelfService) -> String {
    serde_json::to_value(f)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The flow named `name` (`puk`, `balance`, `last_bills`).
pub fn parse_self_service(name: &str) -> Option<SelfService> {
    serde_json::from_value(serde_json::Value::from(name)).ok()
}

/// The bot's article of a stored row.
///
/// # Errors
/// A language other than `fr`/`en` or an unknown flow, as a message.
pub fn article_of(r: &KbArticleRecord) -> Result<Article, String> {
    let lang = Lang::from_tag(&r.lang)
        .filter(|l| l.tag() == r.lang)
        .ok_or_else(|| format!("article {}: language {:?} is not fr or en", r.id, r.lang))?;
    let self_service = match &r.self_service {
        None => None,
        Some(n) => Some(
            parse_self_service(n)
                .ok_or_else(|| format!("article {}: unknown self-service flow {n:?}", r.id))?,
        ),
    };
    Ok(Article {
        id: ArticleId(r.id.clone()),
        lang,
        tags: r.tags.clone(),
        questions: r.questions.clone(),
        answer: r.answer.clone(),
        self_service,
    })
}

/// Copy `<kb_dir>/articles.toml` into the store once in the database's
/// life. A missing or broken file is logged and copies nothing (the
/// next start tries again). Returns the number of articles copied.
///
/// # Errors
/// The store's.
pub async fn seed_once(store: &dyn Store, kb_dir: &Path) -> Result<usize, StoreError> {
    if store.get_meta(store::KB_SEEDED_KEY).await?.is_some() {
        return Ok(0);
    }
    let file = kb_dir.join("articles.toml");
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "no knowledge-base file to start from");
            return Ok(0);
        }
    };
    let kb = match KnowledgeBase::from_toml(&text) {
        Ok(kb) => kb,
        Err(e) => {
            tracing::error!(file = %file.display(), error = %e, "knowledge-base file refused; nothing copied");
            return Ok(0);
        }
    };
    let rows: Vec<KbArticleRecord> = kb.articles().iter().map(record_of).collect();
    if store.seed_kb_articles(&rows, crate::now()).await? {
        tracing::info!(articles = rows.len(), file = %file.display(), "knowledge base filled from the file");
        Ok(rows.len())
    } else {
        Ok(0)
    }
}

/// The knowledge base as stored. A row the bot cannot use (written by
/// hand in the database) is logged and left out.
///
/// # Errors
/// The store's.
pub async fn load(store: &dyn Store) -> Result<KnowledgeBase, StoreError> {
    let mut articles = Vec::new();
    for r in store.list_kb_articles().await? {
        match article_of(&r) {
            Ok(a) if a.problems().is_empty() => articles.push(a),
            Ok(a) => {
                tracing::error!(article = %a.id, problems = ?a.problems(), "stored article left out of the index")
            }
            Err(e) => tracing::error!(error = %e, "stored article left out of the index"),
        }
    }
    // Ids are the table's primary key: no duplicate can come back.
    KnowledgeBase::new(articles).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The BM25 index of the stored articles, built on a blocking thread.
///
/// # Errors
/// The store's.
pub async fn build_index(store: &dyn Store) -> Result<Arc<bot::Retriever>, StoreError> {
    let kb = load(store).await?;
    tokio::task::spawn_blocking(move || Arc::new(bot::Retriever::new(kb)))
        .await
        .map_err(|e| StoreError::Corrupt(format!("index build: {e}")))
}

/// After a change: rebuild the index from the store and hand it to the
/// engine (nothing to do without an engine). Failures are logged: the
/// bot keeps its previous index, and the change is in the store for the
/// next rebuild or start.
pub async fn rebuild(store: &dyn Store, engine: Option<&engine::EngineHandle>) {
    let Some(engine) = engine else {
        return;
    };
    // One rebuild at a time: of two edits close together, the index handed
    // in last was read after both (never an older read arriving late).
    static REBUILD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = REBUILD.lock().await;
    match build_index(store).await {
        Ok(index) => {
            if let Err(e) = engine.set_bot_index(index).await {
                tracing::error!(error = %e, "the engine did not take the new knowledge-base index");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "knowledge-base index not rebuilt; the bot keeps the previous one")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_articles_convert_both_ways() {
        let a = Article {
            id: ArticleId("bills.en".into()),
            lang: Lang::En,
            tags: vec!["invoice".into()],
            questions: vec!["Where are my bills?".into()],
            answer: "In the app.".into(),
            self_service: Some(SelfService::LastBills),
        };
        let r = record_of(&a);
        assert_eq!(r.lang, "en");
        assert_eq!(r.self_service.as_deref(), Some("last_bills"));
        assert_eq!(article_of(&r).unwrap(), a);
        let bad = KbArticleRecord {
            lang: "en-GB".into(),
            ..r.clone()
        };
        assert!(article_of(&bad).unwrap_err().contains("en-GB"));
        let flow = KbArticleRecord {
            self_service: Some("pin".into()),
            ..r
        };
        assert!(article_of(&flow).unwrap_err().contains("pin"));
    }
}
