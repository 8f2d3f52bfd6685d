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
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import BIN, log_lines
from receivers import FaultProxy, free_port
from test_queue_faults import OK, Textfile, config, gauge_lines, wait


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


# A BPF collector loads again on a reload only while the agent still holds
# what loading takes: by default it drops every capability after setup.
KEEP_BPF = ("--capabilities-keep", "bpf,perfmon")


class Reloadable:
    """An agent with the status endpoint, whose config file is rewritten."""

    def __init__(self, agent, text, port=None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.a = agent(with_status(text, self.port))
        self.path = self.a.path

    def start(self, *args):
        self.a.start(*args, follow=True)
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


# ---- endpoints --------------------------------------------------------------

def accepted(proxy, name=None):
    """(series, timestamp) of every sample (of the family name, or all) in
    the requests answered 2xx, in the order the requests came."""
    with proxy.lock:
        reqs = [(r[1], r[3]) for r in proxy.requests]
    return [(tuple(sorted(labels.items())), ts) for series, status in reqs
            if status and 200 <= status < 300
            for labels, ss in series if name in (None, labels["__name__"]) for ts, _ in ss]


def stopped_line(err, name, nth=0):
    """The fields of the nth "endpoint stopped" line of a reload for name.
    err: the log text, or a Reloadable whose log is read until the line is
    there (the agent wrote it before answering the reload, but the thread
    that reads its stderr may lag behind on a loaded machine)."""
    def lines_of(text):
        return log_lines(text, msg="reload: remote_write endpoint stopped", remote_name=name)
    if isinstance(err, Reloadable):
        r = err
        wait(lambda: len(lines_of(r.err())) > nth, 10, f"{name}'s stop line")
        err = r.err()
    lines = lines_of(err)
    assert len(lines) > nth, err
    return {k: int(v) for k, v in re.findall(r"(samples_in|sent|failed|dropped|on_disk)=(\d+)",
                                             lines[nth])}


def disk_samples(base, name):
    """The samples the disk tier of endpoint name holds, per /metrics."""
    m = re.search(r'^bpfpush_remote_storage_disk_samples\{[^}]*remote_name="%s"[^}]*\} (\S+)$'
                  % re.escape(name), get(base)[1], re.M)
    return float(m.group(1)) if m else None


def endpoints_config(tf, data_dir, endpoints, interval="300ms"):
    queue = {"max_shards": 2, "batch_send_deadline": "100ms", "min_backoff": "50ms",
             "max_backoff": "200ms", "catchup_jitter": "0s"}
    eps = [dict(e, queue=dict(queue, **e.get("queue", {}))) for e in endpoints]
    return config(eps, tf.dir, interval=interval).replace(
        'data_dir: ""', f"data_dir: {data_dir}")


def in_order(samples):
    last = {}
    for i, ts in samples:
        if ts <= last.get(i, -1):
            return False
        last[i] = ts
    return True


def test_a_reload_adds_an_endpoint_and_removes_one_with_a_backlog_without_losing_it(
        vm, agent, tmp_path):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("rl_data", 20, 1))
    down = {"b": True}
    with FaultProxy(None, lambda n: 503 if down["b"] else OK) as pb, \
            FaultProxy(None, lambda n: OK) as pc:
        a_ep = {"url": vm.write_url, "name": "a"}
        b_ep = {"url": pb.url, "name": "b"}
        c_ep = {"url": pc.url, "name": "c"}
        data = tmp_path / "data"
        r = Reloadable(agent, endpoints_config(tf, data, [a_ep, b_ep])).start()
        wait(lambda: len(pb.requests) >= 10, 20, "b in backoff")
        time.sleep(1)  # a backlog of a few rounds
        r.write(endpoints_config(tf, data, [a_ep, c_ep]))
        assert post(r.base) == (200, "config reloaded\n")
        first = stopped_line(r, "b")
        wait(lambda: len(accepted(pc, "rl_data")) >= 40, 20, "c, added, pushing")
        # b comes back, its receiver up: what it left on disk is sent first.
        down["b"] = False
        r.write(endpoints_config(tf, data, [a_ep, b_ep, c_ep]))
        assert post(r.base) == (200, "config reloaded\n")
        wait(lambda: len(accepted(pb)) >= first["samples_in"] + 40, 30, "b's backlog and more")
        wait(lambda: disk_samples(r.base, "b") == 0, 30, "b's disk tier drained")
        r.write(endpoints_config(tf, data, [a_ep, c_ep]))
        assert post(r.base) == (200, "config reloaded\n")
        second = stopped_line(r, "b", 1)
        rc, _, err = r.a.stop()
        got_b = accepted(pb)
    assert rc == 0, err
    assert first["samples_in"] >= 60 and first["sent"] == 0, first
    assert first["dropped"] == 0 and first["on_disk"] == first["samples_in"], first
    assert second["dropped"] == 0 and second["failed"] == 0 and second["on_disk"] == 0, second
    assert len(got_b) == first["samples_in"] + second["samples_in"], (len(got_b), first, second)
    assert len(set(got_b)) == len(got_b), "a sample of b was sent twice"
    assert in_order(got_b), "b's samples out of order across its removal"
    assert not log_lines(err, msg="reload: remote_write endpoint stopped", remote_name="a"), \
        "a, unchanged, was restarted"
    assert len(log_lines(err, msg="remote_write started", remote_name="a")) <= 1, err


