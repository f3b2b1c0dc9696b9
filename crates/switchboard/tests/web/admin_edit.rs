//! The admin edit pages (a module of `tests/web.rs`): agent profile, user
//! role/agent/status and password reset, disposition rename and retirement,
//! pause reasons. Each bad value comes back with 422 and its message next to
//! the field; each good form is saved and shown.

use super::{client, common, csrf_field, set_cookie, web_login};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, COOKIE};
use serde_json::Value;

#[tokio::test]
async fn admin_edits_agents_users_dispositions_and_pause_reasons() {
    let srv = common::start(false).await;
    let http = client();
    let r = web_login(&srv, &http, "admin", &srv.password("admin")).await;
    let session = set_cookie(&r, "sb_session").unwrap();
    let session = session.split(';').next().unwrap().to_string();
    let get = |path: &str| http.get(srv.url(path)).header(COOKIE, &session).send();
    let post = |path: &str, form: Vec<(&str, String)>| {
        http.post(srv.url(path))
            .header(COOKIE, &session)
            .form(&form)
            .send()
    };
    let token = srv.login("admin").await;
    let api = |path: &str| http.get(srv.url(path)).bearer_auth(&token).send();

    // Agent: the form says when changes apply; a level of 11 is refused
    // next to the skills field; a good profile is saved and listed.
    let html = get("/admin/agents/1?lang=en")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Changes apply at the agent&#39;s next ACD login."),
        "{html}"
    );
    assert!(html.contains("id=\"a-skills\" name=\"skills\" type=\"text\" value=\"french:9, wolof:8, vip_care:7, billing:6\""), "{html}");
    let csrf = csrf_field(&html);
    let agent_form = |skills: &str, chat: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Amina <Diallo>".to_string()),
            ("skills", skills.to_string()),
            ("languages", "fr, wo".to_string()),
            ("voice", "1".to_string()),
            ("chat", chat.to_string()),
            ("email", "2".to_string()),
        ]
    };
    let r = post("/admin/agents/1", agent_form("french:9, billing:11", "30"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"a-skills\" name=\"skills\" type=\"text\" value=\"french:9, billing:11\" aria-invalid=\"true\" aria-describedby=\"a-skills-err\""), "{html}");
    assert!(html.contains("<p class=\"field-error\" id=\"a-skills-err\">&#34;billing:11&#34;: write skill:level, level 1 to 10 (e.g. billing:7)</p>"), "{html}");
    assert!(
        html.contains("<p class=\"field-error\" id=\"a-chat-err\">a whole number from 0 to 20</p>")
    );
    assert!(!html.contains("a-email-err"), "good fields have no error");
    assert!(
        html.contains("value=\"Amina &#60;Diallo&#62;\""),
        "typed value escaped"
    );
    let r = post("/admin/agents/1", agent_form("french:9, billing:10", "4"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = get("/admin").await.unwrap().text().await.unwrap();
    assert!(html.contains(">french:9, billing:10<"), "{html}");
    assert!(html.contains(">Amina &#60;Diallo&#62;<"));
    let a: Value = api("/api/v1/agents/1").await.unwrap().json().await.unwrap();
    assert_eq!(
        (
            a["capacity"]["chat"].as_i64(),
            a["skills"][1]["level"].as_i64()
        ),
        (Some(4), Some(10))
    );

    // Users: ids from the API.
    let users: Value = api("/api/v1/users").await.unwrap().json().await.unwrap();
    let id_of = |name: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (me, amina) = (id_of("admin"), id_of("amina"));
    let user_form = |role: &str, agent: &str, disabled: bool| {
        let mut f = vec![
            ("csrf", csrf.clone()),
            ("role", role.to_string()),
            ("agent", agent.to_string()),
        ];
        if disabled {
            f.push(("disabled", "on".to_string()));
        }
        f
    };
    let html = get(&format!("/admin/users/{amina}?lang=en"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<option value=\"agent\" selected>"), "{html}");
    let r = post(
        &format!("/admin/users/{amina}"),
        user_form("agent", "", false),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            "id=\"e-agent\" name=\"agent\" aria-invalid=\"true\" aria-describedby=\"e-agent-err\""
        ),
        "{html}"
    );
    assert!(html.contains("<p class=\"field-error\" id=\"e-agent-err\">a user with role agent needs an agent record</p>"));
    // An admin cannot demote or disable themselves.
    let r = post(
        &format!("/admin/users/{me}"),
        user_form("supervisor", "", false),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(
        "<p class=\"field-error\" id=\"e-role-err\">you cannot change your own role</p>"
    ));
    let r = post(&format!("/admin/users/{me}"), user_form("admin", "", true))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(
        "<p class=\"field-error\" id=\"e-disabled-err\">you cannot disable yourself</p>"
    ));
    let r = post(
        &format!("/admin/users/{amina}"),
        user_form("supervisor", "", true),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let u: Value = api("/api/v1/users").await.unwrap().json().await.unwrap();
    let u = u
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == amina)
        .unwrap()
        .clone();
    assert_eq!(
        (u["role"].as_str(), u["disabled"].as_bool()),
        (Some("supervisor"), Some(true))
    );
    // Password reset: shown once, not cached, and it works.
    let r = post(
        &format!("/admin/users/{amina}/password"),
        vec![("csrf", csrf.clone())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    let html = r.text().await.unwrap();
    let i = html
        .find("id=\"new-password\"")
        .expect("new password shown");
    let pw = html[i..]
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap()
        .to_string();
    assert_eq!(pw.len(), 14);
    let r = post(
        &format!("/admin/users/{amina}/password"),
        vec![("csrf", "forged".to_string())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    post(
        &format!("/admin/users/{amina}"),
        user_form("agent", "1", false),
    )
    .await
    .unwrap();
    let r = web_login(&srv, &client(), "amina", &pw).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the new password logs in"
    );

    // Phone password of agent 1: a button on the agent's page; shown once,
    // not cached, stored for the registrar; a forged form is refused.
    let r = post("/admin/agents/1/sip-password", vec![("csrf", csrf.clone())])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    let html = r.text().await.unwrap();
    let i = html
        .find("id=\"new-sip-password\"")
        .expect("new phone password shown");
    let sip_pw = html[i..]
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap()
        .to_string();
    assert_eq!(sip_pw.len(), 16);
    let st = store::open(&format!(
        "sqlite://{}/switchboard.db",
        srv.dir.path().display()
    ))
    .await
    .unwrap();
    let creds = st.sip_credentials().await.unwrap();
    assert!(
        creds
            .iter()
            .any(|(login, pw)| login == "amina" && *pw == sip_pw),
        "stored for amina's phone"
    );
    st.close().await;
    let r = post(
        "/admin/agents/1/sip-password",
        vec![("csrf", "forged".to_string())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Dispositions: an empty label is refused next to it; a rename and a
    // retirement are saved and shown (escaped).
    let disps: Value = api("/api/v1/dispositions")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let d = disps
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "no_answer")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = post(
        &format!("/admin/dispositions/{d}"),
        vec![("csrf", csrf.clone()), ("label", " ".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<p class=\"field-error\" id=\"de-label-err\">1 to 100 characters</p>")
    );
    let r = post(
        &format!("/admin/dispositions/{d}"),
        vec![
            ("csrf", csrf.clone()),
            ("label", "<i>No reply</i>".into()),
            ("retired", "on".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = get("/admin?lang=en").await.unwrap().text().await.unwrap();
    assert!(html.contains("<td data-label=\"Label\">&#60;i&#62;No reply&#60;/i&#62;</td><td data-label=\"Retired\">yes</td>"), "{html}");
    let html = get(&format!("/admin/dispositions/{d}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("name=\"retired\" value=\"on\" aria-describedby=\"de-retired-hint\" checked")
    );

    // Pause reasons: a bad code is refused next to the field; adding and
    // removing change the list the desktop and the state API use.
    let pause = |action: &str, code: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("action", action.to_string()),
            ("code", code.to_string()),
        ]
    };
    let r = post("/admin/pause-reasons", pause("add", "Bad Code"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"p-code\" name=\"code\" type=\"text\" value=\"Bad Code\" aria-invalid=\"true\" aria-describedby=\"p-code-err\""), "{html}");
    assert!(html.contains("<p class=\"field-error\" id=\"p-code-err\">1 to 32 characters: a-z, 0-9 or &#39;_&#39;</p>"), "{html}");
    assert_eq!(
        post("/admin/pause-reasons", pause("add", "coaching"))
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post("/admin/pause-reasons", pause("remove", "lunch"))
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    let r = post("/admin/pause-reasons", pause("add", "coaching"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a duplicate");
    let list: Value = api("/api/v1/pause-reasons")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list,
        serde_json::json!(["break", "training", "meeting", "coaching"])
    );
    let html = get("/admin").await.unwrap().text().await.unwrap();
    assert!(html.contains("<span>coaching</span>") && !html.contains("<span>lunch</span>"));
    let agent_token = srv.login("chloe").await;
    let state = |reason: &str| {
        http.post(srv.url("/api/v1/agent/state"))
            .bearer_auth(&agent_token)
            .json(&serde_json::json!({"state": "paused", "reason": reason}))
            .send()
    };
    assert_eq!(
        state("lunch").await.unwrap().status(),
        StatusCode::BAD_REQUEST,
        "removed reason refused"
    );
    assert_ne!(
        state("coaching").await.unwrap().status(),
        StatusCode::BAD_REQUEST,
        "added reason accepted"
    );
    // The desktop offers the pause reasons in force and no retired code.
    let r = web_login(&srv, &http, "chloe", &srv.password("chloe")).await;
    let chloe = set_cookie(&r, "sb_session").unwrap();
    let chloe = chloe.split(';').next().unwrap().to_string();
    let html = http
        .get(srv.url("/agent"))
        .header(COOKIE, chloe)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<option value=\"coaching\">"), "{html}");
    assert!(!html.contains("<option value=\"lunch\">"));
    assert!(html.contains("<option value=\"resolved\">"));
    assert!(!html.contains("<option value=\"no_answer\">"), "retired");
    srv.shutdown().await;
}
