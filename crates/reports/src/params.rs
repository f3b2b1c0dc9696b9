//! What a report is asked for: the period, the time zone and interval, the
//! service-level formula and its thresholds, the FCR window. Every report
//! and export carries these (see [`ReportParams::formulas`]).

use crate::labels::Lang;
use domain::{QueueId, Timestamp};
use jiff::tz::TimeZone;

/// The length of one row of the interval table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interval {
    /// 15 minutes, aligned on the local quarter hour.
    Min15,
    /// One hour, aligned on the local hour.
    Hour,
    /// One local day, midnight to midnight (23 or 25 h on DST days).
    Day,
    /// One ISO week, Monday 00:00 local to the next Monday.
    Week,
    /// One calendar month, the 1st 00:00 local to the next 1st.
    Month,
}

impl Interval {
    /// `15min`, `hour`, `day`, `week`, `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Min15 => "15min",
            Interval::Hour => "hour",
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
        }
    }

    /// Inverse of [`Interval::as_str`].
    pub fn parse(s: &str) -> Option<Interval> {
        [
            Interval::Min15,
            Interval::Hour,
            Interval::Day,
            Interval::Week,
            Interval::Month,
        ]
        .into_iter()
        .find(|i| i.as_str() == s)
    }
}

/// How the service level is computed. `A_T` = calls answered within the
/// threshold T, `A` = answered, `L` = abandoned in queue after the short
/// threshold, `L_T` = those of `L` abandoned within T, `S` = short abandons,
/// `C` = callback requests, `O` = offered to a queue (`A + L + S + C` and
/// the calls that ended in queue otherwise).
///
/// The default is the one ISO 18295-1 and most ACDs (Genesys "Service Level
/// %", Avaya "% within service level" with short abandons excluded) show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SlFormula {
    /// `A_T ÷ (A + L)`: short abandons left out (the default).
    #[default]
    AnsweredOverAnsweredAndAbandoned,
    /// `A_T ÷ O`: every call that reached a queue counts.
    AnsweredOverOffered,
    /// `A_T ÷ A`: abandons ignored.
    AnsweredOverAnswered,
    /// `(A_T + L_T) ÷ O`: an abandon within T is not held against the queue.
    AnsweredAndAbandonedWithinOverOffered,
}

impl SlFormula {
    /// Every formula, in display order.
    pub const ALL: [SlFormula; 4] = [
        SlFormula::AnsweredOverAnsweredAndAbandoned,
        SlFormula::AnsweredOverOffered,
        SlFormula::AnsweredOverAnswered,
        SlFormula::AnsweredAndAbandonedWithinOverOffered,
    ];

    /// Stable name: `a_t/(a+l)`-like ids for config and CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            SlFormula::AnsweredOverAnsweredAndAbandoned => "answered_over_answered_and_abandoned",
            SlFormula::AnsweredOverOffered => "answered_over_offered",
            SlFormula::AnsweredOverAnswered => "answered_over_answered",
            SlFormula::AnsweredAndAbandonedWithinOverOffered => {
                "answered_and_abandoned_within_over_offered"
            }
        }
    }

    /// Inverse of [`SlFormula::as_str`].
    pub fn parse(s: &str) -> Option<SlFormula> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The formula in words, with T filled in.
    pub fn describe(self, lang: Lang, t_s: u32, short_s: u32) -> String {
        match (self, lang) {
            (SlFormula::AnsweredOverAnsweredAndAbandoned, Lang::En) => {
                format!("answered within {t_s} s ÷ (answered + abandoned after {short_s} s)")
            }
            (SlFormula::AnsweredOverAnsweredAndAbandoned, Lang::Fr) => {
                format!("décrochés en {t_s} s ou moins ÷ (décrochés + abandons après {short_s} s)")
            }
            (SlFormula::AnsweredOverOffered, Lang::En) => {
                format!("answered within {t_s} s ÷ calls offered to the queue")
            }
            (SlFormula::AnsweredOverOffered, Lang::Fr) => {
                format!("décrochés en {t_s} s ou moins ÷ appels présentés à la file")
            }
            (SlFormula::AnsweredOverAnswered, Lang::En) => {
                format!("answered within {t_s} s ÷ answered")
            }
            (SlFormula::AnsweredOverAnswered, Lang::Fr) => {
                format!("décrochés en {t_s} s ou moins ÷ décrochés")
            }
            (SlFormula::AnsweredAndAbandonedWithinOverOffered, Lang::En) => format!(
                "(answered within {t_s} s + abandoned within {t_s} s) ÷ calls offered to the queue"
            ),
            (SlFormula::AnsweredAndAbandonedWithinOverOffered, Lang::Fr) => {
                format!("(décrochés en {t_s} s + abandons en {t_s} s) ÷ appels présentés à la file")
            }
        }
    }
}

/// The parameters of one report.
#[derive(Clone, Debug)]
pub struct ReportParams {
    /// Start of the period (inclusive): interactions that began before it
    /// are left out.
    pub from: Timestamp,
    /// End of the period (exclusive).
    pub to: Timestamp,
    /// The site's time zone: days, weeks and months are cut at its local
    /// midnight.
    pub tz: TimeZone,
    /// The IANA name of `tz` (shown on the report).
    pub tz_name: String,
    /// Rows of the interval table.
    pub interval: Interval,
    /// Service-level threshold T, s (the 20 of "80 % in 20 s").
    pub sl_threshold_s: u32,
    /// Service-level formula.
    pub sl_formula: SlFormula,
    /// An abandon after less than this wait, s, is a short abandon (a
    /// misdial or a caller who changed their mind), counted in its own class.
    pub short_abandon_s: u32,
    /// First-contact resolution window, s: an answered contact is resolved
    /// first time when the same customer starts no other inbound contact, on
    /// any channel, within this time after it began. Default 72 h.
    pub fcr_window_s: u32,
    /// Only this queue (by the queue an interaction first entered); `None`
    /// for every queue.
    pub queue: Option<QueueId>,
}