def test_a_changed_endpoint_in_backoff_restarts_on_its_disk_and_loses_nothing(agent, tmp_path):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("rl_data", 20, 1))
    down = {"on": True}
    with FaultProxy(None, lambda n: 503 if down["on"] else OK) as p:
        ep = {"url": p.url, "name": "p"}
        data = tmp_path / "data"
        r = Reloadable(agent, endpoints_config(tf, data, [ep])).start()
        wait(lambda: len(p.requests) >= 10, 20, "the endpoint in backoff")
        changed = dict(ep, queue={"max_samples_per_send": 7})
        r.write(endpoints_config(tf, data, [changed]))
        assert post(r.base) == (200, "config reloaded\n")
        first = stopped_line(r, "p")
        time.sleep(0.5)
        down["on"] = False
        wait(lambda: len(accepted(p)) >= first["samples_in"] + 40, 30, "the backlog sent")
        # caught up: what the new queue spilled while it replayed is sent too
        wait(lambda: disk_samples(r.base, "p") == 0, 30, "the disk tier drained")
        r.write(endpoints_config(tf, data, []))
        assert post(r.base) == (200, "config reloaded\n")
        second = stopped_line(r, "p", 1)
        rc, _, err = r.a.stop()
        got = accepted(p)
        sizes = [len(rq[1]) for rq in p.requests if rq[3] == 200]
    assert rc == 0, err
    assert first["dropped"] == 0 and first["on_disk"] == first["samples_in"] > 0, first
    assert second["dropped"] == 0 and second["on_disk"] == 0, second
    assert len(got) == first["samples_in"] + second["samples_in"], (len(got), first, second)
    assert len(set(got)) == len(got) and in_order(got)
    assert log_lines(err, msg="reload: remote_write endpoint changed", remote_name="p"), err
    # (what was on disk goes as it was written: in the batches of the old queue)
    assert max(sizes[-10:]) <= 7, "the new max_samples_per_send is not in use"


# ---- collectors -------------------------------------------------------------

def count_of(body, family):
    """The sum of family_count over its series (a histogram), or None."""
    values = [float(v) for v in re.findall(rf"^{family}_count(?:{{[^}}]*}})? (\S+)$", body, re.M)]
    return sum(values) if values else None


