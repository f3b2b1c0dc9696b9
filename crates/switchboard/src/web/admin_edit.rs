//! Admin pages that edit existing records: an agent's profile
//! (`/admin/agents/{id}`), a user's role, agent link and status, and a
//! password reset (`/admin/users/{id}`), a disposition's label and
//! retirement (`/admin/dispositions/{id}`), and the pause reasons (`POST
//! /admin/pause-reasons`, shown on `/admin`).
//!
//! Same shape as the queue form (see `admin`): forms post back with the
//! session's CSRF token, are checked field by field, and come back with
//! status 422 and each message next to its input; a good form is saved and
//! answered with 303 to `/admin`. The rules shared with the REST routes are
//! in [`crate::api::admin_edit`].

use super::admin::{AddForms, FieldErrors, admin_only, admin_page, admin_post, is_code};
use super::i18n::Lang;
use super::pages::{LangQuery, Nav, redirect, render};
use super::{csrf_for, lang_of};
use crate::api::AppState;
use crate::api::admin_edit as rules;
use crate::api::error::ApiError;
use crate::api::extract::{AnyRole, ApiPath, Auth};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::{IntoResponse, Response};
use domain::{Agent, AgentId, Capacity, DispositionId, Role, SkillLevel, UserId};
use serde::Deserialize;
use store::{AgentUpdate, User, UserUpdate};

/// The agent form, as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct AgentForm {
    csrf: String,
    name: String,
    /// `skill:level` pairs separated by commas (`billing:7, french:3`).
    skills: String,
    /// Language tags separated by commas (`fr, en`).
    languages: String,
    voice: String,
    chat: String,
    email: String,
}

impl AgentForm {
    fn of(a: &Agent) -> AgentForm {
        AgentForm {
            csrf: String::new(),
            name: a.name.clone(),
            skills: a
                .skills
                .iter()
                .map(|s| format!("{}:{}", s.skill, s.level))
                .collect::<Vec<_>>()
                .join(", "),
            languages: a.languages.join(", "),
            voice: a.capacity.voice.to_string(),
            chat: a.capacity.chat.to_string(),
            email: a.capacity.email.to_string(),
        }
    }
}

/// Check an agent form; `chat_during_voice` is kept from `current`.
///
/// # Errors
/// [`FieldErrors`] on `name` (1 to 100 characters), `skills` (`skill:level`
/// pairs, level 1 to 10), `languages` (tags such as `fr`, `en-GB`), `voice`
/// (0 or 1), `chat` and `email` (0 to 20).
pub fn validate_agent(f: &AgentForm, current: &Capacity) -> Result<AgentUpdate, FieldErrors> {
    let mut e = FieldErrors::default();
    let mut skills = Vec::new();
    for part in f.skills.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let parsed = part.split_once(':').and_then(|(s, l)| {
            let level = l.trim().parse::<u8>().ok()?;
            let skill = s.trim();
            (is_code(skill) && (1..=10).contains(&level)).then(|| SkillLevel {
                skill: skill.to_string(),
                level,
            })
        });
        match parsed {
            Some(s) => skills.push(s),
            None => {
                e.add(
                    "skills",
                    format!("{part:?}: write skill:level, level 1 to 10 (e.g. billing:7)"),
                );
                break;
            }
        }
    }
    let languages: Vec<String> = f
        .languages
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let small = |e: &mut FieldErrors, field: &'static str, text: &str, hi: u8| match text
        .trim()
        .parse::<u8>()
    {
        Ok(v) if v <= hi => v,
        _ => {
            e.add(field, format!("a whole number from 0 to {hi}"));
            0
        }
    };
    let capacity = Capacity {
        voice: small(&mut e, "voice", &f.voice, 1),
        chat: small(&mut e, "chat", &f.chat, rules::MAX_DIGITAL_CAPACITY),
        email: small(&mut e, "email", &f.email, rules::MAX_DIGITAL_CAPACITY),
        chat_during_voice: current.chat_during_voice,
    };
    let update = AgentUpdate {
        name: f.name.trim().to_string(),
        skills,
        languages,
        capacity,
    };
    for (field, msg) in rules::agent_update_problems(&update) {
        if e.get(field).is_none() {
            e.add(field, msg);
        }
    }
    if e.is_empty() { Ok(update) } else { Err(e) }
}

#[derive(Template)]
#[template(path = "agent_edit.html")]
struct AgentEditPage {
    nav: Nav,
    lang: Lang,
    csrf: String,
    id: i64,
    login: String,
    form: AgentForm,
    errors: FieldErrors,
    /// A phone password just set, shown once.
    new_sip_password: Option<String>,
}

