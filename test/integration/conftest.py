import os
import signal
import subprocess
import sys
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
                interval="15s", queue="batch_send_deadline: 200ms", extra=""):
    """A config for the agent; collectors is YAML for the lines under
    `collectors:`, each after the first indented by two spaces."""
    text = f"global:\n  interval: {interval}\ncollectors:\n  {collectors}\n"
    if urls:
        text += "remote_write:\n" + "".join(
            f"  - url: {u}\n    remote_timeout: 10s\n    queue_config: {{{queue}}}\n"
            for u in urls)
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

    def start(self, *args):
        self.proc = subprocess.Popen([self.binary, "--config", self.path, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return self

    def stop(self, timeout=90):
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


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
