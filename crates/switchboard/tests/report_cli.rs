//! `switchboard report` on the demo's SQLite store: the figures of the
//! seeded history (10 answered calls, see `demo::seed_history`) worked out
//! by hand, in the xlsx (read back with calamine) and the pdf (pdftotext).

use calamine::{Data, Reader, Xlsx, open_workbook};
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");
const DAY: i64 = 86_400_000;

fn report(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .current_dir(dir)
        .env_remove("SWITCHBOARD_DATABASE__URL")
        .env("RUST_LOG", "warn")
        .arg("report")
        .args(args)
        .output()
        .unwrap()
}

async fn seeded(dir: &Path) -> domain::Timestamp {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let store = store::open(&format!(
        "sqlite://{}",
        data.join("switchboard.db").display()
    ))
    .await
    .unwrap();
    let now = domain::Timestamp::parse_rfc3339("2026-12-02T10:00:00Z").unwrap();
    switchboard::demo::seed_if_empty(&*store, &data, now)
        .await
        .unwrap();
    store.close().await;
    now
}

#[tokio::test]
async fn the_demo_history_in_xlsx_and_pdf() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let now = seeded(dir).await;
    let from = now.add_millis(-11 * DAY).to_string();
    let to = now.to_string();

    let out = report(
        dir,
        &[
            "--from",
            &from,
            "--to",
            &to,
            "--format",
            "xlsx",
            "--out",
            "r.xlsx",
            "--lang",
            "en",
            "--tz",
            "Africa/Porto-Novo",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut wb: Xlsx<_> = open_workbook(dir.join("r.xlsx")).unwrap();
    let q = wb.worksheet_range("Queues").unwrap();
    let col = |h: &str| {
        (0..40u32)
            .find(|c| q.get_value((0, *c)) == Some(&Data::String(h.into())))
            .unwrap_or_else(|| panic!("no column {h}"))
    };
    let total = |h: &str| q.get_value((1, col(h))).cloned();
    // Ten inbound calls, all answered; waits 4 + 2.5 i s (i = 0..9): ASA
    // 15.25 s; within 20 s: 4, 6.5, 9, 11.5, 14, 16.5, 19 (7 of 10).
    assert_eq!(total("Offered"), Some(Data::Float(10.0)));
    assert_eq!(total("Answered"), Some(Data::Float(10.0)));
    assert_eq!(total("ASA (s)"), Some(Data::Float(15.25)));
    assert_eq!(total("Service level %"), Some(Data::Float(70.0)));
    // Talk 180 + 20 i s, wrap-up 20 s each: AHT (2700 + 200) ÷ 10 = 290 s.
    assert_eq!(total("AHT (s)"), Some(Data::Float(290.0)));
    assert_eq!(total("Avg wrap-up (s)"), Some(Data::Float(20.0)));

    // One queue only: the demo spreads the calls over its queues in turn.
    let out = report(
        dir,
        &[
            "--from", &from, "--to", &to, "--queue", "general", "--format", "pdf", "--out",
            "q.pdf", "--lang", "en",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = Command::new("pdftotext")
        .args(["-layout", "q.pdf", "-"])
        .current_dir(dir)
        .output()
        .expect("pdftotext (poppler-utils)");
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("Contact center activity report"), "{text}");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Total"))
        .expect("a Total row");
    let offered: u32 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!((1..10).contains(&offered), "{line}");
}

#[tokio::test]
async fn bad_arguments_get_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    seeded(dir).await;
    let out = report(
        dir,
        &[
            "--from",
            "2026-12-02",
            "--to",
            "2026-12-01",
            "--format",
            "xlsx",
            "--out",
            "x.xlsx",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty or reversed"));
    let out = report(
        dir,
        &[
            "--from",
            "yesterday",
            "--to",
            "2026-12-01",
            "--format",
            "xlsx",
            "--out",
            "x.xlsx",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from"));
    let out = report(
        dir,
        &[
            "--from",
            "2026-11-01",
            "--to",
            "2026-12-01",
            "--queue",
            "nope",
            "--format",
            "pdf",
            "--out",
            "x.pdf",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no queue named \"nope\""));
    let out = report(
        dir,
        &[
            "--from",
            "2026-11-01",
            "--to",
            "2026-12-01",
            "--tz",
            "Mars/Base",
            "--format",
            "pdf",
            "--out",
            "x.pdf",
        ],
    );
    assert!(!out.status.success());
    assert!(!dir.join("x.pdf").exists() && !dir.join("x.xlsx").exists());
}
