# SPDX-License-Identifier: MIT
"""oauth2 (client credentials): a real token server on loopback issues
short-lived tokens and counts its requests; the receiver (the FaultProxy,
which decodes every batch) accepts a batch only with a token the server
issued, not expired, not revoked, and answers 401 otherwise.

One token request per token lifetime for all the shards of an endpoint
(not one per batch, not one per shard), a new one before the old expires,
a new one on a 401 (and the refused batch sent again with it), and while
the token endpoint is unreachable, answers 5xx or refuses the client
secret: no batch is sent and none is dropped; the samples stay queued and
all arrive once it answers. Neither the client secret nor a token ever
appears in the log (at debug level) or in /metrics."""
import base64
import json
import ssl
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from receivers import FaultProxy, free_port, http_get
from test_proxy import VIA, tinyproxy  # noqa: F401 (a fixture)
from test_queue_faults import (REFUSED, Rounds, Textfile, config, gauge_lines, ok, wait,
                               with_msg)

CLIENT_ID = "bpfpush agent/1"      # a space and a slash: form-escaped in the header
SECRET = "cl1ent:s3cret+do-not-log%"
FAILED = "remote_write: oauth2 token request failed, batches wait and are retried"
AGAIN = "remote_write: oauth2 token obtained again"


class TokenServer:
    """POST /token: grant_type=client_credentials with the client id and
    secret in a Basic header or in the form (`styles` says which it
    accepts; each of them form-escaped in the header, as RFC 6749 2.3.1
    says); issues tok-<n>-<random> for `lifetime` seconds. `script(n)`
    may return a status to answer request n with instead. requests: dicts
    of time, style, form, status."""

    def __init__(self, lifetime=3600, styles=("header", "params"), port=0,
                 script=lambda n: None, tls=None):
        self.lifetime, self.styles, self.script = lifetime, styles, script
        self.secret = SECRET
        self.requests, self.tokens, self.revoked = [], {}, set()
        self.lock = threading.Lock()
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer = srv.answer(self, body.decode())
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        if tls:  # (cert, key) files
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def client(self, handler, form):
        auth = handler.headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
            return "header", urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(pw)
        return "params", form.get("client_id"), form.get("client_secret")

    def answer(self, handler, body):
        form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        style, cid, secret = self.client(handler, form)
        with self.lock:
            n = len(self.requests)
            self.requests.append({"time": time.time(), "style": style, "form": form,
                                  "content_type": handler.headers.get("Content-Type"),
                                  "via": handler.headers.get("Via")})
        status = self.script(n)
        if status:
            answer = {"error": "temporarily_unavailable"}
        elif (style not in self.styles or cid != CLIENT_ID or secret != self.secret
              or form.get("grant_type") != "client_credentials"):
            status, answer = 401, {"error": "invalid_client"}
        else:
            tok = f"tok-{n}-{base64.b32encode(bytes(str(time.time()), 'ascii')).decode()[:12]}"
            with self.lock:
                self.tokens[tok] = time.time() + self.lifetime
            status, answer = 200, {"access_token": tok, "token_type": "bearer",
                                   "expires_in": self.lifetime}
        with self.lock:
            self.requests[n]["status"] = status
        return status, answer

    def issued(self):
        with self.lock:
            return [r for r in self.requests if r["status"] == 200]

    def accepts(self, authorization):
        """Whether a receiver should take a batch with this header."""
        kind, _, tok = (authorization or "").partition(" ")
        with self.lock:
            return (kind == "Bearer" and tok in self.tokens and tok not in self.revoked
                    and time.time() < self.tokens[tok])

    def revoke_all(self):
        with self.lock:
            self.revoked.update(self.tokens)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def receiver(tokens):
    """A FaultProxy that takes a batch only with a token that tokens() (the
    token server of the moment) accepts."""
    rx = None

    def script(n):
        with rx.lock:
            headers = rx.requests[n][6]
        server = tokens()
        return (200, {}, b"") if server and server.accepts(headers.get("Authorization")) \
            else (401, {}, b"invalid token")
    rx = FaultProxy(script=script)
    return rx


