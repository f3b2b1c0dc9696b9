-- The durable event writer (issue 12).
--
-- id_counters: interaction ids are taken from this counter, in blocks by a
-- node's engine core (reserve_interaction_ids) and one at a time by
-- create_interaction, so the two never hand out the same id. It starts past
-- every id AUTOINCREMENT has used.
CREATE TABLE id_counters (
    name    TEXT PRIMARY KEY,
    next_id INTEGER NOT NULL
);
INSERT INTO id_counters (name, next_id)
SELECT 'interaction',
       MAX(COALESCE((SELECT MAX(id) FROM interactions), 0),
           COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'interactions'), 0)) + 1;

-- write_progress: per writer run (node), the highest write seq applied, in
-- the same transaction as the writes. A journal replayed after a crash
-- between commit and journal trim skips writes at or below it (no duplicated
-- event).
CREATE TABLE write_progress (
    node     INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
