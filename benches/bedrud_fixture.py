#!/usr/bin/env python3
"""A large Bedrud SQLite database for timing `bedrud import`, from the same DDL the tests use.

usage: benches/bedrud_fixture.py OUT.db [USERS]   (rooms = USERS/4, one ban and one moderator
per room, one preference row per 10 users). Every account's password is "correct horse battery"
(the reference's bcrypt hash, copied: the import never hashes).
"""
import pathlib
import sqlite3
import sys
import uuid

root = pathlib.Path(__file__).resolve().parent.parent
out = pathlib.Path(sys.argv[1])
users = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
out.unlink(missing_ok=True)
db = sqlite3.connect(out)
db.executescript((root / "sidecar/tests/it/bedrud/sqlite.sql").read_text())
HASH = "$2a$10$061BWsCndeGXvmNB6kXLWOZC95pXiDq0h.jkQ6SPW9Ld1N9Tjxohm"
ids = [str(uuid.uuid4()) for _ in range(users)]
db.executemany(
    "INSERT INTO users (id,email,name,provider,password,accesses,is_active,created_at,updated_at)"
    " VALUES (?,?,?,'local',?,'{user}',1,'2026-04-01 10:00:00+00:00','2026-04-01 10:00:00+00:00')",
    [(u, f"user{i}@example.com", f"User {i}", HASH) for i, u in enumerate(ids)],
)
db.executemany(
    "INSERT INTO user_preferences VALUES (?, '{\"audio\":{\"noiseSuppression\":true}}', NULL)",
    [(u,) for u in ids[::10]],
)
rooms = []
for i in range(users // 4):
    rid = str(uuid.uuid4())
    rooms.append((rid, f"room-{i}", ids[i], ids[i]))
db.executemany(
    "INSERT INTO rooms (id,name,created_by,is_active,max_participants,created_at,updated_at,admin_id)"
    " VALUES (?,?,?,1,0,'2026-04-02 10:00:00+00:00','2026-04-02 10:00:00+00:00',?)",
    rooms,
)
members = []
for i, (rid, _, _, _) in enumerate(rooms):
    members.append((str(uuid.uuid4()), rid, ids[(i + 1) % users], 1, 0))
    members.append((str(uuid.uuid4()), rid, ids[(i + 2) % users], 0, 1))
db.executemany(
    "INSERT INTO room_participants (id,room_id,user_id,joined_at,is_active,is_banned,is_moderator)"
    " VALUES (?,?,?,'2026-04-02 10:05:00+00:00',0,?,?)",
    members,
)
db.execute("INSERT INTO system_settings (id,registration_enabled,server_name) VALUES (1,1,'Bench')")
db.commit()
print(f"{out}: {users} users, {len(rooms)} rooms, {len(members)} bans and moderators")
