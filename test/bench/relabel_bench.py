#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`make bench`, relabeling: what ten relabel rules cost at 100,000 series,
in the first round (every series new: the rules run once per series) and in
steady state (the results are cached per series: the target is no cost
beyond the noise), against the same agent with no rules.

Three configs, each a run of its own of the real agent (textfile collector
only, 100,000 series every --interval, remote_write to a sink in this
process that reads and discards each request):

  none    no relabel rules
  global  the ten rules (RULES) in global.relabel_configs
  write   the same ten rules in the endpoint's write_relabel_configs

The runs alternate (none, global, write, none, ...) --repeat times. After
each round's debug line "round collected" the main thread's CPU time is read
from /proc/PID/task/PID/schedstat (nanoseconds; the main thread runs the
collector, the registry, relabeling and queue_append, never the senders),
and the whole process' from /proc/PID/stat. Figures:

  first round   main-thread CPU from exec to the end of round 1 (start-up
                included; it is the same in every config, so the difference
                to `none` is what the rules cost on new series)
  steady        main-thread CPU per round, rounds 3 to 2 + --rounds, median
                of all runs of a config; beside it the spread of `none`'s
                rounds (p25-p75, the noise) and the difference to `none`
  process       whole-process CPU per steady round (sender threads too)
  RSS           VmRSS after the last round: what the cached results hold

The rules do not drop series: every config pushes the same 100,000 series, so
the difference is relabeling alone. The sink decodes one request per run to
check that the rules took effect (the label `shard` is there, or not).

Only loopback, free ports and --workdir (wiped at the start). Every process
started here is stopped on the way out. Exit 0 when every figure could be
measured (whether or not it meets its target), 1 when the bench could not run.
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

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
FAMILIES = 100
CONFIGS = ("none", "global", "write")

# Ten rules of the kinds people write; none drops a series.
RULES = [
    '{source_labels: [__name__], regex: "go_.*|process_.*", action: drop}',
    '{source_labels: [__name__], regex: "bench_.*|bpfpush_.*|node_.*", action: keep}',
    '{source_labels: [host], regex: "host-([0-9]+)", target_label: host_id}',
    '{source_labels: [__name__, env], regex: "bench_metric_([0-9]+);(.*)",'
    ' target_label: family, replacement: "f$1-$2"}',
    '{source_labels: [series], modulus: 16, target_label: shard, action: hashmod}',
    '{regex: "meta_(.+)", replacement: "$1", action: labelmap}',
    '{regex: "meta_.+", action: labeldrop}',
    '{source_labels: [env], target_label: env_lc, action: lowercase}',
    '{source_labels: [__name__], target_label: host, action: dropequal}',
    '{regex: "__name__|job|instance|host|host_id|series|family|shard|env|env_lc|team'
    '|collector|file|le|remote_name|url|reason|version", action: labelkeep}',
]


