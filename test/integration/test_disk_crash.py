# SPDX-License-Identifier: MIT
"""The disk tier (global.data_dir) when things go wrong: kill -9 at random
moments (during an outage, during a segment write, during replay), damaged
segment files, and per-series order across an outage, a restart and a
reshard. A FaultProxy in front of VictoriaMetrics plays the outages and
records what arrived, in arrival order (VictoriaMetrics itself stores
samples sorted); the agent's own log says which rounds it completed."""
import calendar
import os
import random
import signal
import threading
import time

import pytest

from disk_helpers import (disk_config, endpoint_dir, export_stamps, log_fields, record_samples,
                          records, segments, wait_histogram, wait_total, write_series)
from receivers import FaultProxy
from test_queue_faults import (OK, Textfile, assert_series_in_order, final, fields, ok,
                               samples, snapshot, stop_timed, with_msg)

DRAINED = "remote_write caught up, disk drained"
REPLAYING = "remote_write: replaying what the last run left on disk"
BEHIND = "remote_write behind, buffering on disk"


def log_ms(line):
    """The wall-clock ms of a log line's ts= (UTC, ms precision)."""
    ts = fields(line)["ts"]
    secs = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
    return secs * 1000 + int(ts[20:23])


def collected(agent):
    """The wall-clock ms of each "round collected" line so far."""
    with agent._lines_lock:
        lines = [line for _, line in agent.lines]
    return [log_ms(line) for line in lines if 'msg="round collected"' in line]


class Receiver:
    """What the proxy does: forward, 503, or forward slowly."""

    def __init__(self):
        self.mode, self.delay = "up", 0.0
        self.lock = threading.Lock()

    def __call__(self, n):
        if self.mode == "down":
            return 503
        if self.mode == "drop":  # the connection closes, no answer
            raise ConnectionAbortedError("injected: connection dropped")
        if self.delay:
            time.sleep(self.delay)
        return None


# ---- 2. kill -9 at ten random moments ----------------------------------------------

KILL_SERIES = 5000


def wait_on_disk(a):
    """Waits until the endpoint buffers on disk: gone behind, or started
    with a backlog."""
    deadline = time.monotonic() + 30
    while a.count(msg=BEHIND) + a.count(msg=REPLAYING) == 0:
        assert time.monotonic() < deadline and a.proc.poll() is None, \
            "the endpoint never went behind"
        time.sleep(0.02)


def kill_iteration(rng, a, recv, kind):
    """Runs one started agent to its kill -9. Returns what it saw."""
    if kind == "replay":
        assert a.wait_for(1, 30, msg=REPLAYING), "no backlog to replay"
        # catchup_jitter 200ms, then a slow drain: well inside it.
        time.sleep(rng.uniform(0.3, 2.5))
    elif kind == "write":
        # The next append ends about one interval after the last one:
        # the kill lands in the last few ms before it, while its records
        # are being written.
        wait_on_disk(a)
        assert a.wait_for(a.count(msg="round collected") + 1, 30, msg="round collected")
        last = [t for t, line in a.lines if 'msg="round collected"' in line][-1]
        time.sleep(max(0.0, last + 1.0 - rng.uniform(0.0, 0.04) - time.monotonic()))
    else:
        # Once behind, every round is on disk before the next starts.
        wait_on_disk(a)
        time.sleep(rng.uniform(0.0, 3.0))
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(10)
    a._reader.join(10)
    drained = a.count(msg=DRAINED)
    return collected(a), drained


