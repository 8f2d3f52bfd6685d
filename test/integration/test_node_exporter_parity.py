# SPDX-License-Identifier: MIT
"""Metric parity with the real node_exporter (Debian's prometheus-node-exporter),
measured on this machine in the same run.

node_exporter is scraped, `bpfpush --dry-run --once` is run, node_exporter is
scraped again: every node_exporter read of the first scrape happened before
bpfpush started and every read of the second after it ended. For each
collector both of them report in node_scrape_collector_success{collector},
every metric family of that collector (by name prefix, the table below) is
compared:

  series  every series node_exporter has in both scrapes (name + labels;
          job and instance, which bpfpush adds, ignored; empty labels are
          absent ones) must be in bpfpush: the share is printed, every
          difference listed (missing in bpfpush / extra in bpfpush); extras
          are reported, not failed (a newer node_exporter may have them).
  values  constants (MemTotal, filesystem sizes, boot time ...) must be
          equal; counters must lie between node_exporter's two reads (they
          only go up, so that is a tolerance scaled by the time between the
          reads, exact and never flaky); gauges and untyped values are
          compared the same way but only reported.

Collectors bpfpush does not have yet are not compared ("not implemented in
bpfpush: ..."). A known, accepted difference goes in KNOWN_DIFFERENCES with
its reason. The report is printed (pytest -s) and written to
build/parity-report.txt."""
import fnmatch
import math
import os
import re
import shutil
import subprocess
import time

from conftest import BIN, ROOT
from receivers import free_port, http_get, wait_until

# Accepted differences, each with its reason. A key is a family name, or an
# fnmatch pattern over the series text  name{label="value",...}  (labels
# sorted, job and instance left out). It covers missing series, extra
# series and value mismatches alike. Empty until the lead has reviewed one.
KNOWN_DIFFERENCES = {
}

# Family name prefix -> node_exporter collector (node_exporter 1.5's
# collectors, Linux). The longest matching prefix wins, so the specific
# entries (node_cpu_frequency_ for cpufreq beside node_cpu_ for cpu,
# netclass's node_network_transmit_queue_length beside netdev's
# node_network_transmit_) sit beside the general ones.
FAMILY_COLLECTOR = {
    "node_arp_": "arp",
    "node_bcache_": "bcache",
    "node_bonding_": "bonding",
    "node_btrfs_": "btrfs",
    "node_nf_conntrack_": "conntrack",
    "node_cpu_": "cpu",
    "node_cpu_frequency_": "cpufreq",
    "node_cpu_scaling_": "cpufreq",
    "node_disk_": "diskstats",
    "node_dmi_": "dmi",
    "node_edac_": "edac",
    "node_entropy_": "entropy",
    "node_fibrechannel_": "fibrechannel",
    "node_filefd_": "filefd",
    "node_filesystem_": "filesystem",
    "node_hwmon_": "hwmon",
    "node_infiniband_": "infiniband",
    "node_ipvs_": "ipvs",
    "node_load": "loadavg",
    "node_md_": "mdadm",
    "node_memory_": "meminfo",
    "node_network_": "netclass",
    "node_network_receive_": "netdev",
    "node_network_transmit_": "netdev",
    "node_network_transmit_queue_length": "netclass",
    "node_netstat_": "netstat",
    "node_nfs_": "nfs",
    "node_nfsd_": "nfsd",
    "node_nvme_": "nvme",
    "node_os_": "os",
    "node_power_supply_": "powersupplyclass",
    "node_pressure_": "pressure",
    "node_rapl_": "rapl",
    "node_schedstat_": "schedstat",
    "node_selinux_": "selinux",
    "node_sockstat_": "sockstat",
    "node_softnet_": "softnet",
    "node_boot_time_seconds": "stat",
    "node_context_switches_total": "stat",
    "node_forks_total": "stat",
    "node_intr_total": "stat",
    "node_procs_blocked": "stat",
    "node_procs_running": "stat",
    "node_systemd_": "systemd",
    "node_tape_": "tapestats",
    "node_textfile_": "textfile",
    "node_thermal_zone_": "thermal_zone",
    "node_cooling_device_": "thermal_zone",
    "node_time_": "time",
    "node_timex_": "timex",
    "node_udp_queues": "udp_queues",
    "node_uname_": "uname",
    "node_vmstat_": "vmstat",
    "node_xfs_": "xfs",
    "node_zfs_": "zfs",
}

