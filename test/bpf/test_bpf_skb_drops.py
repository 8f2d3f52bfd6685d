# SPDX-License-Identifier: MIT
"""skb_drops: listen overflows on both of the kernel's paths, in network
namespaces of the test's own, against the namespace's TcpExt counters.

The listener's namespace holds the agent too (its sock_diag reads that
namespace's listeners; its BPF programs see every namespace); the clients
sit in a second namespace behind a veth whose egress is a token bucket
slow enough (one small packet per ~12 ms) that a burst of SYNs reaches the
listener before any of their final ACKs. Two ports, each with a backlog of
4, none ever accepted:

  * P1, the final-ACK path: 4 connections fill its accept queue to the
    brim (not yet full), then a burst of 4 more: all 4 SYNs are admitted,
    the first final ACK fills the queue, the other 3 are dropped with
    SKB_DROP_REASON_TCP_LISTEN_OVERFLOW (TcpExt ListenOverflows +3);
  * P2, the SYN path: the queue full, 10 more SYNs are thrown away, counted
    in ListenOverflows but consumed without a drop reason; only the
    listener's own drop counter (sk_drops, read through sock_diag) sees
    them.

Each phase ends with the clients reset (SO_LINGER 0), so that nothing is
retransmitted afterwards and the namespace's counters stand still between
phases."""
import os
import socket
import subprocess
import sys
import time

import pytest

from bpfharness import DryRunAgent, bpf_only_config, delta, report_cost, start_agent
from conftest import BIN

PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
P1, P2 = 47101, 47102
BACKLOG = 4

SERVER = r"""
import socket, sys
socks = []
for port in map(int, sys.argv[1:]):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.77.0.1", port))
    s.listen(%d)
    socks.append(s)
print("ready", flush=True)
sys.stdin.readline()
""" % BACKLOG

# Commands on stdin: "fill PORT N" (blocking connects), "burst PORT N"
# (non-blocking connects in a row), "reset PORT" (close them all with RST).
CLIENT = r"""
import socket, struct, sys, time
conns = {}
for line in sys.stdin:
    cmd, port, *n = line.split()
    port = int(port)
    if cmd == "fill":
        for _ in range(int(n[0])):
            conns.setdefault(port, []).append(socket.create_connection(("10.77.0.1", port), 5))
    elif cmd == "burst":
        for _ in range(int(n[0])):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("10.77.0.1", port))
            except BlockingIOError:
                pass
            conns.setdefault(port, []).append(c)
    elif cmd == "reset":
        for c in conns.pop(port, []):
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
    print("ok", flush=True)
"""


def sh(*args):
    subprocess.run(args, check=True, capture_output=True, timeout=20)


class Namespaces:
    """Server and client network namespaces joined by a veth pair, the
    client's egress a slow token bucket. Removed on close, always."""

    def __init__(self):
        tag = "%d" % (os.getpid() % 100000)
        self.server, self.client = "hskbs" + tag, "hskbc" + tag
        self.made = []
        try:
            for ns in (self.server, self.client):
                sh("ip", "netns", "add", ns)
                self.made.append(ns)
            sh("ip", "link", "add", "hskb" + tag, "type", "veth", "peer", "name", "hskc" + tag)
            sh("ip", "link", "set", "hskb" + tag, "netns", self.server)
            sh("ip", "link", "set", "hskc" + tag, "netns", self.client)
            for ns, dev, addr in ((self.server, "hskb" + tag, "10.77.0.1/24"),
                                  (self.client, "hskc" + tag, "10.77.0.2/24")):
                sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
                sh("ip", "-n", ns, "link", "set", dev, "up")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
            # ~12 ms per SYN or ACK: a burst's SYNs all arrive before their ACKs.
            sh("tc", "-n", self.client, "qdisc", "add", "dev", "hskc" + tag, "root", "tbf",
               "rate", "64kbit", "burst", "100", "latency", "2s")
        except Exception:
            self.close()
            raise

    def run(self, ns, *cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, **kw)

    def netstat(self):
        out = subprocess.run(["ip", "netns", "exec", self.server, "cat", "/proc/net/netstat"],
                             check=True, capture_output=True, text=True).stdout.splitlines()
        for head, values in zip(out[::2], out[1::2]):
            if head.startswith("TcpExt:"):
                return dict(zip(head.split()[1:], map(int, values.split()[1:])))
        raise AssertionError("no TcpExt in /proc/net/netstat")

    def close(self):
        for ns in self.made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.made = []


def command(proc, line):
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "ok", line


def quiet_netstat(ns, settle=0.6):
    """TcpExt once nothing is in flight any more."""
    time.sleep(settle)
    return ns.netstat()


@pytest.fixture
def namespaces():
    ns = Namespaces()
    yield ns
    ns.close()


