# SPDX-License-Identifier: MIT
"""The disk tier (global.data_dir) against a real VictoriaMetrics that is
stopped and started again: a long outage loses nothing and writes nothing
to disk while the receiver keeps up; SIGTERM during an outage is quick and
the next start delivers; max_disk_bytes drops the oldest, counted; a full
filesystem (ENOSPC) and a read-only one fall back to memory.

Crashes (kill -9), damaged segments and per-series order are in
test_disk_crash.py. Only the textfile collector runs (test_queue_faults'
config), so every round is exactly known: per series, VictoriaMetrics must
hold one sample per round the agent collected ("bpfpush stopped rounds=")."""
import contextlib
import os
import subprocess
import time

import pytest

from disk_helpers import (agent_metric, disk_config, endpoint_dir, listen_address,
                          log_fields, tree, vm_down, vm_up, wait_histogram, wait_total,
                          write_series)
from receivers import FaultProxy
from test_queue_faults import (OK, Textfile, assert_series_in_order, final, n_samples, ok, rs,
                               samples, snapshot, stop_timed, wait, with_msg)

DRAINED = "remote_write caught up, disk drained"
BEHIND = "remote_write behind, buffering on disk"


def start(agent, cfg, *args):
    return agent(cfg).start("--log-level", "debug", *args, follow=True)


def finals(err):
    total = final(err, "bpfpush stopped")
    stopped = final(err, "remote_write stopped")
    return total, stopped


def files_state(ep):
    """{file: (size, mtime_ns)} of an endpoint's directory."""
    return {f: (os.stat(os.path.join(ep, f)).st_size, os.stat(os.path.join(ep, f)).st_mtime_ns)
            for f in sorted(os.listdir(ep))}


def assert_nothing_lost(total, stopped):
    assert (stopped["failed"], stopped["shutdown_dropped"], total["not_delivered"]) == \
        (0, 0, 0), (total, stopped)


# ---- 1. a long outage ------------------------------------------------------------

LONG_SERIES = 10_000
OUTAGE_S = 180


def test_long_outage_loses_nothing_and_a_healthy_receiver_costs_no_disk(vm, agent, tmp_path):
    tf = Textfile(tmp_path)
    write_series(tf, "ld_long", LONG_SERIES)
    data_dir, listen = tmp_path / "data", listen_address()
    began = time.time()
    # The default queue_config (catchup_jitter 5s included).
    a = start(agent, disk_config([{"url": vm.write_url, "name": "vm"}], tf.dir, data_dir,
                                 listen=listen))
    assert a.wait_for(1, 30, msg="round collected")
    ep = endpoint_dir(data_dir, "vm")
    opened = files_state(ep)
    assert a.wait_for(11, 30, msg="round collected")
    written = agent_metric(listen, rs("disk_samples_written_total"))
    assert written == 0, f"{written} samples written to disk with a healthy receiver"
    assert a.count(msg=BEHIND) == 0, "the endpoint went behind with a healthy receiver"
    # What disk_open leaves: the cursor (opening it for writing probes a
    # read-only directory) and an empty segment; ten rounds touch neither.
    rel = os.path.relpath(ep, data_dir)
    assert tree(data_dir) == ["lock", "queue/", rel + "/", rel + "/0000000000000001.seg",
                              rel + "/cursor"], tree(data_dir)
    assert files_state(ep) == opened, "files of the disk tier changed with a healthy receiver"
    assert os.path.getsize(os.path.join(ep, "0000000000000001.seg")) == 0

    vm_down(vm)
    down = time.monotonic()
    time.sleep(OUTAGE_S)
    vm_up(vm)
    up = time.monotonic()
    assert a.wait_for(1, 300, msg=DRAINED), "the backlog never drained"
    drained = time.monotonic()
    replayed = agent_metric(listen, rs("disk_samples_replayed_total"))
    rc, err, _ = stop_timed(a)
    assert rc == 0, err
    total, stopped = finals(err)
    print(f"\nlong outage: {total['rounds']} rounds, outage {up - down:.0f}s, "
          f"drained {drained - up:.1f}s after the receiver came back, "
          f"{replayed:.0f} samples replayed from disk")
    assert_nothing_lost(total, stopped)
    assert replayed >= LONG_SERIES * (OUTAGE_S - 10)
    window = int(time.time() - began) + 60
    got = wait_histogram(vm, "ld_long", window, {total["rounds"]: LONG_SERIES})
    assert got == {total["rounds"]: LONG_SERIES}, \
        f"{{samples a series holds: series}} = {got}, want {total['rounds']} each"
    assert stopped["sent"] == total["samples_collected"]


