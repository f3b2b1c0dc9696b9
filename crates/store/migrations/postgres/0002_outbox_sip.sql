-- The messaging outbox (every outbound message goes through it) and the SIP
-- digest secrets of agents' phones.
CREATE TABLE outbox (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel        TEXT NOT NULL,
    recipient      TEXT NOT NULL,
    body           TEXT NOT NULL,
    interaction_id BIGINT,
    customer_id    BIGINT,
    purpose        TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'queued',
    attempts       BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX outbox_status ON outbox (status, id);

ALTER TABLE agents ADD COLUMN sip_password TEXT;
