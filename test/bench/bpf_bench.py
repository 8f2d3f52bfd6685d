#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""BPF collectors' cost, the two ways the issue asks for:

 1. Per program: nanoseconds per event from the kernel's own run statistics
    (bpfpush_bpf_program_run_seconds_total / _runs_total, as the agent
    exports them), under workloads that fire the hooks: a pinned pipe
    ping-pong (1.2 M context switches), a loopback TCP stream of 1 M small
    writes (tcp_sendmsg), 1 M UDP datagrams to a closed port (skb_drops)
    and 100,000 short TCP connections (tcp_states, ~1 M state changes).
    Block IO and retransmits are not driven here (their tests are).
 2. Host cost: the same ping-pong's nanoseconds per round trip with every
    default BPF collector loaded, and without the agent; the difference per
    context switch is what a busy host pays.

Options that add work per event and are off by default (runqlat's
cgroups) are measured after, each in an agent of its own under the same
ping-pong, and printed apart: they are not held to the target.

Printed beside ebpf_exporter's published per-event figures (tp_btf with a
simple map +35 ns, kprobe with a simple map +160 ns). Targets: every default
collector's program under 100 ns per event; runqlat under 150 ns per
wakeup+switch pair. Root only (loads BPF). Exit 1 only if it cannot run.
"""
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "bpf"))
from bpfharness import DryRunAgent, bpf_only_config  # noqa: E402

BIN = os.path.join(REPO, os.environ.get("BPFPUSH_BIN", "build/bpfpush"))
WORK = os.path.join(REPO, "build", "bench", "bpf")
ROUND_TRIPS = 600_000        # 1.2 M switches and 1.2 M wakeups
TCP_WRITES = 1_000_000
UDP_DROPS = 1_000_000        # kfree_skb(NO_SOCKET) for skb_drops
TCP_CONNECTIONS = 100_000    # ~10 state changes each for tcp_states: 1 M
MIN_EVENTS = 1_000_000       # fewer runs than this is no figure to judge
SAMPLES = 5                  # ping-pong runs per configuration (median)
TARGET_NS = 100.0
TARGET_RUNQLAT_PAIR_NS = 150.0


def build_ctxswitch():
    os.makedirs(WORK, exist_ok=True)
    out = os.path.join(WORK, "ctxswitch")
    subprocess.run(["cc", "-O2", "-o", out, os.path.join(REPO, "test/bench/ctxswitch.c")],
                   check=True)
    return out


def calibrate(ctx):
    """Builds and runs calibrate.bpf.c: an empty program, a clock read and a
    per-CPU counter on sched_switch. {program: ns per event}, or {} if it
    could not be built (the figures then stand without their baseline)."""
    bench = os.path.join(REPO, "test", "bench")
    obj, skel, binary = (os.path.join(WORK, n) for n in
                         ("calibrate.bpf.o", "calibrate.skel.h", "calibrate"))
    arch = {"x86_64": "x86", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    vmlinux = os.path.join(REPO, "bpf", "vmlinux", arch)  # as the Makefile chooses
    if not os.path.exists(os.path.join(vmlinux, "vmlinux.h")):
        vmlinux = os.path.join(REPO, "build", "bpf", "vmlinux", arch)
    try:
        subprocess.run(["clang", "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_" + arch,
                        "-I" + vmlinux, "-c", os.path.join(bench, "calibrate.bpf.c"), "-o", obj],
                       check=True, capture_output=True)
        with open(skel, "w") as f:
            subprocess.run(["bpftool", "gen", "skeleton", obj, "name", "calibrate_bpf"],
                           check=True, stdout=f)
        subprocess.run(["cc", "-O2", "-I" + WORK, "-o", binary,
                        os.path.join(bench, "calibrate.c"), "-lbpf", "-lelf", "-lz"],
                       check=True, capture_output=True)
        out = subprocess.run([binary, ctx, str(ROUND_TRIPS // 4)], check=True,
                             capture_output=True, text=True, timeout=300).stdout
    except (subprocess.CalledProcessError, OSError, subprocess.TimeoutExpired) as e:
        print("calibration not available: %s" % e)
        return {}
    return {name: float(ns) for name, ns, _ in (line.split() for line in out.splitlines())}


def pingpong(binary, round_trips):
    return float(subprocess.run([binary, str(round_trips)], capture_output=True, text=True,
                                check=True, timeout=300).stdout)


def median_pingpong(binary, round_trips):
    return statistics.median(pingpong(binary, round_trips) for _ in range(SAMPLES))


def tcp_stream(writes, size=64):
    """Small writes over loopback TCP: one tcp_sendmsg each."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def drain():
        conn, _ = server.accept()
        while conn.recv(1 << 16):
            pass
        conn.close()
    t = threading.Thread(target=drain, daemon=True)
    t.start()
    client = socket.create_connection(server.getsockname())
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    payload = b"x" * size
    for _ in range(writes):
        client.send(payload)
    client.close()
    t.join(60)
    server.close()


