//! The demo configuration, seeded once into an empty database: queues
//! `general`, `vip`, `business` with their skills; four demo agents; an admin
//! and a supervisor; 50 demo customers (Benin mobile numbers, segments,
//! languages) with some history; disposition codes.
//!
//! Passwords are random, printed at first start and kept in
//! `<data_dir>/demo-credentials.txt` (mode 0600).

use crate::api::create_user_checked;
use domain::*;
use std::collections::BTreeMap;
use std::path::Path;
use store::{NewAgent, NewCustomer, NewInteraction, NewQueue, Store, StoreError};

/// A demo account: role, username, password.
#[derive(Clone, Debug)]
pub struct DemoAccount {
    /// Role.
    pub role: Role,
    /// Username.
    pub username: String,
    /// Password in clear (only at first start).
    pub password: String,
    /// For agents: the SIP digest password of their phone (SIP user = username).
    pub sip_password: Option<String>,
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The store refused something.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The credentials file could not be written.
    #[error("cannot write {0}: {1}")]
    Io(String, std::io::Error),
    /// A user could not be created.
    #[error("demo user: {0}")]
    User(String),
}

const FIRST: [&str; 25] = [
    "Awa", "Koffi", "Aminata", "Rodrigue", "Fatou", "Ibrahim", "Chantal", "Sèna", "Moussa",
    "Nadia", "Yao", "Mariam", "Gildas", "Estelle", "Abdou", "Hortense", "Cédric", "Rokia", "Jean",
    "Bintou", "Olivier", "Adjoa", "Serge", "Lucie", "Karim",
];
const LAST: [&str; 10] = [
    "Houngbédji",
    "Diallo",
    "Adjovi",
    "Ndiaye",
    "Mensah",
    "Traoré",
    "Agossou",
    "Sow",
    "Dossou",
    "Kone",
];

fn skill(s: &str, level: u8) -> SkillLevel {
    SkillLevel {
        skill: s.into(),
        level,
    }
}

/// Seed the demo if the database has never been seeded. Returns the demo
/// accounts created (empty if the demo was already there).
///
/// # Errors
/// [`DemoError`] when the store refuses a record or the credentials file
/// cannot be written.
pub async fn seed_if_empty(
    store: &dyn Store,
    data_dir: &Path,
    now: Timestamp,
) -> Result<Vec<DemoAccount>, DemoError> {
    if store.get_meta("demo_seeded").await?.is_some() {
        return Ok(Vec::new());
    }
    let queues = [
        NewQueue {
            name: "general".into(),
            required_skills: vec![skill("french", 1)],
            strategy: Strategy::LongestIdle,
            service_level: ServiceLevel {
                percent: 80.0,
                within_s: 20,
            },
            wrap_up_s: 30,
            max_wait_s: 600,
            ring_timeout_s: 15,
            priority: 0,
        },
        NewQueue {
            name: "vip".into(),
            required_skills: vec![skill("vip_care", 5)],
            strategy: Strategy::SkillsWeighted,
            service_level: ServiceLevel {
                percent: 90.0,
                within_s: 10,
            },
            wrap_up_s: 45,
            max_wait_s: 300,
            ring_timeout_s: 15,
            priority: 100,
        },
        NewQueue {
            name: "business".into(),
            required_skills: vec![skill("business_care", 3)],
            strategy: Strategy::RoundRobin,
            service_level: ServiceLevel {
                percent: 85.0,
                within_s: 15,
            },
            wrap_up_s: 30,
            max_wait_s: 450,
            ring_timeout_s: 15,
            priority: 50,
        },
    ];
    let mut queue_ids = Vec::new();
    for q in &queues {
        queue_ids.push(store.create_queue(q).await?.id);
    }
    let agents = [
        (
            "amina",
            "Amina Diallo",
            vec![
                skill("french", 9),
                skill("wolof", 8),
                skill("vip_care", 7),
                skill("billing", 6),
            ],
            vec!["fr", "wo"],
        ),
        (
            "koffi",
            "Koffi Mensah",
            vec![
                skill("french", 7),
                skill("english", 6),
                skill("business_care", 8),
                skill("technical", 7),
            ],
            vec!["fr", "en"],
        ),
        (
            "chloe",
            "Chloé Martin",
            vec![
                skill("french", 8),
                skill("english", 9),
                skill("vip_care", 5),
                skill("business_care", 4),
            ],
            vec!["fr", "en"],
        ),
        (
            "moussa",
            "Moussa Ndiaye",
            vec![skill("french", 6), skill("wolof", 9), skill("technical", 5)],
            vec!["fr", "wo"],
        ),
    ];
    let mut accounts = Vec::new();
    let mut agent_ids = Vec::new();
    for (login, name, skills, langs) in agents {
        let a = store
            .create_agent(&NewAgent {
                login: login.into(),
                name: name.into(),
                skills,
                languages: langs.into_iter().map(String::from).collect(),
                capacity: Capacity::default(),
            })
            .await?;
        agent_ids.push(a.id);
        let sip_password = crate::auth::random_password(12);
        store.set_sip_password(a.id, &sip_password).await?;
        accounts.push(DemoAccount {
            role: Role::Agent,
            username: login.into(),
            password: crate::auth::random_password(14),
            sip_password: Some(sip_password),
        });
    }
    accounts.insert(
        0,
        DemoAccount {
            role: Role::Supervisor,
            username: "supervisor".into(),
            password: crate::auth::random_password(14),
            sip_password: None,
        },
    );
    accounts.insert(
        0,
        DemoAccount {
            role: Role::Admin,
            username: "admin".into(),
            password: crate::auth::random_password(14),
            sip_password: None,
        },
    );
    for acc in &accounts {
        let agent = match acc.role {
            Role::Agent => store
                .list_agents()
                .await?
                .into_iter()
                .find(|a| a.login == acc.username)
                .map(|a| a.id),
            _ => None,
        };
        create_user_checked(store, &acc.username, &acc.password, acc.role, agent)
            .await
            .map_err(|e| DemoError::User(e.message))?;
    }
    for (code, label) in [
        ("resolved", "Resolved"),
        ("info_given", "Information given"),
        ("callback_requested", "Callback requested"),
        ("escalated", "Escalated"),
        ("complaint", "Complaint"),
        ("sale", "Sale"),
        ("wrong_number", "Wrong number"),
        ("no_answer", "No answer"),
    ] {
        store.create_disposition(code, label).await?;
    }
    let customers = demo_customers();
    let ids: Vec<CustomerId> = store
        .import_customers(&customers, now)
        .await?
        .into_iter()
        .collect::<Result<_, _>>()?;
    seed_history(store, &ids, &queue_ids, &agent_ids, now).await?;
    write_credentials(data_dir, &accounts)?;
    store.set_meta("demo_seeded", &now.to_string()).await?;
    Ok(accounts)
}

