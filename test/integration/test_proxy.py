# SPDX-License-Identifier: MIT
"""proxy_url, no_proxy and proxy_from_environment through a real proxy
(Debian's tinyproxy on loopback, with basic auth): the receiver behind it
(a FaultProxy) sees tinyproxy's Via header on every request that went
through it, and none on those that did not. The proxy password is in no
line the agent writes."""
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from receivers import FaultProxy, free_port
from test_queue_faults import OK, Textfile, config, gauge_lines, snapshot, wait

VIA = "bpfpush-test-proxy"
PROXY_USER, PROXY_PASSWORD = "puser", "pr0xy-Pa55-do-not-log"


class Tinyproxy:
    """tinyproxy in the foreground on a free loopback port, demanding basic
    auth; its log in self.log."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.log = tmp_path / "tinyproxy.log"
        conf = tmp_path / "tinyproxy.conf"
        conf.write_text(f"Port {self.port}\nListen 127.0.0.1\nTimeout 30\nLogLevel Info\n"
                        f"LogFile \"{self.log}\"\nAllow 127.0.0.1\nViaProxyName \"{VIA}\"\n"
                        f"BasicAuth {PROXY_USER} {PROXY_PASSWORD}\n"
                        f"PidFile \"{tmp_path / 'tinyproxy.pid'}\"\n")
        self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(lambda: self.log.exists() and "listening on fd" in self.log.read_text(), 10,
             "tinyproxy listening")

    def url(self, with_auth=True):
        auth = f"{PROXY_USER}:{PROXY_PASSWORD}@" if with_auth else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def tinyproxy(tmp_path):
    p = Tinyproxy(tmp_path)
    yield p
    p.stop()


@pytest.fixture
def clean_proxy_env(monkeypatch):
    for v in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
              "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(v, raising=False)
    return monkeypatch


def push_once(agent, tmp_path, extra, n_requests=1):
    """Starts the agent with one endpoint (a FaultProxy answering 200) and
    `extra` YAML lines under it; returns its requests and stderr."""
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("px_data", 3, 1))
    with FaultProxy(None, lambda n: OK) as rx:
        text = config([{"url": rx.url, "name": "rx", "queue": {
            "max_shards": 1, "batch_send_deadline": "100ms"}}], tf.dir) + extra
        a = agent(text).start("--log-level", "debug", follow=True)
        wait(lambda: len(snapshot(rx)) >= n_requests, 15, "requests at the receiver")
        rc, _, err = a.stop()
        reqs = snapshot(rx)
    assert rc == 0, err
    assert rx.errors == []
    return reqs, err


def vias(reqs):
    return [r[6].get("Via") for r in reqs]


def test_proxy_url_sends_every_request_through_the_proxy(agent, tmp_path, tinyproxy,
                                                           clean_proxy_env):
    reqs, err = push_once(agent, tmp_path, f"    proxy_url: {tinyproxy.url()}\n")
    assert reqs and all(v and VIA in v for v in vias(reqs)), vias(reqs)
    assert all(r[3] == 200 for r in reqs)
    assert f"127.0.0.1:{reqs[0][6].get('Host', '').split(':')[-1]}" in tinyproxy.log.read_text()
    assert PROXY_PASSWORD not in err


def test_no_proxy_bypasses_the_proxy(agent, tmp_path, tinyproxy, clean_proxy_env):
    reqs, err = push_once(agent, tmp_path, f"    proxy_url: {tinyproxy.url()}\n"
                          "    no_proxy: localhost,127.0.0.1\n")
    assert reqs and vias(reqs) == [None] * len(reqs)
    assert PROXY_PASSWORD not in err


def test_the_environment_is_ignored_by_default(agent, tmp_path, tinyproxy, clean_proxy_env):
    clean_proxy_env.setenv("http_proxy", tinyproxy.url())
    reqs, _ = push_once(agent, tmp_path, "")
    assert reqs and vias(reqs) == [None] * len(reqs)


def test_proxy_from_environment_uses_http_proxy(agent, tmp_path, tinyproxy, clean_proxy_env):
    clean_proxy_env.setenv("http_proxy", tinyproxy.url())
    reqs, err = push_once(agent, tmp_path, "    proxy_from_environment: true\n")
    assert reqs and all(v and VIA in v for v in vias(reqs)), vias(reqs)
    assert PROXY_PASSWORD not in err


def test_a_wrong_proxy_password_is_refused_and_not_logged(agent, tmp_path, tinyproxy,
                                                           clean_proxy_env):
    """tinyproxy answers 407 and resets the connection (the POST body
    unread): nothing reaches the receiver, the agent logs its failed
    attempts, and never the password it sent."""
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("px_data", 3, 1))
    bad = "wr0ng-Pa55-do-not-log"
    with FaultProxy(None, lambda n: OK) as rx:
        text = config([{"url": rx.url, "name": "rx", "queue": {
            "max_shards": 1, "batch_send_deadline": "100ms"}}], tf.dir) + \
            f"    proxy_url: http://{PROXY_USER}:{bad}@127.0.0.1:{tinyproxy.port}\n"
        a = agent(text).start("--log-level", "debug", "--flush-deadline", "1s", follow=True)
        assert a.wait_for(3, 15, msg="remote_write attempt failed")
        rc, _, err = a.stop()
        assert snapshot(rx) == []
    assert rc == 0, err
    assert bad not in err and PROXY_PASSWORD not in err


class Refusing407Proxy:
    """A proxy that reads each request to its end, then answers 407 on the
    same keep-alive connection: the agent gets the status itself (tinyproxy
    resets the connection first, which is a network error)."""

    def __init__(self):
        proxy = self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy.requests += 1
                body = b"proxy authentication required"
                self.send_response(407)
                self.send_header("Proxy-Authenticate", 'Basic realm="test"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{PROXY_USER}:wr0ng@127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("via", ["http 407", "https CONNECT 407"])
def test_a_407_from_the_proxy_is_retried_not_dropped(agent, tmp_path, tinyproxy,
                                                     clean_proxy_env, via):
    """The proxy refused the agent's proxy credentials, not the receiver the
    batch: the batch is retried with backoff (Prometheus retries a refused
    CONNECT too, as a network error), never dropped."""
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("px_data", 3, 1))
    refusing = Refusing407Proxy() if via == "http 407" else None
    with FaultProxy(None, lambda n: OK) as rx:
        url = rx.url if refusing else rx.url.replace("http://", "https://")
        proxy = refusing.url if refusing else \
            f"http://{PROXY_USER}:wr0ng@127.0.0.1:{tinyproxy.port}"
        text = config([{"url": url, "name": "rx", "queue": {
            "max_shards": 1, "batch_send_deadline": "100ms", "min_backoff": "50ms",
            "max_backoff": "200ms"}}], tf.dir) + f"    proxy_url: {proxy}\n"
        a = agent(text).start("--log-level", "debug", "--flush-deadline", "1s", follow=True)
        assert a.wait_for(3, 15, msg="remote_write attempt failed")
        rc, _, err = a.stop()
        assert snapshot(rx) == []
    if refusing:
        refusing.close()
        assert refusing.requests >= 3
        assert "status=407" in err
    else:
        assert "407" in err, err
    assert rc == 0, err
    assert "remote_write batch refused by the receiver, dropped" not in err, err
    assert "wr0ng" not in err


@pytest.mark.parametrize("extra,message", [
    ("    proxy_url: ftp://u:hunter2@127.0.0.1:3128\n", "\"proxy_url\": must be an http"),
    ("    proxy_url: http://u:hunter2@\n", "\"proxy_url\": must be an http"),
    ("    proxy_url: http://u:hunter2@127.0.0.1:3128\n    proxy_from_environment: true\n",
     "\"proxy_url\" and \"proxy_from_environment\" cannot both be set"),
    ("    no_proxy: example.com\n", "\"no_proxy\" is set but \"proxy_url\" is not"),
    ("    proxy_from_environment: true\n    no_proxy: example.com\n",
     "\"no_proxy\" and \"proxy_from_environment\" cannot both be set"),
])
def test_bad_proxy_keys_are_config_errors(agent, tmp_path, extra, message):
    tf = Textfile(tmp_path)
    text = config([{"url": "http://127.0.0.1:9/api/v1/write", "name": "rx"}], tf.dir) + extra
    a = agent(text)
    r = a.run()
    assert r.returncode == 2, r.stderr
    assert message in r.stderr, r.stderr
    assert os.path.basename(a.path) + ":" in r.stderr, r.stderr  # FILE:LINE:COL
    assert "hunter2" not in r.stderr and "hunter2" not in r.stdout
