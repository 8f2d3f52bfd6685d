# SPDX-License-Identifier: MIT
"""sigv4: requests signed by the agent (libcurl's AWS SigV4) and checked by
a receiver that recomputes the signature with botocore (Debian's
python3-botocore) from what it received: the method, path, body, the
headers the request says it signed and its X-Amz-Date. A wrong signature
is answered 403, which the agent drops (counted, not retried).

Credentials come from the config, the AWS environment variables or the
shared credentials file; no secret key or session token may appear in
the agent's output."""
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.auth import SigV4Auth
from botocore.compat import HTTPHeaders
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from test_proxy import tinyproxy  # noqa: F401 (a fixture)
from receivers import http_get
from test_queue_faults import Textfile, config, gauge_lines, wait

REGION = "eu-west-3"
ACCESS = "AKIDBPFPUSHTEST00001"
SECRET = "s3cr3t/Key+do-not-log-0123456789abcdefgh"
TOKEN = "T0ken-session-do-not-log//+=="
AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,"
                     r" ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$")


class Verifier(SigV4Auth):
    """botocore's SigV4 over exactly the headers the request lists as
    signed (any verifier takes the list from the request)."""

    def __init__(self, creds, region, signed, service="aps"):
        super().__init__(creds, service, region)
        self.signed = signed

    def headers_to_sign(self, request):
        h = HTTPHeaders()
        for name in self.signed:
            h[name] = request.headers.get(name, "")
        return h


