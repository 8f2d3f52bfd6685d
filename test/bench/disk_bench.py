#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`make bench`, the disk tier, with the real agent and VictoriaMetrics.

steady: healthy receiver, --series at 1 s: /proc/PID/io write_bytes over
--steady-seconds. collect: the same without remote_write (CPU reference).
outage: receiver down: du of data_dir/queue per buffered sample, CPU per
sample written, SIGTERM's exit time. drain: --backlog-minutes of
--big-series at --backlog-interval, built at --build-interval with the
receiver down; then VictoriaMetrics starts and the agent restarts: time
until VictoriaMetrics holds the whole backlog, CPU per sample replayed.
test/bench/README.md says more. Only loopback, free ports and --workdir;
everything started is stopped on the way out. Exit status 0 when every
figure was measured, 1 otherwise.
"""
import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import remote_write_bench as rw  # noqa: E402

TARGET_DISK_B = 12.0     # bytes on disk per buffered sample: the wire's, when not measured
TARGET_CPU_US = 1.0      # CPU per sample written, and per sample replayed
TARGET_EXIT_S = 5.0      # SIGTERM during an outage
PFX = "bpfpush_remote_storage_"
# No random wait before the first replay: the drain time is the agent's.
QUEUE = {"catchup_jitter": "0s"}


class VMAt(rw.VictoriaMetrics):
    """A VictoriaMetrics on a port chosen beforehand (the agent has been
    pushing at it while it was down)."""

    def __init__(self, workdir, port):
        saved, rw.free_port = rw.free_port, (lambda: port)
        try:
            super().__init__(workdir)
        finally:
            rw.free_port = saved


class Agent:
    """bpfpush with a data_dir and its status endpoint (for its gauges).
    Once read, /metrics is rendered every round for 10 minutes (about 2 us
    per series), so it is read only after the CPU windows."""

    def __init__(self, args, wd, textdir, url, interval, level="debug"):
        os.makedirs(wd, exist_ok=True)
        self.port = rw.free_port()
        cfg = os.path.join(wd, "bpfpush.yml")
        lines = ["global:", f"  interval: {interval}s", f"  data_dir: {args.data_dir}"]
        if url:
            lines += ["remote_write:", f"  - url: {url}", "    name: bench", "    queue_config:"]
            lines += [f"      {k}: {v}" for k, v in args.queue.items()] or ["      {}"]
        lines += ["collectors:"] + [f"  {n}: false" for n in rw.DISABLE["collectors"]]
        lines += [f"  textfile: {{directory: {textdir}}}"]
        if rw.DISABLE["bpf"]:
            lines += ["bpf:"] + [f"  {n}: false" for n in rw.DISABLE["bpf"]]
        lines += ["http:", f'  listen_address: "127.0.0.1:{self.port}"', ""]
        with open(cfg, "w") as f:
            f.write("\n".join(lines))
        self.started = time.monotonic()
        self.proc = rw.Proc("bpfpush", [args.bpfpush, "--config", cfg, "--log-level", level],
                            os.path.join(wd, "bpfpush.log"))
        self.pid = self.proc.pid

    def rounds(self):
        """Samples appended per round, from the debug log."""
        return rw.rounds_logged(self.proc.logpath)

    def wait_rounds(self, n, timeout):
        rw.wait_until(lambda: len(self.rounds()) >= n or not self.proc.alive(), timeout,
                      f"{n} rounds", step=0.02)
        self.check_alive()
        return len(self.rounds())

    def check_alive(self):
        if not self.proc.alive():
            raise rw.BenchError(f"bpfpush exited:\n{self.proc.tail()}")

    def metrics(self):
        return rw.http_get(f"http://127.0.0.1:{self.port}/metrics", timeout=30).decode()

    def value(self, name, text=None):
        return rw.metric_sum(text or self.metrics(), PFX + name)

    def write_bytes(self):
        with open(f"/proc/{self.pid}/io") as f:
            return int(next(ln for ln in f if ln.startswith("write_bytes:")).split()[1])

    def cpu(self):
        return rw.proc_cpu_seconds(self.pid)

    def sigterm(self):
        """Seconds from SIGTERM to exit."""
        t0 = time.monotonic()
        self.proc.p.terminate()
        try:
            self.proc.p.wait(60)
        except subprocess.TimeoutExpired:
            pass
        dt = time.monotonic() - t0
        self.proc.stop()
        return dt


def du(path):
    """(bytes allocated, apparent bytes) of every file under path."""
    alloc = size = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except FileNotFoundError:
                continue
            alloc, size = alloc + st.st_blocks * 512, size + st.st_size
    return alloc, size


def closed_url():
    return f"http://127.0.0.1:{rw.free_port()}/api/v1/write"  # bound, closed: refused


def has_disk_tier(args):
    """--check-config accepts the disk tier's keys."""
    path = os.path.join(args.workdir, "probe-disk.yml")
    with open(path, "w") as f:
        f.write(f"global:\n  data_dir: {args.workdir}/probe-data\nremote_write:\n"
                f"  - url: http://127.0.0.1:1/api/v1/write\n    queue_config:\n"
                f"      catchup_jitter: 0s\n      max_disk_bytes: 1GiB\n")
    return subprocess.run([args.bpfpush, "--check-config", path], capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=30).returncode == 0


