//! The chatbot's knowledge base (issue 20, SPEC §3.4): FAQ articles that
//! admins edit at run time. The [`KnowledgeBaseStore`] trait, its record
//! and the SQL shared by both backends. Language and self-service flow are
//! stored as the bot's names (`fr`, `puk`); the bot crate checks an
//! article's rules before it is saved, the store only its id and language.

use async_trait::async_trait;
use domain::Timestamp;
use serde::{Deserialize, Serialize};

/// `meta` key set once the knowledge base was first filled (from the
/// demo's `articles.toml`): later starts do not fill it again, so articles
/// an admin deleted stay deleted.
pub const KB_SEEDED_KEY: &str = "bot.kb_seeded";

/// One FAQ article as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KbArticleRecord {
    /// The article's id, unique (`puk.fr`).
    pub id: String,
    /// `fr` or `en`.
    pub lang: String,
    /// Keywords indexed with the questions.
    pub tags: Vec<String>,
    /// Ways customers ask it; the first is the title.
    pub questions: Vec<String>,
    /// The answer sent to the customer (plain text).
    pub answer: String,
    /// A self-service flow run instead of the answer (`puk`, `balance`,
    /// `last_bills`), if any.
    pub self_service: Option<String>,
    /// Last change (Unix ms); set by the store on insert and update.
    pub updated_at: Timestamp,
}

/// Knowledge-base rows.
#[async_trait]
pub trait KnowledgeBaseStore: Send + Sync {
    /// Every article, in the order they were added.
    async fn list_kb_articles(&self) -> crate::Result<Vec<KbArticleRecord>>;
    /// Add an article after the others, stamped `now`.
    ///
    /// # Errors
    /// [`crate::StoreError::Conflict`] when the id exists,
    /// [`crate::StoreError::Invalid`] for an empty id or a language other
    /// than `fr` / `en`.
    async fn insert_kb_article(&self, a: &KbArticleRecord, now: Timestamp) -> crate::Result<()>;
    /// Replace article `a.id` (its place in the order is kept), stamped `now`.
    ///
    /// # Errors
    /// [`crate::StoreError::NotFound`] for an unknown id, `Invalid` as for
    /// an insert.
    async fn update_kb_article(&self, a: &KbArticleRecord, now: Timestamp) -> crate::Result<()>;
    /// Delete article `id`.
    ///
    /// # Errors
    /// [`crate::StoreError::NotFound`] for an unknown id.
    async fn delete_kb_article(&self, id: &str) -> crate::Result<()>;
    /// Fill the knowledge base with `articles` once in the database's life
    /// (one transaction: the articles and the [`KB_SEEDED_KEY`] mark).
    /// Returns false, writing nothing, when it was filled before.
    ///
    /// # Errors
    /// As [`Self::insert_kb_article`] (nothing is written then).
    async fn seed_kb_articles(
        &self,
        articles: &[KbArticleRecord],
        now: Timestamp,
    ) -> crate::Result<bool>;
}

/// The store's own checks of a record.
pub(crate) fn check(a: &KbArticleRecord) -> crate::Result<()> {
    if a.id.trim().is_empty() {
        return Err(crate::StoreError::Invalid(
            "id: an article needs an id".into(),
        ));
    }
    if !matches!(a.lang.as_str(), "fr" | "en") {
        return Err(crate::StoreError::Invalid(format!(
            "lang: {:?} is not fr or en",
            a.lang
        )));
    }
    Ok(())
}

/// Implements [`KnowledgeBaseStore`] for `$store`; expanded by `impl_common!`.
macro_rules! impl_kb {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn insert_kb_tx(
                conn: &mut <$db as sqlx::Database>::Connection,
                a: &crate::kb::KbArticleRecord,
                now: Timestamp,
            ) -> Result<()> {
                crate::kb::check(a)?;
                sqlx::query(
                    "INSERT INTO kb_articles (id, position, lang, tags, questions, answer, \
                       self_service, updated_at) \
                     VALUES ($1, (SELECT COALESCE(MAX(position), 0) + 1 FROM kb_articles), \
                       $2, $3, $4, $5, $6, $7)",
                )
                .bind(&a.id)
                .bind(&a.lang)
                .bind(to_json(&a.tags)?)
                .bind(to_json(&a.questions)?)
                .bind(&a.answer)
                .bind(&a.self_service)
                .bind(now.as_millis())
                .execute(&mut *conn)
                .await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => {
                        StoreError::Conflict(format!("article {} exists", a.id))
                    }
                    other => other,
                })?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl crate::kb::KnowledgeBaseStore for $store {
            async fn list_kb_articles(&self) -> Result<Vec<crate::kb::KbArticleRecord>> {
                let rows = sqlx::query(
                    "SELECT id, lang, tags, questions, answer, self_service, updated_at \
                     FROM kb_articles ORDER BY position, id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let tags: String = r.try_get("tags")?;
                        let questions: String = r.try_get("questions")?;
                        Ok(crate::kb::KbArticleRecord {
                            id: r.try_get("id")?,
                            lang: r.try_get("lang")?,
                            tags: from_json(&tags, "kb_articles.tags")?,
                            questions: from_json(&questions, "kb_articles.questions")?,
                            answer: r.try_get("answer")?,
                            self_service: r.try_get("self_service")?,
                            updated_at: Timestamp::from_millis(r.try_get("updated_at")?),
                        })
                    })
                    .collect()
            }

            async fn insert_kb_article(
                &self,
                a: &crate::kb::KbArticleRecord,
                now: Timestamp,
            ) -> Result<()> {
                let mut tx = Self::begin_write(&self.pool).await?;
                Self::insert_kb_tx(&mut tx, a, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn update_kb_article(
                &self,
                a: &crate::kb::KbArticleRecord,
                now: Timestamp,
            ) -> Result<()> {
                crate::kb::check(a)?;
                let n = sqlx::query(
                    "UPDATE kb_articles SET lang = $2, tags = $3, questions = $4, answer = $5, \
                       self_service = $6, updated_at = $7 WHERE id = $1",
                )
                .bind(&a.id)
                .bind(&a.lang)
                .bind(to_json(&a.tags)?)
                .bind(to_json(&a.questions)?)
                .bind(&a.answer)
                .bind(&a.self_service)
                .bind(now.as_millis())
                .execute(&self.pool)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(format!("article {}", a.id)));
                }
                Ok(())
            }

            async fn delete_kb_article(&self, id: &str) -> Result<()> {
                let n = sqlx::query("DELETE FROM kb_articles WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(format!("article {id}")));
                }
                Ok(())
            }

            async fn seed_kb_articles(
                &self,
                articles: &[crate::kb::KbArticleRecord],
                now: Timestamp,
            ) -> Result<bool> {
                let mut tx = Self::begin_write(&self.pool).await?;
                // Claim the mark first: of two nodes starting together, one
                // inserts it and fills the table, the other finds it.
                let claimed = sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                )
                .bind(crate::kb::KB_SEEDED_KEY)
                .bind(now.as_millis().to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if claimed == 0 {
                    return Ok(false);
                }
                for a in articles {
                    Self::insert_kb_tx(&mut tx, a, now).await?;
                }
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}

pub(crate) use impl_kb;
