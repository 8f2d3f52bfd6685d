#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`make soak`: bpfpush for --minutes (15) at --series (100,000) series every
--interval (5 s) against a receiver that fails --fail-rate (30 %) of requests
and restarts twice, on loopback.

The receiver is VictoriaMetrics behind a fault proxy (a separate process,
this script run with --proxy) that answers 503 to a random 30 % of the
requests before forwarding any of them, and forwards the rest. At a third
of the run the proxy is killed with SIGKILL (connections reset, port closed
for --outage seconds) and started again; at two thirds VictoriaMetrics
itself is stopped and started again (the proxy answers 502 meanwhile).

Measured, after --warmup minutes, every 5 s: the agent's RSS (VmRSS), its
open file descriptors and its shard count. Each shard is a thread with a
ring, a connection and a malloc arena, and the shard count follows the
backlog, so RSS is judged as a least-squares slope in KB per minute over
each steady stretch (10+ points at one thread count, the calm between
faults: the last one is judged, every one is printed), and the fds against
the thread count (a linear fit over the steady stretches: no residual past
--max-fd-spread);
and at the end (faults off, SIGTERM, the queues flushed) the accounting:
samples offered (the agent's `samples_collected` at exit) = samples
received (counted in VictoriaMetrics, deduplicated: a request the proxy
forwarded but could not answer is sent again) + samples counted as not
delivered (`not_delivered` at exit, the `samples_dropped_total` and
`samples_failed_total` it sums are printed too).

Pass: RSS slope within --max-slope KB/min in the last steady stretch, fds
within --max-fd-spread of the fit, the accounting exact, the agent alive
throughout. Exit 0 on pass, 1 on fail or when it could not run. Only loopback, files under
--workdir (build/soak); every process started here is stopped by its pid.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "bench"))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))
from memory_bench import probe_collectors  # noqa: E402  (textfile only)
from receivers import Server, free_port, http_get  # noqa: E402
from remote_write_bench import exposition  # noqa: E402  (the 100,000-series workload)

STOPPED_RE = re.compile(r'msg="bpfpush stopped" rounds=(\d+) samples_collected=(\d+) '
                        r'not_delivered=(\d+)')


def log(msg):
    print(f"soak {time.strftime('%H:%M:%S')}: {msg}", file=sys.stderr, flush=True)


# ---- the fault proxy (its own process, so that a restart resets everything) ----

def run_proxy(port, upstream, fail_rate):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if random.random() < fail_rate:
                return self.answer(503, b"injected fault")
            req = urllib.request.Request(upstream, data=body, method="POST", headers={
                k: self.headers[k] for k in ("Content-Encoding", "Content-Type",
                                             "X-Prometheus-Remote-Write-Version")})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    self.answer(r.status, r.read())
            except urllib.error.HTTPError as e:
                self.answer(e.code, e.read())
            except OSError as e:
                self.answer(502, f"upstream: {e}".encode())

        def answer(self, status, body):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    srv = ThreadingHTTPServer(("127.0.0.1", port), H)
    srv.daemon_threads = True
    srv.serve_forever()


