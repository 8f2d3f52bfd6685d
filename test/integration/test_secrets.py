# SPDX-License-Identifier: MIT
"""No secret anywhere the agent writes or serves: one agent with every
kind of credential in use at once (basic_auth password, bearer
credentials, OAuth2 client secret and the tokens it is issued, SigV4
secret key, URL userinfo on a live endpoint and on a refused one), at
debug level. Each secret, raw and as it could be escaped (URL
percent-encoding, base64 in a Basic header, JSON's "\\/"), is looked for in
every log line, in every /metrics line (labels included), /healthz, /ready
and / (the status page, where there is one), the answer and log lines of a
reload refused for a config error next to the secrets, and the errors of
--check-config on broken configs that hold them."""
import base64
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from conftest import BIN, log_lines
from receivers import FaultProxy, free_port
from test_oauth2 import CLIENT_ID, TokenServer, oauth2_yaml
from test_queue_faults import Textfile, config, gauge_lines, wait
from test_sigv4 import REGION, SigV4Receiver

BASIC_PASSWORD = "b4sic-Pa55:w/rd+do-not-log"
BEARER = "b3arer.T0ken_do-not-log=="
URL_PASSWORD = "ur1-Pa55_do-not-log"
SIGV4_ACCESS = "AKIDBPFPUSHTEST00001"   # what test_sigv4's receiver accepts
SIGV4_SECRET = "s3cr3t/Key+do-not-log-0123456789abcdefgh"


def forms(secret):
    """The secret and the spellings it could leak in."""
    return {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret),
            secret.replace("/", "\\/"), base64.b64encode(secret.encode()).decode()}


def all_secrets(tokens):
    out = set()
    for s in (BASIC_PASSWORD, BEARER, URL_PASSWORD, SIGV4_SECRET, tokens.secret,
              *tokens.tokens):
        out |= forms(s)
    # the Basic headers (basic_auth, and the URL's userinfo), whole
    out |= {basic("push", BASIC_PASSWORD)[6:], basic("push", URL_PASSWORD)[6:]}
    return out


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def leaks(text, secrets):
    return sorted(s for s in secrets if s in text)


def get(url, method="GET"):
    try:
        req = urllib.request.Request(url, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return f"{r.status}\n{r.headers}\n{r.read().decode(errors='replace')}"
    except urllib.error.HTTPError as e:
        return f"{e.code}\n{e.headers}\n{e.read().decode(errors='replace')}"


def post(url):
    return get(url, "POST")


def endpoints_yaml(rx, sig, tokens):
    """Five endpoints, one credential each; the last one refused (a closed
    port), so that its URL appears in error lines."""
    user_url = rx.url.replace("http://", f"http://push:{URL_PASSWORD}@")
    closed = f"http://push:{URL_PASSWORD}@127.0.0.1:{free_port()}/api/v1/write"
    q = "    queue_config: {max_shards: 1, batch_send_deadline: 100ms, min_backoff: 50ms," \
        " max_backoff: 200ms}\n"
    return (f"  - url: {rx.url}\n    name: basic\n{q}"
            f"    basic_auth: {{username: push, password: \"{BASIC_PASSWORD}\"}}\n"
            f"  - url: {rx.url}\n    name: bearer\n{q}"
            f"    authorization: {{type: Bearer, credentials: \"{BEARER}\"}}\n"
            f"  - url: {rx.url}\n    name: oauth\n{q}" + oauth2_yaml(tokens.url) +
            f"  - url: {sig.url}\n    name: sigv4\n{q}"
            f"    sigv4: {{region: {REGION}, access_key: {SIGV4_ACCESS}, "
            f"secret_key: \"{SIGV4_SECRET}\"}}\n"
            f"  - url: {user_url}\n    name: userinfo\n{q}"
            f"  - url: {closed}\n    name: refused\n{q}")


def test_no_secret_in_logs_metrics_status_or_errors(agent, tmp_path):
    tokens = TokenServer(lifetime=3600)
    rx = FaultProxy(script=lambda n: 200)
    sig = SigV4Receiver(secret=SIGV4_SECRET)
    port = free_port()
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("secret_test", 3, 1))
    base = config([], tf.dir, interval="200ms").replace(
        'http: {listen_address: ""}', f'http: {{listen_address: "127.0.0.1:{port}"}}')
    text = base + endpoints_yaml(rx, sig, tokens)
    with rx:
        a = agent(text).start("--log-level", "debug", "--flush-deadline", "1s", follow=True)
        try:
            def sent():
                with rx.lock:
                    auth = {r[6].get("Authorization") or "" for r in rx.requests}
                return {basic("push", BASIC_PASSWORD), basic("push", URL_PASSWORD),
                        f"Bearer {BEARER}"} <= auth and \
                    any(h.startswith("Bearer tok-") for h in auth) and len(sig.results) >= 2
            wait(sent, 20, "requests from every endpoint")
            wait(lambda: a.count(msg="refused") >= 1 or a.count(url=f"http://push:") >= 1,
                 10, "the refused endpoint's error")
            pages = {p: get(f"http://127.0.0.1:{port}{p}")
                     for p in ("/metrics", "/healthz", "/ready", "/")}
            # a reload refused: a config error beside every secret
            with open(a.path, "w") as f:
                f.write(text.replace(f"http://push:{URL_PASSWORD}@", f"htp://push:{URL_PASSWORD}@",
                                     1))
            reload_answer = post(f"http://127.0.0.1:{port}/-/reload")
            a.proc.send_signal(signal.SIGHUP)
            assert a.wait_for(2, 10, msg="reload"), a.lines[-10:]
        finally:
            rc, _, err = a.stop()
            tokens.close()
            sig.close()
    assert rc == 0, err[-3000:]
    secrets = all_secrets(tokens)
    assert tokens.tokens, "no token was issued"
    assert all(ok for ok, _, _ in sig.results), [why for ok, why, _ in sig.results if not ok]
    assert 'remote_name="userinfo"' in pages["/metrics"], pages["/metrics"][:500]
    assert len(err.splitlines()) > 20 and log_lines(err, msg="round collected")
    assert "htp://" in reload_answer and "htp://" in err, reload_answer
    assert log_lines(err, remote_name="refused"), err[-2000:]
    for where, text_ in [("log", err), ("reload answer", reload_answer)] + \
            [(p, body) for p, body in pages.items()]:
        assert leaks(text_, secrets) == [], (where, leaks(text_, secrets))


