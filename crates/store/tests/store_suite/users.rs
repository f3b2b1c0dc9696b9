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
