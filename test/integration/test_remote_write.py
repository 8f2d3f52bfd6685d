# SPDX-License-Identifier: MIT
"""End to end: bpfpush -> real receivers, values read back through their
query APIs and compared with what the kernel reported."""
import os
import time

from conftest import (SAN_BIN, config_text, log_lines, now_ms, proc_load1, proc_meminfo)
from receivers import FaultProxy

THREE_HOURS_MS = 3 * 3600 * 1000


def textfile_dir(tmp_path, body):
    d = tmp_path / "textfile"
    d.mkdir()
    (d / "reading.prom").write_text(body)
    return str(d)


def only(series, what):
    assert len(series) == 1, f"{what}: {series}"
    return series[0]


def test_victoriametrics_gets_host_metrics_and_old_timestamps(vm, agent, tmp_path):
    old_ts = now_ms() - THREE_HOURS_MS
    tdir = textfile_dir(tmp_path, "# HELP meter_reading_total A delayed reading.\n"
                                  "# TYPE meter_reading_total counter\n"
                                  f'meter_reading_total{{meter="a b"}} 42.5 {old_ts}\n')
    cfg = config_text([vm.write_url], collectors=(
        "cpu: {}\n  meminfo: {}\n  loadavg: {}\n"
        f"  textfile: {{directory: {tdir}}}"))
    load_before = proc_load1()
    r = agent(cfg).run("--once")
    load_after = proc_load1()
    assert r.returncode == 0, r.stderr

    mem = only(vm.export("node_memory_MemTotal_bytes"), "MemTotal")
    assert mem["values"] == [proc_meminfo("MemTotal")]
    assert mem["metric"]["job"] == "bpfpush"
    assert mem["metric"]["instance"] == os.uname().nodename

    load = only(vm.export("node_load1"), "load1")
    assert load["values"][0] in (load_before, load_after)

    cpus = vm.export('node_cpu_seconds_total{mode="idle"}')
    assert len(cpus) == os.cpu_count()

    old = only(vm.export("meter_reading_total"), "textfile reading")
    assert old["metric"]["meter"] == "a b"
    assert old["timestamps"] == [old_ts]
    assert old["values"] == [42.5]


def test_prometheus_gets_host_metrics(prom, agent):
    before = time.time()
    load_before = proc_load1()
    r = agent(config_text([prom.write_url])).run("--once")
    load_after = proc_load1()
    assert r.returncode == 0, r.stderr
    at = time.time() + 1
    mem = prom.query("node_memory_MemTotal_bytes", at)
    assert len(mem) == 1 and float(mem[0]["value"][1]) == proc_meminfo("MemTotal")
    load = prom.query("node_load1", at)
    assert len(load) == 1 and float(load[0]["value"][1]) in (load_before, load_after)
    stamp = float(prom.query("timestamp(node_load1)", at)[0]["value"][1])
    assert before - 0.001 <= stamp <= at
    assert prom.query("count(node_cpu_seconds_total)", at)[0]["value"][1] == str(8 * os.cpu_count())


def test_prometheus_rejects_a_3h_old_sample_with_400_and_it_is_not_retried(prom, agent, tmp_path):
    # A current sample first, so Prometheus' head starts now and a 3 h old
    # sample falls outside what it accepts (VictoriaMetrics takes it, above).
    r = agent(config_text([prom.write_url], collectors="meminfo: {}")).run("--once")
    assert r.returncode == 0, r.stderr

    old_ts = now_ms() - THREE_HOURS_MS
    tdir = textfile_dir(tmp_path, f"meter_reading_total 7 {old_ts}\n")
    cfg = config_text([prom.write_url], collectors=f"textfile: {{directory: {tdir}}}")
    r = agent(cfg).run("--once", "--log-level", "debug")

    assert r.returncode == 1, "--once exits 1 when a batch was refused"
    refused = log_lines(r.stderr, msg="batch refused", status="400")
    assert len(refused) == 1, r.stderr
    assert "out of bounds" in refused[0], refused[0]
    assert not log_lines(r.stderr, msg="retry"), "a 400 must not be retried"
    stopped = log_lines(r.stderr, msg="remote_write stopped")[0]
    assert "failed=0" not in stopped and "sent=0" in stopped, stopped
    assert prom.query("meter_reading_total", old_ts / 1000) == []


def test_5xx_is_retried_on_the_same_connection_until_it_arrives(vm, agent):
    with FaultProxy(vm.write_url, lambda n: 503 if n < 2 else None) as proxy:
        r = agent(config_text([proxy.url], queue="batch_send_deadline: 200ms, min_backoff: 50ms")
                  ).run("--once")
    assert r.returncode == 0, r.stderr
    assert proxy.errors == []
    assert [req[3] for req in proxy.requests] == [503, 503, 204]
    assert proxy.requests[0][2] == proxy.requests[2][2], "a retry resends the same batch"
    assert proxy.connections == 1, "keep-alive: one connection for all three requests"
    assert log_lines(r.stderr, msg="retry")
    assert only(vm.export("node_memory_MemTotal_bytes"), "MemTotal")["values"] == [
        proc_meminfo("MemTotal")]


def test_4xx_drops_only_that_batch_and_logs_its_body(vm, agent):
    refusal = (400, {}, b"bad things happened \"here\"")
    with FaultProxy(vm.write_url, lambda n: refusal if n == 0 else None) as proxy:
        a = agent(config_text([proxy.url], collectors="loadavg: {}", interval="1s")).start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(proxy.requests) < 3:
            time.sleep(0.1)
        rc, _, err = a.stop()
    assert rc == 0, err
    statuses = [req[3] for req in proxy.requests]
    assert statuses[0] == 400 and all(s == 204 for s in statuses[1:]), statuses
    first_batch = proxy.requests[0][1]
    later = [s for req in proxy.requests[1:] for s in req[1]]
    assert all(s not in later for s in first_batch), "a refused batch is never re-sent"
    dropped = log_lines(err, msg="batch refused", status="400")
    assert len(dropped) == 1 and 'bad things happened \\"here\\"' in dropped[0], err
    accepted = len(proxy.requests) - 1
    assert len(vm.export("node_load1", min_samples=accepted)[0]["values"]) == accepted


def test_sigterm_stops_gracefully_and_flushes(vm, agent):
    a = agent(config_text([vm.write_url], interval="1s",
                          queue="batch_send_deadline: 1h, max_samples_per_send: 100000")).start()
    time.sleep(2.5)
    rc, _, err = a.stop()
    assert rc == 0, err
    assert log_lines(err, msg="bpfpush stopped", not_delivered="0"), err
    # batch_send_deadline 1h: everything that arrived was flushed at SIGTERM.
    assert len(vm.export("node_load1", min_samples=2)[0]["values"]) >= 2


def test_sanitized_build_runs_clean(vm, agent, tmp_path):
    if not os.path.exists(SAN_BIN):
        import pytest
        pytest.skip("no sanitizer build")
    tdir = textfile_dir(tmp_path, "x_total 1\n")
    cfg = config_text([vm.write_url], collectors=(
        f"cpu: {{}}\n  meminfo: {{}}\n  loadavg: {{}}\n  textfile: {{directory: {tdir}}}"))
    r = agent(cfg, binary=SAN_BIN).run("--once")
    assert r.returncode == 0, r.stderr
    assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