def bpf_config(tf, sendmsg_hook, textfile_dir=None):
    text = config([], textfile_dir or tf.dir, interval="500ms")
    for name, body in (("runqlat", "{}"), ("tcp_sendmsg", f"{{hook: {sendmsg_hook}}}")):
        assert f"  {name}: false\n" in text, text
        text = text.replace(f"  {name}: false\n", f"  {name}: {body}\n")
    return text


def bpf_loaded(r, *names):
    return all(log_lines(r.err(), msg="bpf collector loaded", collector=n) for n in names)


def counter(r):
    def counts():
        body = get(r.base)[1]
        return count_of(body, "kernel_tcp_sendmsg_size_bytes"), \
            count_of(body, "kernel_runqueue_latency_seconds")
    return counts


def test_a_collector_whose_options_change_is_reinitialised_alone(agent, tmp_path):
    """tcp_sendmsg's hook changes: it is loaded again, its histogram starts
    over; runqlat and textfile, unchanged, keep theirs; then textfile's
    directory changes: textfile alone is initialised again."""
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("rl_data", 2, 1))
    r = Reloadable(agent, bpf_config(tf, "auto")).start(*KEEP_BPF)
    if not bpf_loaded(r, "tcp_sendmsg", "runqlat"):
        r.a.stop()
        pytest.skip("BPF collectors do not load here")
    counts = counter(r)

    # Every /metrics read is a tcp_sendmsg of the agent's: the count grows.
    wait(lambda: (counts()[0] or 0) > 200 and (counts()[1] or 0) > 0, 20, "both histograms")
    # tcp_sendmsg counts every sendmsg of the host: the count before the
    # reload is pushed well above what other traffic adds in a round or two.
    while (counts()[0] or 0) < 5000:
        for _ in range(200):
            get(r.base)
    send_before, runq_before = counts()
    r.write(bpf_config(tf, "raw_tp"))
    assert post(r.base) == (200, "config reloaded\n")
    wait(lambda: counts()[0] < send_before, 10, "tcp_sendmsg's histogram starting over")
    send_after, runq_after = counts()
    assert runq_after >= runq_before, (runq_before, runq_after)
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.prom").write_text(gauge_lines("rl_other", 1, 1))
    r.write(bpf_config(tf, "raw_tp", other))
    assert post(r.base) == (200, "config reloaded\n")
    wait(lambda: "rl_other{" in get(r.base)[1], 10, "the new textfile directory")
    send_last, runq_last = counts()
    assert send_last >= send_after and runq_last >= runq_after
    assert metric(r.base, "bpfpush_config_reload_restart_required") == 0
    rc, _, err = r.a.stop()
    assert rc == 0, err
    reinit = log_lines(err, msg="reload: collector re-initialised with its new options")
    assert [re.search(r"collector=(\w+)", line).group(1) for line in reinit] == \
        ["tcp_sendmsg", "textfile"], reinit
    assert len(log_lines(err, msg="bpf collector loaded", collector="runqlat")) == 1, err
    assert len(log_lines(err, msg="bpf collector loaded", collector="tcp_sendmsg")) == 2, err


def failing_hook(tf):
    """A tcp_sendmsg hook this kernel cannot load, or None."""
    for hook in ("kprobe", "fentry"):
        path = tf.dir.parent / "probe.yml"
        path.write_text(bpf_config(tf, hook))
        run = subprocess.run([BIN, "--config", str(path), "--dry-run", "--once"],
                             capture_output=True, text=True, timeout=60)
        if "bpf collector disabled" in run.stderr and "collector=tcp_sendmsg" in run.stderr:
            return hook
    return None


