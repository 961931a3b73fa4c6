#!/usr/bin/env bash
# The benchmark suite at a size that fits a 2-core machine in a few minutes.
# Every figure is quoted as a ratio to a peer or floor measured in the same run
# (PERFORMANCE.md §6); absolute numbers are for trends only.
#   B1  SRTP protect/unprotect vs pion/srtp and the RFC 3711 stdlib floor (media/srtp)
#   B2  NTLM AUTHENTICATE, MS-SIPAE sign/verify vs the stdlib floor (auth/sipae)
#   B4b sign-in storm vs a bare TLS+NTLM client; B5 held handsets vs bare TLS
#       connections; B6 call setups (handset pairs via labfe) vs sipp UDP; B7 SRTP
#       calls vs the raw-UDP floor (cmd/handset/internal/bench, also `handset bench`)
# Sizes: COUNT (micro repetitions, default 5), HANDSET_BENCH_LOGONS (500),
# HANDSET_BENCH_HELD (1000), HANDSET_BENCH_CALL_PAIRS (20), HANDSET_BENCH_HOLD_S (20), HANDSET_BENCH_CALLS (500),
# HANDSET_BENCH_MEDIA_S (10).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-/tmp/handset-bench.txt}
count=${COUNT:-5}
{
	echo "# $(go version), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //')"
	go test -run '^$' -bench 'B1|B2' -benchmem -count "$count" -benchtime 0.2s ./media/srtp ./auth/sipae
	go test -run '^$' -bench . -benchtime 1x -timeout 20m ./cmd/handset/internal/bench
	if pkg-config --exists libsrtp2 2>/dev/null; then
		HANDSET_BENCH_SRTP=1 go test -count=1 -run TestPrintBenchRatio -v ./media/srtp | grep -E 'libsrtp|ours' || true
	fi
} 2>&1 | tee "$out"
echo "bench: figures in $out"
