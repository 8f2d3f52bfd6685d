# SPDX-License-Identifier: MIT
"""Bad input that is handled today stays handled, on the real binary.

Textfiles (one agent, every second, /metrics read back): binary garbage, a
FIFO, a symlink loop, a symlink to /dev/zero, a directory named *.prom, a
file the agent cannot open, a file rewritten while it is read and a 1 MB
label value beside a good file: rounds keep coming at their interval, the
good file is read (and the 1 MB value, whole), node_textfile_scrape_error
is 1, each bad file is logged once, not once per round.

Configs (--check-config, then the agent): a 10 MB file, 10,000 external
labels, YAML nested 100,000 levels deep (a clear error at the 65th level,
well under a second), duplicate keys and invalid UTF-8: FILE:LINE:COL and
exit status 2."""
import os
import random
import re
import subprocess
import threading
import time

import pytest

from conftest import BIN, log_lines
from receivers import free_port
from test_textfile_bounds import metrics, value, wait_metrics

ROUNDS_RE = re.compile(r"^bpfpush_collection_rounds_total(?:\{[^}]*\})? (\S+)$", re.M)


def rounds(page):
    m = ROUNDS_RE.search(page or "")
    return int(float(m.group(1))) if m else 0


def unreadable_file(path):
    """A file the agent cannot open although it runs as root: mode 000,
    owned by root. Root reads it only through CAP_DAC_OVERRIDE (and
    CAP_DAC_READ_SEARCH), which the agent drops after its start unless
    it needs them; the test checks which of the two holds."""
    with open(path, "w") as f:
        f.write("unreadable_metric 1\n")
    os.chmod(path, 0)


class Rewriter:
    """Rewrites a file in place (truncate, then write in 4 KiB pieces)
    while the agent reads it: each version holds 2,000 series of one
    value, 111111 or 222222, and stays whole for 20 ms before the next.
    A round reads either a whole version or a torn one (a short file, a
    line cut anywhere), which must be refused, never half taken."""

    def __init__(self, path):
        self.path, self.stop, self.versions = path, threading.Event(), 0
        self.text = {v: "".join(f'rewritten{{i="{i}"}} {v}\n' for i in range(2000)).encode()
                     for v in (111111, 222222)}
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        with open(self.path, "r+b") as f:
            while not self.stop.is_set():
                text = self.text[111111 if self.versions % 2 else 222222]
                f.seek(0)
                f.truncate()
                for i in range(0, len(text), 4096):
                    f.write(text[i:i + 4096])
                    f.flush()
                self.versions += 1
                time.sleep(0.02)

    def __enter__(self):
        open(self.path, "w").close()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)


def textfile_dir(d):
    (d / "good.prom").write_text("good_metric 1\n")
    rng = random.Random(17)
    (d / "garbage.prom").write_bytes(bytes(rng.randrange(256) for _ in range(65536)))
    os.mkfifo(d / "fifo.prom")
    os.symlink("loop.prom", d / "loop.prom")
    os.symlink("/dev/zero", d / "zero.prom")
    (d / "dir.prom").mkdir()
    unreadable_file(d / "unreadable.prom")
    (d / "biglabel.prom").write_text('big_label_metric{v="' + "x" * (1 << 20) + '"} 1\n')


