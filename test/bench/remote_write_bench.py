#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`make bench`: what bpfpush costs, next to vmagent and a Prometheus agent.

Figures (see test/bench/README.md for what each one means):

 1. End-to-end CPU per sample. The same 100,000 series per interval go
    through bpfpush (textfile collector), vmagent and `prometheus
    --enable-feature=agent` (both scraping the same exposition, served over
    HTTP from this process), each into its own fresh VictoriaMetrics on
    loopback. The agents run one after the other, each alone on the machine,
    so that none steals cache or cores from another. For every agent: CPU
    seconds (utime+stime from /proc/PID/stat) over a window of exactly
    --rounds intervals after --warmup intervals, the samples its
    VictoriaMetrics inserted in that window (vm_rows_inserted_total), peak
    RSS (VmHWM) and compressed bytes per sample (the agent's own counter).
    bpfpush also runs without any remote_write endpoint: what it costs to
    read the textfile and build the round, so the remote-write path
    (registry -> queue -> encode -> snappy -> send) shows as the difference.

 2. Memory per queued sample: bpfpush with its receiver down (a closed
    loopback port), 100,000 series every second, rings big enough to keep
    them all; RSS growth divided by the samples queued since a baseline.

Only loopback, free ports, files under build/bench/remote-write/. Every process
started here is stopped on the way out (also on errors, Ctrl-C, SIGTERM and
the overall time limit). Exit status: 0 when every figure could be
measured, whether or not it meets its target; 1 when the bench could not
run (a missing binary, an agent that did not start, no samples arriving).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLK_TCK = os.sysconf("SC_CLK_TCK")
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

TARGET_CPU_US = 0.25     # bpfpush, end to end, CPU microseconds per sample
TARGET_FLAT = 0.20       # --scaling: CPU per sample within 20 % of the smallest across sizes
TARGET_QUEUED_B = 32.0   # bpfpush, bytes of RSS per queued sample


class BenchError(Exception):
    """The bench itself could not run (as opposed to a figure missing its target)."""


class TimeLimit(BaseException):
    pass


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---- processes ---------------------------------------------------------

class Proc:
    """A child process with its own log file; stopped by its pid only."""

    live = []

    def __init__(self, name, argv, logpath, env=None):
        self.name = name
        self.logpath = logpath
        self.logf = open(logpath, "w")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                  stderr=subprocess.STDOUT, env=env,
                                  start_new_session=True)  # Ctrl-C is ours to relay
        self.pid = self.p.pid
        Proc.live.append(self)

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=15):
        if self.alive():
            try:
                self.p.terminate()
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if self in Proc.live:
            Proc.live.remove(self)
        self.logf.close()

    def tail(self, n=5):
        try:
            with open(self.logpath, errors="replace") as f:
                return "".join(f.readlines()[-n:]).rstrip()
        except OSError:
            return ""

    @classmethod
    def stop_all(cls):
        for p in list(cls.live):
            try:
                p.stop(timeout=5)
            except Exception:  # keep stopping the others
                pass


def proc_cpu_seconds(pid):
    """utime + stime of the whole process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15


def thread_cpu_ns(pid):
    """{tid: sum_exec_runtime in ns} of every live thread (schedstat)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                out[int(tid)] = int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def proc_cpu_ns_seconds(pid):
    """The same CPU time to the nanosecond: the sum over live threads.
    Misses threads that exited, so it is only used when it agrees with
    proc_cpu_seconds."""
    return sum(thread_cpu_ns(pid).values()) / 1e9


def proc_status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise BenchError(f"no {key} in /proc/{pid}/status")


# ---- HTTP helpers --------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def wait_until(pred, timeout, what, step=0.1):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
            if v:
                return v
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(step)


def metric_sum(text, name, label_filter=None):
    """Sum of every series of `name` in a text exposition (optionally only
    lines containing label_filter). None when the metric is absent."""
    total, found = 0.0, False
    pat = re.compile(r"^" + re.escape(name) + r"(\{[^}]*\})?\s+(\S+)")
    for line in text.splitlines():
        m = pat.match(line)
        if m and (label_filter is None or label_filter in (m.group(1) or "")):
            total += float(m.group(2))
            found = True
    return total if found else None


