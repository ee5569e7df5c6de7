-- Sign-in providers' identities (Google's `sub`, GitHub's or X's user id) linked to accounts.
CREATE TABLE account_links (
    link        TEXT PRIMARY KEY,            -- `provider#subject`
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX account_links_user ON account_links(user_id);