class SigV4Receiver:
    """Answers 200 to a request whose signature botocore recomputes equal
    (for ACCESS/secret, region, service "aps", and the session token when
    one is expected), else 403. results: (ok, why, headers) per request.
    accept: a callable of the (access, secret, token) sets to take instead
    (credentials that change, as a role's do)."""

    def __init__(self, secret=SECRET, token=None, accept=None):
        self.accept = accept or (lambda: [(ACCESS, secret, token)])
        self.results, self.lock = [], threading.Lock()
        rx = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, text = rx.respond(self, body)
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/write"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def respond(self, handler, body):
        try:
            ok, why = self.verify(handler, body)
        except Exception as e:  # a receiver defect: still a 403, with why
            ok, why = False, repr(e)
        with self.lock:
            self.results.append((ok, why, handler.headers))
        return (200, b"") if ok else (403, b"signature does not match")

    def verify(self, handler, body, service="aps"):
        m = AUTH_RE.match(handler.headers.get("Authorization") or "")
        if not m:
            return False, f"no SigV4 Authorization: {handler.headers.get('Authorization')!r}"
        access, day, region, got_service, signed, signature = m.groups()
        amz_date = handler.headers.get("X-Amz-Date") or ""
        creds = [c for c in self.accept() if c[0] == access]
        if (not creds or (region, got_service) != (REGION, service)
                or not amz_date.startswith(day)):
            return False, f"scope {access}/{day}/{region}/{got_service} date {amz_date}"
        _, secret, token = creds[-1]
        if token and (handler.headers.get("X-Amz-Security-Token") != token
                      or "x-amz-security-token" not in signed.split(";")):
            return False, "session token missing or unsigned"
        missing = [k for k in signed.split(";") if handler.headers.get(k) is None]
        if missing:
            return False, f"signed but not received: {missing}"
        req = AWSRequest(method="POST", url=f"http://{handler.headers['Host']}{handler.path}",
                         data=body, headers={k: handler.headers[k] for k in signed.split(";")})
        req.context["timestamp"] = amz_date
        v = Verifier(Credentials(access, secret, token), REGION, signed.split(";"), service)
        want = v.signature(v.string_to_sign(req, v.canonical_request(req)), req)
        return want == signature, f"signature {signature} != {want}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """No AWS variable from the outside, and a HOME without ~/.aws."""
    for v in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
              "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION", "AWS_DEFAULT_REGION",
              "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return monkeypatch


def run_signed(agent, tmp_path, sigv4_yaml, rx, n_requests=2):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("sv_data", 3, 1))
    text = config([{"url": rx.url, "name": "aps", "queue": {
        "max_shards": 1, "batch_send_deadline": "100ms"}}], tf.dir, interval="200ms")
    a = agent(text + sigv4_yaml).start("--log-level", "debug", "--flush-deadline", "2s",
                                       follow=True)
    wait(lambda: len(rx.results) >= n_requests, 15, "signed requests at the receiver")
    rc, _, err = a.stop()
    rx.close()
    assert rc == 0, err
    return err


def assert_no_secret(err):
    for s in (SECRET, TOKEN):
        assert s not in err
        assert s.replace("/", "\\/") not in err


def test_keys_from_the_config_sign_every_request(agent, tmp_path, aws_env):
    rx = SigV4Receiver()
    err = run_signed(agent, tmp_path, f"    sigv4: {{region: {REGION}, access_key: {ACCESS}, "
                     f"secret_key: \"{SECRET}\"}}\n", rx)
    assert all(ok for ok, _, _ in rx.results), [why for ok, why, _ in rx.results if not ok]
    assert "refused" not in err
    assert_no_secret(err)


def test_keys_and_session_token_from_the_environment(agent, tmp_path, aws_env):
    aws_env.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    aws_env.setenv("AWS_SESSION_TOKEN", TOKEN)
    aws_env.setenv("AWS_REGION", REGION)
    rx = SigV4Receiver(token=TOKEN)
    err = run_signed(agent, tmp_path, "    sigv4: {}\n", rx)
    assert all(ok for ok, _, _ in rx.results), [why for ok, why, _ in rx.results if not ok]
    assert_no_secret(err)


def test_keys_from_the_shared_credentials_file_and_its_profile(agent, tmp_path, aws_env):
    creds = tmp_path / "aws-credentials"
    creds.write_text(f"[default]\naws_access_key_id = AKIDWRONGPROFILE0000\n"
                     f"aws_secret_access_key = nope\n\n# the one to use\n[push]\n"
                     f"aws_access_key_id = {ACCESS}\naws_secret_access_key = {SECRET}\n"
                     f"aws_session_token = {TOKEN}\n")
    aws_env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    rx = SigV4Receiver(token=TOKEN)
    err = run_signed(agent, tmp_path, f"    sigv4: {{region: {REGION}, profile: push}}\n", rx)
    assert all(ok for ok, _, _ in rx.results), [why for ok, why, _ in rx.results if not ok]
    assert_no_secret(err)


def test_home_aws_credentials_default_profile(agent, tmp_path, aws_env):
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id={ACCESS}\naws_secret_access_key={SECRET}\n")
    aws_env.setenv("AWS_DEFAULT_REGION", REGION)
    rx = SigV4Receiver()
    err = run_signed(agent, tmp_path, "    sigv4: {}\n", rx)
    assert all(ok for ok, _, _ in rx.results), [why for ok, why, _ in rx.results if not ok]
    assert_no_secret(err)


def test_a_wrong_signature_is_refused_with_403_dropped_and_not_retried(agent, tmp_path,
                                                                        aws_env):
    rx = SigV4Receiver(secret="not-the-secret-the-agent-has")
    err = run_signed(agent, tmp_path, f"    sigv4: {{region: {REGION}, access_key: {ACCESS}, "
                     f"secret_key: \"{SECRET}\"}}\n", rx, n_requests=3)
    assert rx.results and not any(ok for ok, _, _ in rx.results)
    refused = [line for line in err.splitlines()
               if "remote_write batch refused by the receiver, dropped" in line]
    assert refused and all("status=403" in line for line in refused), err
    assert "remote_write attempt failed" not in err, "a 403 must not be retried"
    assert_no_secret(err)


def test_missing_credentials_are_retried_and_name_no_secret(agent, tmp_path, aws_env):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("sv_data", 3, 1))
    text = config([{"url": "http://127.0.0.1:9/api/v1/write", "name": "aps"}], tf.dir)
    a = agent(text + f"    sigv4: {{region: {REGION}, profile: nosuch}}\n").start(
        "--log-level", "debug", "--flush-deadline", "1s", follow=True)
    assert a.wait_for(1, 15, msg="remote_write attempt failed")
    rc, _, err = a.stop()
    assert rc == 0, err
    assert ".aws/credentials cannot be read" in err, err


@pytest.mark.parametrize("extra,message", [
    (f"    basic_auth: {{username: u, password: p}}\n    sigv4: {{region: {REGION}}}\n",
     "\"sigv4\" and \"basic_auth\" cannot both be set"),
    (f"    sigv4: {{region: {REGION}}}\n    authorization: {{credentials: tok}}\n",
     "\"sigv4\" and \"authorization\" cannot both be set"),
    (f"    sigv4: {{region: {REGION}, role_arn: 'iam::1:role/x'}}\n",
     "\"role_arn\": expected an ARN"),
    (f"    sigv4: {{region: {REGION}, secret_key: \"{SECRET}\"}}\n",
     "\"access_key\" and \"secret_key\" go together"),
    ("    sigv4: {}\n", "no \"region\", and neither AWS_REGION nor AWS_DEFAULT_REGION"),
    ("    sigv4: {region: 'us-east-1:x'}\n", "expected an AWS region"),
    ("    sigv4: {regoin: us-east-1}\n", "regoin"),
])
def test_bad_sigv4_keys_are_config_errors(agent, tmp_path, aws_env, extra, message):
    tf = Textfile(tmp_path)
    text = config([{"url": "http://127.0.0.1:9/api/v1/write", "name": "aps"}], tf.dir) + extra
    r = agent(text).run()
    assert r.returncode == 2, r.stderr
    assert message in r.stderr, r.stderr
    assert re.search(r"bpfpush\.yml:\d+:\d+", r.stderr), r.stderr
    assert SECRET not in r.stderr + r.stdout


def test_no_secret_in_logs_metrics_or_errors(agent, tmp_path, aws_env, tinyproxy):
    """The AWS secret key, the session token and the proxy password, all in
    use at once (signed requests through tinyproxy): none of them in the
    debug log, in /metrics (labels included), or in a config error that
    quotes the proxy URL."""
    from test_proxy import PROXY_PASSWORD
    from receivers import free_port, http_get
    aws_env.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    aws_env.setenv("AWS_SESSION_TOKEN", TOKEN)
    for v in ("http_proxy", "no_proxy", "NO_PROXY"):
        aws_env.delenv(v, raising=False)
    rx = SigV4Receiver(token=TOKEN)
    port = free_port()
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("sv_data", 3, 1))
    text = config([{"url": rx.url, "name": "aps", "queue": {
        "max_shards": 1, "batch_send_deadline": "100ms"}}], tf.dir, interval="200ms")
    text = text.replace('http: {listen_address: ""}', f'http: {{listen_address: "127.0.0.1:{port}"}}')
    text += f"    sigv4: {{region: {REGION}}}\n    proxy_url: {tinyproxy.url()}\n"
    a = agent(text).start("--log-level", "debug", "--flush-deadline", "2s", follow=True)
    wait(lambda: len(rx.results) >= 2, 15, "signed requests through the proxy")
    metrics = http_get(f"http://127.0.0.1:{port}/metrics")
    rc, _, err = a.stop()
    rx.close()
    assert rc == 0, err
    assert all(ok for ok, _, _ in rx.results), [why for ok, why, _ in rx.results if not ok]
    assert all("bpfpush-test-proxy" in (h.get("Via") or "") for _, _, h in rx.results)
    metrics = metrics.decode() if isinstance(metrics, bytes) else str(metrics)
    assert 'remote_name="aps"' in metrics
    for secret in (SECRET, TOKEN, PROXY_PASSWORD):
        assert secret not in err, secret
        assert secret not in metrics, secret
    bad = config([{"url": rx.url, "name": "aps"}], tf.dir) + \
        f"    proxy_url: ftp://u:{PROXY_PASSWORD}@127.0.0.1:1\n" + \
        f"    sigv4: {{region: {REGION}, access_key: {ACCESS}, secret_key: \"{SECRET}\", " \
        "role_arn: x}\n"
    r = agent(bad).run()
    assert r.returncode == 2
    for secret in (SECRET, PROXY_PASSWORD):
        assert secret not in r.stderr + r.stdout, secret


# ---- role_arn: STS AssumeRole ------------------------------------------------

ROLE = "arn:aws:iam::123456789012:role/bpfpush-push"


class StsStandIn(SigV4Receiver):
    """STS at AWS_ENDPOINT_URL_STS: AssumeRole signed (service "sts") with
    the base credentials, checked by botocore as the receiver checks the
    batches; answers the role's temporary credentials for `lifetime`
    seconds in STS's XML (a new set each time, kept in self.issued), or
    STS's error XML with 403. calls: the form of each request."""

    def __init__(self, lifetime=900, secret=SECRET):
        super().__init__(secret=secret)
        self.url = self.url.replace("/api/v1/write", "/")
        self.lifetime, self.issued, self.calls = lifetime, [], []

    def respond(self, handler, body):
        form = dict(urllib.parse.parse_qsl(body.decode()))
        ok, why = self.verify(handler, body, service="sts")
        want = {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": ROLE,
                "DurationSeconds": "900"}
        if ok and ({k: form.get(k) for k in want} != want
                   or not form.get("RoleSessionName", "").isdigit()):
            ok, why = False, f"form {form}"
        with self.lock:
            self.calls.append((ok, why, form))
            n = len(self.calls)
        if not ok:
            return 403, (b"<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch"
                         b"</Code><Message>no</Message></Error></ErrorResponse>")
        cred = (f"ASIAROLE{n:012d}", f"role/secret+{n}-do-not-log", f"role-token/{n}+&=")
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + self.lifetime))
        with self.lock:
            self.issued.append(cred)
        token = cred[2].replace("&", "&amp;")
        return 200, (f'<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                     f"<AssumeRoleResult><AssumedRoleUser><Arn>{ROLE}/s</Arn>"
                     f"<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser><Credentials>"
                     f"<AccessKeyId>{cred[0]}</AccessKeyId><SecretAccessKey>{cred[1]}"
                     f"</SecretAccessKey><SessionToken>{token}</SessionToken>"
                     f"<Expiration>{expires}</Expiration></Credentials></AssumeRoleResult>"
                     f"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
                     f"</AssumeRoleResponse>").encode()


