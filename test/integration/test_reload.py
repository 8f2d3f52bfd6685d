# SPDX-License-Identifier: MIT
"""Live reload: SIGHUP and POST /-/reload re-read the config on the main
thread, between rounds. A bad config is rejected with FILE:LINE:COL and the
running one keeps pushing; a storm of SIGHUPs is one reload at a time and
ends on the last file.

Data comes from the textfile collector only (as in test_queue_faults.py),
so that every sample pushed is known."""
import os
import re
import signal
import time
import urllib.error
import urllib.request

from conftest import log_lines
from receivers import free_port
from test_queue_faults import Textfile, config, gauge_lines, wait


def post(base, path="/-/reload", method="POST", timeout=30):
    req = urllib.request.Request(base + path, data=b"", method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def get(base, path="/metrics"):
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(base, name):
    """The value of an unlabelled (but for job/instance) self-metric, or None."""
    _, body = get(base)
    m = re.search(rf"^{name}{{[^}}]*}} (\S+)$", body, re.M)
    return float(m.group(1)) if m else None


def with_status(text, port):
    return text.replace('http: {listen_address: ""}', f"http: {{listen_address: 127.0.0.1:{port}}}")


class Reloadable:
    """An agent with the status endpoint, whose config file is rewritten."""

    def __init__(self, agent, text, port=None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.a = agent(with_status(text, self.port))
        self.path = self.a.path

    def start(self):
        self.a.start(follow=True)
        wait(lambda: self.ready(), 20, "the status endpoint")
        return self

    def ready(self):
        try:
            return get(self.base, "/ready")[0] == 200
        except OSError:
            return False

    def write(self, text):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(with_status(text, self.port))
        os.replace(tmp, self.path)

    def err(self):
        with self.a._lines_lock:
            return "".join(line + "\n" for _, line in self.a.lines)


def vm_count(vm, name):
    return sum(len(s["values"]) for s in vm.export(name, min_samples=0, timeout=0))


def test_reload_is_post_or_put_only(agent, tmp_path):
    tf = Textfile(tmp_path)
    r = Reloadable(agent, config([], tf.dir)).start()
    assert post(r.base, method="GET")[0] == 405
    assert post(r.base, method="DELETE")[0] == 405
    assert post(r.base, method="PUT") == (200, "config reloaded\n")
    status, body = post(r.base)
    assert (status, body) == (200, "config reloaded\n")
    rc, _, err = r.a.stop()
    assert rc == 0, err
    assert len(log_lines(err, msg="config reloaded")) == 2, err


def test_a_bad_config_is_rejected_and_the_running_one_keeps_pushing(vm, agent, tmp_path):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("rl_data", 3, 1))
    good = config([{"url": vm.write_url, "name": "vm"}], tf.dir, interval="300ms")
    r = Reloadable(agent, good).start()
    wait(lambda: vm_count(vm, "rl_data") >= 3, 20, "the first samples")
    r.write(good + "  - url: http://127.0.0.1:1/api/v1/write\n    bogus_key: 1\n")
    lines = good.count("\n") + 2  # the bogus key's line, 1-based
    status, body = post(r.base)
    assert status == 500, body
    assert body.startswith(f"{r.path}:{lines}:5: "), body
    assert "bogus_key" in body, body
    wait(lambda: metric(r.base, "bpfpush_config_last_reload_successful") == 0, 10,
         "last_reload_successful 0")
    # The running config keeps pushing, to the running endpoint only.
    tf.write(gauge_lines("rl_after", 3, 2))
    wait(lambda: vm_count(vm, "rl_after") >= 3, 20, "samples after the rejected reload")
    os.kill(r.a.proc.pid, signal.SIGHUP)
    wait(lambda: len(log_lines(r.err(), msg="reload: config rejected")) >= 2, 10,
         "the SIGHUP's rejection")
    r.write(good)
    assert post(r.base) == (200, "config reloaded\n")
    wait(lambda: metric(r.base, "bpfpush_config_last_reload_successful") == 1, 10,
         "last_reload_successful 1")
    rc, _, err = r.a.stop()
    assert rc == 0, err
    rejected = log_lines(err, msg="reload: config rejected, the running one stays")
    assert len(rejected) == 2, err
    assert all(f'error="{r.path}:{lines}:5: ' in line for line in rejected), rejected
    assert not log_lines(err, msg="remote_write started", remote_name="remote-2"), err


def test_a_storm_of_sighups_is_one_reload_at_a_time_and_ends_on_the_last_file(agent, tmp_path):
    tf = Textfile(tmp_path)
    base = config([], tf.dir)
    r = Reloadable(agent, base).start()
    started = time.monotonic()
    for i in range(100):
        r.write(base.replace("interval: 1s", f"interval: {1000 + i}ms"))
        os.kill(r.a.proc.pid, signal.SIGHUP)
        time.sleep(0.01)
    assert time.monotonic() - started < 2
    wait(lambda: "interval_ms=1099" in r.err(), 10, "the last file applied")
    time.sleep(1)
    assert get(r.base, "/healthz") == (200, "ok\n")
    assert post(r.base) == (200, "config reloaded\n")
    rc, _, err = r.a.stop()
    assert rc == 0, err
    reloads = log_lines(err, msg="config reloaded")
    assert 2 <= len(reloads) <= 101, len(reloads)
    changes = re.findall(r"interval changes from the next round\" interval_ms=(\d+)", err)
    assert changes[-1] == "1099", changes
    assert not log_lines(err, msg="reload: config rejected"), err
