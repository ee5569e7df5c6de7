-- Admission is explicit: only a record let in by the room's policy (a join) or by a promotion
-- opens a private room. Records written earlier: moderators, and records that carry a display
-- name (written by an admitted join; moderation and LiveKit reports wrote the identity).
ALTER TABLE room_members ADD COLUMN admitted INTEGER NOT NULL DEFAULT 0;
UPDATE room_members SET admitted = 1 WHERE role = 'moderator' OR name <> user_id;
-- A banned member moderates nothing: a ban demotes.
UPDATE room_members SET role = 'participant' WHERE banned = 1;
-- When a session's refresh token last rotated: the generation just rotated out keeps
-- answering for a few seconds (two tabs refreshing at once).
ALTER TABLE sessions ADD COLUMN rotated_at INTEGER;