def run_role(agent, tmp_path, aws_env, sts, seconds, port=None):
    aws_env.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    rx = SigV4Receiver(accept=lambda: list(sts.issued))
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("sv_data", 3, 1))
    text = config([{"url": rx.url, "name": "aps", "queue": {
        "min_shards": 2, "max_shards": 2, "batch_send_deadline": "100ms",
        "max_backoff": "300ms"}}], tf.dir, interval="200ms")
    if port:
        text = text.replace('http: {listen_address: ""}',
                            f'http: {{listen_address: "127.0.0.1:{port}"}}')
    a = agent(text + f"    sigv4: {{region: {REGION}, access_key: {ACCESS}, "
              f"secret_key: \"{SECRET}\", role_arn: \"{ROLE}\"}}\n").start(
        "--log-level", "debug", "--flush-deadline", "2s", follow=True)
    time.sleep(seconds)
    metrics = http_get(f"http://127.0.0.1:{port}/metrics").decode() if port else ""
    rc, _, err = a.stop()
    rx.close()
    sts.close()
    assert rc == 0, err
    return rx, err + metrics


def assert_no_role_secret(text, sts):
    assert_no_secret(text)
    for _, secret, token in sts.issued:
        for s in (secret, token, token.replace("&", "&amp;")):
            assert s not in text, s


