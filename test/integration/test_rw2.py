# SPDX-License-Identifier: MIT
"""Remote Write 2.0 per endpoint (protobuf_message:
io.prometheus.write.v2.Request): what a 2.0 receiver gets (decoded with
protoc's Python output, every rule of the specification checked), the
fall back to 1.0 (a 415; a 2xx without Samples-Written, as the real
Prometheus 2.42 answers) with every sample arriving and none counted twice,
disk records replayed in the format they were written in, partial writes,
a 400, and the 1.0 metadata requests."""
import json
import os
import re
import signal
import time
import urllib.parse

from conftest import log_lines
from receivers import http_get, wait_until
from rw2_receivers import RW2Receiver, last_value

V2 = "io.prometheus.write.v2.Request"
FALLBACK = "the receiver speaks only Remote Write 1.0"


def rw2_config(url, interval="1s", data_dir="", queue="batch_send_deadline: 100ms",
               metadata="send_interval: 1s"):
    return (f"global:\n  interval: {interval}\n  data_dir: \"{data_dir}\"\n"
            "collectors:\n  defaults: false\n  loadavg: {}\n  meminfo: {}\n  cpu: {}\n"
            "bpf:\n  defaults: false\n"
            f"remote_write:\n  - url: {url}\n    name: rw\n    remote_timeout: 10s\n"
            f"    protobuf_message: {V2}\n    queue_config: {{{queue}}}\n"
            f"    metadata_config: {{{metadata}}}\n"
            "http:\n  listen_address: \"\"\n")


def stopped(err):
    """sent= and failed= of the "remote_write stopped" line."""
    line = log_lines(err, msg="remote_write stopped")[-1]
    return {k: int(re.search(rf" {k}=(\d+)", line).group(1)) for k in ("sent", "failed")}


def run(agent, text, until, timeout=20):
    """Runs the agent until until() holds, then stops it: its stderr."""
    a = agent(text).start(follow=True)
    try:
        wait_until(until, timeout, "the receiver's traffic")
    finally:
        rc, _, err = a.stop()
    assert rc == 0, err
    return err


def accepted(requests):
    """Float samples of the requests answered 2xx, and their number."""
    got, n = set(), 0
    for r in requests:
        if r.status is not None and 200 <= r.status < 300:
            got |= r.samples()
            n += r.counts()[0] + r.counts()[1]
    return got, n


def test_a_2_0_receiver_gets_2_0_with_metadata_and_written_counts(agent):
    with RW2Receiver() as rx:
        err = run(agent, rw2_config(rx.url), lambda: len(rx.snapshot()[0]) >= 4)
        requests, errors = rx.snapshot()
    assert errors == [], errors
    assert all(r.v2 for r in requests), [r.headers.get("Content-Type") for r in requests]
    assert not log_lines(err, msg=FALLBACK)
    series = [s for r in requests for s in r.series]
    load = [s for s in series if s["labels"]["__name__"] == "node_load1"]
    assert load and all(s["metadata"]["type"] == 2 and s["metadata"]["help"] for s in load)
    cpu = [s for s in series if s["labels"]["__name__"] == "node_cpu_seconds_total"]
    assert cpu and all(s["metadata"]["type"] == 1 for s in cpu)
    assert all(s["metadata"]["unit"] == "seconds" for s in cpu), cpu[0]["metadata"]
    # 2.0 carries metadata inline: no 1.0 metadata request.
    assert not any(r.metadata for r in requests)
    got, n = accepted(requests)
    assert stopped(err) == {"sent": n, "failed": 0}
    assert last_value(requests, "bpfpush_remote_storage_protocol_version", remote_name="rw") == 2


def test_415_then_1_0_resends_that_batch_and_stays_on_1_0(agent):
    with RW2Receiver(script=lambda n, req: 415 if req.v2 else None) as rx:
        err = run(agent, rw2_config(rx.url),
                  lambda: sum(1 for r in rx.snapshot()[0] if r.metadata) >= 1 and
                  len(rx.snapshot()[0]) >= 5)
        requests, errors = rx.snapshot()
    assert errors == [], errors
    # One 2.0 request: the rest, that batch included, is 1.0.
    assert [r.v2 for r in requests].count(True) == 1 and requests[0].v2, \
        [(r.v2, r.status) for r in requests]
    assert requests[0].status == 415
    first_v1 = next(r for r in requests[1:] if r.series)
    assert first_v1.samples() == requests[0].samples()
    assert first_v1.counts()[0] == requests[0].counts()[0]
    assert len(log_lines(err, msg=FALLBACK)) == 1, log_lines(err, msg=FALLBACK)
    assert "why=unsupported_media_type" in log_lines(err, msg=FALLBACK)[0]
    # Nothing lost, nothing counted twice: sent is what the receiver took.
    got, n = accepted(requests)
    assert requests[0].samples() <= got
    assert stopped(err) == {"sent": n, "failed": 0}
    assert last_value(requests, "bpfpush_remote_storage_protocol_fallbacks_total",
                      remote_name="rw") == 1
    assert last_value(requests, "bpfpush_remote_storage_protocol_version", remote_name="rw") == 1
    # 1.0 now: the families' metadata in requests of their own.
    meta = {m["family"]: m for r in requests for m in r.metadata}
    assert meta["node_load1"]["type"] == 2 and meta["node_load1"]["help"]
    assert meta["node_cpu_seconds_total"]["type"] == 1
    assert all(not r.series for r in requests if r.metadata)


