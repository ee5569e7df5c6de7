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
# shellcheck source=benches/common.sh
source benches/common.sh
start_bedrud
user_and_room
echo "bedrud $url, room $ROOM; wrk -t$THREADS -c$CONNS -d$DURATION"
wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s benches/join.lua "$url/api/room/join"
