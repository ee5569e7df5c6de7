#!/usr/bin/env bash
# Measures `bedrud run` start-up: exec → first 200 from /api/health, on 127.0.0.1, N runs,
# each in a fresh data directory (cold: creates the database and dev secrets).
# Usage: benches/startup.sh [path/to/bedrud] [runs]
set -euo pipefail
BIN=${1:-target/appliance/bedrud}
RUNS=${2:-10}
BIN=$(realpath "$BIN")
times=()
for _ in $(seq 1 "$RUNS"); do
  dir=$(mktemp -d)
  start=$(date +%s%N)
  (cd "$dir" && SERVER_PORT=0 exec "$BIN" run 2>"$dir/log") &
  pid=$!
  url=""
  for _ in $(seq 1 2000); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$dir/log" 2>/dev/null | head -1 || true)
    if [ -n "$url" ] && curl -sf -o /dev/null "$url/api/health"; then break; fi
    url=""
    sleep 0.002
  done
  end=$(date +%s%N)
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$dir"
  [ -n "$url" ] || { echo "bedrud did not become healthy"; exit 1; }
  times+=($(( (end - start) / 1000000 )))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "runs: $RUNS  min: $(echo "$sorted" | head -1) ms  median: $(echo "$sorted" | sed -n "$(( (RUNS + 1) / 2 ))p") ms  max: $(echo "$sorted" | tail -1) ms"
