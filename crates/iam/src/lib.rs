//! # iam — Switchboard's identity and access decisions
//!
//! Pure decisions for SPEC §7 (identification, least privilege, separation
//! of duties, access requests, activity trail):
//! - [`access`]: [`Permission`] (`resource.action`), [`Role`], [`Scope`]
//!   (global, queue, team), [`Subject`] and the one question [`can`].
//! - [`sod`]: separation-of-duties rules and [`check_grant`] →
//!   `Allowed | Conflict{rule} | NeedsApproval{rule}`; justified, second-person,
//!   ≤ 90-day exceptions; the nightly [`sod::review`].
//! - [`request`]: access requests as a state machine (request → approve/refuse).
//! - [`password`]: NIST SP 800-63B password rules with a shipped offline list.
//! - [`audit`]: the audit trail's hash chain, hourly Merkle checkpoints
//!   signed with Ed25519, and [`audit::verify`].
//! - [`envelope`]: recordings encrypted at rest (ChaCha20-Poly1305, one
//!   data key per file wrapped by a KEK, rotation re-wraps, byte ranges).
//! - [`limiter`]: brute-force limiter (per account and per source, doubling
//!   delay, lockout after 10), virtual time.
//! - [`totp`]: TOTP second factor (RFC 6238) with replay refusal, and
//!   one-time recovery codes.
//!
//! It must not know about HTTP, SQL, files, sockets or the clock: callers
//! hand in users as [`Subject`]s and `now` as Unix ms, and carry out the
//! effects (store a grant, audit a lockout) themselves.
//!
//! ```
//! use domain::{QueueId, UserId};
//! use iam::{can, check_grant, GrantDecision, Permission, Role, Scope, Subject};
//! use iam::sod::{default_rules, RightsChange};
//!
//! let sup = Subject::with_role(UserId(1), Role::Supervisor);
//! assert!(can(&sup, Permission::SupervisionBarge, Scope::Queue(QueueId(4)), 0));
//! let agent = Subject::with_role(UserId(2), Role::Agent);
//! assert!(!can(&agent, Permission::RecordingsPlay, Scope::Global, 0));
//!
//! // Giving an auditor the agent role breaks a hard rule: refused.
//! let auditor = Subject::with_role(UserId(3), Role::Auditor);
//! let change = RightsChange::AddRole {
//!     assignment: iam::RoleAssignment { role: Role::Agent, scope: Scope::Global },
//! };
//! assert_eq!(
//!     check_grant(&default_rules(), &auditor, &change, 0),
//!     GrantDecision::Conflict { rule: "auditor-no-edit".into() }
//! );
//!
//! // Brute force: the 4th failure imposes a delay.
//! let mut lim = iam::limiter::Limiter::new(Default::default());
//! let ip = std::net::IpAddr::from([192, 0, 2, 1]);
//! for t in 0..4 { lim.handle_failure(t, "admin", ip); }
//! assert!(matches!(lim.check(5, "admin", ip), iam::limiter::Verdict::Delay { .. }));
//! ```

pub mod access;
pub mod audit;
pub mod directory;
pub mod envelope;
pub mod limiter;
pub mod password;
pub mod request;
pub mod sod;
pub mod totp;

pub use access::{
    AccountState, Grant, Permission, Role, RoleAssignment, Scope, Subject, TeamId, can,
};
pub use sod::{GrantDecision, check_grant};