class ExpositionServer:
    """The 100k-series exposition over HTTP, for the scraping agents: the
    same bytes bpfpush reads from its textfile directory."""

    def __init__(self, body):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class VictoriaMetrics:
    def __init__(self, workdir):
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.write_url = self.base + "/api/v1/write"
        self.proc = Proc("victoria-metrics", [
            shutil.which("victoria-metrics"),
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={workdir}/data",
            "-search.latencyOffset=0s",
            "-search.maxUniqueTimeseries=4000000",  # count() over --scaling's 1M series
            "-loggerLevel=WARN",
        ], os.path.join(workdir, "victoria-metrics.log"))
        wait_until(lambda: self.proc.alive() and http_get(self.base + "/health"), 30,
                   "VictoriaMetrics to start")

    def metrics(self):
        return http_get(self.base + "/metrics").decode()

    def rows(self):
        """Rows (samples) inserted through /api/v1/write, and write requests."""
        t = self.metrics()
        return (int(metric_sum(t, "vm_rows_inserted_total", 'type="promremotewrite"') or 0),
                int(metric_sum(t, "vm_http_requests_total", 'path="/api/v1/write"') or 0))

    def query(self, q):
        http_get(self.base + "/internal/force_flush")
        url = f"{self.base}/api/v1/query?" + urllib.parse.urlencode({"query": q})
        return json.loads(http_get(url, timeout=30))["data"]["result"]

    def scalar(self, q):
        r = self.query(q)
        return float(r[0]["value"][1]) if r else None

    def stop(self):
        self.proc.stop()


# ---- the workload ----------------------------------------------------------

FAMILIES = 100