# ---- 3. SIGTERM during an outage ---------------------------------------------------

TERM_SERIES = 2000


def test_sigterm_during_an_outage_is_quick_and_the_next_start_delivers(vm, agent, tmp_path):
    tf = Textfile(tmp_path)
    write_series(tf, "ld_term", TERM_SERIES)
    began = time.time()
    # The default queue_config and flush deadline (60 s): only the disk
    # tier makes this stop quick.
    cfg = disk_config([{"url": vm.write_url, "name": "vm"}], tf.dir, tmp_path / "data")
    a = start(agent, cfg)
    assert a.wait_for(3, 30, msg="round collected")
    vm_down(vm)
    assert a.wait_for(1, 30, msg=BEHIND), "the endpoint never went behind"
    assert a.wait_for(a.count(msg="round collected") + 5, 30, msg="round collected")
    rc, err1, took = stop_timed(a)
    assert rc == 0, err1
    total1, stopped1 = finals(err1)
    print(f"\nSIGTERM during an outage: stopped in {took:.2f}s, "
          f"{stopped1['on_disk']} samples on disk at the stop")
    assert took < 5, f"stopping took {took:.1f}s"
    assert_nothing_lost(total1, stopped1)

    vm_up(vm)
    b = start(agent, cfg)
    assert b.wait_for(1, 30, msg="remote_write: replaying what the last run left on disk")
    assert b.wait_for(1, 60, msg=DRAINED), "the backlog never drained"
    assert b.wait_for(b.count(msg="round collected") + 2, 30, msg="round collected")
    rc, err2, _ = stop_timed(b)
    assert rc == 0, err2
    total2, stopped2 = finals(err2)
    assert_nothing_lost(total2, stopped2)
    rounds = total1["rounds"] + total2["rounds"]
    got = wait_histogram(vm, "ld_term", int(time.time() - began) + 60, {rounds: TERM_SERIES})
    assert got == {rounds: TERM_SERIES}, \
        f"{{samples a series holds: series}} = {got}, want {rounds} each"


# ---- 4. max_disk_bytes: the oldest dropped, counted ------------------------------------

