//! # store — where Switchboard keeps what it knows
//!
//! This room is the persistence shell: small async storage traits per concern
//! (customers, agents, queues, dispositions, interactions, the event log,
//! users and sessions), and two typed implementations of all of them, one on
//! embedded SQLite (the default: one file, WAL journal) and one on PostgreSQL.
//! `sqlx::Any` cannot carry our types, so each backend has its own pool type
//! and its own migrations; the query text is shared (both accept `$1` binds).
//!
//! It must not know about HTTP, SIP, routing or the IVR: callers hand in
//! domain values and a `now`, and get domain values back.
//!
//! ```no_run
//! # async fn demo() -> Result<(), store::StoreError> {
//! use domain::{EventKind, NewEvent, Timestamp};
//! let store = store::open("sqlite://data/switchboard.db").await?;
//! let now = Timestamp::from_millis(1_764_450_000_000);
//! let seqs = store.append_events(&[NewEvent::new(now, EventKind::CustomerCreated)]).await?;
//! assert_eq!(seqs.len(), 1);
//! store.close().await;
//! # Ok(()) }
//! ```
//!
//! ## Layout
//! - `lib.rs`: the traits, their input/filter types and [`StoreError`].
//! - `common.rs`: the SQL shared by both backends (a macro instantiated
//!   twice): imports and row decoders; it expands `common_directory.rs`
//!   (customers, agents, queues, dispositions) and `common_log.rs`
//!   (interactions, events, outbox, users, meta) and `common_messaging.rs`
//!   (the outbox dispatcher's claims and outcomes, provider message ids)
//!   and `common_campaign.rs` (message campaigns, recipients, opt-outs;
//!   the trait and types are in `campaign.rs`).
//! - `chat.rs`, `merge.rs`: a trait, its types and its SQL macro each
//!   (internal chat; customer merge and undo, whose module doc explains how a
//!   merge leaves the append-only event log untouched).
//! - `position.rs`: agent positions and field visits (issue 22), trait,
//!   types and SQL macro.
//! - `incident.rs`: SLA incidents raised by `serve` (issue 19), trait,
//!   record and SQL macro.
//! - `writes.rs`: [`Write`], [`WriteStore`] (group commit of interaction
//!   changes with their events, idempotent by [`WriteKey`]; blocks of
//!   interaction ids) and their SQL; its module doc explains the design.
//! - `audit.rs`: the hash-chained, append-only audit trail and its signed
//!   hourly checkpoints (the arithmetic is `iam::audit`'s).
//! - `sqlite.rs`, `postgres.rs`: connection set-up and migrations per backend.

mod audit;
mod campaign;
mod chat;
mod common;
mod common_campaign;
mod common_directory;
mod common_log;
mod common_messaging;
mod dial;
mod dial_campaign;
mod incident;
mod kb;
mod merge;
mod position;
mod postgres;
mod sqlite;
mod types;
mod writes;

pub use audit::{
    AuditAction, AuditEntry, AuditFilter, AuditStore, Checkpoint, Digest, NewAuditEntry,
};
pub use campaign::{
    Campaign, CampaignRecipient, CampaignStats, CampaignStatus, CampaignStore, CustomerSelection,
    NewCampaign, NewRecipient, OptOut, RecipientState, WhatsappTemplate,
};
pub use chat::{ChatMessage, ChatStore, NewChatMessage};
pub use dial::{DialStore, SavedSipDialog, SipBinding, SipBindingStore, SipDialogStore};
pub use dial_campaign::{
    DialCampaignRow, DialCampaignStore, DialContactProgress, DialContactRow, DialRunState,
};

/// The end time written when open interactions are closed after a restart.
#[derive(Clone, Copy, Debug)]
pub(crate) enum CloseAt {
    /// This instant for all.
    Now(Timestamp),
    /// Each one's last known activity (see `close_open_calls`).
    LastActivity {
        alive_until: Option<Timestamp>,
        now: Timestamp,
    },
}
pub use incident::{IncidentRecord, IncidentStore, MAX_INCIDENTS};
pub use kb::{KB_SEEDED_KEY, KbArticleRecord, KnowledgeBaseStore};
pub use merge::{CustomerMerge, MergeStore, MovedIdentity};
pub use position::{
    AgentPosition, FieldVisit, GeoPoint, MAX_TRACK_POINTS, NewFieldVisit, PositionStore,
};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use types::*;
pub use writes::{
    AppliedWrites, InteractionChange, KeyedWrite, Write, WriteKey, WriteStore, apply_now,
    new_write_node, open_interaction,
};

