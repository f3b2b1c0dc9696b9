-- SLA incidents (issue 19, SPEC §8, SLA annex): what the incident desk of
-- `serve` raised (server crash, failed backup, application unavailable...),
-- with its state, SLA timer and who acknowledged / resolved it. Ids are the
-- desk's (the next run resumes after the highest); times are Unix ms.
CREATE TABLE incidents (
    id              BIGINT PRIMARY KEY,
    category        TEXT NOT NULL,
    source          TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    opened_at       BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    resolved_at     BIGINT,
    resolved_by     BIGINT REFERENCES users(id) ON DELETE SET NULL,
    sla_minutes     BIGINT NOT NULL,
    escalations     BIGINT NOT NULL DEFAULT 0,
    flaps           BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX incidents_opened ON incidents (opened_at);
