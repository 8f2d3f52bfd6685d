# SPDX-License-Identifier: MIT
"""The sender under hostile-but-fair faults: a Retry-After of an hour, a
SIGTERM (and a second one) during a long backoff, a secret file that would
inject a header, and receivers that redirect.

Data comes from the textfile collector only (as in test_queue_faults.py);
the FaultProxy decodes every request and records its headers and path, and
forwards to a real VictoriaMetrics where arriving must be proven."""
import base64
import os
import signal
import subprocess
import time

import pytest

from conftest import BIN
from receivers import FaultProxy
from test_queue_faults import (OK, REFUSED, Textfile, config, final, gauge_lines, n_samples,
                               ok, snapshot, stop_timed, wait, with_msg)

SECRET_REJECTED = "remote_write: secret file rejected, the last good value stays in use"


def qf_samples(reqs):
    """(labels i, timestamp) of every qf_data sample in the requests."""
    return sorted((labels["i"], ts) for r in reqs for labels, ss in r[1]
                  if labels["__name__"] == "qf_data" for ts, _ in ss)


def vm_qf_samples(vm, n):
    return sorted((s["metric"]["i"], ts) for s in vm.export("qf_data", min_samples=n)
                  for ts in s["timestamps"])


def exit_within(a, seconds):
    """Waits for the agent to exit; its return code and stderr."""
    a.proc.wait(seconds)
    a._reader.join(10)
    with a._lines_lock:
        return a.proc.returncode, "".join(line + "\n" for _, line in a.lines)


# ---- Retry-After is bounded by max_retry_after ---------------------------------

def test_an_hour_of_retry_after_holds_the_endpoint_back_only_max_retry_after(agent, tmp_path):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 5, 1))
    busy = (503, {"Retry-After": "3600"}, b"busy")
    with FaultProxy(None, lambda n: busy if n == 0 else OK) as proxy:
        a = agent(config([{"url": proxy.url, "name": "rx", "queue": {
            "max_shards": 1, "batch_send_deadline": "100ms", "min_backoff": "100ms",
            "max_backoff": "1s", "max_retry_after": "2s"}}], tf.dir)
        ).start("--log-level", "debug", follow=True)
        wait(lambda: len(snapshot(proxy)) >= 2, 15, "a retry after the Retry-After: 3600")
        rc, err, _ = stop_timed(a)
    reqs = snapshot(proxy)
    assert rc == 0, err
    assert proxy.errors == []
    first, retry = reqs[0], reqs[1]
    assert (first[3], retry[3]) == (503, 200)
    assert retry[2] == first[2], "the retry resends the same batch"
    waited = retry[0] - first[5]
    assert 2.0 - 0.01 <= waited <= 2.0 + 1.0, \
        f"retried {waited:.3f}s after Retry-After: 3600 with max_retry_after 2s"
    attempt = with_msg(err, "remote_write attempt failed")[0]
    assert (attempt["retry_after_ms"], attempt["backoff_ms"]) == ("3600000", "2000"), attempt


