-- Outbound voice campaigns kept across restarts (issue 15): the campaign's
-- definition and run state, its contact list and each contact's progress
-- (attempts, retries, next due time, last disposition), and the dialer's
-- do-not-call list (campaign 0: every campaign).
CREATE TABLE dial_campaigns (
    id          BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    queue_id    BIGINT NOT NULL,
    trunk       TEXT NOT NULL,
    caller_id   TEXT,
    settings    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('running', 'paused', 'stopped')),
    counters    TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE dial_contacts (
    campaign_id      BIGINT NOT NULL REFERENCES dial_campaigns(id) ON DELETE CASCADE,
    contact_id       BIGINT NOT NULL,
    number           TEXT NOT NULL,
    name             TEXT,
    tz               TEXT NOT NULL,
    consent          TEXT NOT NULL,
    customer_id      BIGINT,
    status           TEXT NOT NULL DEFAULT 'due',
    attempts         BIGINT NOT NULL DEFAULT 0,
    last_disposition TEXT,
    progress         TEXT,
    PRIMARY KEY (campaign_id, contact_id),
    UNIQUE (campaign_id, number)
);

CREATE TABLE dial_dnc (
    number      TEXT NOT NULL,
    campaign_id BIGINT NOT NULL DEFAULT 0,
    source      TEXT NOT NULL,
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (number, campaign_id)
);
