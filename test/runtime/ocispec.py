# SPDX-License-Identifier: MIT
"""The container as Kubernetes runs it, without Kubernetes: the image's root
filesystem assembled from the built binary and what ldd lists, and an OCI
runtime config derived from the DaemonSet's pod and container spec the way
containerd's CRI plugin derives it (containerd 1.7, kubelet defaults)."""
import json
import os
import re
import resource
import shutil
import subprocess

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KUBE_DIR = os.path.join(ROOT, "deploy", "kubernetes")
CONTAINERFILE = os.path.join(ROOT, "deploy", "container", "Containerfile")

# containerd's default capability set (oci.WithDefaultUnixDevices' spec
# defaults, pkg/oci/spec.go), which the securityContext's drop and add edit.
CRI_DEFAULT_CAPS = ["CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID",
                    "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL",
                    "AUDIT_WRITE"]
MASKED = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
          "/sys/firmware", "/sys/devices/virtual/powercap"]
READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def rendered_objects():
    """The manifests as applied: `kubectl kustomize` when deploy/kubernetes
    is a kustomize tree, else the plain files."""
    if os.path.exists(os.path.join(KUBE_DIR, "kustomization.yaml")):
        text = subprocess.run(["kubectl", "kustomize", KUBE_DIR], check=True,
                              capture_output=True, text=True).stdout
        return [d for d in yaml.safe_load_all(text) if d]
    docs = []
    for name in sorted(os.listdir(KUBE_DIR)):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(KUBE_DIR, name)) as f:
                docs += [d for d in yaml.safe_load_all(f) if d]
    return docs


def daemonset():
    found = [d for d in rendered_objects() if d.get("kind") == "DaemonSet"]
    assert len(found) == 1, [d.get("kind") for d in rendered_objects()]
    return found[0]


def image_entrypoint():
    """ENTRYPOINT and USER of the final stage of the Containerfile."""
    entry, user = None, "0"
    with open(CONTAINERFILE) as f:
        for line in f:
            if line.startswith("FROM "):
                entry, user = None, "0"
            elif line.startswith("ENTRYPOINT "):
                entry = json.loads(line.split(None, 1)[1])
            elif line.startswith("USER "):
                user = line.split()[1]
    return entry, user


def assemble_rootfs(binary, rootfs, extra_dirs=()):
    """The binary at /usr/bin/bpfpush, every library ldd lists at its path,
    and empty mount points; nothing else (no shell, no /tmp)."""
    def put(src, dst_rel):
        dst = os.path.join(rootfs, dst_rel.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.realpath(src), dst)

    put(binary, "/usr/bin/bpfpush")
    out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    for m in re.finditer(r"(?:=> )?(/\S+) \(0x", out):
        put(m.group(1), m.group(1))
    for d in ["proc", "sys", "dev", "etc/bpfpush", *extra_dirs]:
        os.makedirs(os.path.join(rootfs, d.lstrip("/")), exist_ok=True)


def _caps(sc):
    caps = sc.get("capabilities", {})
    drop = {c.upper() for c in caps.get("drop", [])}
    add = [c.upper() for c in caps.get("add", [])]
    keep = [] if "ALL" in drop else [c for c in CRI_DEFAULT_CAPS if c not in drop]
    return ["CAP_" + c for c in keep + [a for a in add if a not in keep]]


def _mounts(container, pod, volume_paths):
    """CRI's default mounts, then each volumeMount as a bind mount.
    volume_paths: volume name -> host path standing in for it."""
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
    ]
    for vm in container.get("volumeMounts", []):
        opts = ["rbind", "ro" if vm.get("readOnly") else "rw"]
        opts.append({"HostToContainer": "rslave", "Bidirectional": "rshared"}.get(
            vm.get("mountPropagation"), "rprivate"))
        mounts.append({"destination": vm["mountPath"], "type": "bind",
                       "source": volume_paths[vm["name"]], "options": opts})
    return mounts


def volume_sources(pod, config_dir, data_dir):
    """hostPath volumes at their host path, except global.data_dir's (a
    temporary directory); the ConfigMap at config_dir."""
    paths = {}
    for v in pod.get("volumes", []):
        if "configMap" in v:
            paths[v["name"]] = config_dir
        elif "hostPath" in v:
            hp = v["hostPath"]["path"]
            paths[v["name"]] = data_dir if hp.startswith("/var/lib/bpfpush") else hp
        elif "secret" in v or "emptyDir" in v:
            # An optional Secret that does not exist mounts empty, as does
            # an emptyDir: an empty directory beside the config stands in.
            empty = os.path.join(os.path.dirname(config_dir), "volume-" + v["name"])
            os.makedirs(empty, exist_ok=True)
            paths[v["name"]] = empty
    return paths


def oci_config(ds, rootfs, volume_paths, env, container_name="bpfpush"):
    pod = ds["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == container_name)
    psc = pod.get("securityContext", {})
    sc = {**psc, **container.get("securityContext", {})}
    entry, image_user = image_entrypoint()
    args = container.get("command") or entry
    args = args + container.get("args", [])
    caps = _caps(sc)
    namespaces = [{"type": "mount"}, {"type": "ipc"}]
    if not pod.get("hostPID"):
        namespaces.append({"type": "pid"})
    if not pod.get("hostNetwork"):  # with the host's network CRI keeps its UTS too
        namespaces += [{"type": "network"}, {"type": "uts"}]
    uid = sc.get("runAsUser", int(image_user))
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": uid, "gid": sc.get("runAsGroup", 0),
                     "additionalGids": list(psc.get("supplementalGroups", []))},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    *[f"{k}={v}" for k, v in env.items()]],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps,
                             "inheritable": [], "ambient": []},
            "noNewPrivileges": sc.get("allowPrivilegeEscalation", True) is False,
            # containerd's own limit, which its containers inherit.
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": nofile, "soft": nofile}],
        },
        "root": {"path": rootfs, "readonly": bool(sc.get("readOnlyRootFilesystem"))},
        "mounts": _mounts(container, pod, volume_paths),
        "linux": {
            "namespaces": namespaces,
            "maskedPaths": MASKED,
            "readonlyPaths": READONLY,
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
        },
    }, container, pod
