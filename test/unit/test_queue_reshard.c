/* SPDX-License-Identifier: MIT */
/* queue: resharding, against the tests' receiver (receiver.h).
 *
 * TEST_QUEUE_VERBOSE=1 prints the resharding (and warn) log lines;
 * TEST_FILTER=pattern runs only the matching tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "lib/log.h"
#include "lib/clock.h"
#include "queue/queue.h"
#include "queue_harness.h"
#include "receiver.h"

/* ---- resharding tests ------------------------------------------------------ */

/* A receiver that takes 100 ms per request, 3000 samples/s over 100
 * series: one shard sends 500/s, so the queue must grow, and must lose and
 * reorder nothing while it does. */
static void test_reshard_grows_keeps_order_and_samples(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	uint64_t appended = 0, buckets = 0;
	int64_t t0;
	char *log;

	reshard_config(f, 1, 8);
	rx_set_delay(f->rx, 100);
	capture_start(&cap);
	log_set_level(LOG_DEBUG);
	q = start_reshard_queue(f, 300);
	t0 = mono_ms();
	for (int round = 0; round < 30; round++) {
		pace(t0, round);
		appended += append_round(f, q, round, RS_SERIES, 3);
	}
	assert_true(wait_accepted(f->rx, appended, 8000));
	stats_of(q, &st);
	assert_true(st.shards > 1);
	assert_true(st.reshards >= 1);
	assert_true(st.shards_desired > 1);
	assert_int_equal(stop_now(q, 2000), 0);
	log_set_level(LOG_INFO);
	log = capture_end(&cap);
	print_reshard_lines("grows", log);
	stats_of(q, &st);
	assert_int_equal(st.samples_in, appended);
	assert_int_equal(assert_series_increasing(f->rx), appended); /* no loss */
	assert_int_equal(all_dropped(&st), 0);
	assert_exact(f, &st);
	assert_int_equal(f->rx->header_errors + f->rx->decode_errors, 0);
	assert_true(count_lines_with(log, "level=info", "msg=\"remote_write resharding\" "
				     "remote_name=test") >= 1);
	assert_true(count_lines_with(log, "msg=\"remote_write resharding\"", "from=1 to=") >= 1);
	assert_true(count_lines_with(log, "level=debug", "time_per_sample=") >= 1);
	/* The new stats. */
	assert_int_equal(st.shards_min, 1);
	assert_int_equal(st.shards_max, 8);
	assert_int_equal(st.shard_capacity, 20000);
	for (int b = 0; b <= QUEUE_DURATION_BUCKETS; b++)
		buckets += st.batch_duration_counts[b];
	assert_int_equal(buckets, st.batch_duration_count);
	assert_int_equal(st.batch_duration_count, st.requests_total);
	/* Answers ~100 ms after the request (the receiver's poll is ms-grained:
	 * a hair under is possible): (0.05, 0.1] and (0.1, 0.25]. */
	assert_int_equal(st.batch_duration_counts[4] + st.batch_duration_counts[5],
			 st.batch_duration_count);
	assert_true(st.batch_duration_sum >= 0.095 * (double)st.batch_duration_count);
	assert_true(st.batch_duration_sum < 0.25 * (double)st.batch_duration_count);
	free(log);
	queue_destroy(q);
}

/* Once the receiver is fast again the queue shrinks, but not below
 * min_shards. */
static void test_reshard_shrinks_when_fast(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	uint64_t appended = 0;
	unsigned peak = 0, low = UINT32_MAX;
	int64_t t0;
	int round = 0;
	char *log;

	reshard_config(f, 2, 8);
	rx_set_delay(f->rx, 100);
	capture_start(&cap);
	log_set_level(LOG_DEBUG);
	q = start_reshard_queue(f, 300);
	t0 = mono_ms();
	for (; round < 40; round++) { /* slow: grow */
		pace(t0, round);
		appended += append_round(f, q, round, RS_SERIES, 3);
		stats_of(q, &st);
		if (st.shards > peak)
			peak = st.shards;
		if (st.shards >= 4)
			break;
	}
	assert_true(peak >= 4);
	rx_set_delay(f->rx, 0);
	for (round++; round < 120; round++) { /* fast: shrink */
		pace(t0, round);
		appended += append_round(f, q, round, RS_SERIES, 3);
		stats_of(q, &st);
		if (st.shards < low)
			low = st.shards;
		if (st.shards == 2)
			break;
	}
	assert_int_equal(st.shards, 2);
	assert_int_equal(low, 2);
	assert_true(st.reshards >= 2);
	/* It stays there. */
	for (int i = 0; i < 8; i++) {
		round++;
		pace(t0, round);
		appended += append_round(f, q, round, RS_SERIES, 3);
	}
	assert_true(wait_accepted(f->rx, appended, 5000));
	stats_of(q, &st);
	assert_int_equal(st.shards, 2);
	assert_int_equal(st.shards_desired, 2);
	assert_int_equal(stop_now(q, 2000), 0);
	log_set_level(LOG_INFO);
	log = capture_end(&cap);
	print_reshard_lines("shrinks", log);
	stats_of(q, &st);
	assert_int_equal(assert_series_increasing(f->rx), appended);
	assert_int_equal(all_dropped(&st), 0);
	assert_exact(f, &st);
	assert_true(count_lines_with(log, "msg=\"remote_write resharding\"", "to=2") >= 1);
	free(log);
	queue_destroy(q);
}

