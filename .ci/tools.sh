#!/usr/bin/env bash
# Installs the Python-side tools the tests use into ./.tools (idempotent, pinned versions):
# AWS SAM CLI, cfn-lint and cargo-lambda (template lint, `sam build`), moto server (DynamoDB/SQS/S3/SES emulator), LiveKit's official
# Python server SDK (interop checks of the tokens we mint), aiosmtpd (a real SMTP server the mail tests start),
# prometheus-client (its parser reads our /metrics) and openapi-spec-validator (checks the API description).
# Sourced by .ci/test; puts the venv on PATH and sets dummy AWS settings for the emulator.
set -euo pipefail
TOOLS=${TOOLS_DIR:-$PWD/.tools}
PACKAGES=('aws-sam-cli==1.170.0' 'cfn-lint==1.58.0' 'moto[server]==5.2.5' 'livekit-api==1.2.2' 'cargo-lambda==1.9.2' 'aiosmtpd==1.4.6' 'prometheus-client==0.26.0' 'openapi-spec-validator==0.9.0')
if [ ! -x "$TOOLS/venv/bin/sam" ] || [ ! -x "$TOOLS/venv/bin/cfn-lint" ] \
  || [ ! -x "$TOOLS/venv/bin/cargo-lambda" ] \
  || [ ! -x "$TOOLS/venv/bin/moto_server" ] \
  || ! "$TOOLS/venv/bin/python" -c 'import livekit.api, aiosmtpd, prometheus_client, openapi_spec_validator' 2>/dev/null; then
  echo "installing test tools into $TOOLS (first run only)..."
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check "${PACKAGES[@]}"
fi
# The interpreter tests use for checks with LiveKit's official SDK.
export BEDRUD_TEST_PYTHON="$TOOLS/venv/bin/python"
export PATH="$TOOLS/venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
# PostgreSQL's server binaries (the importer's tests start a throwaway cluster): Debian's
# postgresql package, installed if missing.
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing PostgreSQL (first run only)..."
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get install -y -q postgresql >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q postgresql >/dev/null; }
fi
# A real Redis for the embedded recording tests (bedrud run supervises redis-server):
# Debian's package, installed if missing.
if ! command -v redis-server >/dev/null; then
  echo "installing redis-server (first run only)..."
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get install -y -q redis-server >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q redis-server >/dev/null; }
fi
# A real ACME CA for the ACME test: Let's Encrypt's pebble (Debian package, with
# pebble-challtestsrv as its DNS), installed if missing.
if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then
  echo "installing pebble (first run only)..."
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get install -y -q pebble >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q pebble >/dev/null; }
fi
