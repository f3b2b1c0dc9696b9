//! `GET /api/v1/reports/kpis` on a known set of events written to the
//! server's own store: the figures worked out by hand in JSON, in the xlsx
//! (read back with calamine) and in the pdf (poppler's `pdftotext`); each
//! call audited; bad queries and agents refused. On SQLite, and on
//! PostgreSQL (`SWITCHBOARD_TEST_PG`, set by scripts/test).

mod common;

use calamine::{Data, Reader, Xlsx};
use domain::{AgentId, Channel, Direction, EventKind, InteractionId, NewEvent, QueueId, Timestamp};
use serde_json::Value;
use std::sync::Arc;

/// A server on a fresh database, and a second handle on that database for
/// the test's own writes and reads.
async fn start(pg: bool) -> (common::TestServer, Arc<dyn store::Store>) {
    let dir = tempfile::tempdir().unwrap();
    let url = if pg {
        common::fresh_pg_database().await
    } else {
        format!("sqlite://{}/switchboard.db", dir.path().display())
    };
    let settings = common::settings(dir.path(), &url);
    let state = switchboard::server::prepare(&settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        switchboard::server::run(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    let store = store::open(&url).await.unwrap();
    (
        common::TestServer {
            addr,
            dir,
            http: reqwest::Client::new(),
            stop: Some(tx),
            task,
        },
        store,
    )
}

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

/// Three inbound calls on 10 March 2025 (Paris, CET = UTC+1) to queue 1,
/// and one the next day (outside the period):
/// - A: 09:00 local, answered by agent 7 after 10 s, 120 s of talk, 30 s
///   of wrap-up;
/// - B: 09:10 local, answered by agent 8 after 40 s, 60 s of talk;
/// - C: 10:30 local, abandoned after 30 s in queue (over the 5 s short
///   threshold).
fn events() -> Vec<NewEvent> {
    let q = QueueId(1);
    let call =
        |id: i64, start: &str, agent: Option<(i64, i64, i64)>, abandon_after_s: Option<i64>| {
            let i = InteractionId(id);
            let t0 = at(start);
            let ms = |s: i64| t0.add_millis(s * 1000);
            let mut v = vec![
                NewEvent::new(
                    t0,
                    EventKind::InteractionCreated {
                        channel: Channel::Voice,
                        direction: Direction::Inbound,
                    },
                )
                .with_interaction(i),
                NewEvent::new(
                    ms(2),
                    EventKind::Queued {
                        queue_id: q,
                        priority: 0,
                    },
                )
                .with_interaction(i),
            ];
            if let Some((a, wait_s, talk_s)) = agent {
                v.push(
                    NewEvent::new(
                        ms(2 + wait_s),
                        EventKind::Answered {
                            queue_id: Some(q),
                            waited_ms: wait_s * 1000,
                        },
                    )
                    .with_interaction(i)
                    .with_agent(AgentId(a)),
                );
                v.push(
                    NewEvent::new(
                        ms(2 + wait_s + talk_s),
                        EventKind::Ended {
                            reason: "completed".into(),
                        },
                    )
                    .with_interaction(i)
                    .with_agent(AgentId(a)),
                );
            }
            if let Some(w) = abandon_after_s {
                v.push(
                    NewEvent::new(
                        ms(2 + w),
                        EventKind::Abandoned {
                            queue_id: q,
                            waited_ms: w * 1000,
                            short: false,
                        },
                    )
                    .with_interaction(i),
                );
                v.push(
                    NewEvent::new(
                        ms(2 + w),
                        EventKind::Ended {
                            reason: "abandoned".into(),
                        },
                    )
                    .with_interaction(i),
                );
            }
            v
        };
    let mut all = call(910_001, "2025-03-10T08:00:00Z", Some((7, 10, 120)), None);
    all.push(
        NewEvent::new(at("2025-03-10T08:02:12Z"), EventKind::WrapUpStarted)
            .with_interaction(InteractionId(910_001))
            .with_agent(AgentId(7)),
    );
    all.push(
        NewEvent::new(at("2025-03-10T08:02:42Z"), EventKind::WrapUpEnded)
            .with_interaction(InteractionId(910_001))
            .with_agent(AgentId(7)),
    );
    all.extend(call(
        910_002,
        "2025-03-10T08:10:00Z",
        Some((8, 40, 60)),
        None,
    ));
    all.extend(call(910_003, "2025-03-10T09:30:00Z", None, Some(30)));
    all.extend(call(
        910_004,
        "2025-03-11T08:00:00Z",
        Some((7, 5, 10)),
        None,
    ));
    all.sort_by_key(|e| e.at);
    all
}

const QUERY: &str = "from=2025-03-10&to=2025-03-11&tz=Europe/Paris&interval=hour&lang=en";

async fn get(s: &common::TestServer, token: &str, query: &str) -> reqwest::Response {
    s.http
        .get(s.url(&format!("/api/v1/reports/kpis?{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The figure of `row` under `heading` in table `id` of the JSON report.
fn cell(report: &Value, id: &str, row: &str, heading: &str) -> Value {
    let t = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no table {id}"));
    let j = t["headings"]
        .as_array()
        .unwrap()
        .iter()
        .position(|h| h == heading)
        .unwrap_or_else(|| panic!("no column {heading} in {id}"));
    let r = t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == row)
        .unwrap_or_else(|| panic!("no row {row} in {id}: {t}"));
    r["values"][j].clone()
}

async fn report_endpoints(pg: bool) {
    let (s, store) = start(pg).await;
    store.append_events(&events()).await.unwrap();
    let sup = s.login("supervisor").await;

    // JSON: the hand-worked figures.
    let r = get(&s, &sup, QUERY).await;
    assert_eq!(r.status(), 200);
    let rep: Value = r.json().await.unwrap();
    assert_eq!(
        rep["params"]["from"], "2025-03-09T23:00:00Z",
        "local midnight in Paris"
    );
    assert_eq!(rep["params"]["tz"], "Europe/Paris");
    let total = |h: &str| cell(&rep, "queues", "Total", h);
    assert_eq!(total("Offered"), 3.0, "the call of the 11th is outside");
    assert_eq!(total("Answered"), 2.0);
    assert_eq!(total("Abandoned in queue"), 1.0);
    // SL = answered within 20 s ÷ (answered + abandoned) = 1 ÷ 3.
    let sl = total("Service level %").as_f64().unwrap();
    assert!((sl - 100.0 / 3.0).abs() < 1e-9, "{sl}");
    // ASA = (10 + 40) ÷ 2; longest wait 40 s; AHT = (120 + 60 + 30) ÷ 2.
    assert_eq!(total("ASA (s)"), 25.0);
    assert_eq!(total("Longest wait (s)"), 40.0);
    assert_eq!(total("AHT (s)"), 105.0);
    assert_eq!(cell(&rep, "queues", "Queue 1", "Offered"), 3.0);
    assert_eq!(cell(&rep, "agents", "Agent 7", "Talk (s)"), 120.0);
    assert_eq!(cell(&rep, "agents", "Agent 7", "Wrap-up (s)"), 30.0);
    assert_eq!(cell(&rep, "agents", "Agent 8", "Talk (s)"), 60.0);
    assert_eq!(cell(&rep, "channels", "voice", "Answered"), 2.0);
    // 24 hourly rows; 09:00 local has A and B, 10:00 local has C.
    let iv = rep["intervals"].as_array().unwrap();
    assert_eq!(iv.len(), 24);
    assert_eq!(iv[9]["label"], "2025-03-10 09:00");
    assert_eq!(
        (iv[9]["offered"].as_u64(), iv[9]["answered"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(iv[9]["service_level_pct"], 50.0);
    assert_eq!(
        (iv[10]["offered"].as_u64(), iv[10]["answered"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(iv[10]["service_level_pct"], 0.0);
    assert!(iv[3]["service_level_pct"].is_null(), "no call at 03:00");
    // Every KPI names its formula and parameters.
    let formulas = rep["formulas"].to_string();
    assert!(
        formulas.contains("answered within 20 s ÷ (answered + abandoned after 5 s)"),
        "{formulas}"
    );
    assert!(
        formulas.contains("(talk + hold + wrap-up) ÷ handled"),
        "{formulas}"
    );
    assert!(formulas.contains("Europe/Paris"), "{formulas}");

    // A queue filter: queue 2 has nothing.
    let r: Value = get(&s, &sup, &format!("{QUERY}&queue=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cell(&r, "queues", "Total", "Offered"), 0.0);

    // xlsx: the same numbers read back.
    let r = get(&s, &sup, &format!("{QUERY}&format=xlsx")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"report-2025-03-10-2025-03-11.xlsx\""
    );
    let bytes = r.bytes().await.unwrap();
    let mut wb = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let queues = wb.worksheet_range("Queues").unwrap();
    let head: Vec<String> = queues
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let col = |h: &str| head.iter().position(|x| x == h).unwrap();
    let total_row = queues.rows().nth(1).unwrap();
    assert_eq!(total_row[0], Data::String("Total".into()));
    assert_eq!(total_row[col("Offered")], Data::Float(3.0));
    assert_eq!(total_row[col("ASA (s)")], Data::Float(25.0));
    assert_eq!(total_row[col("AHT (s)")], Data::Float(105.0));
    let f = wb.worksheet_range("Formulas").unwrap();
    assert!(
        f.rows()
            .any(|r| r[1].to_string().contains("answered within 20 s")),
        "the formulas sheet names the SL formula"
    );

    // pdf: the figures in the text.
    let r = get(&s, &sup, &format!("{QUERY}&format=pdf")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    assert_eq!(&pdf[..5], b"%PDF-");
    let path = s.dir.path().join("r.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian poppler-utils)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Contact center activity report"), "{text}");
    for v in ["105.0", "25.0", "33.3", "answered within 20 s"] {
        assert!(text.contains(v), "{v} missing in\n{text}");
    }

    // French: decimal comma and French headings.
    let r: Value = get(
        &s,
        &sup,
        "from=2025-03-10&to=2025-03-11&tz=Europe/Paris&lang=fr",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(cell(&r, "queues", "Total", "Présentés"), 3.0);

    // Each call is in the audit trail: who, what, which period.
    let trail = store
        .list_audit(&store::AuditFilter {
            action: Some(store::AuditAction::Exported),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(trail.len(), 5, "{trail:?}");
    let sup_user = store
        .get_user_by_username("supervisor")
        .await
        .unwrap()
        .unwrap();
    assert!(trail.iter().all(|e| e.actor == Some(sup_user.id.0)));
    let targets: Vec<&str> = trail.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(
        targets.iter().filter(|t| **t == "report:kpis.json").count(),
        3
    );
    assert!(targets.contains(&"report:kpis.xlsx") && targets.contains(&"report:kpis.pdf"));
    let xlsx = trail
        .iter()
        .find(|e| e.target == "report:kpis.xlsx")
        .unwrap();
    let after: Value = serde_json::from_str(xlsx.after.as_deref().unwrap()).unwrap();
    assert_eq!(after["from"], "2025-03-09T23:00:00Z");
    assert_eq!(after["to"], "2025-03-10T23:00:00Z");
    assert_eq!(after["format"], "xlsx");
    assert_eq!(after["interval"], "hour");

    // Refusals: a bad query says why (and is not audited); agents may not.
    let r = get(&s, &sup, "from=2025-03-10&to=2025-03-11&interval=year").await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("interval"),
        "{body}"
    );
    let r = get(&s, &sup, "to=2025-03-11").await;
    assert_eq!(r.status(), 422);
    let agent = s.login("amina").await;
    assert_eq!(get(&s, &agent, QUERY).await.status(), 403);
    let r = s
        .http
        .get(s.url(&format!("/api/v1/reports/kpis?{QUERY}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let trail = store
        .list_audit(&store::AuditFilter {
            action: Some(store::AuditAction::Exported),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(trail.len(), 5, "refusals are not exports");
    store.close().await;
    s.shutdown().await;
}

#[tokio::test]
async fn report_endpoints_sqlite() {
    report_endpoints(false).await;
}

#[tokio::test]
async fn report_endpoints_postgres() {
    report_endpoints(true).await;
}
