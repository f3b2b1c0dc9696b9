-- One dialer call in flight per number (issue 15): the primary key refuses
-- a second claim across campaigns, nodes and restarts.
CREATE TABLE dial_in_flight (
    number     TEXT PRIMARY KEY,
    campaign   BIGINT NOT NULL,
    claimed_at BIGINT NOT NULL
);