/* While the endpoint answers 503 the queue keeps its shards, even under a
 * load that would grow it, and says so once. */
static void test_no_reshard_while_failing(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	int64_t t0;
	int round = 0;
	char *log;

	reshard_config(f, 1, 8);
	f->cfg.queue.batch_send_deadline_ms = 200; /* failing: no 2xx for 400 ms */
	rx_set_delay(f->rx, 100);
	capture_start(&cap);
	q = start_reshard_queue(f, 300);
	t0 = mono_ms();
	for (; round < 8; round++) { /* healthy and light: rates, no reshard */
		pace(t0, round);
		append_round(f, q, round, 20, 1);
	}
	stats_of(q, &st);
	assert_true(st.samples_sent > 0);
	rx_fail_from_now(f->rx, 503);
	for (; round < 14; round++) { /* failing, light */
		pace(t0, round);
		append_round(f, q, round, 20, 1);
	}
	for (; round < 30; round++) { /* failing, heavy: would grow */
		pace(t0, round);
		append_round(f, q, round, RS_SERIES, 3);
	}
	stats_of(q, &st);
	assert_int_equal(st.shards, 1);
	assert_int_equal(st.reshards, 0);
	assert_true(st.shards_desired > 1); /* it wanted to */
	assert_true(st.samples_retried > 0);
	stop_now(q, 300);
	log = capture_end(&cap);
	print_reshard_lines("failing", log);
	stats_of(q, &st);
	assert_int_equal(st.shards, 1);
	assert_int_equal(st.reshards, 0);
	assert_int_equal(count_lines_with(log, "level=warn", "skipping resharding"), 1);
	assert_int_equal(count_lines_with(log, "msg=\"remote_write resharding\"", NULL), 0);
	assert_true(st.samples_dropped[DROP_SHUTDOWN] > 0);
	assert_series_increasing(f->rx);
	assert_exact(f, &st);
	free(log);
	queue_destroy(q);
}

/* queue_stop while a reshard's hand-over waits for a batch in flight that
 * never ends (the receiver stopped answering): it returns by the deadline,
 * and the samples held in the rings, in flight and in staging are all
 * counted. */
static void test_stop_during_reshard_hand_over(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	uint64_t dropped;
	int64_t t0, took;
	int round = 0;
	char *log;

	reshard_config(f, 1, 4);
	/* A long batch deadline: resharding stays allowed for 4 s after the
	 * last success. */
	f->cfg.queue.batch_send_deadline_ms = 2000;
	f->cfg.remote_timeout_ms = 60000;
	rx_set_delay(f->rx, 100);
	capture_start(&cap);
	q = start_reshard_queue(f, 300);
	t0 = mono_ms();
	for (; round < 8; round++) { /* light: one shard is enough */
		pace(t0, round);
		append_round(f, q, round, 20, 1);
	}
	stats_of(q, &st);
	assert_true(st.samples_sent > 0);
	assert_int_equal(st.reshards, 0);
	/* From now on no request is answered within the test, and the load
	 * grows: the next batch hangs in flight while a reshard begins. */
	rx_set_delay(f->rx, 60000);
	for (; round < 38; round++) {
		pace(t0, round);
		append_round(f, q, round, RS_SERIES, 3);
		if (log_has(&cap, "msg=\"remote_write resharding\""))
			break;
	}
	assert_true(round < 38);
	for (int i = 0; i < 3; i++) { /* these go to staging */
		round++;
		pace(t0, round);
		append_round(f, q, round, RS_SERIES, 3);
	}
	stats_of(q, &st);
	assert_int_equal(st.reshards, 0);
	assert_int_equal(st.shards, 1);
	t0 = mono_ms();
	dropped = stop_now(q, 500);
	took = mono_ms() - t0;
	log = capture_end(&cap);
	print_reshard_lines("stop", log);
	assert_true(took < 500 + 500);
	stats_of(q, &st);
	assert_int_equal(st.reshards, 0);
	assert_int_equal(st.shards, 1);
	assert_true(dropped > 900); /* at least the staged rounds */
	assert_int_equal(st.samples_dropped[DROP_SHUTDOWN], dropped);
	assert_int_equal(st.samples_dropped[DROP_QUEUE_FULL], 0);
	assert_series_increasing(f->rx);
	assert_exact(f, &st);
	free(log);
	queue_destroy(q);
}

