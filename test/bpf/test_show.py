# SPDX-License-Identifier: MIT
"""`bpfpush show` as people use it: under tmux (a real terminal: the
screen redrawn in place, q and Ctrl-C quit, the terminal restored, a
20-column one, NO_COLOR), and into a pipe (one plain frame per interval,
disabled collectors saying why). Each tmux server has its own socket in
the test's tmp_path, so tests may run side by side."""
import multiprocessing
import os
import re
import subprocess
import time

import pytest

from conftest import BIN, SAN_BIN
from test_bpf_runqlat import cgroup_below_root

ROW = re.compile(r"^\s*(\S+) -> (\S+)\s+: (\d+)\s+\|(\**) *\|$")
NARROW_ROW = re.compile(r"^\s*(<=|>)(\S+)\s+(\d+) \*+\s*$")
HEADER = "--- bpfpush show"


class Tmux:
    def __init__(self, tmp_path, width, height, command, env=""):
        self.sock = str(tmp_path / "tmux.sock")
        # The pane's shell reports how show ended and the terminal's modes
        # after it, then stays for the captures.
        script = (f"{env} {BIN} show --interval 1s {command}; echo EXITED=$?; "
                  "stty -a | grep -o -e '-\\?icanon' -e '-\\?echo ' ; sleep 60")
        self.tmux("new-session", "-d", "-s", "show", "-x", str(width), "-y", str(height),
                  script)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.sock, *args], check=True,
                              capture_output=True, text=True).stdout

    def capture(self, escapes=False):
        return self.tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", "show")

    def wait_for(self, predicate, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.capture()
            if predicate(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out; the screen:\n{self.capture()}")

    def close(self):
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], capture_output=True)


def rows(screen, pattern=ROW):
    return [m.groups() for m in map(pattern.match, screen.splitlines()) if m]


def frame_time(screen):
    m = re.search(HEADER + r" (\d\d:\d\d:\d\d)", screen)
    return m and m.group(1)


def view_rows(screen, labels):
    """The rows drawn under the histogram whose title holds labels."""
    found, inside = [], False
    for line in screen.splitlines():
        if line.startswith("kernel_"):
            inside = labels in line
        elif inside and ROW.match(line):
            found.append(ROW.match(line).groups())
    return found


def spin(seconds, cgroup_procs):
    with open(cgroup_procs, "w") as f:
        f.write(str(os.getpid()))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


@pytest.fixture
def child_cgroup():
    """Its name sorts before the other tests' groups, so its histogram is
    drawn near the top: (label, dir)."""
    with cgroup_below_root("bpfpush-a-show-%d-%d" % (os.getpid(), time.monotonic_ns())) as group:
        yield group


def next_frame(t, *seen):
    """The screen once a frame newer than those drawn at seen is up."""
    return t.wait_for(lambda s: frame_time(s) not in (None, *seen))


def test_show_in_a_terminal_redraws_and_quits_on_q(tmp_path, child_cgroup):
    label, path = child_cgroup
    config = tmp_path / "show.yml"
    config.write_text("bpf:\n  defaults: false\n  runqlat: {cgroups: true}\n")
    t = Tmux(tmp_path, 100, 120, f"--config {config}")
    try:
        before = t.wait_for(lambda s: "kernel_runqueue_latency_seconds" in s and rows(s))
        assert "\x1b[" in t.capture(escapes=True), "colour on a terminal without NO_COLOR"
        assert not view_rows(before, label)
        # Three spinners per core in the test's group wait whole timeslices.
        procs = [multiprocessing.Process(target=spin, args=(3, os.path.join(path, "cgroup.procs")))
                 for _ in range(3 * os.cpu_count())]
        for p in procs:
            p.start()
        # The second frame after the start counts an interval wholly inside.
        started = frame_time(t.capture())
        first = frame_time(next_frame(t, started))
        during = next_frame(t, started, first)
        for p in procs:
            p.join()
        loaded = view_rows(during, label)
        assert sum(int(c) for lo, hi, c, bar in loaded if lo.endswith("ms")) > 0, during
        for lo, hi, count, bar in loaded:  # a bar for each count, scaled to fit
            assert (int(count) > 0) == (len(bar) > 0)
        # Each frame counts its own interval, not the totals since start:
        # two frames after the load its group has no rows any more.
        ended = frame_time(t.capture())
        first = frame_time(next_frame(t, ended))
        quiet = next_frame(t, ended, first)
        assert not view_rows(quiet, label), quiet
        t.tmux("send-keys", "-t", "show", "q")
        after = t.wait_for(lambda s: "EXITED=" in s and "icanon" in s, timeout=5)
        assert "EXITED=0" in after
        assert "kernel_runqueue" not in after  # the alternate screen is gone
        assert re.search(r"^icanon$", after, re.M) and re.search(r"^echo\s*$", after, re.M), after
    finally:
        t.close()


