# SPDX-License-Identifier: MIT
"""Native histograms end to end: runqlat under CPU contention with
`histograms: both`, pushed to a real Prometheus 2.42 started with
--enable-feature=native-histograms. The native series must agree with the
classic one Prometheus computes from the _bucket/_sum/_count series."""
import os
import shutil
import signal
import time

import pytest
import snappy

from bpfharness import bpf_only_config
from conftest import BIN, SAN_BIN
from receivers import FaultProxy, Prometheus, _fields
from test_bpf_runqlat import contend

NAME = "kernel_runqueue_latency_seconds"


class NativePrometheus(Prometheus):
    """Prometheus with the native histogram feature on."""

    def start(self):
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global: {scrape_interval: 15s}\n")
        return super(Prometheus, self).start([
            shutil.which("prometheus") or "/usr/bin/prometheus",
            f"--config.file={cfg}",
            f"--storage.tsdb.path={self.dir}/data",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-remote-write-receiver",
            "--enable-feature=native-histograms",
            "--log.level=warn",
        ], "/-/ready")


@pytest.fixture
def native_prom(tmp_path):
    server = NativePrometheus(str(tmp_path)).start()
    yield server
    server.stop()


def push_config(url, forms):
    text = bpf_only_config({"runqlat": "{histograms: %s}" % forms})
    return text + (f"remote_write:\n  - url: {url}\n    queue_config: "
                   "{batch_send_deadline: 100ms}\nhttp:\n  listen_address: \"\"\n")


def one_value(prom, expr, at):
    result = prom.query(expr, at)
    assert len(result) == 1, f"{expr}: {result}"
    return float(result[0]["value"][1])


def run_contended(agent, text):
    a = agent(text).start()
    try:
        time.sleep(1.5)
        contend(2, 2 * os.cpu_count())
        time.sleep(2.5)  # a round after the contention, and its push
    finally:
        rc, _, err = a.stop()
    assert rc == 0, err
    return time.time()


@pytest.mark.parametrize("binary", [BIN, SAN_BIN], ids=["plain", "asan"])
def test_native_histogram_matches_classic(native_prom, agent, binary):
    if not os.path.exists(binary):
        pytest.skip(f"{binary} not built")
    at = run_contended(lambda t: agent(t, binary), push_config(native_prom.write_url, "both"))
    count = one_value(native_prom, f"{NAME}_count", at)
    assert count > 100  # the spinners waited, in turn, many times
    assert one_value(native_prom, f"histogram_count({NAME})", at) == count
    classic_sum = one_value(native_prom, f"{NAME}_sum", at)
    assert one_value(native_prom, f"histogram_sum({NAME})", at) == pytest.approx(classic_sum,
                                                                                 rel=1e-12)
    for q in (0.5, 0.9, 0.99):
        native = one_value(native_prom, f"histogram_quantile({q}, {NAME})", at)
        classic = one_value(native_prom, f"histogram_quantile({q}, {NAME}_bucket)", at)
        # Within one bucket of each other (a factor 2)...
        assert classic / 2 <= native <= classic * 2, (q, native, classic)
        # ... and closer: slot i of microseconds is the native bucket
        # (2^(i-20), 2^(i-19)] s, the classic one ends at 2^(i+1) us, so
        # every bound, and so the interpolated estimate, is 2^-0.07 (0.953)
        # of the classic one. A bucket index off by one would be 0.48 or 1.9.
        assert 0.9 * classic <= native <= classic, (q, native, classic)


def test_native_only_sends_no_buckets(native_prom, agent):
    at = run_contended(agent, push_config(native_prom.write_url, "native"))
    assert native_prom.query(f"{NAME}_bucket", at) == []
    assert native_prom.query(f"{NAME}_count", at) == []
    assert one_value(native_prom, f"histogram_count({NAME})", at) > 100


def pushed_histograms(proxy, name):
    """(timestamp, count, reset hint) of every native histogram of series
    name the proxy received, oldest first: prompb TimeSeries.histograms
    (field 4), Histogram count_int = 1, reset_hint = 14, timestamp = 15."""
    found = []
    for request in list(proxy.requests):
        for field, _, ts in _fields(snappy.uncompress(request[2])):
            if field != 1:
                continue
            names = [v for f, _, v in _fields(ts) if f == 1]
            if b"\x0a\x08__name__\x12" + bytes([len(name)]) + name.encode() not in names:
                continue
            for f, _, h in _fields(ts):
                if f == 4:
                    got = {hf: hv for hf, _, hv in _fields(h)}
                    found.append((got.get(15, 0), got.get(1, 0), got.get(14, 0)))
    return sorted(found)


def wake_many(n):
    """n round trips of a byte between two processes over pipes: about 2n
    timed wakeups, more than a loaded host makes in a round."""
    parent_r, child_w = os.pipe()
    child_r, parent_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        for _ in range(n):
            os.read(child_r, 1)
            os.write(child_w, b"x")
        os._exit(0)
    for _ in range(n):
        os.write(parent_w, b"x")
        os.read(parent_r, 1)
    os.waitpid(pid, 0)
    for fd in (parent_r, child_w, child_r, parent_w):
        os.close(fd)


def test_reset_hint_when_the_collector_starts_again(agent, tmp_path):
    """A reset hint on the first histogram, and again on the first after a
    reload started runqlat over (new maps: its count went back to zero);
    none between."""
    base = push_config("URL", "native")
    with FaultProxy(None, lambda n: 200) as proxy:
        a = agent(base.replace("URL", proxy.url)).start("--capabilities-keep", "bpf,perfmon",
                                                         follow=True)
        try:
            deadline = time.monotonic() + 20
            while len(pushed_histograms(proxy, NAME)) < 3 and time.monotonic() < deadline:
                time.sleep(0.2)
            # The count before the reload must stand above what the first
            # round after it counts, however busy the host.
            wake_many(30000)
            pushed = len(pushed_histograms(proxy, NAME))
            while len(pushed_histograms(proxy, NAME)) < pushed + 2 and time.monotonic() < deadline + 10:
                time.sleep(0.2)
            with open(a.path, "w") as f:
                f.write(push_config(proxy.url, "native").replace(
                    "{histograms: native}", "{histograms: native, max_series: 100000}"))
            reloaded_at = time.time() * 1000
            a.proc.send_signal(signal.SIGHUP)
            assert a.wait_for(1, 20, msg="reload: collector re-initialised with its new options")
            deadline = time.monotonic() + 20
            while (len([h for h in pushed_histograms(proxy, NAME) if h[0] > reloaded_at]) < 3
                   and time.monotonic() < deadline):
                time.sleep(0.2)
        finally:
            rc, _, err = a.stop()
    assert rc == 0, err
    hists = pushed_histograms(proxy, NAME)
    resets = [i for i, h in enumerate(hists) if h[2] == 1]  # ResetHint.YES
    assert len(resets) == 2 and resets[0] == 0, hists
    again = resets[1]
    assert hists[again][0] > reloaded_at, hists
    assert hists[again][1] < hists[again - 1][1], hists  # new maps, counting from zero
    assert again >= 3 and len(hists) - again >= 3, hists
    assert all(h[2] == 0 for i, h in enumerate(hists) if i not in resets), hists
