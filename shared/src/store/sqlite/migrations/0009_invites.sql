-- Invite tokens: single use (used_at set in the registration's transaction), expiring.
CREATE TABLE invite_tokens (
    id          TEXT PRIMARY KEY,
    token       TEXT NOT NULL UNIQUE,
    email       TEXT,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    used_by     TEXT
) STRICT;
CREATE INDEX invite_tokens_by_created ON invite_tokens(created_at);
