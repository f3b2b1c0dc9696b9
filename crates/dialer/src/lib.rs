//! # dialer — the outbound dialer core of Switchboard
//!
//! One [`Dialer`] runs one campaign: its contact list, call attempts, the
//! agents who take its calls, the rules a regulator checks (calling windows
//! in the contact's time zone, do-not-call lists, consent, attempts per 30
//! days, the abandon cap over a rolling 24 h and per 30-day period, the 2 s
//! agent wait, the 15 s minimum ring, no repeat call within 72 h of an
//! abandon without a reserved agent, one call in flight per number) and the
//! pacing (preview, progressive, predictive, and VICIdial's `ADAPT_TAPERED`
//! as a baseline). It also holds a pure answering-machine detector
//! ([`amd`]) and the contact list parsers ([`import`]).
//!
//! It must not know about I/O: no sockets, no database, no async runtime,
//! no clock, no SIP. The engine feeds it inputs with an explicit `now`,
//! carries out its [`Action`]s (originate on the trunk, bridge to an agent,
//! play the abandon message, send the digital follow-up) and re-arms one
//! timer to [`Dialer::poll_timeout`]. Time must only move forward; an earlier
//! `now` is treated as the latest one seen. The database's unique constraint
//! on numbers in flight (across campaigns and restarts) is the engine's part.
//!
//! ```
//! use dialer::*;
//! use domain::{AgentId, PhoneNumber, Timestamp};
//!
//! let cfg = CampaignConfig { mode: DialMode::Progressive, window: CallingWindow::always(), ..CampaignConfig::default() };
//! let t0 = Timestamp::from_millis(1_764_576_000_000);
//! let mut d = Dialer::new(t0, cfg)?;
//! let number = PhoneNumber::try_from("+33612345678".to_string())?;
//! d.handle_contacts_added(t0, vec![Contact {
//!     id: ContactId(1), number, tz: jiff::tz::TimeZone::UTC, consent: Consent::Given, customer: None,
//! }]);
//! d.handle_agent_available(t0, AgentId(7));
//! d.handle_start(t0);
//!
//! // The engine's loop: wake at the deadline, carry out every action.
//! let t1 = d.poll_timeout().unwrap();
//! d.handle_timeout(t1);
//! let Some(Action::PlaceCall { attempt, ring_timeout_ms, .. }) = d.poll_action() else { panic!() };
//! assert!(ring_timeout_ms >= 15_000);
//! // the callee answers; AMD says human
//! d.handle_outcome(t1.add_millis(8_000), attempt, Outcome::AnsweredLive)?;
//! assert_eq!(d.poll_action(), Some(Action::ConnectAgent { attempt, agent: AgentId(7), contact: ContactId(1) }));
//! // the engine bridged the agent's leg: now it counts as connected
//! d.handle_outcome(t1.add_millis(9_000), attempt, Outcome::AgentConnected(AgentId(7)))?;
//! d.handle_agent_wrap_up(t1.add_millis(90_000), AgentId(7), t1.add_millis(100_000));
//! d.handle_outcome(t1.add_millis(95_000), attempt, Outcome::Disposition { code: domain::DispositionId(3), callback_at: None })?;
//! assert_eq!(d.poll_action(), Some(Action::ContactClosed { contact: ContactId(1), reason: CloseReason::Completed }));
//! assert_eq!(d.counters().connected, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Layout
//! - [`model`]: contacts, attempts, outcomes, [`Action`]s, [`CampaignConfig`].
//! - [`rules`]: calling windows (décret 2022-1313), French holidays, the
//!   abandon tracker (Ofcom, 16 CFR 310.4(b)(4)), retry rules.
//! - [`pacing`]: the progressive, predictive and `ADAPT_TAPERED` pacers.
//! - `dialer` (private): the [`Dialer`] state machine; [`timer`]: its named timers.
//! - [`amd`]: answering-machine detection over 8 kHz PCM, app_amd's parameters.
//! - [`import`]: CSV and .xlsx contact lists, per-row errors.
//! - [`sim`]: the discrete-event simulation used by `examples/simulate.rs`.

pub mod amd;
mod dialer;
pub mod import;
pub mod model;
pub mod pacing;
pub mod rules;
pub mod sim;
pub mod timer;

pub use dialer::{
    ContactProgress, Counters, Dialer, DialerError, DncScope, PREVIEW_SKIP_DELAY_MS, ProgressState,
};
pub use model::*;
pub use rules::{
    AbandonCap, AbandonHistory, AbandonTracker, CallingWindow, Holidays, Interval, RetryRule,
    RetryRules,
};
