//! Queues, agents, dispositions, admin edits and the meta table. (part of the shared store suite).

use super::t;
use domain::*;
use store::*;

pub(super) async fn queues_agents_dispositions(s: &dyn Store) {
    let q = NewQueue {
        name: "general".into(),
        required_skills: vec![SkillLevel {
            skill: "french".into(),
            level: 3,
        }],
        strategy: Strategy::SkillsWeighted,
        service_level: ServiceLevel {
            percent: 80.0,
            within_s: 20,
        },
        wrap_up_s: 30,
        max_wait_s: 300,
        ring_timeout_s: 15,
        priority: 0,
    };
    let created = s.create_queue(&q).await.unwrap();
    assert_eq!(created.strategy, Strategy::SkillsWeighted);
    assert_eq!(created.required_skills[0].level, 3);
    assert!(matches!(
        s.create_queue(&q).await.unwrap_err(),
        StoreError::Conflict(_)
    ));
    let bad = NewQueue {
        required_skills: vec![SkillLevel {
            skill: "x".into(),
            level: 11,
        }],
        name: "bad".into(),
        ..q.clone()
    };
    assert!(matches!(
        s.create_queue(&bad).await.unwrap_err(),
        StoreError::Invalid(_)
    ));
    let updated = s
        .update_queue(
            created.id,
            &NewQueue {
                wrap_up_s: 45,
                ..q.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.wrap_up_s, 45);
    assert_eq!(s.list_queues().await.unwrap().len(), 1);

    let a = s
        .create_agent(&NewAgent {
            login: "amina".into(),
            name: "Amina".into(),
            skills: vec![SkillLevel {
                skill: "french".into(),
                level: 8,
            }],
            languages: vec!["fr".into()],
            capacity: Capacity::default(),
        })
        .await
        .unwrap();
    assert_eq!(s.get_agent(a.id).await.unwrap().unwrap(), a);
    let dup = NewAgent {
        login: "amina".into(),
        name: "x".into(),
        skills: vec![],
        languages: vec![],
        capacity: Capacity::default(),
    };
    assert!(matches!(
        s.create_agent(&dup).await.unwrap_err(),
        StoreError::Conflict(_)
    ));
    assert_eq!(s.list_agents().await.unwrap().len(), 1);
    assert!(s.sip_credentials().await.unwrap().is_empty());
    s.set_sip_password(a.id, "phone-secret").await.unwrap();
    assert_eq!(
        s.sip_credentials().await.unwrap(),
        vec![("amina".to_string(), "phone-secret".to_string())]
    );
    assert!(matches!(
        s.set_sip_password(AgentId(9999), "x").await.unwrap_err(),
        StoreError::NotFound(_)
    ));

    s.create_disposition("resolved", "Resolved").await.unwrap();
    assert!(matches!(
        s.create_disposition("resolved", "again").await.unwrap_err(),
        StoreError::Conflict(_)
    ));
    assert_eq!(s.list_dispositions().await.unwrap()[0].code, "resolved");
}

/// What the admin pages change: an agent's profile, a user's role, link
/// and status, a disposition's label.
pub(super) async fn admin_edits(s: &dyn Store) {
    let a = s
        .create_agent(&NewAgent {
            login: "edit_me".into(),
            name: "Edit Me".into(),
            skills: vec![],
            languages: vec![],
            capacity: Capacity::default(),
        })
        .await
        .unwrap();
    let mut up = AgentUpdate {
        name: "  Edited  ".into(),
        skills: vec![SkillLevel {
            skill: "billing".into(),
            level: 7,
        }],
        languages: vec!["fr".into(), "yo".into()],
        capacity: Capacity {
            voice: 0,
            chat: 5,
            email: 2,
            chat_during_voice: false,
        },
    };
    let got = s.update_agent(a.id, &up).await.unwrap();
    assert_eq!(got.name, "Edited");
    assert_eq!(got.login, "edit_me");
    assert_eq!(got.skills[0].level, 7);
    assert_eq!(got.languages, ["fr", "yo"]);
    assert_eq!(
        (got.capacity.voice, got.capacity.chat, got.capacity.email),
        (0, 5, 2)
    );
    assert_eq!(s.get_agent(a.id).await.unwrap().unwrap(), got);
    up.skills[0].level = 11;
    assert!(matches!(
        s.update_agent(a.id, &up).await,
        Err(StoreError::Invalid(_))
    ));
    up.skills[0].level = 1;
    up.capacity.voice = 2;
    assert!(matches!(
        s.update_agent(a.id, &up).await,
        Err(StoreError::Invalid(_))
    ));
    up.capacity.voice = 1;
    assert!(matches!(
        s.update_agent(AgentId(999_999), &up).await,
        Err(StoreError::NotFound(_))
    ));

    let u = s
        .create_user(
            &NewUser {
                username: "to_edit".into(),
                password_hash: "$argon2id$x".into(),
                role: Role::Supervisor,
                agent_id: None,
            },
            t(0),
        )
        .await
        .unwrap();
    s.create_session("edit-tok", u.id, t(0), t(60_000))
        .await
        .unwrap();
    let got = s
        .update_user(
            u.id,
            &UserUpdate {
                role: Role::Agent,
                agent_id: Some(a.id),
                disabled: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (got.role, got.agent_id, got.disabled),
        (Role::Agent, Some(a.id), false)
    );
    assert!(s.session_user("edit-tok", t(1)).await.unwrap().is_some());
    let got = s
        .update_user(
            u.id,
            &UserUpdate {
                role: Role::Agent,
                agent_id: None,
                disabled: true,
            },
        )
        .await
        .unwrap();
    assert_eq!((got.agent_id, got.disabled), (None, true));
    assert!(s.session_user("edit-tok", t(1)).await.unwrap().is_none());
    let bad_agent = UserUpdate {
        role: Role::Agent,
        agent_id: Some(AgentId(999_999)),
        disabled: false,
    };
    assert!(matches!(
        s.update_user(u.id, &bad_agent).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.update_user(
            UserId(999_999),
            &UserUpdate {
                agent_id: None,
                ..bad_agent
            }
        )
        .await,
        Err(StoreError::NotFound(_))
    ));

    let d = s
        .create_disposition("renamed_one", "Old label")
        .await
        .unwrap();
    let got = s.rename_disposition(d.id, " New label ").await.unwrap();
    assert_eq!(
        (got.code.as_str(), got.label.as_str()),
        ("renamed_one", "New label")
    );
    let listed = s.list_dispositions().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|x| x.id == d.id && x.label == "New label")
    );
    assert!(matches!(
        s.rename_disposition(d.id, " ").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.rename_disposition(DispositionId(999_999), "x").await,
        Err(StoreError::NotFound(_))
    ));
}

pub(super) async fn meta(s: &dyn Store) {
    assert_eq!(s.get_meta("demo_seeded").await.unwrap(), None);
    s.set_meta("demo_seeded", "1").await.unwrap();
    s.set_meta("demo_seeded", "2").await.unwrap();
    assert_eq!(
        s.get_meta("demo_seeded").await.unwrap().as_deref(),
        Some("2")
    );
}
