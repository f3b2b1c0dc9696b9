//! The PDF export read back with poppler's `pdftotext` (figures, French
//! accents) and rendered with `pdftoppm` (page 1 with its charts).
#![cfg(feature = "pdf")]

mod common;

use domain::Timestamp;
use reports::{Interval, Lang, Report, ReportParams};
use std::process::Command;

fn report() -> Report {
    let mut p = ReportParams::new(
        Timestamp::parse_rfc3339("2026-11-30T23:00:00Z").unwrap(),
        Timestamp::parse_rfc3339("2026-12-01T23:00:00Z").unwrap(),
        "Europe/Paris",
    )
    .unwrap();
    p.interval = Interval::Hour;
    Report::from_events(p, &common::golden_day()).unwrap()
}

fn pdftotext(pdf: &[u8], dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian poppler-utils; scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_pdf_has_the_figures_and_the_formulas_in_french_and_english() {
    let dir = tempdir();
    let r = report();
    let fr = pdftotext(&reports::pdf::to_pdf(&r, Lang::Fr).unwrap(), &dir, "fr");
    assert!(
        fr.contains("Rapport d'activité du centre de contacts"),
        "{fr}"
    );
    assert!(
        fr.contains("décrochés en 20 s ou moins ÷ (décrochés + abandons après 5 s)"),
        "{fr}"
    );
    assert!(fr.contains("Présentés") && fr.contains("Résolution au 1er contact %"));
    // Golden figures, French decimal comma: AHT 213,0 s, ASA 23,5 s, SL
    // 40,0 %, FCR 75,0 %, CSAT mean 4,00.
    for v in ["213,0", "23,5", "40,0", "75,0", "4,00", "630,0"] {
        assert!(fr.contains(v), "{v} missing in\n{fr}");
    }
    let en = pdftotext(&reports::pdf::to_pdf(&r, Lang::En).unwrap(), &dir, "en");
    assert!(en.contains("Contact center activity report"));
    assert!(en.contains("answered within 20 s ÷ (answered + abandoned after 5 s)"));
    for v in ["213.0", "23.5", "40.0", "75.0", "4.00", "(IVR, no queue)"] {
        assert!(en.contains(v), "{v} missing in\n{en}");
    }
    // Totals row of the queue table: offered 9, answered 4, IVR 1, queue
    // abandons 1, short 1, callbacks 1, transferred 1.
    let line = en
        .lines()
        .find(|l| l.trim_start().starts_with("Total"))
        .expect("a Total row");
    let nums: Vec<&str> = line.split_whitespace().skip(1).take(7).collect();
    assert_eq!(nums, ["9", "4", "1", "1", "1", "1", "1"], "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn page_one_renders_with_its_charts() {
    let dir = tempdir();
    let pdf = reports::pdf::to_pdf(&report(), Lang::Fr).unwrap();
    let path = dir.join("r.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let render = |fmt: Option<&str>| {
        let out = Command::new("pdftoppm")
            .args(fmt)
            .args(["-r", "60", "-f", "1", "-l", "1", "-singlefile"])
            .arg(&path)
            .arg(dir.join("page"))
            .output()
            .expect("pdftoppm (poppler-utils)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // PPM (P6) is simple to read: count the pixels of each series' colour.
    render(None);
    let ppm = std::fs::read(dir.join("page.ppm")).unwrap();
    let mut fields = 0;
    let mut i = 0;
    while fields < 4 {
        while ppm[i].is_ascii_whitespace() {
            i += 1;
        }
        while !ppm[i].is_ascii_whitespace() {
            i += 1;
        }
        fields += 1;
    }
    let px = &ppm[i + 1..];
    let count = |rgb: [u8; 3]| px.chunks_exact(3).filter(|p| *p == rgb).count();
    let offered = count([120, 144, 180]);
    let answered = count([70, 160, 110]);
    let sl_line = count([200, 80, 60]);
    assert!(offered > 50, "offered bars: {offered} px");
    assert!(answered > 20, "answered bars: {answered} px");
    assert!(
        offered > answered,
        "more offered than answered: {offered} vs {answered}"
    );
    assert!(sl_line > 5, "service-level line: {sl_line} px");
    // Keep a PNG for a human to look at (tests/output/report-page1.png).
    render(Some("-png"));
    let bytes = std::fs::read(dir.join("page.png")).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    let keep = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output");
    std::fs::create_dir_all(&keep).unwrap();
    std::fs::write(keep.join("report-page1.png"), &bytes).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "reports-pdf-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