def test_listen_overflows_both_paths(tmp_path, namespaces):
    ns = namespaces
    wrapper = tmp_path / "bpfpush-in-netns"
    wrapper.write_text('#!/bin/sh\nexec ip netns exec %s %s "$@"\n' % (ns.server, BIN))
    wrapper.chmod(0o755)
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text(bpf_only_config({"skb_drops": "{}"}))

    server = ns.run(ns.server, PY, "-c", SERVER, str(P1), str(P2))
    client = ns.run(ns.client, PY, "-c", CLIENT)
    agent = DryRunAgent(str(wrapper), str(cfg))
    try:
        assert server.stdout.readline().strip() == "ready"
        before = agent.next_round()
        n0 = ns.netstat()
        # P1: accept queue filled to its backlog, then a burst of SYNs that
        # are all admitted; their final ACKs overflow it.
        command(client, "fill %d %d" % (P1, BACKLOG))
        command(client, "burst %d %d" % (P1, BACKLOG))
        time.sleep(0.5)
        command(client, "reset %d" % P1)
        n1 = quiet_netstat(ns)
        # P2: accept queue full (backlog + 1), then SYNs that find it full.
        command(client, "fill %d %d" % (P2, BACKLOG + 1))
        command(client, "burst %d 10" % P2)
        time.sleep(0.3)
        command(client, "reset %d" % P2)
        n2 = quiet_netstat(ns)
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
        for p in (client, server):
            try:
                p.stdin.close()
            except BrokenPipeError:
                pass
            p.wait(10)
    assert rc == 0, err
    assert after.one("bpfpush_bpf_collector_up", collector="skb_drops") == 1
    assert after.one("bpfpush_bpf_program_runs_total", collector="skb_drops",
                     program="skb_drops_kfree_skb") > 0
    assert after.get("bpfpush_bpf_program_run_seconds_total", collector="skb_drops",
                     program="skb_drops_kfree_skb")
    report_cost(after, "skb_drops", "skb_drops_kfree_skb")

    p1_overflows = n1["ListenOverflows"] - n0["ListenOverflows"]
    p2_overflows = n2["ListenOverflows"] - n1["ListenOverflows"]
    # The workload did what it says, and every listener drop was an overflow.
    assert p1_overflows >= BACKLOG - 1, (n0, n1)
    assert p2_overflows >= 10, (n1, n2)
    assert n1["ListenDrops"] - n0["ListenDrops"] == p1_overflows
    assert n2["ListenDrops"] - n1["ListenDrops"] == p2_overflows

    # Final-ACK overflows, by drop reason (read by name from BTF), per port.
    reason = delta(before, after, "kernel_skb_drops_total", reason="TCP_LISTEN_OVERFLOW")
    on_p1 = delta(before, after, "kernel_tcp_listen_overflows_total", port=P1)
    assert on_p1 == p1_overflows
    assert reason >= on_p1  # other namespaces may add, never take away
    # The SYN path, per port, from the listener's own drop counter: one per
    # refused SYN, exactly TcpExt ListenOverflows here.
    assert after.one("kernel_tcp_listen_drops_total", port=P2) == p2_overflows
    # On P1 each refused final ACK counts twice in sk_drops (tcp_listendrop,
    # then the receive path's discard), and each reset half-open connection
    # once more.
    assert after.one("kernel_tcp_listen_drops_total", port=P1) >= 2 * p1_overflows
    assert after.one("kernel_tcp_listen_queue_capacity", port=P2) == BACKLOG
    assert after.one("kernel_tcp_listen_queue_length", port=P2) == BACKLOG + 1
    assert after.one("kernel_tcp_listen_overflows_untracked_total") == 0


def udp_no_ports():
    lines = open("/proc/net/snmp").read().splitlines()
    for head, values in zip(lines[::2], lines[1::2]):
        if head.startswith("Udp:"):
            return dict(zip(head.split()[1:], map(int, values.split()[1:])))["NoPorts"]
    raise AssertionError("no Udp in /proc/net/snmp")


def test_drops_by_reason(tmp_path):
    """UDP datagrams to a port nobody listens on: each is dropped with
    SKB_DROP_REASON_NO_SOCKET, and counted in Udp NoPorts. A busy drop
    path, for the program's cost per event too."""
    n = 50000
    agent = start_agent(BIN, tmp_path, {"skb_drops": "{}"})
    try:
        before = agent.next_round()
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()
        probe.close()
        no_ports = udp_no_ports()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(n):
                try:
                    s.sendto(b"x", closed)
                except OSError:
                    pass  # ECONNREFUSED from an earlier datagram's ICMP error
        no_ports = udp_no_ports() - no_ports
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert after.one("bpfpush_bpf_collector_up", collector="skb_drops") == 1
    assert no_ports >= n * 0.99
    # Other drops on the host may add, never take away.
    assert delta(before, after, "kernel_skb_drops_total", reason="NO_SOCKET") >= no_ports
    report_cost(after, "skb_drops", "skb_drops_kfree_skb")


def test_missing_hook_is_one_warning(tmp_path):
    """hook: tracepoint without tracefs (the test machines have none): the
    collector stays off with one line naming the hook, the agent runs on."""
    if os.path.exists("/sys/kernel/tracing/events/skb/kfree_skb"):
        pytest.skip("tracefs is mounted here")
    agent = start_agent(BIN, tmp_path, {"skb_drops": "{hook: tracepoint}"})
    try:
        round_ = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert round_.one("bpfpush_bpf_collector_up", collector="skb_drops") == 0
    lines = [l for l in err.splitlines() if "collector=skb_drops" in l]
    assert len(lines) == 1, lines
    assert "level=warn" in lines[0] and "hook=tracepoint/skb/kfree_skb" in lines[0], lines