/// The 50 demo customers (deterministic).
pub fn demo_customers() -> Vec<NewCustomer> {
    (0..50)
        .map(|i| {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i * 7 + i / 25) % LAST.len()];
            let segment = if i % 10 == 0 {
                Segment::Vip
            } else if i % 4 == 0 {
                Segment::Business
            } else {
                Segment::Mass
            };
            let language = ["fr", "fr", "en", "fr", "wo", "fr", "fon", "fr", "en", "fr"][i % 10];
            let phone = PhoneNumber::try_from(format!("+229019700{:04}", i + 1))
                .expect("demo numbers are E.164");
            let mut attributes = BTreeMap::new();
            attributes.insert(
                "plan".into(),
                if i % 3 == 0 { "postpaid" } else { "prepaid" }.into(),
            );
            attributes.insert(
                "id_last4".into(),
                format!("{:04}", (i * 7919 + 1234) % 10_000),
            );
            let ascii = |s: &str| s.to_lowercase().replace(['é', 'è'], "e");
            NewCustomer {
                name: format!("{first} {last}"),
                phones: vec![phone],
                emails: if i % 2 == 0 {
                    vec![format!("{}.{}@example.bj", ascii(first), ascii(last))]
                } else {
                    vec![]
                },
                channel_ids: vec![],
                segment,
                language: Some(language.into()),
                attributes,
            }
        })
        .collect()
}