def test_role_arn_is_assumed_once_and_its_credentials_sign_every_batch(agent, tmp_path,
                                                                        aws_env):
    from receivers import free_port
    sts = StsStandIn()
    rx, out = run_role(agent, tmp_path, aws_env, sts, 3, port=free_port())
    assert [ok for ok, _, _ in sts.calls] == [True], sts.calls
    assert len(rx.results) >= 5
    assert all(ok for ok, _, _ in rx.results), [why for ok, why, _ in rx.results if not ok]
    assert all(h["Authorization"].split("Credential=")[1].startswith(sts.issued[0][0])
               for _, _, h in rx.results)
    assert_no_role_secret(out, sts)


def test_role_credentials_are_assumed_again_before_they_expire(agent, tmp_path, aws_env):
    """They last 4 s: assumed again at half that (a minute before, when
    they last longer), so every batch is signed with valid ones."""
    sts = StsStandIn(lifetime=4)
    rx, out = run_role(agent, tmp_path, aws_env, sts, 6)
    assert 3 <= len(sts.calls) <= 5, sts.calls
    assert all(ok for ok, _, _ in rx.results), [why for ok, why, _ in rx.results if not ok]
    used = {h["Authorization"].split("Credential=")[1].split("/")[0] for _, _, h in rx.results}
    assert len(used) >= 3
    assert_no_role_secret(out, sts)


