#!/usr/bin/env bash
# Every function's bootstrap from `sam build` is at most 6 MB (6,000,000 bytes): the package
# is fetched on every cold start. Prints the sizes for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=6000000
expected=$(find functions -mindepth 1 -maxdepth 1 -type d | wc -l)
count=0
over=0
for f in .aws-sam/build/*/bootstrap; do
  size=$(stat -c %s "$f")
  printf '%-30s %9d bytes\n' "$(basename "$(dirname "$f")")" "$size"
  count=$((count + 1))
  if [ "$size" -gt "$limit" ]; then over=1; fi
done
if [ "$count" -ne "$expected" ]; then
  echo "sizes: $count bootstraps for $expected functions" >&2
  exit 1
fi
if [ "$over" -ne 0 ]; then
  echo "sizes: a bootstrap is over $limit bytes" >&2
  exit 1
fi
