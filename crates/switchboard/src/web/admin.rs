//! Admin pages: the lists of users, agents, queues, dispositions and pause
//! reasons, a form to edit a queue, and forms to add a disposition or a user.
//!
//! Forms post back here (no script needed) with the session's CSRF token.
//! Each is validated on the server field by field ([`FieldErrors`]); on
//! error the page comes back with status 422, the values typed, and each
//! message next to its input (`aria-invalid`, `aria-describedby`). On
//! success: 303 to `/admin`.
//!
//! The add forms here create dispositions and users; editing existing
//! agents, users, dispositions and the pause reasons is in `admin_edit`.

use super::i18n::Lang;
use super::pages::{ForbiddenPage, LangQuery, Nav, redirect, render};
use super::{csrf_for, lang_of, same_secret};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{AdminOnly, AnyRole, ApiPath, Auth, RoleSet};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::{IntoResponse, Response};
use domain::{AgentId, QueueId, Role, ServiceLevel, SkillLevel, Strategy};
use serde::Deserialize;
use store::{NewQueue, StoreError};

/// Validation errors of one form: `(field name, message)` in field order.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    /// Record an error on `field` (the form field's `name`).
    pub(super) fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    /// The first message for `field`, if any (used by the templates).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// No errors?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Queue strategies as the forms and the API spell them.
pub const STRATEGIES: [&str; 7] = [
    "longest_idle",
    "round_robin",
    "least_calls",
    "ring_all",
    "random",
    "skills_weighted",
    "linear",
];

/// The queue form, as typed (every field text, so a bad value is a field
/// error rather than a rejected request).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct QueueForm {
    csrf: String,
    name: String,
    strategy: String,
    /// `skill:level` pairs separated by commas, e.g. `french:1, vip_care:5`.
    required_skills: String,
    sl_percent: String,
    sl_within_s: String,
    wrap_up_s: String,
    max_wait_s: String,
    ring_timeout_s: String,
    priority: String,
}

impl QueueForm {
    fn of(q: &domain::Queue) -> QueueForm {
        QueueForm {
            csrf: String::new(),
            name: q.name.clone(),
            strategy: strategy_code(q.strategy),
            required_skills: q
                .required_skills
                .iter()
                .map(|s| format!("{}:{}", s.skill, s.level))
                .collect::<Vec<_>>()
                .join(", "),
            sl_percent: q.service_level.percent.to_string(),
            sl_within_s: q.service_level.within_s.to_string(),
            wrap_up_s: q.wrap_up_s.to_string(),
            max_wait_s: q.max_wait_s.to_string(),
            ring_timeout_s: q.ring_timeout_s.to_string(),
            priority: q.priority.to_string(),
        }
    }
}

/// `longest_idle` for [`Strategy::LongestIdle`], etc.
fn strategy_code(s: Strategy) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// A name: 1 to 64 characters of a-z, A-Z, 0-9, `_`, `-`.
pub(super) fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Check the new-queue form: each field is parsed here (a field that does
/// not parse gets the message of its range), then the queue rules are
/// [`NewQueue::field_errors`], the same the API applies. Fields: `name`,
/// `strategy` (one of [`STRATEGIES`]), `required_skills` (`skill:level`
/// pairs), `sl_percent`, `sl_within_s`, `wrap_up_s`, `max_wait_s`,
/// `ring_timeout_s`, `priority`.
///
/// # Errors
/// Every bad field with its message.
pub fn validate_queue(f: &QueueForm) -> Result<NewQueue, FieldErrors> {
    let mut e = FieldErrors::default();
    let strategy =
        match serde_json::from_value::<Strategy>(serde_json::Value::from(f.strategy.trim())) {
            Ok(s) => s,
            Err(_) => {
                e.add("strategy", format!("one of {}", STRATEGIES.join(", ")));
                Strategy::default()
            }
        };
    let mut required_skills = Vec::new();
    for part in f
        .required_skills
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let parsed = part.split_once(':').and_then(|(s, l)| {
            Some(SkillLevel {
                skill: s.trim().to_string(),
                level: l.trim().parse::<u8>().ok()?,
            })
        });
        match parsed {
            Some(s) => required_skills.push(s),
            None => {
                e.add(
                    "required_skills",
                    format!("{part:?}: write skill:level, level 1 to 10 (e.g. french:3)"),
                );
                break;
            }
        }
    }
    let percent = match f.sl_percent.trim().replace(',', ".").parse::<f64>() {
        Ok(p) if p.is_finite() => p,
        _ => {
            e.add("sl_percent", "a number from 0 to 100");
            0.0
        }
    };
    let q = NewQueue {
        name: f.name.trim().to_string(),
        required_skills,
        strategy,
        service_level: ServiceLevel {
            percent,
            within_s: number(
                &mut e,
                "sl_within_s",
                &f.sl_within_s,
                &NewQueue::SL_WITHIN_S,
            ),
        },
        wrap_up_s: number(&mut e, "wrap_up_s", &f.wrap_up_s, &NewQueue::WRAP_UP_S),
        max_wait_s: number(&mut e, "max_wait_s", &f.max_wait_s, &NewQueue::MAX_WAIT_S),
        ring_timeout_s: number(
            &mut e,
            "ring_timeout_s",
            &f.ring_timeout_s,
            &NewQueue::RING_TIMEOUT_S,
        ),
        priority: number(&mut e, "priority", &f.priority, &NewQueue::PRIORITY),
    };
    for (field, msg) in q.field_errors() {
        if e.get(field).is_none() {
            e.add(field, msg);
        }
    }
    if !e.is_empty() {
        return Err(e);
    }
    Ok(q)
}

