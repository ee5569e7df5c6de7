"""Prints N pre-signed LiveKit webhook deliveries, one per line: `<jwt>\\t<body>`.

participant_joined then participant_left for a stream of guests in one room, every event
with its own id, bodies as LiveKit's official Python SDK serialises them (proto-JSON) and
tokens made by its AccessToken with the body's SHA-256 (what LiveKit's server sends).
Usage: webhook_events.py KEY SECRET ROOM N
"""

import base64
import datetime
import hashlib
import sys

from google.protobuf.json_format import MessageToJson
from livekit import api

key, secret, room, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t0 = 1_795_471_200
alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
out = sys.stdout
for i in range(n):
    user, leaving = divmod(i, 2)
    tail = "".join(alphabet[(user // 36**k) % 36] for k in range(8))
    event = api.WebhookEvent(
        event="participant_left" if leaving else "participant_joined",
        id=f"EV_bench_{i}",
        created_at=t0 + i,
        room=api.Room(sid="RM_bench", name=room),
        participant=api.ParticipantInfo(sid=f"PA_{user}", identity=f"guest-{tail}"),
    )
    body = MessageToJson(event, indent=None)
    sha = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = (
        api.AccessToken(key, secret)
        .with_ttl(datetime.timedelta(hours=2))
        .with_sha256(sha)
        .to_jwt()
    )
    out.write(f"{token}\t{body}\n")
