# SPDX-License-Identifier: MIT
"""biolatency under direct IO on a private loop device, against the kernel's
own /proc/diskstats for that device."""
import contextlib
import fcntl
import os
import subprocess

import pytest

from bpfharness import assert_missing_hook_disables_only_it, delta, report_cost, start_agent
from conftest import BIN

WRITES, READS, BS = 2000, 1000, 4096
LAT, SIZE = "kernel_block_io_latency_seconds", "kernel_block_io_size_bytes"


def diskstats(name):
    """{op: (requests completed, ms spent)} of one device: the kernel's own
    accounting, which sums the very interval latency_from: request times."""
    with open("/proc/diskstats") as f:
        for line in f:
            fields = line.split()
            if fields[2] == name:
                return {"read": (int(fields[3]), int(fields[6])),
                        "write": (int(fields[7]), int(fields[10]))}
    raise KeyError(name)


LOOP_CTL_ADD, LOOP_CTL_REMOVE = 0x4C80, 0x4C81


@contextlib.contextmanager
def new_loop_device(tmp_path):
    """A loop device that did not exist before (a number past every one in
    /sys/block, created through /dev/loop-control) over a 16 MiB file: IO
    on it is ours alone, and an agent started earlier has never seen it."""
    backing = tmp_path / "disk.img"
    with open(backing, "wb") as f:
        f.truncate(16 << 20)
    taken = [int(d[4:]) for d in os.listdir("/sys/block") if d[4:].isdigit()
             and d.startswith("loop")]
    with open("/dev/loop-control") as ctl:
        number = fcntl.ioctl(ctl, LOOP_CTL_ADD, max(taken, default=0) + 17)
    name = "loop%d" % number
    try:
        subprocess.run(["losetup", "/dev/" + name, str(backing)], check=True, timeout=10)
        try:
            yield name
        finally:
            subprocess.run(["losetup", "--detach", "/dev/" + name], timeout=10)
    finally:
        with open("/dev/loop-control") as ctl:
            fcntl.ioctl(ctl, LOOP_CTL_REMOVE, number)


@pytest.fixture
def loop_device(tmp_path):
    with new_loop_device(tmp_path) as name:
        yield name


def dd(*args):
    subprocess.run(["dd", "status=none", *args], check=True, timeout=60)


PROGRAMS = {"request": ["biolat_done"], "issue": ["biolat_issue", "biolat_complete"]}


# Each way of timing, on tp_btf (this kernel's choice: direct reads) and on
# raw_tp (the fallback).
@pytest.mark.parametrize("hook,suffix", [("auto", ""), ("raw_tp", "_raw")])
@pytest.mark.parametrize("latency_from", ["request", "issue"])
def test_biolatency_counts_direct_io(tmp_path, latency_from, hook, suffix):
    agent = start_agent(BIN, tmp_path, {"biolatency": "{latency_from: %s, hook: %s}"
                                        % (latency_from, hook)})
    stack = contextlib.ExitStack()
    try:
        agent.wait_rounds(1)
        # Plugged in after the agent started: its first IO makes the kernel
        # side report it, and the next round adds it to the device table.
        loop_device = stack.enter_context(new_loop_device(tmp_path))
        dev = "/dev/" + loop_device
        dd("if=" + dev, "of=/dev/null", "bs=4k", "count=1", "iflag=direct")
        agent.next_round()
        before = agent.next_round()
        disk0 = diskstats(loop_device)
        dd("if=/dev/zero", "of=" + dev, "bs=%d" % BS, "count=%d" % WRITES, "oflag=direct")
        dd("if=" + dev, "of=/dev/null", "bs=%d" % BS, "count=%d" % READS, "iflag=direct")
        disk1 = diskstats(loop_device)
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
        stack.close()
    assert rc == 0, err
    assert after.one("bpfpush_bpf_collector_up", collector="biolatency") == 1

    for op, n in (("write", WRITES), ("read", READS)):
        disk, disk_ms = (b - a for a, b in zip(disk0[op], disk1[op]))
        assert disk >= n, (op, disk)
        labels = {"device": loop_device, "operation": op}
        count = delta(before, after, LAT + "_count", **labels)
        # Nothing else does IO on this device: the same requests, counted
        # by the kernel's accounting and by us (our window is a little
        # wider: room for a stray probe of the new device, say by udev).
        assert disk <= count <= disk + 8, (op, count, disk)
        assert count >= n
        # Each of ours moved 4096 bytes: all in the le="4096" bucket.
        in_4k = (delta(before, after, SIZE + "_bucket", le="4096", **labels)
                 - delta(before, after, SIZE + "_bucket", le="2048", **labels))
        assert n <= in_4k <= count, (op, in_4k, count)
        assert delta(before, after, SIZE + "_sum", **labels) >= n * BS
        # Latency: positive, and a loop device over the page cache is fast.
        seconds = delta(before, after, LAT + "_sum", **labels)
        assert 0 < seconds / count < 0.1, (op, seconds, count)
        assert delta(before, after, LAT + "_bucket", le="+Inf", **labels) == count
        if latency_from == "request":
            # The intervals the kernel adds to its ms counter, but ours end
            # when the driver reports the request done, the kernel's after
            # the bios' completion work (waking dd, here a few us of a 15 us
            # IO); the counter truncates to whole ms.
            print("%s: %.1f ms timed, %d ms in /proc/diskstats" % (op, seconds * 1000, disk_ms))
            assert disk_ms * 0.5 - 2 <= seconds * 1000 <= disk_ms + 2, (op, seconds, disk_ms)

    # Devices are names, never numbers.
    devices = {l["device"] for n, l, _ in after.samples if n == LAT + "_count"}
    assert all(":" not in d for d in devices), devices
    for reason in ("inflight_full", "no_start_time"):
        assert after.one("kernel_block_io_untimed_requests_total", reason=reason) == 0
    programs = {l["program"] for n, l, _ in after.samples
                if n == "bpfpush_bpf_program_runs_total"}
    assert programs == {p + suffix for p in PROGRAMS[latency_from]}, programs
    for program in programs:
        runs = after.one("bpfpush_bpf_program_runs_total", collector="biolatency",
                         program=program)
        assert runs >= WRITES + READS
        assert after.one("bpfpush_bpf_program_run_seconds_total", collector="biolatency",
                         program=program) > 0
        report_cost(after, "biolatency", program)