def phase_steady(args, res):
    """a: a healthy receiver; nothing may reach the disk. Log level info,
    so the agent's own log adds no writes in the window."""
    wd = os.path.join(args.workdir, "steady")
    vm = rw.VictoriaMetrics(os.path.join(wd, "vm"))
    agent = None
    try:
        agent = Agent(args, wd, args.small_dir, vm.write_url, 1, level="info")
        rw.wait_until(lambda: vm.rows()[0] >= 5 * args.series, 60, "5 rounds at VictoriaMetrics")
        agent.check_alive()
        logsize = os.path.getsize(agent.proc.logpath)
        w0, c0, r0 = agent.write_bytes(), agent.cpu(), vm.rows()[0]
        time.sleep(args.steady_seconds)
        w1, c1, r1 = agent.write_bytes(), agent.cpu(), vm.rows()[0]
        text1 = agent.metrics()
        res["steady_write_bytes"] = w1 - w0
        res["steady_disk_samples"] = agent.value("disk_samples_written_total", text1)
        res["healthy_us"] = (c1 - c0) / (r1 - r0) * 1e6 if r1 > r0 else None
        sent, nbytes = agent.value("samples_total", text1), agent.value("bytes_total", text1)
        res["wire_b"] = nbytes / sent if sent and nbytes else None
        if os.path.getsize(agent.proc.logpath) != logsize:
            res["notes"].append("steady: the agent logged during the window (its log file "
                                "counts in write_bytes):\n" + agent.proc.tail(3))
    finally:
        if agent:
            agent.proc.stop()
        vm.stop()


def cpu_window(args, agent):
    """(CPU s, samples appended) from just after one round's append to just
    after a later one's, --outage-seconds apart."""
    r0 = agent.wait_rounds(3, 30)
    c0 = agent.cpu()
    time.sleep(args.outage_seconds - 0.5)
    r1 = agent.wait_rounds(r0 + 1, 30)
    return agent.cpu() - c0, sum(agent.rounds()[r0:r1])


def phase_collect(args, res):
    """The same workload without remote_write: what collecting costs, to
    subtract from the outage's CPU."""
    agent = Agent(args, os.path.join(args.workdir, "collect"), args.small_dir, None, 1)
    try:
        cpu, samples = cpu_window(args, agent)
        res["collect_us"] = cpu / samples * 1e6
    finally:
        agent.proc.stop()