def test_kill_9_at_random_moments_loses_no_completed_round(vm, agent, tmp_path):
    seed = int(os.environ.get("BPFPUSH_TEST_SEED", time.time_ns() % 1_000_000))
    print(f"\nkill -9 test: seed {seed} (BPFPUSH_TEST_SEED={seed} repeats it)")
    rng = random.Random(seed)
    tf = Textfile(tmp_path)
    write_series(tf, "ld_kill", KILL_SERIES)
    recv = Receiver()
    # Outage / write / replay, each several times, in a seeded order; a
    # replay follows an outage so that there is a backlog to drain.
    kinds = ["down", "replay", "write", "replay", "down", "replay", "write", "replay"]
    kinds += rng.sample(["down", "write"], 2)
    rounds_ms, kills, torn, report, rounds_of = [], 0, 0, [], []
    with FaultProxy(vm.write_url, recv) as proxy:
        cfg = disk_config([{"url": proxy.url, "name": "vm", "queue": {
            "max_shards": 1, "catchup_jitter": "200ms", "min_backoff": "100ms",
            "max_backoff": "500ms"}}], tf.dir, tmp_path / "data")
        for kind in kinds:
            recv.mode, recv.delay = ("up", 0.25) if kind == "replay" else ("down", 0.0)
            a = agent(cfg).start("--log-level", "debug", follow=True)
            done, drained = kill_iteration(rng, a, recv, kind)
            assert drained == 0, f"{kind}: the backlog drained before the kill: not a " \
                                 "test of replay (lengthen the outage or slow the drain)"
            err = "\n".join(line for _, line in a.lines)
            (tmp_path / f"agent-{kills}.log").write_text(err + "\n")
            torn += len(with_msg(err, "remote_write disk: torn record at the tail cut off"))
            rounds_ms += done
            rounds_of.append(done)
            kills += 1
            report.append(f"{kind}:{len(done)}")
        recv.mode, recv.delay = "up", 0.0
        last = agent(cfg).start("--log-level", "debug", follow=True)
        assert last.wait_for(1, 60, msg=DRAINED), "the backlog never drained"
        assert last.wait_for(last.count(msg="round collected") + 2, 30, msg="round collected")
        final_rounds = collected(last)
        rc, err, _ = stop_timed(last)
    assert rc == 0, err
    assert proxy.errors == []
    torn += len(with_msg(err, "remote_write disk: torn record at the tail cut off"))
    rounds_ms += final_rounds
    rounds_of.append(final_rounds)
    report.append("final")
    assert final(err, "bpfpush stopped")["rounds"] == len(final_rounds)

    completed = len(rounds_ms)
    stamps = wait_every_round(vm, rounds_ms)
    assert len(stamps) == KILL_SERIES
    lost = {}
    for i, got in stamps.items():
        for r in lost_rounds(got, rounds_ms):
            lost.setdefault(r, []).append(i)
    assert not lost, "completed rounds lost: " + "; ".join(
        f"round logged at {r} (run {k}: {report[k]}), {len(lost[r])} series"
        for k, done in enumerate(rounds_of) for r in done if r in lost)
    partial, dups = 0, 0
    for i, got in stamps.items():
        assert completed <= len(got) <= completed + kills, \
            f"ld_kill{{i={i}}}: {len(got)} samples for {completed} completed rounds, {kills} kills"
        partial = max(partial, len(set(got)) - completed)
        dups = max(dups, len(got) - len(set(got)))
    print(f"kill -9 test: {report}; {completed} rounds completed, at most {partial} "
          f"uncounted round(s) and {dups} duplicate(s) a series; "
          f"{torn} torn tail(s) cut off at a restart")


def lost_rounds(got, rounds_ms):
    """The completed rounds a series has no sample of: a round's samples
    are stamped at its start, in the half second before its "round
    collected" line."""
    have = sorted(set(got))
    return [r for r in rounds_ms if not any(r - 500 < t <= r for t in have)]


