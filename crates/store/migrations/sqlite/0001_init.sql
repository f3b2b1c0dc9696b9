-- Switchboard schema, SQLite flavour. Timestamps are INTEGER milliseconds since
-- the Unix epoch (UTC); JSON columns are TEXT.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE customers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    segment    TEXT NOT NULL DEFAULT 'mass',
    language   TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX customers_name ON customers (name COLLATE NOCASE);

-- Every identity a customer is known by: kind is 'phone', 'email' or a
-- channel name ('whatsapp', 'messenger', ...). One identity, one customer.
CREATE TABLE customer_identities (
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE INDEX customer_identities_customer ON customer_identities (customer_id);

CREATE TABLE agents (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    login     TEXT NOT NULL UNIQUE,
    name      TEXT NOT NULL,
    skills    TEXT NOT NULL DEFAULT '[]',
    languages TEXT NOT NULL DEFAULT '[]',
    capacity  TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE queues (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    required_skills TEXT NOT NULL DEFAULT '[]',
    strategy        TEXT NOT NULL,
    sl_percent      REAL NOT NULL,
    sl_within_s     INTEGER NOT NULL,
    wrap_up_s       INTEGER NOT NULL,
    max_wait_s      INTEGER NOT NULL,
    ring_timeout_s  INTEGER NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE dispositions (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    code  TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL
);

CREATE TABLE interactions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel     TEXT NOT NULL,
    direction   TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    queue_id    INTEGER REFERENCES queues (id) ON DELETE SET NULL,
    agent_id    INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    started_at  INTEGER NOT NULL,
    answered_at INTEGER,
    ended_at    INTEGER,
    end_reason  TEXT,
    disposition TEXT,
    notes       TEXT,
    recording   TEXT
);
CREATE INDEX interactions_customer ON interactions (customer_id, started_at);
CREATE INDEX interactions_started ON interactions (started_at);

-- The append-only event log (ARCHITECTURE.md principle 3). seq is monotonic.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    interaction_id INTEGER,
    customer_id    INTEGER,
    agent_id       INTEGER,
    kind           TEXT NOT NULL,
    payload        TEXT NOT NULL
);
CREATE INDEX events_interaction ON events (interaction_id, seq);
CREATE INDEX events_customer ON events (customer_id, seq);
CREATE INDEX events_at ON events (at);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    agent_id      INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

-- Opaque session tokens: only their SHA-256 is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
