# SPDX-License-Identifier: MIT
"""The deploy files hold global.data_dir where it survives a restart: the
systemd unit's StateDirectory (the only writable place under
ProtectSystem=strict), the DaemonSet's hostPath volume (a pod's own
filesystem goes with the pod). And each gives SIGTERM's flush its whole
--flush-deadline before it kills. The DaemonSet is what `kubectl kustomize
deploy/kubernetes` renders; the agent runs as uid 0 with only BPF and
PERFMON and nothing in the default manifests is privileged (docs/deploy.md
says why)."""
import copy
import functools
import json
import os
import re
import shlex
import subprocess

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT = "deploy/systemd/bpfpush.service"
KUSTOMIZE = "deploy/kubernetes"
K8S_CONFIG = "deploy/kubernetes/bpfpush.yml"
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

COMPONENT = "deploy/kubernetes/components/bpf-stats"
NPM_MODULES = os.path.join(ROOT, "build", "npm", "node_modules")
SECRET_EXAMPLE = "deploy/kubernetes/remote-write-secret.example.yaml"


def kustomize(directory):
    out = subprocess.run(["kubectl", "kustomize", directory], capture_output=True, text=True)
    assert out.returncode == 0, f"kubectl kustomize {directory}: {out.stderr}"
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@functools.lru_cache(maxsize=None)
def rendered_text():
    return yaml.safe_dump_all(kustomize(os.path.join(ROOT, KUSTOMIZE)))


def rendered():
    """What `kubectl kustomize deploy/kubernetes` makes (a fresh copy)."""
    return list(yaml.safe_load_all(rendered_text()))


def with_component(tmp_path):
    """The base and components/bpf-stats, rendered through an overlay as a
    user would write it (kustomize takes only relative paths)."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    rel = lambda p: os.path.relpath(os.path.join(ROOT, p), overlay)  # noqa: E731
    (overlay / "kustomization.yaml").write_text(
        f"resources: [{rel(KUSTOMIZE)}]\ncomponents: [{rel(COMPONENT)}]\n")
    version = subprocess.run(["kubectl", "version", "--client"], capture_output=True,
                             text=True).stdout
    m = re.search(r"Kustomize Version: v(\d+)\.(\d+)", version)
    if not m or (int(m.group(1)), int(m.group(2))) < (3, 7):
        pytest.skip("this kubectl's kustomize predates components (v3.7; Debian 12's "
                    "kubectl 1.20 has v2.0.3): " + version.strip().replace("\n", " "))
    return kustomize(str(overlay))


def of_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def pod_spec(docs):
    return of_kind(docs, "DaemonSet")[0]["spec"]["template"]["spec"]


def schema_errors(docs):
    """{kind/name: error} from kubernetes-models' validate() for each object."""
    assert os.path.isdir(os.path.join(NPM_MODULES, "kubernetes-models")), \
        "kubernetes-models missing: `make npm-deps` installs it in build/npm"
    out = subprocess.run(["node", os.path.join(ROOT, "test/structure/k8s/validate.js")],
                         input=json.dumps(docs), capture_output=True, text=True,
                         env=dict(os.environ, NODE_PATH=NPM_MODULES))
    assert out.returncode == 0, out.stderr
    return {f"{r['kind']}/{r['name']}": r["error"] for r in json.loads(out.stdout) if r["error"]}


def test_the_rendered_objects_validate_against_the_kubernetes_schemas(tmp_path):
    docs = rendered() + [yaml.safe_load(read(SECRET_EXAMPLE))]
    assert {d["kind"] for d in docs} == {"Namespace", "ServiceAccount", "ConfigMap",
                                         "DaemonSet", "Secret"}
    assert schema_errors(docs) == {}
    assert schema_errors(with_component(tmp_path)) == {}


def test_the_schema_check_can_fail():
    docs = rendered()
    agent = pod_spec(docs)["containers"][0]
    agent["securityContext"]["runAsUser"] = "root"
    agent["livenessProbe"]["httpGet"].pop("port")
    assert set(schema_errors(docs)) == {"DaemonSet/bpfpush"}


