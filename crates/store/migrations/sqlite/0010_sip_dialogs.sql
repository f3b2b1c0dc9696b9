-- Confirmed SIP dialogs kept across a restart (issue 13): after a crash
-- the next start sends each one a BYE (RFC 3261 §15.1.1), then forgets it.
CREATE TABLE sip_dialogs (
    call_id       TEXT PRIMARY KEY,
    local_party   TEXT NOT NULL,
    local_tag     TEXT NOT NULL,
    remote_party  TEXT NOT NULL,
    remote_target TEXT NOT NULL,
    route_set     TEXT NOT NULL,
    transport     TEXT NOT NULL,
    peer          TEXT NOT NULL,
    local_cseq    BIGINT NOT NULL,
    saved_at      BIGINT NOT NULL
);
