-- TOTP second factor (issue 18): one secret per user, active once confirmed
-- by a first valid code; the last accepted time step refuses replays
-- (RFC 6238 §5.2); one-time recovery codes kept as SHA-256 only.
CREATE TABLE user_totp (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     TEXT    NOT NULL,
    active     BIGINT  NOT NULL DEFAULT 0,
    last_step  BIGINT,
    created_at BIGINT NOT NULL
);
CREATE TABLE totp_recovery (
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
