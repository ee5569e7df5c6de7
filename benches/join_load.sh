#!/usr/bin/env bash
# Load test of the hot path: `bedrud run` (release, embedded store) on 127.0.0.1, one user
# holding a bearer token, wrk POSTing /api/room/join on a public room. Prints wrk's summary
# (requests/s) and the latency percentiles. Installs Debian's wrk if it is missing.
# Usage: benches/join_load.sh [duration=20s] [connections=16] [threads=1]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20s}
CONNS=${2:-16}
THREADS=${3:-1}
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p bedrud-sidecar
BIN=$(realpath target/release/bedrud)
dir=$(mktemp -d)
(cd "$dir" && SERVER_PORT=0 RATELIMIT_AUTH_MAX=0 RATELIMIT_GUEST_MAX=0 \
  exec "$BIN" run 2>"$dir/log") &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
url=""
for _ in $(seq 1 500); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$dir/log" 2>/dev/null | head -1 || true)
  if [ -n "$url" ] && curl -sf -o /dev/null "$url/api/health"; then break; fi
  url=""
  sleep 0.01
done
[ -n "$url" ] || { echo "bedrud did not start"; cat "$dir/log"; exit 1; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
TOKEN=$(curl -sf "$url/api/auth/register" -H 'content-type: application/json' \
  -d '{"email":"load@example.com","password":"correct horse battery staple","name":"Load Test"}' \
  | json "['tokens']['accessToken']")
ROOM=$(curl -sf "$url/api/room/create" -H 'content-type: application/json' \
  -H "authorization: Bearer $TOKEN" -d '{"isPublic":true}' | json "['name']")
export TOKEN ROOM
echo "bedrud $url, room $ROOM; wrk -t$THREADS -c$CONNS -d$DURATION"
wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s benches/join.lua "$url/api/room/join"