def test_metadata_batched_by_max_samples_per_send(agent):
    with RW2Receiver(script=lambda n, req: 415 if req.v2 else None) as rx:
        run(agent, rw2_config(rx.url, metadata="send_interval: 1s, max_samples_per_send: 3"),
            lambda: sum(1 for r in rx.snapshot()[0] if r.metadata) >= 4)
        requests, _ = rx.snapshot()
    sizes = [len(r.metadata) for r in requests if r.metadata]
    assert max(sizes) == 3, sizes


def test_partial_write_is_counted_not_retried(agent):
    def script(n, req):
        if n == 0:
            f, h = req.counts()
            return RW2Receiver.written(req, floats=f - 5)
        return None

    with RW2Receiver(script=script) as rx:
        def dropped_seen():
            reqs = rx.snapshot()[0]
            return last_value(reqs, "bpfpush_remote_storage_samples_dropped_total",
                              remote_name="rw", reason="partial_write") == 5
        err = run(agent, rw2_config(rx.url), dropped_seen)
        requests, errors = rx.snapshot()
    assert errors == [], errors
    assert all(r.v2 for r in requests)
    first = requests[0].samples()
    assert all(not (r.samples() & first) for r in requests[1:]), "a partial write was retried"
    assert len(log_lines(err, msg="partial write")) == 1
    got, n = accepted(requests)
    assert stopped(err) == {"sent": n - 5, "failed": 0}


def test_a_400_for_2_0_is_dropped_and_counted_not_a_fallback(agent):
    with RW2Receiver(script=lambda n, req: 400 if n == 0 else None) as rx:
        err = run(agent, rw2_config(rx.url), lambda: len(rx.snapshot()[0]) >= 4)
        requests, errors = rx.snapshot()
    assert errors == [], errors
    assert all(r.v2 for r in requests)
    first = requests[0].samples()
    assert all(not (r.samples() & first) for r in requests[1:]), "a 400 was retried"
    assert not log_lines(err, msg=FALLBACK)
    assert len(log_lines(err, msg="refused by the receiver")) == 1
    got, n = accepted(requests)
    assert stopped(err) == {"sent": n, "failed": sum(requests[0].counts())}


def prom_samples(prom, names):
    """{(labels as a sorted tuple, ts_ms)} Prometheus holds for the names."""
    out = set()
    for name in names:
        q = urllib.parse.urlencode({"query": f'{{__name__="{name}"}}[1h]'})
        data = json.loads(http_get(f"{prom.base}/api/v1/query?{q}"))
        for r in data["data"]["result"]:
            labels = tuple(sorted(r["metric"].items()))
            out |= {(labels, int(round(float(t) * 1000))) for t, _ in r["values"]}
    return out


def test_prometheus_2_42_takes_2_0_and_writes_nothing_every_sample_arrives_through_1_0(
        prom, agent):
    with RW2Receiver(upstream=prom.write_url) as rx:
        err = run(agent, rw2_config(rx.url),
                  lambda: sum(1 for r in rx.snapshot()[0] if r.metadata) >= 1 and
                  len(rx.snapshot()[0]) >= 5)
        requests, errors = rx.snapshot()
    assert errors == [], errors
    # Prometheus 2.42 answered the 2.0 request 204 with no Samples-Written.
    assert requests[0].v2 and requests[0].status == 204
    assert "X-Prometheus-Remote-Write-Samples-Written" not in requests[0].reply_headers
    assert [r.v2 for r in requests].count(True) == 1
    line = log_lines(err, msg=FALLBACK)
    assert len(line) == 1 and "why=no_samples_written_header" in line[0], line
    got, n = accepted(requests)
    want = got | requests[0].samples()   # the 2.0 batch's own, resent as 1.0
    names = {dict(labels)["__name__"] for labels, _ in want}
    time.sleep(1)
    have = prom_samples(prom, names)
    missing = want - have
    assert not missing, f"{len(missing)} of {len(want)} missing, e.g. {sorted(missing)[:3]}"
    # Counted once: the 2.0 request Prometheus took but did not write is
    # not among what was sent.
    assert stopped(err)["sent"] == n - sum(requests[0].counts())
    # The metadata requests were taken (2.42 keeps no remote-write
    # metadata: /api/v1/metadata only shows scraped targets').
    meta = [r for r in requests if r.metadata]
    assert meta and all(200 <= r.status < 300 for r in meta)


