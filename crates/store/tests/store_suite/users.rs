//! Users, sessions and the internal chat. (part of the shared store suite).

use super::t;
use domain::*;
use store::*;

pub(super) async fn users_sessions(s: &dyn Store) {
    let u = s
        .create_user(
            &NewUser {
                username: "sup".into(),
                password_hash: "$argon2id$x".into(),
                role: Role::Supervisor,
                agent_id: None,
            },
            t(0),
        )
        .await
        .unwrap();
    assert_eq!(u.role, Role::Supervisor);
    let dup = NewUser {
        username: "sup".into(),
        password_hash: "h".into(),
        role: Role::Agent,
        agent_id: None,
    };
    assert!(matches!(
        s.create_user(&dup, t(0)).await.unwrap_err(),
        StoreError::Conflict(_)
    ));
    s.create_session("abc", u.id, t(0), t(1000)).await.unwrap();
    assert_eq!(
        s.session_user("abc", t(10)).await.unwrap().unwrap().id,
        u.id
    );
    assert!(
        s.session_user("abc", t(1000)).await.unwrap().is_none(),
        "expired"
    );
    assert!(s.session_user("nope", t(10)).await.unwrap().is_none());
    s.set_password_hash(u.id, "$argon2id$y").await.unwrap();
    assert!(
        s.session_user("abc", t(10)).await.unwrap().is_none(),
        "password change ends sessions"
    );
    assert_eq!(
        s.get_user_by_username("sup")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$y"
    );
    s.create_session("def", u.id, t(0), t(1000)).await.unwrap();
    s.delete_session("def").await.unwrap();
    assert!(s.session_user("def", t(10)).await.unwrap().is_none());

    // Idle timeout and absolute lifetime (issue 18). Hashes are 64 hex chars.
    let h1 = format!("a1{}", "0".repeat(62));
    let h2 = format!("b2{}", "0".repeat(62));
    s.create_session(&h1, u.id, t(0), t(10_000)).await.unwrap();
    s.create_session(&h2, u.id, t(5), t(10_000)).await.unwrap();
    // Used at 100 with a 500 ms idle limit: alive, last seen moves to 100.
    assert_eq!(
        s.use_session(&h1, t(100), t(100 - 500))
            .await
            .unwrap()
            .unwrap()
            .id,
        u.id
    );
    // At 550: idle since 50 < 100, so still alive; last seen becomes 550.
    assert!(s.use_session(&h1, t(550), t(50)).await.unwrap().is_some());
    // h2 last seen at 5; at 600 with idle limit 500 (since 100): idle, ended.
    assert!(s.use_session(&h2, t(600), t(100)).await.unwrap().is_none());
    assert!(
        s.session_user(&h2, t(600)).await.unwrap().is_none(),
        "idle session deleted"
    );
    // Absolute lifetime wins over activity.
    assert!(
        s.use_session(&h1, t(10_000), t(9_999))
            .await
            .unwrap()
            .is_none()
    );

    // Listing and revoking.
    s.create_session(&h1, u.id, t(20), t(10_000)).await.unwrap();
    s.create_session(&h2, u.id, t(30), t(10_000)).await.unwrap();
    let list = s.list_sessions(u.id, t(40)).await.unwrap();
    assert_eq!(
        list.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
        vec![&h2[..16], &h1[..16]]
    );
    assert_eq!(list[1].last_seen_at, t(20));
    assert_eq!(list[1].expires_at, t(10_000));
    assert!(
        !s.delete_user_session(UserId(u.id.0 + 999), &h1[..16])
            .await
            .unwrap(),
        "not hers"
    );
    assert!(!s.delete_user_session(u.id, "zz").await.unwrap());
    assert!(s.delete_user_session(u.id, &h1[..16]).await.unwrap());
    assert!(s.session_user(&h1, t(40)).await.unwrap().is_none());
    assert!(s.session_user(&h2, t(40)).await.unwrap().is_some());
    assert_eq!(s.list_sessions(u.id, t(40)).await.unwrap().len(), 1);
    // A password change from h2 ends the others but keeps h2.
    s.create_session(&h1, u.id, t(50), t(10_000)).await.unwrap();
    s.change_password_hash(u.id, "$argon2id$z", &h2)
        .await
        .unwrap();
    assert!(s.session_user(&h1, t(60)).await.unwrap().is_none());
    assert!(s.session_user(&h2, t(60)).await.unwrap().is_some());
    assert!(matches!(
        s.change_password_hash(UserId(u.id.0 + 999), "x", &h2)
            .await
            .unwrap_err(),
        StoreError::NotFound(_)
    ));

    // TOTP enrolment (issue 18).
    assert!(s.get_totp(u.id).await.unwrap().is_none());
    assert!(
        !s.activate_totp(u.id, 5, &[]).await.unwrap(),
        "nothing to activate"
    );
    s.begin_totp(u.id, "GEZDGNBV", t(0)).await.unwrap();
    assert_eq!(
        s.get_totp(u.id).await.unwrap().unwrap(),
        TotpRecord {
            secret: "GEZDGNBV".into(),
            active: false,
            last_step: None
        }
    );
    let hashes = vec!["h1".to_string(), "h2".to_string()];
    assert!(s.activate_totp(u.id, 100, &hashes).await.unwrap());
    let rec = s.get_totp(u.id).await.unwrap().unwrap();
    assert!(rec.active);
    assert_eq!(rec.last_step, Some(100));
    assert!(
        !s.accept_totp_step(u.id, 100).await.unwrap(),
        "replayed step"
    );
    assert!(!s.accept_totp_step(u.id, 99).await.unwrap(), "older step");
    assert!(s.accept_totp_step(u.id, 101).await.unwrap());
    assert_eq!(
        s.get_totp(u.id).await.unwrap().unwrap().last_step,
        Some(101)
    );
    assert!(s.use_recovery_code(u.id, "h1").await.unwrap());
    assert!(
        !s.use_recovery_code(u.id, "h1").await.unwrap(),
        "used once only"
    );
    assert!(
        !s.use_recovery_code(UserId(u.id.0 + 999), "h2")
            .await
            .unwrap()
    );
    // Re-enrolling drops the old codes and deactivates.
    s.begin_totp(u.id, "NEWSECRT", t(1)).await.unwrap();
    assert!(!s.get_totp(u.id).await.unwrap().unwrap().active);
    assert!(!s.use_recovery_code(u.id, "h2").await.unwrap());
    s.remove_totp(u.id).await.unwrap();
    assert!(s.get_totp(u.id).await.unwrap().is_none());
}

pub(super) async fn chat(s: &dyn Store) {
    let msg = |room: &str, body: &str| NewChatMessage {
        room: room.into(),
        sender_id: UserId(1),
        sender: "amina".into(),
        body: body.into(),
    };
    let a = s
        .add_chat_message(&msg("team", "bonjour"), t(1))
        .await
        .unwrap();
    s.add_chat_message(&msg("agent:1", "help?"), t(2))
        .await
        .unwrap();
    let c = s
        .add_chat_message(&msg("team", "<b>ça va</b>"), t(3))
        .await
        .unwrap();
    assert!(c.id > a.id);
    let team = s.list_chat_messages("team", None, 50).await.unwrap();
    assert_eq!(
        team.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        vec!["bonjour", "<b>ça va</b>"],
        "oldest first, one room only"
    );
    assert_eq!(team[1].at, t(3));
    assert_eq!(team[1].sender, "amina");
    let last = s.list_chat_messages("team", None, 1).await.unwrap();
    assert_eq!(last[0].id, c.id, "the limit keeps the newest");
    let before = s.list_chat_messages("team", Some(c.id), 50).await.unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].id, a.id);
    assert!(
        s.list_chat_messages("nobody", None, 50)
            .await
            .unwrap()
            .is_empty()
    );
}
