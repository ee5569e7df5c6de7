-- What LiveKit reports: the meeting running in a room, each member's connection, and the
-- webhook deliveries (event ids applied once, a delivery count for admins).
ALTER TABLE rooms ADD COLUMN live_sid TEXT;
ALTER TABLE room_members ADD COLUMN session TEXT;
ALTER TABLE room_members ADD COLUMN seen_at INTEGER NOT NULL DEFAULT 0;
-- What the reconciler walks: rooms holding seats or a live meeting.
CREATE INDEX rooms_busy ON rooms(name)
    WHERE is_active = 1 AND (active_count > 0 OR live_sid IS NOT NULL);

CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY,
    expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX webhook_events_expiry ON webhook_events(expires_at);

CREATE TABLE webhook_stats (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    count    INTEGER NOT NULL,
    last_at  INTEGER NOT NULL
) STRICT;
