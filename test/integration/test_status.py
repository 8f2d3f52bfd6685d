"""The local status endpoint: /metrics shows the last round, /healthz and
/ready answer probes, and a port already taken does not stop the agent."""
import socket
import time
import urllib.error
import urllib.request

from conftest import config_text, log_lines
from receivers import free_port


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
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


def test_a_taken_port_is_logged_and_the_agent_still_pushes(agent, vm):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        r = agent(config_text([vm.write_url], collectors="loadavg: {}",
                              extra=f"http:\n  listen_address: 127.0.0.1:{port}\n")).run("--once")
    finally:
        taken.close()
    assert r.returncode == 0, r.stderr
    assert log_lines(r.stderr, msg="status endpoint: cannot listen")
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


def test_malformed_requests_get_an_answer_and_do_not_stall_it(agent):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    a = agent(config_text([], collectors="loadavg: {}", interval="1s",
                          extra=f"http:\n  listen_address: 127.0.0.1:{port}\n")).start()
    try:
        assert wait_ready(base)
        assert raw(port, b"\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        assert raw(port, b"GET\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        # Headers that never end: the endpoint reads a bounded amount and
        # moves on; the next request is served.
        raw(port, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 10000)
        # A client that connects and says nothing holds the one serving
        # thread for at most a second: a probe behind it is still answered
        # within a Kubernetes probe's default timeout plus that second.
        stalled = socket.create_connection(("127.0.0.1", port))
        try:
            time.sleep(0.1)
            started = time.monotonic()
            assert get(base + "/healthz") == (200, "ok\n")
            assert time.monotonic() - started < 2.0
        finally:
            stalled.close()
    finally:
        rc, _, err = a.stop()
    assert rc == 0, err
