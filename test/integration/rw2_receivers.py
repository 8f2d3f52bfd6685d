# SPDX-License-Identifier: MIT
"""Receivers for Remote Write 2.0 and the fallback to 1.0: one HTTP/1.1
keep-alive server in a thread that takes both protocols, tells them apart
by Content-Type, checks each request's headers and decodes it (2.0 with
protoc's Python output through rw2.py, which raises on every broken rule
of the specification; 1.0 with receivers.decode_write_request, its
metadata too), and answers as a script says: like a 2.0 receiver (2xx
with the X-Prometheus-Remote-Write-*-Written counts), like a 1.x one, with
a fault, or by forwarding the request as it came (headers and body) to a
real receiver."""
import struct
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler

import snappy

import rw2
from receivers import LoopbackServer, _fields, decode_write_request

V2_CONTENT_TYPE = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
V1_HEADERS = {"Content-Type": "application/x-protobuf",
              "X-Prometheus-Remote-Write-Version": "0.1.0"}
V2_HEADERS = {"Content-Type": V2_CONTENT_TYPE,
              "X-Prometheus-Remote-Write-Version": "2.0.0"}
FORWARDED = ("Content-Type", "Content-Encoding", "X-Prometheus-Remote-Write-Version",
             "User-Agent")


def count_v1_histograms(body):
    """Native histogram samples of a 1.0 WriteRequest (TimeSeries field 4),
    which decode_write_request leaves out."""
    return sum(1 for field, _, ts in _fields(body) if field == 1
               for f, _, _ in _fields(ts) if f == 4)


def decode_v1_metadata(body):
    """The MetricMetadata of a 1.0 WriteRequest (field 3): [{type, family,
    help, unit}]."""
    out = []
    for field, _, value in _fields(body):
        if field != 3:
            continue
        m = {"type": 0, "family": "", "help": "", "unit": ""}
        for f, _, v in _fields(value):
            if f == 1:
                m["type"] = v
            elif f in (2, 4, 5):
                m[{2: "family", 4: "help", 5: "unit"}[f]] = v.decode()
        out.append(m)
    return out


class Request:
    """One request as received: v2 (bool), headers, raw body, decoded
    series (rw2's dicts for 2.0; (labels, samples) for 1.0), metadata (1.0
    metadata entries), status answered, response headers."""

    def __init__(self, v2, headers, raw):
        self.t = time.time()
        self.v2, self.headers, self.raw = v2, headers, raw
        self.series, self.metadata = [], []
        self.v1_histograms = 0
        self.status, self.reply_headers = None, {}

    def samples(self):
        """{(labels as a sorted tuple, ts_ms)} of its float samples."""
        pairs = rw2.as_v1(self.series) if self.v2 else self.series
        return {(tuple(sorted(labels.items())), ts) for labels, samples in pairs
                for ts, _ in samples}

    def counts(self):
        """(float samples, histograms) it holds."""
        if self.v2:
            return rw2.counts(self.series)
        return sum(len(s) for _, s in self.series), self.v1_histograms


class RW2Receiver(LoopbackServer):
    """script(n, request) -> None (default: answer as a 2.0 receiver does,
    or forward when upstream is set), an int status, or (status, headers,
    body). requests: every Request in arrival order; errors: what failed
    the checks (answered 400). port: 0 for any free one."""

    def __init__(self, upstream=None, script=lambda n, req: None, port=0):
        self.upstream, self.script = upstream, script
        self.requests, self.errors = [], []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                receiver._handle(self)

        self._serve(Handler, port)

    def _decode(self, handler, raw):
        v2 = handler.headers.get("Content-Type") == V2_CONTENT_TYPE
        req = Request(v2, handler.headers, raw)
        want = dict(V2_HEADERS if v2 else V1_HEADERS, **{"Content-Encoding": "snappy"})
        for k, v in want.items():
            if handler.headers.get(k) != v:
                raise ValueError(f"header {k}: {handler.headers.get(k)!r}, want {v!r}")
        body = snappy.uncompress(raw)
        if v2:
            req.series = rw2.decode_v2(body, require_metadata=True)
        else:
            req.series = decode_write_request(body)
            req.metadata = decode_v1_metadata(body)
            req.v1_histograms = count_v1_histograms(body)
        return req

    def _handle(self, handler):
        raw = handler.rfile.read(int(handler.headers["Content-Length"]))
        try:
            req = self._decode(handler, raw)
        except Exception as e:  # a wire-format defect: recorded, answered 400
            with self.lock:
                self.errors.append(repr(e))
            self._answer(handler, 400, {}, f"bad request: {e}".encode())
            return
        with self.lock:
            n = len(self.requests)
            self.requests.append(req)
        action = self.script(n, req)
        if action is None:
            status, headers, body = (self._forward(handler, raw) if self.upstream
                                     else self.written(req))
        elif isinstance(action, int):
            status, headers, body = action, {}, b"injected fault"
        else:
            status, headers, body = action
        with self.lock:
            req.status, req.reply_headers = status, headers
        self._answer(handler, status, headers, body)

    @staticmethod
    def written(req, floats=None, histograms=None):
        """A 2.0 receiver's answer: 204 with what it wrote (all, unless
        told); a 1.x receiver's to 1.0: 204 alone."""
        if not req.v2:
            return 204, {}, b""
        f, h = req.counts()
        return 204, {"X-Prometheus-Remote-Write-Samples-Written": str(f if floats is None
                                                                      else floats),
                     "X-Prometheus-Remote-Write-Histograms-Written":
                         str(h if histograms is None else histograms),
                     "X-Prometheus-Remote-Write-Exemplars-Written": "0"}, b""

    def _forward(self, handler, raw):
        headers = {k: handler.headers[k] for k in FORWARDED if handler.headers.get(k)}
        req = urllib.request.Request(self.upstream, data=raw, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                keep = {k: v for k, v in r.headers.items()
                        if k.lower().startswith("x-prometheus-remote-write-")}
                return r.status, keep, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {}, e.read()

    @staticmethod
    def _answer(handler, status, headers, body):
        handler.send_response(status)
        for k, v in headers.items():
            handler.send_header(k, v)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def snapshot(self):
        with self.lock:
            return list(self.requests), list(self.errors)


def last_value(requests, name, **labels):
    """The newest value of a float series in 2.0 or 1.0 requests, or None."""
    best = None
    for req in requests:
        pairs = rw2.as_v1(req.series) if req.v2 else req.series
        for lab, samples in pairs:
            if lab.get("__name__") != name or any(lab.get(k) != v for k, v in labels.items()):
                continue
            for ts, v in samples:
                if best is None or ts >= best[0]:
                    best = (ts, v)
    return None if best is None else best[1]


def is_stale(value):
    return struct.pack("<d", value) == struct.pack("<Q", rw2.STALE_NAN_BITS)
