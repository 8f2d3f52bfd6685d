# SPDX-License-Identifier: MIT
"""tcp_retransmits: a TCP transfer across a lossy link, in network namespaces
of the test's own, against the sending namespace's Tcp RetransSegs.

This kernel has no netem (CONFIG_NET_SCH_NETEM is off), so the loss is a
tc BPF filter on the receiver's veth ingress, compiled here with clang: it
drops a random LOSS percent of the segments that carry data (longer than
200 bytes), never handshakes or bare ACKs, so that connections always open
and only data is retransmitted. The drop happens after the sender's qdisc,
so the sender sees a real loss, not a local congestion signal.

The agent runs in the root namespace: tracepoints are global, so it sees the
namespaces' retransmissions; remote_port: true singles out this transfer's
server port from whatever else the host retransmits meanwhile.

Each way in runs the transfer: tp_btf (auto's choice on this kernel, direct
reads) and raw_tp (the fallback, probe reads); the agent's log line names
the programs it loaded, so a silent fallback from one to the other fails."""
import os
import platform
import re
import subprocess
import sys
import time

import pytest

from bpfharness import delta, report_cost, start_agent
from conftest import BIN

PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
# The server's port, this run's own: tracepoints are global, and the same test
# run from another checkout at the same time (its own namespaces) retransmits
# to its own port.
PORT = 40000 + os.getpid() % 20000
LOSS = 10
SECONDS = 2.5

LOSSY = r"""
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int lossy(struct __sk_buff *skb)
{
	if (skb->len > 200 && bpf_get_prandom_u32() %% 100 < %d)
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}
char LICENSE[] SEC("license") = "GPL";
""" % LOSS

SERVER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.78.0.1", int(sys.argv[1])))
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
n = 0
while True:
    d = c.recv(1 << 16)
    if not d:
        break
    n += len(d)
print(n, flush=True)
"""

CLIENT = r"""
import socket, sys, time
c = socket.create_connection(("10.78.0.1", int(sys.argv[1])), 5)
end, buf, n = time.monotonic() + float(sys.argv[2]), b"x" * 65536, 0
while time.monotonic() < end:
    n += c.send(buf)
c.close()
print(n, flush=True)
"""


def sh(*args):
    subprocess.run(args, check=True, capture_output=True, timeout=30)


class Namespaces:
    """Server and client network namespaces joined by a veth pair, the
    server's ingress lossy. Removed on close, always."""

    def __init__(self, lossy_obj):
        tag = "%d" % (os.getpid() % 100000)
        self.server, self.client = "hrtxs" + tag, "hrtxc" + tag
        self.made = []
        try:
            for ns in (self.server, self.client):
                sh("ip", "netns", "add", ns)
                self.made.append(ns)
            sdev, cdev = "hrtx" + tag, "hrtc" + tag
            sh("ip", "link", "add", sdev, "type", "veth", "peer", "name", cdev)
            sh("ip", "link", "set", sdev, "netns", self.server)
            sh("ip", "link", "set", cdev, "netns", self.client)
            for ns, dev, addr in ((self.server, sdev, "10.78.0.1/24"),
                                  (self.client, cdev, "10.78.0.2/24")):
                sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
                sh("ip", "-n", ns, "link", "set", dev, "up")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("tc", "-n", self.server, "qdisc", "add", "dev", sdev, "clsact")
            sh("tc", "-n", self.server, "filter", "add", "dev", sdev, "ingress", "bpf",
               "direct-action", "obj", lossy_obj, "sec", "tc")
        except Exception:
            self.close()
            raise

    def run(self, ns, *cmd):
        return subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=subprocess.PIPE,
                                text=True)

    def retrans_segs(self, ns):
        out = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"], check=True,
                             capture_output=True, text=True).stdout.splitlines()
        for head, values in zip(out[::2], out[1::2]):
            if head.startswith("Tcp:"):
                return dict(zip(head.split()[1:], map(int, values.split()[1:])))["RetransSegs"]
        raise AssertionError("no Tcp in /proc/net/snmp")

    def close(self):
        for ns in self.made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.made = []


@pytest.fixture
def namespaces(tmp_path):
    src, obj = tmp_path / "lossy.bpf.c", tmp_path / "lossy.o"
    src.write_text(LOSSY)
    sh("clang", "-O2", "-g", "-target", "bpf",
       "-I/usr/include/%s-linux-gnu" % platform.machine(), "-c", str(src), "-o", str(obj))
    ns = Namespaces(str(obj))
    yield ns
    ns.close()