def test_sigterm_during_a_long_backoff_makes_a_last_attempt(vm, agent, tmp_path):
    """The default max_retry_after (1m) outlasts --flush-deadline 10s: the
    shard must not sleep through the flush with the receiver back up."""
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 5, 1))
    busy = (503, {"Retry-After": "3600"}, b"busy")
    with FaultProxy(vm.write_url, lambda n: busy if n == 0 else None) as proxy:
        a = agent(config([{"url": proxy.url, "name": "vm", "queue": {
            "max_shards": 1, "batch_send_deadline": "100ms"}}], tf.dir)
        ).start("--flush-deadline", "10s", "--log-level", "debug", follow=True)
        assert a.wait_for(1, 15, msg="remote_write attempt failed")
        assert a.wait_for(3, 15, msg="round collected")  # more samples queue behind it
        sigterm = time.time()
        rc, err, took = stop_timed(a)
    reqs = snapshot(proxy)
    assert rc == 0, err
    assert proxy.errors == []
    assert took < 5, f"stopping took {took:.1f}s: the backoff slept through the flush"
    after = [r for r in reqs if r[0] >= sigterm]
    assert after and after[0][2] == reqs[0][2], "no last attempt of the batch in backoff"
    assert after[0][0] - sigterm < 1.5, "the last attempt waited"
    assert all(r[3] == 204 for r in reqs[1:]), [r[3] for r in reqs]
    stopped = final(err, "remote_write stopped")
    total = final(err, "bpfpush stopped")
    assert (stopped["failed"], stopped["shutdown_dropped"], total["not_delivered"]) == (0, 0, 0)
    assert stopped["sent"] == n_samples(ok(reqs)) == total["samples_collected"]
    want = qf_samples(ok(reqs))
    assert len(want) >= 15 and vm_qf_samples(vm, len(want)) == want


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_second_signal_ends_the_flush_at_once(agent, tmp_path, second):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 5, 1))
    with FaultProxy(None, lambda n: 503) as proxy:
        a = agent(config([{"url": proxy.url, "name": "down", "queue": {
            "max_shards": 1, "batch_send_deadline": "100ms", "min_backoff": "100ms",
            "max_backoff": "500ms"}}], tf.dir)
        ).start("--flush-deadline", "60s", follow=True)
        wait(lambda: len(snapshot(proxy)) >= 2, 15, "failed attempts")
        a.proc.send_signal(signal.SIGTERM)
        assert a.wait_for(1, 10, msg="signal received, stopping")
        n_before = len(snapshot(proxy))
        time.sleep(1.5)
        assert a.proc.poll() is None, "the flush should still be retrying"
        assert len(snapshot(proxy)) > n_before, "no attempt during the flush"
        t = time.monotonic()
        a.proc.send_signal(second)
        try:
            rc, err = exit_within(a, 5)
        except subprocess.TimeoutExpired:
            pytest.fail("a second signal did not end the flush")
        took = time.monotonic() - t
    assert rc == 0, err
    assert took < 2, f"exited {took:.1f}s after the second signal"
    assert len(with_msg(err, "second signal, ending the flush now: unsent samples are dropped")) \
        == 1, err
    stopped = final(err, "remote_write stopped")
    total = final(err, "bpfpush stopped")
    assert (stopped["sent"], stopped["failed"]) == (0, 0)
    assert stopped["shutdown_dropped"] == total["samples_collected"] == total["not_delivered"] > 0


# ---- secrets in files ----------------------------------------------------------

def auth_block(kind, path):
    if kind == "credentials_file":
        return f"    authorization: {{type: Bearer, credentials_file: {path}}}\n"
    return f"    basic_auth: {{username: u, password_file: {path}}}\n"


def auth_value(kind, secret):
    if kind == "credentials_file":
        return f"Bearer {secret}"
    return "Basic " + base64.b64encode(f"u:{secret}".encode()).decode()


def write_secret(path, text):
    with open(str(path) + ".tmp", "w", newline="") as f:
        f.write(text)
    os.replace(str(path) + ".tmp", path)


@pytest.mark.parametrize("kind", ["credentials_file", "password_file"])
def test_a_secret_file_with_crlf_fails_the_config_load(agent, tmp_path, kind):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 5, 1))
    secret = tmp_path / "secret"
    write_secret(secret, "tokA\r\nX-Injected: yes\n")
    with FaultProxy(None, lambda n: OK) as proxy:
        a = agent(config([{"url": proxy.url, "name": "rx"}], tf.dir)
                  + auth_block(kind, secret))
        check = subprocess.run([BIN, "--check-config", a.path], capture_output=True, text=True,
                               timeout=60)
        run = a.run("--once")
    assert check.returncode == 2, check.stdout + check.stderr
    err = check.stderr.strip()
    assert err.startswith(f"{a.path}:"), err
    assert f'"{kind}": {secret} holds a control character' in err, err
    assert run.returncode == 2 and run.stderr.strip() == err
    for out in (check.stdout, check.stderr, run.stdout, run.stderr):
        assert "tokA" not in out and "Injected" not in out, "the secret was printed"
    assert proxy.requests == [], "a request was made with a rejected secret"


