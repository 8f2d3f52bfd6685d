# SPDX-License-Identifier: MIT
"""Receivers that misbehave below HTTP's status codes: a connection closed
mid-response, garbage instead of HTTP, a receiver that accepts and never
answers, a 200 with a 10 MB body and one with an endless body, a redirect,
a response trickled a byte a second, a name that does not resolve, a
refused connection and an IPv6 loopback URL.

One agent serves every fault: four endpoints, each tagged by
write_relabel_configs (ep="A".."D") so that VictoriaMetrics tells their
data apart. A: a raw-socket receiver whose mode the test switches, one
fault after the other, healing (forwarding to VictoriaMetrics) between
them; B: a port nobody listens on, until a receiver starts there; C: a
name under .invalid, until it appears in the agent's own /etc/hosts (a
bind mount in a private mount namespace); D: [::1]. For every fault: the
agent keeps collecting (bpfpush_collection_rounds_total on the status
endpoint keeps rising), the outcome shows in the self-metrics, and after
healing every round of every endpoint is in VictoriaMetrics.

The status 5xx/4xx/429 faults, redirect hops, loops and credentials are
in test_queue_faults.py and test_sender_faults.py."""
import os
import re
import shutil
import socket
import threading
import time
import urllib.request

import pytest

from conftest import BIN
from receivers import REQUIRED_HEADERS, free_port, http_get
from test_queue_faults import Textfile, config, wait

ROUNDS = "bpfpush_collection_rounds_total"
FAILED = "bpfpush_remote_storage_requests_failed_total"
TIMEOUT_S = 2        # remote_timeout of every endpoint
BIG = 10 * 1024 * 1024


