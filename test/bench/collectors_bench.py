#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What one collection round of bpfpush's default collectors costs, beside
one scrape of the real node_exporter, measured in the same run on this host.

  CPU per round    bpfpush (the default collectors, no remote_write, interval
                   --interval) runs --warmup rounds, then CPU time is read
                   before and after exactly --rounds more intervals: utime +
                   stime from /proc/PID/stat (clock ticks, 10 ms each) and the
                   sum of /proc/PID/task/*/schedstat (nanoseconds, the
                   precise one). Without remote_write the round is all the
                   agent does: collectors + registry.
  wall per round   the sum of the collectors' node_scrape_collector_duration_seconds
                   (and each one's), from a --dry-run run's third round (steady
                   state: every series already known to the registry).
  allocs per round counted in one `bpfpush --dry-run` process, round by round,
                   by a small LD_PRELOAD counter of malloc/calloc/realloc/...
                   that reports at each round's fflush(stdout) (built here with
                   cc); the figure is the median of rounds 3..1+--alloc-rounds.
                   Target 0: steady state allocates nothing. Cross-check, as
                   asked first: `bpfpush --dry-run` under valgrind (memcheck)
                   stopped after 1 round and after 1 + --alloc-rounds rounds,
                   the difference of "total heap usage: N allocs" over the
                   rounds between (two processes, so start-up differences
                   show up in it; --no-valgrind skips it). Both count the
                   --dry-run printing, which a real run does not do.
  CPU target       the CPU per round above, --repeat times (fresh processes),
                   median and min-max; PASS when the median is at most
                   --target-ms (1 ms), FAIL otherwise (exit status 0 either way).
  syscalls         `strace -c -f -p PID` attached to a running bpfpush for
                   exactly --rounds intervals after the warm-up (all threads),
                   calls per round by system call; the same around --scrapes
                   node_exporter scrapes, per scrape. strace slows the traced
                   process: counts only, no times. Rounds at the window's
                   edges can make bpfpush's count off by up to a round's share.
  node_exporter    started on a free loopback port (textfile directory: the
                   same empty directory as bpfpush's), warmed up with 2
                   scrapes, then --scrapes scrapes back to back; its CPU time
                   (same two sources) per scrape.

Standalone:  /usr/bin/python3 test/bench/collectors_bench.py [--bin build/bpfpush]
             [--rounds 20] [--scrapes 20] [--alloc-rounds 10] [--no-valgrind]
             [--repeat 3] [--target-ms 1.0] [--no-strace] [--json FILE]
Exit status 0 when it ran (whatever the figures are), 1 when it could not
(no bpfpush binary, bpfpush did not start or died). A missing node_exporter
or valgrind leaves its row "n/a" and says so.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"


class BenchError(Exception):
    pass


# ---- process accounting -----------------------------------------------------

def cpu_ticks(pid):
    """utime + stime of the whole process (dead threads included), ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


def cpu_ns(pid):
    """Sum of the live threads' time on CPU, nanoseconds (None if unknown)."""
    total = 0
    try:
        for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
            with open(path) as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total or None


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return None


def cpu_sample(pid):
    return cpu_ticks(pid), cpu_ns(pid)


def cpu_ms_each(before, after, n):
    """(ms per unit from ticks, ms per unit from schedstat or None)."""
    ticks = (after[0] - before[0]) * 1000.0 / CLK_TCK / n
    ns = (after[1] - before[1]) / 1e6 / n if before[1] and after[1] else None
    return ticks, ns


def stop(proc, timeout=20):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- system calls -------------------------------------------------------------

def strace_attach(pid, out):
    """strace -c -f on every thread of pid, counting into out."""
    proc = subprocess.Popen(["strace", "-c", "-f", "-p", str(pid), "-o", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)  # attached to all threads by then
    return proc


def strace_counts(proc, out):
    """Detaches (SIGINT) and returns {syscall: calls} from strace -c's table."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise BenchError("strace did not detach")
    counts = {}
    with open(out) as f:
        for line in f:
            cols = line.split()
            # % time, seconds, usecs/call, calls, [errors,] syscall
            if len(cols) >= 5 and cols[0][0].isdigit() and cols[-1] != "total":
                try:
                    counts[cols[-1]] = int(cols[3])
                except ValueError:
                    pass
    if not counts:
        raise BenchError("strace counted nothing")
    return counts


def per_unit(counts, n):
    total = sum(counts.values()) / n
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:6]
    return {"total": total, "top": {k: v / n for k, v in top}}


def bpfpush_syscalls(binary, config, rounds, warmup, interval, workdir):
    """System calls per round: strace -c -f attached for exactly rounds intervals."""
    out = os.path.join(workdir, "bpfpush.strace")
    proc = subprocess.Popen([binary, "--config", config], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        start = time.monotonic()
        time.sleep(max(0.0, start + (warmup + 0.5) * interval - 0.3 - time.monotonic()))
        if proc.poll() is not None:
            raise BenchError(f"bpfpush exited {proc.returncode}")
        tracer = strace_attach(proc.pid, out)
        time.sleep(rounds * interval)
        counts = strace_counts(tracer, out)
    finally:
        stop(proc)
    return per_unit(counts, rounds)


def median_min_max(values):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None, None, None
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2, v[0], v[-1]


# ---- bpfpush ----------------------------------------------------------------

def write_config(path, textfile_dir, interval_s):
    # A data_dir of its own and no status endpoint: another agent on this
    # host (its lock, its port) must not stop it.
    data_dir = os.path.join(os.path.dirname(path), "data")
    with open(path, "w") as f:
        f.write(f"global:\n  interval: {interval_s}s\n  data_dir: {data_dir}\n"
                "http:\n  listen_address: \"\"\n"
                f"collectors:\n  textfile: {{directory: {textfile_dir}}}\n")


def bpfpush_cpu(binary, config, rounds, warmup, interval):
    """CPU per round of a plain run (no remote_write)."""
    proc = subprocess.Popen([binary, "--config", config], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        start = time.monotonic()
        # Round k runs at start + k * interval; read between rounds.
        t_before = start + (warmup + 0.5) * interval
        time.sleep(max(0.0, t_before - time.monotonic()))
        if proc.poll() is not None:
            raise BenchError(f"bpfpush exited {proc.returncode}: {proc.stderr.read()[-2000:]}")
        before = cpu_sample(proc.pid)
        time.sleep(max(0.0, t_before + rounds * interval - time.monotonic()))
        if proc.poll() is not None:
            raise BenchError(f"bpfpush died: {proc.stderr.read()[-2000:]}")
        after = cpu_sample(proc.pid)
        rss = rss_mib(proc.pid)
    finally:
        stop(proc)
    return cpu_ms_each(before, after, rounds) + (rss,)


def read_rounds(proc, until_round, timeout, settle):
    """Reads a --dry-run's stdout until round until_round has been printed
    (its marker, then `settle` seconds for the rest of its text: the agent
    prints a round in one go, then waits for the next tick); returns
    {round: text}."""
    marker = re.compile(r"^# bpfpush round (\d+) at ")
    rounds, state = {}, {"current": None}

    def reader():
        for line in proc.stdout:
            m = marker.match(line)
            if m:
                state["current"] = int(m.group(1))
                rounds[state["current"]] = []
            elif state["current"] is not None:
                rounds[state["current"]].append(line)

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + timeout
    while (state["current"] or 0) < until_round:
        if proc.poll() is not None or time.monotonic() > deadline:
            return {}
        time.sleep(0.05)
    time.sleep(settle)
    return {k: "".join(v) for k, v in list(rounds.items())}


def parse_round(text):
    durations, success, series = {}, {}, 0
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series += 1
        m = re.match(r'node_scrape_collector_(duration_seconds|success)\{collector="([^"]+)".*\} (\S+)',
                     line)
        if m:
            (durations if m.group(1) == "duration_seconds" else success)[m.group(2)] = float(m.group(3))
    return {"durations": durations, "success": success, "series": series}


def bpfpush_dry_round(binary, config, interval):
    """The third round of a --dry-run run, parsed."""
    proc = subprocess.Popen([binary, "--config", config, "--dry-run"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        rounds = read_rounds(proc, 3, timeout=10 + 4 * interval, settle=0.3 * interval)
    finally:
        stop(proc)
    if 3 not in rounds:
        raise BenchError("bpfpush --dry-run did not print 3 rounds")
    return parse_round(rounds[3])


def valgrind_allocs(binary, config, rounds, interval, workdir):
    """Total heap allocations of a --dry-run stopped after `rounds` rounds,
    and the rounds it really ran."""
    log = os.path.join(workdir, f"valgrind-{rounds}.log")
    proc = subprocess.Popen(["valgrind", "--tool=memcheck", f"--log-file={log}",
                             binary, "--config", config, "--dry-run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        got = read_rounds(proc, rounds, timeout=120 + 10 * rounds * interval,
                          settle=0.3 * interval)
    finally:
        stop(proc, timeout=120)
    err = proc.stderr.read()
    if rounds not in got:
        raise BenchError(f"bpfpush under valgrind did not reach round {rounds}")
    with open(log) as f:
        vg = f.read()
    m = re.search(r"total heap usage: ([\d,]+) allocs", vg)
    ran = re.search(r'msg="bpfpush stopped" rounds=(\d+)', err)
    if not m or not ran:
        raise BenchError(f"no heap summary or round count under valgrind (see {log})")
    return int(m.group(1).replace(",", "")), int(ran.group(1))


# Counts every allocation call of the process (malloc, calloc, realloc,
# reallocarray, the aligned ones; glibc's own internal allocations go
# through these too) and, each time the agent flushes a --dry-run round to
# stdout, writes the running total to stderr: allocations per round, exact,
# from one process. Built with cc into the bench's temp directory.
ALLOC_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
static unsigned long count;
#define COUNT() __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED)
void *malloc(size_t n) { COUNT(); return __libc_malloc(n); }
void *calloc(size_t n, size_t s) { COUNT(); return __libc_calloc(n, s); }
void *realloc(void *p, size_t n) { COUNT(); return __libc_realloc(p, n); }
void *reallocarray(void *p, size_t n, size_t s)
{
	size_t t;
	if (__builtin_mul_overflow(n, s, &t)) { errno = ENOMEM; return NULL; }
	COUNT();
	return __libc_realloc(p, t);
}
void *memalign(size_t a, size_t n) { COUNT(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { COUNT(); return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n)
{
	void *p;
	COUNT();
	if (!(p = __libc_memalign(a, n)))
		return ENOMEM;
	*out = p;
	return 0;
}
int fflush(FILE *f)
{
	static int (*real)(FILE *);
	unsigned long now = __atomic_load_n(&count, __ATOMIC_RELAXED);
	char line[64];
	int rc, len;
	if (!real)
		real = (int (*)(FILE *))dlsym(RTLD_NEXT, "fflush");
	rc = real(f);
	if (f == stdout) {
		len = snprintf(line, sizeof(line), "\nbpfpush-allocs %lu\n", now);
		if (write(2, line, (size_t)len) < 0)
			return rc;
	}
	return rc;
}
"""


def build_shim(workdir):
    src = os.path.join(workdir, "allocshim.c")
    lib = os.path.join(workdir, "allocshim.so")
    with open(src, "w") as f:
        f.write(ALLOC_SHIM)
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise BenchError("no C compiler for the allocation counter")
    r = subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", lib, src, "-ldl"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"allocation counter does not build: {r.stderr[-500:]}")
    return lib


def counted_allocs(binary, config, rounds, interval, workdir):
    """Allocations of each round of a --dry-run (the first includes start-up)."""
    env = dict(os.environ, LD_PRELOAD=build_shim(workdir))
    proc = subprocess.Popen([binary, "--config", config, "--dry-run"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    totals = []

    def reader():
        for line in proc.stderr:
            if line.startswith("bpfpush-allocs "):
                totals.append(int(line.split()[1]))
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        got = read_rounds(proc, rounds, timeout=30 + 2 * rounds * interval,
                          settle=0.3 * interval)
    finally:
        stop(proc)
        t.join(10)
    if rounds not in got or len(totals) < rounds:
        raise BenchError(f"the counted run printed {len(totals)} of {rounds} rounds")
    totals = totals[:rounds]
    return [totals[0]] + [b - a for a, b in zip(totals, totals[1:])]


# ---- node_exporter ----------------------------------------------------------

def node_exporter_cost(textfile_dir, scrapes, workdir, with_strace=True):
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    log = open(os.path.join(workdir, "node_exporter.log"), "w")
    proc = subprocess.Popen([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}",
                             f"--collector.textfile.directory={textfile_dir}"],
                            stdout=log, stderr=subprocess.STDOUT)

    def scrape():
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.read()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                scrape()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError("node_exporter did not start")
                time.sleep(0.1)
        scrape()  # warm-up: the first scrapes allocate what later ones reuse
        time.sleep(0.2)
        before = cpu_sample(proc.pid)
        t0 = time.monotonic()
        for _ in range(scrapes):
            body = scrape()
        wall = (time.monotonic() - t0) * 1000.0 / scrapes
        after = cpu_sample(proc.pid)
        rss = rss_mib(proc.pid)
        syscalls = None
        if with_strace:
            out = os.path.join(workdir, "node_exporter.strace")
            tracer = strace_attach(proc.pid, out)
            for _ in range(scrapes):
                scrape()
            syscalls = per_unit(strace_counts(tracer, out), scrapes)
    finally:
        stop(proc)
        log.close()
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    ticks, ns = cpu_ms_each(before, after, scrapes)
    return {"ticks_ms": ticks, "ns_ms": ns, "wall_ms": wall, "series": series, "rss": rss,
            "syscalls": syscalls}


# ---- the report ---------------------------------------------------------------

def fmt(v, spec="{:.2f}"):
    return "n/a" if v is None else spec.format(v)


def table(rows, header):
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    out = []
    for j, r in enumerate([header] + rows):
        cells = [str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
                 for i, c in enumerate(r)]
        out.append("  " + "  ".join(cells))
        if j == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.environ.get("BPFPUSH_BIN", "build/bpfpush"),
                    help="bpfpush binary (relative to the repository root)")
    ap.add_argument("--rounds", type=int, default=20, help="measured rounds (CPU)")
    ap.add_argument("--warmup", type=int, default=2, help="rounds before measuring")
    ap.add_argument("--interval", type=int, default=1, help="seconds between rounds")
    ap.add_argument("--scrapes", type=int, default=20, help="node_exporter scrapes")
    ap.add_argument("--alloc-rounds", type=int, default=10,
                    help="rounds between the two valgrind runs")
    ap.add_argument("--no-valgrind", action="store_true")
    ap.add_argument("--no-node-exporter", action="store_true")
    ap.add_argument("--repeat", type=int, default=3,
                    help="bpfpush CPU runs (fresh processes) for the median")
    ap.add_argument("--target-ms", type=float, default=1.0,
                    help="PASS when the median CPU per round is at most this")
    ap.add_argument("--no-strace", action="store_true", help="skip the system call counts")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    binary = os.path.join(REPO, args.bin)
    if not os.access(binary, os.X_OK):
        print(f"collectors_bench: no bpfpush binary at {binary} (make first)", file=sys.stderr)
        return 1
    workdir = tempfile.mkdtemp(prefix="bpfpush-collectors-bench-")
    textfile_dir = os.path.join(workdir, "textfile")
    os.mkdir(textfile_dir)
    config = os.path.join(workdir, "bpfpush.yml")
    write_config(config, textfile_dir, args.interval)
    notes, figures = [], {}

    try:
        runs = [bpfpush_cpu(binary, config, args.rounds, args.warmup, args.interval)
                for _ in range(max(1, args.repeat))]
        ticks = median_min_max([r[0] for r in runs])[0]
        ns_runs = [r[1] for r in runs]
        ns = median_min_max(ns_runs)[0]
        rss = runs[-1][2]
        dry = bpfpush_dry_round(binary, config, args.interval)
    except BenchError as e:
        print(f"collectors_bench: cannot run: {e}", file=sys.stderr)
        return 1
    figures["bpfpush"] = {"cpu_ms_per_round_ticks": ticks, "cpu_ms_per_round": ns,
                          # the sum of the collectors' own durations: the
                          # round's self-metric has millisecond resolution
                          "wall_ms_per_round": sum(dry["durations"].values()) * 1000,
                          "series": dry["series"], "rss_mib": rss,
                          "collectors": {c: {"wall_ms": d * 1000, "success": dry["success"].get(c)}
                                         for c, d in dry["durations"].items()}}

    figures["bpfpush"]["cpu_ms_per_round_runs"] = ns_runs
    syscalls = None
    if args.no_strace:
        notes.append("system calls: skipped (--no-strace)")
    elif not shutil.which("strace"):
        notes.append("system calls: n/a, strace is not installed")
    else:
        try:
            syscalls = bpfpush_syscalls(binary, config, args.rounds, args.warmup, args.interval,
                                        workdir)
            figures["bpfpush"]["syscalls_per_round"] = syscalls
        except BenchError as e:
            notes.append(f"system calls: n/a ({e})")

    allocs = None
    try:
        per_round = counted_allocs(binary, config, 1 + args.alloc_rounds, args.interval, workdir)
        steady = sorted(per_round[2:] or per_round[1:])
        allocs = steady[len(steady) // 2]  # the median: series still appearing
        # in rounds 2-4 (BPF collectors finding devices) are not steady state
        figures["bpfpush"].update({"allocs_per_round": allocs, "allocs_by_round": per_round})
        notes.append(f"allocations per round (counted in-process, rounds 1..{len(per_round)}): "
                     f"{', '.join(str(n) for n in per_round)}; allocs/round = median of rounds "
                     f"{3 if len(per_round) > 2 else 2}.. (round 1 includes start-up)")
    except BenchError as e:
        notes.append(f"allocations (counted): n/a ({e})")
    if args.no_valgrind:
        notes.append("allocations: skipped (--no-valgrind)")
    elif not shutil.which("valgrind"):
        notes.append("allocations: n/a, valgrind is not installed (apt-get install valgrind)")
    else:
        try:
            a1, r1 = valgrind_allocs(binary, config, 1, args.interval, workdir)
            a2, r2 = valgrind_allocs(binary, config, 1 + args.alloc_rounds, args.interval, workdir)
            vg = (a2 - a1) / (r2 - r1) if r2 > r1 else None
            figures["bpfpush"].update({"valgrind_allocs_per_round": vg,
                                       "valgrind_runs": [[r1, a1], [r2, a2]]})
            notes.append(f"allocations under valgrind: {a1} allocs for start + {r1} round + exit, "
                         f"{a2} for {r2} rounds: ({a2} - {a1}) / {r2 - r1} = {fmt(vg, '{:.1f}')} "
                         f"per round (two processes: start-up differences, e.g. BPF "
                         f"collectors finding devices, show up here)")
        except BenchError as e:
            notes.append(f"allocations: n/a ({e})")

    ne = None
    if args.no_node_exporter:
        notes.append("node_exporter: skipped (--no-node-exporter)")
    elif not os.access(NODE_EXPORTER, os.X_OK):
        notes.append("node_exporter: n/a, prometheus-node-exporter is not installed")
    else:
        try:
            ne = node_exporter_cost(textfile_dir, args.scrapes, workdir,
                                    with_strace=syscalls is not None)
            figures["node_exporter"] = ne
        except BenchError as e:
            notes.append(f"node_exporter: n/a ({e})")

    bp = figures["bpfpush"]
    header = ["", "n", "CPU ms each", "CPU ms (ticks)", "wall ms each", "series",
              "allocs/round", "RSS MiB"]
    rows = [["bpfpush round, default collectors", args.rounds, fmt(bp["cpu_ms_per_round"]),
             fmt(ticks), fmt(bp["wall_ms_per_round"]), bp["series"],
             fmt(allocs, "{:.1f}"), fmt(rss, "{:.1f}")]]
    if ne:
        rows.append(["node_exporter scrape, defaults", args.scrapes, fmt(ne["ns_ms"]),
                     fmt(ne["ticks_ms"]), fmt(ne["wall_ms"]), ne["series"], "-",
                     fmt(ne["rss"], "{:.1f}")])
    uname = os.uname()
    print(f"collectors bench: {uname.nodename}, {os.cpu_count()} CPUs, Linux {uname.release}, "
          f"interval {args.interval}s, USER_HZ {CLK_TCK}")
    print(table(rows, header))
    a = bp["cpu_ms_per_round"] or ticks
    b = ne and (ne["ns_ms"] or ne["ticks_ms"])
    if a and b:
        print(f"  node_exporter scrape / bpfpush round, CPU: {b / a:.1f}x")
        figures["ratio_cpu"] = b / a
    med, lo, hi = median_min_max(ns_runs)
    if med is not None:
        verdict = "PASS" if med <= args.target_ms else "FAIL"
        print(f"  target: default collector round <= {args.target_ms:g} ms CPU: median "
              f"{med:.3f} ms (min {lo:.3f}, max {hi:.3f}; {len(ns_runs)} runs of "
              f"{args.rounds} rounds): {verdict}")
        figures["target"] = {"ms": args.target_ms, "median": med, "min": lo, "max": hi,
                             "pass": med <= args.target_ms}
    if syscalls:
        srow = [["bpfpush, per round", f"{syscalls['total']:.0f}",
                 ", ".join(f"{k} {v:.0f}" for k, v in syscalls["top"].items())]]
        if ne and ne.get("syscalls"):
            nes = ne["syscalls"]
            srow.append(["node_exporter, per scrape", f"{nes['total']:.0f}",
                         ", ".join(f"{k} {v:.0f}" for k, v in nes["top"].items())])
        print("")
        print(table(srow, ["system calls (strace -c -f)", "calls", "most frequent"]))
    print("")
    crow = sorted(([c, fmt(v["wall_ms"], "{:.3f}"), fmt(v["success"], "{:g}")]
                   for c, v in bp["collectors"].items()), key=lambda r: -float(r[1]))
    print(table(crow, ["bpfpush collector (round 3)", "wall ms", "success"]))
    print("")
    print("  CPU ms each: schedstat (ns) of all threads; CPU ms (ticks): utime+stime, "
          f"{1000 // CLK_TCK} ms resolution")
    print("  wall ms each: bpfpush, its collectors' durations summed; node_exporter, "
          "the HTTP scrape")
    for n in notes:
        print(f"  {n}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