/// A whole number field; one that does not parse gets the message of its
/// `range` (the range itself is checked by [`NewQueue::field_errors`]).
fn number<T: std::str::FromStr + std::fmt::Display + Copy>(
    e: &mut FieldErrors,
    field: &'static str,
    text: &str,
    range: &std::ops::RangeInclusive<T>,
) -> T {
    text.trim().parse::<T>().unwrap_or_else(|_| {
        e.add(
            field,
            format!("a whole number from {} to {}", range.start(), range.end()),
        );
        *range.start()
    })
}

/// The new-disposition form.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct DispositionForm {
    csrf: String,
    code: String,
    label: String,
}

/// Check a new disposition: `code` as a name, `label` 1 to 100 characters.
///
/// # Errors
/// [`FieldErrors`] on `code` and `label`.
pub fn validate_disposition(f: &DispositionForm) -> Result<(String, String), FieldErrors> {
    let mut e = FieldErrors::default();
    let code = f.code.trim();
    if !is_code(code) {
        e.add("code", "1 to 64 characters: letters, digits, '_' or '-'");
    }
    let label = f.label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        e.add("label", "1 to 100 characters");
    }
    if e.is_empty() {
        Ok((code.to_string(), label.to_string()))
    } else {
        Err(e)
    }
}

/// The new-user form.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct UserForm {
    csrf: String,
    username: String,
    password: String,
    role: String,
    /// Agent id, or empty.
    agent: String,
}

/// What a valid user form asks for: username, password, role, agent.
type UserFields = (String, String, Role, Option<AgentId>);

/// Check a new user's fields (existence of the agent is checked by the
/// store call).
///
/// # Errors
/// [`FieldErrors`] on `username` (1 to 64 of a-z, 0-9, `.`, `_`, `-`),
/// `password` (at least 10 characters), `role`, `agent` (needed for agents).
pub fn validate_user(f: &UserForm) -> Result<UserFields, FieldErrors> {
    let mut e = FieldErrors::default();
    let username = f.username.trim();
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        e.add(
            "username",
            "1 to 64 characters: letters, digits, '.', '_' or '-'",
        );
    }
    if f.password.chars().count() < 10 {
        e.add("password", "at least 10 characters");
    }
    let role = Role::parse(f.role.trim());
    if role.is_none() {
        e.add("role", "admin, supervisor or agent");
    }
    let agent = match f.agent.trim() {
        "" => None,
        a => match a.parse::<i64>() {
            Ok(id) => Some(AgentId(id)),
            Err(_) => {
                e.add("agent", "choose an agent record");
                None
            }
        },
    };
    if role == Some(Role::Agent) && agent.is_none() && e.get("agent").is_none() {
        e.add("agent", "a user with role agent needs an agent record");
    }
    match (role, e.is_empty()) {
        (Some(r), true) => Ok((username.to_string(), f.password.clone(), r, agent)),
        _ => Err(e),
    }
}

/// A row of the users table.
struct UserRow {
    id: i64,
    username: String,
    role: &'static str,
    agent: String,
    disabled: bool,
}

