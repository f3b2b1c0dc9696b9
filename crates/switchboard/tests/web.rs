//! The web pages over plain HTTP (no browser): session cookie flags, CSRF on
//! the login and logout forms, redirects, roles, languages, escaping.

#[path = "web/admin_edit.rs"]
mod admin_edit;
mod common;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `name=value` of a Set-Cookie header named `name`.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(String::from)
}

/// The value of `<input ... name="csrf" value="...">` in a page.
fn csrf_field(html: &str) -> String {
    let i = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    html[i..].split('"').next().unwrap().to_string()
}

/// GET /login, then POST the form; returns the POST response.
async fn web_login(
    srv: &common::TestServer,
    http: &reqwest::Client,
    user: &str,
    password: &str,
) -> reqwest::Response {
    web_login_code(srv, http, user, password, "").await
}

/// [`web_login`] with the form's verification code field.
async fn web_login_code(
    srv: &common::TestServer,
    http: &reqwest::Client,
    user: &str,
    password: &str,
    code: &str,
) -> reqwest::Response {
    let page = http.get(srv.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csrf_cookie = set_cookie(&page, "sb_csrf").expect("login CSRF cookie");
    let pair = csrf_cookie.split(';').next().unwrap().to_string();
    let html = page.text().await.unwrap();
    let csrf = csrf_field(&html);
    assert_eq!(pair, format!("sb_csrf={csrf}"));
    http.post(srv.url("/login"))
        .header(COOKIE, pair)
        .form(&[
            ("username", user),
            ("password", password),
            ("csrf", &csrf),
            ("code", code),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_logout_csrf_roles_and_escaping() {
    let srv = common::start(false).await;
    let http = client();

    // Not signed in: pages send you to the login form.
    let r = http.get(srv.url("/agent")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/login");
    let html = http
        .get(srv.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"fr\">"), "French by default");
    assert!(html.contains("Se connecter"));

    // Wrong password: the form again, with the message and the username escaped.
    let r = web_login(&srv, &http, "\"><script>x</script>", "nope").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.unwrap();
    assert!(html.contains("Identifiant ou mot de passe incorrect."));
    assert!(
        html.contains("value=\"&#34;&#62;&#60;script&#62;x&#60;/script&#62;\""),
        "{html}"
    );
    assert!(!html.contains("<script>x"));

    // A login post without the CSRF cookie is refused even with the right password.
    let r = http
        .post(srv.url("/login"))
        .form(&[
            ("username", "amina"),
            ("password", srv.password("amina").as_str()),
            ("csrf", "00000000000000000000000000000000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&r, "sb_session").is_none());

    // Right password: HttpOnly, SameSite=Strict session cookie; agent lands on /agent.
    let r = web_login(&srv, &http, "amina", &srv.password("amina")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/agent");
    let c = set_cookie(&r, "sb_session").expect("session cookie");
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/"));
    assert!(!c.contains("Secure"), "Secure only when configured");
    let session = c.split(';').next().unwrap().to_string();

    // The cookie works for pages and for the JSON API.
    let r = http
        .get(srv.url("/agent?lang=en"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(set_cookie(&r, "lang").unwrap().starts_with("lang=en;"));
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("Log in to ACD"));
    // The active pane's transfer control: labelled, queues listed by id.
    assert!(
        html.contains("<label for=\"transfer-target\" id=\"transfer-label\">Transfer to</label>")
    );
    assert!(
        html.contains("<option value=\"queue:1\">general</option>"),
        "{html}"
    );
    // Digital tasks: accept/reject on the card, a labelled reply box.
    assert!(html.contains("id=\"btn-accept\"") && html.contains("id=\"btn-reject\""));
    assert!(html.contains("<label for=\"reply-text\">Reply</label>"));
    // Pause reasons come from `[desktop] pause_reasons` (defaults here).
    assert!(html.contains("<option value=\"lunch\">Lunch</option>"));
    let r = http
        .post(srv.url("/api/v1/agent/state"))
        .header(COOKIE, &session)
        .json(&serde_json::json!({"state": "paused", "reason": "nap"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "unknown pause reason");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "reason: \"nap\" is not a pause reason; choose one of break, lunch, training, meeting"
    );
    let r = http
        .post(srv.url("/api/v1/agent/state"))
        .header(COOKIE, &session)
        .json(&serde_json::json!({"state": "paused", "reason": "lunch"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "valid, but no engine here"
    );
    assert!(
        html.contains("Telephony is off on this node."),
        "no SIP here"
    );
    let me = http
        .get(srv.url("/api/v1/auth/me"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // An agent may not open the supervisor, report, wallboard or admin pages.
    for p in ["/supervisor", "/reports", "/wallboard", "/admin"] {
        let r = http
            .get(srv.url(p))
            .header(COOKIE, &session)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{p}");
    }

    // Logout needs the session's CSRF token.
    let csrf = csrf_field(&html);
    let r = http
        .post(srv.url("/logout"))
        .header(COOKIE, &session)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(srv.url("/logout"))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&r, "sb_session").unwrap().contains("Max-Age=0"));
    let me = http
        .get(srv.url("/api/v1/auth/me"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "the session is gone");

    // Admin: the read-only lists; supervisor page allowed.
    let r = web_login(&srv, &http, "admin", &srv.password("admin")).await;
    let session = set_cookie(&r, "sb_session").unwrap();
    let session = session.split(';').next().unwrap();
    let html = http
        .get(srv.url("/admin"))
        .header(COOKIE, session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for s in ["amina", "supervisor", "general", "resolved"] {
        assert!(html.contains(s), "{s} listed");
    }
    for p in ["/supervisor", "/reports", "/wallboard"] {
        let r = http
            .get(srv.url(p))
            .header(COOKIE, session)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{p}");
    }

    // Assets are embedded and typed.
    let r = http.get(srv.url("/assets/agent.js")).send().await.unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    // The charting library is served from the binary (no CDN).
    let r = http
        .get(srv.url("/assets/uPlot.esm.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("export { uPlot as default }")
    );
    let r = http.get(srv.url("/assets/nope.js")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    srv.shutdown().await;
}

#[tokio::test]
async fn admin_forms_show_field_errors_next_to_the_field() {
    let srv = common::start(false).await;
    let http = client();
    let r = web_login(&srv, &http, "admin", &srv.password("admin")).await;
    let session = set_cookie(&r, "sb_session").unwrap();
    let session = session.split(';').next().unwrap().to_string();
    let get = |path: &str| http.get(srv.url(path)).header(COOKIE, &session).send();
    let html = get("/admin/queues/1?lang=en")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("value=\"general\""), "{html}");
    assert!(html.contains("<option value=\"longest_idle\" selected>"));
    let csrf = csrf_field(&html);

    // Bad values: 422, each message next to its field, input points at it.
    let form = |name: &str, wrap: &str, csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("name", name.to_string()),
            ("strategy", "ring_all".to_string()),
            ("required_skills", "french:1".to_string()),
            ("sl_percent", "80".to_string()),
            ("sl_within_s", "20".to_string()),
            ("wrap_up_s", wrap.to_string()),
            ("max_wait_s", "600".to_string()),
            ("ring_timeout_s", "15".to_string()),
            ("priority", "0".to_string()),
        ]
    };
    let r = http
        .post(srv.url("/admin/queues/1"))
        .header(COOKIE, &session)
        .form(&form("<b>x</b>", "lots", &csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains(
        "id=\"q-wrap\" name=\"wrap_up_s\" type=\"text\" value=\"lots\" aria-invalid=\"true\" aria-describedby=\"q-wrap-err\""
    ), "{html}");
    assert!(
        html.contains(
            "<p class=\"field-error\" id=\"q-wrap-err\">a whole number from 0 to 3600</p>"
        )
    );
    assert!(html.contains("aria-describedby=\"q-name-err\""));
    assert!(
        html.contains("value=\"&#60;b&#62;x&#60;/b&#62;\""),
        "typed value escaped"
    );
    assert!(
        !html.contains("q-priority-err"),
        "good fields have no error"
    );

    // A forged token is refused; a good form saves and goes back to the list.
    let r = http
        .post(srv.url("/admin/queues/1"))
        .header(COOKIE, &session)
        .form(&form("general", "45", "forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(srv.url("/admin/queues/1"))
        .header(COOKIE, &session)
        .form(&form("general", "45", &csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let admin = common::TestServer::login(&srv, "admin").await;
    let q: serde_json::Value = http
        .get(srv.url("/api/v1/queues/1"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (q["wrap_up_s"].as_i64(), q["strategy"].as_str()),
        (Some(45), Some("ring_all"))
    );

    // Dispositions: an existing code is an error on the code field.
    let r = http
        .post(srv.url("/admin/dispositions"))
        .header(COOKIE, &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("code", "resolved"),
            ("label", "Again"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            "<p class=\"field-error\" id=\"d-code-err\">&#34;resolved&#34; exists already</p>"
        ),
        "{html}"
    );
    let r = http
        .post(srv.url("/admin/dispositions"))
        .header(COOKIE, &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("code", "callback_later"),
            ("label", "Call back"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Users: a short password and an agent role without an agent record.
    let r = http
        .post(srv.url("/admin/users"))
        .header(COOKIE, &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "lea"),
            ("password", "short"),
            ("role", "agent"),
            ("agent", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<p class=\"field-error\" id=\"u-password-err\">at least 10 characters</p>")
    );
    assert!(
        html.contains(
            "id=\"u-agent\" name=\"agent\" aria-invalid=\"true\" aria-describedby=\"u-agent-err\""
        ),
        "{html}"
    );
    assert!(
        !html.contains("value=\"short\""),
        "the password is not sent back"
    );
    let r = http
        .post(srv.url("/admin/users"))
        .header(COOKIE, &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "lea"),
            ("password", "a long password"),
            ("role", "supervisor"),
            ("agent", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = get("/admin").await.unwrap().text().await.unwrap();
    assert!(html.contains(">lea<") && html.contains(">callback_later<"));
    srv.shutdown().await;
}

#[tokio::test]
async fn internal_chat_rooms_history_and_live() {
    use futures_util::StreamExt;
    let srv = common::start(false).await;
    let amina = srv.login("amina").await;
    let sup = srv.login("supervisor").await;
    let http = reqwest::Client::new();
    let me: serde_json::Value = http
        .get(srv.url("/api/v1/auth/me"))
        .bearer_auth(&amina)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let own = format!("agent:{}", me["id"]);

    // Rooms: the agent sees the team and her own room; the supervisor every agent's.
    let rooms: serde_json::Value = http
        .get(srv.url("/api/v1/chat/rooms"))
        .bearer_auth(&amina)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rooms[0]["room"], "team");
    assert_eq!(rooms[1]["room"], own.as_str());
    assert_eq!(rooms.as_array().unwrap().len(), 2);
    let rooms: serde_json::Value = http
        .get(srv.url("/api/v1/chat/rooms"))
        .bearer_auth(&sup)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        rooms
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["room"] == own.as_str() && r["user"] == "amina")
    );

    // The supervisor listens live; amina writes in her room.
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/chat/ws?token={sup}", srv.addr))
            .await
            .unwrap();
    let post = |token: &str, room: &str, text: &str| {
        http.post(srv.url(&format!("/api/v1/chat/{room}/messages")))
            .bearer_auth(token.to_string())
            .json(&serde_json::json!({ "text": text }))
            .send()
    };
    let r = post(&amina, &own, "<script>alert(1)</script> help?")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let live = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
        .await
        .expect("a chat push in time")
        .unwrap()
        .unwrap();
    let live: serde_json::Value = serde_json::from_str(live.to_text().unwrap()).unwrap();
    assert_eq!(live["type"], "chat");
    assert_eq!(live["room"], own.as_str());
    assert_eq!(live["sender"], "amina");
    assert_eq!(live["body"], "<script>alert(1)</script> help?");

    // Stored: the supervisor reads the history and answers.
    let r = post(&sup, &own, "coming").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let hist: serde_json::Value = http
        .get(srv.url(&format!("/api/v1/chat/{own}/messages")))
        .bearer_auth(&amina)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bodies: Vec<&str> = hist
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, vec!["<script>alert(1)</script> help?", "coming"]);

    // Another agent's room, empty text: refused.
    let r = post(&amina, "agent:999", "hi").await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(&amina, "team", "   ").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = http
        .get(srv.url("/api/v1/chat/agent:999/messages"))
        .bearer_auth(&amina)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    srv.shutdown().await;
}

/// Issue 18: an account with TOTP logs in on the web form with its code;
/// without it the page says a code is needed, and a used code is refused.
#[tokio::test]
async fn web_login_with_a_totp_code() {
    let srv = common::start(false).await;
    let http = client();
    let token = srv.login("supervisor").await;
    let api = |path: &'static str, body: serde_json::Value| {
        srv.http
            .post(srv.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let enrol: serde_json::Value = api("/api/v1/auth/totp/enrol", serde_json::json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = iam::totp::secret_from_base32(enrol["secret"].as_str().unwrap()).unwrap();
    let p = iam::totp::Params::default();
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let first = iam::totp::code_at(p, &secret, t0).unwrap();
    let r = api(
        "/api/v1/auth/totp/confirm",
        serde_json::json!({ "code": first }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let pw = srv.password("supervisor");
    let r = web_login(&srv, &http, "supervisor", &pw).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("code from your authenticator app")
            || html.contains("code de votre application"),
        "the page asks for the code: {html}"
    );
    let r = web_login_code(&srv, &http, "supervisor", &pw, &first).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a used code");
    let next = iam::totp::code_at(p, &secret, t0 + 30).unwrap();
    let r = web_login_code(&srv, &http, "supervisor", &pw, &next).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/supervisor");
    assert!(set_cookie(&r, "sb_session").is_some());
}
