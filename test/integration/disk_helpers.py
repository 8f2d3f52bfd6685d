# SPDX-License-Identifier: MIT
"""Helpers for the disk tier's tests (test_disk_tier.py, test_disk_crash.py):
the agent with a data_dir and its own /metrics, a VictoriaMetrics that can be
stopped and started again on the same port and storage, per-series counts
read back from it, and the segment files' record format (queue/disk_internal.h)
for tests that damage them."""
import glob
import json
import os
import re
import struct
import time
import urllib.parse

import snappy

from receivers import decode_write_request, free_port, http_get
from test_queue_faults import config, fields

REC_HDR = 40
REC_MAGIC = 0x31524B44


def disk_config(endpoints, textfile_dir, data_dir, interval="1s", listen=None):
    """test_queue_faults.config with a data_dir (and, listen set, the
    agent's http listener on that address)."""
    text = config(endpoints, textfile_dir, interval)
    text = text.replace('data_dir: ""', f'data_dir: "{data_dir}"', 1)
    if listen:
        text = text.replace('http: {listen_address: ""}',
                            f'http: {{listen_address: "{listen}"}}', 1)
    return text


def listen_address():
    return f"127.0.0.1:{free_port()}"


def write_series(tf, name, n, value=1):
    """n gauges name{i} without timestamps: each round stamps them anew, so
    every round sends each series once."""
    tf.write(f"# TYPE {name} gauge\n" + "".join(f'{name}{{i="{i}"}} {value}\n'
                                                 for i in range(n)))


# ---- the agent's own /metrics ----------------------------------------------

def scrape(listen):
    """{(name, labels text), value} of the agent's /metrics."""
    body = http_get(f"http://{listen}/metrics").decode()
    out = {}
    for line in body.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)", line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def agent_metric(listen, name, **labels):
    """The sum of one metric over the series whose labels include these."""
    total = 0.0
    for (n, l), v in scrape(listen).items():
        if n == name and all(f'{k}="{val}"' in l for k, val in labels.items()):
            total += v
    return total


# ---- VictoriaMetrics stopped and started again ---------------------------------

def vm_down(vm):
    """Stops VictoriaMetrics, keeping its port, storage and log for vm_up."""
    vm.proc.terminate()
    vm.proc.wait(30)


def vm_up(vm):
    if vm.log.closed:  # Server.stop closes it
        vm.log = open(os.path.join(vm.dir, "server.log"), "a")
    vm.start()


def vm_query(vm, expr):
    http_get(vm.base + "/internal/force_flush")
    q = urllib.parse.urlencode({"query": expr, "nocache": "1"})
    data = json.loads(http_get(f"{vm.base}/api/v1/query?{q}", timeout=60))
    assert data["status"] == "success", data
    return data["data"]["result"]


def count_histogram(vm, name, window_s):
    """{samples a series holds: how many series hold that many} for name."""
    got = vm_query(vm, f'count_values("n", count_over_time({name}[{window_s}s]))')
    return {int(r["metric"]["n"]): int(float(r["value"][1])) for r in got}


def wait_histogram(vm, name, window_s, want, timeout=60):
    """Waits until the histogram is want (VictoriaMetrics makes fresh rows
    searchable within seconds); returns the last one read."""
    deadline = time.monotonic() + timeout
    while True:
        got = count_histogram(vm, name, window_s)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(1)


def wait_total(vm, name, window_s, want, timeout=60):
    """Samples of name VictoriaMetrics holds, once it holds want (or after
    timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        got = vm_query(vm, f"sum(count_over_time({name}[{window_s}s]))")
        got = int(float(got[0]["value"][1])) if got else 0
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(1)


def export_stamps(vm, name, want_samples=1, timeout=30):
    """{series i label: [timestamps, in VictoriaMetrics' order]}."""
    got = vm.export(name, min_samples=want_samples, timeout=timeout)
    return {s["metric"]["i"]: s["timestamps"] for s in got}


# ---- the disk's files ------------------------------------------------------------

def endpoint_dir(data_dir, name):
    found = glob.glob(os.path.join(str(data_dir), "queue", f"{name}-*"))
    assert len(found) == 1, found
    return found[0]


def tree(root):
    """Every path under root, relative, directories ending in '/'."""
    out = []
    for d, dirs, files in os.walk(str(root)):
        rel = os.path.relpath(d, str(root))
        out += [os.path.normpath(os.path.join(rel, x)) + "/" for x in dirs]
        out += [os.path.normpath(os.path.join(rel, x)) for x in files]
    return sorted(out)


def segments(ep_dir):
    return sorted(glob.glob(os.path.join(ep_dir, "*.seg")))


def records(path):
    """[(offset, payload length, samples, flags, payload)] of a segment,
    read with the header format of queue/disk_internal.h."""
    with open(path, "rb") as f:
        data = f.read()
    out, off = [], 0
    while off + REC_HDR <= len(data):
        magic, length, n, flags = struct.unpack_from("<IIII", data, off)
        assert magic == REC_MAGIC, f"{path}: no record at {off}"
        out.append((off, length, n, flags, data[off + REC_HDR:off + REC_HDR + length]))
        off += REC_HDR + length
    assert off == len(data), f"{path}: {len(data) - off} bytes after the last record"
    return out


def record_samples(payload):
    """[(labels, [(ts, value)])] of one record's payload, as it would be sent."""
    return decode_write_request(snappy.uncompress(payload))


def log_fields(err, msg):
    return [f for f in map(fields, err.splitlines()) if f.get("msg") == msg]
