-- SLA incidents (issue 19, SPEC §8, SLA annex): what the incident desk of
-- `serve` raised (server crash, failed backup, application unavailable...),
-- with its state, SLA timer and who acknowledged / resolved it. Ids are the
-- desk's (the next run resumes after the highest); times are Unix ms.
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    category        TEXT NOT NULL,
    source          TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    opened_at       INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    resolved_at     INTEGER,
    resolved_by     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    sla_minutes     INTEGER NOT NULL,
    escalations     INTEGER NOT NULL DEFAULT 0,
    flaps           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX incidents_opened ON incidents (opened_at);
