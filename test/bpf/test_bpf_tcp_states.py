# SPDX-License-Identifier: MIT
"""tcp_states: connection churn, against ss.

M connections to one listening port, each closed by the client first and
then by the server: the client's side goes ESTABLISHED -> FIN_WAIT1 ->
FIN_WAIT2 -> (timewait socket) CLOSE, so exactly M connections enter
TIME_WAIT with the server's port as their remote port, which is what
`ss -tan state time-wait dport = :PORT` lists afterwards (TIME_WAIT lasts
60 s, the test a few). The server's side goes CLOSE_WAIT -> LAST_ACK ->
CLOSE. The client closes only after a byte from the server: a FIN sent
right after connect() can race the server's swap of its request socket for
the new connection's socket, find neither, and draw a reset that kills the
client's timewait socket (seen here: a few in 300, TcpOutRsts matching).

The churn runs on the loopback of a network namespace of the test's own,
with net.ipv4.tcp_tw_reuse=0 there: loopback connections otherwise reuse
TIME_WAIT ports after a second (the default, 2), and a churn that straddles
a second boundary lost a few of its timewait sockets to reuse before ss
could list them. The agent, in the root namespace, sees every namespace."""
import os
import subprocess
import sys
import time

import pytest

from bpfharness import DryRunAgent, bpf_only_config, delta, report_cost
from conftest import BIN

PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
M = 300


CHURN = r"""
import socket, sys, threading
m = int(sys.argv[1])
listener = socket.socket()
listener.bind(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 0))
listener.listen(128)
port = listener.getsockname()[1]

def serve():
    for _ in range(m):
        conn, _ = listener.accept()
        conn.sendall(b"x")
        conn.recv(16)  # EOF: the client closed first
        conn.close()

server = threading.Thread(target=serve)
server.start()
for _ in range(m):
    c = socket.create_connection(("127.0.0.1", port), 5)
    c.recv(1)  # the server has its socket: no FIN racing the handshake
    c.close()
server.join(30)
listener.close()
print(port)
"""