def test_biolatency_requests_without_start_time(tmp_path, loop_device):
    """iostats off on a queue without an IO scheduler: the kernel stamps no
    request, so latency_from: request counts them as untimed (reason
    no_start_time) and warns once, never times them from 0;
    latency_from: issue still times them."""
    queue = "/sys/block/%s/queue/" % loop_device
    with open(queue + "scheduler") as f:
        assert "[none]" in f.read()
    with open(queue + "iostats", "w") as f:
        f.write("0")
    dev = "/dev/" + loop_device
    counts = {}
    for method in ("request", "issue"):
        (tmp_path / method).mkdir()
        agent = start_agent(BIN, tmp_path / method,
                            {"biolatency": "{latency_from: %s}" % method})
        try:
            before = agent.next_round()
            dd("if=/dev/zero", "of=" + dev, "bs=4k", "count=300", "oflag=direct")
            after = agent.next_round()
        finally:
            rc, err = agent.stop()
        assert rc == 0, err
        writes = [sum(r.get(LAT + "_count", device=loop_device, operation="write"))
                  for r in (before, after)]  # no series at all when nothing was timed
        counts[method] = (writes[1] - writes[0],
                          delta(before, after, "kernel_block_io_untimed_requests_total",
                                reason="no_start_time"),
                          [l for l in err.splitlines() if "without a start time" in l])
    timed, untimed, warned = counts["request"]
    assert timed == 0 and untimed >= 300, counts
    assert len(warned) == 1 and "level=warn" in warned[0], warned
    timed, untimed, warned = counts["issue"]
    assert timed >= 300 and untimed == 0 and not warned, counts


def test_biolatency_other_device_past_max_devices(tmp_path, loop_device):
    """With max_devices: 0 every request counts as device="other"."""
    agent = start_agent(BIN, tmp_path, {"biolatency": "{max_devices: 0}"})
    dev = "/dev/" + loop_device
    try:
        before = agent.next_round()
        dd("if=/dev/zero", "of=" + dev, "bs=4k", "count=200", "oflag=direct")
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert after.one("bpfpush_bpf_collector_up", collector="biolatency") == 1
    devices = {l["device"] for n, l, _ in after.samples if n == LAT + "_count"}
    assert devices == {"other"}, devices
    assert delta(before, after, LAT + "_count", device="other", operation="write") >= 200


def test_biolatency_missing_hook_disables_only_it(tmp_path):
    """A kernel without raw_tp/block_rq_complete: one warning naming it, the collector
    reports up 0, the agent goes on and exits 0."""
    warned = assert_missing_hook_disables_only_it(BIN, tmp_path, "biolatency", "block_rq_complete",
                                                  "kernel_block_io_latency_seconds_count")
    assert "raw_tp/block_rq_complete" in warned, warned


def test_biolatency_without_issue_hook(tmp_path, loop_device):
    """Only latency_from: issue needs block_rq_issue: without it the default
    still times IO, and the issue method is disabled by name."""
    env = dict(os.environ, BPFPUSH_BPF_HIDE_HOOKS="block_rq_issue")
    agent = start_agent(BIN, tmp_path, {"biolatency": "{}"}, env=env)
    try:
        before = agent.next_round()
        dd("if=/dev/zero", "of=/dev/" + loop_device, "bs=4k", "count=100", "oflag=direct")
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert after.one("bpfpush_bpf_collector_up", collector="biolatency") == 1
    assert delta(before, after, LAT + "_count", device=loop_device, operation="write") >= 100

    (tmp_path / "issue").mkdir()
    warned = assert_missing_hook_disables_only_it(
        BIN, tmp_path / "issue", "biolatency", "block_rq_issue", LAT + "_count",
        options="{latency_from: issue}")
    assert "raw_tp/block_rq_issue" in warned, warned


def test_biolatency_latency_from_is_checked_at_load(tmp_path):
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text("bpf:\n  biolatency: {latency_from: device}\n")
    r = subprocess.run([BIN, "--check-config", str(cfg)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2, r
    assert r.stderr.startswith('%s:2:30: "latency_from": expected "request" or "issue", '
                               'got "device"' % cfg), r.stderr