def oauth2_yaml(token_url, secret_line=None, extra=""):
    secret_line = secret_line or f"client_secret: \"{SECRET}\""
    return (f"    oauth2:\n      client_id: \"{CLIENT_ID}\"\n      {secret_line}\n"
            f"      token_url: {token_url}\n      scopes: [write, \"metrics:push\"]\n"
            f"      endpoint_params: {{audience: \"https://push.example/\"}}\n{extra}")


def agent_text(tf, rx, shards=1, interval="200ms", port=None):
    text = config([{"url": rx.url, "name": "oa", "queue": {
        "min_shards": shards, "max_shards": shards, "batch_send_deadline": "100ms",
        "min_backoff": "50ms", "max_backoff": "300ms"}}], tf.dir, interval=interval)
    if port:
        text = text.replace('http: {listen_address: ""}',
                            f'http: {{listen_address: "127.0.0.1:{port}"}}')
    return text


def assert_no_secret(text, tokens):
    for s in [SECRET, urllib.parse.quote_plus(SECRET)] + list(tokens.tokens):
        assert s not in text, s


@pytest.mark.parametrize("styles", [("header", "params"), ("params",)])
def test_one_token_request_per_lifetime_shared_by_the_shards(agent, tmp_path, styles):
    """Tokens live 4 s: refreshed 2 s before they expire (half the
    lifetime), so about one request per 2 s for three shards sending 15+
    batches a second. A server that refuses the Basic header gets the
    form instead, and from then on only the form."""
    tokens = TokenServer(lifetime=4, styles=styles)
    port = free_port()
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("oa_data", 30, 1))
    with receiver(lambda: tokens) as rx:
        a = agent(agent_text(tf, rx, shards=3, port=port) + oauth2_yaml(tokens.url)).start(
            "--log-level", "debug", "--flush-deadline", "2s", follow=True)
        wait(lambda: len(ok(rx.requests)) >= 3, 15, "batches with a token")
        t0 = time.monotonic()
        time.sleep(7)
        elapsed = time.monotonic() - t0
        metrics = http_get(f"http://127.0.0.1:{port}/metrics").decode()
        rc, _, err = a.stop()
    tokens.close()
    assert rc == 0, err
    reqs, issued = list(rx.requests), tokens.issued()
    print(f"{len(tokens.requests)} token requests ({len(issued)} tokens) for {len(reqs)} "
          f"batches from 3 shards in {elapsed:.1f}s")
    assert reqs and all(r[3] == 200 for r in reqs), [r[3] for r in reqs]
    used = {r[6].get("Authorization") for r in reqs}
    assert len(used) >= 3, "the token was not refreshed before it expired"
    assert len(issued) <= 2 + elapsed / 2 + 1, f"{len(issued)} token requests in {elapsed:.1f}s"
    assert len(reqs) >= 5 * len(issued), f"{len(reqs)} batches for {len(issued)} tokens"
    assert len(used) == len(issued), "a token was fetched and never used: one per shard?"
    forms = [r["form"] for r in tokens.requests]
    assert all(f.get("grant_type") == "client_credentials" and f.get("scope") ==
               "write metrics:push" and f.get("audience") == "https://push.example/"
               for f in forms), forms
    assert all(r["content_type"] == "application/x-www-form-urlencoded"
               for r in tokens.requests)
    if styles == ("params",):
        assert [r["style"] for r in tokens.requests[:2]] == ["header", "params"]
        assert all(r["style"] == "params" for r in tokens.requests[2:])
        assert len(tokens.requests) == len(issued) + 1
    else:
        assert all(r["style"] == "header" for r in tokens.requests)
    assert not with_msg(err, FAILED), err
    assert_no_secret(err, tokens)
    assert_no_secret(metrics, tokens)
    assert 'remote_name="oa"' in metrics


