/* SPDX-License-Identifier: MIT */
/* queue: rings sized to what is queued. A ring starts at a batch or two,
 * grows (doubling, up to capacity) with a backlog, keeps every sample and
 * its order while it grows around its wrapped end, and shrinks back once a
 * later busy period has used little of it. A reshard's buffers are freed
 * when it ends. */
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
#include "queue/internal.h"
#include "queue/queue.h"
#include "queue_harness.h"
#include "receiver.h"

static size_t ring_cap_of(struct queue *q)
{
	struct shard *sh = &q->shards[0];
	size_t cap;

	pthread_mutex_lock(&sh->mu);
	cap = sh->ring_cap;
	pthread_mutex_unlock(&sh->mu);
	return cap;
}

static void test_ring_grows_with_a_backlog_and_shrinks_when_idle(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->cfg.queue.capacity = 20000;
	f->rx->fail_status = 503; /* a backlog: the first batch is retried */
	f->rx->fail_until_ms = mono_ms() + 600;
	q = start_queue(f);
	assert_int_equal(ring_cap_of(q), 1024); /* not capacity */
	append_seq(f, q, 0, 0, 20);
	sleep_ms(100); /* the first batch taken: the ring's head moved on, so
			* it is full with its end wrapped when it first grows */
	for (int i = 20; i < 5000; i += 70)
		append_seq(f, q, 0, i, i + 70 <= 5000 ? 70 : 5000 - i);
	assert_int_equal(ring_cap_of(q), 8192); /* 4990 queued, doubled from 1024 */
	assert_true(wait_accepted(f->rx, 5000, 10000));
	assert_values_in_order(f->rx, 0, 5000, 0);
	/* Two quiet rounds: the first ends the busy period, the second finds
	 * a ring its last period used a sliver of. */
	append_seq(f, q, 0, 5000, 10);
	assert_true(wait_accepted(f->rx, 5010, 5000));
	append_seq(f, q, 0, 5010, 10);
	assert_int_equal(ring_cap_of(q), 1024);
	assert_true(wait_accepted(f->rx, 5020, 5000));
	assert_values_in_order(f->rx, 0, 5020, 0);
	assert_int_equal(stop_now(q, 1000), 0);
	stats_of(q, &st);
	assert_int_equal(all_dropped(&st), 0);
	assert_balanced(&st);
	queue_destroy(q);
}

/* A reshard's staging ring and copy of the old rings (capacity times the
 * shard count each, touched as far as the backlog moved) are freed once
 * it ends, not kept at an outage's high-water mark for the next one. */
static void test_hand_over_buffers_freed_after_a_reshard(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	uint64_t appended = 0;
	size_t kept;
	bool resharding;
	int64_t t0;

	reshard_config(f, 1, 8);
	rx_set_delay(f->rx, 100); /* one shard sends 500/s of 3000/s: grow */
	q = start_reshard_queue(f, 300);
	t0 = mono_ms();
	for (int round = 0; round < 60; round++) {
		pace(t0, round);
		appended += append_round(f, q, round, RS_SERIES, 3);
		stats_of(q, &st);
		if (st.reshards >= 1)
			break;
	}
	assert_true(st.reshards >= 1);
	/* No tick after the one scheduled: the count stays where it is. */
	rx_set_delay(f->rx, 0);
	queue_set_reshard_interval(q, 600000);
	sleep_ms(800);
	pthread_mutex_lock(&q->route_mu);
	resharding = q->resharding;
	kept = q->st_alloc + q->sc_alloc;
	pthread_mutex_unlock(&q->route_mu);
	assert_false(resharding);
	assert_int_equal(kept, 0); /* was capacity * (from + to) slots */
	assert_true(wait_accepted(f->rx, appended, 5000));
	assert_int_equal(stop_now(q, 2000), 0);
	stats_of(q, &st);
	assert_int_equal(all_dropped(&st), 0);
	assert_int_equal(assert_series_increasing(f->rx), appended);
	queue_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ring_grows_with_a_backlog_and_shrinks_when_idle),
		T(test_hand_over_buffers_freed_after_a_reshard),
	};

	return QUEUE_TESTS_RUN(tests);
}