def phase_outage(args, res):
    """b: receiver down: bytes on disk per sample, CPU per sample written,
    SIGTERM's exit time."""
    wd = os.path.join(args.workdir, "outage")
    agent = Agent(args, wd, args.small_dir, closed_url(), 1)
    try:
        # The first sends fail and the endpoint goes to disk before the window.
        cpu, written = cpu_window(args, agent)
        text1 = agent.metrics()
        on_disk = agent.value("disk_samples", text1)
        alloc, size = du(os.path.join(args.data_dir, "queue"))
        res["outage_du"] = (alloc, size)
        if on_disk:
            res["disk_b"] = alloc / on_disk
            res["disk_b_apparent"] = size / on_disk
            gauge = agent.value("disk_bytes", text1)
            res["disk_b_gauge"] = gauge / on_disk if gauge else None
            res["outage_samples"] = on_disk
        if on_disk:  # else there is no disk tier: nothing was written
            res["write_us"] = cpu / written * 1e6
        res["exit_s"] = agent.sigterm()
    finally:
        agent.proc.stop()
    shutil.rmtree(args.data_dir, ignore_errors=True)


def count_backlog(vm, t_from, t_to):
    """bench samples VictoriaMetrics holds with timestamps in [t_from, t_to]."""
    rng = int(t_to - t_from) + 1
    rw.http_get(vm.base + "/internal/force_flush")
    r = json.loads(rw.http_get(
        f"{vm.base}/api/v1/query?" + urllib.parse.urlencode({
            "query": f'sum(count_over_time({{__name__=~"bench_metric_.*"}}[{rng}s]))',
            "time": f"{t_to:.3f}"}), timeout=120))["data"]["result"]
    return int(float(r[0]["value"][1])) if r else 0


def phase_drain(args, res):
    """c: build the backlog fast with the receiver down, stop, bring the
    receiver up, restart at the backlog's interval, time the drain."""
    wd = os.path.join(args.workdir, "drain")
    port = rw.free_port()
    url = f"http://127.0.0.1:{port}/api/v1/write"
    rounds = round(args.backlog_minutes * 60 / args.backlog_interval)
    t_build0 = time.time()
    build = Agent(args, os.path.join(wd, "build"), args.big_dir, url, args.build_interval)
    try:
        build.wait_rounds(rounds, rounds * args.build_interval * 3 + 60)
        text = build.metrics()
        res["build_dropped"] = rw.metric_sum(text, PFX + "samples_dropped_total") or 0
        res["build_exit_s"] = build.sigterm()
    finally:
        build.proc.stop()
    per_round = build.rounds()
    backlog = sum(per_round)
    expect = len(per_round) * args.big_series
    res.update(backlog_rounds=len(per_round), backlog_samples=backlog,
               backlog_du=du(os.path.join(args.data_dir, "queue"))[0])
    rw.log(f"drain: {len(per_round)} rounds, {backlog:,} samples on disk "
           f"({res['backlog_du'] / 1e6:.1f} MB); starting VictoriaMetrics")
    vm = VMAt(os.path.join(wd, "vm"), port)
    agent = None
    try:
        t_restart = time.time()
        agent = Agent(args, os.path.join(wd, "replay"), args.big_dir, url,
                      args.backlog_interval)
        t0 = agent.started
        c0 = 0.0  # a new process: all of its CPU is the drain's
        rw.wait_until(lambda: vm.rows()[0] >= backlog or not agent.proc.alive(),
                      args.drain_timeout, f"{backlog:,} samples at VictoriaMetrics", step=0.25)
        agent.check_alive()
        t1, c1, rows = time.monotonic(), agent.cpu(), vm.rows()[0]
        res["drain_s"] = t1 - t0
        res["replay_us"] = (c1 - c0) / rows * 1e6 if rows else None
        rw.wait_until(lambda: agent.value("disk_samples") == 0, 4 * args.backlog_interval + 30,
                      "the disk gauge to reach 0")
        res["drain_gauge_s"] = time.monotonic() - t0
        res["backlog_at_vm"] = count_backlog(vm, t_build0 - 1, t_restart)
        res["backlog_expected"] = expect
        res["drain_dropped"] = agent.value("samples_dropped_total") or 0
    finally:
        if agent:
            agent.proc.stop()
        vm.stop()


