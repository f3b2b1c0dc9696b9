//! Scheduled e-mailed reports (issue 17): `[[reports.schedules]]` are
//! listed with their next run, a run e-mails the report of the last
//! complete day as an attachment through `[channels.smtp]` (a relay
//! stand-in here), which reads back as the workbook of that day; bad
//! schedules and unknown names get clear errors.

mod common;

use common::smtp::smtp_sink;
use mail_parser::MimeHeaders;
use serde_json::Value;
use switchboard::settings::ScheduledReportSettings;

fn schedule(name: &str, every: &str, to: &[&str]) -> ScheduledReportSettings {
    ScheduledReportSettings {
        name: name.into(),
        every: every.into(),
        at: "07:00".into(),
        format: "xlsx".into(),
        lang: "en".into(),
        to: to.iter().map(|s| s.to_string()).collect(),
        queue: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_report_is_emailed_as_a_workbook() {
    let (port, mut sink) = smtp_sink().await;
    let s = common::start_with(false, |s| {
        s.site.time_zone = "Africa/Porto-Novo".into();
        s.channels.smtp.enabled = true;
        s.channels.smtp.host = "127.0.0.1".into();
        s.channels.smtp.port = port;
        s.channels.smtp.from = "Rapports <reports@example.net>".into();
        s.reports.schedules = vec![schedule(
            "daily-kpis",
            "day",
            &["boss@example.net", "ops@example.net"],
        )];
    })
    .await;
    let sup = s.login("supervisor").await;
    let agent = s.login("amina").await;

    let list: Value = s
        .http
        .get(s.url("/api/v1/reports/schedules"))
        .bearer_auth(&sup)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["name"], "daily-kpis");
    let next = domain::Timestamp::parse_rfc3339(list[0]["next_run"].as_str().unwrap()).unwrap();
    let now = switchboard::now();
    assert!(next > now && next.millis_since(now) <= 86_400_000, "{list}");
    // 07:00 in Porto-Novo (UTC+1) is 06:00Z.
    assert_eq!(
        next.as_millis().rem_euclid(86_400_000),
        6 * 3_600_000,
        "{list}"
    );

    let run = |token: &str, name: &str| {
        s.http
            .post(s.url(&format!("/api/v1/reports/schedules/{name}/run")))
            .bearer_auth(token.to_string())
            .send()
    };
    assert_eq!(run(&agent, "daily-kpis").await.unwrap().status(), 403);
    assert_eq!(run(&sup, "weekly").await.unwrap().status(), 404);
    let r = run(&sup, "daily-kpis").await.unwrap();
    assert_eq!(r.status(), 200);
    let sent: Value = r.json().await.unwrap();
    let from = domain::Timestamp::parse_rfc3339(sent["from"].as_str().unwrap()).unwrap();
    let to = domain::Timestamp::parse_rfc3339(sent["to"].as_str().unwrap()).unwrap();
    assert_eq!(to.millis_since(from), 86_400_000, "yesterday, a whole day");
    assert!(to <= now && now.millis_since(to) < 86_400_000, "{sent}");

    let raw = tokio::time::timeout(std::time::Duration::from_secs(10), sink.recv())
        .await
        .expect("the relay got a message")
        .unwrap();
    let mail = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a parsable message");
    let tos: Vec<String> = mail
        .to()
        .unwrap()
        .iter()
        .filter_map(|a| a.address().map(str::to_string))
        .collect();
    assert_eq!(tos, ["boss@example.net", "ops@example.net"]);
    let day = switchboard::report::local_date(from, "Africa/Porto-Novo");
    assert_eq!(
        mail.subject(),
        Some(format!("Report daily-kpis from {day} to {day}").as_str())
    );
    let att = mail.attachment(0).expect("the report is attached");
    assert_eq!(
        att.attachment_name(),
        Some(format!("daily-kpis-{day}.xlsx").as_str())
    );
    // The attachment is the workbook: its agent table has the occupancy.
    let bytes = att.contents().to_vec();
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("an xlsx workbook");
    assert!(
        wb.sheet_names().len() >= 4,
        "tables by queue, agent, channel, interval: {:?}",
        wb.sheet_names()
    );
    let text = format!("{:?}", wb.worksheets());
    assert!(text.contains("Occupancy %"), "the agent table's columns");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_schedules_are_named() {
    let mut settings = common::settings(std::path::Path::new("/tmp"), "sqlite::memory:");
    settings.reports.schedules = vec![schedule("x", "day", &["a@b.c"])];
    let e = switchboard::scheduled_reports::jobs(&settings).unwrap_err();
    assert!(e.contains("[channels.smtp]"), "{e}");
    settings.channels.smtp.enabled = true;
    settings.reports.schedules = vec![schedule("x", "hourly", &["a@b.c"])];
    let e = switchboard::scheduled_reports::jobs(&settings).unwrap_err();
    assert_eq!(e, "[[reports.schedules]] \"x\": every: day, week or month");
    settings.reports.schedules = vec![schedule("x", "day", &[])];
    let e = switchboard::scheduled_reports::jobs(&settings).unwrap_err();
    assert!(e.ends_with("to: at least one address"), "{e}");
    let mut late = schedule("x", "week", &["a@b.c"]);
    late.at = "7:00pm".into();
    settings.reports.schedules = vec![late];
    let e = switchboard::scheduled_reports::jobs(&settings).unwrap_err();
    assert!(e.contains("7:00pm"), "{e}");
    settings.reports.schedules = vec![
        schedule("x", "day", &["a@b.c"]),
        schedule("x", "month", &["a@b.c"]),
    ];
    let e = switchboard::scheduled_reports::jobs(&settings).unwrap_err();
    assert!(e.contains("name used twice"), "{e}");
}