def test_a_401_fetches_a_new_token_and_sends_the_batch_again(agent, tmp_path):
    tokens = TokenServer(lifetime=3600)
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("oa_data", 10, 1))
    with receiver(lambda: tokens) as rx:
        a = agent(agent_text(tf, rx) + oauth2_yaml(tokens.url)).start(
            "--log-level", "debug", "--flush-deadline", "2s", follow=True)
        wait(lambda: len(ok(rx.requests)) >= 3, 15, "batches with a token")
        tokens.revoke_all()
        wait(lambda: any(r[3] == 401 for r in rx.requests), 10, "a batch refused with 401")
        wait(lambda: len(ok(rx.requests)) >= len(rx.requests) - 1 and rx.requests[-1][3] == 200
             and len(ok(rx.requests)) >= 5, 10, "batches after the 401")
        rc, _, err = a.stop()
    tokens.close()
    assert rc == 0, err
    reqs = list(rx.requests)
    refused = [i for i, r in enumerate(reqs) if r[3] == 401]
    assert len(refused) == 1, [r[3] for r in reqs]
    i = refused[0]
    assert reqs[i + 1][3] == 200 and reqs[i + 1][2] == reqs[i][2], "the batch was not resent"
    assert reqs[i + 1][6]["Authorization"] != reqs[i][6]["Authorization"]
    assert len(tokens.issued()) == 2
    assert REFUSED not in err, "the 401 batch was dropped"
    assert_no_secret(err, tokens)


def test_a_second_401_drops_the_batch_like_any_4xx(agent, tmp_path):
    tokens = TokenServer(lifetime=3600)
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("oa_data", 10, 1))
    with FaultProxy(script=lambda n: (401, {}, b"nope")) as rx:
        a = agent(agent_text(tf, rx) + oauth2_yaml(tokens.url)).start(
            "--log-level", "debug", "--flush-deadline", "2s", follow=True)
        assert a.wait_for(2, 15, msg=REFUSED)
        rc, _, err = a.stop()
    tokens.close()
    assert rc == 0, err
    reqs = list(rx.requests)
    dropped = len(with_msg(err, REFUSED))
    assert len(reqs) == 2 * dropped or len(reqs) == 2 * dropped + 1, (len(reqs), dropped)
    assert reqs[0][2] == reqs[1][2], "the refused batch was not resent once"
    assert len(reqs) // 2 <= len(tokens.issued()) <= len(reqs) // 2 + 2
    assert_no_secret(err, tokens)


@pytest.mark.parametrize("fault", ["unreachable", "503"])
def test_no_token_keeps_the_samples_queued_until_the_token_endpoint_answers(agent, tmp_path,
                                                                            fault):
    port = free_port()
    url = f"http://127.0.0.1:{port}/token"
    answering = {"503": True}
    tokens = None
    if fault == "503":
        tokens = TokenServer(port=port, script=lambda n: 503 if answering["503"] else None)
    tf = Textfile(tmp_path)
    rounds = Rounds(tf, 5)
    with receiver(lambda: tokens) as rx:
        a = agent(agent_text(tf, rx) + oauth2_yaml(url)).start(
            "--log-level", "debug", "--flush-deadline", "5s", follow=True)
        rounds.agent = a
        rounds.run_for(3)
        assert not rx.requests, "a batch went out without a token"
        assert a.count(msg=FAILED) == 1, "said once, not once per retry"
        if fault == "503":
            answering["503"] = False
        else:
            tokens = TokenServer(port=port)
        rounds.run_for(1)
        stamps = set(rounds.stamps())
        wait(lambda: stamps <= {ts for r in ok(rx.requests) for labels, ss in r[1]
                                if labels["__name__"] == "qf_round_total" for ts, _ in ss},
             15, "every round at the receiver")
        rc, _, err = a.stop()
    tokens.close()
    assert rc == 0, err
    assert REFUSED not in err, err
    failed = with_msg(err, FAILED)
    assert len(failed) == 1 and ("HTTP 503 (temporarily_unavailable)" in failed[0]["err"]
                                 if fault == "503" else "HTTP" not in failed[0]["err"]), failed
    assert with_msg(err, AGAIN), err
    assert_no_secret(err, tokens)


