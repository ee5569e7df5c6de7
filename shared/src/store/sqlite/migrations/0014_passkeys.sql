-- Passkeys (WebAuthn credentials), deleted with their account, and ceremonies in progress.
CREATE TABLE passkeys (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id  BLOB NOT NULL UNIQUE,
    public_key     BLOB NOT NULL,              -- SubjectPublicKeyInfo DER
    algorithm      INTEGER NOT NULL,           -- COSE: -7 ES256, -257 RS256
    sign_count     INTEGER NOT NULL,
    name           TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER
) STRICT;
CREATE INDEX passkeys_user ON passkeys(user_id, created_at);

CREATE TABLE passkey_ceremonies (
    id          TEXT PRIMARY KEY,
    ceremony    TEXT NOT NULL,                 -- register | login | signup
    user_id     TEXT,
    state       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX passkey_ceremonies_expiry ON passkey_ceremonies(expires_at);
