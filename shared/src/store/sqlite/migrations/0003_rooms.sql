-- Rooms (a name is unique among active rooms) and their members.
CREATE TABLE rooms (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    admin_id            TEXT NOT NULL,
    is_active           INTEGER NOT NULL,
    is_public           INTEGER NOT NULL,
    max_participants    INTEGER NOT NULL,     -- 0 = unlimited
    mode                TEXT NOT NULL,
    allow_chat          INTEGER NOT NULL,
    allow_video         INTEGER NOT NULL,
    allow_audio         INTEGER NOT NULL,
    require_approval    INTEGER NOT NULL,
    e2ee                INTEGER NOT NULL,
    is_persistent       INTEGER NOT NULL,
    recordings_allowed  INTEGER NOT NULL,
    active_count        INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    archived_at         INTEGER
) STRICT;
CREATE UNIQUE INDEX rooms_active_name ON rooms(name) WHERE is_active = 1;
CREATE INDEX rooms_active_by_owner ON rooms(created_by, created_at, id) WHERE is_active = 1;
CREATE INDEX rooms_archived_by_name ON rooms(name, archived_at) WHERE is_active = 0;

CREATE TABLE room_members (
    room_id       TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    is_active     INTEGER NOT NULL,
    banned        INTEGER NOT NULL,
    denied        TEXT NOT NULL,              -- JSON array of LiveKit source names
    chat_blocked  INTEGER NOT NULL,
    joined_at     INTEGER NOT NULL,
    left_at       INTEGER,
    PRIMARY KEY (room_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX room_members_active ON room_members(room_id) WHERE is_active = 1;