def udp_to_closed_port(datagrams):
    """Datagrams to a loopback port nobody listens on: each one is freed
    with reason NO_SOCKET (skb_drops' hook)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(datagrams):
        try:
            s.sendto(b"x", ("127.0.0.1", port))
        except OSError:
            pass  # ICMP port unreachable reported back on the socket
    s.close()


def tcp_churn(connections):
    """Connect, exchange a byte, close: every socket state change of a
    short connection, on both ends (tcp_states' hook)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(512)

    def serve():
        for _ in range(connections):
            conn, _ = server.accept()
            conn.sendall(b"y")
            conn.recv(1)
            conn.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    for _ in range(connections):
        c = socket.create_connection(server.getsockname())
        c.recv(1)
        c.close()
    t.join(120)
    server.close()


def config():
    path = os.path.join(WORK, "bpfpush.yml")
    with open(path, "w") as f:
        # Every default BPF collector, no system collector, no push.
        f.write("global:\n  interval: 2s\ncollectors:\n  defaults: false\n")
    return path


def program_costs(r):
    costs = {}
    for name, labels, value in r.samples:
        if name == "bpfpush_bpf_program_runs_total":
            costs.setdefault((labels["collector"], labels["program"]), {})["runs"] = value
        elif name == "bpfpush_bpf_program_run_seconds_total":
            costs.setdefault((labels["collector"], labels["program"]), {})["seconds"] = value
    return costs


# Options off by default that add work per event: (collector, its options).
OPTION_VARIANTS = [("runqlat", "{cgroups: true}")]


def variant_costs(ctx, collector, opts):
    """The run statistics of collector alone, with opts, under the ping-pong."""
    path = os.path.join(WORK, "bpfpush-%s.yml" % collector)
    with open(path, "w") as f:
        f.write(bpf_only_config({collector: opts}, interval="2s"))
    agent = DryRunAgent(BIN, path)
    try:
        agent.wait_rounds(1, timeout=60)
        pingpong(ctx, ROUND_TRIPS // 2)
        last = agent.next_round(timeout=60)
    finally:
        agent.stop()
    return program_costs(last)


def print_variants(ctx, floor):
    print("\nOptions off by default (each alone, %d switches; not held to the target)"
          % ROUND_TRIPS)
    for collector, opts in OPTION_VARIANTS:
        for (coll, program), c in sorted(variant_costs(ctx, collector, opts).items()):
            runs, secs = c.get("runs", 0), c.get("seconds", 0)
            ns = secs * 1e9 / runs if runs else float("nan")
            print("  %-16s %-20s %-28s %12d events %8.1f ns/event %8.1f above empty"
                  % (coll, opts, program, runs, ns, ns - floor))


def main():
    if os.geteuid() != 0:
        print("bpf bench: needs root (it loads BPF programs)")
        return 1
    ctx = build_ctxswitch()
    baseline = calibrate(ctx)
    off = median_pingpong(ctx, ROUND_TRIPS // 4)
    agent = DryRunAgent(BIN, config())
    try:
        first = agent.wait_rounds(1, timeout=60)
        up = sorted(l["collector"] for n, l, v in first.samples
                    if n == "bpfpush_bpf_collector_up" and v == 1)
        on = median_pingpong(ctx, ROUND_TRIPS // 4)
        pingpong(ctx, ROUND_TRIPS)
        tcp_stream(TCP_WRITES)
        udp_to_closed_port(UDP_DROPS)
        tcp_churn(TCP_CONNECTIONS)
        last = agent.next_round(timeout=60)
    finally:
        rc, err = agent.stop()
    if not up:
        print("bpf bench: no BPF collector loaded\n" + err[-2000:])
        return 1

    costs = program_costs(last)
    print("\nBPF program cost (kernel run statistics; bpfpush's default BPF collectors: %s)"
          % ", ".join(up))
    # The run statistics' own cost (two clock reads per run) is what an
    # empty program shows; "above empty" is the program's work alone.
    floor = baseline.get("empty", 0.0)
    print("%-16s %-28s %14s %12s %12s %10s" % ("collector", "program", "events", "ns/event",
                                                "above empty", "target"))
    worst = {}
    for (collector, program), c in sorted(costs.items()):
        runs, secs = c.get("runs", 0), c.get("seconds", 0)
        ns = secs * 1e9 / runs if runs else float("nan")
        note = "" if runs >= MIN_EVENTS else "  (< 1M events: not judged)"
        verdict = "-" if runs < MIN_EVENTS else ("PASS" if ns < TARGET_NS else "FAIL")
        print("%-16s %-28s %14d %12.1f %12.1f %10s%s" % (collector, program, runs, ns,
                                                        ns - floor, verdict, note))
        if runs >= MIN_EVENTS:
            worst[collector] = max(worst.get(collector) or 0, ns)
        else:
            worst.setdefault(collector, None)
    # runqlat's cost per wakeup+switch pair: whichever method loaded, the
    # per-event cost of its wakeup program (none for schedinfo) plus that
    # of its switch program.
    pair = None
    for (collector, program), c in costs.items():
        if collector == "runqlat" and c.get("runs") and "wakeup_new" not in program:
            pair = (pair or 0) + c["seconds"] * 1e9 / c["runs"]
    per_switch = (on - off) / 2
    print("\nHost cost: pinned pipe ping-pong, median of %d runs of %d round trips"
          % (SAMPLES, ROUND_TRIPS // 4))
    print("  without the agent            %10.1f ns per round trip" % off)
    print("  with default BPF collectors  %10.1f ns per round trip" % on)
    print("  added per context switch     %10.1f ns" % per_switch)
    if baseline:
        print("\nBaseline on this machine (calibrate.bpf.c on sched_switch, ns per event): "
              "an empty program %.1f, one that reads the clock %.1f, one that bumps a "
              "per-CPU counter %.1f"
              % (baseline.get("empty", float("nan")), baseline.get("clock_read", float("nan")),
                 baseline.get("percpu_counter", float("nan"))))
    print("\nebpf_exporter's published figures, per event: tp_btf + simple map +35 ns; "
          "kprobe + simple map +160 ns")
    print("\nTargets")
    for collector, ns in sorted(worst.items()):
        if ns is None:
            print("  %-14s every program < %.0f ns/event : not measured here (under 1 M "
                  "events; see its test)" % (collector, TARGET_NS))
            continue
        print("  %-14s every program < %.0f ns/event : %s (%.1f ns worst)"
              % (collector, TARGET_NS, "PASS" if ns < TARGET_NS else "FAIL", ns))
    if pair is not None:
        print("  runqlat wakeup+switch pair < %.0f ns       : %s (%.1f ns)"
              % (TARGET_RUNQLAT_PAIR_NS, "PASS" if pair < TARGET_RUNQLAT_PAIR_NS else "FAIL", pair))
    print("  (judged on ns/event as the run statistics report it, their own two clock reads\n"
          "   included: an empty program shows %.1f ns here)" % floor)
    print_variants(ctx, floor)
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