class Proxy:
    def __init__(self, port, upstream, fail_rate, logf):
        self.argv = [sys.executable, os.path.abspath(__file__), "--proxy", str(port),
                     "--upstream", upstream, "--fail-rate", str(fail_rate)]
        self.port, self.logf, self.proc = port, logf, None

    def start(self, fail_rate=None):
        if fail_rate is not None:
            self.argv[-1] = str(fail_rate)
        self.proc = subprocess.Popen(self.argv, stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                http_get(f"http://127.0.0.1:{self.port}/", 2)
            except urllib.error.HTTPError:
                return  # it answers (501 to GET)
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("fault proxy did not start")

    def restart(self, outage):
        self.kill()
        time.sleep(outage)
        self.start()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class VM(Server):
    """VictoriaMetrics with deduplication of identical timestamps, so that
    a batch delivered twice (forwarded, then the answer lost) counts once."""

    def __init__(self, workdir):
        super().__init__(workdir, "victoria-metrics")
        self.write_url = self.base + "/api/v1/write"

    def start(self):
        return super().start([
            shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics",
            f"-httpListenAddr=127.0.0.1:{self.port}", f"-storageDataPath={self.dir}/data",
            "-retentionPeriod=1y", "-search.latencyOffset=0s", "-loggerLevel=WARN",
            "-dedup.minScrapeInterval=1ms", "-search.maxUniqueTimeseries=1000000",
            "-search.maxQueryDuration=300s"], "/health")

    def restart(self, outage):
        self.proc.terminate()
        self.proc.wait(60)
        self.log.close()
        time.sleep(outage)
        self.log = open(os.path.join(self.dir, "server.log"), "a")
        self.start()

    def count_samples(self, minutes):
        http_get(self.base + "/internal/force_flush")
        time.sleep(2)
        q = urllib.parse.urlencode({"query": f'sum(count_over_time({{__name__=~".+"}}'
                                             f'[{minutes + 10}m]))',
                                    "time": f"{time.time() + 60:.3f}"})
        data = json.loads(http_get(f"{self.base}/api/v1/query?{q}", 300))
        return int(float(data["data"]["result"][0]["value"][1]))


# ---- the agent ---------------------------------------------------------------

def write_config(path, args, textdir, disable, url, status_port):
    lines = ["global:", f"  interval: {args.interval}s", '  data_dir: ""',
             "remote_write:", f"  - url: {url}", "    name: soak", "    remote_timeout: 10s",
             "collectors:"] + [f"  {n}: false" for n in disable["collectors"]]
    lines += [f"  textfile: {{directory: {textdir}}}"]
    if disable["bpf"]:
        lines += ["bpf:"] + [f"  {n}: false" for n in disable["bpf"]]
    lines += ["http:", f"  listen_address: 127.0.0.1:{status_port}", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def proc_figures(pid):
    """RSS in KB, open fds and threads, read together: a shard is a thread,
    so the thread count says the shard count at that instant (/metrics
    says it a round late)."""
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    return (int(status["VmRSS"].split()[0]), len(os.listdir(f"/proc/{pid}/fd")),
            int(status["Threads"]))


def self_metrics(status_port):
    text = http_get(f"http://127.0.0.1:{status_port}/metrics").decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("bpfpush_remote_storage_samples") or \
                line.startswith("bpfpush_samples_in_total"):
            series, _, value = line.rpartition(" ")
            name = series.split("{")[0].replace("bpfpush_remote_storage_", "")
            reason = re.search(r'reason="([^"]*)"', series)
            out[f"{name}[{reason.group(1)}]" if reason else name] = float(value)
    return out


def slope_kb_per_min(points):
    """Least-squares slope of (seconds, KB) points, in KB per minute."""
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    den = sum((t - mx) ** 2 for t, _ in points)
    return sum((t - mx) * (v - my) for t, v in points) / den * 60 if den else 0.0


# ---- the run -----------------------------------------------------------------

def watch(args, agent, status_port, t0, until, figures):
    """Samples RSS, fds and threads every 5 s until `until` (monotonic)."""
    while time.monotonic() < until:
        if agent.poll() is not None:
            raise RuntimeError(f"bpfpush exited {agent.returncode} during the soak")
        figures.append((time.monotonic() - t0, *proc_figures(agent.pid)))
        time.sleep(5)


def soak(args, wd, vm, proxy, agent, status_port, logpath):
    t0 = time.monotonic()
    figures = []
    span = args.minutes * 60
    for i, (what, receiver) in enumerate((("fault proxy killed (SIGKILL)", proxy),
                                          ("VictoriaMetrics stopped (SIGTERM)", vm))):
        watch(args, agent, status_port, t0, t0 + span * (i + 1) / 3, figures)
        log(f"{what}; " + ", ".join(f"{k} {v:.0f}" for k, v in
                                    sorted(self_metrics(status_port).items()) if v))
        receiver.restart(args.outage)
        log("receiver back")
    watch(args, agent, status_port, t0, t0 + span, figures)
    proxy.kill()
    proxy.start(fail_rate=0)  # healed: the rest drains
    end_metrics = self_metrics(status_port)
    agent.send_signal(signal.SIGTERM)
    agent.wait(180)
    with open(logpath, errors="replace") as f:
        m = STOPPED_RE.search(f.read())
    if not m:
        raise RuntimeError(f"no 'bpfpush stopped' line in {logpath}")
    rounds, offered, lost = map(int, m.groups())
    received = vm.count_samples(args.minutes)
    return figures, end_metrics, rounds, offered, lost, received


def steady_stretches(points, least=10):
    """Runs of consecutive points at one thread count, less a point at
    each end, of at least `least` points."""
    runs, cur = [], []
    for x in points:
        if cur and x[3] != cur[-1][3]:
            runs.append(cur)
            cur = []
        cur.append(x)
    runs.append(cur)
    return [r[1:-1] for r in runs if len(r) - 2 >= least]


def fd_fit(points):
    """fds = base + per_thread * threads, least squares: (base,
    per_thread, largest residual)."""
    n = len(points)
    ms = sum(x[3] for x in points) / n
    mf = sum(x[2] for x in points) / n
    den = sum((x[3] - ms) ** 2 for x in points)
    per = sum((x[3] - ms) * (x[2] - mf) for x in points) / den if den else 0.0
    base = mf - per * ms
    return base, per, max(abs(x[2] - base - per * x[3]) for x in points)


def report(args, wd, figures, end_metrics, rounds, offered, lost, received):
    """Each shard is a thread with its own ring, connection and malloc
    arena, and the shard count follows the backlog (an outage grows it,
    a minute of calm shrinks it): RSS is judged over each steady stretch
    (10+ points at one thread count), fds against the threads there."""
    with open(os.path.join(wd, "figures.csv"), "w") as f:
        f.write("seconds,rss_kb,fds,threads\n")
        f.writelines(f"{t:.1f},{r},{n},{s}\n" for t, r, n, s in figures)
    after = [x for x in figures if x[0] >= args.warmup * 60]
    rss = [x[1] for x in after]
    print(f"\nbpfpush soak: {args.minutes} min, {args.series} series every {args.interval}s, "
          f"{args.fail_rate:.0%} of requests failed, receiver restarted twice, "
          f"{rounds} rounds; load average {os.getloadavg()[0]:.2f}")
    print(f"  after {args.warmup} min warm-up ({len(after)} points): RSS {min(rss)}-{max(rss)} KB "
          f"(slope {slope_kb_per_min([x[:2] for x in after]):+.1f} KB/min across reshards); "
          f"threads {min(x[3] for x in after)}-{max(x[3] for x in after)}")
    slopes = []
    for run in steady_stretches(after):
        slopes.append(slope_kb_per_min([x[:2] for x in run]))
        print(f"  steady at {run[0][3]} threads, {run[0][0]:.0f}-{run[-1][0]:.0f} s: RSS "
              f"{run[0][1]}-{run[-1][1]} KB, slope {slopes[-1]:+.1f} KB/min")
    steady = [x for run in steady_stretches(after) for x in run]
    base, per, resid = fd_fit(steady) if steady else (0, 0, float("inf"))
    print(f"  open fds {min(x[2] for x in after)}-{max(x[2] for x in after)} = "
          f"{base:.1f} + {per:.2f} per thread (largest residual {resid:.1f})")
    print("  self-metrics before the final flush: "
          + ", ".join(f"{k} {v:.0f}" for k, v in sorted(end_metrics.items())))
    print(f"  offered {offered} = received {received} + not delivered {lost} "
          f"(difference {offered - received - lost})")
    checks = {"RSS flat in the last steady stretch":
              bool(slopes) and abs(slopes[-1]) <= args.max_slope,
              "fds follow the threads (shards), nothing else": resid <= args.max_fd_spread,
              "offered = received + not delivered": offered == received + lost}
    for what, ok in checks.items():
        print(f"  {what}: {'PASS' if ok else 'FAIL'}")
    return 0 if all(checks.values()) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bpfpush", default=os.path.join(REPO, "build", "bpfpush"))
    ap.add_argument("--workdir", default=os.path.join(REPO, "build", "soak"))
    ap.add_argument("--series", type=int, default=100000)
    ap.add_argument("--interval", type=int, default=5, help="seconds")
    ap.add_argument("--minutes", type=float, default=15)
    ap.add_argument("--warmup", type=float, default=3, help="minutes")
    ap.add_argument("--fail-rate", type=float, default=0.3)
    ap.add_argument("--outage", type=float, default=10, help="seconds per restart")
    ap.add_argument("--max-slope", type=float, default=50, help="KB/min")
    ap.add_argument("--max-fd-spread", type=int, default=8)
    ap.add_argument("--proxy", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--upstream", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.proxy:
        run_proxy(args.proxy, args.upstream, args.fail_rate)
        return 0
    wd = os.path.abspath(args.workdir)
    marker = os.path.join(wd, ".bpfpush-soak")
    if os.path.isdir(wd) and os.listdir(wd) and not os.path.exists(marker):
        log(f"{wd} is not empty and not a soak directory")
        return 1
    shutil.rmtree(wd, ignore_errors=True)
    textdir = os.path.join(wd, "textfile")
    os.makedirs(textdir)
    open(marker, "w").close()
    with open(os.path.join(textdir, "soak.prom"), "wb") as f:
        f.write(exposition(args.series))
    vm = proxy = agent = None
    proxy_log = open(os.path.join(wd, "proxy.log"), "w")
    try:
        disable = probe_collectors(argparse.Namespace(bpfpush=args.bpfpush,
                                                      interval=args.interval), wd)
        vm = VM(wd).start()
        proxy = Proxy(free_port(), vm.write_url, args.fail_rate, proxy_log)
        proxy.start()
        status_port = free_port()
        cfg = os.path.join(wd, "soak.yml")
        write_config(cfg, args, textdir, disable,
                     f"http://127.0.0.1:{proxy.port}/api/v1/write", status_port)
        logpath = os.path.join(wd, "bpfpush.log")
        with open(logpath, "w") as logf:
            agent = subprocess.Popen([args.bpfpush, "--config", cfg, "--flush-deadline", "2m"],
                                     stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT)
        log(f"bpfpush pid {agent.pid}, status 127.0.0.1:{status_port}, log {logpath}")
        return report(args, wd, *soak(args, wd, vm, proxy, agent, status_port, logpath))
    except (RuntimeError, OSError, subprocess.SubprocessError, KeyError, IndexError) as e:
        log(f"cannot run: {e}")
        return 1
    finally:
        if agent and agent.poll() is None:
            agent.kill()
            agent.wait()
        if proxy:
            proxy.kill()
        if vm:
            vm.stop()
        proxy_log.close()


if __name__ == "__main__":
    sys.exit(main())
