-- Outbound message campaigns (SPEC §2.6): a text template sent to a list on
-- one digital channel at a rate, recipient by recipient through the outbox.
-- status: draft, running, paused, done. Times in ms since the epoch.
CREATE TABLE campaigns (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    template    TEXT NOT NULL,
    -- WhatsApp only: {"name", "language", "params": [text with {{field}}]}.
    whatsapp_template TEXT,
    status      TEXT NOT NULL DEFAULT 'draft',
    rate_per_s  INTEGER NOT NULL,
    created_by  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER
);
CREATE INDEX campaigns_status ON campaigns (status);

-- One row per address of a campaign. state: pending, queued, sent,
-- delivered, failed, opted_out, skipped. vars: the JSON object of the
-- template fields of this recipient. outbox_id: the message once queued.
CREATE TABLE campaign_recipients (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    customer_id INTEGER,
    address     TEXT NOT NULL,
    vars        TEXT NOT NULL DEFAULT '{}',
    state       TEXT NOT NULL DEFAULT 'pending',
    outbox_id   INTEGER,
    error       TEXT,
    updated_at  INTEGER NOT NULL,
    UNIQUE (campaign_id, address)
);
CREATE INDEX campaign_recipients_state ON campaign_recipients (campaign_id, state, id);
CREATE INDEX campaign_recipients_outbox ON campaign_recipients (outbox_id);

-- Addresses that answered STOP on a channel: no campaign message goes there.
CREATE TABLE opt_outs (
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    at      INTEGER NOT NULL,
    source  TEXT NOT NULL,
    PRIMARY KEY (channel, address)
);
