# SPDX-License-Identifier: MIT
"""What a BPF collector needs and what happens without it: loading as an
unprivileged uid with only CAP_BPF and CAP_PERFMON as ambient capabilities
(what systemd's AmbientCapabilities= gives; Kubernetes has no ambient
capabilities, see test/runtime), dropping them once loaded, BPF run
statistics, and a kernel that lacks a hook (one collector off, the agent
and the others go on)."""
import os
import shutil
import subprocess
import tempfile
import time

from bpfharness import DryRunAgent, bpf_only_config
from conftest import BIN

UNPRIVILEGED = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps=-all,+bpf,+perfmon", "--ambient-caps=+bpf,+perfmon",
                "--bounding-set=-all,+bpf,+perfmon"]


def readable_config(text):
    """A config the unprivileged uid can read (pytest's tmp root is 0700)."""
    d = tempfile.mkdtemp(prefix="bpfpush-unpriv-")
    os.chmod(d, 0o755)
    path = os.path.join(d, "bpfpush.yml")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return d, path


def sysctl_stats(value=None):
    path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(path) as f:
        old = f.read().strip()
    if value is not None:
        with open(path, "w") as f:
            f.write(value)
    return old


def test_unprivileged_with_cap_bpf_and_cap_perfmon_still_collects():
    # Every default BPF collector, no system collector.
    d, cfg = readable_config("global:\n  interval: 1s\n  data_dir: \"\"\ncollectors:\n  defaults: false\n")
    # The privileged init step a DaemonSet or unit would run once: without
    # CAP_SYS_ADMIN the agent cannot switch run statistics on itself.
    old = sysctl_stats("1")
    try:
        proc = subprocess.run(UNPRIVILEGED + [BIN, "--config", str(cfg), "--dry-run", "--once"],
                              capture_output=True, text=True, timeout=60)
    finally:
        sysctl_stats(old)
        shutil.rmtree(d)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    up = [l for l in out.splitlines() if l.startswith("bpfpush_bpf_collector_up")]
    assert 'bpfpush_bpf_collector_up{collector="runqlat"' in out
    assert len(up) >= 7 and all(l.endswith(" 1") for l in up), up
    assert "kernel_runqueue_latency_seconds_count" in out
    assert 'bpfpush_bpf_program_runs_total{collector="runqlat"' in out
    # tcp_states keys its start table by socket address, which a tp_btf
    # program can only have with CAP_PERFMON (a stored pointer read back):
    # the cheapest program still loads, no fallback to raw_tp.
    assert 'program="tcp_states_set_state_btf"' in out, out
    assert "level=error" not in proc.stderr


def test_unprivileged_without_stats_sysctl_warns_once_and_collects():
    d, cfg = readable_config(bpf_only_config({"runqlat": "{}"}))
    old = sysctl_stats("0")
    try:
        proc = subprocess.run(UNPRIVILEGED + [BIN, "--config", str(cfg), "--dry-run", "--once"],
                              capture_output=True, text=True, timeout=60)
    finally:
        sysctl_stats(old)
        shutil.rmtree(d)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("BPF run statistics are off") == 1, proc.stderr
    assert "kernel_runqueue_latency_seconds_count" in proc.stdout
    assert "bpfpush_bpf_program_runs_total" not in proc.stdout


def test_a_missing_hook_disables_only_its_collector(tmp_path):
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text(bpf_only_config({"runqlat": "{}"}).replace(
        "collectors:\n  defaults: false\n", "collectors:\n  defaults: false\n  loadavg: {}\n"))
    env = dict(os.environ, BPFPUSH_BPF_HIDE_HOOKS="sched_switch")
    agent = DryRunAgent(BIN, str(cfg), env=env)
    try:
        first = agent.wait_rounds(1)
        second = agent.wait_rounds(2)
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    for r in (first, second):
        assert r.one("bpfpush_bpf_collector_up", collector="runqlat") == 0
        assert r.one("node_scrape_collector_success", collector="loadavg") == 1
        assert r.get("node_load1")
        assert not r.get("kernel_runqueue_latency_seconds_count")
    warned = [l for l in err.splitlines() if "bpf collector disabled" in l]
    assert len(warned) == 1, err
    assert "collector=runqlat" in warned[0] and "raw_tp/sched_switch" in warned[0]


