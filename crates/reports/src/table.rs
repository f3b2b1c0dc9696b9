//! A report laid out as tables (what the exports print): one per
//! dimension, plus pause time by reason and the formulas.

use crate::fold::Report;
use crate::labels::{AGENT_COLUMNS, CALL_COLUMNS, Column, Lang, Unit};

/// One table: a heading per column, a label and a figure per cell.
#[derive(Clone, Debug)]
pub struct Table {
    /// Stable id (`queues`, `agents`, `channels`, `intervals`, `pauses`).
    pub id: &'static str,
    /// Title in the report's language (also the sheet name, ≤ 31 chars).
    pub title: String,
    /// Heading of the label column.
    pub key_heading: String,
    /// Headings of the figure columns.
    pub headings: Vec<String>,
    /// Units of the figure columns.
    pub units: Vec<Unit>,
    /// Rows: label and one figure per column (`None`: no data).
    pub rows: Vec<(String, Vec<Option<f64>>)>,
}

fn table<'a>(
    r: &Report,
    lang: Lang,
    id: &'static str,
    title: (&str, &str),
    key: (&str, &str),
    cols: &[Column],
    rows: impl Iterator<Item = (String, &'a crate::kpi::Tally)>,
) -> Table {
    Table {
        id,
        title: lang.pick(title.0, title.1).to_string(),
        key_heading: lang.pick(key.0, key.1).to_string(),
        headings: cols.iter().map(|c| c.heading(lang).to_string()).collect(),
        units: cols.iter().map(|c| c.unit).collect(),
        rows: rows
            .map(|(label, t)| (label, cols.iter().map(|c| c.value(t, &r.params)).collect()))
            .collect(),
    }
}

/// Local `YYYY-MM-DD HH:MM` of an instant in the report's zone.
pub fn local_label(r: &Report, t: domain::Timestamp) -> String {
    match jiff::Timestamp::from_millisecond(t.as_millis()) {
        Ok(ts) => ts
            .to_zoned_datetime(r.params.tz.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => t.to_string(),
    }
}

impl Report {
    /// The report as tables, in `lang`: period total and queues, agents,
    /// channels, intervals, pauses by reason.
    pub fn tables(&self, lang: Lang) -> Vec<Table> {
        let total = std::iter::once((lang.pick("Total", "Total").to_string(), &self.total));
        let queues = total.chain(self.by_queue.iter().map(|(q, t)| {
            (
                match q {
                    Some(q) => format!("{} {q}", lang.pick("File", "Queue")),
                    None => lang.pick("(SVI, sans file)", "(IVR, no queue)").to_string(),
                },
                t,
            )
        }));
        let mut out = vec![
            table(
                self,
                lang,
                "queues",
                ("Files", "Queues"),
                ("File", "Queue"),
                CALL_COLUMNS,
                queues,
            ),
            table(
                self,
                lang,
                "agents",
                ("Conseillers", "Agents"),
                ("Conseiller", "Agent"),
                AGENT_COLUMNS,
                self.by_agent
                    .iter()
                    .map(|(a, t)| (format!("{} {a}", lang.pick("Conseiller", "Agent")), t)),
            ),
            table(
                self,
                lang,
                "channels",
                ("Canaux", "Channels"),
                ("Canal", "Channel"),
                CALL_COLUMNS,
                self.by_channel
                    .iter()
                    .map(|(c, t)| (c.as_str().to_string(), t)),
            ),
            table(
                self,
                lang,
                "intervals",
                ("Intervalles", "Intervals"),
                ("Début", "Start"),
                CALL_COLUMNS,
                self.by_interval
                    .iter()
                    .map(|row| (local_label(self, row.start), &row.tally)),
            ),
        ];
        let reasons: Vec<&String> = self.total.pause_ms.keys().collect();
        out.push(Table {
            id: "pauses",
            title: lang.pick("Pauses", "Pauses").to_string(),
            key_heading: lang.pick("Conseiller", "Agent").to_string(),
            headings: reasons.iter().map(|r| format!("{r} (s)")).collect(),
            units: reasons.iter().map(|_| Unit::Seconds).collect(),
            rows: self
                .by_agent
                .iter()
                .filter(|(_, t)| !t.pause_ms.is_empty())
                .map(|(a, t)| {
                    (
                        format!("{} {a}", lang.pick("Conseiller", "Agent")),
                        reasons
                            .iter()
                            .map(|r| Some(t.pause_ms.get(*r).copied().unwrap_or(0) as f64 / 1000.0))
                            .collect(),
                    )
                })
                .collect(),
        });
        out
    }
}
