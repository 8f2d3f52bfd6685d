# SPDX-License-Identifier: MIT
"""rw2.py, the integration receivers' Remote Write 2.0 decoder: it reads the
agent's encoder's Requests (2000 node_exporter-like series dumped by the
encode bench, with their 1.0 twin), and refuses each broken rule."""
import os
import subprocess

import pytest

import rw2
from conftest import BIN
from receivers import decode_write_request

ENCODE_BENCH = os.path.join(os.path.dirname(BIN), "bench", "encode_bench")


@pytest.fixture
def dumped(tmp_path):
    assert os.path.exists(ENCODE_BENCH), f"{ENCODE_BENCH} missing: make unit builds it"
    v1, v2 = tmp_path / "v1.pb", tmp_path / "v2.pb"
    subprocess.run([ENCODE_BENCH, "--series", "2000", "--dump-v1", str(v1), "--dump-v2", str(v2)],
                   check=True, timeout=60)
    return v1.read_bytes(), v2.read_bytes()


def test_agent_request_decodes_and_equals_its_v1_twin(dumped):
    v1, v2 = dumped
    series = rw2.decode_v2(v2, require_metadata=True)
    assert len(series) == 2000
    assert rw2.counts(series) == (2000, 0)
    assert rw2.as_v1(series) == decode_write_request(v1)
    cpu = series[0]
    assert cpu["labels"]["__name__"] == "node_cpu_seconds_total"
    assert cpu["metadata"] == {"type": 1, "help": "Seconds the CPUs spent in each mode.",
                               "unit": "seconds"}
    assert 0 < cpu["created_timestamp"] <= cpu["samples"][0][0]
    load = next(s for s in series if s["labels"]["__name__"] == "node_load1")
    assert load["metadata"]["type"] == 2 and load["created_timestamp"] == 0


def _request(symbols, refs, **series):
    pb = rw2.pb2()
    req = pb.Request(symbols=symbols)
    ts = req.timeseries.add(labels_refs=refs, **series)
    return req, ts, pb


def _good():
    req, ts, pb = _request(["", "__name__", "up", "job", "node", "help"], [1, 2, 3, 4],
                           created_timestamp=1000)
    ts.metadata.type = pb.Metadata.METRIC_TYPE_COUNTER
    ts.metadata.help_ref = 5
    return req, ts, pb


def test_a_good_request():
    req, ts, _ = _good()
    ts.samples.add(value=1.5, timestamp=2000)
    [s] = rw2.decode_v2(req.SerializeToString(), require_metadata=True)
    assert s == {"labels": {"__name__": "up", "job": "node"}, "samples": [(2000, 1.5)],
                 "histograms": [], "metadata": {"type": 1, "help": "help", "unit": ""},
                 "created_timestamp": 1000}


def _histogram(ts, deltas, count, spans=((-1, 2),)):
    h = ts.histograms.add(count_int=count, sum=1.0, schema=0, zero_count_int=1,
                          positive_deltas=deltas, timestamp=2000)
    for offset, length in spans:
        h.positive_spans.add(offset=offset, length=length)
    return h


def _break(what):
    req, ts, _ = _good()
    if what == "first symbol not empty":
        req.symbols[0] = "x"
    elif what == "symbol twice":
        req.symbols.append("up")
    elif what == "ref out of range":
        ts.labels_refs.append(9)
        ts.labels_refs.append(2)
    elif what == "odd refs":
        ts.labels_refs.append(1)
    elif what == "labels unsorted":
        del ts.labels_refs[:]
        ts.labels_refs.extend([3, 4, 1, 2])
    elif what == "empty value":
        ts.labels_refs[3] = 0
    elif what == "floats and histograms":
        ts.samples.add(value=1, timestamp=2000)
        _histogram(ts, [1, 0], 3)
    elif what == "created after sample":
        ts.samples.add(value=1, timestamp=500)
    elif what == "samples out of order":
        ts.samples.add(value=1, timestamp=3000)
        ts.samples.add(value=1, timestamp=2000)
    elif what == "help ref out of range":
        ts.metadata.help_ref = 6
    elif what == "no metadata":
        ts.samples.add(value=1, timestamp=2000)
        ts.ClearField("metadata")
    elif what == "deltas beyond spans":
        _histogram(ts, [1, 0, 1], 9)
    elif what == "bucket below zero":
        _histogram(ts, [1, -2], 9)
    elif what == "buckets above count":
        _histogram(ts, [2, 1], 4)
    return req.SerializeToString()


@pytest.mark.parametrize("what", [
    "first symbol not empty", "symbol twice", "ref out of range", "odd refs", "labels unsorted",
    "empty value", "floats and histograms", "created after sample", "samples out of order",
    "help ref out of range", "no metadata", "deltas beyond spans", "bucket below zero",
    "buckets above count"])
def test_each_broken_rule_is_refused(what):
    with pytest.raises(rw2.RW2Error):
        rw2.decode_v2(_break(what), require_metadata=True)


def test_the_unbroken_request_passes():
    """What test_each_broken_rule_is_refused breaks passes as it is."""
    rw2.decode_v2(_break("nothing"), require_metadata=True)


def test_histograms_decoded_and_garbage_refused():
    req, ts, _ = _good()
    _histogram(ts, [2, 1], 6)
    [s] = rw2.decode_v2(req.SerializeToString())
    assert rw2.counts([s]) == (0, 1)
    assert s["histograms"][0]["positive_counts"] == [2, 3]
    assert s["histograms"][0]["positive_spans"] == [(-1, 2)]
    with pytest.raises(rw2.RW2Error):
        rw2.decode_v2(b"\x2a\x05\x0a")