/// A report request that cannot be served.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamsError {
    /// Not an IANA time-zone name.
    #[error("unknown time zone {0:?} (an IANA name such as Europe/Paris is expected)")]
    UnknownTimeZone(String),
    /// `to` is not after `from`.
    #[error("the period is empty or reversed: from {from} to {to}")]
    EmptyPeriod {
        /// Start.
        from: Timestamp,
        /// End.
        to: Timestamp,
    },
    /// More interval rows than a report may have.
    #[error("{rows} interval rows asked for; at most {max} (pick a longer interval)")]
    TooManyIntervals {
        /// Rows the period and interval would give.
        rows: usize,
        /// The cap, [`crate::MAX_INTERVALS`].
        max: usize,
    },
}

impl ReportParams {
    /// Defaults for a period in the named zone: daily rows, 80/20-style
    /// service level with T = 20 s, short abandon under 5 s, FCR 72 h.
    ///
    /// # Errors
    /// [`ParamsError::UnknownTimeZone`], [`ParamsError::EmptyPeriod`].
    pub fn new(from: Timestamp, to: Timestamp, tz_name: &str) -> Result<Self, ParamsError> {
        let tz = TimeZone::get(tz_name)
            .map_err(|_| ParamsError::UnknownTimeZone(tz_name.to_string()))?;
        if to <= from {
            return Err(ParamsError::EmptyPeriod { from, to });
        }
        Ok(Self {
            from,
            to,
            tz,
            tz_name: tz_name.to_string(),
            interval: Interval::Day,
            sl_threshold_s: 20,
            sl_formula: SlFormula::default(),
            short_abandon_s: 5,
            fcr_window_s: 72 * 3600,
            queue: None,
        })
    }

    /// `(name, formula with its parameters)` for every KPI of the report, in
    /// `lang`: what each export prints next to its tables.
    pub fn formulas(&self, lang: Lang) -> Vec<(String, String)> {
        let t = self.sl_threshold_s;
        let s = self.short_abandon_s;
        let h = self.fcr_window_s / 3600;
        let fr = lang == Lang::Fr;
        let pick = |f: &str, e: &str| if fr { f.to_string() } else { e.to_string() };
        vec![
            (
                pick("Période", "Period"),
                format!(
                    "{} → {} ({}; UTC {} → {})",
                    local(self.from, &self.tz),
                    local(self.to, &self.tz),
                    self.tz_name,
                    self.from,
                    self.to
                ),
            ),
            (
                pick("Niveau de service", "Service level"),
                self.sl_formula.describe(lang, t, s),
            ),
            (
                pick("Abandon court", "Short abandon"),
                pick(
                    &format!("abandon après moins de {s} s d'attente"),
                    &format!("abandoned after waiting less than {s} s"),
                ),
            ),
            (
                pick("Taux d'abandon", "Abandon rate"),
                pick(
                    "abandons en file (hors courts) ÷ appels présentés à une file",
                    "abandoned in queue (short excluded) ÷ calls offered to a queue",
                ),
            ),
            (
                "ASA".into(),
                pick(
                    "attente totale des appels décrochés ÷ décrochés",
                    "total wait of answered calls ÷ answered",
                ),
            ),
            (
                pick("DMT (AHT)", "AHT"),
                pick(
                    "(conversation + attente en garde + post-appel) ÷ traités",
                    "(talk + hold + wrap-up) ÷ handled",
                ),
            ),
            (
                "FCR".into(),
                pick(
                    &format!(
                        "contacts décrochés sans autre contact du même client sous {h} h ÷ contacts décrochés d'un client connu"
                    ),
                    &format!(
                        "answered contacts with no other contact from the same customer within {h} h ÷ answered contacts of a known customer"
                    ),
                ),
            ),
            (
                pick("Occupation", "Occupancy"),
                pick(
                    "(conversation + garde + post-appel) ÷ (temps connecté − pauses)",
                    "(talk + hold + wrap-up) ÷ (logged-in time − pauses)",
                ),
            ),
            (
                "Utilisation".into(),
                pick(
                    "(conversation + garde + post-appel) ÷ temps connecté",
                    "(talk + hold + wrap-up) ÷ logged-in time",
                ),
            ),
            (
                "CSAT".into(),
                pick(
                    "notes 4 ou 5 ÷ réponses à l'enquête; moyenne des notes 1 à 5",
                    "scores of 4 or 5 ÷ survey answers; mean score 1 to 5",
                ),
            ),
            (
                pick("Première réponse", "First response"),
                pick(
                    "premier message d'un conseiller − premier message du client (canaux écrits)",
                    "first agent message − first customer message (digital channels)",
                ),
            ),
            (
                pick("Résolution", "Resolution"),
                pick(
                    "fin − début de la conversation (canaux écrits)",
                    "end − start of the conversation (digital channels)",
                ),
            ),
        ]
    }
}

/// `YYYY-MM-DD HH:MM` of `t` in `tz`.
fn local(t: Timestamp, tz: &TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(t.as_millis()) {
        Ok(ts) => ts
            .to_zoned_datetime(tz.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => t.to_string(),
    }
}
