# SPDX-License-Identifier: MIT
"""Series churn: label values that come and go (a textfile rewritten with new
ids, pods, ports, devices) must not grow the agent. A vanished series gets a
stale marker, is then forgotten and its memory reused; a series that comes
back works; max_series bounds what one source can hold.

The textfile collector is the only one on; a real VictoriaMetrics receives,
and its export API shows the staleness markers (exported as null)."""
import os
import statistics
import threading
import time

import pytest

from conftest import BIN, SAN_BIN, log_lines

N = 3000          # live series of the churning file at any time
PERIOD = 1.0      # a new generation of ids every PERIOD seconds
INTERVAL = "500ms"


def churn_config(textfile_dir, url, max_series=None):
    opts = f"directory: {textfile_dir}" + (f", max_series: {max_series}" if max_series else "")
    return (f"global:\n  interval: {INTERVAL}\n  data_dir: \"\"\nhttp: {{listen_address: \"\"}}\n"
            f"collectors:\n  defaults: false\n  textfile: {{{opts}}}\n"
            f"bpf:\n  defaults: false\n"
            f"remote_write:\n  - url: {url}\n    remote_timeout: 10s\n"
            f"    queue_config: {{capacity: 20000, min_shards: 2, max_shards: 2, "
            f"batch_send_deadline: 200ms}}\n")


def write_atomically(directory, name, text):
    tmp = os.path.join(directory, "." + name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(directory, name))


def generation_text(gen, value=None):
    """Generation gen: ids gen*N .. gen*N+N-1, all new; value gen unless given."""
    v = gen if value is None else value
    return "".join(f'churn_metric{{gen="{gen}",id="{gen * N + i}"}} {v}\n' for i in range(N))


class Churner(threading.Thread):
    """Replaces the file with a new generation every PERIOD seconds."""

    def __init__(self, directory):
        super().__init__(daemon=True)
        self.directory, self.gen, self.stop_event = directory, 0, threading.Event()

    def run(self):
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            write_atomically(self.directory, "churn.prom", generation_text(self.gen))
            self.gen += 1
            next_at += PERIOD
            self.stop_event.wait(max(0.0, next_at - time.monotonic()))

    def stop(self):
        self.stop_event.set()
        self.join(10)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise KeyError("VmRSS")


def assert_stale_after_last_value(vm, gens):
    """Every series of the given (finished) generations ends in exactly one
    staleness marker. Returns how many generations were checked."""
    checked = 0
    for gen in gens:
        found = vm.export(f'churn_metric{{gen="{gen}"}}', min_samples=N, timeout=10)
        if not found:
            continue  # the agent never saw this generation: a round skipped it
        assert len(found) == N, f"generation {gen}: {len(found)} series, not {N}"
        for s in found:
            vals = s["values"]
            assert vals[-1] is None, f"no stale marker last for {s['metric']}: {vals}"
            assert vals.count(None) == 1, f"{s['metric']}: {vals}"
            assert all(v == gen for v in vals[:-1]), f"{s['metric']}: {vals}"
        checked += 1
    return checked


def run_churn(vm, agent, tmp_path, binary, seconds):
    """Churns for `seconds`, then brings generation 0's ids back. Returns
    (rss samples [(t, kB)], stderr, generations written)."""
    tdir = tmp_path / "textfile"
    tdir.mkdir()
    a = agent(churn_config(tdir, vm.write_url), binary=binary).start(follow=True)
    churner = Churner(str(tdir))
    churner.start()
    t0, rss = time.monotonic(), []
    try:
        while time.monotonic() - t0 < seconds:
            assert a.proc.poll() is None, "the agent exited"
            rss.append((time.monotonic() - t0, rss_kb(a.proc.pid)))
            time.sleep(1)
    finally:
        churner.stop()
    # Generation 0 comes back, long after it was forgotten, with a new value.
    write_atomically(str(tdir), "churn.prom", generation_text(0, value=777))
    time.sleep(3)
    rc, _, err = a.stop()
    assert rc == 0, err[-2000:]
    assert "AddressSanitizer" not in err and "runtime error" not in err, err[-4000:]
    return rss, err, churner.gen


