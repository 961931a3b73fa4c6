#!/usr/bin/env bash
# The benchmark suite at a size that fits a 2-core machine in a few minutes.
# Every figure is quoted as a ratio to a peer or floor measured in the same run
# (PERFORMANCE.md §6); absolute numbers are for trends only.
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${BENCHTIME:-1s}
go test -run '^$' -bench . -benchmem -benchtime "$benchtime" ./auth/... ./media/... 2>&1 | tee /tmp/handset-bench.txt
