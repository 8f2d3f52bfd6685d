#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`make bench`: bpfpush's peak RSS at --series series (default 100,000).

The same textfile workload as remote_write_bench.py (100 gauge
families, two labels each, one file), read every --interval seconds by
bpfpush with every other collector turned off, in two modes:

  remote_write  pushing to a receiver in this process (loopback, answers
                204 to every request: the receiver's own cost is not ours)
  collect       no remote_write endpoint: the textfile, the registry and
                the self-metrics alone

Each run lasts --rounds collection rounds; the figure is VmHWM (peak
resident set, from /proc/PID/status) at its end. Runs repeat --runs times;
the line gives the median and min-max. Target: remote_write mode at most
TARGET_MIB (issue 16). RSS does not depend on CPU speed or load, but a
slow machine lets samples pile up between rounds, so say if it was busy.

Only loopback, files under --workdir; every process started here is
stopped by its pid on the way out. Exit 0 when every figure was measured
(met or not), 1 when the bench could not run.
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from remote_write_bench import exposition  # the same 100,000-series workload

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET_MIB = 30.0
ROUND_RE = re.compile(r'msg="round collected" samples=(\d+)')


class BenchError(Exception):
    pass


def log(msg):
    print(f"memory bench: {msg}", file=sys.stderr, flush=True)


class Sink:
    """A remote_write receiver that reads each body and answers 204."""

    def __init__(self):
        self.down = False  # --outage: answer 503 (the queue retries) while set
        sink = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(503 if sink.down else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/api/v1/write"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def write_config(path, args, textdir, disable, url=None):
    lines = ["global:", f"  interval: {args.interval}s",
             f"  data_dir: {os.path.splitext(path)[0]}-data"]
    if url and args.outage:  # the soak's queue: defaults, memory only
        lines[-1] = '  data_dir: ""'
        lines += ["remote_write:", f"  - url: {url}", "    name: bench"]
    elif url:
        lines += ["remote_write:", f"  - url: {url}", "    name: bench", "    queue_config:",
                  "      capacity: 200000", "      max_samples_per_send: 2000",
                  "      batch_send_deadline: 5s", "      min_shards: 1"]
    lines += ["collectors:"] + [f"  {n}: false" for n in disable["collectors"]]
    lines += [f"  textfile: {{directory: {textdir}}}"]
    if disable["bpf"]:
        lines += ["bpf:"] + [f"  {n}: false" for n in disable["bpf"]]
    lines += ["http:", '  listen_address: ""', ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def probe_collectors(args, wd):
    """The default collectors but textfile, each in the section where
    --check-config accepts `NAME: false`."""
    empty = os.path.join(wd, "empty")
    os.makedirs(empty, exist_ok=True)
    cfg = os.path.join(wd, "probe.yml")
    write_config(cfg, args, empty, {"collectors": [], "bpf": []})
    r = subprocess.run([args.bpfpush, "--config", cfg, "--dry-run", "--once"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise BenchError(f"bpfpush --dry-run --once exited {r.returncode}")
    found = set(re.findall(r'collector="([^"\\]+)"', r.stdout.decode(errors="replace")))
    disable = {"collectors": [], "bpf": []}
    for name in sorted(found - {"textfile"}):
        for section in ("collectors", "bpf"):
            with open(cfg, "w") as f:
                f.write(f"{section}:\n  {name}: false\n")
            if subprocess.run([args.bpfpush, "--check-config", cfg], capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=30).returncode == 0:
                disable[section].append(name)
                break
    return disable


def status_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0])
    return out


def one_run(args, cfg, logpath):
    """VmHWM, and the highest RssAnon and RssFile seen (sampled every 20 ms:
    a floor for their peaks), in KiB after --rounds rounds; and the samples
    of the last round."""
    with open(logpath, "w") as logf:
        p = subprocess.Popen([args.bpfpush, "--config", cfg, "--log-level", "debug"],
                             stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        until = time.monotonic() + args.rounds * args.interval + 60
        peak = {"RssAnon": 0, "RssFile": 0}
        while True:
            now = status_kb(p.pid)
            for k in peak:
                peak[k] = max(peak[k], now.get(k, 0))
            with open(logpath, errors="replace") as f:
                rounds = [int(m.group(1)) for m in ROUND_RE.finditer(f.read())]
            if len(rounds) > args.rounds:  # the last round queued and being sent
                break
            if p.poll() is not None:
                raise BenchError(f"bpfpush exited {p.returncode} (see {logpath})")
            if time.monotonic() > until:
                raise BenchError(f"bpfpush logged {len(rounds)} rounds, not {args.rounds}")
            time.sleep(0.02)
        return status_kb(p.pid)["VmHWM"], peak, rounds[-1]
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def outage_run(args, wd, disable, textdir, sink):
    """--outage: RssAnon and threads (1 + shards + a few) every 2 s
    while the receiver answers 503 for --outage seconds from 20 s on, then
    until the shards have come back down (or 150 s after it ended)."""
    cfg = os.path.join(wd, "outage.yml")
    write_config(cfg, args, textdir, disable, sink.url)
    with open(os.path.join(wd, "outage.log"), "w") as logf:
        p = subprocess.Popen([args.bpfpush, "--config", cfg], stdin=subprocess.DEVNULL,
                             stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    seen, t0 = [], time.monotonic()
    try:
        while True:
            t = time.monotonic() - t0
            sink.down = 20 <= t < 20 + args.outage
            with open(f"/proc/{p.pid}/status") as f:
                st = {k: v.split()[0] for k, _, v in (ln.partition(":") for ln in f)
                      if v.split()}
            seen.append((t, sink.down, int(st["Threads"]), int(st["RssAnon"]) / 1024))
            print(f"  {t:4.0f} s  receiver {'503' if sink.down else 'ok '}  threads "
                  f"{seen[-1][2]:3d}  RssAnon {seen[-1][3]:6.1f} MiB", flush=True)
            before = [s for s in seen if 10 <= s[0] < 20]
            after = t > 20 + args.outage + 30 and seen[-1][2] <= before[-1][2] + 4
            if after or t > 20 + args.outage + 150 or p.poll() is not None:
                break
            time.sleep(2)
    finally:
        sink.down = False
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(30)
    if not before:
        raise BenchError("bpfpush did not run 10 s (see outage.log)")
    print(f"outage: RssAnon {before[-1][3]:.1f} MiB before ({before[-1][2]} threads), highest "
          f"{max(s[3] for s in seen):.1f}, {seen[-1][3]:.1f} at the end ({seen[-1][2]} threads)")


def measure(args, wd, mode, disable, textdir, sink):
    cfg = os.path.join(wd, f"{mode}.yml")
    write_config(cfg, args, textdir, disable, sink.url if mode == "remote_write" else None)
    hwm, anon, files, samples = [], [], [], 0
    for i in range(args.runs):
        shutil.rmtree(os.path.join(wd, f"{mode}-data"), ignore_errors=True)
        kb, peak, samples = one_run(args, cfg, os.path.join(wd, f"{mode}-{i}.log"))
        hwm.append(kb / 1024)
        anon.append(peak["RssAnon"] / 1024)
        files.append(peak["RssFile"] / 1024)
    return hwm, anon, files, samples


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bpfpush", default=os.path.join(REPO, "build", "bpfpush"))
    ap.add_argument("--workdir", default=os.path.join(REPO, "build", "bench", "memory"))
    ap.add_argument("--series", type=int, default=100000)
    ap.add_argument("--interval", type=int, default=1, help="seconds")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true",
                    help="10,000 series, one run of 3 rounds (make bench-quick)")
    ap.add_argument("--outage", type=int, default=0, metavar="SECONDS",
                    help="instead: RSS through a receiver outage of SECONDS (the soak's "
                         "queue: default queue_config, data_dir \"\"; interval 2 s)")
    args = ap.parse_args()
    if args.quick:
        args.series, args.runs, args.rounds = 10000, 1, 3
    if args.outage:
        args.interval = 2
    args.bpfpush = os.path.abspath(args.bpfpush)
    wd = os.path.abspath(args.workdir)
    sink = None
    try:
        if not os.access(args.bpfpush, os.X_OK):
            raise BenchError(f"{args.bpfpush} is not built (make all)")
        marker = os.path.join(wd, ".bpfpush-bench")
        if os.path.isdir(wd) and os.listdir(wd) and not os.path.exists(marker):
            raise BenchError(f"{wd} is not empty and not a bench directory")
        shutil.rmtree(wd, ignore_errors=True)
        os.makedirs(os.path.join(wd, "textfile"))
        open(marker, "w").close()
        textdir = os.path.join(wd, "textfile")
        with open(os.path.join(textdir, "bench.prom"), "wb") as f:
            f.write(exposition(args.series))
        disable = probe_collectors(args, wd)
        sink = Sink()
        if args.outage:
            outage_run(args, wd, disable, textdir, sink)
            return 0
        results = {m: measure(args, wd, m, disable, textdir, sink)
                   for m in ("remote_write", "collect")}
    except (BenchError, OSError, subprocess.SubprocessError) as e:
        log(f"cannot run: {e}")
        return 1
    finally:
        if sink:
            sink.stop()
    print(f"\nbpfpush peak RSS (VmHWM): {args.series} series per {args.interval}s, textfile "
          f"only, {args.rounds} rounds per run, {args.runs} run(s), load average "
          f"{os.getloadavg()[0]:.2f}")
    for mode, (hwm, anon, files, samples) in results.items():
        med = statistics.median(hwm)
        print(f"  {mode:<13} VmHWM median {med:6.1f} MiB (min {min(hwm):.1f}, max {max(hwm):.1f});"
              f" of it, highest seen: RssAnon {statistics.median(anon):.1f} MiB "
              f"({statistics.median(anon) * 1048576 / args.series:.0f} B/series), RssFile "
              f"(shared libraries) {statistics.median(files):.1f} MiB; last round {samples} samples")
    med = statistics.median(results["remote_write"][0])
    verdict = "PASS" if med <= TARGET_MIB else "FAIL"
    print(f"target bpfpush peak RSS at {args.series} series <= {TARGET_MIB:.0f} MiB : "
          f"{verdict} ({med:.1f} MiB, median of {args.runs}, min "
          f"{min(results['remote_write'][0]):.1f}, max {max(results['remote_write'][0]):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
