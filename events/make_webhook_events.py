"""Writes events/livekit-webhook-*.json: API Gateway v2 events carrying LiveKit webhook
deliveries produced by LiveKit's official Python SDK (PyPI `livekit-api` / `livekit-protocol`):
bodies are `MessageToJson` of `livekit.api.WebhookEvent` (proto-JSON exactly as the server
writes it: camelCase, int64 as strings, enum names, defaults omitted) and the Authorization
header is the SDK's own token with the body's SHA-256, signed with the TEST key pair below
(tests configure it; never use it anywhere else) and valid for a century so fixtures stay
usable.

Run: .tools/venv/bin/python events/make_webhook_events.py   (after `source .ci/tools.sh`)
"""

import base64
import datetime
import hashlib
import json
import pathlib

from google.protobuf.json_format import MessageToJson
from livekit import api

KEY = "APItestkey"
SECRET = "test-livekit-secret-0123456789abcdef"
# LiveKit's name for one incarnation of a room is `<name>.<room id>`; the test that delivers
# these creates room `lambda-room` with this id (tests/tests/it/lambda_rooms.rs).
ROOM_ID = "5e1f0c2a-7b3d-4c8e-9f10-2a3b4c5d6e7f"
ROOM = api.Room(sid="RM_fixture", name=f"lambda-room.{ROOM_ID}")
WHO = api.ParticipantInfo(
    sid="PA_fixture1",
    identity="guest-fix00001",
    name="Fixture Guest",
    state=api.ParticipantInfo.State.ACTIVE,
    joined_at=1795471210,
)
T0 = 1795471200  # 2026-11-23T22:00:00Z


def egress(status, **extra):
    return api.EgressInfo(
        egress_id="EG_fixture",
        room_id=ROOM.sid,
        room_name=ROOM.name,
        status=status,
        started_at=(T0 + 30) * 1_000_000_000,
        **extra,
    )


EVENTS = {
    "room-started": api.WebhookEvent(event="room_started", room=ROOM, created_at=T0),
    "participant-joined": api.WebhookEvent(
        event="participant_joined", room=ROOM, participant=WHO, created_at=T0 + 10
    ),
    "track-published": api.WebhookEvent(
        event="track_published",
        room=ROOM,
        participant=WHO,
        track=api.TrackInfo(sid="TR_fixture", type=api.TrackType.AUDIO,
                            source=api.TrackSource.MICROPHONE),
        created_at=T0 + 11,
    ),
    "egress-started": api.WebhookEvent(
        event="egress_started", egress_info=egress(api.EgressStatus.EGRESS_STARTING),
        created_at=T0 + 30,
    ),
    "egress-updated": api.WebhookEvent(
        event="egress_updated", egress_info=egress(api.EgressStatus.EGRESS_ACTIVE),
        created_at=T0 + 31,
    ),
    "egress-ended": api.WebhookEvent(
        event="egress_ended",
        egress_info=egress(
            api.EgressStatus.EGRESS_COMPLETE,
            ended_at=(T0 + 90) * 1_000_000_000,
            file_results=[api.FileInfo(
                filename="recordings/fixture.mp4",
                location="s3://bedrud-recordings/recordings/fixture.mp4",
                size=1048576, duration=60 * 1_000_000_000,
            )],
        ),
        created_at=T0 + 91,
    ),
    "egress-ended-legacy-file": api.WebhookEvent(
        event="egress_ended",
        egress_info=egress(
            api.EgressStatus.EGRESS_COMPLETE,
            ended_at=(T0 + 90) * 1_000_000_000,
            file=api.FileInfo(
                filename="recordings/fixture.mp4",
                location="s3://bedrud-recordings/recordings/fixture.mp4",
                size=1048576, duration=60 * 1_000_000_000,
            ),
        ),
        created_at=T0 + 92,
    ),
    "participant-left": api.WebhookEvent(
        event="participant_left", room=ROOM, participant=WHO, created_at=T0 + 120
    ),
    "participant-connection-aborted": api.WebhookEvent(
        event="participant_connection_aborted", room=ROOM, participant=WHO,
        created_at=T0 + 121,
    ),
    "room-finished": api.WebhookEvent(event="room_finished", room=ROOM, created_at=T0 + 180),
}


def apigw(body: str, token: str) -> dict:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/api/livekit/webhook",
        "rawQueryString": "",
        "headers": {
            "host": "api.example.com",
            "user-agent": "Go-http-client/1.1",
            "content-type": "application/webhook+json",
            "authorization": token,
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bedrudapi",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": "POST",
                "path": "/api/livekit/webhook",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "Go-http-client/1.1",
            },
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:22:00:00 +0000",
            "timeEpoch": 1795471200000,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def main() -> None:
    out = pathlib.Path(__file__).parent
    for n, (name, event) in enumerate(EVENTS.items()):
        event.id = f"EV_fixture_{n:02d}"
        body = MessageToJson(event, indent=None)
        sha = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        token = (
            api.AccessToken(KEY, SECRET)
            .with_ttl(datetime.timedelta(days=36500))
            .with_sha256(sha)
            .to_jwt()
        )
        path = out / f"livekit-webhook-{name}.json"
        path.write_text(json.dumps(apigw(body, token), indent=2) + "\n")
        print(path)


if __name__ == "__main__":
    main()