/// Past interactions for the first ten customers, so the timeline and
/// screen-pop have something to show: a call answered and dispositioned, and
/// for some an SMS survey exchange.
async fn seed_history(
    store: &dyn Store,
    customers: &[CustomerId],
    queues: &[QueueId],
    agents: &[AgentId],
    now: Timestamp,
) -> Result<(), StoreError> {
    const DAY: i64 = 86_400_000;
    for (i, &c) in customers.iter().take(10).enumerate() {
        let start = now.add_millis(-(i as i64 + 1) * DAY);
        let q = queues[i % queues.len()];
        let a = agents[i % agents.len()];
        let mut call = store
            .create_interaction(&NewInteraction {
                channel: Channel::Voice,
                direction: Direction::Inbound,
                customer_id: Some(c),
                queue_id: Some(q),
                agent_id: Some(a),
                started_at: start,
            })
            .await?;
        let waited = 4_000 + (i as i64 * 2_500);
        let answered = start.add_millis(waited + 30_000);
        let ended = answered.add_millis(180_000 + i as i64 * 20_000);
        let disposition = ["resolved", "info_given", "escalated", "resolved", "sale"][i % 5];
        call.answered_at = Some(answered);
        call.ended_at = Some(ended);
        call.end_reason = Some("caller_hangup".into());
        call.disposition = Some(disposition.into());
        call.notes = Some("Demo call".into());
        store.update_interaction(&call).await?;
        let ev = |at: Timestamp, kind| {
            NewEvent::new(at, kind)
                .with_interaction(call.id)
                .with_customer(c)
        };
        let mut events = vec![
            ev(
                start,
                EventKind::InteractionCreated {
                    channel: Channel::Voice,
                    direction: Direction::Inbound,
                },
            ),
            ev(
                start.add_millis(2_000),
                EventKind::IvrStep {
                    flow: "main".into(),
                    node: "language".into(),
                    digits: Some("1".into()),
                },
            ),
            ev(
                start.add_millis(30_000),
                EventKind::Queued {
                    queue_id: q,
                    priority: 0,
                },
            ),
            ev(
                answered.add_millis(-3_000),
                EventKind::Offered { queue_id: q },
            )
            .with_agent(a),
            ev(
                answered,
                EventKind::Answered {
                    queue_id: Some(q),
                    waited_ms: waited,
                },
            )
            .with_agent(a),
            ev(
                ended,
                EventKind::Ended {
                    reason: "caller_hangup".into(),
                },
            )
            .with_agent(a),
            ev(ended, EventKind::WrapUpStarted).with_agent(a),
            ev(
                ended.add_millis(20_000),
                EventKind::DispositionSet {
                    code: disposition.into(),
                    notes: Some("Demo call".into()),
                },
            )
            .with_agent(a),
            ev(ended.add_millis(20_000), EventKind::WrapUpEnded).with_agent(a),
        ];
        if i % 2 == 0 {
            let sms = store
                .create_interaction(&NewInteraction {
                    channel: Channel::Sms,
                    direction: Direction::Outbound,
                    customer_id: Some(c),
                    queue_id: None,
                    agent_id: None,
                    started_at: ended.add_millis(60_000),
                })
                .await?;
            let sev = |at: Timestamp, kind| {
                NewEvent::new(at, kind)
                    .with_interaction(sms.id)
                    .with_customer(c)
            };
            let score = 3 + (i % 3) as u8;
            events.push(sev(
                ended.add_millis(60_000),
                EventKind::InteractionCreated {
                    channel: Channel::Sms,
                    direction: Direction::Outbound,
                },
            ));
            events.push(sev(
                ended.add_millis(60_000),
                EventKind::MessageOut {
                    text: "Merci pour votre appel. Notez notre service de 1 à 5.".into(),
                },
            ));
            events.push(sev(
                ended.add_millis(300_000),
                EventKind::MessageIn {
                    text: score.to_string(),
                },
            ));
            events.push(sev(
                ended.add_millis(300_000),
                EventKind::SurveyAnswered { score },
            ));
            let mut closed = sms.clone();
            closed.ended_at = Some(ended.add_millis(300_000));
            closed.end_reason = Some("completed".into());
            store.update_interaction(&closed).await?;
        }
        store.append_events(&events).await?;
    }
    Ok(())
}

fn write_credentials(dir: &Path, accounts: &[DemoAccount]) -> Result<(), DemoError> {
    let path = dir.join("demo-credentials.txt");
    std::fs::create_dir_all(dir).map_err(|e| DemoError::Io(dir.display().to_string(), e))?;
    let mut text = String::from(
        "# Switchboard demo accounts (role username password). Change them before real use.\n",
    );
    for a in accounts {
        text.push_str(&format!(
            "{} {} {}\n",
            a.role.as_str(),
            a.username,
            a.password
        ));
    }
    text.push_str("# SIP phones of the agents (SIP user = agent login, digest password):\n");
    for a in accounts {
        if let Some(sip) = &a.sip_password {
            text.push_str(&format!("sip-phone {} {}\n", a.username, sip));
        }
    }
    std::fs::write(&path, text).map_err(|e| DemoError::Io(path.display().to_string(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_customers_are_valid_and_distinct() {
        let cs = demo_customers();
        assert_eq!(cs.len(), 50);
        let phones: std::collections::HashSet<_> = cs.iter().map(|c| c.phones[0].clone()).collect();
        assert_eq!(phones.len(), 50);
        assert_eq!(cs.iter().filter(|c| c.segment == Segment::Vip).count(), 5);
        assert!(cs.iter().any(|c| c.language.as_deref() == Some("wo")));
        // Every demo number is accepted by the same normaliser the API uses.
        for c in &cs {
            let n = domain::phone::normalize_e164(c.phones[0].as_str(), None).unwrap();
            assert_eq!(&n, &c.phones[0]);
        }
    }
}
