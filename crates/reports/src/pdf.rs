//! PDF export (feature `pdf`): a laid-out report in French or English —
//! title, period and formulas, vector charts (volume vs answered and
//! service level per interval, drawn as PDF paths), then every table,
//! split into column blocks that fit an A4 landscape page. Text is set in
//! Lato (SIL OFL 1.1, `assets/fonts`), embedded and subset by `krilla`, so
//! accents (é, è, ç, à) show and extract.

use crate::fold::Report;
use crate::labels::{Lang, Unit};
use crate::table::Table;
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use std::sync::Arc;

static LATO: &[u8] = include_bytes!("../assets/fonts/Lato-Regular.ttf");

/// An export that failed.
#[derive(Debug, thiserror::Error)]
pub enum PdfExportError {
    /// The embedded font could not be read (a broken build).
    #[error("the embedded font could not be loaded")]
    Font,
    /// krilla refused the document.
    #[error("pdf export failed: {0}")]
    Krilla(String),
}

const W: f32 = 842.0;
const H: f32 = 595.0;
const MARGIN: f32 = 36.0;
const ROW_H: f32 = 13.0;
const FONT_PT: f32 = 7.5;
const LABEL_W: f32 = 110.0;
const CELL_W: f32 = 68.0;
const COLS_PER_BLOCK: usize = 10;

/// A table row: label and figures.
type Row = (String, Vec<Option<f64>>);

struct Pen {
    font: Font,
    face: ttf_parser::Face<'static>,
}

impl Pen {
    fn width(&self, text: &str, size: f32) -> f32 {
        let upm = f32::from(self.face.units_per_em());
        let w: u32 = text
            .chars()
            .map(|c| {
                self.face
                    .glyph_index(c)
                    .and_then(|g| self.face.glyph_hor_advance(g))
                    .map(u32::from)
                    .unwrap_or(0)
            })
            .sum();
        w as f32 * size / upm
    }

    fn text(&self, s: &mut Surface<'_>, x: f32, y: f32, size: f32, text: &str) {
        s.set_fill(Some(fill(30, 30, 30)));
        s.draw_text(
            Point::from_xy(x, y),
            self.font.clone(),
            size,
            text,
            false,
            TextDirection::Auto,
        );
    }

    fn text_right(&self, s: &mut Surface<'_>, right: f32, y: f32, size: f32, text: &str) {
        let w = self.width(text, size);
        self.text(s, right - w, y, size, text);
    }
}

fn fill(r: u8, g: u8, b: u8) -> Fill {
    Fill {
        paint: rgb::Color::new(r, g, b).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn rect(s: &mut Surface<'_>, x: f32, y: f32, w: f32, h: f32, f: Fill) {
    let Some(r) = Rect::from_xywh(x, y, w.max(0.01), h.max(0.01)) else {
        return;
    };
    let mut pb = PathBuilder::new();
    pb.push_rect(r);
    if let Some(p) = pb.finish() {
        s.set_stroke(None);
        s.set_fill(Some(f));
        s.draw_path(&p);
    }
}

fn polyline(s: &mut Surface<'_>, pts: &[(f32, f32)], r: u8, g: u8, b: u8, width: f32) {
    if pts.len() < 2 {
        return;
    }
    let mut pb = PathBuilder::new();
    pb.move_to(pts[0].0, pts[0].1);
    for p in &pts[1..] {
        pb.line_to(p.0, p.1);
    }
    if let Some(p) = pb.finish() {
        s.set_fill(None);
        s.set_stroke(Some(Stroke {
            paint: rgb::Color::new(r, g, b).into(),
            width,
            ..Default::default()
        }));
        s.draw_path(&p);
        s.set_stroke(None);
    }
}

/// Format a figure for print: counts whole, others with one decimal
/// (two for scores), French decimal comma in French.
pub fn format_value(v: Option<f64>, unit: Unit, lang: Lang) -> String {
    let Some(v) = v else {
        return "–".into();
    };
    let s = match unit {
        Unit::Count => format!("{v:.0}"),
        Unit::Percent | Unit::Seconds => format!("{v:.1}"),
        Unit::Score => format!("{v:.2}"),
    };
    if lang == Lang::Fr {
        s.replace('.', ",")
    } else {
        s
    }
}

/// One chart: bars (and a second bar series) or a line, on a frame with
/// a y scale; labels every few categories.
struct Series<'a> {
    name: &'a str,
    values: Vec<Option<f64>>,
    color: (u8, u8, u8),
}

#[allow(clippy::too_many_arguments)]
fn chart(
    pen: &Pen,
    s: &mut Surface<'_>,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    title: &str,
    cats: &[String],
    bars: &[Series<'_>],
    line: Option<&Series<'_>>,
    fixed_max: Option<f64>,
) {
    pen.text(s, x, y - 6.0, 10.0, title);
    let n = cats.len().max(1);
    let max = fixed_max.unwrap_or_else(|| {
        bars.iter()
            .chain(line)
            .flat_map(|se| se.values.iter().flatten().copied())
            .fold(0.0, f64::max)
            .max(1.0)
    });
    let (px, py, pw, ph) = (x + 30.0, y + 4.0, w - 36.0, h - 24.0);
    rect(s, px, py, pw, ph, fill(248, 248, 250));
    // y scale: 0, max/2, max.
    for k in 0..=2 {
        let v = max * f64::from(k) / 2.0;
        let yy = py + ph - ph * (k as f32) / 2.0;
        polyline(s, &[(px, yy), (px + pw, yy)], 200, 200, 205, 0.4);
        let label = if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        };
        pen.text_right(s, px - 3.0, yy + 2.5, 6.5, &label);
    }
    let slot = pw / n as f32;
    let nb = bars.len().max(1) as f32;
    for (bi, se) in bars.iter().enumerate() {
        for (i, v) in se.values.iter().enumerate() {
            let v = v.unwrap_or(0.0);
            let bh = (ph as f64 * (v / max)).min(ph as f64) as f32;
            let bw = (slot * 0.8 / nb).max(0.2);
            let bx = px + slot * i as f32 + slot * 0.1 + bw * bi as f32;
            let (r, g, b) = se.color;
            rect(s, bx, py + ph - bh, bw, bh, fill(r, g, b));
        }
    }
    if let Some(se) = line {
        // Intervals without data break the line; a lone point is a dot.
        let (r, g, b) = se.color;
        let mut run: Vec<(f32, f32)> = Vec::new();
        let flush = |run: &mut Vec<(f32, f32)>, s: &mut Surface<'_>| {
            if run.len() == 1 {
                rect(s, run[0].0 - 1.5, run[0].1 - 1.5, 3.0, 3.0, fill(r, g, b));
            }
            polyline(s, run, r, g, b, 1.2);
            run.clear();
        };
        for (i, v) in se.values.iter().enumerate() {
            match v {
                Some(v) => run.push((
                    px + slot * (i as f32 + 0.5),
                    py + ph - (ph as f64 * (v / max)).min(ph as f64) as f32,
                )),
                None => flush(&mut run, s),
            }
        }
        flush(&mut run, s);
    }
    let every = (n / 8).max(1);
    for (i, c) in cats.iter().enumerate().step_by(every) {
        pen.text(s, px + slot * i as f32, py + ph + 9.0, 6.0, c);
    }
    // Legend.
    let mut lx = x + w - 4.0;
    for se in bars.iter().chain(line).rev() {
        let tw = pen.width(se.name, 7.0);
        lx -= tw + 14.0;
        let (r, g, b) = se.color;
        rect(s, lx, y - 12.0, 8.0, 6.0, fill(r, g, b));
        pen.text(s, lx + 10.0, y - 6.0, 7.0, se.name);
    }
}

