# SPDX-License-Identifier: MIT
"""runqlat under CPU contention, against the kernel's own schedstat; by
cgroup, in a child group of the cgroup v2 hierarchy made for the test."""
import contextlib
import multiprocessing
import os
import subprocess
import time

import pytest

from bpfharness import bpf_only_config, delta, report_cost, start_agent
from conftest import BIN

NAME = "kernel_runqueue_latency_seconds"
UNTRACKED = "kernel_runqueue_untracked_cgroup_waits_total"


def all_task_waits():
    """Every thread's own run-queue wait so far (ns), from the kernel's
    per-task schedstat, keyed by (pid, tid)."""
    waits = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    waits[(pid, tid)] = int(f.read().split()[1])
        except OSError:
            pass  # it exited meanwhile
    return waits


def schedstat():
    """This thread's (wait ns, timeslices) from the kernel's schedstat."""
    with open("/proc/self/schedstat") as f:
        _, waited_ns, slices = (int(x) for x in f.read().split())
    return waited_ns, slices


def spin(seconds, results, cgroup_procs):
    """Joins the cgroup (when given), burns CPU, then reports the (wait ns,
    timeslices) the kernel's per-task schedstat counted meanwhile: the
    independent count."""
    if cgroup_procs:
        with open(cgroup_procs, "w") as f:
            f.write("0")
    waited0, slices0 = schedstat()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    waited1, slices1 = schedstat()
    results.put((waited1 - waited0, slices1 - slices0))


def contend(seconds, workers, cgroup_procs=None):
    """Returns the spinners' total wait (s) and timeslices."""
    results = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=spin, args=(seconds, results, cgroup_procs))
             for _ in range(workers)]
    for p in procs:
        p.start()
    reports = [results.get(timeout=seconds + 30) for _ in procs]
    for p in procs:
        p.join()
    return sum(r[0] for r in reports) / 1e9, sum(r[1] for r in reports)


def test_runqlat_sees_cpu_contention(tmp_path):
    agent = start_agent(BIN, tmp_path, {"runqlat": "{}"})
    try:
        before = agent.next_round()
        waits_before = all_task_waits()
        # Twice as many spinners as CPUs: every one of them waits in turn.
        spinners_waited, spinner_slices = contend(3, 2 * os.cpu_count())
        waits_after = all_task_waits()
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert after.one("bpfpush_bpf_collector_up", collector="runqlat") == 1
    # cgroups is off by default: no label, no catch-all counter.
    assert not [l for n, l, v in after.samples if n.startswith(NAME) and "cgroup" in l]
    assert not after.get(UNTRACKED)

    count = after.one(NAME + "_count") - before.one(NAME + "_count")
    waited = after.one(NAME + "_sum") - before.one(NAME + "_sum")
    assert spinners_waited > 1.0, "the workload did not contend"
    # runqlat sees every task; the spinners' own waits are a floor, and the
    # rest of the machine adds little next to them. A spinner's every
    # timeslice but its first began with a wait.
    # The rest of the machine's waits bound it from above: every thread
    # alive at the end, plus the spinners (gone by then); threads that came
    # and went in between are not seen, hence the margin.
    others = sum(w - waits_before.get(k, 0) for k, w in waits_after.items()) / 1e9
    assert 0.8 * spinners_waited <= waited <= 1.5 * (spinners_waited + others) + 1.0, (
        waited, spinners_waited, others)
    assert count >= 0.8 * (spinner_slices - 2 * os.cpu_count()), (count, spinner_slices)
    # Spinners preempted by each other wait milliseconds, not microseconds.
    assert after.one(NAME + "_bucket", le="0.001024") < after.one(NAME + "_bucket", le="+Inf")
    # Whichever method loaded, its sched_switch program ran at least once
    # per spinner timeslice.
    switch_runs = [v for n, l, v in after.samples if n == "bpfpush_bpf_program_runs_total"
                   and l["collector"] == "runqlat" and "switch" in l["program"]]
    assert len(switch_runs) == 1 and switch_runs[0] >= spinner_slices, switch_runs


def v2_root():
    """Where the agent finds the cgroup v2 hierarchy (hybrid hosts: unified/)."""
    for d in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if os.path.exists(os.path.join(d, "cgroup.controllers")):
            return d
    pytest.skip("no cgroup v2 hierarchy on this host")


def remove_cgroup(path):
    """rmdir, once its last task has gone (exits are reaped asynchronously)."""
    deadline = time.monotonic() + 10
    while os.path.exists(path):
        try:
            os.rmdir(path)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def cgroup_below_root(name):
    """A fresh empty group below the v2 root: (its label, its directory),
    removed afterwards."""
    path = os.path.join(v2_root(), name)
    os.mkdir(path)
    try:
        yield "/" + name, path
    finally:
        remove_cgroup(path)