def start_with_secret(agent, tmp_path, proxy, kind, secret):
    """An agent sending to proxy with the secret file `secret` ("tokA"),
    once two requests have carried it."""
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 5, 1))
    write_secret(secret, "tokA\n")
    a = agent(config([{"url": proxy.url, "name": "rx", "queue": {
        "max_shards": 1, "batch_send_deadline": "100ms"}}], tf.dir, interval="300ms")
        + auth_block(kind, secret)).start(follow=True)
    wait(lambda: len(snapshot(proxy)) >= 2, 15, "requests with the first secret")
    return a


@pytest.mark.parametrize("kind", ["credentials_file", "password_file"])
def test_a_secret_file_that_goes_bad_keeps_the_last_good_value(agent, tmp_path, kind):
    secret = tmp_path / "secret"
    with FaultProxy(None, lambda n: OK) as proxy:
        a = start_with_secret(agent, tmp_path, proxy, kind, secret)
        write_secret(secret, "tokB\r\nX-Injected: yes\n")
        bad_from = len(snapshot(proxy))
        time.sleep(0.5)  # the request under way may have read the good file
        wait(lambda: len(snapshot(proxy)) >= bad_from + 4, 15, "requests with the bad file")
        write_secret(secret, "tokC\n")
        good_from = len(snapshot(proxy))
        wait(lambda: len(snapshot(proxy)) >= good_from + 3, 15, "requests after the fix")
        rc, err, _ = stop_timed(a)
    reqs = snapshot(proxy)
    assert rc == 0, err
    assert proxy.errors == []
    assert all(r[3] == 200 for r in reqs)
    assert not [r for r in reqs if r[6].get("X-Injected") is not None], \
        "a header from the secret file reached the receiver"
    assert all(len(r[6].get_all("Authorization") or []) == 1 for r in reqs)
    seen = [r[6]["Authorization"] for r in reqs]
    assert seen[0] == auth_value(kind, "tokA")
    assert seen[bad_from + 1:good_from] == [auth_value(kind, "tokA")] * (good_from - bad_from - 1), \
        "the last good secret is not the one in use"
    assert seen[-1] == auth_value(kind, "tokC"), "a fixed file is not picked up"
    assert set(seen) == {auth_value(kind, "tokA"), auth_value(kind, "tokC")}
    lines = with_msg(err, SECRET_REJECTED)
    assert len(lines) == 1 and lines[0]["key"] == kind and lines[0]["file"] == str(secret), err
    assert "tok" not in err and "Injected" not in err, "the secret was logged"


@pytest.mark.parametrize("kind", ["credentials_file", "password_file"])
def test_a_secret_file_that_disappears_keeps_the_last_good_value(agent, tmp_path, kind):
    """A rotation that removes the file before the new one is in place (or
    a Secret unmounted for a moment): requests go on with the last good
    value, one warning says so, and the new file is picked up."""
    secret = tmp_path / "secret"
    with FaultProxy(None, lambda n: OK) as proxy:
        a = start_with_secret(agent, tmp_path, proxy, kind, secret)
        os.unlink(secret)
        gone_from = len(snapshot(proxy))
        wait(lambda: len(snapshot(proxy)) >= gone_from + 4, 15, "requests without the file")
        write_secret(secret, "tokC\n")
        back_from = len(snapshot(proxy))
        wait(lambda: len(snapshot(proxy)) >= back_from + 3, 15, "requests after it is back")
        rc, err, _ = stop_timed(a)
    reqs = snapshot(proxy)
    assert rc == 0, err
    assert all(r[3] == 200 for r in reqs)
    seen = [r[6]["Authorization"] for r in reqs]
    assert seen[gone_from:back_from] == [auth_value(kind, "tokA")] * (back_from - gone_from), \
        "the last good secret is not the one in use while the file is gone"
    assert seen[-1] == auth_value(kind, "tokC"), "the file, back, is not picked up"
    lines = with_msg(err, "remote_write: secret file unreadable, the last good value stays in use")
    assert len(lines) == 1 and lines[0]["key"] == kind and lines[0]["file"] == str(secret), err
    assert "tok" not in err, "the secret was logged"


# ---- redirects -----------------------------------------------------------------

WRITE_PATH = "/api/v1/write"


def redirect_config(tf, url, extra=""):
    return config([{"url": url, "name": "rx", "queue": {"batch_send_deadline": "100ms"}}],
                  tf.dir) + "    authorization: {credentials: tokA}\n" + extra


