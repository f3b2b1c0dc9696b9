//! Report language and the KPI columns every table and export shows, with
//! their French and English headings and their unit. Exports read the
//! numbers through [`Column::value`], so a spreadsheet, a PDF and a test
//! see the same figure.

use crate::kpi::Tally;
use crate::params::ReportParams;

/// Language of headings and formulas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// Français (the default: the site's language).
    #[default]
    Fr,
    /// English.
    En,
}

impl Lang {
    /// `fr` or `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// `(fr, en)` → the one in this language.
    pub fn pick<'a>(self, fr: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }
}

/// What a column's numbers are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A count.
    Count,
    /// A percentage, 0..=100.
    Percent,
    /// Seconds (averages keep one decimal).
    Seconds,
    /// A mean score 1..=5.
    Score,
}

/// One KPI column.
#[derive(Clone, Copy)]
pub struct Column {
    /// Stable id (`offered`, `sl_pct`, `aht_s`...).
    pub id: &'static str,
    /// French heading.
    pub fr: &'static str,
    /// English heading.
    pub en: &'static str,
    /// Unit.
    pub unit: Unit,
    value: fn(&Tally, &ReportParams) -> Option<f64>,
}

impl std::fmt::Debug for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

impl Column {
    /// Heading in `lang`.
    pub fn heading(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Fr => self.fr,
            Lang::En => self.en,
        }
    }

    /// The figure of `t` (`None`: no data, e.g. an average over nothing).
    pub fn value(&self, t: &Tally, p: &ReportParams) -> Option<f64> {
        (self.value)(t, p)
    }
}

fn n(v: u64) -> Option<f64> {
    Some(v as f64)
}

fn s(ms: i64) -> Option<f64> {
    Some(ms as f64 / 1000.0)
}

/// Queue, channel, interval and period columns.
pub const CALL_COLUMNS: &[Column] = &[
    Column {
        id: "offered",
        fr: "Présentés",
        en: "Offered",
        unit: Unit::Count,
        value: |t, _| n(t.offered),
    },
    Column {
        id: "answered",
        fr: "Décrochés",
        en: "Answered",
        unit: Unit::Count,
        value: |t, _| n(t.answered),
    },
    Column {
        id: "abandoned_ivr",
        fr: "Abandons SVI",
        en: "Abandoned in IVR",
        unit: Unit::Count,
        value: |t, _| n(t.abandoned_ivr),
    },
    Column {
        id: "abandoned_queue",
        fr: "Abandons en file",
        en: "Abandoned in queue",
        unit: Unit::Count,
        value: |t, _| n(t.abandoned_queue),
    },
    Column {
        id: "abandoned_short",
        fr: "Abandons courts",
        en: "Short abandons",
        unit: Unit::Count,
        value: |t, _| n(t.abandoned_short),
    },
    Column {
        id: "callbacks",
        fr: "Rappels demandés",
        en: "Callback requests",
        unit: Unit::Count,
        value: |t, _| n(t.callbacks),
    },
    Column {
        id: "transferred",
        fr: "Transférés",
        en: "Transferred",
        unit: Unit::Count,
        value: |t, _| n(t.transferred),
    },
    Column {
        id: "sl_pct",
        fr: "Niveau de service %",
        en: "Service level %",
        unit: Unit::Percent,
        value: |t, p| t.service_level(p.sl_formula),
    },
    Column {
        id: "abandon_pct",
        fr: "Taux d'abandon %",
        en: "Abandon rate %",
        unit: Unit::Percent,
        value: |t, _| t.abandon_rate(),
    },
    Column {
        id: "asa_s",
        fr: "ASA (s)",
        en: "ASA (s)",
        unit: Unit::Seconds,
        value: |t, _| t.asa_s(),
    },
    Column {
        id: "longest_wait_s",
        fr: "Attente max (s)",
        en: "Longest wait (s)",
        unit: Unit::Seconds,
        value: |t, _| s(t.longest_wait_ms),
    },
    Column {
        id: "aht_s",
        fr: "DMT (s)",
        en: "AHT (s)",
        unit: Unit::Seconds,
        value: |t, _| t.aht_s(),
    },
    Column {
        id: "avg_talk_s",
        fr: "Conversation moy. (s)",
        en: "Avg talk (s)",
        unit: Unit::Seconds,
        value: |t, _| t.avg_talk_s(),
    },
    Column {
        id: "avg_hold_s",
        fr: "Garde moy. (s)",
        en: "Avg hold (s)",
        unit: Unit::Seconds,
        value: |t, _| t.avg_hold_s(),
    },
    Column {
        id: "avg_wrap_s",
        fr: "Post-appel moy. (s)",
        en: "Avg wrap-up (s)",
        unit: Unit::Seconds,
        value: |t, _| t.avg_wrap_s(),
    },
    Column {
        id: "ronas",
        fr: "Non-réponses (RONA)",
        en: "RONA",
        unit: Unit::Count,
        value: |t, _| n(t.ronas),
    },
    Column {
        id: "fcr_pct",
        fr: "Résolution au 1er contact %",
        en: "FCR %",
        unit: Unit::Percent,
        value: |t, _| t.fcr_pct(),
    },
    Column {
        id: "csat_pct",
        fr: "Satisfaits (4-5) %",
        en: "CSAT (4-5) %",
        unit: Unit::Percent,
        value: |t, _| t.csat_pct(),
    },
    Column {
        id: "csat_mean",
        fr: "Note moyenne",
        en: "Mean score",
        unit: Unit::Score,
        value: |t, _| t.csat_mean(),
    },
    Column {
        id: "first_response_s",
        fr: "1re réponse moy. (s)",
        en: "Avg first response (s)",
        unit: Unit::Seconds,
        value: |t, _| t.avg_first_response_s(),
    },
    Column {
        id: "resolution_s",
        fr: "Résolution moy. (s)",
        en: "Avg resolution (s)",
        unit: Unit::Seconds,
        value: |t, _| t.avg_resolution_s(),
    },
];

