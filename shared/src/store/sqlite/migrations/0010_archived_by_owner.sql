-- An owner's archived rooms, most recently archived first (GET /api/room/archived).
CREATE INDEX rooms_archived_by_owner ON rooms(created_by, archived_at) WHERE is_active = 0;
