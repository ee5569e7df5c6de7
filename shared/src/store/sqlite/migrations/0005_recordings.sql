-- Recordings: kept when their room is archived. One live (pending, active, ending) recording
-- per room, enforced by a partial unique index.
CREATE TABLE recordings (
    id           TEXT PRIMARY KEY,
    room_id      TEXT NOT NULL,
    room_name    TEXT NOT NULL,
    started_by   TEXT NOT NULL,
    status       TEXT NOT NULL,
    egress_id    TEXT UNIQUE,
    egress_key   TEXT NOT NULL,
    key          TEXT,
    size         INTEGER,
    duration_ms  INTEGER,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    ended_at     INTEGER,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX recordings_one_live ON recordings(room_id)
    WHERE status IN ('pending', 'active', 'ending');
CREATE INDEX recordings_by_room ON recordings(room_id, created_at);