@pytest.fixture
def child_cgroup():
    with cgroup_below_root("bpfpush-test-runqlat-%d" % os.getpid()) as group:
        yield group


def latency_series(round_):
    return [(n, l) for n, l, v in round_.samples if n.startswith(NAME)]


def test_runqlat_by_cgroup_against_schedstat(tmp_path, child_cgroup):
    label, path = child_cgroup
    workers = 2 * os.cpu_count()
    agent = start_agent(BIN, tmp_path, {"runqlat": "{cgroups: true}"})
    try:
        before = agent.next_round()
        waited, slices = contend(3, workers, os.path.join(path, "cgroup.procs"))
        after = agent.next_round()
        # Idle but still there: kept, its count unchanged.
        idle = [agent.next_round() for _ in range(2)]
        remove_cgroup(path)
        # Idle and gone from the hierarchy: emitted a last time, then out of
        # the map, and its series stop.
        rounds = [agent.next_round() for _ in range(4)]
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert after.one("bpfpush_bpf_collector_up", collector="runqlat") == 1
    assert waited > 1.0, "the workload did not contend"
    # Every series is labelled; the test's group by its path, not its id.
    assert all("cgroup" in l for n, l in latency_series(after))
    count = delta(before, after, NAME + "_count", cgroup=label)
    total = delta(before, after, NAME + "_sum", cgroup=label)
    # Only the spinners are in the group: each timeslice but a spinner's
    # first began with a wait, and the kernel's run_delay is the same sum.
    # Above: a few switches after their last schedstat read (exit, the
    # queue's feeder thread).
    assert 0.8 * (slices - workers) <= count <= 1.2 * slices + 50 * workers, (count, slices)
    assert 0.8 * waited <= total <= 1.2 * waited + 0.1, (total, waited)
    assert (after.one(NAME + "_bucket", cgroup=label, le="0.001024")
            < after.one(NAME + "_bucket", cgroup=label, le="+Inf"))
    assert after.get(NAME + "_count", cgroup="/"), "the rest of the host, in the root"
    # Far from max_cgroups: nothing overflowed.
    assert delta(before, after, NAME + "_count", cgroup="other") == 0
    assert delta(before, after, UNTRACKED) == 0
    assert idle[-1].one(NAME + "_count", cgroup=label) == after.one(NAME + "_count", cgroup=label)
    assert not rounds[-1].get(NAME + "_count", cgroup=label), [
        r.get(NAME + "_count", cgroup=label) for r in rounds]
    assert rounds[-1].get(NAME + "_count", cgroup="/")
    switch = [l["program"] for n, l, v in after.samples
              if n == "bpfpush_bpf_program_runs_total" and "switch" in l["program"]]
    report_cost(after, "runqlat", switch[0])


def test_runqlat_max_cgroups_sends_the_rest_to_other(tmp_path, child_cgroup):
    label, path = child_cgroup
    workers = 2 * os.cpu_count()
    agent = start_agent(BIN, tmp_path, {"runqlat": "{cgroups: true, max_cgroups: 1}"})
    try:
        # The one group with its own histogram is taken before the test's
        # group has a task (the first round may come before any wait).
        agent.wait_rounds(1)
        before = agent.next_round()
        waited, slices = contend(3, workers, os.path.join(path, "cgroup.procs"))
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert waited > 1.0, "the workload did not contend"
    for r in (before, after):
        own = {l["cgroup"] for n, l in latency_series(r)} - {"other"}
        assert len(own) == 1 and label not in own, (r.number, own)
    other = delta(before, after, NAME + "_count", cgroup="other")
    untracked = delta(before, after, UNTRACKED)
    assert other >= 0.8 * (slices - workers), (other, slices)
    assert delta(before, after, NAME + "_sum", cgroup="other") >= 0.8 * waited
    # The counter counts exactly the waits "other" holds; the two are read
    # a moment apart.
    assert abs(untracked - other) <= 0.01 * other + 20, (untracked, other)


@pytest.mark.parametrize("opts, error", [
    ("{cgroups: true, max_cgroups: -1}", '"max_cgroups": must be >= 0, got -1'),
    ("{max_cgroups: many}", '"max_cgroups": expected an integer, got "many"'),
    ("{cgroups: yes}", '"cgroups": expected true or false, got "yes"'),
    ("{cgroup: true}", 'unknown option "cgroup" for BPF collector "runqlat"'),
    ("{cgroups: true, max_cgroups: 0}", None),
])
def test_runqlat_cgroup_options_are_checked(tmp_path, opts, error):
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text(bpf_only_config({"runqlat": opts}))
    r = subprocess.run([BIN, "--check-config", str(cfg)], capture_output=True, text=True,
                       timeout=30)
    if error is None:
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode == 2 and error in r.stderr, (r.returncode, r.stderr)
