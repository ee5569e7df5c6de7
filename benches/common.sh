# Shared by the load scripts: start `bedrud run` (the appliance profile: release at
# opt-level 3) in a temp dir on a free port and wait until it answers. Sets $url and $pid;
# stops and cleans up on exit. Extra environment for the server can be passed as arguments
# (NAME=value ...).
# BEDRUD_BIN runs that binary instead (another build, to compare).
start_bedrud() {
  local bin
  if [ -n "${BEDRUD_BIN:-}" ]; then
    bin=$(realpath "$BEDRUD_BIN")
  else
    cargo build --profile appliance -q -p bedrud-sidecar
    bin=$(realpath target/appliance/bedrud)
  fi
  dir=$(mktemp -d)
  (cd "$dir" && exec env SERVER_PORT=0 RATELIMIT_AUTH_MAX=0 RATELIMIT_GUEST_MAX=0 RATELIMIT_ACCOUNT_MAX=0 "$@" \
    "$bin" run 2>"$dir/log") &
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
}

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# Registers a user and creates a public room; sets $TOKEN, $ROOM and $LIVE_ROOM (LiveKit's
# name for it: `<name>.<id>`).
user_and_room() {
  TOKEN=$(curl -sf "$url/api/auth/register" -H 'content-type: application/json' \
    -d '{"email":"load@example.com","password":"correct horse battery staple","name":"Load Test"}' \
    | json "['tokens']['accessToken']")
  local created
  created=$(curl -sf "$url/api/room/create" -H 'content-type: application/json' \
    -H "authorization: Bearer $TOKEN" -d '{"isPublic":true}')
  ROOM=$(echo "$created" | json "['name']")
  LIVE_ROOM="$ROOM.$(echo "$created" | json "['id']")"
  export TOKEN ROOM LIVE_ROOM
}
