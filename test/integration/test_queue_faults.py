# SPDX-License-Identifier: MIT
"""The queue under receiver faults: outages, retries, refusals, Retry-After,
backoff, a slow receiver (resharding), capacity overflow; connection reuse
and recycling, a dead endpoint beside a good one and SIGTERM with a backlog
are in test_queue_endpoints.py, which shares the helpers here.

Data is driven through the textfile collector (host collectors are off), so
every series and sample is known; the FaultProxy decodes every request, and
where "arrives" must be proven the proxy forwards to a real VictoriaMetrics
and the samples are read back from it. Accounting is checked exactly against
the agent's own final log lines ("remote_write stopped", "bpfpush stopped")
and the self-metric samples that reached the receiver."""
import math
import os
import random
import re
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import BIN, now_ms
from receivers import FaultProxy, free_port

OK = (200, {}, b"")  # answered here, no body (a 204 must not carry one)
REFUSED = "remote_write batch refused by the receiver, dropped"


# ---- helpers --------------------------------------------------------------

_OTHER_COLLECTORS = {}
# What a round holds besides the textfile's own series: self-metrics and
# the textfile collector's bookkeeping.
EXPECTED_FAMILIES = re.compile(
    r"(bpfpush_(remote_storage_|samples_in|build_info|collection_|config_)\w*"
    r"|node_scrape_collector_\w+(?=\{collector=\"textfile\")|node_textfile_\w+)[{ ]")