/// A row of the queues table.
struct QueueRow {
    id: i64,
    name: String,
    strategy: String,
    sl: String,
    wrap_up_s: u32,
    ring_timeout_s: u32,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    nav: Nav,
    lang: Lang,
    csrf: String,
    users: Vec<UserRow>,
    queues: Vec<QueueRow>,
    /// Agent records for the new-user form: (id, name).
    agents: Vec<(i64, String)>,
    /// Agent rows: (id, login, name, skills as `skill:level, ...`).
    agent_rows: Vec<(i64, String, String, String)>,
    /// Disposition rows: (id, code, label, retired).
    disp_rows: Vec<(i64, String, String, bool)>,
    /// Pause reasons in force.
    pause_reasons: Vec<String>,
    pause_code: String,
    pause_errors: FieldErrors,
    disp_form: DispositionForm,
    disp_errors: FieldErrors,
    user_form: UserForm,
    user_errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "queue_edit.html")]
struct QueueEditPage {
    nav: Nav,
    lang: Lang,
    csrf: String,
    id: i64,
    form: QueueForm,
    errors: FieldErrors,
    strategies: &'static [&'static str],
}

/// The admin's session, or the response to send instead (login redirect,
/// forbidden page).
pub(super) fn admin_only(
    auth: Result<Auth<AnyRole>, ApiError>,
    lang: Lang,
    remember: bool,
) -> Result<(Auth<AnyRole>, Nav), Box<Response>> {
    let Ok(auth) = auth else {
        return Err(Box::new(redirect("/login")));
    };
    let nav = Nav::new(lang, &auth, "admin");
    if !AdminOnly::allows(auth.user.role) {
        return Err(Box::new(render(
            &ForbiddenPage { nav, lang },
            StatusCode::FORBIDDEN,
            lang,
            remember,
        )));
    }
    Ok((auth, nav))
}

/// A 403 for a form whose CSRF token does not match the session.
pub(super) fn bad_csrf() -> Response {
    (StatusCode::FORBIDDEN, "CSRF token mismatch").into_response()
}

/// The two add forms of the admin page, as typed, with their errors.
#[derive(Default)]
pub(super) struct AddForms {
    pub(super) disp: (DispositionForm, FieldErrors),
    pub(super) user: (UserForm, FieldErrors),
    /// The pause-reason form: the code typed and its error.
    pub(super) pause: (String, FieldErrors),
}

/// Render the admin page with these form states.
pub(super) async fn admin_page(
    s: &AppState,
    auth: &Auth<AnyRole>,
    nav: Nav,
    lang: Lang,
    status: StatusCode,
    remember: bool,
    forms: AddForms,
) -> Response {
    let AddForms { disp, user, pause } = forms;
    let pause_reasons = crate::api::admin_edit::pause_reasons(s).await;
    let retired = crate::api::admin_edit::retired_dispositions(&*s.store)
        .await
        .unwrap_or_default();
    let (users, queues, disps, agents) = match (
        s.store.list_users().await,
        s.store.list_queues().await,
        s.store.list_dispositions().await,
        s.store.list_agents().await,
    ) {
        (Ok(u), Ok(q), Ok(d), Ok(a)) => (u, q, d, a),
        _ => return ApiError::internal("admin lists").into_response(),
    };
    let page = AdminPage {
        nav,
        lang,
        csrf: csrf_for(&auth.token),
        users: users
            .into_iter()
            .map(|u| UserRow {
                id: u.id.0,
                username: u.username,
                role: u.role.as_str(),
                agent: u.agent_id.map(|a| a.0.to_string()).unwrap_or_default(),
                disabled: u.disabled,
            })
            .collect(),
        queues: queues
            .into_iter()
            .map(|q| QueueRow {
                id: q.id.0,
                name: q.name,
                strategy: strategy_code(q.strategy),
                sl: format!(
                    "{}% / {} s",
                    q.service_level.percent, q.service_level.within_s
                ),
                wrap_up_s: q.wrap_up_s,
                ring_timeout_s: q.ring_timeout_s,
            })
            .collect(),
        disp_rows: disps
            .into_iter()
            .map(|d| {
                let r = retired.contains(&d.code);
                (d.id.0, d.code, d.label, r)
            })
            .collect(),
        agent_rows: agents
            .iter()
            .map(|a| {
                let skills = a.skills.iter().map(|s| format!("{}:{}", s.skill, s.level));
                (
                    a.id.0,
                    a.login.clone(),
                    a.name.clone(),
                    skills.collect::<Vec<_>>().join(", "),
                )
            })
            .collect(),
        agents: agents.into_iter().map(|a| (a.id.0, a.name)).collect(),
        pause_reasons,
        pause_code: pause.0,
        pause_errors: pause.1,
        disp_form: disp.0,
        disp_errors: disp.1,
        user_form: user.0,
        user_errors: user.1,
    };
    render(&page, status, lang, remember)
}