@pytest.mark.parametrize("status", [307, 302])
def test_a_redirect_on_the_same_host_is_followed_with_the_body(vm, agent, tmp_path, status):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 5, 1))
    proxy = None

    def script(n):
        if proxy.requests[n][7] == WRITE_PATH:
            return (status, {"Location": "/moved/write"}, b"moved")
        return None

    with FaultProxy(vm.write_url, script) as proxy:
        r = agent(redirect_config(tf, proxy.url)).run("--once")
    reqs = snapshot(proxy)
    assert r.returncode == 0, r.stderr
    assert proxy.errors == []
    assert [(q[7], q[3]) for q in reqs] == [(WRITE_PATH, status), ("/moved/write", 204)] * \
        (len(reqs) // 2)
    for moved, to in zip(reqs[::2], reqs[1::2]):
        assert to[2] == moved[2], "the redirected POST lost its body"
        assert to[6]["Authorization"] == "Bearer tokA", "same origin: credentials kept"
    stopped = final(r.stderr, "remote_write stopped")
    assert (stopped["failed"], stopped["shutdown_dropped"]) == (0, 0)
    assert stopped["sent"] == n_samples(reqs[1::2]) == \
        final(r.stderr, "bpfpush stopped")["samples_collected"]
    want = qf_samples(reqs[1::2])
    assert len(want) == 5 and vm_qf_samples(vm, 5) == want


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_host_gets_the_body_but_not_the_credentials(vm, agent, tmp_path,
                                                                        status):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 5, 1))
    with FaultProxy(vm.write_url) as target, \
            FaultProxy(None, lambda n: (status, {"Location": target.url}, b"")) as proxy:
        r = agent(redirect_config(tf, proxy.url)).run("--once")
    moved, reqs = snapshot(proxy), snapshot(target)
    assert r.returncode == 0, r.stderr
    assert proxy.errors == [] and target.errors == []
    assert [q[3] for q in moved] == [status] * len(moved)
    assert [q[3] for q in reqs] == [204] * len(moved)
    assert [q[2] for q in reqs] == [q[2] for q in moved], "a redirected POST lost its body"
    assert all(q[6]["Authorization"] == "Bearer tokA" for q in moved)
    assert all(q[6].get("Authorization") is None for q in reqs), \
        "credentials were sent to another host"
    stopped = final(r.stderr, "remote_write stopped")
    assert (stopped["failed"], stopped["shutdown_dropped"]) == (0, 0)
    assert stopped["sent"] == n_samples(reqs) == \
        final(r.stderr, "bpfpush stopped")["samples_collected"]
    want = qf_samples(reqs)
    assert len(want) == 5 and vm_qf_samples(vm, 5) == want


def test_follow_redirects_false_refuses_a_3xx(agent, tmp_path):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 5, 1))
    with FaultProxy(None, lambda n: OK) as target, \
            FaultProxy(None, lambda n: (307, {"Location": target.url}, b"moved")) as proxy:
        r = agent(redirect_config(tf, proxy.url, "    follow_redirects: false\n")).run("--once")
    assert r.returncode == 1, r.stderr
    assert target.requests == []
    assert [q[3] for q in proxy.requests] == [307] * len(proxy.requests)
    n = n_samples(proxy.requests)
    line = final(r.stderr, REFUSED)
    assert (line["status"], line["samples"], line["body"]) == (307, n, "moved")
    stopped = final(r.stderr, "remote_write stopped")
    assert (stopped["sent"], stopped["failed"]) == (0, n)


def test_a_redirect_loop_stops_after_ten_hops(agent, tmp_path):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 5, 1))
    with FaultProxy(None, lambda n: (307, {"Location": WRITE_PATH}, b"")) as proxy:
        r = agent(config([{"url": proxy.url, "name": "rx", "queue": {
            "max_shards": 1, "batch_send_deadline": "100ms", "min_backoff": "2s",
            "max_backoff": "2s"}}], tf.dir)).run("--once", "--flush-deadline", "1s")
    assert r.returncode == 1, r.stderr
    assert len(proxy.requests) == 11, "one request and ten redirects, then a retry later"
    line = with_msg(r.stderr, "remote_write send failed, retrying")[0]
    assert line["status"] == "307" or "redirects" in line.get("err", ""), line
