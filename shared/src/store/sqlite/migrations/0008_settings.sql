-- Runtime settings admins store (one JSON document, typed values by key) and its revision.
CREATE TABLE settings (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    doc     TEXT NOT NULL,
    rev     INTEGER NOT NULL
) STRICT;
