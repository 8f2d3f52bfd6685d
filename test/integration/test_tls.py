# SPDX-License-Identifier: MIT
"""remote_write over real TLS: Debian's nginx terminates TLS in front of a
real VictoriaMetrics, with a CA and certificates made here with openssl.
Verification is on by default; a wrong CA, an expired certificate and a
wrong server name each fail with one warning (not one per retry), are
retried, and lose nothing once the server is fixed; client certificates
(mTLS, ssl_verify_client on) work and a client certificate and key rotated
on disk are used without a restart; insecure_skip_verify works and warns."""
import os

import pytest

from conftest import config_text, log_lines
from netservers import Nginx, Pki, wait_for

NAME = "rx.bpfpush.test"  # the server's name: never resolved, tls_config.server_name
RETRYING = "remote_write send failed, retrying"
ATTEMPT = "remote_write attempt failed"
RECOVERED = "remote_write endpoint recovered"


@pytest.fixture
def pki(tmp_path):
    p = Pki(str(tmp_path))
    p.ca("ca")
    p.ca("other-ca")
    p.issue("good", "ca", dns=NAME)
    p.issue("wrong-ca", "other-ca", dns=NAME)
    p.issue("expired", "ca", dns=NAME, days=-1)
    p.issue("wrong-name", "ca", dns="other.bpfpush.test")
    p.issue("client-1", "ca")
    p.issue("client-2", "ca")
    return p


def endpoint(url, name, tls, queue="batch_send_deadline: 1s, min_shards: 1, max_shards: 1, "
         "min_backoff: 100ms, max_backoff: 500ms"):
    tls_yaml = ", ".join(f"{k}: {v}" for k, v in tls.items())
    return (f"  - url: {url}\n    name: {name}\n    remote_timeout: 5s\n"
            f"    tls_config: {{{tls_yaml}}}\n    queue_config: {{{queue}}}\n")


def agent_config(endpoints):
    return config_text([], collectors="loadavg: {}", interval="1s") + \
        "remote_write:\n" + "".join(endpoints)


def rounds_in_vm(vm, name, min_samples):
    """The timestamps (ms) of the series name in VictoriaMetrics."""
    found = vm.export(name, min_samples=min_samples, timeout=20)
    return sorted(ts for f in found for ts in f["timestamps"])


# Each fault: the certificate nginx presents, and what the log line says.
FAULTS = [
    ("wrong-ca", "unable to get local issuer certificate"),
    ("expired", "certificate has expired"),
    ("wrong-name", "no alternative certificate subject name matches"),
]


def test_verification_failures_are_logged_once_retried_and_kept(vm, pki, agent, tmp_path):
    """Each fault is fixed on the server (nginx reloads the good
    certificate), the last one on the agent's side: its ca_file is replaced
    by one that trusts the server's CA too, and that is picked up without a
    restart (libcurl would keep the parsed file for a day)."""
    live_cert, live_key = str(tmp_path / "server.pem"), str(tmp_path / "server.key")
    live_ca = str(tmp_path / "ca.pem")
    pki.install("good", live_cert, live_key)
    with open(pki.path("ca", "pem")) as f:
        ca_text = f.read()
    with open(live_ca, "w") as f:
        f.write(ca_text)
    nginx = Nginx(str(tmp_path), f"127.0.0.1:{vm.port}",
                  [{"cert": live_cert, "key": live_key}]).start()
    try:
        url = f"https://127.0.0.1:{nginx.ports[0]}/api/v1/write"
        a = agent(agent_config([endpoint(url, "tls", {"ca_file": live_ca,
                                                      "server_name": NAME})]))
        a.start("--log-level", "debug", follow=True)
        wait_for(lambda: len(nginx.access(0)) >= 2, 30, "requests through nginx")
        for i, (cert, says) in enumerate(FAULTS):
            pki.install(cert, live_cert, live_key)
            nginx.reload(nginx.ports[0], live_cert)
            # Several attempts fail, and say so once.
            assert a.wait_for(i + 1, 20, msg=RETRYING), a.lines
            seen = a.count(msg=ATTEMPT)
            assert a.wait_for(seen + 4, 20, msg=ATTEMPT)
            assert a.count(msg=RETRYING) == i + 1
            assert says in log_lines("\n".join(l for _, l in a.lines), msg=RETRYING)[-1]
            pki.install("good", live_cert, live_key)
            nginx.reload(nginx.ports[0], live_cert)
            assert a.wait_for(i + 1, 20, msg=RECOVERED)
        pki.install("wrong-ca", live_cert, live_key)
        nginx.reload(nginx.ports[0], live_cert)
        assert a.wait_for(len(FAULTS) + 1, 20, msg=RETRYING)
        with open(pki.path("other-ca", "pem")) as f:
            bundle = ca_text + f.read()
        with open(live_ca + ".new", "w") as f:
            f.write(bundle)
        os.rename(live_ca + ".new", live_ca)
        assert a.wait_for(len(FAULTS) + 1, 20, msg=RECOVERED)
        rc, _, err = a.stop()
        assert rc == 0, err
    finally:
        nginx.stop()
    for line in log_lines(err, msg=RETRYING):
        print(line)
    stopped = log_lines(err, msg="remote_write stopped")
    assert len(stopped) == 1 and " failed=0 shutdown_dropped=0 " in stopped[0], stopped
    stamps = rounds_in_vm(vm, "node_load1", 10)
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert max(gaps) < 1500, gaps