def test_disk_records_keep_their_format_and_replay_through_the_fallback(agent, tmp_path):
    """Records written as 2.0 while the receiver was down are sent, after
    it comes back speaking only 1.0, transcoded: every sample arrives."""
    down_until = time.monotonic() + 3

    def script(n, req):
        if time.monotonic() < down_until:
            return 503
        return 415 if req.v2 else None

    with RW2Receiver(script=script) as rx:
        cfg = rw2_config(rx.url, data_dir=str(tmp_path / "data"),
                         queue="batch_send_deadline: 100ms, min_backoff: 50ms, "
                               "max_backoff: 200ms, catchup_jitter: 0s")
        err = run(agent, cfg, lambda: time.monotonic() > down_until + 3 and
                  any(r.status == 204 and not r.v2 and r.series for r in rx.snapshot()[0]))
        requests, errors = rx.snapshot()
    assert errors == [], errors
    assert log_lines(err, msg="buffering on disk"), err
    refused = set()
    for r in requests:
        if r.status == 503:
            assert r.v2
            refused |= r.samples()
    got, _ = accepted(requests)
    assert refused and not refused - got, f"{len(refused - got)} samples lost"
    assert len(log_lines(err, msg=FALLBACK)) == 1


def test_a_reload_tries_2_0_again(agent):
    """Fallen back to 1.0, an endpoint a reload keeps tries 2.0 again (the
    receiver may have been upgraded); this one still answers 415."""
    with RW2Receiver(script=lambda n, req: 415 if req.v2 else None) as rx:
        a = agent(rw2_config(rx.url)).start(follow=True)
        try:
            assert a.wait_for(1, 15, msg=FALLBACK)
            wait_until(lambda: any(not r.v2 and r.series for r in rx.snapshot()[0]), 10,
                       "1.0 after the fallback")
            os.kill(a.proc.pid, signal.SIGHUP)
            assert a.wait_for(1, 15, msg="config reloaded")
            assert a.wait_for(2, 15, msg=FALLBACK)
            wait_until(lambda: len([r for r in rx.snapshot()[0] if r.series]) >= 4, 10,
                       "1.0 after the second fallback")
        finally:
            rc, _, err = a.stop()
        requests, errors = rx.snapshot()
    assert rc == 0 and errors == [], errors
    v2 = [i for i, r in enumerate(requests) if r.v2]
    assert len(v2) == 2 and all(requests[i].status == 415 for i in v2), v2
    # Each 415'd batch went again as 1.0, and nothing was counted twice.
    got, n = accepted(requests)
    assert all(requests[i].samples() <= got for i in v2)
    assert stopped(err) == {"sent": n, "failed": 0}


def test_records_written_as_2_0_replay_as_1_0_after_a_config_change(agent, tmp_path):
    """A 2.0 endpoint's backlog on disk, then a restart configured for 1.0
    (the same name and URL: the same disk directory): the records say they
    are 2.0 and go out transcoded, 1.0 headers and body, all of them."""
    data = str(tmp_path / "data")
    queue = "batch_send_deadline: 100ms, min_backoff: 50ms, max_backoff: 200ms, " \
            "catchup_jitter: 0s"
    with RW2Receiver(script=lambda n, req: 503) as down:
        run(agent, rw2_config(down.url, data_dir=data, queue=queue),
            lambda: len(down.snapshot()[0]) >= 4)
        refused = set().union(*(r.samples() for r in down.snapshot()[0]))
        port = down.server.server_address[1]
    assert refused and all(r.v2 for r in down.snapshot()[0])
    with RW2Receiver(script=lambda n, req: 415 if req.v2 else None, port=port) as up:
        v1 = rw2_config(down.url, data_dir=data, queue=queue).replace(
            f"    protobuf_message: {V2}\n", "")
        err = run(agent, v1, lambda: refused <= accepted(up.snapshot()[0])[0])
        requests, errors = up.snapshot()
    assert errors == [] and not any(r.v2 for r in requests), errors
    assert log_lines(err, msg="replaying what the last run left on disk")
    assert not log_lines(err, msg=FALLBACK)


def test_a_1_0_endpoint_sends_metadata_every_send_interval_unless_told_not_to(agent):
    v1 = rw2_config("URL").replace(f"    protobuf_message: {V2}\n", "")
    with RW2Receiver() as rx:
        t0 = time.monotonic()
        run(agent, v1.replace("URL", rx.url),
            lambda: sum(1 for r in rx.snapshot()[0] if r.metadata) >= 2)
        requests, errors = rx.snapshot()
    assert errors == [] and not any(r.v2 for r in requests)
    meta = [r for r in requests if r.metadata]
    # The first one send_interval (1s) after the start, then every 1s.
    assert meta[0].t - t0 >= 1.0 and meta[1].t - meta[0].t >= 0.9, \
        [r.t - t0 for r in meta]
    assert {m["family"] for m in meta[0].metadata} >= {"node_load1", "node_cpu_seconds_total"}
    off = v1.replace("send_interval: 1s", "send: false, send_interval: 1s")
    with RW2Receiver() as rx:
        t0 = time.monotonic()
        run(agent, off.replace("URL", rx.url), lambda: time.monotonic() - t0 > 3)
        requests, _ = rx.snapshot()
    assert requests and not any(r.metadata for r in requests)
