# SPDX-License-Identifier: MIT
"""timers: receives that time out, each arming one timer-wheel timer.

A blocking recv() on a socket with SO_RCVTIMEO sleeps in
sk_wait_data() -> schedule_timeout(), which starts a timer-wheel timer whose
callback is process_timeout (nanosleep, poll and select use hrtimers
instead, which timer:timer_start does not see). Every recv() that returns
EAGAIN after its timeout armed exactly one such timer: the workload counts
them, and the collector must count at least as many starts of
process_timeout, by that name (from /proc/kallsyms)."""
import socket
import struct
import threading
import time

from bpfharness import DryRunAgent, bpf_only_config, report_cost, start_agent
from conftest import BIN

THREADS = 4
SECONDS = 1.5


def timeouts(seconds, threads):
    """recv() timeouts (1 ms each) on empty UDP sockets, over all threads."""
    counts = []

    def waiter():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 1000))
        n, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                s.recv(16)
            except (BlockingIOError, socket.timeout):
                n += 1
        s.close()
        counts.append(n)

    workers = [threading.Thread(target=waiter) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts)


def test_timer_starts_by_function(tmp_path):
    cfg = tmp_path / "bpfpush.yml"
    # Off by default (timer_start is busy): enabled here by name.
    cfg.write_text(bpf_only_config({"timers": "{}"}))
    agent = DryRunAgent(BIN, str(cfg))
    try:
        before = agent.next_round()
        timed_out = timeouts(SECONDS, THREADS)
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert after.one("bpfpush_bpf_collector_up", collector="timers") == 1
    runs = after.one("bpfpush_bpf_program_runs_total", collector="timers", program="timers_start")
    assert runs >= timed_out
    assert after.one("bpfpush_bpf_program_run_seconds_total", collector="timers",
                     program="timers_start") > 0
    report_cost(after, "timers", "timers_start")

    assert timed_out > 100, "the workload armed too few timers"
    found = before.get("kernel_timer_starts_total", function="process_timeout")
    started = after.one("kernel_timer_starts_total", function="process_timeout") - (
        found[0] if found else 0)
    assert started >= timed_out
    # Every label is a kernel function name, none a bare address.
    names = [l["function"] for n, l, _ in after.samples if n == "kernel_timer_starts_total"]
    assert names and not [n for n in names if n.startswith("0x")], names
    assert len(names) == len(set(names))
    assert after.one("kernel_timer_starts_untracked_total") == 0


def tcp_bulk(seconds):
    """A loopback TCP transfer: TCP rearms its retransmit and delayed-ACK
    timers as segments flow, the densest timer_start load at hand."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def sink():
        conn, _ = listener.accept()
        while conn.recv(1 << 16):
            pass
        conn.close()

    reader = threading.Thread(target=sink)
    reader.start()
    with socket.create_connection(listener.getsockname(), 5) as c:
        buf, end = b"x" * 16384, time.monotonic() + seconds
        while time.monotonic() < end:
            c.sendall(buf)
    reader.join(10)
    listener.close()


def test_cost_under_tcp_load(tmp_path):
    """The program's cost per event when timer_start is busy (pytest -s
    prints it): the number the default (off) rests on."""
    agent = start_agent(BIN, tmp_path, {"timers": "{}"})
    try:
        before = agent.next_round()
        tcp_bulk(2)
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    runs = after.one("bpfpush_bpf_program_runs_total", collector="timers", program="timers_start")
    assert runs - before.one("bpfpush_bpf_program_runs_total", collector="timers",
                             program="timers_start") > 1000
    assert after.one("kernel_timer_starts_total", function="tcp_write_timer") > 0
    report_cost(after, "timers", "timers_start")


def test_default_off(tmp_path):
    """Not listed under bpf: with defaults on, timers stays off; the four
    cheap collectors are on."""
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text("global:\n  interval: 1s\n  data_dir: \"\"\ncollectors:\n  defaults: false\n")
    agent = DryRunAgent(BIN, str(cfg))
    try:
        round_ = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert not round_.get("bpfpush_bpf_collector_up", collector="timers")
    for name in ("tcp_retransmits", "tcp_states", "skb_drops", "writeback"):
        assert round_.one("bpfpush_bpf_collector_up", collector=name) == 1, name
