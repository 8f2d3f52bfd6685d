# SPDX-License-Identifier: MIT
"""The queue under receiver faults, continued from test_queue_faults.py (with
its helpers): connection reuse and recycling, a dead endpoint beside a good
one, SIGTERM with a backlog."""
import math
import socket
import time

import pytest

from receivers import FaultProxy, free_port
from test_queue_faults import (OK, Rounds, Textfile, assert_series_in_order,
                               assert_vm_has_every_round, config, final, gauge_lines, metric,
                               n_samples, ok, rs, samples, skey, snapshot, stop_timed, wait)


# ---- 7. connection reuse and recycling ------------------------------------------

def connection_groups(reqs):
    """Connections grouped by shard: connections that carried a common
    series belong to the same shard. {frozenset(conn ids): [requests]}"""
    parent = {}

    def find(c):
        while parent.setdefault(c, c) != c:
            c = parent[c]
        return c
    owner = {}
    for r in reqs:
        find(r[4])
        for labels, _ in r[1]:
            k = skey(labels)
            if k in owner:
                parent[find(r[4])] = find(owner[k])
            else:
                owner[k] = r[4]
    groups = {}
    for c in parent:
        groups.setdefault(find(c), set()).add(c)
    return {frozenset(g): [r for r in reqs if r[4] in g] for g in groups.values()}


@pytest.mark.parametrize("max_requests", [0, 10])
def test_connections_are_reused_per_shard_or_recycled(agent, tmp_path, max_requests):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 1000, 1))
    with FaultProxy(None, lambda n: OK) as proxy:
        a = agent(config([{"url": proxy.url, "name": "lts", "queue": {
            "min_shards": 2, "max_shards": 2, "max_samples_per_send": 20},
            "connection": {"max_requests": max_requests}}], tf.dir)
        ).start("--log-level", "debug", follow=True)
        wait(lambda: len(snapshot(proxy)) >= 100 and a.count(msg="round collected") >= 3,
             40, "100 requests and 3 rounds")
        rc, err, _ = stop_timed(a)
    reqs = snapshot(proxy)
    assert rc == 0, err
    assert proxy.errors == []
    assert all(r[3] == 200 for r in reqs) and len(reqs) >= 100
    assert_series_in_order(reqs)
    groups = connection_groups(reqs)
    assert len(groups) == 2, "two shards; a series always goes to the same one"
    assert len(set(r[4] for r in reqs)) == proxy.connections
    opened = metric(reqs, rs("connections_opened_total"))
    if max_requests == 0:
        assert proxy.connections == 2, f"{len(reqs)} requests on {proxy.connections} connections"
        assert all(len(conns) == 1 for conns in groups)
        assert opened[-1][1] == 2
    else:
        for conns, shard_reqs in groups.items():
            assert len(conns) == math.ceil(len(shard_reqs) / max_requests), \
                f"{len(shard_reqs)} requests on {len(conns)} connections"
            per_conn = [sum(1 for r in shard_reqs if r[4] == c) for c in sorted(conns)]
            assert all(n == max_requests for n in per_conn[:-1]), per_conn
            assert 1 <= per_conn[-1] <= max_requests, per_conn
        assert opened[-1][1] <= proxy.connections
    assert final(err, "bpfpush stopped")["not_delivered"] == 0


# ---- 8. a dead endpoint beside a good one ---------------------------------------

@pytest.fixture
def dead_url(request):
    """A loopback endpoint that refuses connections (a closed port) or
    accepts them and never answers (a listener that never accepts: the
    kernel completes the handshake, the request waits for remote_timeout)."""
    if request.param == "refusing":
        yield f"http://127.0.0.1:{free_port()}/api/v1/write"
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield f"http://127.0.0.1:{s.getsockname()[1]}/api/v1/write"