/// Agent columns.
pub const AGENT_COLUMNS: &[Column] = &[
    Column {
        id: "handled",
        fr: "Traités",
        en: "Handled",
        unit: Unit::Count,
        value: |t, _| n(t.handled),
    },
    Column {
        id: "talk_s",
        fr: "Conversation (s)",
        en: "Talk (s)",
        unit: Unit::Seconds,
        value: |t, _| s(t.talk_ms),
    },
    Column {
        id: "hold_s",
        fr: "Garde (s)",
        en: "Hold (s)",
        unit: Unit::Seconds,
        value: |t, _| s(t.hold_ms),
    },
    Column {
        id: "wrap_s",
        fr: "Post-appel (s)",
        en: "Wrap-up (s)",
        unit: Unit::Seconds,
        value: |t, _| s(t.wrap_ms),
    },
    Column {
        id: "aht_s",
        fr: "DMT (s)",
        en: "AHT (s)",
        unit: Unit::Seconds,
        value: |t, _| t.aht_s(),
    },
    Column {
        id: "transferred",
        fr: "Transferts faits",
        en: "Transfers made",
        unit: Unit::Count,
        value: |t, _| n(t.transferred),
    },
    Column {
        id: "ronas",
        fr: "Non-réponses (RONA)",
        en: "RONA",
        unit: Unit::Count,
        value: |t, _| n(t.ronas),
    },
    Column {
        id: "pause_s",
        fr: "Pause (s)",
        en: "Pause (s)",
        unit: Unit::Seconds,
        value: |t, _| s(t.pause_total_ms()),
    },
    Column {
        id: "staffed_s",
        fr: "Connecté (s)",
        en: "Logged in (s)",
        unit: Unit::Seconds,
        value: |t, _| s(t.staffed_ms),
    },
    Column {
        id: "occupancy_pct",
        fr: "Occupation %",
        en: "Occupancy %",
        unit: Unit::Percent,
        value: |t, _| t.occupancy_pct(),
    },
    Column {
        id: "utilisation_pct",
        fr: "Utilisation %",
        en: "Utilisation %",
        unit: Unit::Percent,
        value: |t, _| t.utilisation_pct(),
    },
    Column {
        id: "fcr_pct",
        fr: "Résolution au 1er contact %",
        en: "FCR %",
        unit: Unit::Percent,
        value: |t, _| t.fcr_pct(),
    },
    Column {
        id: "csat_pct",
        fr: "Satisfaits (4-5) %",
        en: "CSAT (4-5) %",
        unit: Unit::Percent,
        value: |t, _| t.csat_pct(),
    },
    Column {
        id: "csat_mean",
        fr: "Note moyenne",
        en: "Mean score",
        unit: Unit::Score,
        value: |t, _| t.csat_mean(),
    },
];
