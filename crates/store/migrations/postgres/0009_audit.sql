-- The tamper-evident audit trail (SPEC §7, issue 18); see the SQLite twin.
CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor        BIGINT,
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

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE TABLE audit_checkpoints (
    hour_start BIGINT PRIMARY KEY,
    first_seq  BIGINT NOT NULL,
    last_seq   BIGINT NOT NULL,
    root       TEXT NOT NULL,
    signature  TEXT NOT NULL
);
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
FOR EACH ROW EXECUTE FUNCTION audit_append_only();