def test_mtls_rotation_and_insecure_skip_verify(vm, pki, agent, tmp_path):
    """One agent, two endpoints: "mtls" to a server that requires a client
    certificate (whose files are then replaced on disk), "insecure" to a
    server whose CA the agent is not given, with insecure_skip_verify."""
    client_cert, client_key = str(tmp_path / "client.pem"), str(tmp_path / "client.key")
    pki.install("client-1", client_cert, client_key)
    good = {"cert": pki.path("good", "pem"), "key": pki.path("good", "key")}
    nginx = Nginx(str(tmp_path), f"127.0.0.1:{vm.port}",
                  [dict(good, client_ca=pki.path("ca", "pem")), good]).start()
    try:
        mtls, insecure = (f"https://127.0.0.1:{p}/api/v1/write" for p in nginx.ports)
        a = agent(agent_config([
            endpoint(mtls, "mtls", {"ca_file": pki.path("ca", "pem"), "server_name": NAME,
                                    "cert_file": client_cert, "key_file": client_key}),
            endpoint(insecure, "insecure", {"insecure_skip_verify": "true"})]))
        a.start(follow=True)

        def clients(i):
            return [r["client"] for r in nginx.access(i) if r["status"] == "204"]
        wait_for(lambda: len(clients(0)) >= 2 and len(clients(1)) >= 2, 30,
                 "requests through both servers")
        assert set(clients(0)) == {"CN=client-1"}
        assert a.count(msg="TLS certificate verification is disabled",
                       remote_name="insecure") == 1
        assert a.count(msg="TLS certificate verification is disabled") == 1
        # Replaced on disk, both files: the next request goes on a new
        # connection (a kept-alive one would go on with the old certificate
        # for as long as it lives) with a full handshake (a resumed session
        # would too).
        pki.install("client-2", client_cert, client_key)
        rotated = len(nginx.access(0))
        wait_for(lambda: "CN=client-2" in clients(0), 10, "the rotated client certificate")
        wait_for(lambda: len(clients(0)) >= rotated + 3, 10, "more requests")
        after = nginx.access(0)[rotated:]
        assert a.proc.poll() is None
        rc, _, err = a.stop()
        assert rc == 0, err
    finally:
        nginx.stop()
    # The first request after the rotation may still go out on the old
    # connection (it can begin before the files change); none after that.
    first = next(i for i, r in enumerate(after) if r["client"] == "CN=client-2")
    assert first <= 1, after
    assert all(r["client"] == "CN=client-2" for r in after[first:]), after
    assert len({r["conn"] for r in after[first:]}) == 1, "then kept alive again"
    assert all(r["status"] == "204" for r in nginx.access(0) + nginx.access(1))
    assert not log_lines(err, msg=RETRYING) and "level=error" not in err, err
