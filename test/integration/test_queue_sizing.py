# SPDX-License-Identifier: MIT
"""Queue sizing with the defaults: a round far larger than one shard's ring
(capacity 10,000) into a healthy VictoriaMetrics, with no queue_config at
all, must arrive whole. The rings fill at once; the round must wait for
room (and the queue grow its shards) instead of dropping its oldest
samples: drops are for a receiver that is down or too slow, never for a
burst a healthy one takes."""
import json
import time
import urllib.parse

from conftest import now_ms
from receivers import FaultProxy, http_get
from test_queue_faults import OK, Textfile, config, final, gauge_lines, stop_timed, wait, with_msg

SERIES = 100_000
FILES = 10  # 10,000 series a file: the round is big, no one file is


def write_textfiles(tf):
    per = SERIES // FILES
    for f in range(FILES):
        lines = "".join(f'qs_data{{f="{f}",i="{i}"}} {i}\n' for i in range(per))
        path = tf.dir / f"qs{f}.prom"
        tmp = tf.dir / f"qs{f}.prom.tmp"
        tmp.write_text("# TYPE qs_data gauge\n" + lines)
        tmp.replace(path)


def vm_query(vm, expr):
    http_get(vm.base + "/internal/force_flush")
    body = http_get(f"{vm.base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    data = json.loads(body)
    assert data["status"] == "success", data
    return data["data"]["result"]


def vm_count(vm, expr):
    """The value of an instant query that returns one series, or 0."""
    got = vm_query(vm, expr)
    return int(float(got[0]["value"][1])) if got else 0


def test_a_round_ten_times_one_ring_arrives_whole_with_the_defaults(vm, agent, tmp_path):
    tf = Textfile(tmp_path)
    write_textfiles(tf)
    started = now_ms()
    a = agent(config([{"url": vm.write_url, "name": "vm"}], tf.dir, interval="5s")).start(
        "--flush-deadline", "30s", "--log-level", "debug", follow=True)
    # Five rounds (the first at once, then every 5 s): about 20 s.
    assert a.wait_for(5, 60, msg="round collected"), "the agent stopped collecting"
    rc, _, err = a.stop()
    assert rc == 0, err
    total = final(err, "bpfpush stopped")
    stopped = final(err, "remote_write stopped", remote_name="vm")
    rounds = total["rounds"]

    # What VictoriaMetrics holds of those rounds, and the agent's own
    # counters as they were pushed.
    window = f"{(now_ms() - started) // 1000 + 60}s"
    want = SERIES * rounds
    deadline = time.monotonic() + 30
    while True:
        got = vm_count(vm, f"sum(count_over_time(qs_data[{window}]))")
        if got >= want or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    dropped = {s["metric"]["reason"]: float(s["value"][1]) for s in vm_query(
        vm, f"max_over_time(bpfpush_remote_storage_samples_dropped_total[{window}])")}
    shards = vm_count(vm, f"max(max_over_time(bpfpush_remote_storage_shards[{window}]))")
    print(f"\nqueue sizing: rounds={rounds} qs_data in VictoriaMetrics={got} of {want}, "
          f"collected={total['samples_collected']} sent={stopped['sent']} "
          f"not_delivered={total['not_delivered']} dropped(pushed)={dropped} "
          f"max shards={shards}")

    assert rounds >= 5
    assert with_msg(err, "remote_write queue full: oldest samples dropped") == []
    assert total["not_delivered"] == 0, total
    assert stopped["shutdown_dropped"] == 0, stopped
    assert stopped["sent"] == total["samples_collected"], (stopped, total)
    assert got == want, f"VictoriaMetrics holds {got} of {want} samples ({rounds} rounds)"
    assert vm_count(vm, f"count(count_over_time(qs_data[{window}]))") == SERIES
    assert dropped == {"queue_full": 0, "too_old": 0, "shutdown": 0, "disk_full": 0,
                       "partial_write": 0}, \
        "the self-metric samples_dropped_total never arrived, or counted drops"
    # The rings grew to hold a round (100,000 at 80 % of 10,000 a shard).
    assert shards >= 13, shards


def test_sigterm_ends_a_round_that_waits_for_room(agent, tmp_path):
    """A receiver slow but not stuck (0.5 s a request): a round of 5,000
    into one ring of 100 waits for room (up to half the 30 s interval).
    SIGTERM must not wait for that: the agent stops within its flush
    deadline, and every sample is accounted for."""
    tf = Textfile(tmp_path)
    tf.write(gauge_lines("qs_wait", 5000, 1))

    def slow(n):
        time.sleep(0.5)
        return OK

    with FaultProxy(None, slow) as proxy:
        a = agent(config([{"url": proxy.url, "name": "slow", "queue": {
            "capacity": 100, "max_samples_per_send": 50, "max_shards": 1,
            "batch_send_deadline": "100ms"}}], tf.dir, interval="30s")).start(
            "--flush-deadline", "1s", "--log-level", "debug", follow=True)
        wait(lambda: len(proxy.requests) >= 3, 15, "the first requests")
        assert a.count(msg="round collected") == 0, "the round did not wait for room"
        rc, err, took = stop_timed(a)
    assert rc == 0, err
    assert took < 1 + 2, f"stopping took {took:.1f}s with --flush-deadline 1s"
    total = final(err, "bpfpush stopped")
    stopped = final(err, "remote_write stopped", remote_name="slow")
    assert total["rounds"] == 1
    assert total["samples_collected"] == stopped["sent"] + total["not_delivered"]
    assert stopped["sent"] >= 100
