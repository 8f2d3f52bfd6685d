# SPDX-License-Identifier: MIT
"""The agent as the deploy files run it, with the privileges they give it:
the DaemonSet under runc (Debian's OCI runtime) with the OCI config that
containerd's CRI derives from it, and the systemd unit's settings. In each,
BPF and host series reach a real VictoriaMetrics, and the running agent
holds no capability left to load a BPF program with."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import ocispec  # noqa: E402
from conftest import BIN, ROOT  # noqa: E402

AGENT = os.path.abspath(os.environ.get("BPFPUSH_RUNTIME_BIN", BIN))
PROBE = os.path.join(os.path.dirname(__file__), "bpf_load_probe.py")
UNIT = os.path.join(ROOT, "deploy", "systemd", "bpfpush.service")
CAP_NAMES = {"CAP_BPF": 39, "CAP_PERFMON": 38, "CAP_SYS_ADMIN": 21, "CAP_SYS_RESOURCE": 24}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def adapt_config(text, url, data_dir):
    """The shipped example, pointed at the test's receiver: every second,
    the status endpoint on a free loopback port, data_dir as given."""
    text = re.sub(r"(?m)^(\s*- url: ).*$", r"\g<1>" + url, text, count=1)
    text = re.sub(r"(?m)^(\s*interval: ).*$", r"\g<1>1s", text, count=1)
    text = re.sub(r"(?m)^(\s*listen_address: ).*$",
                  r"\g<1>127.0.0.1:%d" % free_port(), text)
    if "listen_address" not in text:
        text += "http:\n  listen_address: 127.0.0.1:%d\n" % free_port()
    if re.search(r"(?m)^\s*data_dir:", text):
        return re.sub(r"(?m)^(\s*data_dir: ).*$", r"\g<1>" + data_dir, text)
    return text.replace("global:\n", f"global:\n  data_dir: {data_dir}\n", 1)


def status_of(pid):
    """{field: value} for the Cap* and NoNewPrivs lines of every thread."""
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            threads[tid] = dict(line.strip().split(":\t", 1) for line in f
                                if line.startswith(("Cap", "NoNewPrivs")))
    return threads


def wait_started(log_path, proc_alive, timeout=45):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log_path) as f:
            text = f.read()
        if "bpfpush started" in text:
            return text
        if "startup failed" in text or not proc_alive():
            break
        time.sleep(0.1)
    raise AssertionError("agent did not start:\n" + text[-3000:])


def latest(vm, match, timeout=20):
    """The newest value of each series matching, once each has one."""
    found = vm.export(match, timeout=timeout)
    return {tuple(sorted(s["metric"].items())): s["values"][-1] for s in found}


def check_agent(pid, vm, log):
    """What every runtime must show once the agent runs."""
    up = latest(vm, 'bpfpush_bpf_collector_up{collector="runqlat"}')
    assert up and all(v == 1 for v in up.values()), (up, log[-3000:])
    assert vm.export("kernel_runqueue_latency_seconds_count"), log[-3000:]
    assert vm.export("node_load1"), log[-3000:]
    threads = status_of(pid)
    for tid, st in threads.items():
        assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0, (tid, st)
        assert int(st["CapInh"], 16) == 0 and int(st["CapAmb"], 16) == 0, (tid, st)
        assert st["NoNewPrivs"] == "1", (tid, st)
    assert "capabilities dropped" in log and "kept=none" in log, log[-3000:]
    # A process with exactly the agent's sets, same uid: the kernel refuses
    # bpf(BPF_PROG_LOAD) as it would refuse the agent.
    main = threads[str(pid)]
    assert probe(main, os.stat(f"/proc/{pid}").st_uid) == "EPERM"


def probe(sets, uid):
    argv = [sys.executable, PROBE, sets["CapInh"], sets["CapPrm"], sets["CapEff"],
            sets["CapBnd"], sets["CapAmb"], sets["NoNewPrivs"], str(uid)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd="/")
    assert out.returncode == 0, out.stderr
    return out.stdout.split("result ")[-1].strip()


def mask(caps):
    return "%016x" % sum(1 << CAP_NAMES[c] for c in caps)


def test_daemonset_under_runc_collects_then_holds_no_capability(vm, tmp_path):
    ds = ocispec.daemonset()
    pod = ds["spec"]["template"]["spec"]
    work = tempfile.mkdtemp(prefix="bpfpush-runc-")  # not under pytest's 0700 tmp
    os.chmod(work, 0o755)
    bundle, rootfs = os.path.join(work, "bundle"), os.path.join(work, "bundle", "rootfs")
    config_dir, data_dir = os.path.join(work, "config"), os.path.join(work, "data")
    os.makedirs(config_dir)
    os.makedirs(data_dir)
    with open(os.path.join(ROOT, "deploy", "examples", "bpfpush-kubernetes.yml")) as f:
        example = f.read()
    with open(os.path.join(config_dir, "bpfpush.yml"), "w") as f:
        f.write(adapt_config(example, vm.write_url, "/var/lib/bpfpush"))
    ocispec.assemble_rootfs(AGENT, rootfs, ["host/proc", "host/sys", "host/root",
                                            "var/lib/bpfpush"])
    spec, container, _ = ocispec.oci_config(
        ds, rootfs, ocispec.volume_sources(pod, config_dir, data_dir),
        {"NODE_NAME": socket.gethostname(), "ASAN_OPTIONS": "detect_leaks=0"})
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f, indent=1)
    state, cid = os.path.join(work, "state"), f"bpfpush-test-{os.getpid()}"
    log_path, pid_file = os.path.join(work, "agent.log"), os.path.join(work, "pid")
    runc = ["runc", "--root", state]
    try:
        with open(log_path, "w") as log:
            started = subprocess.run(runc + ["run", "-d", "--pid-file", pid_file, "-b", bundle,
                                             cid], stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log, timeout=30)
        with open(log_path) as log:
            assert started.returncode == 0, log.read()[-3000:]
        with open(pid_file) as f:
            pid = int(f.read())
        log = wait_started(log_path, lambda: os.path.exists(f"/proc/{pid}"))
        check_agent(pid, vm, log)
        # The container itself started with the sets CRI gave it, which
        # do load a program: it is the agent's drop that refuses.
        start = mask(spec["process"]["capabilities"]["effective"])
        assert probe({"CapInh": "0", "CapPrm": start, "CapEff": start, "CapBnd": start,
                      "CapAmb": "0", "NoNewPrivs": "1"}, 0) == "loaded"
        subprocess.run(runc + ["kill", cid, "TERM"], timeout=10)
        for c in pod.get("initContainers", []) + pod["containers"]:
            assert not c.get("securityContext", {}).get("privileged"), \
                f"privileged container {c['name']} in the default manifest"
    finally:
        subprocess.run(runc + ["delete", "-f", cid], capture_output=True, timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def unit_settings():
    """[Service] of the unit: key -> value (the last one wins, as systemd's
    settings used here do)."""
    settings, section = {}, None
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = line
            elif section == "[Service]" and "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                settings[k] = v
    return settings


def setpriv_for_unit(s, uid):
    """setpriv doing what systemd does for these settings (PID 1 here is not
    systemd, so systemd-run is not available): DynamicUser= a uid of its
    own, AmbientCapabilities= into the inheritable and ambient sets,
    CapabilityBoundingSet=, NoNewPrivileges=."""
    names = lambda key: ",".join("+" + c.lower()[4:] for c in s.get(key, "").split())  # noqa: E731
    argv = ["setpriv"]
    if s.get("DynamicUser") == "yes":
        argv += [f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    if s.get("AmbientCapabilities"):
        argv += [f"--inh-caps=-all,{names('AmbientCapabilities')}",
                 f"--ambient-caps={names('AmbientCapabilities')}"]
    if s.get("CapabilityBoundingSet"):
        argv += [f"--bounding-set=-all,{names('CapabilityBoundingSet')}"]
    if s.get("NoNewPrivileges") == "yes":
        argv += ["--no-new-privs"]
    return argv


def test_systemd_unit_settings_collect_then_hold_no_capability(vm, tmp_path):
    s = unit_settings()
    uid = 61234  # in systemd's DynamicUser range
    work = tempfile.mkdtemp(prefix="bpfpush-unit-")
    os.chmod(work, 0o755)
    data_dir = os.path.join(work, "state")  # the StateDirectory, owned by the user
    os.makedirs(data_dir)
    os.chown(data_dir, uid, uid)
    with open(os.path.join(ROOT, "deploy", "examples", "bpfpush.yml")) as f:
        cfg_text = adapt_config(f.read(), vm.write_url, data_dir)
    cfg = os.path.join(work, "bpfpush.yml")
    with open(cfg, "w") as f:
        f.write(cfg_text)
    os.chmod(cfg, 0o644)
    args = s["ExecStart"].split()[1:]
    args[args.index("--config") + 1] = cfg
    log_path = os.path.join(work, "agent.log")
    proc = None
    try:
        with open(log_path, "w") as log:
            proc = subprocess.Popen(setpriv_for_unit(s, uid) + [AGENT, *args],
                                    stdout=log, stderr=log, cwd="/")
        log = wait_started(log_path, lambda: proc.poll() is None)
        check_agent(proc.pid, vm, log)
    finally:
        if proc:
            proc.terminate()
            proc.wait(30)
        shutil.rmtree(work, ignore_errors=True)
