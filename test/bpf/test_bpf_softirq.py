# SPDX-License-Identifier: MIT
"""softirq under loopback network traffic, against /proc/softirqs."""
import socket
import threading
import time

from bpfharness import assert_missing_hook_disables_only_it, start_agent
from conftest import BIN

NAME = "kernel_softirq_duration_seconds"
VECTORS = {"HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED",
           "HRTIMER", "RCU"}


def proc_softirqs():
    """{vector: count summed over CPUs}."""
    out = {}
    with open("/proc/softirqs") as f:
        next(f)
        for line in f:
            name, *counts = line.split()
            out[name.rstrip(":")] = sum(int(c) for c in counts)
    return out


def echo(listener):
    conn, _ = listener.accept()
    with conn:
        while True:
            data = conn.recv(64)
            if not data:
                break
            conn.sendall(data)


def ping_pong(rounds):
    """Small request/response pairs on loopback: each packet is received
    through the NET_RX softirq."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    server = threading.Thread(target=echo, args=(listener,), daemon=True)
    server.start()
    with socket.create_connection(listener.getsockname(), timeout=10) as c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(rounds):
            c.sendall(b"ping")
            assert c.recv(64) == b"ping"
    server.join(10)
    listener.close()


def test_softirq_net_rx_matches_proc_softirqs(tmp_path):
    agent = start_agent(BIN, tmp_path, {"softirq": "{}"})
    try:
        idle0, t_idle = proc_softirqs()["NET_RX"], time.monotonic()
        before = agent.next_round()  # read before proc0: it began earlier
        proc0 = proc_softirqs()
        # The host's own NET_RX rate (other traffic), for the tolerance.
        background = (proc0["NET_RX"] - idle0) / (time.monotonic() - t_idle)
        ping_pong(5000)
        proc1 = proc_softirqs()
        after = agent.next_round()   # began after proc1
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert after.one("bpfpush_bpf_collector_up", collector="softirq") == 1

    proc = proc1["NET_RX"] - proc0["NET_RX"]
    seen = (after.one(NAME + "_count", vector="NET_RX")
            - (before.get(NAME + "_count", vector="NET_RX") or [0])[0])
    assert proc >= 5000, proc
    # Our window holds the /proc window, and adds only the host's own
    # background in the second or two around it.
    window = (after.ts_ms - before.ts_ms) / 1000
    assert proc <= seen <= proc + 2 * background * window + 500, (seen, proc, background)
    took = (after.one(NAME + "_sum", vector="NET_RX")
            - (before.get(NAME + "_sum", vector="NET_RX") or [0])[0])
    assert 0 < took / seen < 0.001, (took, seen)

    vectors = {l["vector"] for n, l, _ in after.samples if n == NAME + "_count"}
    assert "NET_RX" in vectors and vectors <= VECTORS, vectors
    runs = after.one("bpfpush_bpf_program_runs_total", collector="softirq",
                     program="softirq_exit")
    assert runs >= seen
    assert after.one("bpfpush_bpf_program_run_seconds_total", collector="softirq",
                     program="softirq_entry") > 0


def test_softirq_missing_hook_disables_only_it(tmp_path):
    """A kernel without raw_tp/softirq_exit: one warning naming it, the collector
    reports up 0, the agent goes on and exits 0."""
    warned = assert_missing_hook_disables_only_it(BIN, tmp_path, "softirq", "softirq_exit",
                                                  "kernel_softirq_duration_seconds_count")
    assert "raw_tp/softirq_exit" in warned, warned