class BenchError(Exception):
    pass


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def exposition(series):
    per = -(-series // FAMILIES)
    out = []
    for f in range(FAMILIES):
        lo, hi = f * per, min((f + 1) * per, series)
        if lo >= hi:
            break
        out.append(f"# TYPE bench_metric_{f:03d} gauge\n")
        out.extend(f'bench_metric_{f:03d}{{env="{("Prod", "Staging")[i % 2]}",'
                   f'host="host-{i % 50:02d}",meta_team="t{i % 7}",series="{i}"}} {i + 0.5}\n'
                   for i in range(lo, hi))
    return "".join(out).encode()


class Sink:
    """remote_write receiver that discards; decodes the first request it is
    asked to (check()) and records whether its series carry `shard`."""

    def __init__(self):
        self.want_check = threading.Event()
        self.checked = threading.Event()
        self.shard_seen = None
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if sink.want_check.is_set() and not sink.checked.is_set():
                    sink.want_check.clear()
                    sink._check(body)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/v1/write"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _check(self, body):
        import snappy
        from receivers import decode_write_request
        series = decode_write_request(snappy.uncompress(body))
        bench = [lab for lab, _ in series if lab["__name__"].startswith("bench_")]
        self.shard_seen = bool(bench) and all("shard" in lab for lab in bench)
        if bench:
            self.checked.set()
        else:
            self.want_check.set()

    def arm(self):
        self.shard_seen = None
        self.checked.clear()
        self.want_check.set()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def config_text(kind, textdir, url):
    rules = "".join(f"      - {r}\n" for r in RULES)
    text = "global:\n  interval: {interval}s\n  data_dir: \"\"\n"
    if kind == "global":
        text += "  relabel_configs:\n" + rules.replace("      - ", "    - ")
    text += (f"collectors:\n  defaults: false\n  textfile: {{directory: {textdir}}}\n"
             "bpf:\n  defaults: false\n"
             f"remote_write:\n  - url: {url}\n    name: sink\n"
             "    queue_config: {capacity: 200000, max_samples_per_send: 5000,"
             " batch_send_deadline: 5s, min_shards: 1}\n")
    if kind == "write":
        text += "    write_relabel_configs:\n" + rules
    return text + 'http:\n  listen_address: ""\n'


def main_thread_ns(pid):
    with open(f"/proc/{pid}/task/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def process_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


ROUND = re.compile(r'msg="round collected" samples=(\d+)')


class Run:
    """One agent run: per round (samples, main-thread ns, process s) read
    right after the round's log line."""

    def __init__(self, args, kind, textdir, sink, n):
        self.kind = kind
        wd = os.path.join(args.workdir, f"{kind}-{n}")
        os.makedirs(wd)
        cfg = os.path.join(wd, "bpfpush.yml")
        with open(cfg, "w") as f:
            f.write(config_text(kind, textdir, sink.url).replace("{interval}",
                                                                  str(args.interval)))
        self.errlog = open(os.path.join(wd, "bpfpush.log"), "w")
        self.rounds = []
        self.rss_kb = None
        self.drain = None
        sink.arm()
        self.proc = subprocess.Popen(
            [args.bpfpush, "--config", cfg, "--log-level", "debug", "--flush-deadline", "2s"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, start_new_session=True)

    def follow(self, want_rounds, timeout):
        deadline = time.monotonic() + timeout
        for line in self.proc.stderr:
            self.errlog.write(line)
            m = ROUND.search(line)
            if m:
                pid = self.proc.pid
                self.rounds.append((int(m.group(1)), main_thread_ns(pid), process_cpu_s(pid)))
                if len(self.rounds) >= want_rounds:
                    self.rss_kb = rss_kb(pid)
                    # keep reading, so that a full pipe never holds the agent
                    self.drain = threading.Thread(target=self._drain, daemon=True)
                    self.drain.start()
                    return
            if time.monotonic() > deadline:
                break
        raise BenchError(f"{self.kind}: {len(self.rounds)} of {want_rounds} rounds "
                         f"(see {self.errlog.name})")

    def _drain(self):
        for line in self.proc.stderr:
            self.errlog.write(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.drain:
            self.drain.join(5)
        self.errlog.close()

    def first_round_ms(self):
        return self.rounds[0][1] / 1e6

    def steady_ms(self):
        """Main-thread ms of each round from the third on."""
        r = self.rounds
        return [(r[i][1] - r[i - 1][1]) / 1e6 for i in range(2, len(r))]

    def process_ms_per_round(self):
        r = self.rounds
        return (r[-1][2] - r[1][2]) * 1000 / (len(r) - 2)


def one_run(args, kind, textdir, sink, n):
    run = Run(args, kind, textdir, sink, n)
    try:
        run.follow(2 + args.rounds, args.interval * (args.rounds + 4) + 30)
        if not sink.checked.wait(args.interval * 3 + 5):
            raise BenchError(f"{kind}: no request with bench series reached the sink")
    finally:
        run.stop()
    run.shard_seen = sink.shard_seen
    samples = {s for s, _, _ in run.rounds[1:]}
    log(f"{kind} run {n}: first round {run.first_round_ms():.1f} ms, steady median "
        f"{statistics.median(run.steady_ms()):.2f} ms/round, samples/round {sorted(samples)}, "
        f"relabeled: {run.shard_seen}")
    return run


def pct(values, q):
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def report(args, runs):
    cmd = (f"/usr/bin/python3 test/bench/relabel_bench.py --bpfpush {args.bpfpush_shown} "
           f"--series {args.series} --interval {args.interval} --rounds {args.rounds} "
           f"--repeat {args.repeat}")
    by = {k: [r for r in runs if r.kind == k] for k in CONFIGS}
    if not by["none"]:
        raise BenchError("no run without rules: nothing to compare with")
    n = args.series
    rows = {}
    for kind in CONFIGS:
        if by[kind]:
            steady = [x for r in by[kind] for x in r.steady_ms()]
            rows[kind] = {
                "first": statistics.median(r.first_round_ms() for r in by[kind]),
                "median": statistics.median(steady),
                "iqr": (pct(steady, 0.25), pct(steady, 0.75)),
                "min": min(steady),
                "proc": statistics.median(r.process_ms_per_round() for r in by[kind]),
                "rss": statistics.median(r.rss_kb for r in by[kind]) / 1024,
                "samples": sorted({s for r in by[kind] for s, _, _ in r.rounds[1:]}),
                "relabeled": all(r.shard_seen for r in by[kind]),
            }
    base = rows["none"]
    noise = base["iqr"][1] - base["iqr"][0]
    print(f"\nrelabeling, {n} series, {len(RULES)} rules, interval {args.interval}s, "
          f"{args.repeat} runs per config, {args.rounds} steady rounds per run; "
          f"main-thread CPU unless said")
    print(f"{'config':7} {'1st round ms':>12} {'+us/series':>10} {'steady ms':>9} "
          f"{'p25-p75':>13} {'min':>7} {'+us/sample':>10} {'(by min)':>9} "
          f"{'process ms':>10} {'RSS MiB':>7} {'samples/round':>14} relabeled")
    for kind, row in rows.items():
        print(f"{kind:7} {row['first']:12.1f} {(row['first'] - base['first']) * 1e3 / n:10.3f} "
              f"{row['median']:9.2f} {row['iqr'][0]:6.1f}-{row['iqr'][1]:6.1f} "
              f"{row['min']:7.2f} {(row['median'] - base['median']) * 1e3 / n:10.4f} "
              f"{(row['min'] - base['min']) * 1e3 / n:9.4f} {row['proc']:10.1f} "
              f"{row['rss']:7.1f} {'/'.join(map(str, row['samples'])):>14} {row['relabeled']}")
    print(f"command: {cmd}")
    for kind, row in rows.items():
        if kind == "none":
            continue
        diff = row["median"] - base["median"]
        print(f"target {kind} steady state within the noise of no relabeling : "
              f"{'PASS' if abs(diff) <= noise else 'FAIL'} ({diff:+.2f} ms/round, "
              f"{diff * 1e3 / n:+.4f} us/sample; noise = none's p25-p75 {noise:.2f} ms)"
              f"{'' if row['relabeled'] else '  -- the rules had NO effect on what was pushed'}")
        print(f"  first round {(row['first'] - base['first']) * 1e3 / n:+.3f} us per new series "
              f"({len(RULES)} rules), RSS {row['rss'] - base['rss']:+.1f} MiB; "
              f"reproduce: {cmd} --only none,{kind}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bpfpush", default=os.path.join(REPO, "build", "bpfpush"))
    ap.add_argument("--workdir", default=os.path.join(REPO, "build", "bench", "relabel"))
    ap.add_argument("--series", type=int, default=100000)
    ap.add_argument("--interval", type=int, default=1, help="seconds")
    ap.add_argument("--rounds", type=int, default=8, help="steady rounds per run")
    ap.add_argument("--repeat", type=int, default=3, help="runs per config")
    ap.add_argument("--only", default=",".join(CONFIGS), help="configs, comma-separated")
    ap.add_argument("--time-limit", type=int, default=240, help="seconds for the whole bench")
    args = ap.parse_args()
    args.bpfpush_shown = os.path.relpath(args.bpfpush, REPO) \
        if args.bpfpush.startswith(REPO) else args.bpfpush
    args.bpfpush = os.path.abspath(args.bpfpush)
    kinds = [k for k in args.only.split(",") if k]
    if any(k not in CONFIGS for k in kinds) or "none" not in kinds:
        ap.error(f"--only: a subset of {','.join(CONFIGS)} that includes none")
    if not os.access(args.bpfpush, os.X_OK):
        log(f"no executable {args.bpfpush} (make first)")
        return 1

    def on_signal(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(args.time_limit)
    shutil.rmtree(args.workdir, ignore_errors=True)
    textdir = os.path.join(args.workdir, "textfile")
    os.makedirs(textdir)
    with open(os.path.join(textdir, "bench.prom"), "wb") as f:
        f.write(exposition(args.series))
    sink = Sink()
    runs = []
    try:
        for n in range(args.repeat):
            for kind in kinds:
                runs.append(one_run(args, kind, textdir, sink, n))
        signal.alarm(0)
        report(args, runs)
        return 0
    except BenchError as e:
        log(f"could not run: {e}")
        return 1
    except KeyboardInterrupt as e:
        log(f"stopped ({e or 'time limit'})")
        return 1
    finally:
        signal.alarm(0)
        sink.stop()


if __name__ == "__main__":
    sys.exit(main())
