-- The outbox as the dispatcher drives it (channels::outbox): status is one of
-- queued, sending, sent, delivered, failed; next_attempt_at is when a queued
-- row is due (ms); claimed_at is when the current attempt began.
ALTER TABLE outbox ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN claimed_at BIGINT;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN provider_message_id TEXT;
ALTER TABLE outbox ADD COLUMN sent_at BIGINT;
ALTER TABLE outbox ADD COLUMN delivered_at BIGINT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (recipient, purpose, created_at);

-- Provider message ids, both ways: ids the provider gave our sends (one per
-- SMS part; delivery receipts name them) and ids of inbound messages (e-mail
-- Message-ID), so a reply's In-Reply-To/References finds its conversation.
CREATE TABLE message_ids (
    channel        TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    interaction_id BIGINT,
    outbox_id      BIGINT,
    subject        TEXT,
    at             BIGINT NOT NULL,
    PRIMARY KEY (channel, message_id)
);
CREATE INDEX message_ids_interaction ON message_ids (interaction_id, at);