def loaded_programs(err):
    """The (skb, SYN-ACK) programs the agent's one load line names."""
    found = re.findall(r'msg="bpf collector loaded" collector=tcp_retransmits '
                       r'program=(\S+) synack=(\S+)', err)
    assert len(found) == 1, err
    return found[0]


def report_segment_cost(round_, program):
    """The skb program's cost per retransmitted segment (pytest -s): its run
    time over the segments it counted (a retransmitted skb may carry
    several), SYN-ACKs (NEW_SYN_RECV, another program) left out."""
    secs = round_.one("bpfpush_bpf_program_run_seconds_total", collector="tcp_retransmits",
                      program=program)
    segs = sum(v for n, l, v in round_.samples
               if n == "kernel_tcp_retransmits_total" and l["state"] != "NEW_SYN_RECV")
    print("tcp_retransmits/%s: %.0f ns per retransmitted segment over %d segments"
          % (program, secs * 1e9 / segs, segs))


# auto must pick tp_btf on this kernel (falling back to raw_tp fails here);
# raw_tp pinned, the fallback.
@pytest.mark.parametrize("hook,suffix", [("auto", "_btf"), ("raw_tp", "")])
def test_retransmits_across_a_lossy_link(tmp_path, namespaces, hook, suffix):
    ns = namespaces
    agent = start_agent(BIN, tmp_path, {"tcp_retransmits": "{remote_port: true, hook: %s}"
                                        % hook})
    server = None
    try:
        before = agent.next_round()
        rs0 = ns.retrans_segs(ns.client)
        server = ns.run(ns.server, PY, "-c", SERVER, str(PORT))
        assert server.stdout.readline().strip() == "ready"
        client = ns.run(ns.client, PY, "-c", CLIENT, str(PORT), str(SECONDS))
        sent = int(client.stdout.readline())
        client.wait(30)
        received = int(server.stdout.readline())
        server.wait(30)
        time.sleep(0.3)
        rs1 = ns.retrans_segs(ns.client)
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
        if server and server.poll() is None:
            server.kill()
    assert rc == 0, err
    assert sent == received > 0
    assert after.one("bpfpush_bpf_collector_up", collector="tcp_retransmits") == 1
    # (sk, skb, err) on this kernel, (sk, skb) on older ones.
    program, synack = loaded_programs(err)
    assert program in ("tcp_retransmit_skb_err" + suffix, "tcp_retransmit_skb" + suffix), program
    assert synack == "tcp_retransmit_synack" + suffix, synack
    programs = {l["program"] for n, l, _ in after.samples
                if n == "bpfpush_bpf_program_runs_total"}
    assert programs == {program, synack}, programs
    runs = after.one("bpfpush_bpf_program_runs_total", collector="tcp_retransmits",
                     program=program)
    seconds = after.one("bpfpush_bpf_program_run_seconds_total", collector="tcp_retransmits",
                        program=program)
    assert runs > 0 and seconds > 0
    report_cost(after, "tcp_retransmits", program)
    report_segment_cost(after, program)

    retransmitted = rs1 - rs0
    assert retransmitted > 50, "the lossy link caused no retransmissions"
    # Segments to this transfer's port: the sender namespace's count. Never
    # more; now and then (2 of 48 transfers when this file was run over and
    # over, on raw_tp before tp_btf existed too) the kernel's count ran 1 to
    # ~90 segments (under 3%) ahead of what the tracepoint passed, with no
    # recursion miss and no failed send; the cause is not found, so the
    # floor leaves room for it.
    on_port = delta(before, after, "kernel_tcp_remote_port_retransmits_total", remote_port=PORT)
    assert 0.95 * retransmitted <= on_port <= retransmitted, (on_port, retransmitted)
    # By state (names from BTF): the transfer retransmits while ESTABLISHED,
    # maybe a few while closing; the host's own traffic may add, never take.
    by_state = {l["state"]: v for n, l, v in after.samples
                if n == "kernel_tcp_retransmits_total"}
    assert set(by_state) <= {"ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
                             "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT", "CLOSE",
                             "LISTEN", "NEW_SYN_RECV", "BOUND_INACTIVE"}, by_state
    total = sum(by_state.values()) - sum(v for n, l, v in before.samples
                                         if n == "kernel_tcp_retransmits_total")
    assert total >= retransmitted
    assert delta(before, after, "kernel_tcp_retransmits_total", state="ESTABLISHED") > 0
