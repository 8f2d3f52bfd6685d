"""runqlat under CPU contention, against the kernel's own schedstat."""
import multiprocessing
import os
import time

from bpfharness import start_agent
from conftest import BIN


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


def spin(seconds, results):
    """Burns CPU, then reports its own (wait ns, timeslices) from the
    kernel's per-task schedstat: the independent count."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    with open("/proc/self/schedstat") as f:
        _, waited_ns, slices = (int(x) for x in f.read().split())
    results.put((waited_ns, slices))


def contend(seconds, workers):
    """Returns the spinners' total wait (s) and timeslices."""
    results = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=spin, args=(seconds, results))
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

    name = "kernel_runqueue_latency_seconds"
    count = after.one(name + "_count") - before.one(name + "_count")
    waited = after.one(name + "_sum") - before.one(name + "_sum")
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
    assert after.one(name + "_bucket", le="0.001024") < after.one(name + "_bucket", le="+Inf")
    # Whichever method loaded, its sched_switch program ran at least once
    # per spinner timeslice.
    switch_runs = [v for n, l, v in after.samples if n == "bpfpush_bpf_program_runs_total"
                   and l["collector"] == "runqlat" and "switch" in l["program"]]
    assert len(switch_runs) == 1 and switch_runs[0] >= spinner_slices, switch_runs
