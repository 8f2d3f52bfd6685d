# SPDX-License-Identifier: MIT
"""Helpers for BPF tests: an agent in --dry-run mode whose rounds are
parsed from its stdout, and small text-format parsing."""
import os
import re
import subprocess
import threading
import time

ROUND = re.compile(r"^# bpfpush round (\d+) at (\d+)$")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( \d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_labels(text):
    return {k: v.encode().decode("unicode_escape") for k, v in LABEL.findall(text or "")}


class Round:
    def __init__(self, number, ts_ms):
        self.number, self.ts_ms, self.samples = number, ts_ms, []

    def get(self, name, **labels):
        """Values of name whose labels include the given ones."""
        return [v for n, l, v in self.samples
                if n == name and all(l.get(k) == str(x) for k, x in labels.items())]

    def one(self, name, **labels):
        found = self.get(name, **labels)
        assert len(found) == 1, f"{name}{labels}: {found}"
        return found[0]


class DryRunAgent:
    """bpfpush --dry-run in the background; .rounds fills as it prints."""

    # Run statistics on for the agent's life (the tests run as root), for
    # the cost series: a test's events fall wholly in the count.
    STATS_ALWAYS = ("--enable-bpf-stats", "--bpf-stats-duty", "always")

    def __init__(self, binary, config_path, extra=(), env=None, stats=STATS_ALWAYS):
        self.proc = subprocess.Popen([binary, "--config", config_path, "--dry-run",
                                      *stats, *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        self.rounds, self.stderr = [], []
        self._lock = threading.Lock()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def _read_stdout(self):
        current = None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            m = ROUND.match(line)
            if m:
                if current:
                    with self._lock:
                        self.rounds.append(current)
                current = Round(int(m.group(1)), int(m.group(2)))
                continue
            m = SAMPLE.match(line)
            if m and current:
                current.samples.append((m.group(1), parse_labels(m.group(3)), float(m.group(4))))
        if current:
            with self._lock:
                self.rounds.append(current)

    def wait_rounds(self, n, timeout=30):
        """Waits until n complete rounds have been printed; returns the last."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.rounds) >= n:
                    return self.rounds[n - 1]
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise TimeoutError(f"{len(self.rounds)} rounds of {n}; stderr: {''.join(self.stderr)[-2000:]}")

    def next_round(self, timeout=30):
        """Waits for a round that starts after now."""
        start_ms = time.time() * 1000
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                done = [r for r in self.rounds if r.ts_ms >= start_ms]
                # A round is complete once the next one has started.
                if done and len(self.rounds) > self.rounds.index(done[0]) + 1:
                    return done[0]
            time.sleep(0.05)
        raise TimeoutError("no new round")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode, "".join(self.stderr)


def bpf_only_config(collectors, interval="1s"):
    """A config with only the given BPF collectors (YAML mapping text per
    collector, e.g. {"runqlat": "{}"}): no system collectors, no push."""
    text = ("global:\n  interval: %s\n  data_dir: \"\"\ncollectors:\n  defaults: false\nbpf:\n"
            "  defaults: false\n" % interval)
    return text + "".join(f"  {name}: {opts}\n" for name, opts in collectors.items())


def start_agent(binary, tmp_path, collectors, env=None, extra=()):
    """A DryRunAgent on bpf_only_config(collectors), written to
    tmp_path/bpfpush.yml."""
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text(bpf_only_config(collectors))
    return DryRunAgent(binary, str(cfg), extra, env)


def delta(before, after, name, **labels):
    """How much series name grew from before to after (0 before when the
    series did not exist yet); after must hold it exactly once."""
    was = before.get(name, **labels)
    return after.one(name, **labels) - (was[0] if was else 0)


def report_cost(round_, collector, program):
    """The program's own cost from the kernel's run statistics (pytest -s)."""
    runs = round_.one("bpfpush_bpf_program_runs_total", collector=collector, program=program)
    secs = round_.one("bpfpush_bpf_program_run_seconds_total", collector=collector,
                      program=program)
    print("\n%s/%s: %.0f ns per event over %d events" % (collector, program, secs * 1e9 / runs,
                                                         runs))


def assert_missing_hook_disables_only_it(binary, tmp_path, collector, hide, series,
                                        options="{}"):
    """Runs collector alone (with options) with the hooks in hide
    (comma-separated) hidden: two rounds with it up 0 and no series, the
    agent exits 0, and one warning line, at level warn, names the collector.
    Returns that line."""
    env = dict(os.environ, BPFPUSH_BPF_HIDE_HOOKS=hide)
    agent = start_agent(binary, tmp_path, {collector: options}, env=env)
    try:
        rounds = [agent.wait_rounds(1), agent.wait_rounds(2)]
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    for r in rounds:
        assert r.one("bpfpush_bpf_collector_up", collector=collector) == 0
        assert not r.get(series)
    warned = [l for l in err.splitlines() if "bpf collector disabled" in l]
    assert len(warned) == 1, err
    assert "level=warn" in warned[0] and "collector=" + collector in warned[0], warned
    return warned[0]
