#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs every test and ends with one line "N passed, N failed".
#   unit tests (cmocka), built plain (build/) and with ASan+UBSan (build/san/)
#   integration tests (pytest; real VictoriaMetrics and Prometheus receivers),
#   most of them two at a time, then the BPF, runtime and parity tests alone
# A unit binary that dies without cmocka's summary counts as one failure.
# Then each fuzz target for 20 s (one test each; test/fuzz/run.sh).
# Last, `make bench-quick` (every benchmark on a tiny workload) counts as one test.
set -u
cd "$(dirname "$0")/.."

passed=0
failed=0
log_dir=build/test-logs
mkdir -p "$log_dir"

# One unit binary: its console lines go to stdout, "PASSED FAILED" to $2.
run_unit() {
	local bin=$1 tally=$2 name out p f
	name=$(echo "$bin" | tr '/' '_')
	out="$log_dir/$name.log"
	echo "== $bin"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		timeout 300 "$bin" >"$out" 2>&1
	local rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed, leaked or timed out after its summary
	fi
	echo "$p $f" >>"$tally"
	if [ "$f" -ne 0 ]; then
		echo "   FAILED (exit $rc): $out"
		tail -40 "$out"
	else
		echo "   $p passed"
	fi
}

# The plain and the sanitized binaries run side by side (one core each).
run_units() {
	local dir=$1 tag=$2 bin
	: >"$log_dir/units-$tag.tally"
	for bin in "$dir"/test_*; do
		[ -x "$bin" ] && run_unit "$bin" "$log_dir/units-$tag.tally"
	done >"$log_dir/units-$tag.out" 2>&1
}

run_units build/test plain &
run_units build/san/test san &
wait
for tag in plain san; do
	cat "$log_dir/units-$tag.out"
	while read -r p f; do
		passed=$((passed + p))
		failed=$((failed + f))
	done <"$log_dir/units-$tag.tally"
done

# pytest's summary line in $1 into the totals; none counts as a failure.
count_pytest() {
	local summary p f
	summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error)' "$1" | tail -1)
	p=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
	f=$(echo "$summary" | grep -oE '[0-9]+ (failed|errors?)' | awk '{s += $1} END {print s + 0}')
	p=${p:-0}
	f=${f:-0}
	if [ -z "$summary" ]; then
		f=$((f + 1)) # pytest itself failed to run
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

# Most integration tests wait on receivers and timers, so two run at once
# (pytest-xdist, a file per worker). Those that compare counts with the
# whole host's (the BPF programs, node_exporter parity) or start a
# container runtime run alone after them, with the machine to themselves.
alone="test/bpf test/runtime test/integration/test_node_exporter_parity.py"
pytest_run() {
	BPFPUSH_BIN=build/bpfpush BPFPUSH_SAN_BIN=build/san/bpfpush \
		timeout 2400 /usr/bin/python3 -m pytest -p no:cacheprovider -q -rfE --durations=25 "$@"
}

echo "== integration (pytest, two at a time)"
out="$log_dir/integration.log"
pytest_run -n 2 --dist loadfile test/structure test/integration \
	--ignore test/integration/test_node_exporter_parity.py 2>&1 | tee "$out"
count_pytest "$out"

echo "== integration (pytest, one at a time: BPF, runtime, parity)"
out="$log_dir/integration-alone.log"
pytest_run $alone 2>&1 | tee "$out"
count_pytest "$out"

# Each libFuzzer target (make fuzz-build, in build/fuzz) for 20 s, two at a
# time, as one test each: its seed corpus (past findings included) replayed
# and no new finding.
echo "== fuzz (libFuzzer, 20 s per target)"
fuzz_names=$(ls test/fuzz/fuzz_*.c | sed 's|test/fuzz/fuzz_\(.*\)\.c|\1|')
test/fuzz/run.sh build/fuzz 20 2 $fuzz_names >"$log_dir/fuzz.log" 2>&1
cat "$log_dir/fuzz.log"
p=$(grep -c '^PASS fuzz_' "$log_dir/fuzz.log")
for name in $fuzz_names; do
	grep -q "^PASS fuzz_$name:" "$log_dir/fuzz.log" || failed=$((failed + 1))
done
passed=$((passed + p))

# The benchmarks on tiny workloads, as one test: they must still run.
echo "== bench-quick (smoke test: every figure, no targets)"
if timeout 300 make -s bench-quick >"$log_dir/bench-quick.log" 2>&1; then
	passed=$((passed + 1))
	echo "   passed"
else
	failed=$((failed + 1))
	echo "   FAILED: $log_dir/bench-quick.log"
	tail -40 "$log_dir/bench-quick.log"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