def container_problems(docs):
    """The agent's container and pod as docs/deploy.md describes them."""
    pod, problems = pod_spec(docs), []
    agent = next(c for c in pod["containers"] if c["name"] == "bpfpush")
    sc = agent.get("securityContext") or {}
    want = {"runAsUser": 0, "runAsNonRoot": False, "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True, "seccompProfile": {"type": "RuntimeDefault"},
            "capabilities": {"drop": ["ALL"], "add": ["BPF", "PERFMON"]}}
    problems += [f"securityContext.{k}: {sc.get(k)!r}, want {v!r}"
                 for k, v in want.items() if sc.get(k) != v]
    if any((c.get("securityContext") or {}).get("privileged")
           for c in pod["containers"] + pod.get("initContainers", [])):
        problems.append("a privileged container")
    want_pod = {"hostNetwork": True, "hostPID": True, "automountServiceAccountToken": False,
                "priorityClassName": "system-node-critical",
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [{"operator": "Exists"}]}
    problems += [f"pod {k}: {pod.get(k)!r}, want {v!r}"
                 for k, v in want_pod.items() if pod.get(k) != v]
    strategy = of_kind(docs, "DaemonSet")[0]["spec"].get("updateStrategy", {})
    if strategy != {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}}:
        problems.append(f"updateStrategy {strategy}")
    if any(sa.get("automountServiceAccountToken") is not False
           for sa in of_kind(docs, "ServiceAccount")):
        problems.append("a ServiceAccount mounts its token")
    mounts = {m["mountPath"]: m for m in agent.get("volumeMounts", [])}
    hosts = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    for path, host in (("/host/proc", "/proc"), ("/host/sys", "/sys"), ("/host/root", "/")):
        m = mounts.get(path)
        if not m or not m.get("readOnly") or hosts.get(m["name"]) != host:
            problems.append(f"{host} not mounted read-only at {path}")
    res = agent.get("resources") or {}
    if not res.get("requests", {}).get("memory") or not res.get("limits", {}).get("memory"):
        problems.append(f"no memory request and limit: {res}")
    return problems


def probe_problems(docs):
    """Liveness on /healthz, readiness on /ready, at the config's listen_address."""
    agent = pod_spec(docs)["containers"][0]
    cfg = yaml.safe_load(daemonset_config(docs))
    host, port = cfg["http"]["listen_address"].rsplit(":", 1)
    ports = {p["name"]: p["containerPort"] for p in agent.get("ports", [])}
    problems = []
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/ready")):
        get = (agent.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != path or str(ports.get(get.get("port"), get.get("port"))) != port:
            problems.append(f"{probe}: {get}, want {path} on port {port}")
        if host not in ("0.0.0.0", "::", "[::]", "") and get.get("host") != host:
            problems.append(f"{probe}: host {get.get('host')}, the agent listens on {host}")
    return problems


def test_the_daemonset_runs_as_documented():
    docs = rendered()
    assert container_problems(docs) == []
    assert probe_problems(docs) == []


def test_the_container_and_probe_checks_can_fail():
    def broken(check, change):
        docs = rendered()
        change(pod_spec(docs))
        return check(docs)

    agent = lambda p: p["containers"][0]  # noqa: E731
    assert broken(container_problems, lambda p: agent(p)["securityContext"].update(
        runAsUser=65534))
    assert broken(container_problems, lambda p: agent(p)["securityContext"]["capabilities"]
                  .update(add=["BPF", "PERFMON", "SYS_ADMIN"]))
    assert broken(container_problems, lambda p: p.update(initContainers=[
        {"name": "x", "image": "x", "securityContext": {"privileged": True}}]))
    assert broken(container_problems, lambda p: p.update(tolerations=[
        {"operator": "Exists", "effect": "NoSchedule"}]))
    assert broken(container_problems, lambda p: agent(p)["volumeMounts"][2].pop("readOnly"))
    assert broken(probe_problems, lambda p: agent(p)["readinessProbe"]["httpGet"].update(
        path="/healthz"))
    assert broken(probe_problems, lambda p: agent(p).update(ports=[
        {"name": "status", "containerPort": 9100}]))
    assert broken(probe_problems, lambda p: agent(p)["livenessProbe"]["httpGet"].pop("host"))


def test_the_bpf_stats_component_adds_the_privileged_sysctl_step(tmp_path):
    docs = with_component(tmp_path)
    pod = pod_spec(docs)
    init = pod.get("initContainers", [])
    assert [c["name"] for c in init] == ["bpf-stats"]
    assert init[0]["securityContext"].get("privileged") is True
    assert "/proc/sys/kernel/bpf_stats_enabled" in " ".join(init[0]["command"])
    assert init[0]["image"] == pod["containers"][0]["image"]
    # The rest is the base's: only the init container differs.
    pod.pop("initContainers")
    assert docs == rendered()


def test_the_secret_example_is_what_the_config_names():
    """The files the config example names (commented password_file and
    credentials_file) are keys of the example Secret, where the DaemonSet
    mounts it read-only."""
    secret = yaml.safe_load(read(SECRET_EXAMPLE))
    pod = pod_spec(rendered())
    vol = next(v for v in pod["volumes"] if "secret" in v)
    assert vol["secret"]["secretName"] == secret["metadata"]["name"]
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == vol["name"])
    assert mount.get("readOnly") is True
    named = re.findall(r"(?:password_file|credentials_file): (\S+?)[},]", read(K8S_CONFIG))
    assert named
    assert {os.path.join(mount["mountPath"], k) for k in secret["stringData"]} == set(named)

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
        # The kubelet creates the directory owned by root: the agent's uid
        # must be 0, and no init container chowns it (docs/deploy.md).
        uid = (agent.get("securityContext") or {}).get("runAsUser")
        if uid != 0:
            problems.append(f"runs as uid {uid}, not the owner (0) of {mount['name']}")
        if pod.get("initContainers"):
            problems.append("init containers in the default manifests: "
                            f"{[c['name'] for c in pod['initContainers']]}")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    deadline = flush_deadline(agent.get("command", []) + agent.get("args", []))
    if grace < deadline + EXIT_MARGIN_S:
        problems.append(f"terminationGracePeriodSeconds {grace} < --flush-deadline "
                        f"{deadline:.0f}s + {EXIT_MARGIN_S}s")
    return problems


