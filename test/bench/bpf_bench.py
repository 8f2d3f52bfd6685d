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
 2. Host cost: the same ping-pong's cost per round trip with every default
    BPF collector loaded, and without the agent, in interleaved pairs (the
    order alternating, the agent started and stopped for each), the mean
    difference per context switch with its 95 % confidence interval. The
    ping-pong runs on CPU 0, the agent's threads and this script on the
    others. Two measures of each run: wall time, and the CPU time the
    scheduler charged the two processes (what other tasks on CPU 0 take
    does not count in it); a third, instructions, where there is a PMU.
    Then the same pairs for run statistics always on against none, which
    is their own cost; duty-cycled (--bpf-stats-duty, the default 1s/10s)
    pays that a tenth of the time.

Options that add work per event and are off by default (runqlat's
cgroups) are measured after, each in an agent of its own under the same
ping-pong, and printed apart: they are not held to the target.

Printed beside ebpf_exporter's published per-event figures (tp_btf with a
simple map +35 ns, kprobe with a simple map +160 ns). Targets: judged above
an empty program (calibrate.bpf.c: the run statistics' own clock reads are
not a program's cost), counting programs at most 40 ns above it, programs
that time an interval at most one clock read + 40 ns; the ns added per
context switch at most 1.5x the run statistics' cost of the programs on
that path. --quick: tiny workloads, every figure, nothing judged (make
bench-quick). Root only (loads BPF). Exit 1 only if it cannot run.
"""
import argparse
import math
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
PAIRS = 12                   # interleaved on/off pairs for the host cost
PAIR_TRIPS = 50_000          # round trips per run of a pair
MEASURED_CPU, AGENT_CPUS = 0, None  # the ping-pong's CPU; None: all the others
ABOVE_EMPTY_NS = 40.0        # a program's own work, above an empty program's cost


def build_ctxswitch():
    os.makedirs(WORK, exist_ok=True)
    out = os.path.join(WORK, "ctxswitch")
    subprocess.run(["cc", "-O2", "-o", out, os.path.join(REPO, "test/bench/ctxswitch.c")],
                   check=True)
    return out


def build_calibrate():
    """Builds calibrate.bpf.c and its loader: the path of the binary, or
    None if it could not be built (the figures then stand without their
    baseline)."""
    bench = os.path.join(REPO, "test", "bench")
    os.makedirs(WORK, exist_ok=True)
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
    except (subprocess.CalledProcessError, OSError) as e:
        print("calibration not available: %s" % e)
        return None
    return binary


def parse_calibration(out):
    return {name: float(ns) for name, ns, _ in (line.split() for line in out.splitlines()
                                                 if len(line.split()) == 3)}


def calibrate(binary, ctx):
    """An empty program, a clock read and a per-CPU counter on sched_switch
    under the ping-pong: {program: ns per event}, or {}."""
    if not binary:
        return {}
    try:
        out = subprocess.run([binary, ctx, str(ROUND_TRIPS // 4)], check=True,
                             capture_output=True, text=True, timeout=300).stdout
    except (subprocess.CalledProcessError, OSError, subprocess.TimeoutExpired) as e:
        print("calibration failed: %s" % e)
        return {}
    return parse_calibration(out)


class HookEmpties:
    """calibrate --hold: empty programs on the default collectors' hooks,
    beside them under the same workload, until finish()."""

    def __init__(self, binary):
        self.proc = None
        if binary:
            self.proc = subprocess.Popen([binary, "--hold"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True)
            if self.proc.stdout.readline().strip() != "ready":
                self.proc.wait(10)
                self.proc = None

    def finish(self):
        if not self.proc:
            return {}
        out, _ = self.proc.communicate(timeout=60)
        return parse_calibration(out)


# The empty program on each collector's hook (calibrate.bpf.c).
HOOK_EMPTY = {"runqlat": "empty", "tcp_states": "empty_inet_sock_set_state",
              "skb_drops": "empty_kfree_skb", "tcp_sendmsg": "empty_sock_send_length"}


def quick():
    """Tiny workloads (make bench-quick): every figure, none to judge."""
    global ROUND_TRIPS, TCP_WRITES, UDP_DROPS, TCP_CONNECTIONS, MIN_EVENTS, PAIRS, PAIR_TRIPS
    ROUND_TRIPS, TCP_WRITES, UDP_DROPS, TCP_CONNECTIONS = 10_000, 10_000, 10_000, 1_000
    MIN_EVENTS, PAIRS, PAIR_TRIPS = 1 << 62, 1, 5_000  # nothing judged


def pingpong3(binary, round_trips):
    """(wall ns, CPU ns, instructions or None) per round trip."""
    out = subprocess.run([binary, str(round_trips), str(MEASURED_CPU)], capture_output=True,
                         text=True, check=True, timeout=300).stdout.split()
    return float(out[0]), float(out[1]), None if out[2] == "-" else float(out[2])


def pingpong(binary, round_trips):
    return pingpong3(binary, round_trips)[0]


def other_cpus():
    return AGENT_CPUS or (set(range(os.cpu_count() or 1)) - {MEASURED_CPU}) or {MEASURED_CPU}


def pin_tree(pid, cpus):
    """Every thread of pid and of its children onto cpus (new threads
    inherit it from the thread that makes them)."""
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            os.sched_setaffinity(int(tid), cpus)
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                for child in f.read().split():
                    pin_tree(int(child), cpus)
    except (FileNotFoundError, ProcessLookupError):
        pass  # exited meanwhile


def start_pinned(cfg, stats=DryRunAgent.STATS_ALWAYS):
    agent = DryRunAgent(BIN, cfg, stats=stats)
    pin_tree(agent.proc.pid, other_cpus())
    agent.wait_rounds(1, timeout=60)
    pin_tree(agent.proc.pid, other_cpus())  # threads started while loading
    return agent


# Two-sided 95 % Student t by degrees of freedom (normal past 30).
T95 = [12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14, 2.13,
       2.12, 2.11, 2.10, 2.09, 2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05, 2.05, 2.04]


def mean_ci(values):
    """Mean and the half-width of its 95 % confidence interval."""
    n = len(values)
    if n < 2:
        return (values[0] if values else float("nan")), float("nan")
    t = T95[n - 2] if n - 2 < len(T95) else 1.96
    return statistics.mean(values), t * statistics.stdev(values) / math.sqrt(n)


class Held:
    """calibrate --hold-quiet PROGRAM: an empty program on its hook, run
    statistics left as they are; .stop() detaches it."""

    def __init__(self, binary, program):
        self.proc = subprocess.Popen([binary, "--hold-quiet", program], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        pin_tree(self.proc.pid, other_cpus())
        self.proc.stdout.readline()

    def stop(self):
        self.proc.communicate(timeout=60)


def median_ci(values):
    """Median and its distribution-free 95 % interval (order statistics:
    ranks k and n - k + 1, k the largest with P(Binomial(n, 1/2) < k) <=
    0.025): bursts of other load on a shared machine are outliers a mean's
    interval takes in whole. None for the interval when n < 6."""
    xs, n = sorted(values), len(values)
    k, below = 0, 0.0
    while below + math.comb(n, k) / 2 ** n <= 0.025:
        below += math.comb(n, k) / 2 ** n
        k += 1
    return statistics.median(xs), ((xs[k - 1], xs[n - k]) if k >= 1 else None)


def pairs(ctx, cfg, on_stats, off_stats=None):
    """Interleaved runs, the order alternating: with an agent on
    (on_stats; or a callable that starts what stands for it), and without
    one (off_stats None) or with one of off_stats.
    [(on - off) per context switch as (wall, cpu, insns)] per pair."""
    diffs = []
    for i in range(PAIRS):
        got = {}
        for side in ((True, False) if i % 2 else (False, True)):
            stats = on_stats if side else off_stats
            agent = (stats() if callable(stats) else start_pinned(cfg, stats)) \
                if stats is not None else None
            try:
                got[side] = pingpong3(ctx, PAIR_TRIPS)
            finally:
                if agent:
                    agent.stop()
        diffs.append(tuple(None if a is None or b is None else (a - b) / 2
                           for a, b in zip(got[True], got[False])))
    return diffs


def print_pairs(title, diffs):
    print("  %s, %d pairs of %d round trips, ns per context switch (mean +- 95 %% CI):"
          % (title, len(diffs), PAIR_TRIPS))
    for i, name in enumerate(("wall time", "CPU time (scheduler)", "instructions")):
        vals = [d[i] for d in diffs if d[i] is not None]
        if not vals:
            print("    %-22s not measurable here (no hardware PMU)" % name)
            continue
        m, ci = mean_ci(vals)
        med, mci = median_ci(vals)
        print("    %-22s mean %7.1f +- %6.1f; median %7.1f, 95 %% CI %s   (pairs: %s)" % (
            name, m, ci, med, "[%.0f, %.0f]" % mci if mci else "n/a",
            " ".join("%.0f" % v for v in vals)))
    return median_ci([d[1] for d in diffs])


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
        f.write("global:\n  interval: 1s\ncollectors:\n  defaults: false\n")
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
        f.write(bpf_only_config({collector: opts}, interval="1s"))
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


def path_cost(costs):
    """The run statistics' ns per context switch of the programs on the
    ping-pong's path: every program on sched_switch or sched_wakeup,
    weighted by its events per switch (a wakeup per switch here)."""
    total = 0.0
    for (collector, program), c in costs.items():
        if c.get("runs") and ("switch" in program or "wakeup" in program) \
                and "wakeup_new" not in program:
            total += c["seconds"] * 1e9 / c["runs"]
    return total


def print_host(host, stats_cost, costs, dispatch):
    print("\nHost cost: pinned pipe ping-pong on CPU %d, the agent on CPUs %s "
          "(machine shared: figures move with other load)"
          % (MEASURED_CPU, ",".join(map(str, sorted(other_cpus())))))
    med, mci = print_pairs("default BPF collectors (run statistics off, the default) against "
                           "no agent", host)
    on_path = path_cost(costs)
    limit = 1.5 * on_path
    print("  programs on that path (run statistics): %.1f ns per switch; 1.5x: %.1f" % (
        on_path, limit))
    verdict = "UNDECIDED" if not mci else (
        "PASS" if mci[1] <= limit else ("FAIL" if mci[0] > limit else "UNDECIDED"))
    if MIN_EVENTS > 1e12:  # --quick
        verdict = "- (quick: not judged)"
    print("  added per context switch (CPU time, median of pairs) <= 1.5x the programs' cost : "
          "%s (%.1f ns, 95 %% CI %s, against %.1f)"
          % (verdict, med, "[%.0f, %.0f]" % mci if mci else "n/a", limit))
    if dispatch:
        print_pairs("the hook's dispatch alone: an empty program on sched_switch, no run "
                    "statistics, no agent, against nothing", dispatch)
    sm, sci = print_pairs("run statistics always on against none (same collectors)", stats_cost)
    print("  run statistics: always on %.1f ns per switch (median, CPU time); duty-cycled "
          "1s/10s (the default with --enable-bpf-stats) %.1f ns on average (on 1 s in 10)"
          % (sm, sm / 10))


def timing_collectors():
    """Collectors whose programs time an interval (they read the clock):
    allowed one clock read more than the counting ones."""
    out = set()
    for name in os.listdir(os.path.join(REPO, "bpf")):
        if name.endswith(".bpf.c"):
            with open(os.path.join(REPO, "bpf", name)) as f:
                if "bpf_ktime_get_ns" in f.read():
                    out.add(name[:-len(".bpf.c")])
    return out


def hook_empty(on_hooks, collector, program):
    """The empty program's ns per event on this program's hook, beside it
    under the same workload; None where calibrate.bpf.c has none."""
    name = "empty_sched_wakeup" if "wakeup" in program else HOOK_EMPTY.get(collector)
    return on_hooks.get(name)


def print_programs(costs, baseline, on_hooks, up):
    """The per-program table, judged above an empty program on the same
    hook under the same workload (else the ping-pong's): the run
    statistics' own clock reads, and the dispatch of a hook that fires
    among other kernel work, are not the program's cost. Returns the
    ping-pong's empty program's figure."""
    floor = baseline.get("empty", 0.0)
    clock = baseline.get("clock_read", floor) - floor
    timing = timing_collectors()
    print("\nBPF program cost (kernel run statistics; bpfpush's default BPF collectors: %s)"
          % ", ".join(up))
    print("Baseline (calibrate.bpf.c on sched_switch under the ping-pong, ns per event): "
          "empty %.1f, clock read %.1f (%.1f above empty), per-CPU counter %.1f"
          % (floor, baseline.get("clock_read", float("nan")), clock,
             baseline.get("percpu_counter", float("nan"))))
    print("Empty programs on the collectors' hooks, beside them under the same workload: %s"
          % (", ".join("%s %.1f" % kv for kv in sorted(on_hooks.items())) or "none"))
    print("Target: counting programs <= %.0f ns above empty; programs timing an interval "
          "<= one clock read + %.0f = %.1f ns above empty (judged above the empty program "
          "on the same hook)" % (ABOVE_EMPTY_NS, ABOVE_EMPTY_NS, clock + ABOVE_EMPTY_NS))
    print("%-14s %-26s %10s %9s %12s %12s %7s %6s" % (
        "collector", "program", "events", "ns/event", "-ping-pong's", "-same hook's",
        "limit", "target"))
    for (collector, program), c in sorted(costs.items()):
        runs, secs = c.get("runs", 0), c.get("seconds", 0)
        ns = secs * 1e9 / runs if runs else float("nan")
        same = hook_empty(on_hooks, collector, program)
        above = ns - (same if same is not None else floor)
        limit = ABOVE_EMPTY_NS + (clock if collector in timing else 0)
        verdict = "-" if runs < MIN_EVENTS else ("PASS" if above <= limit else "FAIL")
        print("%-14s %-26s %10d %9.1f %12.1f %12s %7.1f %6s%s"
              % (collector, program, runs, ns, ns - floor,
                 "-" if same is None else "%.1f" % (ns - same), limit, verdict,
                 "" if runs >= MIN_EVENTS else "  (too few events: not judged)"))
    return floor


def main():
    if os.geteuid() != 0:
        print("bpf bench: needs root (it loads BPF programs)")
        return 1
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny workloads (make bench-quick)")
    ap.add_argument("--pairs", type=int, help="on/off pairs for the host cost")
    args = ap.parse_args()
    if args.quick:
        quick()
    global PAIRS
    PAIRS = args.pairs or PAIRS
    os.sched_setaffinity(0, other_cpus())  # this script's own work off the measured CPU
    ctx = build_ctxswitch()
    calibrator = build_calibrate()
    baseline = calibrate(calibrator, ctx)
    cfg = config()
    host = pairs(ctx, cfg, ())  # the agent as deployed: run statistics off
    stats_cost = pairs(ctx, cfg, DryRunAgent.STATS_ALWAYS, ())
    dispatch = pairs(ctx, cfg, lambda: Held(calibrator, "empty")) if calibrator else None
    agent = start_pinned(cfg)
    try:
        first = agent.rounds[0]
        up = sorted(l["collector"] for n, l, v in first.samples
                    if n == "bpfpush_bpf_collector_up" and v == 1)
        empties = HookEmpties(calibrator)
        try:
            pingpong(ctx, ROUND_TRIPS)
            tcp_stream(TCP_WRITES)
            udp_to_closed_port(UDP_DROPS)
            tcp_churn(TCP_CONNECTIONS)
        finally:
            on_hooks = empties.finish()
        last = agent.next_round(timeout=60)
    finally:
        rc, err = agent.stop()
    if not up:
        print("bpf bench: no BPF collector loaded\n" + err[-2000:])
        return 1

    costs = program_costs(last)
    floor = print_programs(costs, baseline, on_hooks, up)
    print_host(host, stats_cost, costs, dispatch)
    print("\nebpf_exporter's published figures, per event: tp_btf + simple map +35 ns; "
          "kprobe + simple map +160 ns")
    print_variants(ctx, floor)
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
