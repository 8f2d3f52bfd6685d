# SPDX-License-Identifier: MIT
"""Relabeling wired end to end into a real VictoriaMetrics: global
relabel_configs once for every endpoint (before external labels, "__"
labels removed), and per endpoint write_relabel_configs (after external
labels), two endpoints receiving the same round differently."""
import os
import time

import pytest

from conftest import SAN_BIN, config_text
from test_series_churn import N, Churner
from test_reload import Reloadable, metric, post
from test_queue_faults import wait

BODY = ('# TYPE app_requests_total counter\n'
        'app_requests_total{path="/a",code="200"} 5\n'
        'app_requests_total{path="/b",code="500"} 7\n'
        'app_debug_info{x="1"} 1\n')

GLOBAL_RULES = """  external_labels: {cluster: prod}
  relabel_configs:
    - {source_labels: [__name__], regex: app_debug_.*, action: drop}
    - {source_labels: [code], target_label: __tmp_code}
    - {source_labels: [__tmp_code], regex: "5..", target_label: failed, replacement: "yes"}
"""

ENDPOINTS = """remote_write:
  - url: {url}?extra_label=ep=a
    name: a
    queue_config: {{batch_send_deadline: 200ms}}
    write_relabel_configs:
      - {{source_labels: [path], regex: /b, action: drop}}
      - {{source_labels: [cluster], target_label: seen_cluster}}
  - url: {url}?extra_label=ep=b
    name: b
    queue_config: {{batch_send_deadline: 200ms}}
    write_relabel_configs:
      - {{source_labels: [__name__], regex: "app_(.*)", target_label: __name__,
          replacement: "renamed_$1"}}
      - {{regex: code, action: labeldrop}}
"""


def relabel_config(tmp_path, url, global_rules=GLOBAL_RULES, endpoints=ENDPOINTS,
                   interval="15s"):
    tdir = tmp_path / "textfile"
    tdir.mkdir(exist_ok=True)
    (tdir / "app.prom").write_text(BODY)
    text = config_text([], collectors=f"textfile: {{directory: {tdir}}}", interval=interval,
                       extra='http: {listen_address: ""}\n')
    text = text.replace("global:\n", "global:\n" + global_rules, 1)
    return text + endpoints.format(url=url)


def labels(found):
    """The label sets of an export, without the VictoriaMetrics' own."""
    out = []
    for f in found:
        m = dict(f["metric"])
        for k in ("instance", "job"):
            m.pop(k)
        out.append(m)
    return in_order(out)


def in_order(sets):
    return sorted(sets, key=lambda m: sorted(m.items()))


def test_two_endpoints_receive_the_round_through_their_own_rules(vm, agent, tmp_path):
    r = agent(relabel_config(tmp_path, vm.write_url)).run("--once")
    assert r.returncode == 0, r.stderr

    a = labels(vm.export('{ep="a",__name__=~"app_.*|renamed_.*"}'))
    assert a == [{"__name__": "app_requests_total", "cluster": "prod", "code": "200",
                  "ep": "a", "path": "/a", "seen_cluster": "prod"}]
    b = labels(vm.export('{ep="b",__name__=~"app_.*|renamed_.*"}', min_samples=2))
    assert b == in_order([
        {"__name__": "renamed_requests_total", "cluster": "prod", "ep": "b", "path": "/a"},
        {"__name__": "renamed_requests_total", "cluster": "prod", "ep": "b",
         "failed": "yes", "path": "/b"}])
    # Dropped by the global rules: neither endpoint has it.
    assert vm.export('{__name__=~".*debug_info"}', timeout=1) == []
    # The global counter of the round: app_debug_info, dropped by a rule.
    dropped = vm.export('bpfpush_relabel_dropped_series_total{ep="a",reason="rule"}')
    assert [d["values"] for d in dropped if "remote_name" not in d["metric"]] == [[1]]


def count(vm, match):
    return sum(len(f["values"]) for f in vm.export(match, min_samples=0, timeout=0))


