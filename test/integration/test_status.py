# SPDX-License-Identifier: MIT
"""The local status endpoint: /metrics shows the last round, /healthz and
/ready answer probes, HEAD gets headers only, a slow or silent client (or a
thousand) cannot keep a probe waiting, and a port already taken stops the
agent before it pushes anything."""
import re
import resource
import socket
import threading
import time
import urllib.error
import urllib.request

from conftest import config_text, log_lines
from receivers import free_port


def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_ready(base, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, _ = get(base + "/ready")
            if status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def test_metrics_healthz_ready(agent, vm):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    a = agent(config_text([vm.write_url], collectors="loadavg: {}", interval="1s",
                          extra=f"http:\n  listen_address: 127.0.0.1:{port}\n")).start()
    try:
        assert wait_ready(base), "not ready after 20 s"
        status, body = get(base + "/metrics")
        assert status == 200
        assert "# TYPE node_load1 gauge\n" in body
        assert "bpfpush_build_info{" in body and "bpfpush_remote_storage_samples_total{" in body
        assert get(base + "/healthz") == (200, "ok\n")
        assert get(base + "/nope")[0] == 404
        req = urllib.request.Request(base + "/metrics", data=b"x", method="POST")
        try:
            urllib.request.urlopen(req, timeout=5)
            assert False, "POST accepted"
        except urllib.error.HTTPError as e:
            assert e.code == 405
    finally:
        rc, _, err = a.stop()
    assert rc == 0, err
    assert log_lines(err, msg="status endpoint listening")


def test_a_taken_port_stops_the_agent_before_it_pushes(agent, vm):
    """A second agent on the host finds the port taken: it exits 1 naming
    the address, and pushes nothing (a duplicate of every series)."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        r = agent(config_text([vm.write_url], collectors="loadavg: {}",
                              extra=f"http:\n  listen_address: 127.0.0.1:{port}\n")).run("--once")
    finally:
        taken.close()
    assert r.returncode == 1, r.stderr
    lines = log_lines(r.stderr, msg="status endpoint: cannot listen")
    assert lines and f"address=127.0.0.1:{port}" in lines[0], r.stderr
    assert 'err="Address already in use"' in lines[0]
    assert log_lines(r.stderr, msg="is another bpfpush running?")
    assert not log_lines(r.stderr, msg="bpfpush started")
    assert not vm.export("node_load1", timeout=2)


def test_an_empty_listen_address_runs_without_the_endpoint(agent, vm):
    r = agent(config_text([vm.write_url], collectors="loadavg: {}",
                          extra='http:\n  listen_address: ""\n')).run("--once")
    assert r.returncode == 0, r.stderr
    assert not log_lines(r.stderr, msg="status endpoint")
    assert vm.export("node_load1")


def raw(port, data, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # it answered and closed before reading all of it
        chunks = []
        while True:
            try:
                b = s.recv(4096)
            except ConnectionResetError:
                b = b""
            if not b:
                return b"".join(chunks)
            chunks.append(b)


def start_endpoint(agent, interval="1s"):
    """An agent serving the endpoint on a free loopback port, once ready."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    a = agent(config_text([], collectors="loadavg: {}", interval=interval,
                          extra=f"http:\n  listen_address: 127.0.0.1:{port}\n")).start(follow=True)
    assert wait_ready(base), "not ready after 20 s"
    return a, port, base


def stop_cleanly(a):
    rc, _, err = a.stop()
    assert rc == 0, err


def probe(base, timeout=2.0):
    """Seconds a /healthz took, or None if it failed or took past timeout
    (a Kubernetes probe's default timeout is 1 s)."""
    started = time.monotonic()
    try:
        if get(base + "/healthz", timeout) != (200, "ok\n"):
            return None
    except OSError:
        return None
    return round(time.monotonic() - started, 3)


def slow(latencies):
    return [t for t in latencies if t is None or t >= 1.0]


