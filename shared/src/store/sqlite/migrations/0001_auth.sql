-- Accounts, sessions (refresh-token families) and shared counters.
CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    email             TEXT UNIQUE,              -- lower-case; NULL for guests
    name              TEXT NOT NULL,
    provider          TEXT NOT NULL,
    accesses          TEXT NOT NULL,            -- JSON array of role names
    avatar_url        TEXT,
    is_active         INTEGER NOT NULL DEFAULT 1,
    password_hash     TEXT,
    preferences_json  TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    generation  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE counters (
    key         TEXT PRIMARY KEY,
    count       INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX counters_by_expiry ON counters(expires_at);