class FaultServer:
    """An HTTP/1.1 receiver on raw sockets, one thread per connection.
    `mode` decides each answer (see _answer); "forward" passes the request
    to `upstream` and its answer back. log: (mode, connection number,
    time.monotonic() of the request, what happened)."""

    def __init__(self, upstream, family=socket.AF_INET, port=0):
        self.upstream, self.mode = upstream, "forward"
        self.log, self.connections, self.lock = [], 0, threading.Lock()
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, host=None):
        host = host or ("[::1]" if self.sock.family == socket.AF_INET6 else "127.0.0.1")
        return f"http://{host}:{self.port}/api/v1/write"

    def close(self):
        self.closed = True
        self.sock.close()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                n = self.connections
            threading.Thread(target=self._serve, args=(conn, n), daemon=True).start()

    def _serve(self, conn, n):
        rfile = conn.makefile("rb")
        try:
            while not self.closed:
                request = self._read_request(rfile)
                if request is None:
                    return
                mode = self.mode
                try:
                    outcome = self._answer(conn, mode, request)
                except OSError:  # the agent closed it while we answered
                    outcome = "closed"
                with self.lock:
                    self.log.append((mode, n, time.monotonic(), outcome))
                if outcome != "kept":
                    return
        except OSError:
            return
        finally:
            rfile.close()
            conn.close()

    @staticmethod
    def _read_request(rfile):
        line = rfile.readline(65536)
        if not line:
            return None
        headers = {}
        while True:
            h = rfile.readline(65536)
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        return headers, rfile.read(int(headers.get("content-length", "0")))

    def _forward(self, body):
        req = urllib.request.Request(self.upstream, data=body, method="POST",
                                     headers=dict(REQUIRED_HEADERS))
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def _answer(self, conn, mode, request):
        """'kept': the connection stays for the next request; 'closed'."""
        body = request[1]
        if mode == "forward":
            status = self._forward(body)
            conn.sendall(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
            return "kept"
        if mode == "cut":  # the receiver took it; the answer dies on the way
            self._forward(body)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nthe start of")
            return "closed"
        if mode == "garbage":
            conn.sendall(b"\x00\xff\x13garbage, not HTTP\r\n\r\n" + os.urandom(64))
            return "closed"
        if mode == "silent":
            while self.mode == "silent" and not self.closed:
                conn.settimeout(0.1)
                try:
                    if conn.recv(1) == b"":
                        return "closed"
                except socket.timeout:
                    pass
            return "closed"
        if mode in ("big", "endless"):
            self._forward(body)
            size = BIG if mode == "big" else 1 << 40
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
            chunk, sent = b"x" * 65536, 0
            while sent < size and self.mode == mode:
                conn.sendall(chunk[:min(len(chunk), size - sent)])
                sent += min(len(chunk), size - sent)
            return "kept" if sent == size else "closed"
        if mode == "trickle":
            self._forward(body)
            for b in b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n":
                if self.mode != "trickle":
                    return "closed"
                conn.sendall(bytes([b]))
                time.sleep(1)
            return "kept"
        if mode == "trickle_body":  # a whole 2xx header block, then a byte a second
            self._forward(body)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(100):
                if self.mode != mode:
                    return "closed"
                conn.sendall(b"x")
                time.sleep(1)
            return "kept"
        if mode == "redirect":
            conn.sendall(f"HTTP/1.1 307 Moved\r\nLocation: {self.upstream}\r\n"
                         "Content-Length: 0\r\n\r\n".encode())
            return "kept"
        raise AssertionError(mode)

    def requests(self, mode, since=0.0):
        with self.lock:
            return [e for e in self.log if e[0] == mode and e[2] >= since]


def self_metrics(base):
    """{(name, remote_name or ''): value} of the status endpoint's /metrics;
    requests_failed_total by reason as (name, remote_name, reason)."""
    out = {}
    for m in re.finditer(r'^(\w+)(?:\{([^}]*)\})? (\S+)$',
                         http_get(base + "/metrics").decode(), re.M):
        rn = re.search(r'remote_name="([^"]*)"', m.group(2) or "")
        key = (m.group(1), rn.group(1) if rn else "")
        if m.group(1) == FAILED:
            key += (re.search(r'reason="([^"]*)"', m.group(2)).group(1),)
        out[key] = float(m.group(3))
    return out


def failures(metrics, ep):
    """{reason: failed requests} of endpoint ep, the reasons with any."""
    return {k[2]: v for k, v in metrics.items() if k[:2] == (FAILED, ep) and v}


def rs(name):
    return "bpfpush_remote_storage_" + name


def dns_wrapper(tmp_path, hosts):
    """The agent in its own mount namespace, /etc/hosts bound to `hosts`
    (edited in place by the test): root only."""
    shutil.copy("/etc/hosts", hosts)
    path = tmp_path / "bpfpush-ns"
    path.write_text("#!/bin/sh\nexec unshare -m --propagation private sh -c "
                    f"'mount --bind {hosts} /etc/hosts && exec \"$0\" \"$@\"' {BIN} \"$@\"\n")
    path.chmod(0o755)
    return str(path)


def agent_config(tf, endpoints, status_port):
    text = config([{"url": u, "name": n} for n, u in endpoints], tf.dir)
    text = text.replace('http: {listen_address: ""}',
                        f"http: {{listen_address: 127.0.0.1:{status_port}}}")
    text = text.replace("remote_timeout: 10s", f"remote_timeout: {TIMEOUT_S}s")
    queue = ("    queue_config: {max_shards: 1, capacity: 100000, batch_send_deadline: 200ms,"
             " min_backoff: 100ms, max_backoff: 1s}\n")
    for name, _ in endpoints:
        tag = f"    write_relabel_configs: [{{target_label: ep, replacement: {name}}}]\n"
        text = text.replace(f"    name: {name}\n", f"    name: {name}\n" + queue + tag)
    return text


def vm_rounds(vm, ep):
    """{round number: timestamp ms} of ep's rounds in VictoriaMetrics."""
    got = {}
    for s in vm.export(f'{ROUNDS}{{ep="{ep}"}}', min_samples=1, timeout=5):
        for v, ts in zip(s["values"], s["timestamps"]):
            got[int(v)] = ts
    return got


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="the unresolvable name heals in a private /etc/hosts: root")
def test_receiver_faults_one_after_another(vm, agent, tmp_path):
    tf = Textfile(tmp_path)
    hosts = tmp_path / "hosts"
    name = f"rx-{os.getpid()}-{free_port()}.invalid"
    a_srv = FaultServer(vm.write_url)
    c_srv = FaultServer(vm.write_url)
    d_srv = FaultServer(vm.write_url, socket.AF_INET6)
    b_port, status_port = free_port(), free_port()
    base = f"http://127.0.0.1:{status_port}"
    endpoints = [("A", a_srv.url()), ("B", f"http://127.0.0.1:{b_port}/api/v1/write"),
                 ("C", c_srv.url(name)), ("D", d_srv.url())]
    a = agent(agent_config(tf, endpoints, status_port), dns_wrapper(tmp_path, hosts))
    a.start("--log-level", "debug", follow=True)
    b_srv = None
    report = []
    try:
        wait(lambda: a_srv.requests("forward") and d_srv.requests("forward"), 20,
             "A and D delivering")
        m0 = self_metrics(base)
        assert m0[(rs("samples_total"), "B")] == m0[(rs("samples_total"), "C")] == 0
        assert m0[(rs("samples_retried_total"), "B")] > 0, "refused: retried"
        assert m0[(rs("samples_retried_total"), "C")] > 0, "unresolvable: retried"
        assert list(failures(m0, "B")) == ["connect"], failures(m0, "B")
        assert list(failures(m0, "C")) == ["resolve"], failures(m0, "C")
        assert failures(m0, "A") == failures(m0, "D") == {}
        for mode, reason, want in FAULTS:
            report.append(run_fault(a, a_srv, base, mode, reason, want))
        # heal B (a receiver starts on the refused port) and C (the name appears)
        healed = time.monotonic()
        b_srv = FaultServer(vm.write_url, port=b_port)
        with open(hosts, "a") as f:
            f.write(f"127.0.0.1 {name}\n")
        wait(lambda: b_srv.requests("forward") and c_srv.requests("forward"), 10,
             "B and C delivering once healed")
        for srv, what in ((b_srv, "refused"), (c_srv, "unresolvable")):
            first = min(e[2] for e in srv.requests("forward"))
            report.append((what, first - healed))
        m1 = self_metrics(base)
        assert failures(m1, "D") == {}, "IPv6 loopback"
        rounds = m1[(ROUNDS, "")]
        wait(lambda: self_metrics(base)[(ROUNDS, "")] >= rounds + 2, 10, "two more rounds")
        rc, _, err = a.stop()
    finally:
        for s in (a_srv, b_srv, c_srv, d_srv):
            if s:
                s.close()
    assert rc == 0, err
    assert "level=error" not in err, [l for l in err.splitlines() if "level=error" in l]
    last = int(m1[(ROUNDS, "")])
    for ep in "ABCD":
        got = vm_rounds(vm, ep)
        missing = [k for k in range(1, last + 1) if k not in got]
        assert not missing, f"endpoint {ep}: rounds {missing[:10]} never arrived"
        stamps = [got[k] for k in range(1, last + 1)]
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        assert max(gaps) < 2500, f"endpoint {ep}: collection stalled {max(gaps)} ms"
        print(f"\nendpoint {ep}: rounds 1..{last} all arrived, largest gap {max(gaps)} ms")
    print("\nfault, seconds from heal to the first delivery:")
    for r in report:
        print(f"  {r[0]}: {r[1]:.2f}")


