//! # ivr — flow files and the IVR interpreter (SPEC §1.3, rules R1–R4)
//!
//! This crate loads IVR flow files (YAML, one per entry point), validates
//! them (every error with file, line and column), keeps the running versions
//! in a [`FlowSet`], and runs one call through a flow with [`IvrSession`], a
//! sans-I/O state machine: `handle_*(now, ..)` in, [`IvrSession::poll_action`]
//! and [`IvrSession::poll_timeout`] out.
//!
//! It must not know about SIP, RTP, HTTP clients, databases or the clock: the
//! voice layer plays [`Action::Play`] and reports DTMF; the engine runs
//! [`Action::Lookup`] (web service or SQL) and answers with
//! [`IvrSession::handle_lookup_result`]; the ACD and the messaging outbox act
//! on [`Action::Queue`], [`Action::OpenConversation`], [`Action::SendMessage`].
//!
//! ```
//! use ivr::{load_flow, Action, CallContext, IvrSession, PromptCatalog};
//! use domain::Timestamp;
//! use std::sync::Arc;
//!
//! let yaml = r#"
//! name: hello
//! languages: [en]
//! start: menu
//! nodes:
//!   menu:
//!     type: menu
//!     prompts: welcome
//!     options: { "1": bye }
//!     on_failure: bye
//!   bye:
//!     type: hangup
//! "#;
//! let mut prompts = PromptCatalog::new();
//! for p in ["welcome", "invalid_choice", "no_input"] {
//!     prompts.insert("en", p);
//! }
//! let flow = Arc::new(load_flow("hello.yaml", yaml, &prompts).expect("valid flow"));
//! let mut call = IvrSession::new(flow);
//! let mut now = Timestamp::from_millis(0);
//! call.handle_start(now, CallContext::default());
//! // The driver loop: run every action, then sleep until poll_timeout().
//! while let Some(action) = call.poll_action() {
//!     match action {
//!         Action::Play { prompts, .. } => assert_eq!(prompts[0].path(), "en/welcome.wav"),
//!         Action::CollectDigits { max, .. } => assert_eq!(max, 1),
//!         other => panic!("unexpected {other:?}"),
//!     }
//! }
//! now = now.add_millis(2_000);
//! call.handle_prompt_done(now);
//! assert_eq!(call.poll_timeout(), Some(now.add_millis(5_000)));
//! call.handle_dtmf(now, '1');
//! assert_eq!(call.poll_action(), Some(Action::Hangup));
//! assert!(call.is_finished());
//! ```
//!
//! ## Layout
//! - [`error`]: [`FlowError`] with file, line, column and [`ErrorKind`].
//! - `yaml`: YAML (saphyr) to a located tree; `parse`: the flow-file schema.
//! - [`model`]: [`Flow`], [`NodeKind`] and the node parts.
//! - `validate`: targets, reachability, loops without input, prompts.
//! - [`registry`]: [`load_flow`] and the versioned [`FlowSet`].
//! - [`catalog`]: the prompt files that exist.
//! - [`say`]: digits, numbers, amounts and dates as word prompts (fr, en).
//! - [`calendar`]: open hours and holidays.
//! - [`template`]: `{{var}}` templates.
//! - [`io`]: [`CallContext`], [`Action`], lookups.
//! - [`session`]: the interpreter; `eval`: conditions and lookup answers.
//! - [`trace`]: the per-call [`Trace`] shown at screen-pop.

#![warn(missing_docs)]

pub mod calendar;
pub mod catalog;
pub mod error;
mod eval;
pub mod io;
pub mod model;
mod parse;
pub mod registry;
pub mod say;
pub mod session;
pub mod template;
pub mod trace;
mod validate;
mod yaml;

pub use catalog::PromptCatalog;
pub use error::{ErrorKind, FlowError, FlowErrors, Location};
pub use io::{Action, CallContext, LookupError, LookupId, LookupKind, Prompt};
pub use model::{Flow, NodeKind};
pub use parse::NODE_TYPES;
pub use registry::{DirReport, FlowSet, load_flow};
pub use session::{IvrSession, SessionState};
pub use trace::{Outcome, Trace};
