//! The chatbot's knowledge base, edited by admins at run time (issue 20,
//! SPEC §3.4). Every change is audited (`config_changed`, target
//! `kb_article:ID`, with the article before and after) and the bot's index
//! is rebuilt from the store ([`crate::knowledge_base::rebuild`]): the next
//! question of any conversation is searched in it.
//!
//! - `GET /api/v1/bot/articles`: every article, in the order added.
//! - `POST /api/v1/bot/articles` `{"id","lang","questions","answer","tags"?,
//!   "self_service"?}`: add one (201; 409 when the id exists).
//! - `PUT /api/v1/bot/articles/{id}`: replace one (same body; `id` may be
//!   left out, else it must be the path's).
//! - `DELETE /api/v1/bot/articles/{id}`: delete one (204).
//!
//! Bad input is a 400 `bad_request` naming each field and its rule
//! (`questions: 1 to 50 questions; lang: "de" is not fr or en`).

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AdminOnly, ApiJson, Auth, SourceAddr};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bot::{Article, ArticleId, Lang};
use serde::Deserialize;
use store::{AuditAction, KbArticleRecord, User};

/// An article as sent by a client.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleBody {
    /// The article's id (`puk.fr`): 1 to 64 of `a-z`, `0-9`, `.`, `_`, `-`.
    /// Needed on POST; on PUT left out or equal to the path's.
    #[serde(default)]
    pub id: Option<String>,
    /// `fr` or `en`.
    pub lang: String,
    /// Ways customers ask it (1 to 50); the first is the title.
    pub questions: Vec<String>,
    /// The answer sent to the customer (plain text, 1 to 4,000 characters).
    pub answer: String,
    /// Keywords indexed with the questions (at most 50).
    #[serde(default)]
    pub tags: Vec<String>,
    /// A self-service flow run instead of the answer: `puk`, `balance`,
    /// `last_bills`.
    #[serde(default)]
    pub self_service: Option<String>,
}

/// Check an article typed by an admin (API or page): values are trimmed,
/// blank tags dropped; then the bot's rules ([`Article::problems`]).
///
/// # Errors
/// `(field, message)` per broken rule; fields `id`, `lang`, `questions`,
/// `answer`, `tags`, `self_service`.
pub fn check_article(id: &str, b: &ArticleBody) -> Result<Article, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let lang = match b.lang.trim() {
        "fr" => Lang::Fr,
        "en" => Lang::En,
        other => {
            errors.push(("lang", format!("{other:?} is not fr or en")));
            Lang::Fr
        }
    };
    let self_service = match b.self_service.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => match crate::knowledge_base::parse_self_service(n) {
            Some(f) => Some(f),
            None => {
                errors.push((
                    "self_service",
                    format!("{n:?} is not puk, balance or last_bills"),
                ));
                None
            }
        },
    };
    let a = Article {
        id: ArticleId(id.trim().to_string()),
        lang,
        tags: b
            .tags
            .iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        questions: b.questions.iter().map(|q| q.trim().to_string()).collect(),
        answer: b.answer.trim().to_string(),
        self_service,
    };
    errors.extend(a.problems());
    if errors.is_empty() {
        Ok(a)
    } else {
        Err(errors)
    }
}

