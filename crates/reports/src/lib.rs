//! # reports — contact-center KPIs folded from the event log
//!
//! This crate turns the append-only [`domain::Event`] log into a
//! [`Report`]: offered, answered, abandons (in the IVR, in queue, short,
//! callback requests — each inbound interaction in exactly one class),
//! transfers, service level (formula chosen per report, [`SlFormula`]), ASA,
//! longest wait, AHT = talk + hold + wrap-up and its parts, RONA, pause time
//! by reason, FCR, CSAT and the first-response and resolution times of
//! digital conversations; per queue, agent, channel and interval (15 min,
//! hour, day, week, month cut at local midnight in an IANA time zone, so
//! DST days have 23 or 25 hours). Every report carries its parameters and
//! the formulas in words ([`ReportParams::formulas`]).
//!
//! It must not know about I/O: no database, no files, no clock, no async
//! runtime in the KPI arithmetic. The caller reads events (from `store`) and
//! pushes them in log order; exports (`xlsx`, `pdf` features) render a
//! finished report to bytes and leave writing them to the caller.
//!
//! ```
//! use domain::{Channel, Direction, Event, EventKind, InteractionId, QueueId, AgentId, Timestamp};
//! use reports::{Report, ReportParams};
//!
//! let t0 = Timestamp::parse_rfc3339("2026-12-01T08:00:00Z").unwrap();
//! let ev = |seq, s: i64, agent: Option<i64>, kind| Event {
//!     seq, at: t0.add_millis(s * 1000), interaction_id: Some(InteractionId(1)),
//!     customer_id: None, agent_id: agent.map(AgentId), kind,
//! };
//! let events = [
//!     ev(1, 0, None, EventKind::InteractionCreated { channel: Channel::Voice, direction: Direction::Inbound }),
//!     ev(2, 10, None, EventKind::Queued { queue_id: QueueId(1), priority: 0 }),
//!     ev(3, 25, Some(7), EventKind::Answered { queue_id: Some(QueueId(1)), waited_ms: 15_000 }),
//!     ev(4, 145, Some(7), EventKind::Ended { reason: "completed".into() }),
//! ];
//! let params = ReportParams::new(t0, t0.add_millis(86_400_000), "Africa/Porto-Novo").unwrap();
//! let r = Report::from_events(params, &events).unwrap();
//! assert_eq!((r.total.offered, r.total.answered), (1, 1));
//! assert_eq!(r.total.service_level(r.params.sl_formula), Some(100.0)); // 15 s ≤ 20 s
//! assert_eq!(r.total.aht_s(), Some(120.0));
//! assert_eq!(r.by_agent[&AgentId(7)].talk_ms, 120_000);
//! ```
//!
//! ## Attribution rules
//! - An interaction belongs to the period, the interval and the channel of
//!   its first event (normally `interaction_created`) and to the first queue
//!   it entered: a transferred or overflowed call counts once, for that
//!   queue.
//! - Its talk (hold excluded) and hold are split between the agents by
//!   segment (answer → transfer or end), so the sums over agents equal the
//!   totals; wrap-up goes to the agent who did it.
//! - The short-abandon threshold is the report's (`short_abandon_s`), not
//!   the flag the engine wrote with its own setting.
//! - Interactions without an `interaction_created` event are taken as
//!   inbound voice.
//! - For FCR the caller should also push the events of the FCR window after
//!   the period: later contacts count as repeats but are not reported.
//!
//! ## Layout
//! - [`params`]: [`ReportParams`], [`Interval`], [`SlFormula`].
//! - [`interval`]: interval boundaries in the site's time zone.
//! - [`kpi`]: [`Tally`] (sums of one row) and the KPIs derived from it.
//! - [`fold`]: [`ReportBuilder`] and [`Report`].
//! - [`labels`]: French and English headings, units, column list.
//! - [`table`]: the report as tables (what exports print).
//! - `xlsx` (feature `xlsx`), `pdf` (feature `pdf`): exports.

pub mod fold;
pub mod interval;
pub mod kpi;
pub mod labels;
pub mod params;
pub mod schedule;
pub mod table;

#[cfg(feature = "pdf")]
pub mod pdf;
#[cfg(feature = "xlsx")]
pub mod xlsx;

pub use fold::{IntervalRow, Report, ReportBuilder};
pub use interval::MAX_INTERVALS;
pub use kpi::{Outcome, Tally};
pub use labels::Lang;
pub use params::{Interval, ParamsError, ReportParams, SlFormula};
