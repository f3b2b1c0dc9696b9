-- TOTP second factor (issue 18): one secret per user, active once confirmed
-- by a first valid code; the last accepted time step refuses replays
-- (RFC 6238 §5.2); one-time recovery codes kept as SHA-256 only.
CREATE TABLE user_totp (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     TEXT    NOT NULL,
    active     INTEGER NOT NULL DEFAULT 0,
    last_step  INTEGER,
    created_at INTEGER NOT NULL
);
CREATE TABLE totp_recovery (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