def other_collectors():
    """Turns off every collector but textfile, so that each round is
    exactly known. The binary itself says (--dry-run --once) which
    collectors ran: node_scrape_collector_success{collector} and
    bpfpush_bpf_collector_up{collector}; each is turned off under
    `collectors:` or `bpf:`, wherever the config takes it.
    Returns {"collectors": [...], "bpf": [...]}."""
    if BIN in _OTHER_COLLECTORS:
        return _OTHER_COLLECTORS[BIN]
    off = {"collectors": [], "bpf": []}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bpfpush.yml")

        def valid():
            text = "collectors:\n" + "".join(f"  {n}: false\n" for n in off["collectors"])
            text += f"  textfile: {{directory: {d}}}\n"
            if off["bpf"]:
                text += "bpf:\n" + "".join(f"  {n}: false\n" for n in off["bpf"])
            with open(path, "w") as f:
                f.write(text)
            return subprocess.run([BIN, "--check-config", path], capture_output=True,
                                  timeout=60).returncode == 0

        for _ in range(5):
            assert valid()
            r = subprocess.run([BIN, "--config", path, "--dry-run", "--once"],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            host = set(re.findall(r'^node_scrape_collector_success\{collector="([^"]+)"',
                                  r.stdout, re.M)) - {"textfile"}
            bpf = set(re.findall(r'^bpfpush_bpf_collector_up\{collector="([^"]+)"',
                                 r.stdout, re.M))
            if not host and not bpf:
                break
            for name, order in [(n, ("collectors", "bpf")) for n in sorted(host)] + \
                               [(n, ("bpf", "collectors")) for n in sorted(bpf)]:
                for section in order:
                    off[section].append(name)
                    if valid():
                        break
                    off[section].pop()
        else:
            raise AssertionError(f"cannot turn off every collector but textfile: {off}")
        unexpected = [line for line in r.stdout.splitlines()
                      if line and not line.startswith("#") and not EXPECTED_FAMILIES.match(line)]
        assert not unexpected, \
            f"with only textfile on, a round still holds other series: {unexpected[:5]}"
    _OTHER_COLLECTORS[BIN] = off
    return off


def config(endpoints, textfile_dir, interval="1s"):
    """Only the textfile collector; endpoints: dicts with url, name, and
    optional queue / connection dicts of YAML scalars."""
    off = other_collectors()
    text = (f"global:\n  interval: {interval}\n  data_dir: \"\"\nhttp: {{listen_address: \"\"}}\ncollectors:\n"
            + "".join(f"  {n}: false\n" for n in off["collectors"])
            + f"  textfile: {{directory: {textfile_dir}}}\n"
            + ("bpf:\n" + "".join(f"  {n}: false\n" for n in off["bpf"]) if off["bpf"] else "")
            + "remote_write:\n")
    for e in endpoints:
        text += f"  - url: {e['url']}\n    name: {e['name']}\n    remote_timeout: 10s\n"
        for key in ("queue", "connection"):
            if e.get(key):
                body = ", ".join(f"{k}: {v}" for k, v in e[key].items())
                text += f"    {'queue_config' if key == 'queue' else key}: {{{body}}}\n"
    return text


class Textfile:
    """The textfile collector's directory; files are replaced atomically."""

    def __init__(self, tmp_path):
        self.dir = tmp_path / "textfile"
        self.dir.mkdir()

    def write(self, text):
        tmp = self.dir / "qf.prom.tmp"
        tmp.write_text(text)
        os.replace(tmp, self.dir / "qf.prom")


def gauge_lines(name, n, value, ts=None):
    stamp = f" {ts}" if ts is not None else ""
    return f"# TYPE {name} gauge\n" + "".join(
        f'{name}{{i="{i}"}} {value}{stamp}\n' for i in range(n))


class Rounds:
    """Client-timestamped rounds written in step with the agent: round k
    holds qf_round_total = k and n series qf_data{i} = k, all stamped ts_k.
    After each write we wait for two "round collected" lines, so that at
    least one whole round read the file: every written round is collected
    exactly once (an unchanged file is not sent again)."""

    def __init__(self, tf, n):
        self.tf, self.n = tf, n
        self.written = []  # (k, ts_ms, time.monotonic() of the write)
        self.agent = None

    def write(self):
        k = len(self.written)
        ts = now_ms()
        if self.written and ts <= self.written[-1][1]:
            ts = self.written[-1][1] + 1
        self.tf.write("# TYPE qf_round_total counter\n"
                      f"qf_round_total {k} {ts}\n" + gauge_lines("qf_data", self.n, k, ts))
        self.written.append((k, ts, time.monotonic()))

    def wait(self):
        seen = self.agent.count(msg="round collected")
        assert self.agent.wait_for(seen + 2, 20, msg="round collected"), \
            "the agent stopped collecting rounds"

    def step(self):
        self.write()
        self.wait()

    def run_for(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.step()

    def stamps(self):
        return [ts for _, ts, _ in self.written]


def skey(labels):
    return tuple(sorted(labels.items()))


def snapshot(proxy):
    with proxy.lock:
        return [list(r) for r in proxy.requests]


def ok(reqs):
    return [r for r in reqs if r[3] is not None and 200 <= r[3] < 300]


def samples(reqs):
    """[(series key, ts, value)] of the requests, in order."""
    return [(skey(labels), ts, v) for r in reqs for labels, ss in r[1] for ts, v in ss]


def n_samples(reqs):
    return sum(len(ss) for r in reqs for _, ss in r[1])


def assert_series_in_order(reqs):
    """Per series, timestamps strictly increase across the requests (in
    the order the receiver got them) and within each request."""
    last = {}
    for i, r in enumerate(reqs):
        for labels, ss in r[1]:
            k = skey(labels)
            for ts, _ in ss:
                assert ts > last.get(k, -math.inf), \
                    f"request {i}: {dict(k)} at {ts} after {last[k]}"
                last[k] = ts


def metric(reqs, name, **labels):
    """[(ts, value)] of one self-metric in the requests, by timestamp."""
    out = []
    for r in reqs:
        for l, ss in r[1]:
            if l["__name__"] == name and all(l.get(k) == v for k, v in labels.items()):
                out += ss
    return sorted(out)


def fields(line):
    """logfmt -> dict; a quoted value loses its quotes, keeps its escapes."""
    return {m.group(1): m.group(2)[1:-1] if m.group(2).startswith('"') else m.group(2)
            for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line)}


def with_msg(err, msg):
    """The log lines whose msg is exactly msg, as dicts."""
    return [f for f in map(fields, err.splitlines()) if f.get("msg") == msg]


def final(err, msg, **match):
    """The one log line with msg (and the key=values), as a dict of ints
    where the value is one."""
    lines = [f for f in with_msg(err, msg) if all(f.get(k) == str(v) for k, v in match.items())]
    assert len(lines) == 1, f"want one {msg!r} line {match}, got {lines}\n{err}"
    return {k: int(v) if re.fullmatch(r"-?\d+", v) else v for k, v in lines[0].items()}


def rs(name):
    return "bpfpush_remote_storage_" + name


def stop_timed(a):
    t = time.monotonic()
    rc, _, err = a.stop()
    return rc, err, time.monotonic() - t


def wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out ({timeout}s) waiting for {what}")


def assert_vm_has_every_round(vm, rounds):
    """Every written round of every series is in VictoriaMetrics, once."""
    stamps, n = rounds.stamps(), len(rounds.written)
    counter = vm.export("qf_round_total", min_samples=n)
    assert len(counter) == 1, counter
    assert counter[0]["timestamps"] == stamps, "qf_round_total: rounds missing or doubled"
    assert counter[0]["values"] == list(range(n))
    data = vm.export("qf_data", min_samples=n * rounds.n)
    assert sorted(int(s["metric"]["i"]) for s in data) == list(range(rounds.n))
    for s in data:
        assert s["timestamps"] == stamps, f"qf_data{s['metric']}: rounds missing or doubled"
        assert s["values"] == list(range(n))


# ---- 1. an outage, then recovery --------------------------------------------

def test_503_outage_then_recovery_delivers_every_round_in_order(vm, agent, tmp_path):
    tf = Textfile(tmp_path)
    rounds = Rounds(tf, 20)
    outage = {"on": False}
    with FaultProxy(vm.write_url, lambda n: 503 if outage["on"] else None) as proxy:
        cfg = config([{"url": proxy.url, "name": "vm", "queue": {
            "max_shards": 1, "batch_send_deadline": "100ms",
            "min_backoff": "100ms", "max_backoff": "1s"}}], tf.dir, interval="500ms")
        rounds.write()
        a = rounds.agent = agent(cfg).start("--flush-deadline", "30s", "--log-level", "debug",
                                            follow=True)
        rounds.wait()
        rounds.run_for(3)
        outage["on"], began = True, time.monotonic()
        rounds.run_for(20)
        outage["on"], ended = False, time.monotonic()
        rounds.run_for(3)
        rc, err, _ = stop_timed(a)
    reqs = snapshot(proxy)
    assert rc == 0, err
    assert proxy.errors == []

    during = [k for k, _, at in rounds.written if began <= at < ended]
    assert len(during) >= 10, f"only {len(during)} rounds collected during the outage"
    failed = [r for r in reqs if r[3] == 503]
    assert failed[-1][0] - failed[0][0] >= 17, "the agent stopped retrying during the outage"
    # One shard: the batch that met the outage is retried, byte for byte,
    # until it is accepted; everything else waits behind it.
    assert len({r[2] for r in failed}) == 1, "a retry must resend the same batch"
    first_ok_after = next(r for r in reqs if r[0] > failed[-1][0])
    assert first_ok_after[3] == 204 and first_ok_after[2] == failed[0][2]
    assert len(with_msg(err, "remote_write send failed, retrying")) == 1, err
    assert len(with_msg(err, "remote_write endpoint recovered")) == 1, err

    accepted = ok(reqs)
    assert_series_in_order(accepted)
    assert_vm_has_every_round(vm, rounds)
    stopped = final(err, "remote_write stopped")
    total = final(err, "bpfpush stopped")
    assert (stopped["sent"], stopped["failed"], stopped["shutdown_dropped"]) == \
        (n_samples(accepted), 0, 0)
    assert total["not_delivered"] == 0 and total["samples_collected"] == stopped["sent"]
    retried = metric(accepted, rs("samples_retried_total"))
    assert retried[-1][1] == len(failed) * n_samples(failed[:1]), \
        "samples_retried_total counts the batch once per retry"


# ---- 2. one 5xx; one 4xx ----------------------------------------------------------

def test_one_500_then_the_same_batch_arrives(vm, agent, tmp_path):
    tf = Textfile(tmp_path)
    ts = now_ms()
    tf.write(gauge_lines("qf_data", 10, 7, ts))
    with FaultProxy(vm.write_url, lambda n: 500 if n == 0 else None) as proxy:
        r = agent(config([{"url": proxy.url, "name": "vm", "queue": {
            "batch_send_deadline": "100ms", "min_backoff": "50ms"}}], tf.dir)).run("--once")
    assert r.returncode == 0, r.stderr
    assert proxy.errors == []
    assert [q[3] for q in proxy.requests] == [500, 204]
    assert proxy.requests[0][2] == proxy.requests[1][2], "the retry resends the same bytes"
    assert proxy.connections == 1
    data = vm.export("qf_data", min_samples=10)
    assert sorted((s["metric"]["i"], s["timestamps"], s["values"]) for s in data) == \
        sorted((str(i), [ts], [7]) for i in range(10))
    stopped = final(r.stderr, "remote_write stopped")
    assert stopped["sent"] == n_samples(proxy.requests[1:]) and stopped["failed"] == 0


@pytest.mark.parametrize("status", [400, 401, 404, 413])
def test_a_4xx_batch_is_dropped_counted_and_never_resent(vm, agent, tmp_path, status):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 5, 1))
    body = f'refused "{status}" \\ for a test'.encode()
    with FaultProxy(vm.write_url,
                    lambda n: (status, {}, body) if n == 2 else None) as proxy:
        a = agent(config([{"url": proxy.url, "name": "vm", "queue": {
            "max_shards": 1, "batch_send_deadline": "100ms"}}], tf.dir,
            interval="500ms")).start()
        wait(lambda: len(ok(snapshot(proxy)[3:])) >= 4, 30, "4 batches after the refusal")
        rc, err, _ = stop_timed(a)
    reqs = snapshot(proxy)
    assert rc == 0, err
    assert proxy.errors == []
    assert [q[3] for q in reqs] == [204, 204, status] + [204] * (len(reqs) - 3)
    refused = samples(reqs[2:3])
    assert any(k[0] == ("__name__", "qf_data") for k, _, _ in refused), refused
    later = {(k, ts) for k, ts, _ in samples(reqs[3:])}
    assert not later & {(k, ts) for k, ts, _ in refused}, "a refused batch is re-sent"
    assert_series_in_order(ok(reqs))

    line = final(err, REFUSED)
    assert (line["status"], line["samples"]) == (status, len(refused))
    assert line["body"] == f'refused \\"{status}\\" \\\\ for a test', "the body, verbatim"
    assert not with_msg(err, "remote_write send failed, retrying"), \
        f"a {status} must not be retried"
    stopped = final(err, "remote_write stopped")
    assert (stopped["sent"], stopped["failed"], stopped["shutdown_dropped"]) == \
        (n_samples(ok(reqs)), len(refused), 0)
    assert final(err, "bpfpush stopped")["not_delivered"] == len(refused)
    assert metric(ok(reqs), rs("samples_failed_total"))[-1][1] == len(refused)

    # At the receiver: every accepted qf_data sample, none of the refused.
    want = sorted((dict(k)["i"], ts) for k, ts, _ in samples(ok(reqs))
                  if k[0] == ("__name__", "qf_data"))
    got = sorted((s["metric"]["i"], ts) for s in vm.export("qf_data", min_samples=len(want))
                 for ts in s["timestamps"])
    assert got == want