use async_trait::async_trait;
use domain::{
    Agent, AgentId, Channel, Customer, CustomerId, Disposition, DispositionId, Event, Interaction,
    InteractionId, NewEvent, Queue, QueueId, Timestamp, UserId,
};
use std::sync::Arc;

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness rule would be broken (a login, a queue name, an identity
    /// already linked to another customer).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input breaks a rule of the model (a skill level out of range...).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The database URL is not one we support.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    BadUrl(String),
    /// A stored value could not be read back (corrupt JSON column...).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error: {0}")]
    Db(sqlx::Error),
}

impl StoreError {
    /// May the same operation succeed if tried again later? True for a
    /// database that is unreachable, restarting, locked or busy (I/O, pool
    /// time-out, SQLite `SQLITE_BUSY`, PostgreSQL `57P01 admin_shutdown`...);
    /// false for an error the input itself causes (not found, conflict,
    /// invalid, corrupt, a foreign key, NOT NULL or CHECK violation).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(db)) => !matches!(
                db.kind(),
                sqlx::error::ErrorKind::UniqueViolation
                    | sqlx::error::ErrorKind::ForeignKeyViolation
                    | sqlx::error::ErrorKind::NotNullViolation
                    | sqlx::error::ErrorKind::CheckViolation
            ),
            StoreError::Db(
                sqlx::Error::ColumnDecode { .. }
                | sqlx::Error::Decode(_)
                | sqlx::Error::TypeNotFound { .. }
                | sqlx::Error::ColumnNotFound(_)
                | sqlx::Error::ColumnIndexOutOfBounds { .. }
                | sqlx::Error::Encode(_)
                | sqlx::Error::InvalidArgument(_),
            ) => false,
            StoreError::Db(_) => true,
            StoreError::NotFound(_)
            | StoreError::Conflict(_)
            | StoreError::Invalid(_)
            | StoreError::BadUrl(_)
            | StoreError::Corrupt(_)
            | StoreError::Migrate(_) => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StoreError::Conflict(db.message().to_string());
        }
        if matches!(e, sqlx::Error::RowNotFound) {
            return StoreError::NotFound("row".into());
        }
        StoreError::Db(e)
    }
}

/// Shorthand for store results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Customers and their identities (SPEC §3.3).
#[async_trait]
pub trait CustomerStore: Send + Sync {
    /// Create a customer with its identities.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when an identity already belongs to another customer.
    async fn create_customer(&self, c: &NewCustomer, now: Timestamp) -> Result<Customer>;
    /// Create many customers in one transaction, each row on its own savepoint:
    /// a bad row is rolled back alone and reported at its index; the good rows
    /// are committed.
    async fn import_customers(
        &self,
        rows: &[NewCustomer],
        now: Timestamp,
    ) -> Result<Vec<Result<CustomerId>>>;
    /// One customer by id.
    async fn get_customer(&self, id: CustomerId) -> Result<Option<Customer>>;
    /// Change the fields given in `patch` (identity lists are replaced whole).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Conflict`] (also for a customer
    /// merged into another: change the survivor).
    async fn update_customer(
        &self,
        id: CustomerId,
        patch: &CustomerPatch,
        now: Timestamp,
    ) -> Result<Customer>;
    /// Delete a customer and its identities; `false` if it did not exist.
    async fn delete_customer(&self, id: CustomerId) -> Result<bool>;
    /// The customer owning an identity (phone in E.164, e-mail lower-cased, or
    /// a channel id). A merge moves identities to the survivor, so this is
    /// never a merged-away customer.
    async fn find_customer_by_identity(&self, identity: &Identity) -> Result<Option<Customer>>;
    /// The customers owning these phone numbers (E.164), in batches of 500
    /// per query: for linking a large imported list to existing records.
    /// Numbers nobody owns are left out of the map.
    async fn customers_by_phones(
        &self,
        phones: &[domain::PhoneNumber],
    ) -> Result<std::collections::HashMap<domain::PhoneNumber, CustomerId>>;
    /// Customers whose name, phone or e-mail contains `q` (case-insensitive),
    /// ordered by id. Customers merged into another are left out.
    async fn search_customers(&self, q: &str, limit: i64, offset: i64) -> Result<Vec<Customer>>;
    /// Number of customers (not counting those merged into another).
    async fn count_customers(&self) -> Result<i64>;
}