fn column(t: &Table, heading: &str) -> Vec<Option<f64>> {
    let j = t.headings.iter().position(|h| h == heading);
    t.rows
        .iter()
        .map(|(_, cells)| j.and_then(|j| cells[j]))
        .collect()
}

fn table_pages(pen: &Pen, doc: &mut Document, t: &Table, lang: Lang) {
    let rows_per_page = ((H - 2.0 * MARGIN - 40.0) / ROW_H) as usize;
    let ncols = t.headings.len();
    let blocks: Vec<(usize, usize)> = (0..ncols.max(1))
        .step_by(COLS_PER_BLOCK)
        .map(|a| (a, (a + COLS_PER_BLOCK).min(ncols)))
        .collect();
    for (bi, (a, b)) in blocks.iter().enumerate() {
        let chunks: Vec<&[Row]> = if t.rows.is_empty() {
            vec![&t.rows[..]]
        } else {
            t.rows.chunks(rows_per_page).collect()
        };
        for (pi, chunk) in chunks.iter().enumerate() {
            let Some(settings) = PageSettings::from_wh(W, H) else {
                return;
            };
            let mut page = doc.start_page_with(settings);
            let mut s = page.surface();
            let suffix = if blocks.len() > 1 || chunks.len() > 1 {
                format!(
                    " ({}/{}, {}/{})",
                    bi + 1,
                    blocks.len(),
                    pi + 1,
                    chunks.len()
                )
            } else {
                String::new()
            };
            pen.text(
                &mut s,
                MARGIN,
                MARGIN,
                13.0,
                &format!("{}{suffix}", t.title),
            );
            // Header: headings wrapped on two lines.
            let hy = MARGIN + 18.0;
            rect(
                &mut s,
                MARGIN,
                hy,
                LABEL_W + CELL_W * (b - a) as f32,
                24.0,
                fill(221, 229, 240),
            );
            pen.text(&mut s, MARGIN + 3.0, hy + 15.0, FONT_PT, &t.key_heading);
            for (k, h) in t.headings[*a..*b].iter().enumerate() {
                let right = MARGIN + LABEL_W + CELL_W * (k + 1) as f32 - 4.0;
                let (l1, l2) = split_heading(pen, h, CELL_W - 6.0);
                pen.text_right(&mut s, right, hy + 10.0, 6.8, &l1);
                pen.text_right(&mut s, right, hy + 20.0, 6.8, &l2);
            }
            let mut y = hy + 24.0;
            for (ri, (label, cells)) in chunk.iter().enumerate() {
                if ri % 2 == 1 {
                    rect(
                        &mut s,
                        MARGIN,
                        y,
                        LABEL_W + CELL_W * (b - a) as f32,
                        ROW_H,
                        fill(245, 246, 248),
                    );
                }
                pen.text(&mut s, MARGIN + 3.0, y + 9.5, FONT_PT, label);
                for (k, v) in cells[*a..*b].iter().enumerate() {
                    let right = MARGIN + LABEL_W + CELL_W * (k + 1) as f32 - 4.0;
                    pen.text_right(
                        &mut s,
                        right,
                        y + 9.5,
                        FONT_PT,
                        &format_value(*v, t.units[a + k], lang),
                    );
                }
                y += ROW_H;
            }
            s.finish();
            page.finish();
        }
    }
}

