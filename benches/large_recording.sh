#!/usr/bin/env bash
# Peak memory and throughput of processing one large recording (the processor streaming the
# egress file to its stable key), on the directory store and on S3 (moto on loopback).
# Prints the line the test writes: size, peak RSS growth, absolute peak, MiB/s.
# Usage: benches/large_recording.sh [MiB=1024]
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=${1:-1024}
# shellcheck source=.ci/tools.sh
source .ci/tools.sh >/dev/null
# shellcheck source=.ci/moto.sh
source .ci/moto.sh
for backend in fs s3; do
  BEDRUD_LARGE_MIB=$MIB BEDRUD_LARGE_BACKEND=$backend \
    cargo test --profile appliance -q -p bedrud-tests --test large_recording -- --nocapture 2>&1 \
    | grep 'large recording'
done