def test_daemonset_holds_data_dir_in_a_host_path():
    docs = rendered()
    assert data_dir(daemonset_config(docs)), "the DaemonSet's config has no data_dir"
    assert daemonset_problems(docs, daemonset_config(docs)) == []


def test_the_daemonset_check_can_fail():
    docs = rendered()
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
    assert broken(lambda p: p.update(initContainers=[
        {"name": "data-dir", "image": "bpfpush", "command": ["chown", "65534", "/var/lib/bpfpush"]}]))
    assert broken(lambda p: p["containers"][0]["securityContext"].update(runAsUser=65534))
    assert broken(lambda p: p.update(terminationGracePeriodSeconds=10))
    assert daemonset_problems(docs, "global:\n  data_dir: /srv/elsewhere\n")


# ---- systemd: verify, security, make install --------------------------------

SECURITY_OK = ("SAFE", "OK")   # systemd-analyze's words for exposure below 4.0


def installed(tmp_path, prefix="/usr/local"):
    """`make install` into tmp_path/root; the unit it put there."""
    root = tmp_path / "root"
    out = subprocess.run(["make", "-s", "install", f"DESTDIR={root}", f"PREFIX={prefix}"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return root


def exposure(unit_path):
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                          str(unit_path)], capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", out.stdout)
    assert m, out.stdout + out.stderr
    return float(m.group(1)), m.group(2)


def runnable_unit(tmp_path, unit_text):
    """The unit with its paths under tmp_path/root, the binary there, so
    that verify finds what ExecStart names."""
    root = installed(tmp_path)
    path = tmp_path / "bpfpush.service"
    path.write_text(unit_text.replace("/usr/local/", f"{root}/usr/local/"))
    return path


def test_make_install_puts_binary_unit_config_and_docs_in_place(tmp_path):
    root = installed(tmp_path, prefix="/usr")
    modes = {"usr/bin/bpfpush": 0o755, "etc/bpfpush/bpfpush.yml": 0o644,
             "lib/systemd/system/bpfpush.service": 0o644,
             "usr/share/doc/bpfpush/README.md": 0o644,
             "usr/share/doc/bpfpush/deploy.md": 0o644}
    assert {p: os.stat(root / p).st_mode & 0o777 for p in modes} == modes
    assert (root / "etc/bpfpush/bpfpush.yml").read_text() == read("deploy/examples/bpfpush.yml")
    unit = (root / "lib/systemd/system/bpfpush.service").read_text()
    assert "/usr/local" not in unit
    argv = shlex.split(unit_settings(unit)["ExecStart"][-1])
    assert argv[0] == "/usr/bin/bpfpush"
    # A second install keeps the config an admin edited.
    (root / "etc/bpfpush/bpfpush.yml").write_text("# edited\n")
    installed(tmp_path, prefix="/usr")
    assert (root / "etc/bpfpush/bpfpush.yml").read_text() == "# edited\n"
    assert (root / "etc/bpfpush/bpfpush.yml.new").exists()


def verify_complaints(unit_path):
    """What `systemd-analyze verify` says of the unit (a setting it ignores
    is only a warning to it, a failure here)."""
    out = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit_path)],
                         capture_output=True, text=True)
    return f"exit {out.returncode}: {out.stderr}" if out.returncode or out.stderr.strip() else ""


def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    assert verify_complaints(runnable_unit(tmp_path, read(UNIT))) == ""


def test_the_verify_check_can_fail(tmp_path):
    assert verify_complaints(runnable_unit(tmp_path, read(UNIT).replace(
        "ProtectHome=read-only", "ProtectHome=readonly")))
    assert verify_complaints(runnable_unit(tmp_path, read(UNIT).replace(
        "/usr/local/bin/bpfpush --config", "/nonexistent/bpfpush --config")))


def test_the_unit_is_rated_ok_by_systemd_analyze_security(tmp_path):
    score, word = exposure(runnable_unit(tmp_path, read(UNIT)))
    assert word in SECURITY_OK, f"exposure {score} {word}"


def test_the_security_check_can_fail(tmp_path):
    bare = "\n".join(line for line in read(UNIT).splitlines()
                     if not re.match(r"(Protect|Private|Restrict|SystemCall|Capability|"
                                     r"MemoryDeny|LockPersonality|DynamicUser)", line))
    score, word = exposure(runnable_unit(tmp_path, bare))
    assert word not in SECURITY_OK, f"exposure {score} {word}"
