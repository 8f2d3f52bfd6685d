# SPDX-License-Identifier: MIT
"""syscalls: a process making known syscalls, counted and timed."""
import ctypes
import os
import time

import pytest

from bpfharness import assert_missing_hook_disables_only_it, delta, start_agent
from conftest import BIN

NAME = "kernel_syscall_latency_seconds"
GETPIDS, SLEEPS = 20000, 20
SYS_nanosleep = {"x86_64": 35, "aarch64": 101}[os.uname().machine]


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def workload():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    for _ in range(GETPIDS):
        os.getpid()  # glibc does not cache it: one syscall each
    ts = Timespec(0, 10_000_000)
    for _ in range(SLEEPS):
        # The nanosleep syscall itself (glibc's nanosleep() is clock_nanosleep).
        assert libc.syscall(SYS_nanosleep, ctypes.byref(ts), None) == 0


# Entry times in task local storage (this kernel's choice) or in the hash
# keyed by thread id (older kernels'): the same counts either way.
@pytest.mark.parametrize("storage,suffix", [("task", ""), ("hash", "_hash")])
def test_syscalls_counts_and_times(tmp_path, storage, suffix):
    agent = start_agent(
        BIN, tmp_path, {"syscalls": '{syscalls: "getpid,nanosleep,read", storage: %s}' % storage})
    try:
        before = agent.next_round()
        start = time.monotonic()
        workload()
        took = time.monotonic() - start
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert after.one("bpfpush_bpf_collector_up", collector="syscalls") == 1

    assert delta(before, after, NAME + "_count", syscall="getpid") >= GETPIDS
    # nanosleep(10 ms) takes 10 ms and a little: in (8.192, 16.384] ms.
    sleeps = delta(before, after, NAME + "_count", syscall="nanosleep")
    assert sleeps >= SLEEPS
    in_bucket = (delta(before, after, NAME + "_bucket", syscall="nanosleep", le="0.016384")
                 - delta(before, after, NAME + "_bucket", syscall="nanosleep", le="0.008192"))
    assert in_bucket >= SLEEPS - 2, (in_bucket, sleeps)
    # Other processes on the host may sleep too: the sum has a floor only.
    slept = delta(before, after, NAME + "_sum", syscall="nanosleep")
    assert slept >= SLEEPS * 0.010, (slept, took)
    # Everything else is "other"; names are names.
    assert delta(before, after, NAME + "_count", syscall="other") > 0
    names = {l["syscall"] for n, l, _ in after.samples if n == NAME + "_count"}
    assert names <= {"getpid", "nanosleep", "read", "other"}, names
    assert after.one("kernel_syscall_untimed_total") == 0
    runs = delta(before, after, "bpfpush_bpf_program_runs_total", collector="syscalls",
                 program="syscall_exit" + suffix)
    assert runs >= GETPIDS + SLEEPS
    assert after.one("bpfpush_bpf_program_run_seconds_total", collector="syscalls",
                     program="syscall_enter" + suffix) > 0
    # Only the chosen storage's programs are loaded.
    programs = {l["program"] for n, l, _ in after.samples
                if n == "bpfpush_bpf_program_runs_total"}
    assert programs == {"syscall_enter" + suffix, "syscall_exit" + suffix}, programs


def test_syscalls_only_listed(tmp_path):
    """other: false times only the listed syscalls; unknown names are
    skipped with one warning."""
    agent = start_agent(BIN, tmp_path,
                        {"syscalls": '{syscalls: "getpid,no_such_call", other: false}'})
    try:
        agent.next_round()
        for _ in range(1000):
            os.getpid()
        after = agent.next_round()
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert after.one("bpfpush_bpf_collector_up", collector="syscalls") == 1
    names = {l["syscall"] for n, l, _ in after.samples if n == NAME + "_count"}
    assert names == {"getpid"}, names
    warned = [l for l in err.splitlines() if "no_such_call" in l]
    assert len(warned) == 1 and "level=warn" in warned[0], err


def test_syscalls_missing_hook_disables_only_it(tmp_path):
    """A kernel without raw_tp/sys_enter: one warning naming it, the collector
    reports up 0, the agent goes on and exits 0."""
    warned = assert_missing_hook_disables_only_it(BIN, tmp_path, "syscalls", "sys_enter",
                                                  "kernel_syscall_latency_seconds_count")
    assert "raw_tp/sys_enter" in warned, warned