def exposition(series):
    """`series` gauges in FAMILIES families, two labels each, no timestamps
    (bpfpush stamps them with the round time, scrapers with the scrape
    time). Values follow the series number, so a value read back proves
    which series it came from."""
    per = -(-series // FAMILIES)
    out = []
    for f in range(FAMILIES):
        lo, hi = f * per, min((f + 1) * per, series)
        if lo >= hi:
            break
        out.append(f"# HELP bench_metric_{f:03d} Benchmark gauge {f}.\n"
                   f"# TYPE bench_metric_{f:03d} gauge\n")
        out.extend(f'bench_metric_{f:03d}{{host="host-{i % 50:02d}",series="{i}"}} {i + 0.5}\n'
                   for i in range(lo, hi))
    return "".join(out).encode()


def spot_checks(series):
    per = -(-series // FAMILIES)
    return [(f"bench_metric_{i // per:03d}", str(i), i + 0.5)
            for i in sorted({0, series // 2 + 1, series - 1})]


# ---- the phases ------------------------------------------------------------

class Phase:
    def __init__(self, name):
        self.name = name
        self.error = None
        self.cpu_s = self.samples = self.window_s = None
        self.hwm_kb = None
        self.bytes_per_sample = None
        self.series_at_vm = None
        self.rounds = None
        self.main_thread_s = self.other_threads_s = None
        self.samples_per_request = None
        self.notes = []

    @property
    def ok(self):
        return self.error is None and self.samples

    def us_per_sample(self):
        return self.cpu_s / self.samples * 1e6 if self.ok else None


def window_bounds(args, read_count):
    """Waits out the warm-up (read_count() >= warmup rounds of samples),
    then for a quiet moment (no samples arriving for 0.6 s, so the window
    does not start in the middle of a round), and returns."""
    need = args.warmup * args.series
    wait_until(lambda: read_count() >= need, args.warmup * args.interval + args.interval * 3,
               f"{args.warmup} rounds of samples", step=0.2)
    last, since = read_count(), time.monotonic()
    deadline = time.monotonic() + args.interval
    while time.monotonic() < deadline:
        time.sleep(0.2)
        cur = read_count()
        if cur != last:
            last, since = cur, time.monotonic()
        elif time.monotonic() - since >= 0.6:
            break


def measure_window(args, phase, proc, read_count, sample_extra=None):
    """CPU seconds and samples over exactly args.rounds intervals."""
    window_bounds(args, read_count)
    extra0 = sample_extra() if sample_extra else None
    t0, n0 = time.monotonic(), read_count()
    th0 = thread_cpu_ns(proc.pid)
    c0, p0 = proc_cpu_seconds(proc.pid), sum(th0.values()) / 1e9
    time.sleep(args.rounds * args.interval)
    th1 = thread_cpu_ns(proc.pid)
    c1, p1 = proc_cpu_seconds(proc.pid), sum(th1.values()) / 1e9
    # Main thread and the others (for bpfpush: collectors, registry and
    # queue_append run on the main thread; batching, encoding, snappy and
    # HTTP on the shards' sender threads).
    phase.main_thread_s = (th1.get(proc.pid, 0) - th0.get(proc.pid, 0)) / 1e9
    phase.other_threads_s = p1 - p0 - phase.main_thread_s
    n1, t1 = read_count(), time.monotonic()
    extra1 = sample_extra() if sample_extra else None
    if not proc.alive():
        raise BenchError(f"{phase.name} exited during the window:\n{proc.tail()}")
    # Clock ticks (1/CLK_TCK s) are the reference; the per-thread
    # nanosecond sum replaces them when it agrees to within their rounding.
    phase.cpu_s = c1 - c0
    if abs((p1 - p0) - phase.cpu_s) <= 2.0 / CLK_TCK + 0.01 * phase.cpu_s:
        phase.cpu_s = p1 - p0
    else:
        phase.notes.append(f"CPU from clock ticks ({c1 - c0:.2f} s): the per-thread sum "
                           f"({p1 - p0:.3f} s) disagrees, a thread must have exited")
    phase.samples, phase.window_s = n1 - n0, t1 - t0
    phase.rounds = phase.samples / args.series
    phase.hwm_kb = proc_status_kb(proc.pid, "VmHWM")
    if phase.samples <= 0:
        raise BenchError(f"{phase.name}: no samples in the window")
    return extra0, extra1


# Collectors to turn off so that only textfile runs: {"collectors": [...],
# "bpf": [...]}, found by probe_collectors (the set grows as bpfpush does).
DISABLE = {"collectors": ["cpu", "meminfo", "loadavg"], "bpf": []}


def bpfpush_config(path, args, textdir, url=None, queue=None, interval=None, disable=None):
    disable = DISABLE if disable is None else disable
    # data_dir: the disk tier (idle while the receiver keeps up) in the
    # workdir, not the host's /var/lib/bpfpush and whatever it holds.
    lines = ["global:", f"  interval: {interval or args.interval}s",
             f"  data_dir: {os.path.splitext(path)[0]}-data"]
    if url:
        lines += ["remote_write:", f"  - url: {url}", "    name: bench", "    queue_config:"]
        lines += [f"      {k}: {v}" for k, v in queue.items()]
    lines += ["collectors:"] + [f"  {n}: false" for n in disable["collectors"]]
    # Past the defaults (200,000 series per collector and per file, 64 MiB
    # per file) for --scaling.
    lines += [f"  textfile: {{directory: {textdir}, max_series: {max(200000, 2 * args.series)}, "
              f"max_series_per_file: {max(200000, args.series)}, "
              f"max_file_bytes: {max(64 << 20, 128 * args.series)}}}"]
    if disable["bpf"]:
        lines += ["bpf:"] + [f"  {n}: false" for n in disable["bpf"]]
    lines += ["http:", '  listen_address: ""', ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def probe_collectors(args):
    """Which collectors this bpfpush runs by default: one --dry-run --once
    round with nothing configured but an empty textfile directory, every
    collector="..." label in its output. Each is then placed in the
    section (collectors or bpf) where --check-config accepts `NAME: false`,
    and a second dry run checks that only textfile is left."""
    wd = os.path.join(args.workdir, "probe")
    empty = os.path.join(wd, "empty")
    os.makedirs(empty)
    cfg = os.path.join(wd, "probe.yml")

    def dry_run(disable):
        bpfpush_config(cfg, args, empty, disable=disable)
        try:
            r = subprocess.run([args.bpfpush, "--config", cfg, "--dry-run", "--once"],
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise BenchError("bpfpush --dry-run --once did not finish in 60 s")
        if r.returncode != 0:
            raise BenchError(f"bpfpush --dry-run --once exited {r.returncode}: "
                             f"{r.stderr.decode(errors='replace')[-500:]}")
        return set(re.findall(r'collector="([^"\\]+)"', r.stdout.decode(errors="replace")))

    found = dry_run({"collectors": [], "bpf": []}) - {"textfile"}
    disable = {"collectors": [], "bpf": []}
    for name in sorted(found):
        for section in ("collectors", "bpf"):
            with open(cfg, "w") as f:
                f.write(f"{section}:\n  {name}: false\n")
            if subprocess.run([args.bpfpush, "--check-config", cfg], capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=30).returncode == 0:
                disable[section].append(name)
                break
    left = dry_run(disable) - {"textfile"}
    if left:
        raise BenchError(f"cannot turn off bpfpush collectors {sorted(left)}")
    return disable


ROUND_RE = re.compile(r'msg="round collected" samples=(\d+)')


def rounds_logged(logpath):
    """Samples handed to the queues per round, from bpfpush's debug log."""
    with open(logpath, errors="replace") as f:
        return [int(m.group(1)) for m in ROUND_RE.finditer(f.read())]


def start_bpfpush(args, wd, cfg):
    p = Proc("bpfpush", [args.bpfpush, "--config", cfg, "--log-level", "debug",
                         "--flush-deadline", "2s"], os.path.join(wd, "bpfpush.log"))
    wait_until(lambda: p.alive() and rounds_logged(p.logpath), 15, "bpfpush's first round")
    return p


BPFPUSH_QUEUE = {"capacity": 200000, "max_samples_per_send": 2000,
                 "batch_send_deadline": "5s", "min_shards": 1}


def phase_bpfpush(args, textdir, tag=""):
    ph = Phase("bpfpush")
    wd = os.path.join(args.workdir, "bpfpush" + tag)
    os.makedirs(wd)
    vm = VictoriaMetrics(os.path.join(wd, "vm"))
    proc = None
    try:
        cfg = os.path.join(wd, "bpfpush.yml")
        queue = dict(BPFPUSH_QUEUE, capacity=max(BPFPUSH_QUEUE["capacity"], 2 * args.series))
        bpfpush_config(cfg, args, textdir, vm.write_url, queue)
        proc = start_bpfpush(args, wd, cfg)
        measure_window(args, ph, proc, lambda: vm.rows()[0])
        n = vm.scalar('count({__name__=~"bench_metric_.*"})')
        ph.series_at_vm = int(n) if n is not None else 0
        bad = []
        for name, series, want in spot_checks(args.series):
            got = vm.scalar(f'{name}{{series="{series}"}}')
            if got != want:
                bad.append(f"{name}{{series={series}}}={got} (want {want})")
        if bad:
            ph.notes.append("wrong values at VictoriaMetrics: " + ", ".join(bad))
        sent = vm.scalar('sum(bpfpush_remote_storage_samples_total)')
        nbytes = vm.scalar('sum(bpfpush_remote_storage_bytes_total)')
        if sent and nbytes:
            ph.bytes_per_sample = nbytes / sent
        ph.notes.append(
            f"CPU by thread: main (textfile, registry, queue_append) "
            f"{ph.main_thread_s / ph.samples * 1e6:.3f} us/sample, sender threads (batch, "
            f"protobuf, snappy, HTTP) {ph.other_threads_s / ph.samples * 1e6:.3f} us/sample")
        dropped = vm.scalar('sum(bpfpush_remote_storage_samples_dropped_total)')
        if dropped:
            ph.notes.append(f"bpfpush dropped {dropped:.0f} samples (samples_dropped_total)")
        rows, reqs = vm.rows()
        ph.samples_per_request = rows / reqs if reqs else None
        if sent:
            ph.notes.append(f"its own bpfpush_remote_storage_samples_total, newest value at "
                            f"VictoriaMetrics: {sent:.0f} (a snapshot from a round's start, "
                            f"pushed with a later batch); VictoriaMetrics inserted {rows} in all")
    finally:
        if proc:
            proc.stop()
        vm.stop()
    return ph


def phase_bpfpush_collect(args, textdir):
    """No remote_write: reading the textfile, the registry, the self-metrics."""
    ph = Phase("bpfpush, no remote_write")
    wd = os.path.join(args.workdir, "bpfpush-collect")
    os.makedirs(wd)
    cfg = os.path.join(wd, "bpfpush.yml")
    bpfpush_config(cfg, args, textdir)
    proc = start_bpfpush(args, wd, cfg)
    try:
        measure_window(args, ph, proc, lambda: sum(rounds_logged(proc.logpath)))
    finally:
        proc.stop()
    return ph


def scrape_config(path, args, target, remote_write=None):
    lines = ["global:", f"  scrape_interval: {args.interval}s",
             f"  scrape_timeout: {max(1, args.interval - 1)}s",
             "scrape_configs:", "  - job_name: bench",
             f"    static_configs: [{{targets: ['{target}']}}]"]
    if remote_write:
        lines += ["remote_write:", f"  - url: {remote_write}", "    queue_config:",
                  "      capacity: 10000", "      max_samples_per_send: 2000", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def phase_vmagent(args, target):
    ph = Phase("vmagent")
    wd = os.path.join(args.workdir, "vmagent")
    os.makedirs(wd)
    vm = VictoriaMetrics(os.path.join(wd, "vm"))
    proc = None
    try:
        cfg = os.path.join(wd, "scrape.yml")
        scrape_config(cfg, args, target)
        port = free_port()
        proc = Proc("vmagent", [
            shutil.which("vmagent"), f"-promscrape.config={cfg}",
            f"-remoteWrite.url={vm.write_url}", f"-remoteWrite.tmpDataPath={wd}/queue",
            f"-httpListenAddr=127.0.0.1:{port}", "-loggerLevel=WARN",
        ], os.path.join(wd, "vmagent.log"))
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: proc.alive() and http_get(base + "/health"), 30, "vmagent to start")

        def sent_bytes():
            return metric_sum(http_get(base + "/metrics").decode(),
                              "vmagent_remotewrite_bytes_sent_total")

        b0, b1 = measure_window(args, ph, proc, lambda: vm.rows()[0], sent_bytes)
        if b0 is not None and b1 is not None:
            ph.bytes_per_sample = (b1 - b0) / ph.samples
        n = vm.scalar('count({__name__=~"bench_metric_.*"})')
        ph.series_at_vm = int(n) if n is not None else 0
        rows, reqs = vm.rows()
        ph.samples_per_request = rows / reqs if reqs else None
    finally:
        if proc:
            proc.stop()
        vm.stop()
    return ph


def phase_prometheus(args, target):
    ph = Phase("prometheus agent")
    wd = os.path.join(args.workdir, "prometheus-agent")
    os.makedirs(wd)
    vm = VictoriaMetrics(os.path.join(wd, "vm"))
    proc = None
    try:
        cfg = os.path.join(wd, "prometheus.yml")
        scrape_config(cfg, args, target, vm.write_url)
        port = free_port()
        proc = Proc("prometheus", [
            shutil.which("prometheus"), "--enable-feature=agent", f"--config.file={cfg}",
            f"--storage.agent.path={wd}/wal", f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ], os.path.join(wd, "prometheus.log"))
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: proc.alive() and http_get(base + "/-/ready"), 30,
                   "the Prometheus agent to start")

        def counters():
            t = http_get(base + "/metrics").decode()
            return (metric_sum(t, "prometheus_remote_storage_bytes_total"),
                    metric_sum(t, "prometheus_remote_storage_samples_total"))

        (b0, s0), (b1, s1) = measure_window(args, ph, proc, lambda: vm.rows()[0], counters)
        if None not in (b0, b1, s0, s1) and s1 > s0:
            ph.bytes_per_sample = (b1 - b0) / (s1 - s0)
            ph.notes.append(f"prometheus_remote_storage_samples_total in the window: "
                            f"{s1 - s0:.0f} (VictoriaMetrics inserted {ph.samples})")
        n = vm.scalar('count({__name__=~"bench_metric_.*"})')
        ph.series_at_vm = int(n) if n is not None else 0
        rows, reqs = vm.rows()
        ph.samples_per_request = rows / reqs if reqs else None
    finally:
        if proc:
            proc.stop()
        vm.stop()
    return ph


class MemPhase:
    def __init__(self):
        self.error = None
        self.points = []     # (queued samples, VmRSS kB, RssAnon kB) after each round
        self.base = self.end = None
        self.bytes_per_sample = self.slope = None
        self.capacity = None


def phase_memory(args, textdir):
    """Receiver down: every sample stays queued. RSS after each round."""
    mp = MemPhase()
    wd = os.path.join(args.workdir, "bpfpush-queued")
    os.makedirs(wd)
    closed = free_port()  # bound, then closed: nothing listens there
    mp.capacity = args.series * (args.mem_rounds + 2)
    cfg = os.path.join(wd, "bpfpush.yml")
    bpfpush_config(cfg, args, textdir, f"http://127.0.0.1:{closed}/api/v1/write",
                   {"capacity": mp.capacity, "min_shards": 1, "max_shards": 1,
                    "max_samples_per_send": 2000}, interval=1)
    proc = start_bpfpush(args, wd, cfg)
    try:
        seen = 0
        deadline = time.monotonic() + args.mem_rounds * 1.0 + 15
        while seen < args.mem_rounds:
            if time.monotonic() > deadline or not proc.alive():
                raise BenchError(f"bpfpush (receiver down) logged {seen} rounds:\n{proc.tail()}")
            per_round = rounds_logged(proc.logpath)
            if len(per_round) > seen:
                # RSS right after the round was queued (the log line follows
                # queue_append), long before the next one (1 s later).
                rss = proc_status_kb(proc.pid, "VmRSS")
                anon = proc_status_kb(proc.pid, "RssAnon")
                seen = len(per_round)
                mp.points.append((sum(per_round), rss, anon))
            time.sleep(0.02)
        if sum(rounds_logged(proc.logpath)) > mp.capacity:
            raise BenchError("the ring overflowed: raise its capacity")
    finally:
        proc.stop()
    b = min(args.mem_base_round, len(mp.points)) - 1
    mp.base, mp.end = mp.points[b], mp.points[-1]
    dq = mp.end[0] - mp.base[0]
    if dq <= 0:
        raise BenchError("no samples queued after the baseline")
    mp.bytes_per_sample = (mp.end[1] - mp.base[1]) * 1024 / dq
    xs = [p[0] for p in mp.points[b:]]
    ys = [p[1] * 1024 for p in mp.points[b:]]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    mp.slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else None
    return mp


def median_bpfpush(args, textdir):
    """phase_bpfpush --repeat times: the run of median CPU per sample, with
    every run's figure in a note (a shared machine moves single runs)."""
    runs = [phase_bpfpush(args, textdir, f"-{k}") for k in range(args.repeat)]
    runs.sort(key=lambda p: p.us_per_sample())
    ph = runs[len(runs) // 2]
    ph.all_us = [p.us_per_sample() for p in runs]
    return ph


def write_textfile(args, series):
    textdir = os.path.join(args.workdir, f"textfile-{series}")
    os.makedirs(textdir)
    with open(os.path.join(textdir, "bench.prom"), "wb") as f:
        f.write(exposition(series))
    return textdir


def scaling(args):
    """CPU per sample and peak RSS per series of bpfpush at each size of
    --scaling, --repeat runs each (median, min-max); flat means the largest
    median CPU per sample is within TARGET_FLAT of the smallest."""
    rows, medians, hwm, base_interval = [], [], [], args.interval
    for series in [int(x) for x in args.scaling.split(",")]:
        # A longer interval past 300,000 series (1.5 s per 100,000): one
        # round's samples must reach VictoriaMetrics within the interval
        # on a small machine. CPU per sample does not depend on it.
        args.series, args.interval = series, max(base_interval, -(-series * 3 // 200000))
        textdir = write_textfile(args, series)
        log(f"scaling: {series} series, {args.repeat} runs, {args.interval}s interval")
        try:
            runs = [phase_bpfpush(args, textdir, f"-{series}-{k}") for k in range(args.repeat)]
        except BenchError as e:
            log(f"scaling: {series} series: {e}")
            rows.append([f"{series:,}", "error", "", "", "", ""])
            continue
        finally:
            shutil.rmtree(textdir, ignore_errors=True)
        us = sorted(p.us_per_sample() for p in runs)
        kb = sorted(p.hwm_kb for p in runs)
        med = us[len(us) // 2]
        medians.append(med)
        hwm.append((series, kb[len(kb) // 2]))
        rows.append([f"{series:,}", f"{args.interval}s", f"{med:.3f}", f"{us[0]:.3f}-{us[-1]:.3f}",
                     f"{kb[len(kb) // 2] / 1024:.1f}", f"{kb[len(kb) // 2] * 1024 / series:.0f}"])
        log(f"scaling: {series} series: " + " ".join(rows[-1][2:]))
    print()
    print(f"bpfpush scaling: textfile only, window {args.rounds} "
          f"intervals, {args.repeat} runs per size; machine: {os.cpu_count()} CPUs, load "
          f"{args.load_start} at the start, {loadavg()} at the end")
    print(table(["series", "interval", "CPU us/sample (median)", "min-max", "peak RSS MiB",
                 "peak RSS B/series"], rows))
    what = f"target bpfpush CPU per sample flat within {TARGET_FLAT:.0%} across {args.scaling} series"
    if len(medians) < len(rows) or not medians:
        print(f"{what} : NOT MEASURED (a size failed)")
    else:
        spread = max(medians) / min(medians) - 1
        print(f"{what} : {'PASS' if spread <= TARGET_FLAT else 'FAIL'} "
              f"(largest {spread:.0%} above the smallest)")
    if len(hwm) == len(rows) and len(hwm) >= 2:
        print_memory_scaling(args, hwm)
    sys.stdout.flush()


def flat_verdict(values):
    spread = max(values) / min(values) - 1
    return f"{'PASS' if spread <= TARGET_FLAT else 'FAIL'} (largest {spread:.0%} above the smallest)"


def print_memory_scaling(args, hwm):
    """Peak RSS per series, and what each added series costs: between two
    sizes, the peak's growth over the series added. The first includes what
    does not grow with the series (shared libraries, threads, buffers of
    fixed size) spread over them, so it cannot be flat from a small size;
    the second is the per-series cost itself and is flat when nothing grows
    faster than the series do."""
    per_series = [kb * 1024 / n for n, kb in hwm]
    added = [((kb1 - kb0) * 1024 / (n1 - n0), n0, n1)
             for (n0, kb0), (n1, kb1) in zip(hwm, hwm[1:])]
    fixed_kb = hwm[0][1] - added[0][0] * hwm[0][0] / 1024
    print("bpfpush memory per series: " + ", ".join(
        f"{n:,}: {b:.0f} B" for (n, _), b in zip(hwm, per_series)) +
          "; added per series: " + ", ".join(f"{n0:,}->{n1:,}: {b:.0f} B" for b, n0, n1 in added) +
          f"; fixed part (the line through the two smallest sizes at 0 series): {fixed_kb / 1024:.1f} MiB")
    print(f"target bpfpush peak RSS per series flat within {TARGET_FLAT:.0%} across {args.scaling} "
          f"series : {flat_verdict(per_series)}")
    if len(added) >= 2:
        print(f"target bpfpush memory per added series flat within {TARGET_FLAT:.0%} across "
              f"{args.scaling} series : {flat_verdict([b for b, _, _ in added])}")


# ---- the report ------------------------------------------------------------

def fmt(v, spec, none="n/a"):
    return none if v is None else format(v, spec)


def table(headers, rows):
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    out = []
    for k, r in enumerate([headers] + rows):
        out.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def report(args, phases, collect, mem):
    print()
    print(f"bpfpush bench: {args.series} series per {args.interval}s interval, "
          f"window {args.rounds} intervals after {args.warmup} of warm-up, "
          f"one fresh VictoriaMetrics per agent, agents one after the other")
    print(f"machine: {os.cpu_count()} CPUs, load average {args.load_start} at the start, "
          f"{loadavg()} at the end (other work on the machine skews the figures)")
    off = DISABLE["collectors"] + DISABLE["bpf"]
    print(f"bpfpush: {args.bpfpush}, textfile collector only ({len(off)} default collectors "
          f"turned off), queue_config {BPFPUSH_QUEUE}")
    headers = ["agent", "samples/s", "CPU s", "CPU us/sample", "samples/CPU-s",
               "peak RSS MiB", "bytes/sample", "samples/req", "series@VM", "target"]
    rows = []
    bp = next((p for p in phases if p.name == "bpfpush"), None)
    peers = [p for p in phases if p is not bp]
    ordered = ([bp] if bp else []) + ([collect] if collect else []) + peers

    def derived(name, us):
        rows.append([name, "", "", fmt(us, ".3f"),
                     fmt(1e6 / us if us and us > 0 else None, ",.0f"), "", "", "", "", ""])

    for p in ordered:
        if not p.ok:
            rows.append([p.name] + ["error"] + [""] * 8)
            continue
        us = p.us_per_sample()
        tgt = f"<= {TARGET_CPU_US} us/sample" if p is bp else ""
        rows.append([p.name, fmt(p.samples / p.window_s, ",.0f"), fmt(p.cpu_s, ".3f"),
                     fmt(us, ".3f"), fmt(1e6 / us if us else None, ",.0f"),
                     fmt(p.hwm_kb / 1024 if p.hwm_kb else None, ".1f"),
                     fmt(p.bytes_per_sample, ".2f", ""),
                     fmt(p.samples_per_request, ",.0f", ""),
                     fmt(p.series_at_vm, "d", ""), tgt])
        if p is collect and bp and bp.ok:
            derived("  remote-write path: difference of the two", bp.us_per_sample() - us)
            derived("  remote-write path: bpfpush's sender threads",
                    bp.other_threads_s / bp.samples * 1e6)
    print(table(headers, rows))
    print()
    if mem:
        if mem.error:
            print(f"bpfpush, receiver down: error: {mem.error}")
        else:
            print(table(["bpfpush, receiver down (1 s interval)", "queued samples",
                         "VmRSS MiB", "RssAnon MiB", "bytes/queued sample", "target"],
                        [["after round %d (baseline)" % args.mem_base_round,
                          f"{mem.base[0]:,}", f"{mem.base[1] / 1024:.1f}",
                          f"{mem.base[2] / 1024:.1f}", "", ""],
                         ["after round %d" % len(mem.points), f"{mem.end[0]:,}",
                          f"{mem.end[1] / 1024:.1f}", f"{mem.end[2] / 1024:.1f}",
                          f"{mem.bytes_per_sample:.1f}", f"<= {TARGET_QUEUED_B:.0f} B"],
                         ["least-squares slope over every round", "", "", "",
                          fmt(mem.slope, ".1f"), ""]]))
            print()
    for p in ordered:
        if p.error:
            print(f"error  {p.name}: {p.error}")
        for n in p.notes:
            print(f"note   {p.name}: {n}")
        if p.ok and abs(p.rounds - args.rounds) > 0.5:
            print(f"note   {p.name}: the window held {p.rounds:.2f} rounds, not {args.rounds}")
    print()
    if bp and bp.ok:
        v, runs = bp.us_per_sample(), getattr(bp, "all_us", None) or [bp.us_per_sample()]
        print(f"target bpfpush end-to-end CPU <= {TARGET_CPU_US} us/sample : "
              f"{'PASS' if v <= TARGET_CPU_US else 'FAIL'} ({v:.3f} us/sample, median of "
              f"{len(runs)}, min-max {min(runs):.3f}-{max(runs):.3f})")
    else:
        print(f"target bpfpush end-to-end CPU <= {TARGET_CPU_US} us/sample : NOT MEASURED")
    if mem and not mem.error:
        v = mem.bytes_per_sample
        print(f"target bpfpush memory per queued sample <= {TARGET_QUEUED_B:.0f} B : "
              f"{'PASS' if v <= TARGET_QUEUED_B else 'FAIL'} ({v:.1f} B/sample)")
    else:
        print(f"target bpfpush memory per queued sample <= {TARGET_QUEUED_B:.0f} B : NOT MEASURED")
    if bp and bp.ok:
        good = bp.series_at_vm == args.series and not any("wrong values" in n for n in bp.notes)
        print(f"check  VictoriaMetrics holds the {args.series} series bpfpush pushed : "
              f"{'PASS' if good else 'FAIL'} ({bp.series_at_vm} series"
              f"{', values checked' if good else ''})")
    sys.stdout.flush()


# ---- main --------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bpfpush", default=os.path.join(REPO, "build", "bpfpush"))
    ap.add_argument("--workdir", default=os.path.join(REPO, "build", "bench", "remote-write"))
    ap.add_argument("--series", type=int, default=100000)
    ap.add_argument("--interval", type=int, default=5, help="seconds")
    ap.add_argument("--warmup", type=int, default=2, help="intervals before the window")
    ap.add_argument("--rounds", type=int, default=6, help="intervals in the window")
    ap.add_argument("--mem-rounds", type=int, default=12, help="rounds with the receiver down")
    ap.add_argument("--mem-base-round", type=int, default=2)
    ap.add_argument("--only", default="bpfpush,collect,vmagent,prometheus,memory",
                    help="comma-separated phases to run")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of the bpfpush phase, its median reported (make bench: 3)")
    ap.add_argument("--scaling", default="",
                    help="comma-separated series counts: only bpfpush, CPU and memory per size")
    ap.add_argument("--time-limit", type=int, default=420, help="seconds for the whole bench")
    args = ap.parse_args()
    args.bpfpush = os.path.abspath(args.bpfpush)
    args.workdir = os.path.abspath(args.workdir)
    args.load_start = loadavg()
    only = set(args.only.split(","))

    def on_signal(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def on_alarm(signum, frame):
        raise TimeLimit()

    # SIGINT too: a shell that starts us in the background ignores it.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.time_limit)

    phases, collect, mem, server = [], None, None, None
    failed = False
    try:
        for tool in ("victoria-metrics", "vmagent", "prometheus"):
            if not shutil.which(tool):
                raise BenchError(f"{tool} not found (make deps installs it)")
        if not os.access(args.bpfpush, os.X_OK):
            raise BenchError(f"{args.bpfpush} is not built (make all)")
        # Wipe only a directory this bench made (it holds our marker) or an
        # empty one: --workdir must never take anything else with it.
        marker = os.path.join(args.workdir, ".bpfpush-bench")
        if os.path.isdir(args.workdir) and os.listdir(args.workdir) \
                and not os.path.exists(marker):
            raise BenchError(f"{args.workdir} is not empty and not a bench directory")
        shutil.rmtree(args.workdir, ignore_errors=True)
        os.makedirs(args.workdir)
        open(marker, "w").close()
        textdir = os.path.join(args.workdir, "textfile")
        os.makedirs(textdir)
        body = exposition(args.series)
        with open(os.path.join(textdir, "bench.prom"), "wb") as f:
            f.write(body)
        log(f"workload: {args.series} series, {len(body) / 1e6:.1f} MB of exposition; "
            f"work files under {args.workdir}")
        if only & {"bpfpush", "collect", "memory"}:
            DISABLE.update(probe_collectors(args))
            log(f"bpfpush: textfile only; turned off: "
                f"{', '.join(DISABLE['collectors'] + DISABLE['bpf']) or 'nothing'}")
        server = ExpositionServer(body)
        target = f"127.0.0.1:{server.port}"

        if args.scaling:
            scaling(args)
            return 0
        steps = [("bpfpush", lambda: median_bpfpush(args, textdir)),
                 ("collect", lambda: phase_bpfpush_collect(args, textdir)),
                 ("vmagent", lambda: phase_vmagent(args, target)),
                 ("prometheus", lambda: phase_prometheus(args, target))]
        for key, fn in steps:
            if key not in only:
                continue
            log(f"phase {key}: running ({args.warmup}+{args.rounds} intervals of {args.interval}s)")
            try:
                ph = fn()
            except BenchError as e:
                ph = Phase({"bpfpush": "bpfpush", "collect": "bpfpush, no remote_write",
                            "vmagent": "vmagent", "prometheus": "prometheus agent"}[key])
                ph.error = str(e)
                failed = True
                log(f"phase {key}: {e}")
            if key == "collect":
                collect = ph
            else:
                phases.append(ph)
        if "memory" in only:
            log(f"phase memory: bpfpush with its receiver down, {args.mem_rounds} rounds of 1s")
            try:
                mem = phase_memory(args, textdir)
            except BenchError as e:
                mem = MemPhase()
                mem.error = str(e)
                failed = True
                log(f"phase memory: {e}")
    except BenchError as e:
        log(f"cannot run: {e}")
        failed = True
    except TimeLimit:
        log(f"the bench ran past its time limit ({args.time_limit}s); stopping")
        failed = True
    except KeyboardInterrupt as e:
        log(f"interrupted ({e or 'SIGINT'}); stopping what was started")
        failed = None
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.alarm(0)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        Proc.stop_all()
        if server:
            server.stop()
    if failed is None:
        return 130
    if phases or collect or mem:
        report(args, phases, collect, mem)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