/// Split a heading in two lines that fit `w` points.
fn split_heading(pen: &Pen, h: &str, w: f32) -> (String, String) {
    if pen.width(h, 6.8) <= w {
        return (String::new(), h.to_string());
    }
    let words: Vec<&str> = h.split(' ').collect();
    for cut in (1..words.len()).rev() {
        let first = words[..cut].join(" ");
        if pen.width(&first, 6.8) <= w {
            return (first, words[cut..].join(" "));
        }
    }
    (String::new(), h.to_string())
}

/// The report as a PDF document in `lang`.
///
/// # Errors
/// [`PdfExportError`] when the font cannot be loaded or krilla refuses.
pub fn to_pdf(r: &Report, lang: Lang) -> Result<Vec<u8>, PdfExportError> {
    let font = Font::new(Arc::new(LATO.to_vec()).into(), 0).ok_or(PdfExportError::Font)?;
    let face = ttf_parser::Face::parse(LATO, 0).map_err(|_| PdfExportError::Font)?;
    let pen = Pen { font, face };
    let tables = r.tables(lang);
    let mut doc = Document::new();
    {
        let Some(settings) = PageSettings::from_wh(W, H) else {
            return Err(PdfExportError::Krilla("page size".into()));
        };
        let mut page = doc.start_page_with(settings);
        let mut s = page.surface();
        pen.text(
            &mut s,
            MARGIN,
            MARGIN + 4.0,
            18.0,
            lang.pick(
                "Rapport d'activité du centre de contacts",
                "Contact center activity report",
            ),
        );
        let mut y = MARGIN + 22.0;
        for (k, v) in r.params.formulas(lang) {
            pen.text(&mut s, MARGIN, y, 7.5, &k);
            pen.text(&mut s, MARGIN + 95.0, y, 7.5, &v);
            y += 10.5;
        }
        // Key figures of the period.
        y += 6.0;
        let totals = &tables[0];
        if let Some((_, cells)) = totals.rows.first() {
            let per_line = 7;
            for (line, idx) in (0..totals.headings.len())
                .collect::<Vec<_>>()
                .chunks(per_line)
                .enumerate()
            {
                for (k, j) in idx.iter().enumerate() {
                    let x = MARGIN + (W - 2.0 * MARGIN) / per_line as f32 * k as f32;
                    let yy = y + line as f32 * 24.0;
                    pen.text(&mut s, x, yy, 6.8, &totals.headings[*j]);
                    pen.text(
                        &mut s,
                        x,
                        yy + 11.0,
                        10.0,
                        &format_value(cells[*j], totals.units[*j], lang),
                    );
                }
            }
            y += 24.0 * totals.headings.len().div_ceil(per_line) as f32;
        }
        let iv = &tables[3];
        let cats: Vec<String> = iv.rows.iter().map(|(l, _)| l.clone()).collect();
        let offered = lang.pick("Présentés", "Offered");
        let answered = lang.pick("Décrochés", "Answered");
        let sl = lang.pick("Niveau de service %", "Service level %");
        let ch_h = (H - y - MARGIN - 10.0) / 2.0 - 8.0;
        chart(
            &pen,
            &mut s,
            MARGIN,
            y + 14.0,
            W - 2.0 * MARGIN,
            ch_h,
            lang.pick(
                "Volume et décrochés par intervalle",
                "Volume vs answered per interval",
            ),
            &cats,
            &[
                Series {
                    name: offered,
                    values: column(iv, offered),
                    color: (120, 144, 180),
                },
                Series {
                    name: answered,
                    values: column(iv, answered),
                    color: (70, 160, 110),
                },
            ],
            None,
            None,
        );
        chart(
            &pen,
            &mut s,
            MARGIN,
            y + 14.0 + ch_h + 16.0,
            W - 2.0 * MARGIN,
            ch_h,
            lang.pick(
                "Niveau de service par intervalle",
                "Service level per interval",
            ),
            &cats,
            &[],
            Some(&Series {
                name: sl,
                values: column(iv, sl),
                color: (200, 80, 60),
            }),
            Some(100.0),
        );
        s.finish();
        page.finish();
    }
    for t in &tables {
        table_pages(&pen, &mut doc, t, lang);
    }
    doc.finish()
        .map_err(|e| PdfExportError::Krilla(format!("{e:?}")))
}