def caps_status(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            out[tid] = dict(l.strip().split(":\t", 1) for l in f
                            if l.startswith(("Cap", "NoNewPrivs")))
    return out


def wait_started(agent):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "bpfpush started" not in "".join(agent.stderr):
        assert agent.proc.poll() is None, "".join(agent.stderr)
        time.sleep(0.05)


def test_root_drops_every_capability_not_kept_in_every_thread(tmp_path):
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text(bpf_only_config({"runqlat": "{}"}).replace(
        "collectors:\n  defaults: false\n", "collectors:\n  defaults: false\n  filesystem: {}\n"))
    cap_bpf = 1 << 39
    for keep, want in ((None, 0), ("CAP_BPF", cap_bpf)):
        extra = ["--capabilities-keep", keep] if keep else []
        agent = DryRunAgent(BIN, str(cfg), extra=extra)
        try:
            wait_started(agent)
            threads = caps_status(agent.proc.pid)
            second = agent.wait_rounds(2)
        finally:
            rc, err = agent.stop()
        assert rc == 0, err
        assert len(threads) > 1  # the filesystem collector's workers too
        for tid, st in threads.items():
            assert int(st["CapEff"], 16) == want and int(st["CapPrm"], 16) == want, (tid, st)
            assert int(st["CapBnd"], 16) == want, (tid, st)
            assert st["CapInh"] == st["CapAmb"] == "0000000000000000", (tid, st)
            assert st["NoNewPrivs"] == "1", (tid, st)
        assert second.one("bpfpush_bpf_collector_up", collector="runqlat") == 1
        assert second.get("kernel_runqueue_latency_seconds_count")
        kept = second.get("bpfpush_capabilities", capability="cap_bpf")
        assert kept == ([1.0, 1.0, 1.0] if keep else []), kept
        line = [l for l in err.splitlines() if "capabilities dropped" in l]
        assert len(line) == 1 and ("kept=cap_bpf" if keep else "kept=none") in line[0], err


def test_unknown_capability_is_a_usage_error():
    proc = subprocess.run([BIN, "--capabilities-keep", "bpf,cap_nonesuch", "--once", "--dry-run"],
                          capture_output=True, text=True, timeout=10)
    assert proc.returncode == 2 and 'unknown capability "cap_nonesuch"' in proc.stderr


def test_enable_bpf_stats_as_root_switches_them_on_without_the_sysctl(tmp_path):
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text(bpf_only_config({"runqlat": "{}"}))
    old = sysctl_stats("0")
    try:
        with_flag = subprocess.run([BIN, "--config", str(cfg), "--dry-run", "--once",
                                    "--enable-bpf-stats"], capture_output=True, text=True,
                                   timeout=60)
        without = subprocess.run([BIN, "--config", str(cfg), "--dry-run", "--once"],
                                 capture_output=True, text=True, timeout=60)
    finally:
        sysctl_stats(old)
    assert with_flag.returncode == 0 and without.returncode == 0, with_flag.stderr
    assert "BPF run statistics are off" not in with_flag.stderr
    assert 'bpfpush_bpf_program_runs_total{collector="runqlat"' in with_flag.stdout
    # Opt-in: root without the flag leaves the kernel's setting alone.
    assert without.stderr.count("BPF run statistics are off") == 1, without.stderr
    assert "bpfpush_bpf_program_runs_total" not in without.stdout


def test_enable_bpf_stats_without_cap_sys_admin_warns_once(tmp_path):
    d, cfg = readable_config(bpf_only_config({"runqlat": "{}"}))
    old = sysctl_stats("0")
    try:
        proc = subprocess.run(UNPRIVILEGED + [BIN, "--config", str(cfg), "--dry-run", "--once",
                                              "--enable-bpf-stats"],
                              capture_output=True, text=True, timeout=60)
    finally:
        sysctl_stats(old)
        shutil.rmtree(d)
    assert proc.returncode == 0, proc.stderr
    warned = [l for l in proc.stderr.splitlines() if "BPF run statistics are off" in l]
    assert len(warned) == 1 and "needs CAP_SYS_ADMIN" in warned[0], proc.stderr
    assert "kernel_runqueue_latency_seconds_count" in proc.stdout


def runs_of(round_):
    return sum(v for n, l, v in round_.samples if n == "bpfpush_bpf_program_runs_total")


def stats_fd_open(pid):
    """Whether pid holds a BPF_ENABLE_STATS fd now."""
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:bpf-stats":
                return True
    except OSError:
        pass
    return False


def test_bpf_stats_duty_cycled_by_a_child_holding_cap_sys_admin_alone(tmp_path):
    """--bpf-stats-duty ON/PERIOD: a child that keeps CAP_SYS_ADMIN and
    nothing else holds the kernel's run statistics on for ON in every
    PERIOD (its stats fd, sampled: open about ON/PERIOD of the time; the
    kernel's counting itself is global, so other holders on the host would
    hide it), the agent holds none, the series are scaled by PERIOD/ON, and
    the child is gone with the agent."""
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text(bpf_only_config({"runqlat": "{}"}, interval="500ms"))
    agent = DryRunAgent(BIN, str(cfg), stats=("--enable-bpf-stats", "--bpf-stats-duty", "100ms/1s"))
    try:
        agent.wait_rounds(2, timeout=30)
        children = []
        for tid in os.listdir("/proc/%d/task" % agent.proc.pid):
            with open("/proc/%d/task/%s/children" % (agent.proc.pid, tid)) as f:
                children += [int(c) for c in f.read().split()]
        assert len(children) == 1, children
        with open("/proc/%d/status" % children[0]) as f:
            caps = dict(l.split(":\t") for l in f.read().splitlines() if l.startswith("Cap"))
        assert int(caps["CapEff"], 16) == int(caps["CapPrm"], 16) == 1 << 21, caps  # SYS_ADMIN
        held = []
        for _ in range(200):  # 4 s
            held.append(stats_fd_open(children[0]))
            assert not stats_fd_open(agent.proc.pid)
            time.sleep(0.02)
        last = agent.next_round(timeout=30)
    finally:
        rc, err = agent.stop()
    assert rc == 0, err
    assert 0.02 <= sum(held) / len(held) <= 0.3, sum(held)
    assert not os.path.exists("/proc/%d" % children[0]) or \
        open("/proc/%d/stat" % children[0]).read().split()[2] == "Z"
    runs = runs_of(last)
    assert runs > 0 and runs % 10 == 0, runs  # scaled by 1s / 100ms


def test_bad_bpf_stats_duty_is_a_usage_error():
    for bad in ("10s/1s", "1s", "abc", "0s/1s"):
        proc = subprocess.run([BIN, "--bpf-stats-duty", bad, "--once", "--dry-run"],
                              capture_output=True, text=True, timeout=10)
        assert proc.returncode == 2 and "--bpf-stats-duty" in proc.stderr, (bad, proc.stderr)
