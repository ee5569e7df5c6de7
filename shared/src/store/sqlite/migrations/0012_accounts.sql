-- E-mail verification and one-time account links. Accounts from before verification count
-- as confirmed at their creation; guests have no address.
ALTER TABLE users ADD COLUMN email_verified_at INTEGER;
ALTER TABLE users ADD COLUMN signup_pending INTEGER NOT NULL DEFAULT 0;
UPDATE users SET email_verified_at = created_at WHERE email IS NOT NULL;
CREATE INDEX users_pending_signups ON users(created_at) WHERE signup_pending = 1;

-- One live link per user and purpose (a new one replaces the last); only its hash is kept.
CREATE TABLE account_tokens (
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,                -- verify | reset
    token_hash  TEXT NOT NULL,                -- hex SHA-256 of the link's token
    email       TEXT NOT NULL,                -- the address it was sent to
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, purpose)
) STRICT;