# ---- 3. 429 and Retry-After ---------------------------------------------------

def test_429_retry_after_is_honoured(agent, tmp_path):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 5, 1))
    slow_down = (429, {"Retry-After": "2"}, b"slow down")
    with FaultProxy(None, lambda n: slow_down if n == 0 else OK) as proxy:
        r = agent(config([{"url": proxy.url, "name": "rx", "queue": {
            "batch_send_deadline": "100ms", "min_backoff": "30ms"}}], tf.dir)
        ).run("--once", "--log-level", "debug")
    assert r.returncode == 0, r.stderr
    assert proxy.errors == []
    first, retry = proxy.requests
    assert (first[3], retry[3]) == (429, 200)
    waited = retry[0] - first[5]
    assert 2.0 <= waited <= 3.5, f"retried {waited:.3f}s after the 429 with Retry-After: 2"
    assert first[2] == retry[2]
    attempt = with_msg(r.stderr, "remote_write attempt failed")
    assert [(f["status"], f["retry_after_ms"], f["backoff_ms"]) for f in attempt] == \
        [("429", "2000", "2000")], r.stderr
    assert final(r.stderr, "remote_write stopped")["sent"] == n_samples([retry])


def test_429_without_retry_on_http_429_is_dropped_and_counted(agent, tmp_path):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 5, 1))
    with FaultProxy(None, lambda n: (429, {"Retry-After": "1"}, b"slow down")) as proxy:
        r = agent(config([{"url": proxy.url, "name": "rx", "queue": {
            "batch_send_deadline": "100ms", "retry_on_http_429": "false"}}], tf.dir)
        ).run("--once")
    assert r.returncode == 1, r.stderr
    assert [q[3] for q in proxy.requests] == [429], "no retry when retry_on_http_429 is false"
    n = n_samples(proxy.requests)
    line = final(r.stderr, REFUSED)
    assert (line["status"], line["samples"], line["body"]) == (429, n, "slow down")
    stopped = final(r.stderr, "remote_write stopped")
    assert (stopped["sent"], stopped["failed"], stopped["shutdown_dropped"]) == (0, n, 0)
    assert final(r.stderr, "bpfpush stopped")["not_delivered"] == n


