# SPDX-License-Identifier: MIT
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from receivers import Prometheus, VictoriaMetrics  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, os.environ.get("BPFPUSH_BIN", "build/bpfpush"))
SAN_BIN = os.path.join(ROOT, os.environ.get("BPFPUSH_SAN_BIN", "build/san/bpfpush"))


@pytest.fixture
def vm(tmp_path):
    server = VictoriaMetrics(str(tmp_path)).start()
    yield server
    server.stop()


@pytest.fixture
def prom(tmp_path):
    server = Prometheus(str(tmp_path)).start()
    yield server
    server.stop()


def config_text(urls, collectors="cpu: {}\n  meminfo: {}\n  loadavg: {}",
                interval="15s", queue="batch_send_deadline: 200ms", extra="", data_dir=""):
    """A config for the agent; collectors is YAML for the lines under
    `collectors:`, each after the first indented by two spaces. data_dir ""
    (the default here, not the agent's): memory only, so that tests do not
    share /var/lib/bpfpush's lock and disk tier."""
    text = (f"global:\n  interval: {interval}\n  data_dir: \"{data_dir}\"\n"
            f"collectors:\n  {collectors}\n")
    if urls:
        text += "remote_write:\n" + "".join(
            f"  - url: {u}\n    remote_timeout: 10s\n    queue_config: {{{queue}}}\n"
            for u in urls)
    # A taken listen address stops the agent: tests that do not ask for the
    # status endpoint run without it rather than on the fixed default port.
    if "http:" not in extra:
        extra += 'http:\n  listen_address: ""\n'
    return text + extra


class Agent:
    """bpfpush run on a config written to tmp_path."""

    def __init__(self, tmp_path, text, binary=BIN):
        self.path = os.path.join(str(tmp_path), "bpfpush.yml")
        with open(self.path, "w") as f:
            f.write(text)
        self.binary = binary
        self.proc = None

    def run(self, *args, timeout=120):
        return subprocess.run([self.binary, "--config", self.path, *args],
                              capture_output=True, text=True, timeout=timeout)

    def start(self, *args, follow=False):
        """follow=True: stderr is read while the agent runs, into
        self.lines as (time.monotonic(), line), for count/wait_for; stdout
        goes to /dev/null and stop() returns '' for it."""
        self.lines, self._reader = [], None
        self.proc = subprocess.Popen([self.binary, "--config", self.path, *args],
                                     stdout=subprocess.DEVNULL if follow else subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        if follow:
            self._lines_lock = threading.Lock()
            self._reader = threading.Thread(target=self._follow, daemon=True)
            self._reader.start()
        return self

    def _follow(self):
        for line in self.proc.stderr:
            with self._lines_lock:
                self.lines.append((time.monotonic(), line.rstrip("\n")))

    def count(self, **match):
        """Followed stderr lines so far that match (as log_lines does)."""
        with self._lines_lock:
            text = "\n".join(line for _, line in self.lines)
        return len(log_lines(text, **match))

    def wait_for(self, n, timeout, **match):
        """Waits until at least n followed lines match; False on timeout or
        if the agent exited first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(**match) >= n:
                return True
            if self.proc.poll() is not None:
                self._reader.join(5)
                return self.count(**match) >= n
            time.sleep(0.02)
        return False

    def stop(self, timeout=90):
        self.proc.send_signal(signal.SIGTERM)
        if self._reader is None:
            out, err = self.proc.communicate(timeout=timeout)
            return self.proc.returncode, out, err
        self.proc.wait(timeout)
        self._reader.join(timeout)
        with self._lines_lock:
            err = "".join(line + "\n" for _, line in self.lines)
        return self.proc.returncode, "", err


@pytest.fixture
def agent(tmp_path):
    started = []

    def make(text, binary=BIN):
        a = Agent(tmp_path, text, binary)
        started.append(a)
        return a
    yield make
    for a in started:
        if a.proc and a.proc.poll() is None:
            a.proc.kill()
            a.proc.wait()


def proc_meminfo(field):
    with open("/proc/meminfo") as f:
        for line in f:
            name, rest = line.split(":", 1)
            if name == field:
                return int(rest.split()[0]) * 1024
    raise KeyError(field)


def proc_load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def log_lines(stderr, **match):
    """logfmt lines of stderr whose msg/keys contain the given substrings."""
    out = []
    for line in stderr.splitlines():
        if all(f"{k}={v}" in line or (k == "msg" and v in line) for k, v in match.items()):
            out.append(line)
    return out


def now_ms():
    return int(time.time() * 1000)
