# SPDX-License-Identifier: MIT
"""deploy/grafana's dashboards against what bpfpush really pushes.

One agent (the default collectors, every BPF collector, a disk tier, one
relabel rule that drops a series) pushes into a real VictoriaMetrics and a
real Prometheus for RUN_SECONDS at a 1 s interval while a small workload
makes the rarer signals fire (SYNs retransmitted at a full accept queue,
short connections closed by the client, datagrams to a closed port, disk
reads that bypass the page cache, a config reload). Then every target of
every panel, template variables substituted and Grafana's $__ intervals
replaced, is run with query_range over that minute on each: no error, and
no empty result except the targets in CANNOT_FIRE, each with the reason it
cannot fire here. Every expression also passes promtool's parser.

The structure test needs no agent: the JSON Grafana imports (ids, gridPos,
datasource references, template variables), and that dashboards.py still
writes exactly the committed files, and tsc checks every field they set
against Grafana's own TypeScript types (@grafana/schema 10.4). There is no
Grafana in Debian to import them into."""
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse

from conftest import ROOT, config_text
from receivers import http_get

DASHBOARDS = os.path.join(ROOT, "deploy", "grafana")
NAMES = ("host", "bpf", "agent")
RUN_SECONDS = 50
CLUSTER = "grafana-test"
VARIABLES = ("datasource", "cluster", "job", "instance")
# Grafana's built-in intervals, as a 1 s scrape interval makes them.
GRAFANA_INTERVALS = {"$__rate_interval": "30s", "$__interval": "5s", "$__range": "60s"}

# (dashboard, panel title, refId): why the target has no data on this host.
CANNOT_FIRE = {
    ("bpf", "Listen overflows by port", "A"):
        "a final ACK refused at a full accept queue needs a delay between SYN and ACK "
        "that loopback has not (SYNs are refused instead, and retransmitted: the "
        "retransmit and listen-drop panels see those); test_bpf_skb_drops.py makes them "
        "in namespaces behind a slow veth",
}
if not os.path.exists("/proc/schedstat"):
    CANNOT_FIRE[("host", "Run queue wait (schedstat)", "A")] = \
        "this kernel has no /proc/schedstat (CONFIG_SCHEDSTATS off)"
if not os.path.exists("/sys/fs/cgroup/cgroup.subtree_control"):
    CANNOT_FIRE[("bpf", "Writeback inode switches", "A")] = \
        "inode writeback switches need cgroup v2 writeback; this host's hierarchy is " \
        "not pure cgroup v2"
# Targets that list trouble: empty on a healthy host, but they must still run.
EMPTY_WHEN_HEALTHY = {
    ("agent", "Collectors failing now", "A"),
}


def load(name):
    with open(os.path.join(DASHBOARDS, name + ".json")) as f:
        return json.load(f)


