-- Customer merge and undo (SPEC §3.3): an agent merges a duplicate customer
-- into another by hand. The merged-away row stays, pointing at the survivor;
-- its identities and interactions move to the survivor; the events keep the
-- customer id they were written with (the log is append-only) and readers
-- resolve them through `merged_into`. Each merge keeps what it moved so an
-- undo restores exactly that.
ALTER TABLE customers ADD COLUMN merged_into INTEGER REFERENCES customers (id) ON DELETE SET NULL;
CREATE INDEX customers_merged_into ON customers (merged_into);

CREATE TABLE customer_merges (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    from_id      INTEGER NOT NULL,
    into_id      INTEGER NOT NULL,
    by_user      INTEGER NOT NULL,
    merged_at    INTEGER NOT NULL,
    -- JSON [{"kind":"phone","value":"+229..."}, ...]: the identities moved.
    identities   TEXT NOT NULL,
    -- JSON [12, 15, ...]: the interactions re-pointed.
    interactions TEXT NOT NULL,
    undone_at    INTEGER,
    undone_by    INTEGER
);
CREATE INDEX customer_merges_from ON customer_merges (from_id);
CREATE INDEX customer_merges_into ON customer_merges (into_id);