# ---- 4. exponential backoff -------------------------------------------------------

def test_backoff_doubles_to_max_backoff_and_sigterm_drops_what_is_left(agent, tmp_path):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 5, 1))
    min_b, max_b, slack = 0.1, 1.6, 0.5
    with FaultProxy(None, lambda n: 503) as proxy:
        a = agent(config([{"url": proxy.url, "name": "down", "queue": {
            "max_shards": 1, "batch_send_deadline": "100ms",
            "min_backoff": "100ms", "max_backoff": "1600ms"}}], tf.dir)
        ).start("--flush-deadline", "1s", "--log-level", "debug", follow=True)
        time.sleep(10)
        sigterm = time.time()
        rc, err, took = stop_timed(a)
    reqs = snapshot(proxy)
    assert rc == 0, err
    assert took <= 1 + 3, f"stopping took {took:.1f}s with --flush-deadline 1s"
    assert len({r[2] for r in reqs}) == 1, "every attempt resends the first batch"
    assert len(with_msg(err, "remote_write send failed, retrying")) == 1, err

    logged = with_msg(err, "remote_write attempt failed")
    assert [int(f["attempt"]) for f in logged] == list(range(1, len(logged) + 1))
    assert len(logged) in (len(reqs), len(reqs) - 1), "one log line per failed attempt"
    before = [r for r in reqs if r[0] < sigterm]
    assert 7 <= len(before) <= 20, f"{len(before)} attempts in 10 s"
    for i in range(len(before) - 1):
        nominal = min(min_b * 2 ** i, max_b)
        backoff = int(logged[i]["backoff_ms"]) / 1000
        gap = before[i + 1][0] - before[i][5]
        assert nominal / 2 <= backoff <= nominal, \
            f"attempt {i + 1}: backoff {backoff}s, nominal {nominal}s (equal jitter)"
        assert backoff - 0.002 <= gap <= backoff + slack, \
            f"attempt {i + 1}: retried {gap:.3f}s later, backoff {backoff}s"
        assert gap <= max_b + slack

    stopped = final(err, "remote_write stopped")
    total = final(err, "bpfpush stopped")
    assert (stopped["sent"], stopped["failed"]) == (0, 0)
    assert stopped["shutdown_dropped"] == total["samples_collected"] == total["not_delivered"]
    assert total["samples_collected"] > 0


