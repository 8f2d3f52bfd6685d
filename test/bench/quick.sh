#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench-quick: every bench script on a tiny workload, every figure
# printed, none judged; fails only when a script cannot run. The BPF,
# memory and disk benches run beside the others (the BPF one pins its
# ping-pong to CPU 0; every bench's agents and receivers have ports and
# directories of their own), their output printed after the rest: the
# whole must stay under 60 s. Usage: quick.sh BUILD_DIR
set -u
build=${1:-build}
bin=$build/bpfpush
work=$build/bench/quick
mkdir -p "$work"
rc=0
pids=()
names=()

# A script in the background, its output kept for the end.
beside() {
	local name=$1
	shift
	"$@" >"$work/$name.txt" 2>&1 &
	pids+=($!)
	names+=("$name")
}

# A script in the foreground, with how long it took.
run() {
	local t0=$SECONDS
	"$@" || { echo "bench-quick: FAILED: $*"; rc=1; }
	echo "bench-quick: $(basename "$2" 2>/dev/null || basename "$1"): $((SECONDS - t0)) s"
}

beside bpf env BPFPUSH_BIN="$bin" /usr/bin/python3 test/bench/bpf_bench.py --quick
beside memory /usr/bin/python3 test/bench/memory_bench.py --bpfpush "$bin" \
	--workdir "$work/memory" --quick
beside disk /usr/bin/python3 test/bench/disk_bench.py --bpfpush "$bin" --workdir "$work/disk" \
	--series 1000 --steady-seconds 1 --outage-seconds 1 --big-series 2000 \
	--backlog-minutes 0.05 --backlog-interval 1 --drain-timeout 30 --time-limit 40
run "$build/bench/encode_bench" --series 2000 --batch 500 --runs 1
run /usr/bin/python3 test/bench/rw2_wire.py --bpfpush "$bin" --rounds 1
run /usr/bin/python3 test/bench/remote_write_bench.py --bpfpush "$bin" \
	--workdir "$work/remote-write" --series 2000 --interval 2 --warmup 1 --rounds 1 \
	--mem-rounds 2 --mem-base-round 1 --time-limit 40
run /usr/bin/python3 test/bench/collectors_bench.py --bin "$bin" --rounds 1 \
	--warmup 1 --scrapes 2 --alloc-rounds 1 --no-valgrind --repeat 1
run /usr/bin/python3 test/bench/relabel_bench.py --bpfpush "$bin" \
	--workdir "$work/relabel" --series 2000 --rounds 1 --repeat 1 --time-limit 30
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || { echo "bench-quick: FAILED: ${names[$i]} bench"; rc=1; }
	cat "$work/${names[$i]}.txt"
done
exit $rc
