//! `/admin/knowledge-base`: the chatbot's FAQ articles, edited by admins
//! at run time (issue 20, SPEC §3.4). The list with an edit link and a
//! delete button per article, and a form to add one; `/admin/knowledge-base/{id}`
//! edits one. Same shape as the other admin forms (`admin`): posted back
//! with the session's CSRF token, checked field by field (the rules are
//! the bot's, through [`crate::api::bot::check_article`]), 422 with each
//! message next to its input, 303 back to the list when saved. Saving goes
//! through [`crate::api::bot::save_article`]: audited, index rebuilt.

use super::admin::{FieldErrors, admin_only, admin_post};
use super::i18n::Lang;
use super::pages::{LangQuery, Nav, redirect, render};
use super::{csrf_for, lang_of};
use crate::api::AppState;
use crate::api::bot::{ArticleBody, ArticleChange, check_article, save_article};
use crate::api::error::ApiError;
use crate::api::extract::{AnyRole, Auth, SourceAddr};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use store::{KbArticleRecord, StoreError};

/// The article form, as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ArticleForm {
    csrf: String,
    id: String,
    lang: String,
    /// One question per line.
    questions: String,
    answer: String,
    /// Comma-separated.
    tags: String,
    /// `""`, `puk`, `balance`, `last_bills`.
    self_service: String,
}

impl ArticleForm {
    fn of(r: &KbArticleRecord) -> ArticleForm {
        ArticleForm {
            csrf: String::new(),
            id: r.id.clone(),
            lang: r.lang.clone(),
            questions: r.questions.join("\n"),
            answer: r.answer.clone(),
            tags: r.tags.join(", "),
            self_service: r.self_service.clone().unwrap_or_default(),
        }
    }

    /// The API's body of this form (questions by line, tags by comma).
    fn body(&self) -> ArticleBody {
        ArticleBody {
            id: Some(self.id.clone()),
            lang: self.lang.clone(),
            questions: self
                .questions
                .lines()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(String::from)
                .collect(),
            answer: self.answer.clone(),
            tags: self.tags.split(',').map(String::from).collect(),
            self_service: Some(self.self_service.clone()),
        }
    }
}

/// Check a form: the article, or the errors by field.
fn validate(id: &str, f: &ArticleForm) -> Result<bot::Article, FieldErrors> {
    check_article(id, &f.body()).map_err(|list| {
        let mut e = FieldErrors::default();
        for (field, msg) in list {
            if e.get(field).is_none() {
                e.add(field, msg);
            }
        }
        e
    })
}

/// A row of the list.
struct Row {
    id: String,
    lang: String,
    title: String,
    tags: String,
    self_service: String,
}

#[derive(Template)]
#[template(path = "knowledge_base.html")]
struct ListPage {
    nav: Nav,
    lang: Lang,
    csrf: String,
    rows: Vec<Row>,
    form: ArticleForm,
    errors: FieldErrors,
    flows: &'static [&'static str],
}

#[derive(Template)]
#[template(path = "kb_article_edit.html")]
struct EditPage {
    nav: Nav,
    lang: Lang,
    csrf: String,
    form: ArticleForm,
    errors: FieldErrors,
    flows: &'static [&'static str],
}

/// The self-service flows a form offers (empty: a plain answer).
const FLOWS: &[&str] = &["", "puk", "balance", "last_bills"];

