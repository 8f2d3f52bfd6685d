# SPDX-License-Identifier: MIT
"""The deploy files hold global.data_dir where it survives a restart: the
systemd unit's StateDirectory (the only writable place under
ProtectSystem=strict), the DaemonSet's hostPath volume (a pod's own
filesystem goes with the pod). And each gives SIGTERM's flush its whole
--flush-deadline before it kills."""
import copy
import os
import re
import shlex

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT = "deploy/systemd/bpfpush.service"
DAEMONSET = "deploy/kubernetes/daemonset.yaml"
K8S_CONFIG = "deploy/examples/bpfpush-kubernetes.yml"
DEFAULT_DATA_DIR = "/var/lib/bpfpush"   # config/: global.data_dir's default
DEFAULT_FLUSH_DEADLINE_S = 60           # agent/: --flush-deadline's default
EXIT_MARGIN_S = 5                       # writing memory to disk, exiting


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def seconds(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    total = 0.0
    for n, unit in re.findall(r"(\d+)(ms|s|m|h)", text):
        total += int(n) * units[unit]
    return total


def inside(path, directory):
    path, directory = os.path.normpath(path), os.path.normpath(directory)
    return path == directory or path.startswith(directory + "/")


def flush_deadline(argv):
    for i, arg in enumerate(argv):
        if arg == "--flush-deadline" and i + 1 < len(argv):
            return seconds(argv[i + 1])
        if arg.startswith("--flush-deadline="):
            return seconds(arg.split("=", 1)[1])
    return DEFAULT_FLUSH_DEADLINE_S


def data_dir(config_text):
    cfg = yaml.safe_load(config_text) or {}
    return (cfg.get("global") or {}).get("data_dir", DEFAULT_DATA_DIR)


# ---- systemd ---------------------------------------------------------------

def unit_settings(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


def installed_config():
    """The file `make install` puts where the unit's --config points."""
    m = re.search(r"install .* (\S+\.yml) \$\(DESTDIR\)/etc/bpfpush/bpfpush\.yml", read("Makefile"))
    assert m, "Makefile: no install line for /etc/bpfpush/bpfpush.yml"
    return read(m.group(1))


def unit_problems(unit_text, config_text):
    s = unit_settings(unit_text)
    problems = []
    argv = shlex.split(s.get("ExecStart", [""])[-1])
    if "--config" not in argv or argv[argv.index("--config") + 1] != "/etc/bpfpush/bpfpush.yml":
        problems.append(f"ExecStart does not read /etc/bpfpush/bpfpush.yml: {argv}")
    state = [d for v in s.get("StateDirectory", []) for d in v.split()]
    want = data_dir(config_text)
    if want and not any(inside(want, "/var/lib/" + d.split(":")[0]) for d in state):
        problems.append(f"data_dir {want} is not in a StateDirectory ({state})")
    stop = seconds(s.get("TimeoutStopSec", ["90s"])[-1])
    deadline = flush_deadline(argv)
    if stop < deadline + EXIT_MARGIN_S:
        problems.append(f"TimeoutStopSec {stop:.0f}s < --flush-deadline {deadline:.0f}s "
                        f"+ {EXIT_MARGIN_S}s")
    return problems


def test_systemd_unit_holds_data_dir_in_its_state_directory():
    assert unit_problems(read(UNIT), installed_config()) == []


def test_the_unit_check_can_fail():
    unit = read(UNIT)
    assert unit_problems(re.sub(r"(?m)^StateDirectory=.*\n", "", unit), installed_config())
    assert unit_problems(unit, "global:\n  data_dir: /srv/bpfpush\n")
    assert unit_problems(re.sub(r"(?m)^TimeoutStopSec=.*$", "TimeoutStopSec=10s", unit),
                         installed_config())


# ---- Kubernetes ------------------------------------------------------------

def daemonset_config(docs):
    """The ConfigMap's bpfpush.yml when it holds a config, else the example
    file it says to paste there."""
    for d in docs:
        if d and d.get("kind") == "ConfigMap":
            text = (d.get("data") or {}).get("bpfpush.yml", "")
            if yaml.safe_load(text):
                return text
    return read(K8S_CONFIG)


def daemonset_problems(docs, config_text):
    ds = next(d for d in docs if d and d.get("kind") == "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    agent = next(c for c in pod["containers"] if c["name"] == "bpfpush")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    want = data_dir(config_text)
    problems = []
    mounts = [m for m in agent.get("volumeMounts", []) if want and inside(want, m["mountPath"])]
    mount = max(mounts, key=lambda m: len(m["mountPath"]), default=None)
    if want and not mount:
        problems.append(f"no volume mounted at data_dir {want}")
    elif want:
        host = volumes.get(mount["name"], {}).get("hostPath")
        if not host or host.get("type") != "DirectoryOrCreate":
            problems.append(f"{mount['name']}: not a hostPath of type DirectoryOrCreate")
        if mount.get("readOnly"):
            problems.append(f"{mount['name']}: mounted read-only")
        uid = (agent.get("securityContext") or {}).get("runAsUser")
        chowned = any(m["name"] == mount["name"] and str(uid) in " ".join(c.get("command", []))
                      and "chown" in " ".join(c.get("command", []))
                      for c in pod.get("initContainers", []) for m in c.get("volumeMounts", []))
        if uid not in (None, 0) and not chowned:
            problems.append(f"no init container chowns {mount['name']} to uid {uid}")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    deadline = flush_deadline(agent.get("command", []) + agent.get("args", []))
    if grace < deadline + EXIT_MARGIN_S:
        problems.append(f"terminationGracePeriodSeconds {grace} < --flush-deadline "
                        f"{deadline:.0f}s + {EXIT_MARGIN_S}s")
    return problems


def test_daemonset_holds_data_dir_in_a_host_path():
    docs = list(yaml.safe_load_all(read(DAEMONSET)))
    assert data_dir(daemonset_config(docs)), "the DaemonSet's config has no data_dir"
    assert daemonset_problems(docs, daemonset_config(docs)) == []


def test_the_daemonset_check_can_fail():
    docs = list(yaml.safe_load_all(read(DAEMONSET)))
    cfg = daemonset_config(docs)
    pod = next(d for d in docs if d and d.get("kind") == "DaemonSet")["spec"]["template"]["spec"]

    def broken(change):
        mutated = copy.deepcopy(docs)
        change(next(d for d in mutated if d and d.get("kind") == "DaemonSet")
               ["spec"]["template"]["spec"])
        return daemonset_problems(mutated, cfg)

    host = [v["name"] for v in pod["volumes"] if v.get("hostPath", {}).get("type")
            == "DirectoryOrCreate"]
    assert host
    assert broken(lambda p: p.update(volumes=[
        {"name": v["name"], "emptyDir": {}} if v["name"] in host else v for v in p["volumes"]]))
    assert broken(lambda p: p["containers"][0].update(volumeMounts=[
        m for m in p["containers"][0]["volumeMounts"] if m["name"] not in host]))
    # A non-root uid would need an init container to chown the hostPath.
    assert broken(lambda p: p["containers"][0]["securityContext"].update(runAsUser=65534))
    assert broken(lambda p: p.update(terminationGracePeriodSeconds=10))
    assert daemonset_problems(docs, "global:\n  data_dir: /srv/elsewhere\n")
