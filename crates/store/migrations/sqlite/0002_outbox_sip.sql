-- The messaging outbox (every outbound message goes through it) and the SIP
-- digest secrets of agents' phones.
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    channel        TEXT NOT NULL,
    recipient      TEXT NOT NULL,
    body           TEXT NOT NULL,
    interaction_id INTEGER,
    customer_id    INTEGER,
    purpose        TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'queued',
    attempts       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX outbox_status ON outbox (status, id);

ALTER TABLE agents ADD COLUMN sip_password TEXT;