def test_bad_textfiles_leave_rounds_and_good_files_alone(agent, tmp_path):
    d = tmp_path / "textfile"
    d.mkdir()
    textfile_dir(d)
    port = free_port()
    a = agent("global:\n  interval: 1s\n  data_dir: \"\"\ncollectors:\n  defaults: false\n"
              f"  textfile: {{directory: {d}}}\nbpf:\n  defaults: false\n"
              f"http:\n  listen_address: 127.0.0.1:{port}\n")
    with Rewriter(str(d / "rewritten.prom")) as rw:
        a.start("--log-level", "debug", follow=True)
        first = wait_metrics(port, "bpfpush_collection_rounds_total", 30)
        assert first, a.lines[-20:]
        started, seen = time.monotonic(), set()
        page = first
        while rounds(page) < rounds(first) + 6:  # each round is read back
            assert time.monotonic() - started < 30, "rounds stalled"
            seen |= set(re.findall(r'^rewritten\{[^}]*\} (\S+)$', page, re.M))
            time.sleep(0.2)
            page = metrics(port)
        elapsed = time.monotonic() - started
    assert rw.versions > 10
    assert a.proc.poll() is None
    # 6 rounds of 1 s: none waited on the FIFO, /dev/zero or the rewrites
    assert elapsed < 6 + 3, elapsed
    assert value(page, "good_metric") == 1
    assert value(page, "node_textfile_scrape_error") == 1
    assert "unreadable_metric" not in page
    # a 1 MB label value is kept whole, as Prometheus keeps it (no length limit)
    big = re.search(r'^big_label_metric\{.*v="(x*)"\} 1$', page, re.M)
    assert big and len(big.group(1)) == 1 << 20
    # a file read while rewritten: one version or the other, never a torn value
    assert seen and seen <= {"111111", "222222"}, seen
    _, _, err = a.stop()
    for name in ("garbage", "fifo", "loop", "zero", "dir", "unreadable"):
        lines = [line for line in err.splitlines() if f"{name}.prom" in line]
        assert 1 <= len(lines) <= 2, (name, lines)
    # root without CAP_DAC_OVERRIDE: the agent dropped it after its start
    assert log_lines(err, msg="capabilities dropped", kept="none")
    assert [line for line in err.splitlines()
            if "unreadable.prom" in line and "Permission denied" in line], err[-3000:]


# ---- configs -----------------------------------------------------------------

def check(path):
    started = time.monotonic()
    r = subprocess.run([BIN, "--check-config", str(path)], capture_output=True, text=True,
                       timeout=60)
    return r, time.monotonic() - started


def test_a_10_mb_config_and_10000_external_labels_load(tmp_path):
    big = tmp_path / "big.yml"
    big.write_text("global:\n  interval: 15s\n" + "# " + "x" * (10 << 20) + "\n" +
                   'http:\n  listen_address: ""\n')
    r, took = check(big)
    assert r.returncode == 0 and took < 5, (r.stderr, took)
    labels = tmp_path / "labels.yml"
    labels.write_text("global:\n  external_labels:\n" +
                      "".join(f"    l{i}: v{i}\n" for i in range(10000)) +
                      "collectors:\n  defaults: false\n  loadavg: {}\n"
                      "bpf:\n  defaults: false\n")
    r, took = check(labels)
    assert r.returncode == 0 and took < 5, (r.stderr, took)
    r = subprocess.run([BIN, "--config", str(labels), "--dry-run", "--once"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    load1 = next(line for line in r.stdout.splitlines() if line.startswith("node_load1{"))
    assert 'l0="v0"' in load1 and 'l9999="v9999"' in load1


BAD = {
    "nested": ("global: " + "[" * 100000 + "]" * 100000 + "\n", 1, 72,
               "YAML nested deeper than 64 levels"),
    "duplicate": ("global:\n  interval: 15s\n  interval: 30s\n", 3, 3,
                  'duplicate key "interval" (first set at line 2)'),
    "utf8 value": ("global:\n  external_labels:\n    a: caf\xe9\n", 3, 11,
                   "YAML encoding error: incomplete UTF-8 octet sequence"),
    "utf8 key": ("global:\n  external_labels:\n    \xff\xfe: x\n", 3, 5,
                 "YAML encoding error: invalid leading UTF-8 octet"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_configs_fail_fast_with_file_line_col(tmp_path, name):
    text, line, col, message = BAD[name]
    path = tmp_path / "bad.yml"
    path.write_bytes(text.encode("latin-1"))
    for flag in ("--check-config", "--config"):
        started = time.monotonic()
        r = subprocess.run([BIN, flag, str(path)], capture_output=True, text=True,
                           errors="replace", timeout=60)
        took = time.monotonic() - started
        assert r.returncode == 2, (flag, r.returncode, r.stderr)
        first = r.stderr.splitlines()[0]
        assert first.startswith(f"{path}:{line}:{col}: ") and message in first, first
        assert took < 1, (flag, took)
