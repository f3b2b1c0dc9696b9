//! The digital channels end to end, in the running product: an SMS from a
//! real SMSC simulator (npm `smpp`, `crates/channels/tests/peers/smsc.js`)
//! becomes a conversation, is offered to a logged-in agent, and the agent's
//! replies reach the simulator as `submit_sm` with the right encoding; the
//! Meta webhook (signature, burst of 20 posts, CSAT answer, Graph sends and
//! statuses through a local stand-in); the web chat socket and widget;
//! e-mail in over the built-in SMTP listener and out through a relay, with
//! threading; outbox recovery after a crash.
//!
//! Needs node and `npm install --prefix crates/channels/tests/peers`
//! (scripts/test does it), chromium and `npm ci --prefix
//! crates/switchboard/tests/browser` for the widget test.

mod bot;
#[path = "../common/mod.rs"]
mod common;
mod email;
mod harness;
mod meta;
mod sms;
mod webchat;