def panels(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


def targets(name):
    """(dashboard, panel title, refId, expr) of every query target."""
    for p in panels(load(name)):
        for t in p.get("targets", []):
            yield name, p["title"], t["refId"], t["expr"]


def metric_names(expr):
    """The metric names an expression selects (the word before a {)."""
    return set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{", expr))


# ---- structure --------------------------------------------------------------

def check_gridpos(name, dash):
    cells = {}
    for p in dash["panels"]:
        g = p["gridPos"]
        assert set(g) == {"h", "w", "x", "y"}, (name, p["title"])
        assert all(isinstance(v, int) and v >= 0 for v in g.values()), (name, p["title"])
        assert g["w"] >= 1 and g["h"] >= 1 and g["x"] + g["w"] <= 24, (name, p["title"])
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, (name, p["title"], "overlaps", cells[(x, y)])
                cells[(x, y)] = p["title"]


def check_variables(name, dash):
    tvars = {v["name"]: v for v in dash["templating"]["list"]}
    assert tuple(tvars) == VARIABLES, (name, list(tvars))
    assert tvars["datasource"]["type"] == "datasource"
    assert tvars["datasource"]["query"] == "prometheus"
    for v in VARIABLES[1:]:
        assert tvars[v]["type"] == "query", (name, v)
        assert tvars[v]["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert tvars[v]["query"].startswith("label_values("), (name, v)
        assert tvars[v]["definition"] == tvars[v]["query"], (name, v)
        assert tvars[v]["includeAll"] and tvars[v]["allValue"] == ".*", (name, v)


def check_panel(name, p):
    ds = {"type": "prometheus", "uid": "${datasource}"}
    assert p["type"] in ("row", "timeseries", "stat", "heatmap", "table"), (name, p)
    assert p["title"], (name, p["id"])
    if p["type"] == "row":
        assert p["gridPos"]["w"] == 24 and not p["panels"], (name, p["title"])
        return
    assert p["datasource"] == ds, (name, p["title"])
    refs = [t["refId"] for t in p["targets"]]
    assert refs and len(refs) == len(set(refs)), (name, p["title"], refs)
    for t in p["targets"]:
        assert t["datasource"] == ds, (name, p["title"], t["refId"])
        # Every selector is narrowed by the three variables.
        for sel in re.findall(r"\{[^}]*\}", t["expr"]):
            if sel.startswith("{{"):
                continue
            for v in VARIABLES[1:]:
                assert '%s=~"$%s"' % (v, v) in sel, (name, p["title"], t["expr"])
    if p["type"] == "heatmap":
        (t,) = p["targets"]
        assert t["format"] == "heatmap" and t["legendFormat"] == "{{le}}", (name, p["title"])
        assert "_bucket{" in t["expr"] and "by (le)" in t["expr"], (name, p["title"])
        assert p["options"]["calculate"] is False, (name, p["title"])


def test_dashboards_structure(tmp_path):
    uids = set()
    for name in NAMES:
        dash = load(name)
        assert dash["schemaVersion"] >= 36 and dash["id"] is None, name
        assert dash["uid"] not in uids and len(dash["uid"]) <= 40, name
        uids.add(dash["uid"])
        ids = [p["id"] for p in panels(dash)]
        assert len(ids) == len(set(ids)), (name, ids)
        check_gridpos(name, dash)
        check_variables(name, dash)
        for p in panels(dash):
            check_panel(name, p)
        # Only ${datasource} is a datasource: no __inputs left to fill in.
        assert "DS_" not in json.dumps(dash) and "__inputs" not in dash, name
    # The committed JSON is what the generator writes.
    copy = tmp_path / "grafana"
    copy.mkdir()
    script = os.path.join(DASHBOARDS, "dashboards.py")
    (copy / "dashboards.py").write_text(open(script).read())
    subprocess.run([sys.executable, str(copy / "dashboards.py")], check=True)
    for name in NAMES:
        assert json.loads((copy / (name + ".json")).read_text()) == load(name), \
            "%s.json differs from what dashboards.py writes: run it" % name


NPM_MODULES = os.path.join(ROOT, "build", "npm-grafana", "node_modules")
SCHEMA = "@grafana/schema/dist/esm/raw/composable/"
PANEL_TYPES = {"timeseries": "timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen",
               "stat": "stat/panelcfg/x/StatPanelCfg_types.gen",
               "table": "table/panelcfg/x/TablePanelCfg_types.gen",
               "heatmap": "heatmap/panelcfg/x/HeatmapPanelCfg_types.gen"}
# Grafana's TypeScript types of the dashboard, its panels' options and the
# Prometheus query, with string enums as their values (JSON has no enums)
# and every field optional (Grafana fills in what is left out): what is
# checked is that each field set exists there, with the right type.
TS_HEAD = """import type { Dashboard } from '@grafana/schema';
import type { PrometheusDataQuery } from '%sprometheus/dataquery/x/PrometheusDataQuery_types.gen';
%s
type Loose<T> = T extends string ? `${T}` : T extends (infer U)[] ? Loose<U>[] :
  T extends object ? { [K in keyof T]?: Loose<T[K]> } : T;
"""


def typescript_of(name, dash):
    """Each dashboard, panel options, field config and target as a typed
    constant, for tsc to check."""
    dash = json.loads(json.dumps(dash))
    for v in dash["templating"]["list"]:
        # Grafana writes "definition" for a query variable (the query as the
        # editor shows it); the schema's VariableModel does not name it.
        v.pop("definition", None)
    out = ["export const %s: Loose<Dashboard> = %s;" % (name, json.dumps(dash))]
    for p in panels(dash):
        if p["type"] == "row":
            continue
        k = "%s_%d" % (name, p["id"])
        out.append("export const %s_options: Loose<%s.Options> = %s;"
                   % (k, p["type"], json.dumps(p["options"])))
        if "custom" in p["fieldConfig"]["defaults"]:
            out.append("export const %s_custom: Loose<%s.FieldConfig> = %s;"
                       % (k, p["type"], json.dumps(p["fieldConfig"]["defaults"]["custom"])))
        for t in p["targets"]:
            out.append("export const %s_%s: Loose<PrometheusDataQuery> = %s;"
                       % (k, t["refId"], json.dumps(t)))
    return out


def test_dashboards_match_grafanas_types(tmp_path):
    assert os.path.isdir(os.path.join(NPM_MODULES, "@grafana", "schema")), \
        "@grafana/schema missing: `make npm-deps` installs it in build/npm-grafana"
    imports = "".join("import type * as %s from '%s%s';\n" % (t, SCHEMA, f)
                      for t, f in PANEL_TYPES.items())
    lines = [TS_HEAD % (SCHEMA, imports)]
    for name in NAMES:
        lines += typescript_of(name, load(name))
    (tmp_path / "dashboards.ts").write_text("\n".join(lines) + "\n")
    (tmp_path / "tsconfig.json").write_text(json.dumps({
        "compilerOptions": {"strict": True, "noEmit": True, "target": "es2020",
                            "module": "es2020", "moduleResolution": "node",
                            "skipLibCheck": True, "types": [], "baseUrl": NPM_MODULES,
                            "paths": {"*": ["*"]}},
        "files": ["dashboards.ts"]}))
    tsc = os.path.join(NPM_MODULES, "typescript", "bin", "tsc")
    out = subprocess.run(["node", tsc, "-p", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr


def test_queries_parse_as_promql(tmp_path):
    """VictoriaMetrics' MetricsQL takes more than PromQL does: every target
    (and variable query's selector) also goes through Prometheus' own
    parser, as recording rules that promtool checks."""
    exprs = [substitute(e, "host") for name in NAMES for _, _, _, e in targets(name)]
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": "dashboard:query%d" % i, "expr": e} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "rules.yml"
    path.write_text(json.dumps(rules))  # JSON is YAML
    out = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: %d rules found" % len(exprs) in out.stdout, out.stdout


def test_exempt_names_are_emitted_by_the_agent():
    """A target CANNOT_FIRE exempts still names series the agent's source
    emits (so the exemption is about this host, not a typo)."""
    sources = []
    for d in ("bpf", "collectors", "agent"):
        for f in os.listdir(os.path.join(ROOT, d)):
            if f.endswith(".c"):
                sources.append(open(os.path.join(ROOT, d, f)).read())
    text = "\n".join(sources)
    for name in NAMES:
        for dash, title, ref, expr in targets(name):
            if (dash, title, ref) not in CANNOT_FIRE:
                continue
            for m in metric_names(expr):
                base = re.sub(r"_total$", "", m)
                assert base in text, (title, m)


# ---- against a real VictoriaMetrics -------------------------------------------

def full_accept_queue(stop):
    """A listener that never accepts, and clients that find its queue full:
    their SYNs are refused and retransmitted after 1 s and 3 s (TCP
    retransmits in SYN_SENT, listen drops by port). Reset every 3.5 s, so
    that new ones keep coming."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    try:
        while not stop.is_set():
            clients = []
            for _ in range(5):
                c = socket.socket()
                c.setblocking(False)
                c.connect_ex(("127.0.0.1", port))
                clients.append(c)
            stop.wait(3.5)
            for c in clients:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                c.close()
    finally:
        listener.close()


def short_connections(stop):
    """Twice a second a connection that sends a little and that the
    client closes first (TIME_WAIT by remote port, state transitions,
    lifetimes, sendmsg sizes), and a UDP datagram to a port nobody listens
    on (a drop with reason NO_SOCKET): signals a quiet host has none of."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    closed = probe.getsockname()
    probe.close()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        while not stop.wait(0.5):
            with socket.create_connection(listener.getsockname(), 2) as c:
                c.sendall(b"x" * 1000)
                try:
                    server, _ = listener.accept()
                except socket.timeout:
                    continue
            server.recv(4096)
            server.close()
            try:
                udp.sendto(b"x", closed)
            except OSError:
                pass  # ECONNREFUSED from an earlier datagram's ICMP error
    finally:
        udp.close()
        listener.close()


def disk_reads(path, stop):
    """Writes a file once, then reads it with O_DIRECT now and then:
    requests the block layer sees in both directions."""
    subprocess.run(["dd", "if=/dev/urandom", "of=%s" % path, "bs=1M", "count=4",
                    "oflag=direct", "status=none"], check=True)
    while not stop.wait(2):
        subprocess.run(["dd", "if=%s" % path, "of=/dev/null", "bs=64k", "iflag=direct",
                        "status=none"], check=True)


def query_range(rx, expr, start, end):
    q = urllib.parse.urlencode({"query": expr, "start": "%.3f" % start, "end": "%.3f" % end,
                                "step": "5s"})
    try:
        return json.loads(http_get("%s/api/v1/query_range?%s" % (rx.base, q)))
    except urllib.error.HTTPError as err:  # a bad query gets a 4xx
        return {"status": "error", "error": err.read().decode(errors="replace")}


def substitute(expr, hostname):
    values = {"$cluster": CLUSTER, "$job": "bpfpush", "$instance": re.escape(hostname)}
    values.update(GRAFANA_INTERVALS)
    for k in sorted(values, key=len, reverse=True):
        expr = expr.replace(k, values[k])
    assert "$" not in expr, expr
    return expr


def agent_config(urls, tmp_path):
    extra = ("bpf:\n  softirq: {}\n  timers: {}\n  syscalls: {}\n")
    text = config_text(urls, collectors="textfile: false", interval="1s",
                       queue="batch_send_deadline: 1s", extra=extra,
                       data_dir=str(tmp_path / "data"))
    return text.replace("global:\n", "global:\n  external_labels: {cluster: %s}\n"
                        "  relabel_configs:\n    - {source_labels: [__name__], "
                        "regex: node_time_clocksource_available_info, action: drop}\n"
                        % CLUSTER, 1)


def run_workload(agent_proc, tmp_path):
    stop = threading.Event()
    threads = [threading.Thread(target=full_accept_queue, args=(stop,), daemon=True),
               threading.Thread(target=short_connections, args=(stop,), daemon=True),
               threading.Thread(target=disk_reads, args=(str(tmp_path / "blocks"), stop),
                                daemon=True)]
    for t in threads:
        t.start()
    start = time.monotonic()
    reloaded = False
    while time.monotonic() - start < RUN_SECONDS:
        assert agent_proc.poll() is None, "the agent exited"
        if not reloaded and time.monotonic() - start > RUN_SECONDS / 2:
            agent_proc.send_signal(1)  # SIGHUP: a reload, for the config panels
            reloaded = True
        time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(10)


def newest_round_ms(rx):
    """When the newest round rx can answer for was collected (ms)."""
    q = urllib.parse.urlencode({"query": "max(timestamp(bpfpush_collection_rounds_total))"})
    if hasattr(rx, "export"):  # VictoriaMetrics: rows are searchable after a flush
        http_get(rx.base + "/internal/force_flush")
    res = json.loads(http_get("%s/api/v1/query?%s" % (rx.base, q)))["data"]["result"]
    return float(res[0]["value"][1]) * 1000 if res else 0


def wait_searchable(rx, since, timeout=15):
    """Waits until rx answers with a round the agent collected at or after
    since (VictoriaMetrics: fresh rows take about a second)."""
    deadline = time.monotonic() + timeout
    while newest_round_ms(rx) < since * 1000:
        if time.monotonic() > deadline:
            raise TimeoutError("no round after %.3f in %s" % (since, rx.base))
        time.sleep(0.2)


def check_variable_queries(rx, hostname):
    """Each template variable's label_values() finds the value it should."""
    want = {"cluster": CLUSTER, "job": "bpfpush", "instance": hostname}
    for name in NAMES:
        for v in load(name)["templating"]["list"][1:]:
            m = re.fullmatch(r"label_values\((.*), (\w+)\)", v["query"])
            match, label = substitute(m.group(1), hostname), m.group(2)
            q = urllib.parse.urlencode({"match[]": match})
            body = json.loads(http_get("%s/api/v1/label/%s/values?%s" % (rx.base, label, q)))
            assert want[label] in body["data"], (rx.base, name, v["name"], body)


def check_target(rx, key, expr, start, end):
    """What is wrong with one target's answer from rx, or None."""
    res = query_range(rx, expr, start, end)
    if res.get("status") != "success":
        return "error %s: %s" % (res.get("error"), expr)
    empty = not any(s["values"] for s in res["data"]["result"])
    if key in EMPTY_WHEN_HEALTHY:
        return None
    if key in CANNOT_FIRE:
        # Listed as impossible here; another test running beside this one
        # may still make it fire (BPF sees the whole host): only say so.
        if not empty:
            print("%s fired here after all: %s" % (key, expr))
        return None
    if empty:
        return "empty: " + expr
    if "by (le)" in expr and len(res["data"]["result"]) < 2:
        return "a heatmap of one bucket: " + expr
    return None


def test_every_panel_query_has_data(vm, prom, agent, tmp_path):
    """The agent pushes to both VictoriaMetrics and Prometheus (whose
    PromQL is the stricter of the two); every target is run on each."""
    hostname = socket.gethostname()
    a = agent(agent_config([vm.write_url, prom.write_url], tmp_path)).start(
        "--enable-bpf-stats", "--bpf-stats-duty", "always", follow=True)
    start = time.time()
    run_workload(a.proc, tmp_path)
    stopped = time.time()
    failures, used = [], set()
    for rx, rx_name in ((vm, "VictoriaMetrics"), (prom, "Prometheus")):
        wait_searchable(rx, stopped - 1.5)
        end = time.time()
        check_variable_queries(rx, hostname)
        for dash, title, ref, expr in (t for name in NAMES for t in targets(name)):
            used |= metric_names(expr)
            wrong = check_target(rx, (dash, title, ref), substitute(expr, hostname), start, end)
            if wrong:
                failures.append("%s: %s / %s / %s: %s" % (rx_name, dash, title, ref, wrong))
    assert a.count(msg="config reloaded") == 1, a.lines[-20:]
    rc, _, err = a.stop()
    assert rc == 0, err[-2000:]
    assert not failures, "\n".join(failures)
    # Every name a dashboard uses is one this agent pushed (or is excused).
    pushed = set(json.loads(http_get(vm.base + "/api/v1/label/__name__/values"))["data"])
    excused = set()
    for name in NAMES:
        for d, t, r, e in targets(name):
            if (d, t, r) in CANNOT_FIRE:
                excused |= metric_names(e)
    assert not (used - pushed - excused), sorted(used - pushed - excused)
