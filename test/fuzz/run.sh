#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs libFuzzer targets built by `make fuzz` for SECONDS each, JOBS at a
# time, each from its seed corpus test/fuzz/corpus/<name>/ (replayed first:
# it holds every past finding's reproducer) into a fresh working corpus.
#   test/fuzz/run.sh BUILD_FUZZ SECONDS JOBS NAME...
# Prints one line per target, "PASS fuzz_<name>: ..." with its executions
# and coverage, or "FAIL fuzz_<name>: ..." with the reproducer's path and
# the end of its log; exits 1 when any target failed.
set -u
cd "$(dirname "$0")/../.."
build=$1 seconds=$2 jobs=$3
shift 3
work=$build/run
rm -rf "$work"
mkdir -p "$work"

run_one() {
	local name=$1 dir=$work/$1
	local tmp
	mkdir -p "$dir/corpus" "$dir/findings"
	# The targets' scratch files (fixture trees, segments) on tmpfs when
	# there is one: the disk tier's fsyncs cost nothing there.
	tmp=$(mktemp -d "${FUZZ_TMPDIR:-/dev/shm}/bpfpush-fuzz-XXXXXX" 2>/dev/null) ||
		tmp=$(mktemp -d "$dir/tmp-XXXXXX")
	# -close_fd_mask=2: the agent's own log lines (every one formatted,
	# none shown); libFuzzer and the sanitizers still report.
	ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=64 UBSAN_OPTIONS=print_stacktrace=1 \
	TMPDIR=$tmp timeout $((seconds * 3 + 120)) "$build/bin/fuzz_$name" \
		-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 \
		-print_final_stats=1 -artifact_prefix="$dir/findings/" \
		"$dir/corpus" "test/fuzz/corpus/$name" >"$dir/log" 2>&1
	local rc=$? repro stats
	stats=$(grep -a 'DONE ' "$dir/log" | tail -1 | sed 's/^#\([0-9]*\)[[:space:]]*DONE[[:space:]]*/\1 runs, /')
	if [ "$rc" -eq 0 ]; then
		echo "PASS fuzz_$name: $stats"
	else
		repro=$(grep -ao 'Test unit written to .*' "$dir/log" | tail -1 | sed 's/Test unit written to //')
		echo "FAIL fuzz_$name (exit $rc): reproducer ${repro:-none} log $dir/log"
		grep -av '^ts=' "$dir/log" | tail -30
	fi
	rm -rf "$tmp"
	return $rc
}

failed=0
running=0
for name in "$@"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n || failed=1
		running=$((running - 1))
	fi
	run_one "$name" &
	running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
	wait -n || failed=1
	running=$((running - 1))
done
exit $failed