def check_config(path):
    return subprocess.run([BIN, "--check-config", str(path)], capture_output=True, text=True,
                          timeout=30)


def test_no_secret_in_config_errors(tmp_path):
    """Broken configs that hold each secret at the place of the error, or
    next to it: the error names the place, never the value."""
    user = f"http://push:{URL_PASSWORD}@127.0.0.1:1/api/v1/write"
    broken = {
        "url port": f"remote_write:\n  - url: http://push:{URL_PASSWORD}@127.0.0.1:99999/w\n",
        "url scheme": f"remote_write:\n  - url: ftp://push:{URL_PASSWORD}@127.0.0.1/w\n",
        "duplicate name": f"remote_write:\n  - {{url: {user}, name: a}}\n"
                          f"  - {{url: {user}, name: a}}\n",
        "password type": "remote_write:\n  - url: http://127.0.0.1:1/w\n"
                         f"    basic_auth: {{username: u, password: [\"{BASIC_PASSWORD}\"]}}\n",
        "password and file": "remote_write:\n  - url: http://127.0.0.1:1/w\n"
                             f"    basic_auth: {{username: u, password: \"{BASIC_PASSWORD}\", "
                             "password_file: /x}\n",
        "bearer twice": "remote_write:\n  - url: http://127.0.0.1:1/w\n"
                        f"    authorization: {{credentials: \"{BEARER}\", "
                        f"credentials: \"{BEARER}\"}}\n",
        "bearer and basic": "remote_write:\n  - url: http://127.0.0.1:1/w\n"
                            f"    authorization: {{credentials: \"{BEARER}\"}}\n"
                            f"    basic_auth: {{username: u, password: \"{BASIC_PASSWORD}\"}}\n",
        "sigv4 unknown key": "remote_write:\n  - url: http://127.0.0.1:1/w\n"
                             f"    sigv4: {{region: {REGION}, access_key: {SIGV4_ACCESS}, "
                             f"secret_key: \"{SIGV4_SECRET}\", nope: 1}}\n",
        "oauth2 unknown key": "remote_write:\n  - url: http://127.0.0.1:1/w\n"
                              f"    oauth2: {{client_id: {CLIENT_ID!r}, client_secret: "
                              f"\"{BEARER}\", token_url: {user}, nope: 1}}\n",
    }
    secrets = set()
    for s in (BASIC_PASSWORD, BEARER, URL_PASSWORD, SIGV4_SECRET):
        secrets |= forms(s)
    for name, text in broken.items():
        path = tmp_path / "bad.yml"
        path.write_text(text)
        r = check_config(path)
        assert r.returncode == 2, (name, r.returncode, r.stdout, r.stderr)
        assert leaks(r.stdout + r.stderr, secrets) == [], (name, r.stderr)