class Namespace:
    """A network namespace with its loopback up and TIME_WAIT reuse off."""

    def __init__(self):
        self.name = "htst%d" % (os.getpid() % 100000)
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        try:
            self.run("ip", "link", "set", "lo", "up")
            self.run("sysctl", "-qw", "net.ipv4.tcp_tw_reuse=0")
        except Exception:
            self.close()
            raise

    def run(self, *cmd):
        return subprocess.run(["ip", "netns", "exec", self.name, *cmd], check=True,
                              capture_output=True, text=True, timeout=60).stdout

    def close(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


def churn(ns, m, port=0):
    """m connect/close pairs in ns, the client closing first, to port (0:
    any free one); returns the server's port and how many timewait sockets
    ss lists for it."""
    port = int(ns.run(PY, "-c", CHURN, str(m), str(port)))
    # The server's last FINs may still be on their way to the timewait
    # sockets (ss shows those as FIN-WAIT-2 until they arrive); on a busy
    # machine that can take a moment.
    deadline = time.monotonic() + 3
    while True:
        out = ns.run("ss", "-tanH", "state", "time-wait", "dport = :%d" % port)
        if len(out.splitlines()) >= m or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if len(out.splitlines()) != m:
        states = {}
        for line in ns.run("ss", "-tanH", "dport = :%d or sport = :%d" % (port, port)).splitlines():
            states[line.split()[0]] = states.get(line.split()[0], 0) + 1
        print("ss states:", states, [l for l in ns.run("cat", "/proc/net/snmp").splitlines()
                                     if l.startswith("Tcp:")])
    return port, len(out.splitlines()), out_resets(ns)


def out_resets(ns):
    """Resets the namespace sent (Tcp OutRsts; the namespace is new)."""
    lines = [l.split() for l in ns.run("cat", "/proc/net/snmp").splitlines()
             if l.startswith("Tcp:")]
    return int(lines[1][lines[0].index("OutRsts")])


# The server's port: in the last port chunk (portcount.h: 61440-65535, above
# the ephemeral range, so no other connection on the host is likely to have
# marked it), first counted into after the agent's earlier rounds read the
# chunk marks: the churn's port showing up means a chunk marked later is read.
CHURN_PORT = 65000


def run_churn(binary, cfg):
    ns = Namespace()
    agent = DryRunAgent(binary, str(cfg))
    try:
        before = agent.next_round()
        port, in_time_wait, resets = churn(ns, M, CHURN_PORT)
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
        ns.close()
    assert rc == 0, err
    return before, after, port, in_time_wait, resets


def check_churn(before, after, port, in_time_wait, resets, program):
    assert after.one("bpfpush_bpf_collector_up", collector="tcp_states") == 1
    assert after.one("bpfpush_bpf_program_runs_total", collector="tcp_states",
                     program=program) >= 10 * M
    assert after.one("bpfpush_bpf_program_run_seconds_total", collector="tcp_states",
                     program=program) > 0
    report_cost(after, "tcp_states", program)

    # An event that fires while the program runs on that CPU (a softirq's
    # packet in an interrupt) is skipped by the kernel and counted as missed.
    missed = delta(before, after, "bpfpush_bpf_program_missed_total", collector="tcp_states",
                   program=program)

    def moved(old, new):
        return delta(before, after, "kernel_tcp_state_transitions_total", old_state=old,
                     new_state=new) + missed

    # Both ends of every connection, by the kernel's own state names; other
    # TCP traffic on the host may add, never take away.
    for old, new in [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
                     ("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED"),
                     ("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2"),
                     ("FIN_WAIT2", "CLOSE"), ("ESTABLISHED", "CLOSE_WAIT"),
                     ("CLOSE_WAIT", "LAST_ACK"), ("LAST_ACK", "CLOSE")]:
        assert moved(old, new) >= M, (old, new)

    # Lifetimes: both sockets of each connection, each well under a second.
    name = "kernel_tcp_connection_lifetime_seconds"
    count = delta(before, after, name + "_count")
    assert count >= 2 * M
    assert delta(before, after, name + "_bucket", le="+Inf") == count
    assert delta(before, after, name + "_bucket", le="1.048576") >= 2 * M
    assert after.one("kernel_tcp_untimed_connections_total") == 0

    # TIME_WAIT towards the server's port: the churn, as ss sees it. A
    # reset the namespace counted (the race described above, rare, more
    # likely on a loaded machine) ends a timewait socket early, or keeps a
    # connection from entering TIME_WAIT: ss then lists one fewer.
    entered = delta(before, after, "kernel_tcp_time_wait_entered_total", remote_port=port)
    assert M - resets <= in_time_wait <= M, (in_time_wait, resets)
    assert in_time_wait <= entered <= M, (entered, in_time_wait)


# tp_btf (this kernel's choice: direct reads) and raw_tp (the fallback:
# probe reads); both key the start table by the socket's address.
@pytest.mark.parametrize("hook,program", [("auto", "tcp_states_set_state_btf"),
                                          ("raw_tp", "tcp_states_set_state")])
def test_tcp_churn(tmp_path, hook, program):
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text(bpf_only_config({"tcp_states": "{hook: %s}" % hook}))
    check_churn(*run_churn(BIN, cfg), program=program)


HOLD = r"""
import socket, sys
n = int(sys.argv[1])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(n)
pairs = []
for _ in range(n):
    c = socket.create_connection(listener.getsockname(), 5)
    pairs.append((c, listener.accept()[0]))
sys.stdout.write("open\n")
sys.stdout.flush()
sys.stdin.readline()
for c, s in pairs:
    c.close()
    s.close()
"""


def test_start_table_full_is_counted(tmp_path):
    """max_inflight: 8 (16 slots: four sets of four) and 100 connections open at
    once, 200 sockets: the few that found a free slot are timed, every
    other one is counted as untimed; none is lost between the two."""
    n = 100
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text(bpf_only_config({"tcp_states": "{max_inflight: 8}"}))
    ns = Namespace()
    agent = DryRunAgent(BIN, str(cfg))
    try:
        before = agent.next_round()
        hold = subprocess.Popen(["ip", "netns", "exec", ns.name, PY, "-c", HOLD, str(n)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert hold.stdout.readline() == "open\n"
        hold.communicate("close\n", timeout=30)
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
        ns.close()
    assert rc == 0, err
    timed = delta(before, after, "kernel_tcp_connection_lifetime_seconds_count")
    untimed = delta(before, after, "kernel_tcp_untimed_connections_total")
    # Other TCP on the host may add to either; ours alone fill the table.
    assert 1 <= timed and untimed >= 2 * n - 16, (timed, untimed)
    assert timed + untimed >= 2 * n, (timed, untimed)


def test_classic_tracepoint_fallback(tmp_path):
    """hook: tracepoint, with tracefs mounted in a mount namespace of the
    agent's own (the host's /sys/kernel/tracing is left as it is): the same
    counts through the classic tracepoint's record."""
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("no unshare -m here")
    host_tracefs = os.path.exists("/sys/kernel/tracing/events")
    wrapper = tmp_path / "bpfpush-with-tracefs"
    wrapper.write_text("#!/bin/sh\nexec unshare -m sh -c 'mount -t tracefs nodev "
                       "/sys/kernel/tracing && exec \"$0\" \"$@\"' %s \"$@\"\n" % BIN)
    wrapper.chmod(0o755)
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text(bpf_only_config({"tcp_states": "{hook: tracepoint}"}))
    check_churn(*run_churn(str(wrapper), cfg), program="tcp_states_set_state_tp")
    assert os.path.exists("/sys/kernel/tracing/events") == host_tracefs