def wait_every_round(vm, rounds_ms, timeout=30):
    """{series: timestamps} once VictoriaMetrics shows every round of every
    series (fresh rows take a moment), or after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        stamps = export_stamps(vm, "ld_kill", want_samples=len(rounds_ms) * KILL_SERIES)
        if len(stamps) == KILL_SERIES and \
                not any(lost_rounds(got, rounds_ms) for got in stamps.values()) or \
                time.monotonic() > deadline:
            return stamps
        time.sleep(1)


# ---- 5. damaged segments -------------------------------------------------------------

DAMAGE_SERIES = 5000


def flip_middle(path, rec):
    """Flips bytes in the middle of a record's payload: its header holds."""
    off, length = rec[0], rec[1]
    with open(path, "r+b") as f:
        f.seek(off + 40 + length // 2)
        chunk = f.read(8)
        f.seek(off + 40 + length // 2)
        f.write(bytes(b ^ 0xFF for b in chunk))


def cut_mid_record(path, rec):
    os.truncate(path, rec[0] + 40 + rec[1] // 2)


def test_damaged_segments_skip_one_record_each_and_deliver_the_rest(vm, agent, tmp_path):
    tf = Textfile(tmp_path)
    # Distinct values: about a round per 60 KB, a few rounds a segment.
    tf.write("# TYPE ld_dmg gauge\n" + "".join(f'ld_dmg{{i="{i}"}} {i * 7919}\n'
                                                for i in range(DAMAGE_SERIES)))
    recv = Receiver()
    data_dir = tmp_path / "data"
    with FaultProxy(vm.write_url, recv) as proxy, FaultProxy(None, lambda n: OK) as witness:
        cfg = disk_config([{"url": proxy.url, "name": "vm", "queue": {
            "max_disk_bytes": "1MiB", "catchup_jitter": "100ms"}},
            {"url": witness.url, "name": "witness"}], tf.dir, data_dir)
        recv.mode = "down"
        a = agent(cfg).start("--log-level", "debug", follow=True)
        wait_on_disk(a)
        ep = endpoint_dir(data_dir, "vm")
        deadline = time.monotonic() + 60
        while len(segments(ep)) < 3:
            assert time.monotonic() < deadline, "the backlog never reached 3 segments"
            time.sleep(0.2)
        rc, err1, _ = stop_timed(a)
        assert rc == 0, err1

        # Three kinds of damage: bytes flipped in a record in the middle
        # of the first segment; the first segment cut in its last record
        # (its tail torn, more segments after it); the last segment cut
        # in its last record (a write the run did not finish).
        segs = segments(ep)
        first, last = records(segs[0]), records(segs[-1])
        assert len(first) >= 3 and last, (len(first), len(last))
        damaged = [(segs[0], first[len(first) // 2], flip_middle,
                    "remote_write disk: record failed its checksum, skipped"),
                   (segs[0], first[-1], cut_mid_record,
                    "remote_write disk: corrupt record skipped"),
                   (segs[-1], last[-1], cut_mid_record,
                    "remote_write disk: torn record at the tail cut off")]
        lost = set()
        for path, rec, harm, _ in damaged:
            lost |= {(labels["i"], ts) for labels, ss in record_samples(rec[4])
                     if labels["__name__"] == "ld_dmg" for ts, _ in ss}
            harm(path, rec)

        recv.mode = "up"
        b = agent(cfg).start("--log-level", "debug", follow=True)
        assert b.wait_for(1, 60, msg=DRAINED), "the backlog never drained"
        assert b.wait_for(b.count(msg="round collected") + 2, 30, msg="round collected")
        rc, err2, _ = stop_timed(b)
        every = ok(snapshot(witness))
    assert rc == 0, err2
    assert proxy.errors == witness.errors == []

    logged = [f for f in map(fields, err2.splitlines())
              if f.get("msg", "").startswith("remote_write disk:")]
    assert sorted((f["msg"], f["file"], int(f["offset"])) for f in logged) == \
        sorted((msg, path, rec[0]) for path, rec, _, msg in damaged), \
        "one line per damage, naming its file and offset"

    rounds = sorted({ts for key, ts, _ in samples(every) if key[0] == ("__name__", "ld_dmg")})
    total1, total2 = final(err1, "bpfpush stopped"), final(err2, "bpfpush stopped")
    assert len(rounds) == total1["rounds"] + total2["rounds"]
    assert lost, "the damaged records held no ld_dmg sample"
    want = {str(i): [ts for ts in rounds if (str(i), ts) not in lost]
            for i in range(DAMAGE_SERIES)}
    stamps = export_stamps(vm, "ld_dmg", want_samples=sum(map(len, want.values())))
    bad = {i: (len(got), len(want[i])) for i, got in stamps.items() if got != want[i]}
    assert len(stamps) == DAMAGE_SERIES and not bad, \
        f"{len(bad)} series differ from every round but the damaged records': " \
        f"{list(bad.items())[:5]}"
    print(f"\ndamaged segments: {len(lost)} ld_dmg samples in the three damaged records lost, "
          f"{sum(map(len, want.values()))} delivered")


# ---- 8. order across an outage, a restart and a reshard -----------------------------------

ORDER_SERIES = 10000


def test_series_stay_in_order_across_outage_restart_and_reshard(vm, agent, tmp_path):
    tf = Textfile(tmp_path)
    write_series(tf, "ld_order", ORDER_SERIES)
    began = time.time()
    recv = Receiver()
    with FaultProxy(vm.write_url, recv) as proxy:
        cfg = disk_config([{"url": proxy.url, "name": "vm", "queue": {
            "max_samples_per_send": 1000, "catchup_jitter": "100ms",
            "min_backoff": "100ms", "max_backoff": "1s"}}], tf.dir, tmp_path / "data")
        a = agent(cfg).start("--log-level", "debug", follow=True)
        assert a.wait_for(3, 30, msg="round collected")
        recv.mode = "down"
        time.sleep(6)
        recv.mode = "drop"
        time.sleep(4)
        rc, err1, took = stop_timed(a)
        assert rc == 0, err1
        b = agent(cfg).start("--log-level", "debug", follow=True)
        assert b.wait_for(2, 30, msg="round collected")
        # Back, but slow: the backlog drains for a while, long enough for
        # the shards to grow.
        recv.mode, recv.delay = "up", 0.1
        assert b.wait_for(1, 120, msg=DRAINED), "the backlog never drained"
        recv.delay = 0.0
        assert b.wait_for(b.count(msg="round collected") + 2, 30, msg="round collected")
        rc, err2, _ = stop_timed(b)
        reqs = snapshot(proxy)
    assert rc == 0, err2
    assert proxy.errors == []
    accepted = ok(reqs)
    assert_series_in_order(accepted)
    resharding = [(int(f["from"]), int(f["to"]))
                  for f in log_fields(err1 + err2, "remote_write resharding")]
    connections = len({r[4] for r in accepted})
    print(f"\norder: {len(accepted)} requests accepted in order, SIGTERM took {took:.2f}s, "
          f"resharding {resharding or 'never'}, {connections} connections")
    total1, total2 = final(err1, "bpfpush stopped"), final(err2, "bpfpush stopped")
    for t in (total1, total2):
        assert t["not_delivered"] == 0, t
    rounds = total1["rounds"] + total2["rounds"]
    got = wait_histogram(vm, "ld_order", int(time.time() - began) + 60, {rounds: ORDER_SERIES})
    assert got == {rounds: ORDER_SERIES}, got
    assert resharding, "the drain never resharded: the order was not tested across a reshard"


def test_kill_9_after_the_first_failed_send_loses_nothing(vm, agent, tmp_path):
    tf = Textfile(tmp_path)
    write_series(tf, "ld_first", 100)
    recv = Receiver()
    recv.mode = "down"
    began = time.time()
    with FaultProxy(vm.write_url, recv) as proxy:
        # The first round's batch goes out (and fails) at once, 5 s before
        # the next round: only the sender can move it to disk in time.
        cfg = disk_config([{"url": proxy.url, "name": "vm", "queue": {
            "catchup_jitter": "100ms", "batch_send_deadline": "200ms"}}],
            tf.dir, tmp_path / "data", interval="5s")
        a = agent(cfg).start("--log-level", "debug", follow=True)
        assert a.wait_for(1, 30, msg="remote_write send failed, retrying")
        time.sleep(1)  # the endpoint is behind; the next round is 4 s away
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(10)
        a._reader.join(10)
        done = collected(a)
        assert len(done) == 1
        recv.mode = "up"
        b = agent(cfg).start("--log-level", "debug", follow=True)
        assert b.wait_for(2, 30, msg="round collected")
        rc, err, _ = stop_timed(b)
        assert rc == 0, err
    want = (len(done) + final(err, "bpfpush stopped")["rounds"]) * 100
    got = wait_total(vm, "ld_first", int(time.time() - began) + 60, want, timeout=10)
    assert got == want, f"{want - got} samples of the round completed before the kill lost"