# ---- 5. a slow receiver: order kept, shards grow ----------------------------------

def test_slow_receiver_keeps_series_order_and_shards_grow(agent, tmp_path):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("load_test", 1000, 1))
    rng, rng_lock = random.Random(20240501), threading.Lock()

    def slow(n):
        with rng_lock:
            delay = rng.uniform(0, 2)
        time.sleep(delay)
        return OK

    with FaultProxy(None, slow) as proxy:
        a = agent(config([{"url": proxy.url, "name": "slow", "queue": {
            "capacity": 1000, "max_samples_per_send": 100, "max_shards": 20, "min_shards": 1,
            "batch_send_deadline": "1s"}}], tf.dir)
        ).start("--flush-deadline", "5s", "--log-level", "debug", follow=True)
        time.sleep(35)
        rc, err, took = stop_timed(a)
        reqs = snapshot(proxy)
    assert rc == 0, err
    assert took <= 5 + 5, f"stopping took {took:.1f}s with --flush-deadline 5s"
    assert proxy.errors == []
    accepted = ok(reqs)
    assert len(accepted) >= 20
    assert_series_in_order(accepted)
    loads = [1 for k, _, _ in samples(accepted) if k[0] == ("__name__", "load_test")]
    assert len(loads) >= 1000

    # Shards must really grow, not just be asked to: the agent's own gauge
    # as received, or, seen from the receiver, more than one keep-alive
    # connection (one per shard; nothing here makes a shard reconnect). A
    # reshard takes effect once the current shards have drained, about
    # capacity / 100 samples/s = 10 s here, so 35 s leaves room for it.
    # The "remote_write resharding" log line (the decision) is not enough.
    shards = [v for _, v in metric(accepted, rs("shards"))]
    resharding = [int(f["to"]) for f in with_msg(err, "remote_write resharding")]
    assert all(1 <= s <= 20 for s in shards + resharding), (shards, resharding)
    assert max(shards, default=0) > 1 or proxy.connections > 1, \
        f"shards never grew above 1 in 35 s against a slow receiver: shards gauge {shards}, " \
        f"resharding decided to {resharding}, {proxy.connections} connections"
    if max(shards, default=0) > 1:
        assert proxy.connections >= max(shards), "each shard has its own connection"


