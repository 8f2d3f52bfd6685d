# SPDX-License-Identifier: MIT
"""Remote Write 2.0 for the integration receivers, decoded with protoc's
Python output for proto/write_v2.proto (a different generator than the
agent's hand-written encoder), and checked against the specification's
rules for a Request.

    series = decode_v2(body)             # body: the uncompressed Request
    series = decode_v2_snappy(raw)       # raw: the HTTP body as sent
    floats, histograms = counts(series)  # what Samples-Written etc. answer

decode_v2 raises RW2Error on any broken rule: symbols[0] not "", a symbol
twice, a label ref out of range or an odd number of them, label names not
sorted (or repeated, or empty), an empty label value, float samples and
histograms in one series, samples out of time order, a metadata ref out of
range (or no metadata at all with require_metadata=True), a created
timestamp after a sample, a histogram whose buckets do not match its spans
or add up to more than its count.

The generated module goes to build/py (BPFPUSH_PY_GEN overrides), made by
`make test` or here on first use when missing or older than the .proto.
"""
import importlib
import math
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROTO = os.path.join(ROOT, "proto", "write_v2.proto")
GEN_DIR = os.path.join(ROOT, os.environ.get("BPFPUSH_PY_GEN", "build/py"))
STALE_NAN_BITS = 0x7FF0000000000002

_pb2 = None


class RW2Error(ValueError):
    """A 2.0 Request that breaks one of the specification's rules."""


def _generate():
    """protoc --python_out into a temporary folder, then renamed into place,
    so that concurrent runs never import a half-written module."""
    os.makedirs(GEN_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=GEN_DIR) as tmp:
        subprocess.run(["protoc", "--proto_path", os.path.dirname(PROTO),
                        "--python_out", tmp, PROTO], check=True)
        os.replace(os.path.join(tmp, "write_v2_pb2.py"),
                   os.path.join(GEN_DIR, "write_v2_pb2.py"))


def pb2():
    """The generated module (io.prometheus.write.v2 messages)."""
    global _pb2
    if _pb2 is None:
        out = os.path.join(GEN_DIR, "write_v2_pb2.py")
        if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(PROTO):
            _generate()
        if GEN_DIR not in sys.path:
            sys.path.insert(0, GEN_DIR)
        _pb2 = importlib.import_module("write_v2_pb2")
    return _pb2


def _ref(symbols, ref, what):
    if ref >= len(symbols):
        raise RW2Error(f"{what} ref {ref} out of range ({len(symbols)} symbols)")
    return symbols[ref]


def _labels(symbols, ts):
    refs = list(ts.labels_refs)
    if len(refs) % 2:
        raise RW2Error(f"odd number of label refs: {refs}")
    pairs = [(_ref(symbols, refs[i], "label name"), _ref(symbols, refs[i + 1], "label value"))
             for i in range(0, len(refs), 2)]
    names = [n for n, _ in pairs]
    if any(not n for n in names) or any(not v for _, v in pairs):
        raise RW2Error(f"empty label name or value: {pairs}")
    # Sorted as Prometheus sorts: by bytes, each name once.
    keys = [n.encode() for n in names]
    if any(a >= b for a, b in zip(keys, keys[1:])):
        raise RW2Error(f"label names not sorted or repeated: {names}")
    return dict(pairs)


def _spans_buckets(spans, deltas, side):
    """Absolute bucket counts from deltas; checks they fit the spans."""
    if sum(s.length for s in spans) != len(deltas):
        raise RW2Error(f"{side} spans cover {sum(s.length for s in spans)} buckets, "
                       f"{len(deltas)} deltas")
    counts, running = [], 0
    for d in deltas:
        running += d
        if running < 0:
            raise RW2Error(f"{side} bucket count below zero: deltas {list(deltas)}")
        counts.append(running)
    return counts


def _is_stale(value):
    return math.isnan(value) and struct.unpack("<Q", struct.pack("<d", value))[0] == STALE_NAN_BITS


def _histogram(h):
    pos = _spans_buckets(h.positive_spans, h.positive_deltas, "positive")
    neg = _spans_buckets(h.negative_spans, h.negative_deltas, "negative")
    out = {
        "timestamp": h.timestamp, "count": h.count_int if h.HasField("count_int") else h.count_float,
        "sum": h.sum, "schema": h.schema, "zero_threshold": h.zero_threshold,
        "zero_count": (h.zero_count_int if h.HasField("zero_count_int")
                       else h.zero_count_float),
        "positive_spans": [(s.offset, s.length) for s in h.positive_spans],
        "positive_counts": pos, "negative_spans": [(s.offset, s.length) for s in h.negative_spans],
        "negative_counts": neg, "reset_hint": h.reset_hint, "stale": _is_stale(h.sum),
    }
    if not out["stale"] and out["zero_count"] + sum(pos) + sum(neg) > out["count"]:
        raise RW2Error(f"buckets add up to more than the count: {out}")
    return out


def _metadata(symbols, ts, require_metadata):
    if not ts.HasField("metadata"):
        if require_metadata:
            raise RW2Error("a series without metadata")
        return None
    m = ts.metadata
    return {"type": m.type, "help": _ref(symbols, m.help_ref, "help"),
            "unit": _ref(symbols, m.unit_ref, "unit")}


def _series(symbols, ts, require_metadata):
    if len(ts.samples) and len(ts.histograms):
        raise RW2Error("float samples and histograms in one series")
    s = {
        "labels": _labels(symbols, ts),
        "samples": [(x.timestamp, x.value) for x in ts.samples],
        "histograms": [_histogram(h) for h in ts.histograms],
        "metadata": _metadata(symbols, ts, require_metadata),
        "created_timestamp": ts.created_timestamp,
    }
    stamps = [t for t, _ in s["samples"]] + [h["timestamp"] for h in s["histograms"]]
    if stamps != sorted(stamps):
        raise RW2Error(f"samples out of time order: {stamps}")
    if s["created_timestamp"] and stamps and s["created_timestamp"] > stamps[0]:
        raise RW2Error(f"created timestamp {s['created_timestamp']} after sample {stamps[0]}")
    return s


def decode_v2(body, require_metadata=False):
    """An uncompressed io.prometheus.write.v2.Request -> a list of series,
    each {"labels": {name: value}, "samples": [(ts_ms, value)],
    "histograms": [dict], "metadata": {"type", "help", "unit"} or None,
    "created_timestamp": ms or 0}. Raises RW2Error on a broken rule."""
    req = pb2().Request()
    try:
        req.ParseFromString(bytes(body))
    except Exception as e:  # the generated code's DecodeError
        raise RW2Error(f"not a Request: {e}") from e
    symbols = list(req.symbols)
    if not symbols or symbols[0] != "":
        raise RW2Error(f"symbols must start with the empty string: {symbols[:3]}")
    if len(set(symbols)) != len(symbols):
        dup = sorted({x for x in symbols if symbols.count(x) > 1})
        raise RW2Error(f"symbols repeated: {dup[:5]}")
    return [_series(symbols, ts, require_metadata) for ts in req.timeseries]


def decode_v2_snappy(raw, require_metadata=False):
    import snappy
    return decode_v2(snappy.uncompress(raw), require_metadata)


def counts(series):
    """(float samples, histogram samples) in decoded series."""
    return (sum(len(s["samples"]) for s in series), sum(len(s["histograms"]) for s in series))


def as_v1(series):
    """Float series in receivers.decode_write_request's shape:
    [(labels dict, [(ts_ms, value), ...])], for comparing with 1.0 traffic."""
    return [(s["labels"], s["samples"]) for s in series if s["samples"]]
