-- Mobile agents (issue 22, SPEC §6.1): positions a consenting agent's
-- browser shares while logged in (WGS 84 degrees, accuracy in metres), kept
-- for `[positions] retention_days`; and field visits, a mobile agent's
-- check-in at a customer with the position and notes.
CREATE TABLE agent_positions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id   BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    lat        DOUBLE PRECISION NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon        DOUBLE PRECISION NOT NULL CHECK (lon BETWEEN -180 AND 180),
    accuracy_m DOUBLE PRECISION NOT NULL CHECK (accuracy_m >= 0)
);
CREATE INDEX agent_positions_agent_at ON agent_positions (agent_id, at);
CREATE INDEX agent_positions_at ON agent_positions (at);

CREATE TABLE field_visits (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id    BIGINT NOT NULL REFERENCES agents(id),
    customer_id BIGINT NOT NULL REFERENCES customers(id),
    at          BIGINT NOT NULL,
    lat         DOUBLE PRECISION CHECK (lat BETWEEN -90 AND 90),
    lon         DOUBLE PRECISION CHECK (lon BETWEEN -180 AND 180),
    accuracy_m  DOUBLE PRECISION CHECK (accuracy_m >= 0),
    notes       TEXT NOT NULL
);
CREATE INDEX field_visits_customer ON field_visits (customer_id, at);
