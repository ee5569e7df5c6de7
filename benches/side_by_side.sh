#!/usr/bin/env bash
# `bedrud run` (appliance build) beside the Node reference services of ../shared/bench-ref
# (LiveKit's official server SDK, everything in memory), same machine, same run: wrk -t1
# against each in turn, RUNS times, for join and webhook; prints every run, the ratio of the
# medians, and bedrud's resident set idle and after its webhook runs. Each run also shows the
# CPU time per request of the server and of wrk itself (both share the machine's cores).
# The references are copied to .tools/bench-ref and `npm install`ed there (the npm registry is
# reachable); the webhook deliveries are made by LiveKit's Python SDK (`source .ci/tools.sh`
# first installs it). Every webhook run sends deliveries neither server has seen.
# Usage: benches/side_by_side.sh [runs=3] [duration=10s] [connections=16] [events-per-run=200000]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
DURATION=${2:-10s}
CONNS=${3:-16}
PER_RUN=${4:-200000}
# The references' fixed key pair and JWT secret (bench-ref/*.mjs).
KEY=acceptkey
SECRET=accept-secret-0123456789abcdefghijklmnop
REF=../shared/bench-ref
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
[ -x .tools/venv/bin/python ] || { echo "run 'source .ci/tools.sh' first (LiveKit's Python SDK)"; exit 1; }

mkdir -p .tools/bench-ref
cp "$REF"/package.json "$REF"/*.mjs .tools/bench-ref/
(cd .tools/bench-ref && npm install --silent --no-audit --no-fund >/dev/null)

# shellcheck source=benches/common.sh
source benches/common.sh
start_bedrud LIVEKIT_API_KEY=$KEY LIVEKIT_API_SECRET=$SECRET
user_and_room
bedrud_pid=$pid
refs=()
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Not in a command substitution: `refs` must be this shell's, for the trap below.
start_ref() { # script port
  node ".tools/bench-ref/$1" "$2" >"$dir/$1.log" 2>&1 &
  refs+=($!)
  for _ in $(seq 1 500); do
    grep -q listening "$dir/$1.log" 2>/dev/null && break
    sleep 0.01
  done
}
trap 'kill -TERM "${refs[@]}" "$bedrud_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
join_port=$(free_port)
start_ref join-ref.mjs "$join_port"
NODE_TOKEN=$(sed -n 's/.*token=//p' "$dir/join-ref.mjs.log" | head -1)
hook_port=$(free_port)
start_ref webhook-ref.mjs "$hook_port"

rss() { awk '/VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$bedrud_pid/status"; }
echo "bedrud resident set, idle: $(rss)"

DELIVERIES="$dir/deliveries.txt"
.tools/venv/bin/python benches/webhook_events.py "$KEY" "$SECRET" "$LIVE_ROOM" $((PER_RUN * RUNS * 2)) > "$DELIVERIES"
export DELIVERIES

# CPU time (user + system, in clock ticks) a process has used so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)
# One wrk run against the server with pid $1; prints "<rps> <p99 ms> <non-200> <server CPU
# µs per request> <wrk CPU µs per request>".
measure() { # pid url script [env...]
  local server=$1 url=$2 script=$3 before out
  shift 3
  before=$(ticks "$server")
  out=$(env "$@" /usr/bin/time -f "wrk-cpu %U %S" wrk -t1 -c"$CONNS" -d"$DURATION" -s "$script" "$url" 2>&1)
  echo "$out" | awk -v used=$(($(ticks "$server") - before)) -v tick="$TICK" '
    /requests in/ {n=$1} /Requests\/sec/ {rps=$2} /^p99:/ {p99=$2} /non-200/ {bad=$3}
    /^wrk-cpu/ {wrk=$2 + $3}
    END {printf "%s %s %s %.0f %.0f\n", rps, p99, bad, used / tick / n * 1e6, wrk / n * 1e6}'
}

declare -a nj bj nw bw
start=0
for run in $(seq 1 "$RUNS"); do
  read -r r p b c w < <(measure "${refs[0]}" "http://127.0.0.1:$join_port/api/room/join" benches/join.lua TOKEN="$NODE_TOKEN" ROOM=bench-room)
  nj+=("$r"); echo "run $run  join     node   $r req/s  p99 $p ms  non-200 $b  CPU/req ${c} µs (wrk ${w} µs)"
  read -r r p b c w < <(measure "$bedrud_pid" "$url/api/room/join" benches/join.lua TOKEN="$TOKEN" ROOM="$ROOM")
  bj+=("$r"); echo "run $run  join     bedrud $r req/s  p99 $p ms  non-200 $b  CPU/req ${c} µs (wrk ${w} µs)"
  read -r r p b c w < <(measure "${refs[1]}" "http://127.0.0.1:$hook_port/" benches/webhook.lua START=$((start)) COUNT="$PER_RUN")
  nw+=("$r"); echo "run $run  webhook  node   $r ev/s   p99 $p ms  non-200 $b  CPU/req ${c} µs (wrk ${w} µs)"
  read -r r p b c w < <(measure "$bedrud_pid" "$url/api/livekit/webhook" benches/webhook.lua START=$((start + PER_RUN)) COUNT="$PER_RUN")
  bw+=("$r"); echo "run $run  webhook  bedrud $r ev/s   p99 $p ms  non-200 $b  CPU/req ${c} µs (wrk ${w} µs)"
  start=$((start + 2 * PER_RUN))
done
echo "bedrud resident set, after the webhook runs: $(rss)"

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
mnj=$(median "${nj[@]}"); mbj=$(median "${bj[@]}"); mnw=$(median "${nw[@]}"); mbw=$(median "${bw[@]}")
echo "join     median: node $mnj, bedrud $mbj req/s; ratio $(ratio "$mbj" "$mnj")x"
echo "webhook  median: node $mnw, bedrud $mbw ev/s; ratio $(ratio "$mbw" "$mnw")x"
