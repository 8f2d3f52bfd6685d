# SPDX-License-Identifier: MIT
"""Real remote-write receivers for the integration tests, on free loopback
ports: VictoriaMetrics and Prometheus from Debian's packages, read back
through their query APIs; and a fault-injecting proxy that checks the wire
format (headers, snappy block, protobuf WriteRequest) before it answers as
told or forwards the request to a real receiver."""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import snappy


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def stop_process(proc, sig=signal.SIGTERM):
    """sig, then SIGKILL after 20 s; a process never started or already
    gone is left alone."""
    if proc and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


class Server:
    """A receiver process with its own data directory and log file."""

    def __init__(self, workdir, name):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = None

    def start(self, argv, ready_path):
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: self.proc.poll() is None and http_get(self.base + ready_path, 2),
                   60, f"{argv[0]} on {self.base}")
        return self

    def stop(self):
        stop_process(self.proc)
        self.log.close()


class VictoriaMetrics(Server):
    def __init__(self, workdir, flags=()):
        super().__init__(workdir, "victoria-metrics")
        self.write_url = self.base + "/api/v1/write"
        self.flags = list(flags)

    def start(self):
        return super().start([
            shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics",
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.dir}/data",
            "-retentionPeriod=1y",
            "-search.latencyOffset=0s",
            "-loggerLevel=WARN",
            *self.flags,
        ], "/health")

    def export(self, match, min_samples=1, timeout=15):
        """Raw samples: [{'metric': {...}, 'values': [...], 'timestamps': [...]}].
        Fresh rows become searchable within about a second of ingestion
        (force_flush does not cover the in-memory buffer), so this waits
        until the match finds min_samples samples, or returns what it has
        after timeout."""
        q = urllib.parse.urlencode({"match[]": match, "start": "0"})
        deadline = time.monotonic() + timeout
        while True:
            http_get(self.base + "/internal/force_flush")
            body = http_get(f"{self.base}/api/v1/export?{q}").decode()
            found = [json.loads(line) for line in body.splitlines() if line.strip()]
            if sum(len(f["values"]) for f in found) >= min_samples or \
                    time.monotonic() > deadline:
                return found
            time.sleep(0.2)


class Prometheus(Server):
    def __init__(self, workdir):
        super().__init__(workdir, "prometheus")
        self.write_url = self.base + "/api/v1/write"

    def start(self):
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global: {scrape_interval: 15s}\n")
        return super().start([
            shutil.which("prometheus") or "/usr/bin/prometheus",
            f"--config.file={cfg}",
            f"--storage.tsdb.path={self.dir}/data",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-remote-write-receiver",
            "--log.level=warn",
        ], "/-/ready")

    def query(self, expr, at=None):
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        body = http_get(f"{self.base}/api/v1/query?{urllib.parse.urlencode(params)}")
        data = json.loads(body)
        assert data["status"] == "success", data
        return data["data"]["result"]


# ---- wire format ---------------------------------------------------------

def _varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _fields(buf):
    """Yields (field number, wire type, value) of one protobuf message."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wtype = key >> 3, key & 7
        if wtype == 0:
            value, i = _varint(buf, i)
        elif wtype == 1:
            value, i = buf[i:i + 8], i + 8
        elif wtype == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wtype == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"bad wire type {wtype}")
        if i > len(buf):
            raise ValueError("truncated message")
        yield field, wtype, value


def decode_write_request(body):
    """prompb.WriteRequest -> [(labels dict, [(timestamp_ms, value), ...])]."""
    import struct
    series = []
    for field, _, ts in _fields(body):
        if field != 1:
            continue
        labels, samples, names = {}, [], []
        for f, _, v in _fields(ts):
            if f == 1:
                kv = {lf: lv.decode() for lf, _, lv in _fields(v)}
                names.append(kv.get(1, ""))
                labels[kv.get(1, "")] = kv.get(2, "")
            elif f == 2:
                value, stamp = 0.0, 0
                for sf, _, sv in _fields(v):
                    if sf == 1:
                        value = struct.unpack("<d", sv)[0]
                    elif sf == 2:
                        stamp = sv - (1 << 64) if sv >= 1 << 63 else sv
                samples.append((stamp, value))
        assert names == sorted(names), f"labels not sorted: {names}"
        assert len(set(names)) == len(names), f"duplicate label names: {names}"
        assert "__name__" in labels and all(labels.values()), labels
        series.append((labels, samples))
    return series


REQUIRED_HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


class LoopbackServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 for a receiver or proxy of a
    test: _serve(Handler) binds it (port 0: any free one) and sets url;
    `with` runs it in a thread and shuts it down."""

    def _serve(self, handler, port=0):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/write"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class FaultProxy(LoopbackServer):
    """An HTTP/1.1 keep-alive receiver in a thread. Each request is checked
    and decoded; then `script(n)` (n = 0-based request number) returns
    either an int status (answered here, body 'injected fault') or a
    (status, headers, body) tuple, or None to forward to `upstream`.

    requests[n] is [received at (time.time()), decoded series, raw body,
    status, connection number (1-based, in accept order), answered at
    (time.time() just before the response is written), request headers
    (an email.message.Message: case-insensitive, get_all for repeats),
    request path]. A script may read proxy.requests[n] to decide."""

    def __init__(self, upstream=None, script=lambda n: None):
        self.upstream = upstream
        self.script = script
        self.requests = []      # (time, decoded series, raw body, status)
        self.connections = 0
        self.errors = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with proxy.lock:
                    proxy.connections += 1
                    self.conn_id = proxy.connections

            def log_message(self, *args):
                pass

            def do_POST(self):
                proxy._handle(self)

        self._serve(Handler)

    def _check(self, handler, raw):
        for k, v in REQUIRED_HEADERS.items():
            if handler.headers.get(k) != v:
                raise ValueError(f"header {k}: {handler.headers.get(k)!r}")
        if not (handler.headers.get("User-Agent") or "").startswith("bpfpush/"):
            raise ValueError(f"User-Agent {handler.headers.get('User-Agent')!r}")
        return decode_write_request(snappy.uncompress(raw))

    def _handle(self, handler):
        raw = handler.rfile.read(int(handler.headers["Content-Length"]))
        try:
            series = self._check(handler, raw)
        except Exception as e:  # a wire-format defect: recorded, answered 400
            with self.lock:
                self.errors.append(repr(e))
            self._answer(handler, 400, {}, f"bad request: {e}".encode())
            return
        with self.lock:
            n = len(self.requests)
            self.requests.append([time.time(), series, raw, None, handler.conn_id, None,
                                  handler.headers, handler.path])
        action = self.script(n)
        if action is None:
            status, headers, body = self._forward(handler, raw)
        elif isinstance(action, int):
            status, headers, body = action, {}, b"injected fault"
        else:
            status, headers, body = action
        with self.lock:
            self.requests[n][3] = status
            self.requests[n][5] = time.time()
        self._answer(handler, status, headers, body)

    def _forward(self, handler, raw):
        req = urllib.request.Request(self.upstream, data=raw, method="POST",
                                     headers={k: v for k, v in REQUIRED_HEADERS.items()})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, {}, r.read()
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