def test_show_in_20_columns_without_colour_quits_on_ctrl_c(tmp_path):
    t = Tmux(tmp_path, 20, 30, "runqlat", env="NO_COLOR=1")
    try:
        screen = t.wait_for(lambda s: rows(s, NARROW_ROW))
        assert all(len(line) <= 20 for line in screen.splitlines())
        assert "\x1b[" not in t.capture(escapes=True)
        t.tmux("send-keys", "-t", "show", "C-c")
        after = t.wait_for(lambda s: "EXITED=" in s and "icanon" in s, timeout=5)
        assert "EXITED=0" in after
        assert re.search(r"^icanon$", after, re.M), after
    finally:
        t.close()


def test_show_into_a_pipe_prints_plain_frames(tmp_path):
    config = tmp_path / "show.yml"
    # The collectors on by default load too (one of them starts a thread).
    config.write_text("bpf:\n  tcp_sendmsg: false\n"
                      "  syscalls: {syscalls: nosuchcall, other: false}\n")
    proc = subprocess.Popen([BIN, "show", "--interval", "500ms", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    frames, lines = [], []
    try:
        for line in proc.stdout:
            if line.startswith(HEADER) and lines:
                frames.append(lines)
                lines = []
                if len(frames) == 2:
                    break
            lines.append(line)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert len(frames) == 2
    for frame in frames:
        text = "".join(frame)
        assert "\x1b" not in text
        assert frame[-1] == "\n"  # frames apart by a blank line
        assert "kernel_runqueue_latency_seconds" in text and rows(text), text
        assert "tcp_sendmsg: off: turned off in the config" in text
        assert "syscalls: off: nothing to time" in text
        assert "timers: off: not on by default or in the config" in text
    assert "nothing to time" in err  # the log is still written


def read_frames(proc, n):
    frames, lines = [], []
    for line in proc.stdout:
        if line.startswith(HEADER) and lines:
            frames.append("".join(lines))
            lines = []
            if len(frames) == n:
                break
        lines.append(line)
    return frames


def test_show_of_a_collector_without_counters_under_sanitizers():
    """softirq has a histogram and no counter: the empty tables are fine
    under ASan+UBSan (which end the process at the first finding)."""
    proc = subprocess.Popen([SAN_BIN, "show", "--interval", "300ms", "softirq"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        frames = read_frames(proc, 2)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert len(frames) == 2
    assert "kernel_softirq_duration_seconds" in frames[1]
    assert all("kernel_softirq_duration_seconds" in f or "first events" in f for f in frames)
    assert "runtime error" not in err and "Sanitizer" not in err, err


def test_show_refuses_an_unknown_collector():
    run = subprocess.run([BIN, "show", "nosuch"], capture_output=True, text=True, timeout=10)
    assert run.returncode == 2
    assert 'no BPF collector "nosuch"' in run.stderr and "runqlat" in run.stderr