/* min_shards == max_shards: the count never changes, whatever the load. */
static void test_no_reshard_when_min_equals_max(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	int64_t t0;
	char *log;

	reshard_config(f, 2, 2);
	rx_set_delay(f->rx, 100);
	capture_start(&cap);
	q = start_reshard_queue(f, 200);
	t0 = mono_ms();
	for (int round = 0; round < 12; round++) {
		pace(t0, round);
		append_round(f, q, round, RS_SERIES, 3);
	}
	stats_of(q, &st);
	assert_int_equal(st.shards, 2);
	assert_int_equal(st.shards_desired, 2);
	assert_int_equal(st.reshards, 0);
	stop_now(q, 300);
	log = capture_end(&cap);
	stats_of(q, &st);
	assert_int_equal(st.shards, 2);
	assert_int_equal(st.reshards, 0);
	assert_int_equal(count_lines_with(log, "resharding", NULL), 0);
	assert_series_increasing(f->rx);
	assert_exact(f, &st);
	free(log);
	queue_destroy(q);
}

/* Rings too small for the backlog drop samples (queue_full), yet the
 * queue still grows: those drops do not lower kept_ratio. */
static void test_reshard_grows_while_rings_overflow(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	int64_t t0;
	char *log;

	reshard_config(f, 1, 8);
	f->cfg.queue.capacity = 300;
	rx_set_delay(f->rx, 100);
	capture_start(&cap);
	q = start_reshard_queue(f, 300);
	t0 = mono_ms();
	for (int round = 0; round < 15; round++) {
		pace(t0, round);
		append_round(f, q, round, RS_SERIES, 3);
	}
	stats_of(q, &st);
	assert_true(st.samples_dropped[DROP_QUEUE_FULL] > 0);
	assert_true(st.shards > 1);
	stop_now(q, 2000);
	log = capture_end(&cap);
	print_reshard_lines("overflow", log);
	stats_of(q, &st);
	assert_series_increasing(f->rx);
	assert_exact(f, &st);
	free(log);
	queue_destroy(q);
}

/* A reshard takes effect within one request time of the decision, however
 * large the backlog: the old shards hand their rings over instead of
 * sending them first at the old speed (that took backlog / old rate: ~8 s
 * here). 3000 samples at once, then 3000/s, into 1 shard of 5000 that
 * sends 500/s: the first tick (250 ms, in the middle of a request) asks
 * for more shards. */
static void test_reshard_takes_effect_with_a_large_backlog(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	uint64_t appended, backlog = 0;
	int64_t t0, t_desired = -1, t_effect = -1, now;
	const int64_t interval = 250, request = 100;
	int round = 1;
	char *log;

	reshard_config(f, 1, 8);
	f->cfg.queue.capacity = 5000;
	rx_set_delay(f->rx, (int)request);
	capture_start(&cap);
	q = start_reshard_queue(f, interval);
	t0 = mono_ms();
	appended = append_round(f, q, 0, RS_SERIES, 30);
	/* The load goes on for 2.5 s; the watch until the new count took
	 * effect, or 15 s. */
	while ((now = mono_ms()) < t0 + 15000 && (round <= 25 || t_effect < 0)) {
		if (round <= 25 && now >= t0 + round * 100) {
			appended += append_round(f, q, round, RS_SERIES, 3);
			round++;
		}
		stats_of(q, &st);
		if (t_desired < 0 && st.shards_desired > 1) {
			t_desired = mono_ms() - t0;
			backlog = st.samples_pending;
		}
		if (t_effect < 0 && st.shards > 1)
			t_effect = mono_ms() - t0;
		sleep_ms(2);
	}
	if (getenv("TEST_QUEUE_VERBOSE") || t_effect < 0 ||
	    t_effect > 2 * interval + request + 400)
		print_message("  backlog| decided at %lld ms with %llu pending, took effect at "
			      "%lld ms\n", (long long)t_desired, (unsigned long long)backlog,
			      (long long)t_effect);
	assert_true(t_desired > 0);
	assert_true(backlog > 2000);
	assert_true(t_effect > 0);
	assert_true(t_effect <= 2 * interval + request + 400);
	assert_true(t_effect - t_desired <= request + 300);
	assert_true(wait_accepted(f->rx, appended, 10000));
	stats_of(q, &st);
	assert_true(st.shards > 1);
	assert_true(st.reshards >= 1);
	assert_int_equal(stop_now(q, 2000), 0);
	log = capture_end(&cap);
	print_reshard_lines("backlog", log);
	stats_of(q, &st);
	assert_int_equal(st.samples_in, appended);
	assert_int_equal(assert_series_increasing(f->rx), appended); /* no loss */
	assert_int_equal(all_dropped(&st), 0);
	assert_exact(f, &st);
	assert_int_equal(f->rx->header_errors + f->rx->decode_errors, 0);
	assert_true(count_lines_with(log, "msg=\"remote_write resharding\"", "from=1 to=") >= 1);
	free(log);
	queue_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reshard_grows_keeps_order_and_samples),
		T(test_reshard_shrinks_when_fast),
		T(test_no_reshard_while_failing),
		T(test_stop_during_reshard_hand_over),
		T(test_no_reshard_when_min_equals_max),
		T(test_reshard_grows_while_rings_overflow),
		T(test_reshard_takes_effect_with_a_large_backlog),
	};

	return QUEUE_TESTS_RUN(tests);
}