def send_half_closed(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # it answered and closed before reading all of it
    return s


def read_to_end(s):
    chunks = []
    with s:
        while True:
            try:
                b = s.recv(4096)
            except ConnectionResetError:
                b = b""
            if not b:
                return b"".join(chunks)
            chunks.append(b)


def test_malformed_requests_are_refused_and_do_not_stall_it(agent):
    """A request line that cannot be parsed, headers that never end or
    that pass the per-connection memory, blank lines and nothing else: each
    is closed or gets a 4xx, at the latest at the idle timeout (5 s), and
    while they are pending a probe is answered at once."""
    a, port, base = start_endpoint(agent)
    try:
        started = time.monotonic()
        pending = [send_half_closed(port, data) for data in (
            b"GET\r\n\r\n", b"\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 10000,
            b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 40000)]
        time.sleep(0.1)
        assert slow([probe(base) for _ in range(3)]) == []
        for s in pending:
            reply = read_to_end(s)
            assert reply == b"" or re.match(rb"HTTP/1\.1 4\d\d ", reply), reply[:80]
        assert time.monotonic() - started < 8.0
        assert raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").endswith(b"\r\n\r\nok\n")
    finally:
        stop_cleanly(a)


def test_head_gets_the_headers_and_no_body(agent):
    a, port, base = start_endpoint(agent)
    try:
        for path in ("/healthz", "/ready", "/metrics"):
            reply = raw(port, f"HEAD {path} HTTP/1.1\r\nHost: x\r\n"
                        "Connection: close\r\n\r\n".encode())
            head, sep, body = reply.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 ") and sep, reply[:200]
            assert body == b"", (path, body[:80])
            length = int(re.search(rb"(?i)\r\ncontent-length: (\d+)", head).group(1))
            assert length > 0, head
        assert raw(port, b"HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n").endswith(b"\r\n\r\n")
    finally:
        stop_cleanly(a)


def test_a_slowloris_client_does_not_hold_the_endpoint(agent):
    """One byte every 0.9 s, never finishing its headers: under the idle
    timeout, so it stays connected for the whole test, and every probe is
    still answered within a second."""
    a, port, base = start_endpoint(agent)
    attacker = socket.create_connection(("127.0.0.1", port))
    stop = threading.Event()
    dripped = []

    def drip():
        attacker.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
        while not stop.wait(0.9):
            try:
                attacker.sendall(b"a")
                dripped.append(1)
            except OSError:
                return

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    latencies = []
    try:
        time.sleep(0.3)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            latencies.append(probe(base))
            time.sleep(0.3)
        still_connected = t.is_alive()
    finally:
        stop.set()
        t.join(5)
        attacker.close()
        stop_cleanly(a)
    print(f"slowloris: /healthz latencies {latencies}")
    assert still_connected and len(dripped) >= 8, "the slow client was cut off"
    assert slow(latencies) == [], latencies


def raise_nofile(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


def open_idle(port, n, source="127.0.0.1"):
    """n connections that connect and say nothing (non-blocking connects:
    a server that does not accept them cannot stall the test here)."""
    conns = []
    for _ in range(n):
        s = socket.socket()
        s.bind((source, 0))
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        conns.append(s)
    return conns


def closed_by_server(conn, timeout):
    conn.setblocking(True)
    conn.settimeout(timeout)
    try:
        return conn.recv(1) == b""
    except ConnectionResetError:
        return True
    except OSError:
        return False


def test_a_thousand_idle_connections_do_not_delay_a_probe(agent):
    raise_nofile(1500)
    a, port, base = start_endpoint(agent)
    conns = []
    try:
        conns = open_idle(port, 1000)
        time.sleep(0.5)
        latencies = [probe(base) for _ in range(5)]
        print(f"1000 idle connections: /healthz latencies {latencies}")
        assert slow(latencies) == [], latencies
        # The idle timeout (a few seconds) gives their places back.
        assert closed_by_server(conns[0], 8) and closed_by_server(conns[-1], 3)
    finally:
        for c in conns:
            c.close()
        stop_cleanly(a)


def test_one_address_cannot_take_every_connection(agent):
    """Past its per-address limit a host's connections are refused at once;
    a probe from another address is answered."""
    raise_nofile(3000)
    a, port, base = start_endpoint(agent)
    started = log_lines("\n".join(line for _, line in a.lines), msg="status endpoint listening")
    per_ip = int(re.search(r"per_ip=(\d+)", started[0]).group(1))
    conns = []
    try:
        conns = open_idle(port, per_ip + 50, source="127.0.0.2")
        time.sleep(0.5)
        assert slow([probe(base) for _ in range(3)]) == []
        refused = sum(closed_by_server(c, 0.01) for c in conns)
        assert refused >= 50, refused
    finally:
        for c in conns:
            c.close()
        stop_cleanly(a)


def test_a_first_reader_waits_at_most_a_round_then_rounds_are_rendered(agent):
    """Rounds are rendered only while someone reads /metrics: the first
    reader waits for the next round (its connection parked, not the serving
    thread: probes are answered meanwhile), the next one is answered at
    once from the round already rendered."""
    a, port, base = start_endpoint(agent, interval="2s")
    first = {}

    def read():
        started = time.monotonic()
        first["reply"] = get(base + "/metrics", timeout=10)
        first["seconds"] = time.monotonic() - started

    t = threading.Thread(target=read)
    try:
        t.start()
        time.sleep(0.1)
        assert slow([probe(base) for _ in range(3)]) == []
        t.join(15)
        status, body = first["reply"]
        assert status == 200 and "# TYPE node_load1 gauge\n" in body
        assert first["seconds"] < 2 + 2, first  # one interval, and its rendering
        started = time.monotonic()
        assert "# TYPE node_load1 gauge\n" in get(base + "/metrics")[1]
        assert time.monotonic() - started < 1.0
    finally:
        stop_cleanly(a)


def test_a_reader_waiting_for_a_round_does_not_hold_up_the_stop(agent):
    """Its connection is resumed and answered 503 or closed; the agent
    exits at once and cleanly (libmicrohttpd must not be stopped with a
    connection suspended)."""
    a, port, base = start_endpoint(agent, interval="60s")
    waiting = {}

    def read():
        try:
            waiting["reply"] = get(base + "/metrics", timeout=30)
        except OSError as e:  # closed as the endpoint stops
            waiting["reply"] = (None, repr(e))

    t = threading.Thread(target=read)
    t.start()
    time.sleep(0.5)
    assert t.is_alive(), waiting  # parked until the next round, a minute away
    started = time.monotonic()
    stop_cleanly(a)
    t.join(10)
    assert time.monotonic() - started < 10
    assert waiting["reply"][0] in (503, None), waiting


def test_metrics_from_many_clients_while_rounds_are_published(agent):
    """/metrics is rendered when a round is published, never from series
    the serving thread would read later: many readers across rounds each
    get a whole page (under ASan: no use after free)."""
    a, port, base = start_endpoint(agent, interval="200ms")
    bad = []

    def reader():
        for _ in range(30):
            status, body = get(base + "/metrics")
            if status != 200 or "# TYPE node_load1 gauge\n" not in body or \
                    not body.endswith("\n"):
                bad.append((status, body[-80:]))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        stop_cleanly(a)
    assert bad == []