def test_a_full_disk_drops_the_oldest_and_counts_them(vm, agent, tmp_path):
    n = 2000
    began = time.time()
    tf = Textfile(tmp_path)
    # Distinct values: records compress less, the bound is reached sooner
    # (about ten rounds on disk). The sender retries every 200 ms at most:
    # the drain starts as the receiver comes back, not one backoff later
    # (rounds keep dropping the oldest until it does).
    tf.write("# TYPE ld_full gauge\n" + "".join(f'ld_full{{i="{i}"}} {i * 7919}\n'
                                                 for i in range(n)))
    listen = listen_address()
    outage = {"on": False}
    # A second endpoint that always accepts: the list of every round.
    with FaultProxy(vm.write_url, lambda k: 503 if outage["on"] else None) as proxy, \
            FaultProxy(None, lambda k: OK) as witness:
        cfg = disk_config([{"url": proxy.url, "name": "vm", "queue": {
            "max_disk_bytes": "256KiB", "catchup_jitter": "100ms",
            "min_backoff": "50ms", "max_backoff": "200ms"}},
            {"url": witness.url, "name": "witness"}], tf.dir, tmp_path / "data", listen=listen)
        a = start(agent, cfg)
        assert a.wait_for(2, 30, msg="round collected")
        outage["on"], outage_began = True, time.time()
        wait(lambda: agent_metric(listen, rs("samples_dropped_total"), reason="disk_full") > 0,
             90, "a disk_full drop")
        assert a.wait_for(a.count(msg="round collected") + 3, 30, msg="round collected")
        outage["on"], recovered = False, time.time()
        assert a.wait_for(1, 60, msg=DRAINED), "the backlog never drained"
        assert a.wait_for(a.count(msg="round collected") + 2, 30, msg="round collected")
        drops = {r: agent_metric(listen, rs("samples_dropped_total"), remote_name="vm", reason=r)
                 for r in ("queue_full", "too_old", "shutdown", "disk_full")}
        rc, err, _ = stop_timed(a)
    reqs, every = snapshot(proxy), ok(snapshot(witness))
    assert rc == 0, err
    assert proxy.errors == witness.errors == []
    total = final(err, "bpfpush stopped")
    stopped = final(err, "remote_write stopped", remote_name="vm")
    accepted = ok(reqs)
    received = n_samples(accepted)
    print(f"\nmax_disk_bytes 256KiB: offered {total['samples_collected']}, "
          f"received {received}, dropped {drops}, {total['rounds']} rounds")
    assert (stopped["sent"], stopped["failed"], stopped["shutdown_dropped"]) == (received, 0, 0)
    assert drops["disk_full"] > 0 and drops["queue_full"] == drops["too_old"] == 0, drops
    assert total["samples_collected"] == received + drops["disk_full"]
    assert total["not_delivered"] == drops["disk_full"], "the witness lost samples"
    assert n_samples(every) == total["samples_collected"]
    assert_series_in_order(accepted)

    # What was lost is the oldest of the backlog: per series, one block of
    # rounds, and every round of the last seconds before the recovery came.
    rounds = sorted({ts for key, ts, _ in samples(every) if key[0] == ("__name__", "ld_full")})
    per = {}
    for key, ts, _ in samples(accepted):
        if key[0] == ("__name__", "ld_full"):
            per.setdefault(key, []).append(ts)
    assert len(per) == n and len(rounds) == total["rounds"]
    for key, stamps in per.items():
        have = set(stamps)
        missing = [i for i, ts in enumerate(rounds) if ts not in have]
        assert missing, f"{dict(key)} lost nothing"
        assert missing == list(range(missing[0], missing[-1] + 1)), \
            f"{dict(key)}: lost rounds {missing} are not one block"
        # Rounds of before the outage came; after the block, every round
        # did, and the first of them was buffered during the outage: the
        # newest of the backlog stayed, its oldest went.
        assert rounds[missing[0]] / 1000 > outage_began - 1.5, \
            f"{dict(key)} lost a round collected before the outage"
        assert rounds[missing[-1] + 1] / 1000 < recovered, \
            f"{dict(key)}: nothing buffered during the outage survived"
    want = sum(len(stamps) for stamps in per.values())
    got = wait_total(vm, "ld_full", int(time.time() - began) + 60, want)
    assert got == want, f"VictoriaMetrics holds {got} ld_full samples, the receiver got {want}"


# ---- 6. ENOSPC, 7. a read-only directory ----------------------------------------------

class Tmpfs:
    """A small tmpfs mounted for one test (root only), unmounted after it."""

    def __init__(self, path, size):
        self.path = path
        path.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755",
                            "bpfpush-test", str(path)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs: {r.stderr.strip()}")

    def remount_ro(self):
        subprocess.run(["mount", "-o", "remount,ro", str(self.path)], check=True)

    def free(self):
        st = os.statvfs(str(self.path))
        return st.f_bavail * st.f_frsize

    def close(self):
        subprocess.run(["umount", "-l", str(self.path)], check=False)


def fill(path, leave):
    """A filler file that leaves about `leave` bytes free on path's file system."""
    filler = path / "filler"
    with open(filler, "wb") as f:
        chunk = b"\0" * 4096
        try:
            while os.statvfs(str(path)).f_bavail * os.statvfs(str(path)).f_frsize > leave:
                f.write(chunk)
                f.flush()
        except OSError:
            pass
    return filler