/// Agents as the ACD sees them.
#[async_trait]
pub trait AgentStore: Send + Sync {
    /// Create an agent.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the login exists; [`StoreError::Invalid`]
    /// for a skill level outside 1..=10.
    async fn create_agent(&self, a: &NewAgent) -> Result<Agent>;
    /// One agent by id.
    async fn get_agent(&self, id: AgentId) -> Result<Option<Agent>>;
    /// All agents, by id.
    async fn list_agents(&self) -> Result<Vec<Agent>>;
    /// Replace an agent's name, skills, languages and capacity.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Invalid`] for an empty name,
    /// a skill level outside 1..=10 or a voice capacity above 1.
    async fn update_agent(&self, id: AgentId, a: &AgentUpdate) -> Result<Agent>;
    /// Set the SIP digest password of an agent's phone (user = agent login).
    async fn set_sip_password(&self, id: AgentId, password: &str) -> Result<()>;
    /// `(login, SIP password)` of every agent that has one, for the registrar.
    async fn sip_credentials(&self) -> Result<Vec<(String, String)>>;
}

/// ACD queue configuration.
#[async_trait]
pub trait QueueStore: Send + Sync {
    /// Create a queue.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name exists.
    async fn create_queue(&self, q: &NewQueue) -> Result<Queue>;
    /// Replace a queue's settings.
    async fn update_queue(&self, id: QueueId, q: &NewQueue) -> Result<Queue>;
    /// One queue by id.
    async fn get_queue(&self, id: QueueId) -> Result<Option<Queue>>;
    /// All queues, by id.
    async fn list_queues(&self) -> Result<Vec<Queue>>;
}