def verdict(value, target, fmt_):
    if value is None:
        return "n/a", "NOT MEASURED"
    return format(value, fmt_), "PASS" if value <= target else "FAIL"


def report(args, res):
    rows = []

    def row(name, value, fmt_, target, unit):
        v, ok = verdict(value, target, fmt_) if target is not None else \
            ((format(value, fmt_) if value is not None else "n/a"), "")
        rows.append([name, f"{v} {unit}".strip(), f"<= {target:g} {unit}" if target is not None
                     else "", ok])
        if target is not None:
            checks.append(f"target disk tier {name} <= {target:g} {unit} : {ok} ({v} {unit})")

    checks = []
    print()
    print(f"bpfpush disk bench: {args.bpfpush}, data_dir on "
          f"{args.fs_type}, {os.cpu_count()} CPUs, load average {args.load_start} at the start, "
          f"{rw.loadavg()} at the end")
    print("reproduce: " + shlex.join(["/usr/bin/python3", "test/bench/disk_bench.py"]
                                     + sys.argv[1:]))
    row(f"disk write_bytes in {args.steady_seconds}s, healthy receiver "
        f"({args.series} series, 1s)", res.get("steady_write_bytes"), ",d", 0, "B")
    row("  samples written to disk since its start (disk_samples_written_total)",
        res.get("steady_disk_samples"), ",.0f", None, "")
    wire = res.get("wire_b")
    row(f"bytes on disk per buffered sample (du / disk_samples, {args.outage_seconds}s outage)",
        res.get("disk_b"), ".2f", round(wire, 2) if wire else TARGET_DISK_B, "B")
    row("  apparent size / disk_samples", res.get("disk_b_apparent"), ".2f", None, "B")
    row("  disk_bytes gauge / disk_samples", res.get("disk_b_gauge"), ".2f", None, "B")
    row("  bytes on the wire per sample (healthy run: the target)", wire, ".2f", None, "B")
    row("CPU per sample written (whole agent, outage)", res.get("write_us"), ".3f",
        TARGET_CPU_US, "us")
    row("  same workload, healthy receiver", res.get("healthy_us"), ".3f", None, "us")
    row("  same workload, no remote_write (collecting)", res.get("collect_us"), ".3f",
        None, "us")
    if res.get("write_us") and res.get("collect_us"):
        row("  disk write path: outage - no remote_write", res["write_us"] - res["collect_us"],
            ".3f", None, "us")
    row("SIGTERM during the outage: exit", res.get("exit_s"), ".2f", TARGET_EXIT_S, "s")
    if "drain" in args.only:
        row(f"CPU per sample replayed (whole agent, drain at {args.backlog_interval}s)",
            res.get("replay_us"), ".3f", TARGET_CPU_US, "us")
        rows.append([f"backlog: {res.get('backlog_rounds', 0)} rounds of {args.big_series} "
                     f"series built at {args.build_interval}s",
                     f"{res.get('backlog_samples', 0):,} samples",
                     f"{res.get('backlog_du', 0) / 1e6:.1f} MB on disk", ""])
        row("drain: agent start to the whole backlog at VictoriaMetrics", res.get("drain_s"),
            ".1f", None, "s")
        row("  to bpfpush_remote_storage_disk_samples 0", res.get("drain_gauge_s"), ".1f",
            None, "s")
        row("  SIGTERM of the building agent: exit", res.get("build_exit_s"), ".2f", None, "s")
    print(rw.table(["figure", "value", "target", ""], rows))
    print()
    for n in res["notes"]:
        print(f"note   {n}")
    for c in checks:
        print(c)
    if "backlog_at_vm" in res:
        got, want = res["backlog_at_vm"], res["backlog_expected"]
        drops = res.get("build_dropped", 0) + res.get("drain_dropped", 0)
        print(f"check  VictoriaMetrics holds every backlog sample : "
              f"{'PASS' if got >= want and not drops else 'FAIL'} ({got:,} of {want:,}, "
              f"{drops:.0f} dropped)")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bpfpush", default=os.path.join(rw.REPO, "build", "bpfpush"))
    ap.add_argument("--workdir", default=os.path.join(rw.REPO, "build", "bench", "disk"))
    ap.add_argument("--series", type=int, default=10000, help="steady and outage phases")
    ap.add_argument("--steady-seconds", type=int, default=60)
    ap.add_argument("--outage-seconds", type=int, default=30)
    ap.add_argument("--big-series", type=int, default=100000, help="the drain's backlog")
    ap.add_argument("--backlog-minutes", type=float, default=10)
    ap.add_argument("--backlog-interval", type=int, default=5, help="seconds")
    ap.add_argument("--build-interval", type=float, default=1,
                    help="seconds between rounds while the backlog is built")
    ap.add_argument("--drain-timeout", type=int, default=600)
    ap.add_argument("--only", default="steady,collect,outage,drain")
    ap.add_argument("--time-limit", type=int, default=1200)
    args = ap.parse_args()
    args.bpfpush, args.workdir = os.path.abspath(args.bpfpush), os.path.abspath(args.workdir)
    args.load_start = rw.loadavg()
    args.interval = 1  # for rw.probe_collectors
    args.data_dir = os.path.join(args.workdir, "data")
    args.queue = dict(QUEUE)
    res = {"notes": []}

    def on_signal(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def on_alarm(signum, frame):
        raise rw.TimeLimit()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.time_limit)
    failed = False
    try:
        if not shutil.which("victoria-metrics"):
            raise rw.BenchError("victoria-metrics not found (make deps installs it)")
        if not os.access(args.bpfpush, os.X_OK):
            raise rw.BenchError(f"{args.bpfpush} is not built (make all)")
        marker = os.path.join(args.workdir, ".bpfpush-bench")
        if os.path.isdir(args.workdir) and os.listdir(args.workdir) \
                and not os.path.exists(marker):
            raise rw.BenchError(f"{args.workdir} is not empty and not a bench directory")
        shutil.rmtree(args.workdir, ignore_errors=True)
        os.makedirs(args.workdir)
        open(marker, "w").close()
        args.fs_type = subprocess.run(["stat", "-f", "-c", "%T", args.workdir],
                                      capture_output=True, text=True).stdout.strip()
        if args.fs_type in ("tmpfs", "ramfs"):
            res["notes"].append(f"{args.workdir} is on {args.fs_type}: write_bytes misses it")
        if not has_disk_tier(args):
            res["notes"].append("this bpfpush rejects catchup_jitter/max_disk_bytes: no disk "
                                "tier; the drain is skipped")
            args.queue = {}
            args.only = ",".join(p for p in args.only.split(",") if p != "drain")
        rw.DISABLE.update(rw.probe_collectors(args))
        for name, n in (("small_dir", args.series), ("big_dir", args.big_series)):
            d = os.path.join(args.workdir, f"textfile-{n}")
            os.makedirs(d)
            with open(os.path.join(d, "bench.prom"), "wb") as f:
                f.write(rw.exposition(n))
            setattr(args, name, d)
        for key, fn in (("steady", phase_steady), ("collect", phase_collect),
                        ("outage", phase_outage), ("drain", phase_drain)):
            if key in args.only.split(","):
                rw.log(f"phase {key}")
                try:
                    fn(args, res)
                except rw.BenchError as e:
                    res["notes"].append(f"{key}: {e}")
                    failed = True
                shutil.rmtree(args.data_dir, ignore_errors=True)
    except rw.BenchError as e:
        rw.log(f"cannot run: {e}")
        failed = True
    except rw.TimeLimit:
        rw.log(f"past the time limit ({args.time_limit}s); stopping")
        failed = True
    except KeyboardInterrupt as e:
        rw.log(f"interrupted ({e or 'SIGINT'}); stopping what was started")
        failed = None
    finally:
        signal.alarm(0)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        rw.Proc.stop_all()
    if failed is None:
        return 130
    if hasattr(args, "fs_type"):
        report(args, res)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
