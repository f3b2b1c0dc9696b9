//! The xlsx export read back with calamine: same sheets, same numbers.
#![cfg(feature = "xlsx")]

mod common;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use domain::Timestamp;
use reports::{Interval, Lang, Report, ReportParams};
use std::io::Cursor;

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

#[test]
fn every_table_reads_back_with_the_same_numbers() {
    for lang in [Lang::Fr, Lang::En] {
        let r = report();
        let bytes = reports::xlsx::to_xlsx(&r, lang).unwrap();
        let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        let tables = r.tables(lang);
        let mut names = wb.sheet_names();
        names.sort();
        let mut want: Vec<String> = tables.iter().map(|t| t.title.clone()).collect();
        want.push(lang.pick("Formules", "Formulas").into());
        want.sort();
        assert_eq!(names, want);
        let mut checked = 0;
        for t in &tables {
            let range = wb.worksheet_range(&t.title).unwrap();
            assert_eq!(
                range.get_value((0, 0)),
                Some(&Data::String(t.key_heading.clone()))
            );
            for (j, h) in t.headings.iter().enumerate() {
                assert_eq!(
                    range.get_value((0, j as u32 + 1)),
                    Some(&Data::String(h.clone()))
                );
            }
            for (i, (label, cells)) in t.rows.iter().enumerate() {
                let row = i as u32 + 1;
                assert_eq!(
                    range.get_value((row, 0)),
                    Some(&Data::String(label.clone()))
                );
                for (j, v) in cells.iter().enumerate() {
                    let got = range.get_value((row, j as u32 + 1));
                    match v {
                        Some(v) => {
                            assert_eq!(
                                got,
                                Some(&Data::Float(*v)),
                                "{} {label} {}",
                                t.title,
                                t.headings[j]
                            );
                            checked += 1;
                        }
                        None => assert!(matches!(got, None | Some(Data::Empty))),
                    }
                }
            }
        }
        assert!(checked > 400, "{checked} cells compared");
        // Spot checks against the golden figures.
        let q = wb.worksheet_range(lang.pick("Files", "Queues")).unwrap();
        let col = |h: &str| {
            (0..40u32)
                .find(|c| q.get_value((0, *c)) == Some(&Data::String(h.into())))
                .unwrap()
        };
        assert_eq!(
            q.get_value((1, col(lang.pick("Présentés", "Offered")))),
            Some(&Data::Float(9.0))
        );
        assert_eq!(
            q.get_value((1, col(lang.pick("DMT (s)", "AHT (s)")))),
            Some(&Data::Float(213.0))
        );
        assert_eq!(
            q.get_value((1, col(lang.pick("Niveau de service %", "Service level %")))),
            Some(&Data::Float(40.0))
        );
        let f = wb
            .worksheet_range(lang.pick("Formules", "Formulas"))
            .unwrap();
        let text: Vec<String> = f
            .rows()
            .flat_map(|r| r.iter().map(|c| c.to_string()))
            .collect();
        assert!(
            text.iter().any(|s| s.contains("20 s")
                && s.contains(lang.pick("abandons après 5 s", "abandoned after 5 s"))),
            "{text:?}"
        );
    }
}

#[test]
fn the_workbook_has_native_charts_and_frozen_headers() {
    let bytes = reports::xlsx::to_xlsx(&report(), Lang::En).unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let names: Vec<String> = zip.file_names().map(String::from).collect();
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("xl/charts/chart"))
            .count(),
        2
    );
    let mut sheet = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut sheet,
    )
    .unwrap();
    assert!(sheet.contains(r#"state="frozen""#), "{sheet}");
}