async fn agent_of(s: &AppState, id: i64) -> Result<Agent, Response> {
    match s.store.get_agent(AgentId(id)).await {
        Ok(Some(a)) => Ok(a),
        Ok(None) => Err(ApiError::not_found(format!("agent {id} not found")).into_response()),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

/// `GET /admin/agents/{id}`: the agent's edit form.
pub async fn agent_form(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    auth: Result<Auth<AnyRole>, ApiError>,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    let (lang, remember) = lang_of(&headers, q.lang.as_deref());
    let (auth, nav) = match admin_only(auth, lang, remember) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let agent = match agent_of(&s, id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let page = AgentEditPage {
        nav,
        lang,
        csrf: csrf_for(&auth.token),
        id,
        login: agent.login.clone(),
        form: AgentForm::of(&agent),
        errors: FieldErrors::default(),
        new_sip_password: None,
    };
    render(&page, StatusCode::OK, lang, remember)
}

/// `POST /admin/agents/{id}`: save the agent's profile (it applies at the
/// agent's next ACD login), or show the form's errors.
pub async fn agent_save(
    State(s): State<AppState>,
    headers: HeaderMap,
    auth: Result<Auth<AnyRole>, ApiError>,
    ApiPath(id): ApiPath<i64>,
    axum::Form(f): axum::Form<AgentForm>,
) -> Response {
    let (lang, _) = lang_of(&headers, None);
    let (auth, nav) = match admin_post(auth, lang, &f.csrf) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let agent = match agent_of(&s, id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let errors = match validate_agent(&f, &agent.capacity) {
        Ok(up) => match s.store.update_agent(agent.id, &up).await {
            Ok(a) => {
                tracing::info!(by = %auth.user.username, agent = %a.login, "agent profile changed (applies at the agent's next ACD login)");
                return redirect("/admin");
            }
            Err(e) => return ApiError::from(e).into_response(),
        },
        Err(e) => e,
    };
    let page = AgentEditPage {
        nav,
        lang,
        csrf: csrf_for(&auth.token),
        id,
        login: agent.login,
        form: f,
        errors,
        new_sip_password: None,
    };
    render(&page, StatusCode::UNPROCESSABLE_ENTITY, lang, false)
}

/// `POST /admin/agents/{id}/sip-password`: a new random SIP digest
/// password for the agent's phone, shown once on the agent's page (applies
/// at once; audited).
pub async fn agent_sip_password(
    State(s): State<AppState>,
    headers: HeaderMap,
    auth: Result<Auth<AnyRole>, ApiError>,
    source: crate::api::extract::SourceAddr,
    ApiPath(id): ApiPath<i64>,
    axum::Form(f): axum::Form<CsrfOnly>,
) -> Response {
    let (lang, _) = lang_of(&headers, None);
    let (auth, nav) = match admin_post(auth, lang, &f.csrf) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let (agent, password) = match rules::set_sip_password(&s, &auth.user, AgentId(id), source).await
    {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let page = AgentEditPage {
        nav,
        lang,
        csrf: csrf_for(&auth.token),
        id,
        login: agent.login.clone(),
        form: AgentForm::of(&agent),
        errors: FieldErrors::default(),
        new_sip_password: Some(password),
    };
    let mut r = render(&page, StatusCode::OK, lang, false);
    // A page holding a password must not be kept by caches.
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}

/// The user form, as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct UserEditForm {
    csrf: String,
    role: String,
    /// Agent id, or empty.
    agent: String,
    /// `on` when the box is ticked.
    disabled: String,
}

#[derive(Template)]
#[template(path = "user_edit.html")]
struct UserEditPage {
    nav: Nav,
    lang: Lang,
    csrf: String,
    id: i64,
    username: String,
    form: UserEditForm,
    errors: FieldErrors,
    agents: Vec<(i64, String)>,
    /// A password just reset, shown once.
    new_password: Option<String>,
}

async fn user_page(
    s: &AppState,
    auth: &Auth<AnyRole>,
    nav: Nav,
    lang: Lang,
    user: &User,
    (form, errors): (UserEditForm, FieldErrors),
    new_password: Option<String>,
) -> Response {
    let agents = match s.store.list_agents().await {
        Ok(a) => a.into_iter().map(|a| (a.id.0, a.name)).collect(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = UserEditPage {
        nav,
        lang,
        csrf: csrf_for(&auth.token),
        id: user.id.0,
        username: user.username.clone(),
        form,
        errors,
        agents,
        new_password,
    };
    render(&page, status, lang, false)
}

async fn user_of(s: &AppState, id: i64) -> Result<User, Response> {
    match s.store.get_user(UserId(id)).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(ApiError::not_found(format!("user {id} not found")).into_response()),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

fn user_form_of(u: &User) -> UserEditForm {
    UserEditForm {
        csrf: String::new(),
        role: u.role.as_str().to_string(),
        agent: u.agent_id.map(|a| a.0.to_string()).unwrap_or_default(),
        disabled: if u.disabled {
            "on".into()
        } else {
            String::new()
        },
    }
}

/// `GET /admin/users/{id}`: the user's role, agent and status form, and the
/// password reset button.
pub async fn user_form(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    auth: Result<Auth<AnyRole>, ApiError>,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    let (lang, remember) = lang_of(&headers, q.lang.as_deref());
    let (auth, nav) = match admin_only(auth, lang, remember) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let user = match user_of(&s, id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let form = user_form_of(&user);
    user_page(
        &s,
        &auth,
        nav,
        lang,
        &user,
        (form, FieldErrors::default()),
        None,
    )
    .await
}

/// `POST /admin/users/{id}`: change the role, agent link and status (not
/// one's own role or status).
pub async fn user_save(
    State(s): State<AppState>,
    headers: HeaderMap,
    auth: Result<Auth<AnyRole>, ApiError>,
    ApiPath(id): ApiPath<i64>,
    axum::Form(f): axum::Form<UserEditForm>,
) -> Response {
    let (lang, _) = lang_of(&headers, None);
    let (auth, nav) = match admin_post(auth, lang, &f.csrf) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let user = match user_of(&s, id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mut e = FieldErrors::default();
    let role = Role::parse(f.role.trim());
    if role.is_none() {
        e.add("role", "admin, supervisor or agent");
    }
    let agent = match f.agent.trim() {
        "" => None,
        a => a.parse::<i64>().ok().map(AgentId).or_else(|| {
            e.add("agent", "choose an agent record");
            None
        }),
    };
    if let (Some(role), true) = (role, e.is_empty()) {
        let up = UserUpdate {
            role,
            agent_id: agent,
            disabled: !f.disabled.is_empty(),
        };
        match rules::update_user_checked(&*s.store, &auth.user, user.id, &up).await {
            Ok(changed) => {
                rules::log_out_if_disabled(&s, &changed).await;
                return redirect("/admin");
            }
            Err(err) if err.status == StatusCode::UNPROCESSABLE_ENTITY => {
                // The shared check's message starts with its field name.
                let (field, msg) = err
                    .message
                    .split_once(": ")
                    .unwrap_or(("role", &err.message));
                let field = match field {
                    "agent_id" => "agent",
                    "disabled" => "disabled",
                    _ => "role",
                };
                e.add(field, msg.to_string());
            }
            Err(err) => return err.into_response(),
        }
    }
    user_page(&s, &auth, nav, lang, &user, (f, e), None).await
}

/// The password-reset form: only the CSRF token.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfOnly {
    csrf: String,
}

/// `POST /admin/users/{id}/password`: a new random password, shown once on
/// the user's page; their sessions end.
pub async fn user_password(
    State(s): State<AppState>,
    headers: HeaderMap,
    auth: Result<Auth<AnyRole>, ApiError>,
    ApiPath(id): ApiPath<i64>,
    axum::Form(f): axum::Form<CsrfOnly>,
) -> Response {
    let (lang, _) = lang_of(&headers, None);
    let (auth, nav) = match admin_post(auth, lang, &f.csrf) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let (user, password) = match rules::reset_password(&*s.store, &auth.user, UserId(id)).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let form = user_form_of(&user);
    let mut r = user_page(
        &s,
        &auth,
        nav,
        lang,
        &user,
        (form, FieldErrors::default()),
        Some(password),
    )
    .await;
    // A page holding a password must not be kept by caches.
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}

/// The disposition form, as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct DispEditForm {
    csrf: String,
    label: String,
    /// `on` when the box is ticked.
    retired: String,
}

#[derive(Template)]
#[template(path = "disposition_edit.html")]
struct DispEditPage {
    nav: Nav,
    lang: Lang,
    csrf: String,
    id: i64,
    code: String,
    form: DispEditForm,
    errors: FieldErrors,
}

async fn disposition_of(s: &AppState, id: i64) -> Result<(domain::Disposition, bool), Response> {
    let found = match s.store.list_dispositions().await {
        Ok(list) => list.into_iter().find(|d| d.id == DispositionId(id)),
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    let Some(d) = found else {
        return Err(ApiError::not_found(format!("disposition {id} not found")).into_response());
    };
    match rules::retired_dispositions(&*s.store).await {
        Ok(r) => {
            let retired = r.contains(&d.code);
            Ok((d, retired))
        }
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

/// `GET /admin/dispositions/{id}`: rename or retire a disposition.
pub async fn disposition_form(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    auth: Result<Auth<AnyRole>, ApiError>,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    let (lang, remember) = lang_of(&headers, q.lang.as_deref());
    let (auth, nav) = match admin_only(auth, lang, remember) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let (d, retired) = match disposition_of(&s, id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let page = DispEditPage {
        nav,
        lang,
        csrf: csrf_for(&auth.token),
        id,
        code: d.code,
        form: DispEditForm {
            csrf: String::new(),
            label: d.label,
            retired: if retired { "on".into() } else { String::new() },
        },
        errors: FieldErrors::default(),
    };
    render(&page, StatusCode::OK, lang, remember)
}

/// `POST /admin/dispositions/{id}`: save the label and status.
pub async fn disposition_save(
    State(s): State<AppState>,
    headers: HeaderMap,
    auth: Result<Auth<AnyRole>, ApiError>,
    ApiPath(id): ApiPath<i64>,
    axum::Form(f): axum::Form<DispEditForm>,
) -> Response {
    let (lang, _) = lang_of(&headers, None);
    let (auth, nav) = match admin_post(auth, lang, &f.csrf) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let (d, _) = match disposition_of(&s, id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let n = f.label.trim().chars().count();
    if n == 0 || n > 100 {
        let mut errors = FieldErrors::default();
        errors.add("label", "1 to 100 characters");
        let page = DispEditPage {
            nav,
            lang,
            csrf: csrf_for(&auth.token),
            id,
            code: d.code,
            form: f,
            errors,
        };
        return render(&page, StatusCode::UNPROCESSABLE_ENTITY, lang, false);
    }
    if let Err(e) = s.store.rename_disposition(d.id, &f.label).await {
        return ApiError::from(e).into_response();
    }
    if let Err(e) = rules::set_disposition_retired(&*s.store, &d.code, !f.retired.is_empty()).await
    {
        return ApiError::from(e).into_response();
    }
    redirect("/admin")
}

/// The pause-reason form: add or remove one code.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PauseForm {
    csrf: String,
    /// `add` or `remove`.
    action: String,
    code: String,
}

/// `POST /admin/pause-reasons`: add or remove a pause reason; on error the
/// admin page comes back with the message next to the code field.
pub async fn pause_reason(
    State(s): State<AppState>,
    headers: HeaderMap,
    auth: Result<Auth<AnyRole>, ApiError>,
    axum::Form(f): axum::Form<PauseForm>,
) -> Response {
    let (lang, _) = lang_of(&headers, None);
    let (auth, nav) = match admin_post(auth, lang, &f.csrf) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let code = f.code.trim().to_string();
    let mut list = rules::pause_reasons(&s).await;
    let mut e = FieldErrors::default();
    match f.action.as_str() {
        "remove" => {
            list.retain(|c| *c != code);
            if list.is_empty() {
                e.add("code", "keep at least one pause reason");
            }
        }
        _ if !rules::is_pause_code(&code) => {
            e.add("code", "1 to 32 characters: a-z, 0-9 or '_'");
        }
        _ if list.contains(&code) => e.add("code", format!("{code:?} exists already")),
        _ => list.push(code.clone()),
    }
    if e.is_empty() {
        match rules::save_pause_reasons(&*s.store, &list).await {
            Ok(saved) => {
                tracing::info!(by = %auth.user.username, reasons = ?saved, "pause reasons changed");
                return redirect("/admin");
            }
            Err(err) => return err.into_response(),
        }
    }
    let forms = AddForms {
        pause: (code, e),
        ..AddForms::default()
    };
    admin_page(
        &s,
        &auth,
        nav,
        lang,
        StatusCode::UNPROCESSABLE_ENTITY,
        false,
        forms,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_form_checks_each_field() {
        let f = AgentForm {
            name: "Awa".into(),
            skills: "billing:7, french:3".into(),
            languages: "fr, en-GB".into(),
            voice: "1".into(),
            chat: "3".into(),
            email: "2".into(),
            ..AgentForm::default()
        };
        let cur = Capacity {
            chat_during_voice: true,
            ..Capacity::default()
        };
        let up = validate_agent(&f, &cur).unwrap();
        assert_eq!(up.skills[0].skill, "billing");
        assert_eq!(up.skills[0].level, 7);
        assert_eq!(up.languages, ["fr", "en-GB"]);
        assert!(up.capacity.chat_during_voice);
        let bad = AgentForm {
            name: "".into(),
            skills: "billing:11".into(),
            languages: "fr_FR".into(),
            voice: "2".into(),
            chat: "x".into(),
            email: "21".into(),
            ..AgentForm::default()
        };
        let e = validate_agent(&bad, &cur).unwrap_err();
        assert!(e.get("skills").unwrap().contains("level 1 to 10"));
        assert_eq!(e.get("voice"), Some("a whole number from 0 to 1"));
        assert_eq!(e.get("chat"), Some("a whole number from 0 to 20"));
        assert_eq!(e.get("email"), Some("a whole number from 0 to 20"));
        assert_eq!(e.get("name"), Some("1 to 100 characters"));
        assert!(e.get("languages").unwrap().contains("fr_FR"));
    }
}