@pytest.mark.parametrize("dead_url", ["refusing", "hanging"], indirect=True)
def test_a_dead_endpoint_does_not_delay_the_good_one(agent, tmp_path, dead_url):
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 200, 1))
    interval, bsd, slack = 1.0, 0.2, 0.5
    with FaultProxy(None, lambda n: OK) as proxy:
        a = agent(config([
            {"url": dead_url, "name": "dead", "queue": {
                "capacity": 500, "batch_send_deadline": "200ms", "min_backoff": "50ms",
                "max_backoff": "500ms"}},
            {"url": proxy.url, "name": "good", "queue": {"batch_send_deadline": "200ms"}},
        ], tf.dir)).start("--flush-deadline", "3s", "--log-level", "debug", follow=True)
        assert a.wait_for(8, 30, msg="round collected")
        rc, err, took = stop_timed(a)
    reqs = snapshot(proxy)
    assert rc == 0, err
    assert took <= 3 + 3
    assert proxy.errors == []
    total = final(err, "bpfpush stopped")
    good = final(err, "remote_write stopped", remote_name="good")
    down = final(err, "remote_write stopped", remote_name="dead")
    assert (good["sent"], good["failed"], good["shutdown_dropped"]) == (n_samples(reqs), 0, 0)
    assert down["sent"] == 0

    # Every round reached the good receiver, and on time.
    stamps = {ts for _, ts, _ in samples(reqs)}
    assert len(stamps) == total["rounds"]
    late = [(r[0] - ts / 1000, ts) for r in reqs for _, ts, _ in samples([r])
            if r[0] - ts / 1000 > interval + bsd + slack]
    assert not late, f"samples reached the good receiver late (s, ts): {late[:5]}"
    in_each = {}
    for k, ts, _ in samples(reqs):
        in_each.setdefault(ts, set()).add(k)
    per_round = {len(ks) for ks in in_each.values()}
    assert min(per_round) >= 200, per_round
    assert_series_in_order(reqs)
    pending = metric(reqs, rs("samples_pending"), remote_name="dead")
    assert pending[-1][1] > 0
    assert all(v == 0 for _, v in metric(reqs, rs("samples_total"), remote_name="dead"))


def test_sigterm_flushes_a_good_endpoint_listed_after_a_dead_one(agent, tmp_path):
    """--flush-deadline is one deadline for all endpoints: a dead endpoint
    listed first must not use it all up while a healthy one still holds
    samples (here: waiting for a long batch_send_deadline, which SIGTERM
    cuts short)."""
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qf_data", 20, 1))
    dead = f"http://127.0.0.1:{free_port()}/api/v1/write"
    with FaultProxy(None, lambda n: OK) as proxy:
        a = agent(config([
            {"url": dead, "name": "dead", "queue": {"min_backoff": "50ms", "max_backoff": "500ms"}},
            {"url": proxy.url, "name": "good", "queue": {"batch_send_deadline": "1m"}},
        ], tf.dir)).start("--flush-deadline", "3s", "--log-level", "debug", follow=True)
        assert a.wait_for(3, 30, msg="round collected")
        rc, err, took = stop_timed(a)
    reqs = snapshot(proxy)
    assert rc == 0, err
    assert took <= 3 + 3, f"stopping took {took:.1f}s with --flush-deadline 3s"
    assert proxy.errors == []
    total = final(err, "bpfpush stopped")
    good = final(err, "remote_write stopped", remote_name="good")
    assert (good["sent"], good["failed"], good["shutdown_dropped"]) == \
        (total["samples_collected"], 0, 0), "the healthy endpoint lost its samples at SIGTERM"
    assert n_samples(ok(reqs)) == total["samples_collected"]
    assert_series_in_order(ok(reqs))


# ---- 9. SIGTERM with a backlog -------------------------------------------------------

@pytest.mark.parametrize("fault", ["failing", "slow"])
def test_sigterm_with_a_backlog_flushes_everything(vm, agent, tmp_path, fault):
    tf = Textfile(tmp_path)
    rounds = Rounds(tf, 10)
    state = {"fail_until": None}

    def failing(n):
        until = state["fail_until"]
        return 503 if until is None or time.monotonic() < until else None

    def slow(n):
        time.sleep(0.3)
        return None

    queue = {"max_shards": 1, "batch_send_deadline": "100ms",
             "min_backoff": "100ms", "max_backoff": "500ms"}
    if fault == "slow":
        queue["max_samples_per_send"] = 10
    with FaultProxy(vm.write_url, failing if fault == "failing" else slow) as proxy:
        rounds.write()
        cfg = config([{"url": proxy.url, "name": "vm", "queue": queue}], tf.dir,
                     interval="500ms")
        a = rounds.agent = agent(cfg).start("--flush-deadline", "30s", "--log-level", "debug",
                                            follow=True)
        rounds.wait()
        rounds.run_for(5)
        # Still failing at SIGTERM: the flush outlasts the outage.
        state["fail_until"] = time.monotonic() + 2
        sigterm = time.time()
        rc, err, took = stop_timed(a)
    reqs = snapshot(proxy)
    assert rc == 0, err
    assert proxy.errors == []
    accepted = ok(reqs)
    assert any(r[0] > sigterm for r in accepted), "nothing was left to flush at SIGTERM"
    pending = metric(accepted, rs("samples_pending"))
    assert pending[-1][1] > 0, "no backlog when the last round was collected"
    if fault == "failing":
        assert took >= 1.5, "the flush did not wait for the receiver to recover"
    stopped = final(err, "remote_write stopped")
    total = final(err, "bpfpush stopped")
    assert (stopped["failed"], stopped["shutdown_dropped"], total["not_delivered"]) == (0, 0, 0)
    assert stopped["sent"] == n_samples(accepted) == total["samples_collected"]
    assert_series_in_order(accepted)
    assert_vm_has_every_round(vm, rounds)