# Values that do not change while the machine runs: equal, exactly. An
# fnmatch pattern over family names.
CONSTANTS = [
    "node_memory_MemTotal_bytes", "node_memory_SwapTotal_bytes",
    "node_memory_Hugepagesize_bytes", "node_memory_HugePages_Total",
    "node_memory_VmallocTotal_bytes", "node_memory_CmaTotal_bytes",
    "node_boot_time_seconds",
    "node_filesystem_size_bytes", "node_filesystem_files", "node_filesystem_readonly",
    "node_network_mtu_bytes", "node_network_info", "node_network_up",
    "node_network_iface_id", "node_network_iface_link", "node_network_address_assign_type",
    "node_network_device_id", "node_network_protocol_type", "node_network_flags",
    "node_network_transmit_queue_length", "node_network_speed_bytes",
    "node_network_name_assign_type", "node_network_net_dev_group",
    "node_uname_info", "node_os_info", "node_os_version",
    "node_filefd_maximum", "node_nf_conntrack_entries_limit",
    "node_cpu_info", "node_cpu_frequency_max_hertz", "node_cpu_frequency_min_hertz",
    "node_cpu_scaling_frequency_max_hertz", "node_cpu_scaling_frequency_min_hertz",
    "node_time_zone_offset_seconds", "node_time_clocksource_available_info",
    "node_time_clocksource_current_info", "node_entropy_pool_size_bits",
    "node_hwmon_chip_names", "node_hwmon_sensor_label", "node_thermal_zone_temp_info",
    "node_cooling_device_max_state", "node_disk_info", "node_textfile_scrape_error",
]

# Counters that may step back a little in the kernel (idle and iowait on
# NO_HZ kernels): node_exporter holds its last value, a --once run of
# bpfpush has none to hold, so allow this much below the first read.
COUNTER_SLACK = {"node_cpu_seconds_total": 0.05}

# Debian's package patches two of node_exporter's defaults; bpfpush keeps
# upstream's. node_exporter runs with upstream's here, so that the parity
# measured is with node_exporter, not with Debian's packaging (with Debian's,
# lo's 17 netdev series and the mounts under /run and /mnt would show as
# "extra in bpfpush").
NODE_EXPORTER_UPSTREAM_DEFAULTS = [
    # Debian: ^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)
    "--collector.filesystem.mount-points-exclude="
    "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)",
    # Debian: ^lo$
    "--collector.netdev.device-exclude=",
]

IGNORED_LABELS = {"job", "instance"}
REPORT = os.path.join(ROOT, "build", "parity-report.txt")
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"


# ---- the text exposition format ---------------------------------------------

_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+(-?\d+))?\s*$")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


def _labels(text):
    """'{a="x",b="y\\"z"}' -> {'a': 'x', 'b': 'y"z'}"""
    out, i, n = {}, 1, len(text) - 1
    while i < n:
        while i < n and text[i] in " ,":
            i += 1
        if i >= n:
            break
        eq = text.index("=", i)
        name = text[i:eq].strip()
        if text[eq + 1] != '"':
            raise ValueError(f"label {name}: value not quoted in {text!r}")
        i, value = eq + 2, []
        while text[i] != '"':
            if text[i] == "\\":
                value.append(_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
                i += 2
            else:
                value.append(text[i])
                i += 1
        out[name] = "".join(value)
        i += 1
    return out


def _value(text):
    return float(text)  # also "+Inf", "-Inf", "NaN"


def parse_exposition(text):
    """Prometheus text format -> (series, types): series maps
    (name, frozenset of (label, value)) to the value; types maps a family
    name to its TYPE. Empty label values are dropped (in Prometheus an
    empty label is an absent one); job and instance too."""
    series, types = {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3].strip()
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"cannot parse exposition line {line!r}")
        labels = _labels(m.group(2)) if m.group(2) else {}
        key = (m.group(1), frozenset((k, v) for k, v in labels.items()
                                     if v != "" and k not in IGNORED_LABELS))
        series[key] = _value(m.group(3))
    return series, types