# ---- 6. capacity overflow: offered = received + counted drops -----------------------

def test_overflow_with_a_dead_receiver_counts_every_sample(agent, tmp_path):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 300, 1))
    dead = f"http://127.0.0.1:{free_port()}/api/v1/write"
    a = agent(config([{"url": dead, "name": "dead", "queue": {
        "capacity": 100, "max_samples_per_send": 40, "max_shards": 1,
        "batch_send_deadline": "100ms", "min_backoff": "50ms", "max_backoff": "200ms"}}],
        tf.dir)).start("--flush-deadline", "1s", "--log-level", "debug", follow=True)
    assert a.wait_for(4, 30, msg="round collected")
    rc, err, _ = stop_timed(a)
    assert rc == 0, err
    stopped = final(err, "remote_write stopped")
    total = final(err, "bpfpush stopped")
    assert (stopped["sent"], stopped["failed"]) == (0, 0)
    # At the end: the batch in flight (40) and a full ring (100).
    assert stopped["shutdown_dropped"] == 40 + 100
    assert total["not_delivered"] == total["samples_collected"] > 300 * 3


def test_overflow_then_recovery_offered_equals_received_plus_drops(agent, tmp_path):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 300, 1))
    outage = {"on": True}
    with FaultProxy(None, lambda n: 503 if outage["on"] else OK) as proxy:
        a = agent(config([{"url": proxy.url, "name": "lts", "queue": {
            "capacity": 100, "max_samples_per_send": 100, "max_shards": 1,
            "batch_send_deadline": "100ms", "min_backoff": "50ms", "max_backoff": "200ms"}}],
            tf.dir)).start("--flush-deadline", "10s", "--log-level", "debug",
                           follow=True)
        assert a.wait_for(4, 30, msg="round collected")
        # Shrink while still down: the stale markers of the 295 series that
        # go also overflow the ring now, not after recovery.
        tf.write(gauge_lines("qf_data", 5, 1))
        seen = a.count(msg="round collected")
        assert a.wait_for(seen + 2, 30, msg="round collected")
        outage["on"], recovered = False, time.time()
        assert a.wait_for(seen + 5, 30, msg="round collected")
        rc, err, _ = stop_timed(a)
    reqs = snapshot(proxy)
    assert rc == 0, err
    assert proxy.errors == []
    accepted = ok(reqs)
    received = n_samples(accepted)
    assert len([r for r in reqs if r[3] == 503]) >= 3
    assert any(ts / 1000 < recovered - 1 for _, ts, _ in samples(accepted)), \
        "samples collected during the outage arrive after it"
    assert_series_in_order(accepted)

    stopped = final(err, "remote_write stopped")
    total = final(err, "bpfpush stopped")
    assert (stopped["sent"], stopped["failed"], stopped["shutdown_dropped"]) == (received, 0, 0)
    offered = total["samples_collected"]
    assert offered == received + total["not_delivered"]
    # The only losses are ring overflows during the outage, and the last
    # round's self-metrics (delivered) saw them all.
    queue_full = metric(accepted, rs("samples_dropped_total"), reason="queue_full")
    assert [v for _, v in queue_full] == sorted(v for _, v in queue_full)
    assert queue_full[-1][1] == total["not_delivered"] > 0
    assert metric(accepted, rs("samples_dropped_total"), reason="shutdown")[-1][1] == 0
    # Offered, from the agent's own counter: samples_in_total is read before
    # a round is added, so the last round's value plus that round's samples.
    last_ts, samples_in = metric(accepted, "bpfpush_samples_in_total")[-1]
    last_round = [1 for _, ts, _ in samples(accepted) if ts == last_ts]
    assert len(last_round) < 100, "a round after the outage must fit in the ring"
    assert samples_in + len(last_round) == offered
