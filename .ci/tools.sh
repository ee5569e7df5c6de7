#!/usr/bin/env bash
# Installs the Python-side tools the tests use into ./.tools (idempotent, pinned versions):
# AWS SAM CLI (template lint) and moto server (DynamoDB/SQS/S3 emulator).
# Sourced by .ci/test; puts the venv on PATH and sets dummy AWS settings for the emulator.
set -euo pipefail
TOOLS=${TOOLS_DIR:-$PWD/.tools}
if [ ! -x "$TOOLS/venv/bin/sam" ] || [ ! -x "$TOOLS/venv/bin/moto_server" ]; then
  echo "installing test tools into $TOOLS (first run only)..."
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check 'aws-sam-cli==1.170.0' 'moto[server]==5.2.5'
fi
export PATH="$TOOLS/venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