def run_fault(a, srv, base, mode, reason, want):
    """One fault on A for at least two requests: rounds keep coming, each
    failed request counted under `reason` (None: none failed), the other
    counters move as `want` says; then healed: the time to the first
    delivered request."""
    before, since = self_metrics(base), time.monotonic()
    srv.mode = mode
    wait(lambda: len(srv.requests(mode, since)) >= 2, 6 * TIMEOUT_S + 5,
         f"two requests in mode {mode}")
    wait(lambda: self_metrics(base)[(ROUNDS, "")] >= before[(ROUNDS, "")] + 2, 5,
         f"{mode}: two rounds collected meanwhile")
    during = self_metrics(base)
    was, now = failures(before, "A"), failures(during, "A")
    grew = {r: now[r] - was.get(r, 0) for r in now if now[r] != was.get(r, 0)}
    assert list(grew) == ([reason] if reason else []), f"{mode}: failed requests {grew}"
    want(mode, before, during, srv, since, a)
    healed = time.monotonic()
    srv.mode = "forward"
    wait(lambda: srv.requests("forward", healed), 10, f"delivery after {mode}")
    # /metrics shows the last round: two more, and it counts the recovery
    rounds = self_metrics(base)[(ROUNDS, "")]
    wait(lambda: self_metrics(base)[(ROUNDS, "")] >= rounds + 2, 5, "two rounds after healing")
    return (mode, srv.requests("forward", healed)[0][2] - healed)


def delta(before, during, name):
    return during[(rs(name), "A")] - before[(rs(name), "A")]


def retried(mode, before, during, srv, since, a):
    assert delta(before, during, "samples_retried_total") > 0, f"{mode}: not retried"


def accepted(mode, before, during, srv, since, a):
    """The receiver took the batch and said 2xx: done, not sent again."""
    assert delta(before, during, "samples_retried_total") == 0, \
        f"{mode}: sent again\n" + "\n".join(l for _, l in a.lines if "remote_name=A" in l)
    assert delta(before, during, "samples_total") > 0, f"{mode}: not counted as sent"


def big(mode, before, during, srv, since, a):
    accepted(mode, before, during, srv, since, a)
    rss = rss_kib(a.proc.pid)
    t = time.monotonic()
    wait(lambda: len(srv.requests(mode, t)) >= 3, 15, "three more big answers")
    after = rss_kib(a.proc.pid)
    print(f"\n{mode}: RSS {rss} KiB before three more answers, {after} KiB after")
    assert after - rss < 4096, "RSS grew with big response bodies"
    # more than the cap: the rest is not read, the connection closed
    assert all(e[3] == "closed" for e in srv.requests(mode, since)), srv.requests(mode, since)


def timed_out(mode, before, during, srv, since, a):
    """Each attempt ended at remote_timeout, not before, not much after."""
    retried(mode, before, during, srv, since, a)
    assert a.count(msg="remote_write attempt failed", err='"Operation timed out after 20')


def redirected(mode, before, during, srv, since, a):
    accepted(mode, before, during, srv, since, a)


FAULTS = [("cut", None, accepted), ("garbage", "protocol", retried),
          ("silent", "timeout", timed_out), ("big", None, big), ("endless", None, big),
          ("trickle", "timeout", timed_out), ("trickle_body", None, accepted),
          ("redirect", None, redirected)]