def assert_reappeared(vm):
    found = vm.export('churn_metric{gen="0",id="0"}', min_samples=3)
    assert len(found) == 1, found
    vals = found[0]["values"]
    assert vals[0] == 0 and None in vals, vals
    back = vals[vals.index(None) + 1:]
    assert back and all(v == 777 for v in back), f"generation 0 did not come back: {vals}"


def test_churning_series_keep_rss_flat_and_get_stale_markers(vm, agent, tmp_path):
    """3,000 new series a second (3,000 live) for 75 s: RSS flat after
    warm-up, every vanished series marked stale once, generation 0 back."""
    rss, err, gens = run_churn(vm, agent, tmp_path, BIN, 75)
    print("rss_kb over time:", " ".join(f"{t:.0f}s={kb}" for t, kb in rss[::5]))
    warm = [kb for t, kb in rss if t >= 25]
    third = len(warm) // 3
    growth = statistics.median(warm[-5:]) - statistics.median(warm[-third - 2:-third + 3])
    print(f"generations={gens} rss_first={rss[0][1]} rss_warm={warm[0]} "
          f"rss_last={rss[-1][1]} last_third_growth_kb={growth}")
    # Before forgetting: ~1.2 MB/s, 30 MB over the last third.
    assert growth < 4096, f"RSS grew {growth} kB in the last third: {rss}"
    assert assert_stale_after_last_value(vm, range(5, 15)) >= 8
    assert_reappeared(vm)
    live = vm.export('bpfpush_collection_series{collector="textfile"}', min_samples=10)
    assert live, "no bpfpush_collection_series{collector=\"textfile\"}"
    # Counted mid-round: this generation, the last one (marked stale at the
    # round's end) and the one before (forgotten at the round's end).
    assert max(v for v in live[0]["values"] if v is not None) <= 3 * N + 10, live


def test_churn_under_sanitizers(vm, agent, tmp_path):
    """The same churn under ASan+UBSan: forgotten series are freed while
    samples that point at them may still be queued."""
    if not os.path.exists(SAN_BIN):
        pytest.skip(f"{SAN_BIN} not built (make BUILD=build/san SAN=1 all)")
    _, _, gens = run_churn(vm, agent, tmp_path, SAN_BIN, 20)
    assert assert_stale_after_last_value(vm, range(3, 8)) >= 3
    assert_reappeared(vm)


def test_max_series_drops_and_counts(vm, agent, tmp_path):
    """A source past its max_series keeps its first series, drops the rest,
    counts them and says so in one line."""
    tdir = tmp_path / "textfile"
    tdir.mkdir()
    write_atomically(str(tdir), "big.prom",
                     "".join(f'big_metric{{id="{i}"}} 1\n' for i in range(1500)))
    a = agent(churn_config(tdir, vm.write_url, max_series=1000)).start(follow=True)
    assert a.wait_for(1, 20, msg="collector at max_series: new series dropped")
    time.sleep(3)
    rc, _, err = a.stop()
    assert rc == 0, err[-2000:]
    lines = log_lines(err, msg="collector at max_series")
    assert len(lines) == 1 and "collector=textfile" in lines[0] and "max_series=1000" in lines[0]
    dropped = vm.export('bpfpush_collection_series_dropped_total{collector="textfile"}')
    assert dropped and dropped[0]["values"][-1] > 0, dropped
    live = vm.export('bpfpush_collection_series{collector="textfile"}')
    assert live and live[0]["values"][-1] == 1000, live
    # The ids come first in a round, the textfile's own series after them.
    got = vm.export('big_metric', min_samples=990)
    assert len(got) == 1000, len(got)