def series_text(key):
    name, labels = key
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels)) + "}"


def family_of(name, types):
    """The family a series belongs to: histogram/summary parts map to
    their base name when it was declared so."""
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name


def collector_of(family):
    best = None
    for prefix, collector in FAMILY_COLLECTOR.items():
        if family.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, collector)
    return best[1] if best else None


def collectors_reported(series):
    """{collector: success value} from node_scrape_collector_success."""
    return {dict(labels)["collector"]: value for (name, labels), value in series.items()
            if name == "node_scrape_collector_success" and "collector" in dict(labels)}


def known(key, family):
    if family in KNOWN_DIFFERENCES:
        return KNOWN_DIFFERENCES[family]
    text = series_text(key)
    for pattern, reason in KNOWN_DIFFERENCES.items():
        if fnmatch.fnmatchcase(text, pattern):
            return reason
    return None


# ---- the two programs --------------------------------------------------------

class NodeExporter:
    def __init__(self, textfile_dir, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{self.port}",
             f"--collector.textfile.directory={textfile_dir}",
             *NODE_EXPORTER_UPSTREAM_DEFAULTS],
            stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self):
        wait_until(lambda: self.proc.poll() is None and http_get(self.url, 5), 30,
                   f"node_exporter on port {self.port}")

    def scrape(self):
        return http_get(self.url, 30).decode()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def run_bpfpush(config_path):
    r = subprocess.run([BIN, "--config", config_path, "--dry-run", "--once"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"bpfpush --dry-run --once exited {r.returncode}: {r.stderr}"
    return r.stdout


# ---- the comparison -------------------------------------------------------------

def is_constant(family):
    return any(fnmatch.fnmatchcase(family, p) for p in CONSTANTS)


def close(a, b, slack=0.0):
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-12 + slack


def compare(ne_before, ne_after, ne_types, bp, bp_types):
    """Returns the result dict the report and the assertions use."""
    ne_ok = collectors_reported(ne_before)
    bp_ok = collectors_reported(bp)
    both = sorted(set(ne_ok) & set(bp_ok))
    res = {
        "both": both, "ne_ok": ne_ok, "bp_ok": bp_ok,
        "not_in_bpfpush": sorted(set(ne_ok) - set(bp_ok)),
        "bpfpush_only": sorted(set(bp_ok) - set(ne_ok)),
        "per_collector": {}, "failures": [], "tolerated": [], "drift": [],
    }

    def group(series, types):
        out = {}
        for key in series:
            fam = family_of(key[0], types)
            col = collector_of(fam)
            if col in both:
                out.setdefault(col, {})[key] = fam
        return out

    # Stable node_exporter series: present in both of its scrapes.
    ne_stable = {k: v for k, v in ne_before.items() if k in ne_after}
    ne_by = group(ne_stable, ne_types)
    bp_by = group(bp, bp_types)
    for col in both:
        ne_keys, bp_keys = ne_by.get(col, {}), bp_by.get(col, {})
        missing = sorted(set(ne_keys) - set(bp_keys), key=series_text)
        extra = sorted(set(bp_keys) - set(ne_keys), key=series_text)
        common = set(ne_keys) & set(bp_keys)
        values_bad = []
        for key in sorted(common, key=series_text):
            fam = ne_keys[key]
            lo, hi, got = ne_before[key], ne_after[key], bp[key]
            if any(math.isnan(v) for v in (lo, hi, got)):
                continue
            kind = ne_types.get(fam, "untyped")
            if is_constant(fam):
                ok = close(lo, got) and close(hi, got)
                what = f"constant: node_exporter {lo!r} / {hi!r}, bpfpush {got!r}"
            else:
                slack = COUNTER_SLACK.get(fam, 0.0) if kind == "counter" else 0.0
                a, b = min(lo, hi), max(lo, hi)
                ok = a - slack - 1e-9 * abs(a) <= got <= b + 1e-9 * abs(b) + 1e-12
                what = (f"{kind}: bpfpush {got!r} outside node_exporter's reads "
                        f"[{lo!r}, {hi!r}]")
            if ok:
                continue
            entry = (series_text(key), what)
            reason = known(key, fam)
            if reason:
                res["tolerated"].append((col, *entry, reason))
            elif is_constant(fam) or kind == "counter":
                values_bad.append(entry)
                res["failures"].append((col, "value", *entry))
            else:
                res["drift"].append((col, *entry))
        missing_hard = []
        for key in missing:
            reason = known(key, ne_keys[key])
            if reason:
                res["tolerated"].append((col, series_text(key), "missing in bpfpush", reason))
            else:
                missing_hard.append(key)
                res["failures"].append((col, "missing", series_text(key), "missing in bpfpush"))
        res["per_collector"][col] = {
            "ne": len(ne_keys), "bp": len(bp_keys), "common": len(common),
            "missing": missing, "missing_hard": missing_hard, "extra": extra,
            "values_bad": values_bad,
        }
    return res


def render(res, timing, versions):
    lines = []
    out = lines.append
    total_ne = sum(p["ne"] for p in res["per_collector"].values())
    total_common = sum(p["common"] for p in res["per_collector"].values())
    share = 100.0 * total_common / total_ne if total_ne else 100.0
    out("bpfpush vs node_exporter parity report")
    out(f"  {versions}")
    out(f"  node_exporter flags beside port and textfile: "
        f"{' '.join(NODE_EXPORTER_UPSTREAM_DEFAULTS)} (upstream's defaults, not Debian's)")
    out(f"  node_exporter read at +0.000 s and +{timing['ne_after']:.3f} s, "
        f"bpfpush ran from +{timing['bp_start']:.3f} s to +{timing['bp_end']:.3f} s")
    out(f"  collectors compared ({len(res['both'])}): {', '.join(res['both']) or '(none)'}")
    out(f"  not implemented in bpfpush: {', '.join(res['not_in_bpfpush']) or '(none)'}")
    out(f"  bpfpush only: {', '.join(res['bpfpush_only']) or '(none)'}")
    failed_here = [c for c in res["both"] if not res["ne_ok"].get(c) or not res["bp_ok"].get(c)]
    for c in failed_here:
        out(f"  note: collector {c}: node_exporter success={res['ne_ok'][c]:g}, "
            f"bpfpush success={res['bp_ok'][c]:g}")
    out(f"  share of node_exporter's series bpfpush also produces: "
        f"{total_common}/{total_ne} = {share:.1f}%")
    out("")
    out(f"  {'collector':<14} {'node_exporter':>13} {'bpfpush':>8} {'common':>7} {'share':>7} "
        f"{'missing':>8} {'extra':>6} {'bad values':>10}")
    for col in res["both"]:
        p = res["per_collector"][col]
        s = f"{100.0 * p['common'] / p['ne']:.1f}%" if p["ne"] else "n/a"
        out(f"  {col:<14} {p['ne']:>13} {p['bp']:>8} {p['common']:>7} {s:>7} "
            f"{len(p['missing']):>8} {len(p['extra']):>6} {len(p['values_bad']):>10}")
    for col in res["both"]:
        p = res["per_collector"][col]
        if not (p["missing"] or p["extra"] or p["values_bad"]):
            continue
        out("")
        out(f"  [{col}]")
        for key in p["missing"]:
            tag = "" if key in p["missing_hard"] else "  (known difference)"
            out(f"    missing in bpfpush: {series_text(key)}{tag}")
        for key in p["extra"]:
            out(f"    extra in bpfpush:   {series_text(key)}")
        for text, what in p["values_bad"]:
            out(f"    value differs:      {text}  {what}")
    if res["tolerated"]:
        out("")
        out("  known differences tolerated:")
        for col, text, what, reason in res["tolerated"]:
            out(f"    [{col}] {text}: {what} -- {reason}")
    if res["drift"]:
        out("")
        out("  gauges outside node_exporter's two reads (reported, not failed):")
        for col, text, what in res["drift"]:
            out(f"    [{col}] {text}  {what}")
    out("")
    out(f"  result: {'PASS' if not res['failures'] else 'FAIL'} "
        f"({len(res['failures'])} unexplained differences)")
    return "\n".join(lines) + "\n"


def node_exporter_version():
    try:
        r = subprocess.run([NODE_EXPORTER, "--version"], capture_output=True, text=True,
                           timeout=10)
        first = (r.stdout or r.stderr).splitlines()[0]
        return first.strip()
    except (OSError, IndexError, subprocess.SubprocessError):
        return "node_exporter (version unknown)"


def test_node_exporter_parity(tmp_path):
    assert os.path.exists(NODE_EXPORTER), \
        "prometheus-node-exporter is not installed (make deps installs it)"
    textfile_dir = tmp_path / "textfile"
    textfile_dir.mkdir()
    config = tmp_path / "bpfpush.yml"
    # Only external defaults: no remote_write, the default collectors, the
    # textfile collector on node_exporter's (empty) directory.
    config.write_text(f"collectors:\n  textfile: {{directory: {textfile_dir}}}\n")

    ne = NodeExporter(str(textfile_dir), str(tmp_path / "node_exporter.log"))
    try:
        ne.wait_ready()
        t0 = time.monotonic()
        before_text = ne.scrape()
        bp_start = time.monotonic() - t0
        bp_text = run_bpfpush(str(config))
        bp_end = time.monotonic() - t0
        after_text = ne.scrape()
        ne_after = time.monotonic() - t0
    finally:
        ne.stop()

    ne_before, ne_types = parse_exposition(before_text)
    ne_after_series, ne_types_after = parse_exposition(after_text)
    ne_types.update({k: v for k, v in ne_types_after.items() if k not in ne_types})
    bp, bp_types = parse_exposition(bp_text)

    res = compare(ne_before, ne_after_series, ne_types, bp, bp_types)
    report = render(res, {"bp_start": bp_start, "bp_end": bp_end, "ne_after": ne_after},
                    f"{node_exporter_version()}; bpfpush {BIN}")
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    with open(REPORT, "w") as f:
        f.write(report)
    print("\n" + report)

    assert res["both"], "no collector in common: is node_scrape_collector_success emitted?"
    unexplained = "\n".join(f"  [{c}] {kind}: {text} ({what})"
                            for c, kind, text, what in res["failures"])
    assert not res["failures"], \
        f"{len(res['failures'])} differences from node_exporter (report: {REPORT}):\n{unexplained}"


# ---- the parser and the comparison, on their own ------------------------------

def test_parser_and_mapping():
    text = ('# HELP node_x_total X.\n# TYPE node_x_total counter\n'
            'node_x_total{a="1",instance="h",job="bpfpush",e=""} 5\n'
            'node_y{path="C:\\\\d",q="say \\"hi\\"",n="a\\nb"} -Inf 1700000000000\n'
            'node_h_bucket{le="+Inf"} 3\n# TYPE node_h histogram\n'
            'node_z 1e+06\n')
    series, types = parse_exposition(text)
    assert series[("node_x_total", frozenset({("a", "1")}))] == 5
    assert series[("node_y", frozenset({("path", "C:\\d"), ("q", 'say "hi"'),
                                        ("n", "a\nb")}))] == -math.inf
    assert series[("node_z", frozenset())] == 1e6
    assert types == {"node_x_total": "counter", "node_h": "histogram"}
    assert family_of("node_h_bucket", types) == "node_h"
    assert collector_of("node_cpu_seconds_total") == "cpu"
    assert collector_of("node_cpu_scaling_frequency_hertz") == "cpufreq"
    assert collector_of("node_network_transmit_queue_length") == "netclass"
    assert collector_of("node_network_transmit_bytes_total") == "netdev"
    assert collector_of("node_network_up") == "netclass"
    assert collector_of("node_load15") == "loadavg"
    assert collector_of("node_boot_time_seconds") == "stat"
    assert collector_of("go_goroutines") is None
    assert collector_of("bpfpush_cgroup_cpu_usage_seconds_total") is None


def test_compare_finds_differences():
    def s(name, value, **labels):
        return (name, frozenset(labels.items())), value

    ne1 = dict([s("node_scrape_collector_success", 1, collector="cpu"),
                s("node_scrape_collector_success", 1, collector="meminfo"),
                s("node_scrape_collector_success", 1, collector="stat"),
                s("node_cpu_seconds_total", 10.0, cpu="0", mode="idle"),
                s("node_cpu_seconds_total", 1.0, cpu="0", mode="user"),
                s("node_memory_MemTotal_bytes", 1000.0),
                s("node_memory_MemFree_bytes", 500.0)])
    ne2 = dict(ne1)
    ne2.update([s("node_cpu_seconds_total", 12.0, cpu="0", mode="idle"),
                s("node_memory_MemFree_bytes", 510.0)])
    types = {"node_cpu_seconds_total": "counter", "node_memory_MemTotal_bytes": "gauge",
             "node_memory_MemFree_bytes": "gauge"}
    bp = dict([s("node_scrape_collector_success", 1, collector="cpu"),
               s("node_scrape_collector_success", 1, collector="meminfo"),
               s("node_cpu_seconds_total", 11.0, cpu="0", mode="idle"),
               s("node_cpu_seconds_total", 1.0, cpu="1", mode="user"),
               s("node_memory_MemTotal_bytes", 999.0),
               s("node_memory_MemFree_bytes", 600.0)])
    res = compare(ne1, ne2, types, bp, types)
    assert res["both"] == ["cpu", "meminfo"]
    assert res["not_in_bpfpush"] == ["stat"]
    kinds = sorted((c, k, t) for c, k, t, _ in res["failures"])
    assert kinds == [("cpu", "missing", 'node_cpu_seconds_total{cpu="0",mode="user"}'),
                     ("meminfo", "value", "node_memory_MemTotal_bytes{}")]
    assert [k for k in res["per_collector"]["cpu"]["extra"]] == \
        [("node_cpu_seconds_total", frozenset({("cpu", "1"), ("mode", "user")}))]
    assert [t for _, t, _ in res["drift"]] == ["node_memory_MemFree_bytes{}"]
    # A counter below node_exporter's first read is a failure.
    bp[("node_cpu_seconds_total", frozenset({("cpu", "0"), ("mode", "idle")}))] = 9.9
    res = compare(ne1, ne2, types, bp, types)
    assert any(t == 'node_cpu_seconds_total{cpu="0",mode="idle"}' and k == "value"
               for _, k, t, _ in res["failures"])
    text = render(res, {"bp_start": 0.1, "bp_end": 0.2, "ne_after": 0.3}, "test")
    assert "not implemented in bpfpush: stat" in text
    assert 'missing in bpfpush: node_cpu_seconds_total{cpu="0",mode="user"}' in text
    assert "result: FAIL" in text