/// `GET /admin`: the lists and the add forms (admins).
pub async fn admin(
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
    admin_page(
        &s,
        &auth,
        nav,
        lang,
        StatusCode::OK,
        remember,
        AddForms::default(),
    )
    .await
}

/// `POST /admin/dispositions`: add a disposition code.
pub async fn add_disposition(
    State(s): State<AppState>,
    headers: HeaderMap,
    auth: Result<Auth<AnyRole>, ApiError>,
    axum::Form(f): axum::Form<DispositionForm>,
) -> Response {
    let (lang, _) = lang_of(&headers, None);
    let (auth, nav) = match admin_post(auth, lang, &f.csrf) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let errors = match validate_disposition(&f) {
        Ok((code, label)) => match s.store.create_disposition(&code, &label).await {
            Ok(_) => return redirect("/admin"),
            Err(StoreError::Conflict(_)) => {
                let mut e = FieldErrors::default();
                e.add("code", format!("{code:?} exists already"));
                e
            }
            Err(e) => return ApiError::from(e).into_response(),
        },
        Err(e) => e,
    };
    admin_page(
        &s,
        &auth,
        nav,
        lang,
        StatusCode::UNPROCESSABLE_ENTITY,
        false,
        AddForms {
            disp: (f, errors),
            ..AddForms::default()
        },
    )
    .await
}

/// `POST /admin/users`: add a user.
pub async fn add_user(
    State(s): State<AppState>,
    headers: HeaderMap,
    auth: Result<Auth<AnyRole>, ApiError>,
    axum::Form(mut f): axum::Form<UserForm>,
) -> Response {
    let (lang, _) = lang_of(&headers, None);
    let (auth, nav) = match admin_post(auth, lang, &f.csrf) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let errors = match validate_user(&f) {
        Ok((username, password, role, agent)) => {
            match crate::api::create_user_checked(&*s.store, &username, &password, role, agent)
                .await
            {
                Ok(u) => {
                    tracing::info!(by = %auth.user.username, user = %u.username, role = u.role.as_str(), "user created");
                    return redirect("/admin");
                }
                Err(e) if e.status == StatusCode::CONFLICT => {
                    let mut fe = FieldErrors::default();
                    fe.add("username", format!("{username:?} exists already"));
                    fe
                }
                Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
                    // The shared check's message starts with its field name.
                    let mut fe = FieldErrors::default();
                    let field = match e.message.split(':').next().unwrap_or_default() {
                        "agent_id" => "agent",
                        "password" => "password",
                        _ => "username",
                    };
                    fe.add(field, e.message.clone());
                    fe
                }
                Err(e) => return e.into_response(),
            }
        }
        Err(e) => e,
    };
    f.password.clear(); // never sent back
    admin_page(
        &s,
        &auth,
        nav,
        lang,
        StatusCode::UNPROCESSABLE_ENTITY,
        false,
        AddForms {
            user: (f, errors),
            ..AddForms::default()
        },
    )
    .await
}

