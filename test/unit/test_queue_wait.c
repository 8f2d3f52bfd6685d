/* SPDX-License-Identifier: MIT */
/* queue: appends that wait for room (queue_append_wait), growing for a
 * round that does not fit, and stopping several queues at once, against
 * the tests' receiver (receiver.h).
 *
 * TEST_FILTER=pattern runs only the matching tests. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "lib/clock.h"
#include "queue/queue.h"
#include "queue_harness.h"
#include "receiver.h"

/* ---- appends that wait for room ------------------------------------------- */

/* Samples first..first+n-1 of series s (value = sequence number), offered
 * with queue_append_wait until now + wait_ms; returns how many it took. */
static size_t append_seq_wait(struct fixture *f, struct queue *q, int s, int first, int n,
			      int wait_ms)
{
	struct sample *smp = calloc((size_t)n, sizeof(*smp));
	size_t took;

	for (int i = 0; i < n; i++)
		smp[i] = (struct sample){&f->series[s], f->base_ts + first + i, {first + i}};
	took = queue_append_wait(q, smp, (size_t)n, mono_ms() + wait_ms);
	free(smp);
	return took;
}

/* A burst 20 times the ring into a healthy receiver: the appender waits
 * for room, nothing is dropped, everything arrives in order (queue_append
 * drops 1890 of these: test_overflow_drops_oldest). */
static void test_append_waits_for_room_instead_of_dropping(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->cfg.queue.capacity = 100;
	q = start_queue(f);
	assert_int_equal(append_seq_wait(f, q, 0, 0, 2000, 20000), 2000);
	assert_true(wait_accepted(f->rx, 2000, 10000));
	assert_int_equal(stop_now(q, 1000), 0);
	stats_of(q, &st);
	assert_int_equal(all_dropped(&st), 0);
	assert_int_equal(st.samples_in, 2000);
	assert_int_equal(st.samples_sent, 2000);
	assert_values_in_order(f->rx, 0, 2000, 0);
	assert_balanced(&st);
	queue_destroy(q);
}

/* A receiver that answers 503: not waited for (its sender backs off), the
 * ring drops its oldest at once, as queue_append does. */
static void test_append_wait_gives_up_on_a_failing_receiver(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	int64_t t0, took;

	f->cfg.queue.capacity = 100;
	rx_fail_from_now(f->rx, 503);
	q = start_queue(f);
	append_seq(f, q, 0, 0, 10);
	assert_true(wait_requests(f->rx, 2, 3000)); /* failed, and retried */
	t0 = mono_ms();
	assert_int_equal(append_seq_wait(f, q, 0, 10, 1000, 20000), 1000);
	took = mono_ms() - t0;
	stats_of(q, &st);
	assert_true(took < 1000);
	assert_int_equal(st.samples_dropped[DROP_QUEUE_FULL], 900); /* 10 in flight */
	assert_balanced(&st);
	stop_now(q, 200);
	queue_destroy(q);
}

/* A request that hangs: waited for about APPEND_STALL_MS (1 s), then the
 * ring drops its oldest; the next append does not wait at all. */
static void test_append_wait_gives_up_on_a_hung_request(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	int64_t t0, took;

	f->cfg.queue.capacity = 100;
	f->cfg.remote_timeout_ms = 30000;
	f->rx->hang = true;
	q = start_queue(f);
	t0 = mono_ms();
	assert_int_equal(append_seq_wait(f, q, 0, 0, 1000, 20000), 1000);
	took = mono_ms() - t0;
	assert_true(took >= 900);
	assert_true(took < 3000);
	stats_of(q, &st);
	assert_int_equal(st.samples_dropped[DROP_QUEUE_FULL], 1000 - 100 - 10);
	t0 = mono_ms();
	assert_int_equal(append_seq_wait(f, q, 0, 1000, 100, 20000), 100);
	assert_true(mono_ms() - t0 < 500);
	stats_of(q, &st);
	assert_int_equal(st.samples_dropped[DROP_QUEUE_FULL], 990);
	assert_balanced(&st);
	assert_int_equal(stop_now(q, 200), 110);
	queue_destroy(q);
}

/* A slow receiver (300 ms a request, not stuck): the wait ends at the
 * caller's deadline and hands back what did not fit, without a drop. */
