#!/usr/bin/env bash
# Load test of LiveKit webhook ingestion: `bedrud run` (release, embedded store) on 127.0.0.1,
# wrk POSTing pre-signed deliveries (participant_joined / participant_left for many guests in
# one room, each with its own event id, made by benches/webhook_events.py with LiveKit's
# Python SDK) to /api/livekit/webhook. Every request is verified (JWT + SHA-256 of the body)
# and applied (event id claimed, presence compare-and-set, seat count). Prints wrk's summary.
# Needs the Python SDK: `source .ci/tools.sh` first (it installs it into .tools/venv).
# Usage: benches/webhook_load.sh [duration=20s] [connections=16] [threads=1] [events=300000]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20s}
CONNS=${2:-16}
THREADS=${3:-1}
EVENTS=${4:-300000}
KEY=APIbenchkey
SECRET=bench-livekit-secret-0123456789abcdef
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
# shellcheck source=benches/common.sh
source benches/common.sh
start_bedrud LIVEKIT_API_KEY=$KEY LIVEKIT_API_SECRET=$SECRET
user_and_room
DELIVERIES="$dir/deliveries.txt"
.tools/venv/bin/python benches/webhook_events.py "$KEY" "$SECRET" "$LIVE_ROOM" "$EVENTS" > "$DELIVERIES"
export DELIVERIES
echo "bedrud $url, room $ROOM, $EVENTS distinct deliveries; wrk -t$THREADS -c$CONNS -d$DURATION"
wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s benches/webhook.lua "$url/api/livekit/webhook"
curl -sf "$url/api/room/$(curl -sf "$url/api/room/list" -H "authorization: Bearer $TOKEN" | json "[0]['id']")/presence?countOnly=1" -H "authorization: Bearer $TOKEN"
echo
