//! # domain — the shared vocabulary of Switchboard
//!
//! This room holds the types every other crate speaks: typed ids, the
//! [`Customer`], [`Agent`], [`Queue`], [`Interaction`] and [`Disposition`]
//! records, E.164 phone normalisation, and the typed [`Event`] that the
//! append-only event log stores (ARCHITECTURE.md, principle 3).
//!
//! It must not know about I/O of any kind: no sockets, no database, no clock,
//! no async runtime. Time enters only as a [`Timestamp`] value handed in by the
//! caller.
//!
//! ```
//! use domain::{phone::normalize_e164, Timestamp};
//! let n = normalize_e164("97 00 00 00", Some("BJ")).unwrap();
//! assert_eq!(n.as_str(), "+22997000000");
//! let t = Timestamp::from_millis(1_700_000_000_000);
//! assert_eq!(t.to_string(), "2023-11-14T22:13:20Z");
//! ```
//!
//! ## Layout
//! - [`ids`]: newtype ids (`CustomerId`, `AgentId`, ...), never bare integers.
//! - [`time`]: [`Timestamp`], milliseconds since the Unix epoch (UTC).
//! - [`phone`]: E.164 normalisation of phone numbers in any common format.
//! - [`model`]: customers, agents, queues, interactions, dispositions, skills.
//! - [`event`]: the typed [`Event`] log record and its [`EventKind`]s.
//! - [`figures`]: wait, talk, hold, wrap-up, abandon of one interaction,
//!   recomputed from its events.
//! - [`template`]: the one `{{name}}` template syntax (IVR texts, campaign
//!   messages).

pub mod event;
pub mod figures;
pub mod ids;
pub mod model;
pub mod phone;
pub mod template;
pub mod time;

pub use event::{BotLine, Event, EventKind, NewEvent, SupervisionMode};
pub use ids::*;
pub use model::*;
pub use phone::PhoneNumber;
pub use time::Timestamp;
