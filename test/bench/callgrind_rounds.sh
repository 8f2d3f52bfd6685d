#!/bin/bash
# SPDX-License-Identifier: MIT
# Instructions per steady round of bpfpush, under valgrind's callgrind:
# counting is zeroed a while after round WARM and dumped a while after
# ROUNDS more rounds, so the dump holds whole rounds (collection and the
# senders' work on them), not start-up. Use an interval long enough for a
# round to finish under callgrind (8 s for 20,000 series).
#   test/bench/callgrind_rounds.sh BIN CONFIG OUT [WARM [ROUNDS [SETTLE_S]]]
# then: test/bench/callgrind_self.py OUT.cg.1 SAMPLES
set -eu
BIN=$1 CFG=$2 OUT=$3 WARM=${4:-2} ROUNDS=${5:-2} SETTLE=${6:-4}
valgrind --tool=callgrind --callgrind-out-file="$OUT.cg" "$BIN" --config "$CFG" \
	--log-level debug >"$OUT.log" 2>&1 &
VG=$!
trap 'kill $VG 2>/dev/null || true' EXIT
rounds() { grep -c 'round collected' "$OUT.log" || true; }
until [ "$(rounds)" -ge "$WARM" ]; do kill -0 $VG; sleep 0.5; done
sleep "$SETTLE"
callgrind_control -z $VG >/dev/null
START=$(rounds)
until [ "$(rounds)" -ge $((START + ROUNDS)) ]; do kill -0 $VG; sleep 0.5; done
sleep "$SETTLE"
callgrind_control -d $VG >/dev/null
echo "rounds in the dump: $(( $(rounds) - START ))"
grep 'round collected' "$OUT.log" | tail -n 1
