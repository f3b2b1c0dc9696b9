//! # switchboard — the server
//!
//! The only binary of the workspace: it reads the layered configuration,
//! opens the store, seeds the demo, serves the HTTP API (`/api/v1`, OpenAPI at
//! `/api/v1/openapi.json`, `/health`, `/ready`, `/metrics`) and runs the CLI
//! (`serve`, `migrate`, `import customers`, `user add|passwd`). With SIP on,
//! it also runs the voice shell and the engine, and pushes offers and
//! statistics to desktops over `/api/v1/ws`.
//!
//! It wires shells to cores; it must not hold contact-center logic itself
//! (routing, IVR, pacing live in their own crates) and its handlers stay thin:
//! they check the caller's role, call the store, and shape JSON.
//!
//! ## Layout
//! - [`settings`]: configuration (defaults → TOML file → `SWITCHBOARD_*` env).
//! - [`backup`]: backup sets (crate `continuity`) from the settings, and
//!   the backup scheduler task of `serve`.
//! - [`auth`]: argon2id password hashing, opaque session tokens.
//! - [`api`]: the HTTP router, errors, role-checked extractors, handlers
//!   (including call-recording playback and the internal chat, [`api::chat`]).
//! - [`demo`]: the demo configuration seeded at first start.
//! - [`import`]: CSV customer import with a per-row error report.
//! - [`security`]: login brute-force limiter, audit trail writer, audit
//!   signing key, hourly checkpoints and `audit verify`.
//! - [`server`]: `serve`: bind, run, shut down gracefully.
//! - [`telephony`]: the SIP shell and the engine, from the settings.
//! - [`messaging`]: the digital channels: adapters, inbound ingest, the
//!   outbox dispatcher, the Meta webhook, the web chat and its widget, the
//!   message campaign runner and STOP/START opt-outs.
//! - [`demo_operator`]: the demo operator database and web service.
//! - [`directory`]: LDAP / Active Directory login (`[auth.ldap]`): the
//!   `ldap3` client behind a small trait; the rules are in `iam::directory`.
//! - [`incidents`]: the SLA incident desk task of `serve` (crate
//!   `continuity`'s pure desk, its detections, storage and notifications).
//! - [`scheduled_reports`]: `[[reports.schedules]]`, reports e-mailed on a
//!   schedule (the task of `serve` and the run-now API).
//! - [`report`]: `report`: the event log read into the `reports` fold and
//!   exported to xlsx or pdf.
//! - [`web`]: the browser UI (login, agent desktop, supervisor live view,
//!   admin forms with field-level validation).

pub mod api;
pub mod auth;
pub mod backup;
pub mod demo;
pub mod demo_operator;
pub mod directory;
pub mod import;
pub mod incidents;
pub mod knowledge_base;
pub mod messaging;
pub mod report;
pub mod scheduled_reports;
pub mod security;
pub mod server;
pub mod settings;
pub mod telephony;
pub mod web;

/// Milliseconds since the Unix epoch, from the system clock. The one place the
/// server reads wall-clock time for records it writes.
pub fn now() -> domain::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    domain::Timestamp::from_millis(ms)
}