def test_enospc_falls_back_to_memory_and_the_tier_resumes(vm, agent, tmp_path):
    n = 500
    began = time.time()
    fs = Tmpfs(tmp_path / "small", "1m")
    stack = contextlib.ExitStack()
    try:
        tf = Textfile(tmp_path)
        write_series(tf, "ld_nospc", n)
        listen = listen_address()
        outage = {"on": False}
        proxy = FaultProxy(vm.write_url, lambda k: 503 if outage["on"] else None)
        stack.enter_context(proxy)
        cfg = disk_config([{"url": proxy.url, "name": "vm", "queue": {
            "capacity": 50000, "catchup_jitter": "100ms"}}], tf.dir, fs.path / "data",
            listen=listen)
        a = start(agent, cfg)
        assert a.wait_for(2, 30, msg="round collected")
        filler = fill(fs.path, 24 << 10)
        outage["on"] = True
        assert a.wait_for(1, 60, msg="remote_write: disk write failed, buffering in memory"), \
            "the disk never filled"
        degraded = time.monotonic()
        assert a.wait_for(a.count(msg="round collected") + 2, 30, msg="round collected")
        errors = agent_metric(listen, rs("disk_write_errors_total"))
        assert errors > 0
        assert a.proc.poll() is None
        filler.unlink()
        freed = time.monotonic()
        assert a.wait_for(1, 20, msg="remote_write: disk writable again"), \
            "the tier did not resume once space was freed:\n" + "\n".join(
                line for _, line in a.lines if "round collected" not in line)
        resumed = time.monotonic()
        assert a.wait_for(a.count(msg="round collected") + 2, 30, msg="round collected")
        outage["on"] = False
        assert a.wait_for(1, 60, msg=DRAINED), "the backlog never drained"
        assert a.wait_for(a.count(msg="round collected") + 2, 30, msg="round collected")
        rc, err, _ = stop_timed(a)
    finally:
        stack.close()
        fs.close()
    assert rc == 0, err
    assert proxy.errors == []
    # Rounds that went to memory while the disk was full go out before
    # anything written to disk after it.
    assert_series_in_order(ok(snapshot(proxy)))
    print(f"\nENOSPC: degraded {freed - degraded:.1f}s, resumed {resumed - freed:.1f}s "
          f"after space was freed, {errors:.0f} write errors")
    assert resumed - freed <= 15
    assert len(with_msg(err, "remote_write: disk write failed, buffering in memory")) == 1
    total, stopped = finals(err)
    assert_nothing_lost(total, stopped)
    got = wait_histogram(vm, "ld_nospc", int(time.time() - began) + 60, {total["rounds"]: n})
    assert got == {total["rounds"]: n}, \
        f"{{samples a series holds: series}} = {got}, want {total['rounds']} each"


def test_a_read_only_data_dir_means_memory_only_with_a_warning(vm, agent, tmp_path):
    began = time.time()
    fs = Tmpfs(tmp_path / "ro", "1m")
    try:
        (fs.path / "data").mkdir()
        fs.remount_ro()
        tf = Textfile(tmp_path)
        write_series(tf, "ld_ro", 10)
        a = start(agent, disk_config([{"url": vm.write_url, "name": "vm"}], tf.dir,
                                     fs.path / "data"))
        assert a.wait_for(3, 30, msg="round collected"), a.lines
        rc, err, _ = stop_timed(a)
    finally:
        fs.close()
    assert rc == 0, err
    warned = log_fields(err, "remote_write: no disk tier, memory only: an outage may drop samples")
    assert len(warned) == 1, err
    assert warned[0]["remote_name"] == "vm" and "Read-only" in warned[0]["err"], warned
    total, stopped = finals(err)
    assert_nothing_lost(total, stopped)
    got = wait_histogram(vm, "ld_ro", int(time.time() - began) + 60, {total["rounds"]: 10})
    assert got == {total["rounds"]: 10}, got
