//! Excel export (feature `xlsx`): one sheet per table, a frozen header row
//! and label column, number formats by unit, native Excel charts (volume
//! vs answered per interval, service level per queue), and a sheet with the
//! formulas and parameters. Built with `rust_xlsxwriter`; returns the bytes.

use crate::fold::Report;
use crate::labels::{Lang, Unit};
use crate::table::Table;
use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, Worksheet, XlsxError};

/// An export that failed.
#[derive(Debug, thiserror::Error)]
#[error("xlsx export failed: {0}")]
pub struct XlsxExportError(#[from] XlsxError);

fn number_format(u: Unit) -> Format {
    match u {
        Unit::Count => Format::new().set_num_format("0"),
        Unit::Percent => Format::new().set_num_format("0.0"),
        Unit::Seconds => Format::new().set_num_format("0.0"),
        Unit::Score => Format::new().set_num_format("0.00"),
    }
}

fn write_table(ws: &mut Worksheet, t: &Table) -> Result<(), XlsxError> {
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_background_color("DDE5F0");
    ws.set_name(&t.title)?;
    ws.write_string_with_format(0, 0, &t.key_heading, &head)?;
    ws.set_column_width(0, 22)?;
    for (j, h) in t.headings.iter().enumerate() {
        let c = (j + 1) as u16;
        ws.write_string_with_format(0, c, h, &head)?;
        ws.set_column_width(c, 14)?;
    }
    ws.set_row_height(0, 45)?;
    let formats: Vec<Format> = t.units.iter().map(|u| number_format(*u)).collect();
    for (i, (label, cells)) in t.rows.iter().enumerate() {
        let r = (i + 1) as u32;
        ws.write_string(r, 0, label)?;
        for (j, v) in cells.iter().enumerate() {
            if let Some(v) = v {
                ws.write_number_with_format(r, (j + 1) as u16, *v, &formats[j])?;
            }
        }
    }
    ws.set_freeze_panes(1, 1)?;
    Ok(())
}

fn column_of(t: &Table, heading: &str) -> Option<u16> {
    t.headings
        .iter()
        .position(|h| h == heading)
        .map(|j| (j + 1) as u16)
}

/// The report as an `.xlsx` workbook in `lang`.
///
/// # Errors
/// [`XlsxExportError`] when the writer refuses (a sheet name over 31
/// characters, too many rows).
pub fn to_xlsx(r: &Report, lang: Lang) -> Result<Vec<u8>, XlsxExportError> {
    let tables = r.tables(lang);
    let mut wb = Workbook::new();
    for t in &tables {
        let ws = wb.add_worksheet();
        write_table(ws, t)?;
        let last = t.rows.len() as u32;
        if last == 0 {
            continue;
        }
        let cat = |c: u16| (t.title.as_str(), 1, c, last, c);
        match t.id {
            "intervals" => {
                let mut chart = Chart::new(ChartType::Column);
                for h in [
                    lang.pick("Présentés", "Offered"),
                    lang.pick("Décrochés", "Answered"),
                ] {
                    if let Some(c) = column_of(t, h) {
                        chart
                            .add_series()
                            .set_categories(cat(0))
                            .set_values(cat(c))
                            .set_name((t.title.as_str(), 0, c));
                    }
                }
                chart.title().set_name(lang.pick(
                    "Volume et décrochés par intervalle",
                    "Volume vs answered per interval",
                ));
                ws.insert_chart(last + 2, 1, &chart)?;
            }
            "queues" => {
                if let Some(c) = column_of(t, lang.pick("Niveau de service %", "Service level %")) {
                    let mut chart = Chart::new(ChartType::Bar);
                    chart
                        .add_series()
                        .set_categories(cat(0))
                        .set_values(cat(c))
                        .set_name((t.title.as_str(), 0, c));
                    chart.title().set_name(
                        lang.pick("Niveau de service par file", "Service level per queue"),
                    );
                    ws.insert_chart(last + 2, 1, &chart)?;
                }
            }
            _ => {}
        }
    }
    let ws = wb.add_worksheet();
    ws.set_name(lang.pick("Formules", "Formulas"))?;
    let bold = Format::new().set_bold();
    ws.set_column_width(0, 24)?;
    ws.set_column_width(1, 100)?;
    for (i, (k, v)) in r.params.formulas(lang).iter().enumerate() {
        ws.write_string_with_format(i as u32, 0, k, &bold)?;
        ws.write_string(i as u32, 1, v)?;
    }
    Ok(wb.save_to_buffer()?)
}
