# SPDX-License-Identifier: MIT
"""writeback: the collector loads and reports, with zero switches here.

writeback:inode_switch_wbs fires only with cgroup writeback, which needs the
memory and io controllers on the cgroup2 hierarchy. The test machines keep
memory (and blkio) on cgroup v1 (a hybrid layout: /sys/fs/cgroup/unified
has no memory controller), so the kernel never switches an inode's
writeback, whatever a workload does; and rebinding controllers would change
the host for everyone on it. The incident's reproduction in docs/design.md (a systemd oneshot
writing many files, its cgroup removed afterwards) needs a cgroup2 host.
So: the program loads and attaches, the collector is up, the counters are
exported and zero, the program statistics are there; on a host that does
have cgroup writeback, switches may appear and must then carry cgroup
labels."""
import os

from bpfharness import start_agent
from conftest import BIN


def cgroup_writeback_possible():
    """memory and io both available on a cgroup2 mount."""
    with open("/proc/self/mountinfo") as f:
        mounts = [l.split(" - ")[0].split()[4] for l in f if " - cgroup2 " in l]
    for mnt in mounts:
        try:
            with open(os.path.join(mnt, "cgroup.controllers")) as f:
                controllers = f.read().split()
        except OSError:
            continue
        if "memory" in controllers and "io" in controllers:
            return True
    return False


def test_writeback_loads_and_reports(tmp_path):
    agent = start_agent(BIN, tmp_path, {"writeback": "{}"})
    try:
        agent.next_round()
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert "level=warn" not in err, err
    assert after.one("bpfpush_bpf_collector_up", collector="writeback") == 1
    assert after.one("kernel_writeback_inode_switches_untracked_total") == 0
    runs = after.one("bpfpush_bpf_program_runs_total", collector="writeback",
                     program="writeback_switch")
    after.one("bpfpush_bpf_program_run_seconds_total", collector="writeback",
              program="writeback_switch")
    switches = [(l, v) for n, l, v in after.samples
                if n == "kernel_writeback_inode_switches_total"]
    if not cgroup_writeback_possible():
        assert runs == 0 and switches == [], switches
    for labels, value in switches:
        assert value > 0 and labels["old_cgroup"] and labels["new_cgroup"], labels