def test_a_refused_assume_role_is_said_once_and_nothing_is_sent_or_dropped(agent, tmp_path,
                                                                           aws_env):
    sts = StsStandIn(secret="not-the-base-secret")
    rx, out = run_role(agent, tmp_path, aws_env, sts, 3)
    assert len(sts.calls) >= 3 and not any(ok for ok, _, _ in sts.calls)
    assert not rx.results
    failed = [line for line in out.splitlines() if "sts AssumeRole failed" in line]
    assert len(failed) == 1 and "HTTP 403 (SignatureDoesNotMatch)" in failed[0], failed
    assert "refused by the receiver, dropped" not in out
    assert_no_role_secret(out, sts)


class StsMalformed(StsStandIn):
    """Checks the request as STS would, then answers 200 with body."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def respond(self, handler, body):
        status, _ = super().respond(handler, body)
        return (status, self.body) if status == 200 else (status, b"")


def good_answer_without(element):
    """STS's answer with one element of the Credentials left out."""
    parts = {"AccessKeyId": "ASIAX", "SecretAccessKey": "s/x", "SessionToken": "t",
             "Expiration": "2099-01-01T00:00:00Z"}
    parts.pop(element)
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in parts.items())
    return (f"<AssumeRoleResponse><AssumeRoleResult><Credentials>{inner}</Credentials>"
            f"</AssumeRoleResult></AssumeRoleResponse>").encode()


@pytest.mark.parametrize("body", [
    good_answer_without("SessionToken"),
    good_answer_without("Expiration"),
    good_answer_without("Expiration").replace(b"<SessionToken>",
                                              b"<Expiration>soon</Expiration><SessionToken>"),
    b"<html>a proxy's login page</html>" * 3000,  # over the 64 KiB kept of an answer
], ids=["no_session_token", "no_expiration", "bad_expiration", "oversized"])
def test_an_assume_role_answer_without_usable_credentials_is_said_once_and_nothing_is_lost(
        agent, tmp_path, aws_env, body):
    sts = StsMalformed(body)
    rx, out = run_role(agent, tmp_path, aws_env, sts, 2)
    assert len(sts.calls) >= 2 and all(ok for ok, _, _ in sts.calls), sts.calls
    assert not rx.results
    failed = [line for line in out.splitlines() if "sts AssumeRole failed" in line]
    assert len(failed) == 1 and "HTTP 200 (the answer holds no usable Credentials)" \
        in failed[0], failed
    assert "refused by the receiver, dropped" not in out
    assert_no_role_secret(out, sts)
