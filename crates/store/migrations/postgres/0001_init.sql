-- Switchboard schema, PostgreSQL flavour. Timestamps are BIGINT milliseconds since
-- the Unix epoch (UTC); JSON columns are TEXT.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE customers (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL,
    segment    TEXT NOT NULL DEFAULT 'mass',
    language   TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX customers_name ON customers (lower(name));

-- Every identity a customer is known by: kind is 'phone', 'email' or a
-- channel name ('whatsapp', 'messenger', ...). One identity, one customer.
CREATE TABLE customer_identities (
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value)
);
CREATE INDEX customer_identities_customer ON customer_identities (customer_id);

CREATE TABLE agents (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login     TEXT NOT NULL UNIQUE,
    name      TEXT NOT NULL,
    skills    TEXT NOT NULL DEFAULT '[]',
    languages TEXT NOT NULL DEFAULT '[]',
    capacity  TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE queues (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    required_skills TEXT NOT NULL DEFAULT '[]',
    strategy        TEXT NOT NULL,
    sl_percent      DOUBLE PRECISION NOT NULL,
    sl_within_s     BIGINT NOT NULL,
    wrap_up_s       BIGINT NOT NULL,
    max_wait_s      BIGINT NOT NULL,
    ring_timeout_s  BIGINT NOT NULL,
    priority        BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE dispositions (
    id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code  TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL
);

CREATE TABLE interactions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel     TEXT NOT NULL,
    direction   TEXT NOT NULL,
    customer_id BIGINT REFERENCES customers (id) ON DELETE SET NULL,
    queue_id    BIGINT REFERENCES queues (id) ON DELETE SET NULL,
    agent_id    BIGINT REFERENCES agents (id) ON DELETE SET NULL,
    started_at  BIGINT NOT NULL,
    answered_at BIGINT,
    ended_at    BIGINT,
    end_reason  TEXT,
    disposition TEXT,
    notes       TEXT,
    recording   TEXT
);
CREATE INDEX interactions_customer ON interactions (customer_id, started_at);
CREATE INDEX interactions_started ON interactions (started_at);

-- The append-only event log (ARCHITECTURE.md principle 3). seq is monotonic.
CREATE TABLE events (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             BIGINT NOT NULL,
    interaction_id BIGINT,
    customer_id    BIGINT,
    agent_id       BIGINT,
    kind           TEXT NOT NULL,
    payload        TEXT NOT NULL
);
CREATE INDEX events_interaction ON events (interaction_id, seq);
CREATE INDEX events_customer ON events (customer_id, seq);
CREATE INDEX events_at ON events (at);

CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the event log is append-only'; END; $$;
CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    agent_id      BIGINT REFERENCES agents (id) ON DELETE SET NULL,
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

-- Opaque session tokens: only their SHA-256 is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