static void test_append_wait_hands_back_the_rest_at_its_deadline(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	size_t took;
	int64_t t0;

	f->cfg.queue.capacity = 100;
	rx_set_delay(f->rx, 300);
	q = start_queue(f);
	t0 = mono_ms();
	took = append_seq_wait(f, q, 0, 0, 1000, 200);
	assert_true(mono_ms() - t0 >= 190);
	assert_true(took >= 100);
	assert_true(took < 1000);
	stats_of(q, &st);
	assert_int_equal(all_dropped(&st), 0);
	assert_int_equal(st.samples_in, took);
	assert_balanced(&st);
	stop_now(q, 200);
	queue_destroy(q);
}

struct waiter {
	struct fixture *f;
	struct queue *q;
	size_t took;
	int64_t returned_ms;
};

static void *wait_append(void *arg)
{
	struct waiter *w = arg;

	w->took = append_seq_wait(w->f, w->q, 0, 0, 5000, 30000);
	w->returned_ms = mono_ms();
	return NULL;
}

/* Stopping wakes an appender that waits for room: it returns at once,
 * the rest of its samples counted as dropped at shutdown. */
static void test_stop_wakes_a_waiting_appender(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct waiter w = {f, NULL, 0, 0};
	struct queue *q;
	pthread_t t;
	int64_t t0;

	f->cfg.queue.capacity = 100;
	rx_set_delay(f->rx, 700); /* slow, not stuck: the appender waits */
	q = start_queue(f);
	w.q = q;
	assert_int_equal(pthread_create(&t, NULL, wait_append, &w), 0);
	sleep_ms(300);
	stats_of(q, &st);
	/* A ring's worth and the first batch or two, then waiting. */
	assert_true(st.samples_in >= 100 && st.samples_in <= 130);
	t0 = mono_ms();
	queue_begin_stop(q, t0 + 200);
	pthread_join(t, NULL);
	assert_true(w.returned_ms - t0 < 150);
	assert_int_equal(w.took, 5000);
	stop_now(q, 200);
	stats_of(q, &st);
	assert_int_equal(st.samples_in, 5000);
	assert_int_equal(st.samples_dropped[DROP_QUEUE_FULL], 0);
	assert_true(st.samples_dropped[DROP_SHUTDOWN] >= 4900);
	assert_exact(f, &st);
	queue_destroy(q);
}

/* A round of 3000 into rings of 500 (one shard, up to 8): the ring found
 * full is demand, and the queue grows at once for the round (8 shards hold
 * it at 80 %), not at the next tick 10 s away; nothing is lost or
 * reordered. */
static void test_a_round_larger_than_the_rings_reshards_at_once(void **state)
{
	struct fixture *f = *state;
	struct sample *smp = calloc(RS_SERIES * 30, sizeof(*smp));
	struct queue_stats st;
	struct queue *q;
	int64_t t0;
	size_t n = 0;

	reshard_config(f, 1, 8);
	f->cfg.queue.capacity = 500;
	rx_set_delay(f->rx, 20);
	q = start_queue(f); /* the default 10 s tick */
	for (int k = 0; k < 30; k++)
		for (int s = 0; s < RS_SERIES; s++)
			smp[n++] = (struct sample){&f->series[s], f->base_ts + k, {k}};
	t0 = mono_ms();
	assert_int_equal(queue_append_wait(q, smp, n, t0 + 8000), n);
	free(smp);
	do {
		stats_of(q, &st);
		sleep_ms(10);
		/* The reshard is counted once its hand-over is done, after the
		 * new shards show: wait for both. */
	} while ((st.shards == 1 || st.reshards == 0) && mono_ms() - t0 < 3000);
	assert_int_equal(st.shards, 8);
	assert_int_equal(st.shards_desired, 8);
	assert_int_equal(st.reshards, 1);
	assert_true(wait_accepted(f->rx, n, 8000));
	assert_int_equal(stop_now(q, 2000), 0);
	stats_of(q, &st);
	assert_int_equal(assert_series_increasing(f->rx), n);
	assert_int_equal(all_dropped(&st), 0);
	assert_exact(f, &st);
	queue_destroy(q);
}

/* Once grown for large rounds the queue keeps its shards while such
 * rounds go on, though one shard would send them fast enough: shrinking
 * would make every round overflow again. */