def test_a_refused_client_secret_is_said_once_and_a_fixed_file_is_used(agent, tmp_path):
    """A 401 from the token endpoint (a wrong secret in client_secret_file):
    one WARN line while it lasts, batches wait; the file is read again for
    each token request, so fixing it is enough."""
    tokens = TokenServer()
    secret_file = tmp_path / "client-secret"
    secret_file.write_text("not-the-secret\n")
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("oa_data", 10, 1))
    with receiver(lambda: tokens) as rx:
        a = agent(agent_text(tf, rx) + oauth2_yaml(
            tokens.url, secret_line=f"client_secret_file: {secret_file}")).start(
            "--log-level", "debug", "--flush-deadline", "2s", follow=True)
        wait(lambda: len(tokens.requests) >= 6, 15, "token requests retried")
        assert not rx.requests
        secret_file.write_text(SECRET + "\n")
        wait(lambda: len(ok(rx.requests)) >= 2, 15, "batches once the secret is fixed")
        rc, _, err = a.stop()
    tokens.close()
    assert rc == 0, err
    failed = with_msg(err, FAILED)
    assert len(failed) == 1, failed
    assert "HTTP 401 (invalid_client)" in failed[0]["err"], failed
    assert with_msg(err, AGAIN), err
    assert REFUSED not in err
    assert_no_secret(err, tokens)


def self_signed(tmp_path):
    cert, key = tmp_path / "token-cert.pem", tmp_path / "token-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


@pytest.mark.parametrize("trust", ["oauth2 ca_file", "endpoint ca_file only"])
def test_the_token_request_uses_the_oauth2_blocks_own_tls_config(agent, tmp_path, trust):
    """As in Prometheus, the oauth2 block's tls_config is the token
    request's, the endpoint's is not: a CA given only to the endpoint does
    not make the token server trusted."""
    cert, key = self_signed(tmp_path)
    tokens = TokenServer(tls=(cert, key))
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("oa_data", 10, 1))
    with receiver(lambda: tokens) as rx:
        extra = f"      tls_config: {{ca_file: {cert}}}\n" if trust == "oauth2 ca_file" else ""
        text = agent_text(tf, rx) + oauth2_yaml(tokens.url, extra=extra)
        if trust != "oauth2 ca_file":
            text += f"    tls_config: {{ca_file: {cert}}}\n"
        a = agent(text).start("--log-level", "debug", "--flush-deadline", "1s", follow=True)
        if trust == "oauth2 ca_file":
            wait(lambda: len(ok(rx.requests)) >= 2, 15, "batches with a token over TLS")
        else:
            assert a.wait_for(1, 15, msg=FAILED)
        rc, _, err = a.stop()
    tokens.close()
    assert rc == 0, err
    if trust == "oauth2 ca_file":
        assert len(tokens.issued()) == 1 and not with_msg(err, FAILED), err
    else:
        assert not tokens.requests and not rx.requests
        assert "certificate" in with_msg(err, FAILED)[0]["err"], err
    assert_no_secret(err, tokens)


def test_the_token_request_goes_through_the_oauth2_blocks_proxy_only(agent, tmp_path,
                                                                     tinyproxy):
    """oauth2.proxy_url carries the token request (tinyproxy's Via header
    at the token server), not the batches (the endpoint has no proxy)."""
    tokens = TokenServer()
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("oa_data", 10, 1))
    with receiver(lambda: tokens) as rx:
        a = agent(agent_text(tf, rx) + oauth2_yaml(
            tokens.url, extra=f"      proxy_url: {tinyproxy.url()}\n")).start(
            "--log-level", "debug", "--flush-deadline", "1s", follow=True)
        wait(lambda: len(ok(rx.requests)) >= 2, 15, "batches with a token")
        rc, _, err = a.stop()
    tokens.close()
    assert rc == 0, err
    assert tokens.requests and all(VIA in (r["via"] or "") for r in tokens.requests)
    assert all(not r[6].get("Via") for r in rx.requests)
    from test_proxy import PROXY_PASSWORD
    assert PROXY_PASSWORD not in err
    assert_no_secret(err, tokens)
