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