static void test_shards_grown_for_rounds_stay(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	uint64_t appended = 0;
	int64_t t0;

	reshard_config(f, 1, 8);
	f->cfg.queue.capacity = 200;
	q = start_reshard_queue(f, 200);
	t0 = mono_ms();
	for (int round = 0; round < 20; round++) {
		struct sample smp[RS_SERIES * 5];
		size_t n = 0;

		pace(t0, round);
		for (int k = 0; k < 5; k++)
			for (int s = 0; s < RS_SERIES; s++)
				smp[n++] = (struct sample){&f->series[s],
							   f->base_ts + round * 100 + k, {k}};
		assert_int_equal(queue_append_wait(q, smp, n, mono_ms() + 2000), n);
		appended += n;
	}
	assert_true(wait_accepted(f->rx, appended, 5000));
	stats_of(q, &st);
	assert_int_equal(st.shards, 4); /* 500 a round, at 80 % of 200 a ring */
	assert_int_equal(st.reshards, 1);
	assert_int_equal(stop_now(q, 2000), 0);
	stats_of(q, &st);
	assert_int_equal(assert_series_increasing(f->rx), appended);
	assert_int_equal(all_dropped(&st), 0);
	assert_exact(f, &st);
	queue_destroy(q);
}

/* Two queues stopped under one deadline, the dead one first: begin_stop on
 * both makes the healthy one flush at once (its batch deadline is a
 * minute), while stopping the dead one takes the whole deadline. */
static void test_begin_stop_flushes_every_queue_at_once(void **state)
{
	struct fixture *f = *state;
	struct remote_write_config dead_cfg;
	struct queue_stats st;
	struct capture cap;
	struct queue *dead, *good;
	char dead_url[128];
	int64_t deadline, t0, took;
	char *log;

	f->cfg.queue.batch_send_deadline_ms = 60000;
	dead_cfg = f->cfg;
	snprintf(dead_url, sizeof(dead_url), "http://127.0.0.1:%u/api/v1/write", dead_port());
	dead_cfg.url = dead_url;
	dead_cfg.queue.batch_send_deadline_ms = 50;
	capture_start(&cap);
	dead = queue_create(&dead_cfg, "dead");
	good = queue_create(&f->cfg, "good");
	assert_non_null(dead);
	assert_non_null(good);
	receiver_start(f->rx);
	assert_int_equal(queue_start(dead), 0);
	assert_int_equal(queue_start(good), 0);
	append_seq(f, dead, 0, 0, 7);
	append_seq(f, good, 0, 0, 7);
	sleep_ms(200);
	assert_int_equal(rget(f->rx, &f->rx->requests), 0); /* batch not due yet */

	deadline = mono_ms() + 1000;
	t0 = mono_ms();
	queue_begin_stop(dead, deadline);
	queue_begin_stop(good, deadline);
	assert_true(mono_ms() - t0 < 200); /* begin never waits for the network */
	assert_int_equal(queue_stop(dead, deadline), 7);
	took = mono_ms() - t0;
	/* The dead endpoint used the whole deadline; meanwhile the healthy
	 * one, not yet stopped, had flushed. */
	assert_true(took >= 900);
	assert_int_equal(accepted_count(f->rx), 7);
	assert_int_equal(queue_stop(good, mono_ms() + 60000), 0);
	assert_true(mono_ms() - t0 < 1000 + 500);
	log = capture_end(&cap);

	stats_of(good, &st);
	assert_int_equal(st.samples_sent, 7);
	assert_int_equal(all_dropped(&st), 0);
	assert_exact(f, &st);
	assert_values_in_order(f->rx, 0, 7, 0);
	stats_of(dead, &st);
	assert_int_equal(st.samples_sent, 0);
	assert_int_equal(st.samples_dropped[DROP_SHUTDOWN], 7);
	assert_int_equal(st.samples_pending, 0);
	assert_balanced(&st);
	assert_int_equal(count_lines_with(log, "msg=\"remote_write stopped\" remote_name=good",
					  "shutdown_dropped=0"), 1);
	assert_int_equal(count_lines_with(log, "msg=\"remote_write stopped\" remote_name=dead",
					  "shutdown_dropped=7"), 1);
	/* Stopping again changes nothing. */
	queue_begin_stop(good, mono_ms());
	assert_int_equal(queue_stop(good, mono_ms()), 0);
	free(log);
	queue_destroy(dead);
	queue_destroy(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_begin_stop_flushes_every_queue_at_once),
		T(test_append_waits_for_room_instead_of_dropping),
		T(test_append_wait_gives_up_on_a_failing_receiver),
		T(test_append_wait_gives_up_on_a_hung_request),
		T(test_append_wait_hands_back_the_rest_at_its_deadline),
		T(test_stop_wakes_a_waiting_appender),
		T(test_a_round_larger_than_the_rings_reshards_at_once),
		T(test_shards_grown_for_rounds_stay),
	};

	return QUEUE_TESTS_RUN(tests);
}
