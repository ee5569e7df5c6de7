#!/usr/bin/env bash
# Starts moto server on a free loopback port for the rest of the calling script and exports
# AWS_ENDPOINT_URL. Sourced after .ci/tools.sh; stops moto (by PID) when the caller exits.
# moto serves DynamoDB requests one at a time (see moto_serial.py): conditional writes must
# not race.
set -euo pipefail
MOTO_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
MOTO_LOG=${TOOLS:-.tools}/moto.log
python "$(dirname "${BASH_SOURCE[0]}")/moto_serial.py" 127.0.0.1 "$MOTO_PORT" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do
  curl -sf -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/" && break
  sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/" || { echo "moto did not start"; cat "$MOTO_LOG"; exit 1; }
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
echo "moto server on $AWS_ENDPOINT_URL (pid $MOTO_PID)"
