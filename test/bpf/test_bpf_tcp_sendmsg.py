# SPDX-License-Identifier: MIT
"""tcp_sendmsg: a loopback TCP client sending messages of known sizes."""
import socket
import threading

import pytest

from bpfharness import assert_missing_hook_disables_only_it, start_agent
from conftest import BIN

NAME = "kernel_tcp_sendmsg_size_bytes"
# (size, how many): each size alone in its power-of-two bucket (le).
SENDS = [(100, 3000, "128", "64"), (3000, 1000, "4096", "2048"), (40000, 200, "65536", "32768")]


def serve(listener, received):
    conn, _ = listener.accept()
    with conn:
        while True:
            data = conn.recv(1 << 20)
            if not data:
                break
            received[0] += len(data)


def send_workload():
    """Sends every message of SENDS on one loopback connection; returns the
    bytes the server received (the independent count)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    received = [0]
    server = threading.Thread(target=serve, args=(listener, received), daemon=True)
    server.start()
    sent = 0
    with socket.create_connection(listener.getsockname(), timeout=10) as c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for size, n, _, _ in SENDS:
            payload = b"x" * size
            for _ in range(n):
                # A blocking send on loopback takes it all in one call.
                assert c.send(payload) == size
                sent += size
    server.join(10)
    listener.close()
    assert received[0] == sent
    return sent


def delta(before, after, name, **labels):
    return after.one(name, **labels) - before.one(name, **labels)


def run_agent(tmp_path, opts):
    return start_agent(BIN, tmp_path, {"tcp_sendmsg": opts})


@pytest.mark.parametrize("hook,program", [("auto", "tcp_send_length"),
                                          ("raw_tp", "tcp_send_length_raw")])
def test_tcp_sendmsg_sizes(tmp_path, hook, program):
    agent = run_agent(tmp_path, "{hook: %s}" % hook)
    try:
        before = agent.next_round()
        sent = send_workload()
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert after.one("bpfpush_bpf_collector_up", collector="tcp_sendmsg") == 1

    total = sum(n for _, n, _, _ in SENDS)
    # Other TCP traffic on the host may add to these, never take away.
    assert delta(before, after, NAME + "_count") >= total
    assert delta(before, after, NAME + "_sum") >= sent
    for size, n, le, below in SENDS:
        in_bucket = (delta(before, after, NAME + "_bucket", le=le)
                     - delta(before, after, NAME + "_bucket", le=below))
        assert in_bucket >= n, (size, le, in_bucket, n)
    assert after.one("kernel_tcp_sendmsg_errors_total") >= 0
    runs = delta(before, after, "bpfpush_bpf_program_runs_total",
                 collector="tcp_sendmsg", program=program)
    assert runs >= total
    assert after.one("bpfpush_bpf_program_run_seconds_total", collector="tcp_sendmsg",
                     program=program) > 0
    # One hook's program loaded, no other.
    programs = {l["program"] for n, l, _ in after.samples
                if n == "bpfpush_bpf_program_runs_total"}
    assert programs == {program}, programs


def test_tcp_sendmsg_counts_errors(tmp_path):
    """A non-blocking sender with a full send buffer gets EAGAIN."""
    agent = run_agent(tmp_path, "{}")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        before = agent.next_round()
        failed = 0
        with socket.create_connection(listener.getsockname(), timeout=10) as c:
            c.setblocking(False)
            payload = b"y" * 65536
            for _ in range(2000):  # nobody reads: the buffers fill
                try:
                    c.send(payload)
                except BlockingIOError:
                    failed += 1
                    if failed >= 50:
                        break
        after = agent.next_round()
    finally:
        listener.close()
        rc, err = agent.stop()
    assert rc == 0, err
    assert failed >= 50
    assert delta(before, after, "kernel_tcp_sendmsg_errors_total") >= failed


def test_tcp_sendmsg_missing_hook_disables_only_it(tmp_path):
    """A kernel without sock_send_length nor tcp_sendmsg: one warning naming
    every hook tried, the collector reports up 0, the agent goes on and exits 0."""
    warned = assert_missing_hook_disables_only_it(
        BIN, tmp_path, "tcp_sendmsg", "sock_send_length,tcp_sendmsg",
        "kernel_tcp_sendmsg_size_bytes_count")
    # Every way in is named: the tracepoint (both ways) and the function.
    for hook in ("tp_btf/sock_send_length", "raw_tp/sock_send_length",
                 "fentry/tcp_sendmsg", "kprobe/tcp_sendmsg"):
        assert hook in warned, warned


def test_tcp_sendmsg_fentry_loads_or_says_why(tmp_path):
    """hook: fentry. Kernels with BPF trampolines count the sizes asked for;
    the test machines refuse the program at load: then one warning naming
    the hook, up 0, and the agent goes on."""
    agent = run_agent(tmp_path, "{hook: fentry}")
    try:
        before = agent.next_round()
        send_workload()
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    if after.one("bpfpush_bpf_collector_up", collector="tcp_sendmsg") == 1:
        total = sum(n for _, n, _, _ in SENDS)
        assert delta(before, after, NAME + "_count") >= total
        assert not after.get("kernel_tcp_sendmsg_errors_total")  # not seen from fentry
        return
    warned = [l for l in err.splitlines() if "bpf collector disabled" in l]
    assert len(warned) == 1, err
    assert "collector=tcp_sendmsg" in warned[0] and "fentry/tcp_sendmsg" in warned[0], warned