def test_a_collector_that_cannot_start_with_its_new_options_runs_with_its_old_ones(
        agent, tmp_path):
    tf = Textfile(tmp_path)
    hook = failing_hook(tf)
    if hook is None:
        pytest.skip("every tcp_sendmsg hook loads here: no re-init to fail")
    r = Reloadable(agent, bpf_config(tf, "auto")).start(*KEEP_BPF)
    if not bpf_loaded(r, "tcp_sendmsg"):
        r.a.stop()
        pytest.skip("BPF collectors do not load here")
    r.write(bpf_config(tf, hook))
    assert post(r.base) == (200, "config reloaded; some changes apply at the next restart "
                                 "(see the log)\n")
    wait(lambda: metric(r.base, "bpfpush_config_reload_restart_required") == 1, 10,
         "restart_required 1")
    body = get(r.base)[1]
    assert 'bpfpush_bpf_collector_up{collector="tcp_sendmsg"' in body
    assert re.search(r'^bpfpush_bpf_collector_up\{collector="tcp_sendmsg"[^}]*\} 1$', body, re.M)
    r.write(bpf_config(tf, "auto"))  # the running options again: nothing left to restart for
    assert post(r.base) == (200, "config reloaded\n")
    wait(lambda: metric(r.base, "bpfpush_config_reload_restart_required") == 0, 10,
         "restart_required 0")
    rc, _, err = r.a.stop()
    assert rc == 0, err
    assert log_lines(err, msg="reload: collector cannot start with its new options",
                     collector="tcp_sendmsg"), err


def drops_capabilities():
    run = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
    return "--capabilities-keep" in run.stdout


@pytest.mark.skipif(not drops_capabilities(), reason="this agent does not drop capabilities")
def test_a_bpf_collector_is_not_reloaded_once_capabilities_are_dropped(agent, tmp_path):
    """Capabilities dropped after setup: a changed BPF collector keeps
    running, untouched, with its old options; the agent says so."""
    tf = Textfile(tmp_path)
    r = Reloadable(agent, bpf_config(tf, "auto")).start()
    if not bpf_loaded(r, "tcp_sendmsg", "runqlat"):
        r.a.stop()
        pytest.skip("BPF collectors do not load here")
    counts = counter(r)
    wait(lambda: (counts()[0] or 0) > 50, 20, "the tcp_sendmsg histogram")
    before = counts()[0]
    r.write(bpf_config(tf, "raw_tp"))
    assert post(r.base)[0] == 200
    wait(lambda: metric(r.base, "bpfpush_config_reload_restart_required") == 1, 10,
         "restart_required 1")
    assert counts()[0] >= before, "tcp_sendmsg was loaded again"
    rc, _, err = r.a.stop()
    assert rc == 0, err
    assert log_lines(err, msg="capabilities to load it again were dropped",
                     collector="tcp_sendmsg"), err


def test_a_removed_endpoint_without_a_disk_tier_counts_what_it_could_not_send(agent, tmp_path):
    """Memory only, its receiver down: the flush ends at the deadline (the
    shorter of 5 s and --flush-deadline) and every unsent sample is counted
    as dropped, in a warning."""
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("rl_data", 20, 1))
    with FaultProxy(None, lambda n: 503) as p, FaultProxy(None, lambda n: OK) as q:
        keep = {"url": q.url, "name": "q"}
        text = endpoints_config(tf, '""', [keep, {"url": p.url, "name": "p"}])
        port = free_port()
        r = Reloadable(agent, text, port)
        r.a.start("--flush-deadline", "2s", follow=True)
        wait(r.ready, 20, "the status endpoint")
        wait(lambda: len(p.requests) >= 10, 20, "p in backoff")
        r.write(endpoints_config(tf, '""', [keep]))
        started = time.monotonic()
        assert post(r.base) == (200, "config reloaded\n")
        took = time.monotonic() - started
        rc, _, err = r.a.stop()
    assert rc == 0, err
    assert 1.5 < took < 5, took
    stopped = stopped_line(err, "p")
    assert stopped["sent"] == 0 and stopped["on_disk"] == 0, stopped
    assert stopped["dropped"] == stopped["samples_in"] > 0, stopped
    line = log_lines(err, msg="reload: remote_write endpoint stopped", remote_name="p")[0]
    assert "level=warn" in line, line