/// Disposition codes.
#[async_trait]
pub trait DispositionStore: Send + Sync {
    /// Create a disposition code.
    async fn create_disposition(&self, code: &str, label: &str) -> Result<Disposition>;
    /// All dispositions, by id.
    async fn list_dispositions(&self) -> Result<Vec<Disposition>>;
    /// Change a disposition's label (its code, kept by past interactions,
    /// does not change).
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Invalid`] for an empty label.
    async fn rename_disposition(&self, id: DispositionId, label: &str) -> Result<Disposition>;
}

/// Interactions (calls, conversations, attempts).
#[async_trait]
pub trait InteractionStore: Send + Sync {
    /// Create an interaction.
    async fn create_interaction(&self, i: &NewInteraction) -> Result<Interaction>;
    /// One interaction by id.
    async fn get_interaction(&self, id: InteractionId) -> Result<Option<Interaction>>;
    /// Write back every mutable field of `i` (queue, agent, times, end
    /// reason, disposition, notes, recording).
    async fn update_interaction(&self, i: &Interaction) -> Result<()>;
    /// Interactions matching the filter, newest first.
    async fn list_interactions(&self, f: &InteractionFilter) -> Result<Vec<Interaction>>;
    /// Close every interaction still open (no `ended_at`) with `reason`, e.g.
    /// `system_restart` after a crash, each with its `ended` event, in one
    /// transaction. Returns the ids closed.
    async fn close_open_interactions(
        &self,
        reason: &str,
        now: Timestamp,
    ) -> Result<Vec<InteractionId>>;
    /// Close every voice interaction still open (calls cannot outlive the
    /// process that carried them) with `reason`, each with its `ended`
    /// event, in one transaction, at the call's last known activity
    /// (issue 13): the later of its last stored event and `alive_until`
    /// (when the previous run was last known alive, its heartbeat), never
    /// before the call started nor after `now`; `now` when neither is
    /// known. Returns the ids closed, by id, with the end time written.
    async fn close_open_calls(
        &self,
        reason: &str,
        alive_until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Vec<(InteractionId, Timestamp)>>;
    /// Digital conversations still open (no `ended_at`, channel other than
    /// voice), oldest first: after a restart they are routed again.
    async fn open_conversations(&self) -> Result<Vec<Interaction>>;
}

/// The append-only event log.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Append events in one transaction; returns their sequence numbers in
    /// input order (strictly increasing).
    async fn append_events(&self, events: &[NewEvent]) -> Result<Vec<i64>>;
    /// Events matching the filter, in sequence order.
    async fn list_events(&self, f: &EventFilter) -> Result<Vec<Event>>;
    /// Each agent's latest `agent_state_changed` event (agents that never
    /// changed state are absent), in agent order. Used at start-up to log out
    /// agents a crash left logged in.
    async fn last_agent_states(&self) -> Result<Vec<Event>>;
}

/// Users and their sessions.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Create a user.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the username exists.
    async fn create_user(&self, u: &NewUser, now: Timestamp) -> Result<User>;
    /// One user by username.
    async fn get_user_by_username(&self, username: &str) -> Result<Option<User>>;
    /// One user by id.
    async fn get_user(&self, id: UserId) -> Result<Option<User>>;
    /// All users, by id.
    async fn list_users(&self) -> Result<Vec<User>>;
    /// Set a user's role, agent link and disabled flag; disabling a user
    /// ends their sessions.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user or agent.
    async fn update_user(&self, id: UserId, u: &UserUpdate) -> Result<User>;
    /// Replace a user's password hash (PHC string).
    async fn set_password_hash(&self, id: UserId, hash: &str) -> Result<()>;
    /// Store a session: the SHA-256 (hex) of an opaque token.
    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<()>;
    /// The user of an unexpired session, if any.
    async fn session_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<User>>;
    /// Remove a session (logout).
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// The user of a session that is neither past its absolute lifetime
    /// (`expires_at > now`) nor idle (last used after `idle_since`), and
    /// mark it used at `now`. A session found idle or expired is deleted.
    async fn use_session(
        &self,
        token_hash: &str,
        now: Timestamp,
        idle_since: Timestamp,
    ) -> Result<Option<User>>;
    /// Replace a user's password hash and end all their sessions but
    /// `keep_session` (the one the change was made from).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user.
    async fn change_password_hash(&self, id: UserId, hash: &str, keep_session: &str) -> Result<()>;
    /// A user's TOTP enrolment, if any.
    async fn get_totp(&self, user: UserId) -> Result<Option<TotpRecord>>;
    /// Start (or restart) an enrolment: a new, inactive secret; any earlier
    /// secret and recovery codes are dropped.
    async fn begin_totp(&self, user: UserId, secret_b32: &str, now: Timestamp) -> Result<()>;
    /// Activate the enrolment confirmed by a code of time step `step`, with
    /// the recovery codes' SHA-256 hashes. `false` if there is no enrolment.
    async fn activate_totp(
        &self,
        user: UserId,
        step: u64,
        recovery_hashes: &[String],
    ) -> Result<bool>;
    /// Record `step` as the last accepted one, only if it is later than the
    /// stored one (atomic: two requests with one code cannot both pass).
    /// `false` when the step was already used.
    async fn accept_totp_step(&self, user: UserId, step: u64) -> Result<bool>;
    /// Use up a recovery code by its hash; `false` if unknown or used.
    async fn use_recovery_code(&self, user: UserId, code_hash: &str) -> Result<bool>;
    /// Remove a user's TOTP and recovery codes.
    async fn remove_totp(&self, user: UserId) -> Result<()>;
    /// A user's sessions alive at `now`, newest first.
    async fn list_sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<SessionInfo>>;
    /// End one of `user`'s sessions by its public id ([`SessionInfo::id`]);
    /// `false` if the user has no such session.
    async fn delete_user_session(&self, user: UserId, id: &str) -> Result<bool>;
}

/// The messaging outbox: every outbound message (survey, IVR SMS, agent
/// reply) is written here first, then sent by a channel adapter.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Queue a message; returns it with its id.
    async fn enqueue_message(&self, m: &NewOutboxMessage, now: Timestamp) -> Result<OutboxMessage>;
    /// Messages, oldest first, optionally only those with `status`.
    async fn list_outbox(&self, status: Option<&str>, limit: i64) -> Result<Vec<OutboxMessage>>;
}

/// What the messaging dispatcher and the inbound ingest need beyond queueing:
/// claiming due rows, recording each attempt's outcome, and the provider
/// message ids that tie delivery receipts and e-mail replies to our rows and
/// conversations.
#[async_trait]
pub trait MessagingStore: Send + Sync {
    /// Claim up to `limit` queued rows on `channels` due at `now` (oldest
    /// first): each becomes `sending` with `claimed_at = now` and one more
    /// attempt. A row is claimed once even by concurrent dispatchers.
    async fn claim_due_messages(
        &self,
        channels: &[Channel],
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>>;
    /// After a restart: rows left `sending` go back to `queued`, due `now`,
    /// with `last_error` "interrupted by restart". Returns how many.
    async fn requeue_interrupted(&self, now: Timestamp) -> Result<u64>;
    /// Write an attempt's outcome or a delivery report back to row `id`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the row does not exist.
    async fn update_outbox(&self, id: i64, t: &OutboxTransition, now: Timestamp) -> Result<()>;
    /// Set `last_error` on the queued rows of `channels` (channels with no
    /// adapter configured, so the rows wait visibly). Returns rows changed.
    async fn note_unsendable(
        &self,
        channels: &[Channel],
        error: &str,
        now: Timestamp,
    ) -> Result<u64>;
    /// One outbox row.
    async fn get_outbox(&self, id: i64) -> Result<Option<OutboxMessage>>;
    /// The newest row with `purpose` to `recipient` queued at or after `since`
    /// (e.g. the CSAT survey a reply may answer).
    async fn latest_outbox_to(
        &self,
        recipient: &str,
        purpose: &str,
        since: Timestamp,
    ) -> Result<Option<OutboxMessage>>;
    /// Remember a provider message id. For ids of our sends (`outbox_id` set)
    /// a reused id is re-pointed to the newest row; an inbound id already
    /// known is left as it is.
    async fn record_message_ref(&self, r: &MessageRef) -> Result<()>;
    /// The record of one provider id on a channel.
    async fn find_message_ref(
        &self,
        channel: Channel,
        message_id: &str,
    ) -> Result<Option<MessageRef>>;
    /// The message ids of a conversation, oldest first.
    async fn message_refs_of(&self, interaction: InteractionId) -> Result<Vec<MessageRef>>;
}

/// Small key-value facts about the database itself (e.g. `demo_seeded`).
#[async_trait]
pub trait MetaStore: Send + Sync {
    /// Read a value.
    async fn get_meta(&self, key: &str) -> Result<Option<String>>;
    /// Write a value.
    async fn set_meta(&self, key: &str, value: &str) -> Result<()>;
}

/// Everything a Switchboard node persists.
#[async_trait]
pub trait Store:
    CustomerStore
    + AgentStore
    + QueueStore
    + DispositionStore
    + InteractionStore
    + EventStore
    + UserStore
    + OutboxStore
    + MessagingStore
    + MetaStore
    + ChatStore
    + CampaignStore
    + MergeStore
    + WriteStore
    + AuditStore
    + DialStore
    + DialCampaignStore
    + SipBindingStore
    + SipDialogStore
    + PositionStore
    + IncidentStore
    + KnowledgeBaseStore
{
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;
    /// Is the database reachable? (for `/ready`)
    async fn ping(&self) -> Result<()>;
    /// Flush and close the pool (graceful shutdown).
    async fn close(&self);

    /// A customer's timeline: their interactions on every channel, newest
    /// first, each with its events in order. `limit` interactions from `offset`.
    async fn customer_timeline(
        &self,
        customer: CustomerId,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<TimelineEntry>> {
        let interactions = self
            .list_interactions(&InteractionFilter {
                customer_id: Some(customer),
                limit,
                offset,
                ..InteractionFilter::default()
            })
            .await?;
        let mut out = Vec::with_capacity(interactions.len());
        for interaction in interactions {
            let events = self
                .list_events(&EventFilter {
                    interaction_id: Some(interaction.id),
                    limit: 1000,
                    ..EventFilter::default()
                })
                .await?;
            out.push(TimelineEntry {
                interaction,
                events,
            });
        }
        Ok(out)
    }
}

/// Open a store from a URL and apply its migrations.
///
/// `sqlite://PATH` (created if missing, WAL journal) or `postgres://...`
/// (also `postgresql://`).
///
/// # Errors
/// [`StoreError::BadUrl`] for another scheme; connection or migration errors.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::open(url).await?))
    } else {
        Err(StoreError::BadUrl(url.to_string()))
    }
}
