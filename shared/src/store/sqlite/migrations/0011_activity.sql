-- What the admin console shows: suspended rooms, each room's last activity, the maintained
-- tallies (seeded here from the rows that exist), every meeting connection, and the room
-- events log (seeded with the rooms that exist).
ALTER TABLE rooms ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN last_activity_at INTEGER NOT NULL DEFAULT 0;
UPDATE rooms SET last_activity_at = MAX(created_at, updated_at);
CREATE INDEX rooms_by_activity ON rooms(last_activity_at) WHERE is_active = 1;

CREATE TABLE tallies (
    scope   TEXT NOT NULL,      -- ALL, D<yyyy-mm-dd> or H<yyyy-mm-dd>T<hh> (UTC)
    metric  TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (scope, metric)
) STRICT, WITHOUT ROWID;
INSERT INTO tallies (scope, metric, n)
    SELECT 'ALL', CASE provider WHEN 'guest' THEN 'guests' ELSE 'users' END, count(*)
    FROM users GROUP BY 2;
INSERT INTO tallies (scope, metric, n) SELECT 'ALL', 'rooms', count(*) FROM rooms;
INSERT INTO tallies (scope, metric, n)
    SELECT 'ALL', 'activeRooms', count(*) FROM rooms WHERE is_active = 1;
INSERT INTO tallies (scope, metric, n)
    SELECT 'ALL', 'publicRooms', count(*) FROM rooms WHERE is_active = 1 AND is_public = 1;
INSERT INTO tallies (scope, metric, n)
    SELECT 'ALL', 'persistentRooms', count(*) FROM rooms
    WHERE is_active = 1 AND COALESCE(json_extract(settings, '$.isPersistent'), 0) = 1;
INSERT INTO tallies (scope, metric, n)
    SELECT 'D' || date(created_at, 'unixepoch'), 'signups', count(*) FROM users
    WHERE provider <> 'guest' GROUP BY 1;
INSERT INTO tallies (scope, metric, n)
    SELECT 'D' || date(created_at, 'unixepoch'), 'roomsCreated', count(*) FROM rooms GROUP BY 1;

-- One row per LiveKit connection (participant sid): a user's room sessions.
CREATE TABLE attendance (
    session     TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    room_id     TEXT NOT NULL,
    room_name   TEXT NOT NULL,
    joined_at   INTEGER NOT NULL,
    left_at     INTEGER
) STRICT;
CREATE INDEX attendance_by_user ON attendance(user_id, joined_at);

-- room_created and room_joined, kept for the retention window; `key` makes each once.
CREATE TABLE room_events (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    room_id     TEXT NOT NULL,
    room_name   TEXT NOT NULL,
    user_id     TEXT,
    user_name   TEXT
) STRICT;
CREATE INDEX room_events_by_time ON room_events(at);
INSERT INTO room_events (key, at, kind, room_id, room_name, user_id)
    SELECT 'C' || id, created_at, 'room_created', id, name, created_by FROM rooms;