def test_a_reloaded_endpoint_rules_apply_and_global_rules_wait_for_a_restart(
        vm, agent, tmp_path):
    """An endpoint whose write_relabel_configs change restarts with a view
    of its new rules; changed global.relabel_configs keep the running ones
    (restart_required, the key in the log)."""
    cfg = relabel_config(tmp_path, vm.write_url, interval="300ms")
    r = Reloadable(agent, cfg).start()
    wait(lambda: count(vm, '{ep="a",path="/a"}') > 0, 15, "endpoint a's first samples")
    assert count(vm, '{ep="a",path="/b"}') == 0
    # Endpoint a's rules dropped /b: counted under its remote_name.
    sel = 'bpfpush_relabel_dropped_series_total{ep="a",remote_name="a",reason="rule"}'
    wait(lambda: any(1 in f["values"] for f in vm.export(sel, min_samples=0, timeout=0)),
         15, "endpoint a's dropped series counted")

    new = cfg.replace("regex: /b, action: drop", "regex: /a, action: drop")
    new = new.replace("regex: app_debug_.*, action: drop", "regex: nothing, action: drop")
    assert new.count("nothing") == 1 and "regex: /a," in new
    r.write(new)
    status, body = post(r.base)
    assert status == 200, body
    wait(lambda: count(vm, '{ep="a",path="/b"}') > 0, 15, "endpoint a's new rules")
    assert metric(r.base, "bpfpush_config_reload_restart_required") == 1
    assert "key=global.relabel_configs" in r.err()
    time.sleep(1)  # rounds under the reloaded config: the global rules are the running ones
    assert count(vm, '{__name__="app_debug_info"}') == 0
    # The new view alone: no /a sample after the first /b one.
    a_ts = [t for f in vm.export('{ep="a",path="/a"}') for t in f["timestamps"]]
    b_ts = [t for f in vm.export('{ep="a",path="/b"}') for t in f["timestamps"]]
    assert max(a_ts) < min(b_ts), (a_ts, b_ts)
    rc, _, err = r.a.stop()
    assert rc == 0 and "Sanitizer" not in err, err


def churn_relabel_config(tdir, url):
    return (f"global:\n  interval: 500ms\n  data_dir: \"\"\n"
            f"  relabel_configs:\n    - {{source_labels: [id], regex: \".*[13579]\", action: drop}}\n"
            f"http: {{listen_address: \"\"}}\n"
            f"collectors:\n  defaults: false\n  textfile: {{directory: {tdir}}}\n"
            f"bpf:\n  defaults: false\n"
            f"remote_write:\n  - url: {url}\n    remote_timeout: 10s\n"
            f"    queue_config: {{capacity: 20000, batch_send_deadline: 200ms}}\n"
            f"    write_relabel_configs:\n      - {{target_label: via, replacement: view}}\n")


def test_churn_through_global_rules_and_a_view_under_sanitizers(vm, agent, tmp_path):
    """Label churn where the global rules drop half the series and an
    endpoint's view relabels the rest: dropped nodes and views' results are
    forgotten and freed while queued samples may point at them (ASan), and
    each kept series ends in its stale marker, through the view."""
    if not os.path.exists(SAN_BIN):
        pytest.skip(f"{SAN_BIN} not built (make BUILD=build/san SAN=1 all)")
    tdir = tmp_path / "textfile"
    tdir.mkdir()
    a = agent(churn_relabel_config(tdir, vm.write_url), binary=SAN_BIN).start(follow=True)
    churner = Churner(str(tdir))
    churner.start()
    time.sleep(15)
    churner.stop()
    time.sleep(2)
    rc, _, err = a.stop()
    assert rc == 0, err[-2000:]
    assert "Sanitizer" not in err and "runtime error" not in err, err[-4000:]
    checked = 0
    for gen in range(3, 8):
        found = vm.export(f'churn_metric{{gen="{gen}"}}', min_samples=N // 2, timeout=10)
        if not found:
            continue  # a round skipped this generation
        assert len(found) == N // 2, f"generation {gen}: {len(found)} series"
        for s in found:
            assert int(s["metric"]["id"]) % 2 == 0 and s["metric"]["via"] == "view", s
            assert s["values"][-1] is None and s["values"].count(None) == 1, s
        checked += 1
    assert checked >= 3
