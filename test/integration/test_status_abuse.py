# SPDX-License-Identifier: MIT
"""The status endpoint under abuse, beyond test_status.py's slow and idle
clients: a 1 MB request line, HTTP/1.0, path traversal, and a thousand
requests per second for a minute. Each is answered or refused at once,
and collection never waits for it: the rounds (logged at debug level,
with their time) keep their interval throughout."""
import os
import re
import socket
import threading
import time

from conftest import config_text, log_lines
from receivers import free_port
from test_status import probe, raw, slow, start_endpoint, stop_cleanly, wait_ready

FLOOD_SECONDS = int(os.environ.get("FLOOD_SECONDS", 60))
FLOOD_RATE = 1000      # requests per second, from FLOOD_CLIENTS threads
FLOOD_CLIENTS = 4
PATHS = (b"/healthz", b"/ready", b"/metrics", b"/nope")
TRAVERSALS = (b"/../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/..%2f..%2fetc%2fpasswd",
              b"/metrics/../../../etc/passwd", b"//etc/passwd", b"/healthz/../metrics",
              b"/./metrics/..", b"/metrics%00/../../etc/passwd", b"/\\..\\..\\etc\\passwd")


def round_times(a):
    """The time (log ts, seconds) of each round collected so far."""
    with a._lines_lock:
        text = "\n".join(line for _, line in a.lines)
    out = []
    for line in log_lines(text, msg="round collected"):
        m = re.match(r"ts=\d{4}-\d\d-\d\dT(\d\d):(\d\d):(\d\d\.\d+)Z", line)
        out.append(int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)))
    return out


def request(port, path):
    """One GET on its own connection, read until the endpoint closes it.
    Not half-closed as test_status.raw does: a /metrics reader parked for
    the next round that has half-closed is taken by libmicrohttpd for a
    client gone ("closed by remote side with incomplete request") and
    closed without an answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                return b"".join(chunks)
            chunks.append(b)


def flood(port, seconds, rate, result):
    """Requests paced to `rate` per second, rotating PATHS, each on its
    own connection (the endpoint answers one request per connection and
    closes it); counts answers by status and the slowest."""
    per, sent, slowest = 1.0 / rate, 0, 0.0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        wait = start + sent * per - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        t0 = time.monotonic()
        try:
            reply = request(port, PATHS[sent % len(PATHS)])
            status = int(reply[9:12]) if reply.startswith(b"HTTP/1.1 ") else \
                f"bad {reply[:40]!r}"
        except OSError as e:
            status = f"failed {e!r}"
        slowest = max(slowest, time.monotonic() - t0)
        result[status] = result.get(status, 0) + 1
        sent += 1
    result["slowest"] = slowest


def test_oversized_old_and_traversing_requests_are_answered_at_once(agent):
    a, port, base = start_endpoint(agent)
    try:
        started = time.monotonic()
        reply = raw(port, b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reply == b"" or re.match(rb"HTTP/1\.[01] 4\d\d ", reply), reply[:80]
        assert time.monotonic() - started < 1.0
        for path, body in ((b"/healthz", b"ok\n"), (b"/metrics", b"# TYPE node_load1 gauge\n")):
            reply = raw(port, b"GET " + path + b" HTTP/1.0\r\n\r\n")  # answered, then closed
            assert re.match(rb"HTTP/1\.[01] 200 ", reply) and body in reply, reply[:200]
        for path in TRAVERSALS + (b"/",):
            reply = raw(port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            status = reply[9:12]
            assert status in (b"200", b"400", b"404"), (path, reply[:120])
            assert b"root:" not in reply and b"/bin/" not in reply, (path, reply[:300])
            # nothing but /metrics and / (the status page, where it is) has
            # content; "/metrics%00/..." is /metrics to libmicrohttpd, which
            # ends the decoded path at the NUL
            assert status != b"200" or path == b"/" or \
                (path.startswith(b"/metrics%00") and b"# TYPE node_load1" in reply), \
                (path, reply[:120])
        assert slow([probe(base) for _ in range(3)]) == []
    finally:
        stop_cleanly(a)


def test_a_thousand_requests_a_second_for_a_minute_never_delay_a_round(agent):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    a = agent(config_text([], collectors="loadavg: {}", interval="1s",
                          extra=f"http:\n  listen_address: 127.0.0.1:{port}\n"))
    a.start("--log-level", "debug", follow=True)
    assert wait_ready(base), "not ready after 20 s"
    results = [{} for _ in range(FLOOD_CLIENTS)]
    threads = [threading.Thread(target=flood, args=(port, FLOOD_SECONDS,
                                                    FLOOD_RATE / FLOOD_CLIENTS, r))
               for r in results]
    try:
        # the first /metrics reader waits for the next round (by design):
        # read once before, so that the flood measures the steady state
        assert request(port, b"/metrics").startswith(b"HTTP/1.1 200 ")
        before = len(round_times(a))
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(FLOOD_SECONDS + 30)
        took = time.monotonic() - started
        times = round_times(a)[before:]
        assert slow([probe(base) for _ in range(3)]) == []
    finally:
        stop_cleanly(a)
    answered = sum(r.get(s, 0) for r in results for s in (200, 404))
    failed = {s: n for r in results for s, n in r.items() if str(s)[:3] in ("fai", "bad")}
    gaps = [b - t for t, b in zip(times, times[1:])]
    print(f"flood: {answered} answered in {took:.1f} s ({answered / took:.0f}/s), "
          f"{failed} failed, slowest {max(r['slowest'] for r in results):.3f} s; "
          f"{len(times)} rounds, gaps {min(gaps):.3f}-{max(gaps):.3f} s")
    assert not failed, [line for _, line in a.lines if "status endpoint" in line][-10:]
    slowest = max(r["slowest"] for r in results)
    assert slowest < 1.0, slowest  # a Kubernetes probe's default timeout
    # the load generator shares the machine: most of the rate, not all of it
    assert answered >= 0.7 * FLOOD_RATE * FLOOD_SECONDS, answered
    # one round a second throughout: none late by more than a quarter interval
    assert len(times) >= FLOOD_SECONDS - 2, len(times)
    assert max(gaps) < 1.25 and min(gaps) > 0.75, gaps
