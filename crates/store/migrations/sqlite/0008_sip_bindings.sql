-- SIP registrations kept across a restart (issue 13): a phone stays
-- reachable until its binding expires, even if the platform restarted.
CREATE TABLE sip_bindings (
    username   TEXT NOT NULL,
    contact    TEXT NOT NULL,
    source     TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    call_id    TEXT NOT NULL,
    PRIMARY KEY (username, contact)
);
