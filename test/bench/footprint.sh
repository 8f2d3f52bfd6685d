#!/bin/bash
# SPDX-License-Identifier: MIT
# The agent's footprint as the DaemonSet runs it, for its resources:
# deploy/kubernetes/bpfpush.yml (default collectors, cgroup, the default
# BPF collectors, 15 s interval) with the host's own /proc, /sys and /,
# pushing to a VictoriaMetrics on loopback. Run as root (BPF collectors).
#   test/bench/footprint.sh [SECONDS]      (default 120)
# Prints peak RSS (VmHWM), RSS at the end and the CPU used (utime + stime
# from /proc/PID/stat) over the run, start-up included.
set -eu
cd "$(dirname "$0")/../.."
seconds=${1:-120}
bin=${BPFPUSH_BIN:-build/bpfpush}
work=build/footprint
rm -rf "$work" && mkdir -p "$work/vm" "$work/data" "$work/textfile"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
status_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

victoria-metrics -httpListenAddr=127.0.0.1:$port -storageDataPath="$work/vm" \
	-loggerLevel=WARN >"$work/vm.log" 2>&1 &
vm_pid=$!
agent_pid=
cleanup() {
	[ -n "$agent_pid" ] && kill -TERM "$agent_pid" 2>/dev/null && wait "$agent_pid" || true
	kill "$vm_pid" 2>/dev/null && wait "$vm_pid" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

sed -e "s|http://victoria-metrics.monitoring.svc:8428|http://127.0.0.1:$port|" \
	-e "s|/host/proc|/proc|; s|/host/sys|/sys|; s|rootfs: /host/root|rootfs: /|" \
	-e "s|data_dir: /var/lib/bpfpush|data_dir: $PWD/$work/data|" \
	-e "s|/host/root/var/lib/bpfpush/textfile|$PWD/$work/textfile|" \
	-e "s|listen_address: .*|listen_address: 127.0.0.1:$status_port|" \
	deploy/kubernetes/bpfpush.yml >"$work/bpfpush.yml"
NODE_NAME=$(hostname) "$bin" --config "$work/bpfpush.yml" 2>"$work/agent.log" &
agent_pid=$!
sleep "$seconds"

hz=$(getconf CLK_TCK)
read -r utime stime < <(awk '{print $14, $15}' "/proc/$agent_pid/stat")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$agent_pid/status")
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent_pid/status")
series=$(curl -fs "http://127.0.0.1:$status_port/metrics" | grep -vc '^#' || true)
up=$(curl -fs "http://127.0.0.1:$status_port/metrics" | grep -c '^bpfpush_bpf_collector_up{.*} 1' || true)
awk -v u="$utime" -v s="$stime" -v hz="$hz" -v t="$seconds" -v hwm="$hwm" -v rss="$rss" \
	-v series="$series" -v up="$up" 'BEGIN {
	cpu = (u + s) / hz
	printf "seconds=%d series=%d bpf_collectors_up=%d\n", t, series, up
	printf "VmHWM=%.1f MiB VmRSS=%.1f MiB\n", hwm / 1024, rss / 1024
	printf "cpu=%.2f s (user %.2f, system %.2f) = %.1f millicores on average\n",
		cpu, u / hz, s / hz, cpu / t * 1000
}'