async fn list_page(
    s: &AppState,
    auth: &Auth<AnyRole>,
    nav: Nav,
    lang: Lang,
    remember: bool,
    (form, errors): (ArticleForm, FieldErrors),
) -> Response {
    let rows = match s.store.list_kb_articles().await {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ListPage {
        nav,
        lang,
        csrf: csrf_for(&auth.token),
        rows: rows
            .into_iter()
            .map(|r| Row {
                title: r.questions.first().cloned().unwrap_or_default(),
                tags: r.tags.join(", "),
                self_service: r.self_service.unwrap_or_default(),
                id: r.id,
                lang: r.lang,
            })
            .collect(),
        form,
        errors,
        flows: FLOWS,
    };
    render(&page, status, lang, remember)
}

/// `GET /admin/knowledge-base`: the articles and the add form.
pub async fn list(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    auth: Result<Auth<AnyRole>, ApiError>,
) -> Response {
    let (lang, remember) = lang_of(&headers, q.lang.as_deref());
    let (auth, nav) = match admin_only(auth, lang, remember) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let form = ArticleForm {
        lang: lang.code().to_string(),
        ..ArticleForm::default()
    };
    list_page(
        &s,
        &auth,
        nav,
        lang,
        remember,
        (form, FieldErrors::default()),
    )
    .await
}

/// `POST /admin/knowledge-base`: add an article.
pub async fn add(
    State(s): State<AppState>,
    headers: HeaderMap,
    auth: Result<Auth<AnyRole>, ApiError>,
    source: SourceAddr,
    axum::Form(f): axum::Form<ArticleForm>,
) -> Response {
    let (lang, _) = lang_of(&headers, None);
    let (auth, nav) = match admin_post(auth, lang, &f.csrf) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let errors = match validate(&f.id, &f) {
        Ok(a) => match save_article(&s, &auth.user, source, ArticleChange::Add(&a)).await {
            Ok(_) => return redirect("/admin/knowledge-base"),
            Err(e) if e.status == StatusCode::CONFLICT => {
                let mut errors = FieldErrors::default();
                errors.add("id", "an article with this id exists");
                errors
            }
            Err(e) => return e.into_response(),
        },
        Err(e) => e,
    };
    list_page(&s, &auth, nav, lang, false, (f, errors)).await
}

async fn article_of(s: &AppState, id: &str) -> Result<KbArticleRecord, Response> {
    match s.store.list_kb_articles().await {
        Ok(list) => list.into_iter().find(|a| a.id == id).ok_or_else(|| {
            ApiError::from(StoreError::NotFound(format!("article {id}"))).into_response()
        }),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

/// `GET /admin/knowledge-base/{id}`: the article's edit form.
pub async fn edit_form(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    auth: Result<Auth<AnyRole>, ApiError>,
    Path(id): Path<String>,
) -> Response {
    let (lang, remember) = lang_of(&headers, q.lang.as_deref());
    let (auth, nav) = match admin_only(auth, lang, remember) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let rec = match article_of(&s, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let page = EditPage {
        nav,
        lang,
        csrf: csrf_for(&auth.token),
        form: ArticleForm::of(&rec),
        errors: FieldErrors::default(),
        flows: FLOWS,
    };
    render(&page, StatusCode::OK, lang, remember)
}

/// `POST /admin/knowledge-base/{id}`: save the article (its id stays).
pub async fn edit_save(
    State(s): State<AppState>,
    headers: HeaderMap,
    auth: Result<Auth<AnyRole>, ApiError>,
    source: SourceAddr,
    Path(id): Path<String>,
    axum::Form(mut f): axum::Form<ArticleForm>,
) -> Response {
    let (lang, _) = lang_of(&headers, None);
    let (auth, nav) = match admin_post(auth, lang, &f.csrf) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    f.id = id.clone();
    let errors = match validate(&id, &f) {
        Ok(a) => match save_article(&s, &auth.user, source, ArticleChange::Update(&a)).await {
            Ok(_) => return redirect("/admin/knowledge-base"),
            Err(e) => return e.into_response(),
        },
        Err(e) => e,
    };
    let page = EditPage {
        nav,
        lang,
        csrf: csrf_for(&auth.token),
        form: f,
        errors,
        flows: FLOWS,
    };
    render(&page, StatusCode::UNPROCESSABLE_ENTITY, lang, false)
}

/// The delete button's form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfOnly {
    csrf: String,
}

/// `POST /admin/knowledge-base/{id}/delete`: delete the article.
pub async fn delete(
    State(s): State<AppState>,
    headers: HeaderMap,
    auth: Result<Auth<AnyRole>, ApiError>,
    source: SourceAddr,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<CsrfOnly>,
) -> Response {
    let (lang, _) = lang_of(&headers, None);
    let (auth, _) = match admin_post(auth, lang, &f.csrf) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match save_article(&s, &auth.user, source, ArticleChange::Delete(&id)).await {
        Ok(_) => redirect("/admin/knowledge-base"),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_questions_by_line_and_tags_by_comma() {
        let f = ArticleForm {
            id: "wifi.en".into(),
            lang: "en".into(),
            questions: "How do I set up the wifi?\r\n\r\n  Wifi password  \n".into(),
            answer: "Press WPS.".into(),
            tags: "wifi, , box".into(),
            ..ArticleForm::default()
        };
        let a = validate(&f.id, &f).unwrap();
        assert_eq!(a.questions, ["How do I set up the wifi?", "Wifi password"]);
        assert_eq!(a.tags, ["wifi", "box"]);
        assert_eq!(a.self_service, None);
        let bad = ArticleForm {
            questions: " \n ".into(),
            lang: "de".into(),
            ..f
        };
        let e = validate("wifi.en", &bad).unwrap_err();
        assert!(e.get("questions").is_some() && e.get("lang").is_some());
        assert!(e.get("answer").is_none());
    }
}
