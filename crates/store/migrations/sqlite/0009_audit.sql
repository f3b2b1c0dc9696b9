-- The tamper-evident audit trail (SPEC §7, issue 18): who did what to what,
-- when, from where, with the state before and after a change. Each row
-- carries the previous row's hash (`iam::audit::entry_hash`), so a changed,
-- inserted or removed row breaks the chain; hourly checkpoints hold the
-- Merkle root of the hour's rows signed with Ed25519. Append-only: triggers
-- refuse UPDATE and DELETE (a tamperer who drops them is caught by
-- `switchboard audit verify`).
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    actor        INTEGER,
    action       TEXT NOT NULL,
    target       TEXT NOT NULL,
    source       TEXT,
    before_state TEXT,
    after_state  TEXT,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor);
CREATE INDEX audit_log_action ON audit_log (action);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE audit_checkpoints (
    hour_start INTEGER PRIMARY KEY,
    first_seq  INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    root       TEXT NOT NULL,
    -- Ed25519 signature, 128 hex characters.
    signature  TEXT NOT NULL
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
