# SPDX-License-Identifier: MIT
"""Relabeling wired end to end into a real VictoriaMetrics: global
relabel_configs once for every endpoint (before external labels, "__"
labels removed), and per endpoint write_relabel_configs (after external
labels), two endpoints receiving the same round differently."""
from conftest import config_text

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


def relabel_config(tmp_path, url, global_rules=GLOBAL_RULES, endpoints=ENDPOINTS):
    tdir = tmp_path / "textfile"
    tdir.mkdir(exist_ok=True)
    (tdir / "app.prom").write_text(BODY)
    text = config_text([], collectors=f"textfile: {{directory: {tdir}}}")
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