/// The 400 of a refused article.
fn refused(errors: &[(&'static str, String)]) -> ApiError {
    ApiError::bad_request(
        errors
            .iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

async fn audit(
    s: &AppState,
    by: &User,
    source: SourceAddr,
    id: &str,
    before: Option<&KbArticleRecord>,
    after: Option<&KbArticleRecord>,
) {
    let mut e = crate::security::entry(
        crate::now(),
        Some(by.id),
        AuditAction::ConfigChanged,
        format!("kb_article:{id}"),
        source.0,
    );
    e.before = before.and_then(|r| serde_json::to_value(r).ok());
    e.after = after.and_then(|r| serde_json::to_value(r).ok());
    crate::security::audit(&*s.store, e).await;
}

async fn find(s: &AppState, id: &str) -> ApiResult<KbArticleRecord> {
    s.store
        .list_kb_articles()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ApiError::not_found(format!("article {id} not found")))
}

/// Add, replace or delete (`body` `None`) an article, audit it, rebuild
/// the bot's index. Shared by the API and the admin page; `by` is an
/// admin (the callers check it).
///
/// # Errors
/// 400 for a refused article, 404 unknown id (update, delete), 409 id taken
/// (add), the store's.
pub async fn save_article(
    s: &AppState,
    by: &User,
    source: SourceAddr,
    change: ArticleChange<'_>,
) -> ApiResult<Option<KbArticleRecord>> {
    let now = crate::now();
    let out = match change {
        ArticleChange::Add(a) => {
            let rec = crate::knowledge_base::record_of(a);
            s.store.insert_kb_article(&rec, now).await?;
            let rec = find(s, &rec.id).await?;
            tracing::info!(by = %by.username, article = %rec.id, "knowledge-base article added");
            audit(s, by, source, &rec.id, None, Some(&rec)).await;
            Some(rec)
        }
        ArticleChange::Update(a) => {
            let before = find(s, &a.id.0).await?;
            let rec = crate::knowledge_base::record_of(a);
            s.store.update_kb_article(&rec, now).await?;
            let rec = find(s, &rec.id).await?;
            tracing::info!(by = %by.username, article = %rec.id, "knowledge-base article changed");
            audit(s, by, source, &rec.id, Some(&before), Some(&rec)).await;
            Some(rec)
        }
        ArticleChange::Delete(id) => {
            let before = find(s, id).await?;
            s.store.delete_kb_article(id).await?;
            tracing::info!(by = %by.username, article = %id, "knowledge-base article deleted");
            audit(s, by, source, id, Some(&before), None).await;
            None
        }
    };
    crate::knowledge_base::rebuild(&*s.store, s.engine.as_ref()).await;
    Ok(out)
}

/// What [`save_article`] does.
pub enum ArticleChange<'a> {
    /// Add a new article.
    Add(&'a Article),
    /// Replace the article of the same id.
    Update(&'a Article),
    /// Delete the article with this id.
    Delete(&'a str),
}

/// Every article, in the order added.
#[utoipa::path(get, path = "/api/v1/bot/articles",
    responses((status = 200, body = [store::KbArticleRecord]), (status = 403, body = ErrorBody)),
    tag = "bot", security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    _auth: Auth<AdminOnly>,
) -> ApiResult<Json<Vec<KbArticleRecord>>> {
    Ok(Json(s.store.list_kb_articles().await?))
}

/// Add an article. 400 bad input, 409 id taken.
#[utoipa::path(post, path = "/api/v1/bot/articles", request_body = ArticleBody,
    responses((status = 201, body = store::KbArticleRecord), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    tag = "bot", security(("bearer" = [])))]
pub async fn create(
    State(s): State<AppState>,
    auth: Auth<AdminOnly>,
    source: SourceAddr,
    ApiJson(b): ApiJson<ArticleBody>,
) -> ApiResult<(StatusCode, Json<KbArticleRecord>)> {
    let Some(id) = b.id.clone() else {
        return Err(ApiError::bad_request("id: an article needs an id"));
    };
    let a = check_article(&id, &b).map_err(|e| refused(&e))?;
    let rec = save_article(&s, &auth.user, source, ArticleChange::Add(&a)).await?;
    let rec = rec.ok_or_else(|| ApiError::internal("added article not read back"))?;
    Ok((StatusCode::CREATED, Json(rec)))
}

/// Replace article `id`. 400 bad input (or another id in the body), 404.
#[utoipa::path(put, path = "/api/v1/bot/articles/{id}", request_body = ArticleBody,
    responses((status = 200, body = store::KbArticleRecord), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    tag = "bot", security(("bearer" = [])))]
pub async fn update(
    State(s): State<AppState>,
    auth: Auth<AdminOnly>,
    source: SourceAddr,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ArticleBody>,
) -> ApiResult<Json<KbArticleRecord>> {
    if let Some(other) = b.id.as_deref().filter(|o| o.trim() != id) {
        return Err(ApiError::bad_request(format!(
            "id: {other:?} in the body is not the path's {id:?} (ids do not change)"
        )));
    }
    let a = check_article(&id, &b).map_err(|e| refused(&e))?;
    let rec = save_article(&s, &auth.user, source, ArticleChange::Update(&a)).await?;
    rec.map(Json)
        .ok_or_else(|| ApiError::internal("changed article not read back"))
}

/// Delete article `id`. 404 unknown.
#[utoipa::path(delete, path = "/api/v1/bot/articles/{id}",
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    tag = "bot", security(("bearer" = [])))]
pub async fn delete(
    State(s): State<AppState>,
    auth: Auth<AdminOnly>,
    source: SourceAddr,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    save_article(&s, &auth.user, source, ArticleChange::Delete(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_articles_are_trimmed_and_checked() {
        let b = ArticleBody {
            id: None,
            lang: " en ".into(),
            questions: vec!["  When are you open? ".into()],
            answer: " 8 to 7 ".into(),
            tags: vec!["shops".into(), "  ".into()],
            self_service: Some("".into()),
        };
        let a = check_article(" hours.en ", &b).unwrap();
        assert_eq!(a.id.0, "hours.en");
        assert_eq!(a.questions, ["When are you open?"]);
        assert_eq!(a.answer, "8 to 7");
        assert_eq!(a.tags, ["shops"]);
        assert_eq!(a.self_service, None);
        let bad = ArticleBody {
            lang: "de".into(),
            self_service: Some("pin".into()),
            questions: vec![],
            ..b
        };
        let e = check_article("x", &bad).unwrap_err();
        let fields: Vec<&str> = e.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["lang", "self_service", "questions"]);
        assert_eq!(
            refused(&e).message,
            "lang: \"de\" is not fr or en; self_service: \"pin\" is not puk, balance or last_bills; questions: 1 to 50 questions"
        );
    }
}