/// `GET /admin/queues/{id}`: the queue's edit form.
pub async fn queue_form(
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
    let queue = match s.store.get_queue(QueueId(id)).await {
        Ok(Some(q)) => q,
        Ok(None) => return ApiError::not_found(format!("queue {id} not found")).into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let page = QueueEditPage {
        nav,
        lang,
        csrf: csrf_for(&auth.token),
        id,
        form: QueueForm::of(&queue),
        errors: FieldErrors::default(),
        strategies: &STRATEGIES,
    };
    render(&page, StatusCode::OK, lang, remember)
}

/// `POST /admin/queues/{id}`: save the queue, or show the form's errors.
pub async fn queue_save(
    State(s): State<AppState>,
    headers: HeaderMap,
    auth: Result<Auth<AnyRole>, ApiError>,
    ApiPath(id): ApiPath<i64>,
    axum::Form(f): axum::Form<QueueForm>,
) -> Response {
    let (lang, _) = lang_of(&headers, None);
    let (auth, nav) = match admin_post(auth, lang, &f.csrf) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let errors = match validate_queue(&f) {
        Ok(q) => match s.store.update_queue(QueueId(id), &q).await {
            Ok(stored) => {
                crate::api::apply_queue_live(&s, &stored).await;
                return redirect("/admin");
            }
            Err(StoreError::Conflict(_)) => {
                let mut e = FieldErrors::default();
                e.add("name", format!("another queue is named {:?}", q.name));
                e
            }
            Err(e) => return ApiError::from(e).into_response(),
        },
        Err(e) => e,
    };
    let page = QueueEditPage {
        nav,
        lang,
        csrf: csrf_for(&auth.token),
        id,
        form: f,
        errors,
        strategies: &STRATEGIES,
    };
    render(&page, StatusCode::UNPROCESSABLE_ENTITY, lang, false)
}

/// Check the admin session and CSRF token of a form post.
pub(super) fn admin_post(
    auth: Result<Auth<AnyRole>, ApiError>,
    lang: Lang,
    csrf: &str,
) -> Result<(Auth<AnyRole>, Nav), Box<Response>> {
    let (auth, nav) = admin_only(auth, lang, false)?;
    if !same_secret(&csrf_for(&auth.token), csrf) {
        return Err(Box::new(bad_csrf()));
    }
    Ok((auth, nav))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good_queue() -> QueueForm {
        QueueForm {
            name: "general".into(),
            strategy: "ring_all".into(),
            required_skills: "french:1, vip_care:5".into(),
            sl_percent: "80".into(),
            sl_within_s: "20".into(),
            wrap_up_s: "30".into(),
            max_wait_s: "600".into(),
            ring_timeout_s: "15".into(),
            priority: "0".into(),
            ..QueueForm::default()
        }
    }

    #[test]
    fn a_good_queue_form_becomes_a_queue() {
        let q = validate_queue(&good_queue()).unwrap();
        assert_eq!(q.strategy, Strategy::RingAll);
        assert_eq!(q.required_skills.len(), 2);
        assert_eq!(q.required_skills[1].skill, "vip_care");
        assert_eq!(q.required_skills[1].level, 5);
        assert_eq!(q.service_level.percent, 80.0);
        assert_eq!((q.wrap_up_s, q.ring_timeout_s), (30, 15));
    }

    #[test]
    fn each_bad_queue_field_has_its_message() {
        let mut f = good_queue();
        f.name = "bad name!".into();
        f.strategy = "fastest".into();
        f.required_skills = "french:11".into();
        f.sl_percent = "120".into();
        f.wrap_up_s = "-1".into();
        f.ring_timeout_s = "abc".into();
        let e = validate_queue(&f).unwrap_err();
        assert_eq!(
            e.get("name"),
            Some("1 to 64 characters: letters, digits, '_' or '-'")
        );
        assert!(
            e.get("strategy")
                .unwrap()
                .starts_with("one of longest_idle")
        );
        assert!(e.get("required_skills").unwrap().contains("level 1 to 10"));
        assert_eq!(e.get("sl_percent"), Some("a number from 0 to 100"));
        assert_eq!(e.get("wrap_up_s"), Some("a whole number from 0 to 3600"));
        assert_eq!(
            e.get("ring_timeout_s"),
            Some("a whole number from 1 to 600")
        );
        assert_eq!(e.get("priority"), None);
        assert_eq!(e.get("sl_within_s"), None);
    }

    #[test]
    fn every_strategy_code_parses() {
        for s in STRATEGIES {
            let mut f = good_queue();
            f.strategy = s.into();
            assert_eq!(strategy_code(validate_queue(&f).unwrap().strategy), s);
        }
    }

    #[test]
    fn disposition_and_user_forms() {
        let e = validate_disposition(&DispositionForm {
            code: "".into(),
            label: " ".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.get("code").is_some() && e.get("label").is_some());
        assert_eq!(
            validate_disposition(&DispositionForm {
                code: "callback".into(),
                label: "Call back".into(),
                ..Default::default()
            })
            .unwrap(),
            ("callback".into(), "Call back".into())
        );
        let e = validate_user(&UserForm {
            username: "x y".into(),
            password: "short".into(),
            role: "agent".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.get("username").is_some());
        assert_eq!(e.get("password"), Some("at least 10 characters"));
        assert_eq!(
            e.get("agent"),
            Some("a user with role agent needs an agent record")
        );
        assert_eq!(e.get("role"), None);
        let ok = validate_user(&UserForm {
            username: "lea".into(),
            password: "long enough pw".into(),
            role: "supervisor".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((ok.2, ok.3), (Role::Supervisor, None));
    }
}
