#!/bin/bash
# SPDX-License-Identifier: MIT
# `make run`: a local VictoriaMetrics on loopback as the storage, the agent
# with deploy/examples/bpfpush.yml pointed at it, and what arrived, queried
# back after every round. Runs until Ctrl-C, or for $DURATION (e.g. 30s).
set -eu
cd "$(dirname "$0")/.."

work=build/run
rm -rf "$work" && mkdir -p "$work/textfile" "$work/vm"
port=8428
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fi
vm_url=http://127.0.0.1:$port

victoria-metrics -httpListenAddr=127.0.0.1:$port -storageDataPath="$work/vm" \
	-search.latencyOffset=0s -loggerLevel=WARN >"$work/vm.log" 2>&1 &
vm_pid=$!
agent_pid=
cleanup() {
	[ -n "$agent_pid" ] && kill -TERM "$agent_pid" 2>/dev/null && wait "$agent_pid" || true
	kill "$vm_pid" 2>/dev/null && wait "$vm_pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM
for _ in $(seq 100); do curl -fs "$vm_url/health" >/dev/null && break; sleep 0.1; done

# The example config, pointed at this VictoriaMetrics, a 5 s interval so
# something shows quickly, and a textfile directory and data_dir under
# build/run (an installed agent keeps /var/lib/bpfpush to itself).
sed -e "s|http://127.0.0.1:8428|$vm_url|" -e "s|interval: 15s|interval: 5s|" \
	-e "s|^global:|global:\n  data_dir: $PWD/$work/data|" \
	-e "s|batch_send_deadline: 5s|batch_send_deadline: 1s|" \
	-e "s|/var/lib/bpfpush/textfile|$PWD/$work/textfile|" \
	deploy/examples/bpfpush.yml >"$work/bpfpush.yml"
echo "make_run_started $(date +%s)" >"$work/textfile/run.prom"

echo "VictoriaMetrics: $vm_url   config: $work/bpfpush.yml   agent log: $work/agent.log"
build/bpfpush --config "$work/bpfpush.yml" 2>"$work/agent.log" &
agent_pid=$!

show() {
	curl -fs "$vm_url/internal/force_flush" >/dev/null || true
	echo "---- $(date +%T) series in VictoriaMetrics: $(curl -fs "$vm_url/api/v1/series/count" | tr -dc '0-9')"
	for q in node_load1 node_memory_MemAvailable_bytes \
		'sum(rate(node_cpu_seconds_total{mode!="idle"}[1m]))' \
		'histogram_quantile(0.99, rate(kernel_runqueue_latency_seconds_bucket[1m]))' \
		bpfpush_remote_storage_samples_total make_run_started; do
		curl -fs "$vm_url/api/v1/query" --data-urlencode "query=$q" |
			/usr/bin/python3 -c 'import json,sys; q=sys.argv[1]; r=json.load(sys.stdin)["data"]["result"]
print("  %-74s %s" % (q, ", ".join(s["value"][1] for s in r) or "(nothing yet)"))' "$q"
	done
}

start=$(date +%s)
limit=0
if [ -n "${DURATION:-}" ]; then
	limit=$(echo "$DURATION" | sed -E 's/^([0-9]+)s?$/\1/; s/^([0-9]+)m$/\1*60/' | awk -F'*' '{print $1 * ($2 ? $2 : 1)}')
fi
while kill -0 "$agent_pid" 2>/dev/null; do
	sleep 5
	show
	if [ "$limit" -gt 0 ] && [ $(($(date +%s) - start)) -ge "$limit" ]; then
		break
	fi
done
kill -TERM "$agent_pid" 2>/dev/null || true
wait "$agent_pid" && rc=0 || rc=$?
agent_pid=
echo "agent exited with status $rc; last log lines:"
tail -3 "$work/agent.log"
exit $rc
