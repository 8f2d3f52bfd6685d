/* SPDX-License-Identifier: MIT */
/* The queue with its disk tier: nothing written while the receiver keeps
 * up; an outage goes to disk and arrives whole and in order once it ends;
 * stopping during one writes memory to disk at once and the next queue on
 * the directory delivers it; a full ring spills instead of dropping;
 * sample_age_limit applies to what is replayed; rate_limit paces sends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "queue/queue.h"
#include "queue_harness.h"
#include "receiver.h"

static char data_dir[64];

static void make_data_dir(void)
{
	snprintf(data_dir, sizeof(data_dir), "/tmp/test_queue_disk.XXXXXX");
	assert_non_null(mkdtemp(data_dir));
}

static void remove_data_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", data_dir);
	assert_int_equal(system(cmd), 0);
}

static struct queue *disk_queue(struct fixture *f, bool start_receiver)
{
	struct queue *q = queue_create(&f->cfg, "test");

	assert_non_null(q);
	assert_int_equal(queue_attach_disk(q, data_dir), 0);
	if (start_receiver)
		receiver_start(f->rx);
	assert_int_equal(queue_start(q), 0);
	return q;
}

static void disk_config(struct fixture *f)
{
	f->cfg.queue.max_disk_bytes = 64 << 20;
	f->cfg.queue.catchup_jitter_ms = 0;
	make_data_dir();
}

/* The receiver answers 503 for the next ms milliseconds (0: from now on it
 * accepts again). */
static void outage(struct fixture *f, int64_t ms)
{
	pthread_mutex_lock(&f->rx->mu);
	f->rx->fail_status = 503;
	f->rx->fail_until_ms = ms ? mono_ms() + ms : 0;
	pthread_mutex_unlock(&f->rx->mu);
}

/* Rounds of one sample per series, `gap` ms apart. */
static uint64_t rounds(struct fixture *f, struct queue *q, int first, int n, int n_series,
		       int gap)
{
	uint64_t total = 0;

	for (int r = first; r < first + n; r++) {
		total += append_round(f, q, r, n_series, 1);
		sleep_ms(gap);
	}
	return total;
}

/* All n arrived, within timeout_ms. */
static void expect_accepted(struct receiver *r, size_t n, int timeout_ms)
{
	wait_accepted(r, n, timeout_ms);
	assert_int_equal(accepted_count(r), n);
}

static void test_nothing_written_while_keeping_up(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	uint64_t n;

	disk_config(f);
	q = disk_queue(f, true);
	n = rounds(f, q, 0, 20, N_SERIES, 20);
	expect_accepted(f->rx, n, 5000);
	assert_int_equal(stop_now(q, 2000), 0);
	stats_of(q, &st);
	assert_true(st.disk_enabled);
	assert_int_equal(st.disk.records_written, 0);
	assert_int_equal(st.disk.bytes_written, 0);
	assert_exact(f, &st);
	queue_destroy(q);
	remove_data_dir();
}

static void test_outage_goes_to_disk_and_arrives_in_order(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	uint64_t n;

	disk_config(f);
	outage(f, 1500);
	q = disk_queue(f, true);
	n = rounds(f, q, 0, 60, N_SERIES, 40); /* 2.4 s: the outage, then more */
	stats_of(q, &st);
	assert_true(st.disk.samples_written > 0);
	expect_accepted(f->rx, n, 10000);
	assert_int_equal(stop_now(q, 2000), 0);
	stats_of(q, &st);
	assert_int_equal(all_dropped(&st), 0);
	assert_int_equal(st.disk.samples, 0);
	assert_true(st.disk_samples_replayed > 0);
	assert_exact(f, &st);
	assert_int_equal(assert_series_increasing(f->rx), n);
	queue_destroy(q);
	remove_data_dir();
}

/* Stopping while the receiver is down returns at once, drops nothing; a
 * new queue on the directory sends it all, oldest first. */
static void test_stop_in_outage_then_restart_delivers(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	int64_t t0;
	uint64_t n;

	disk_config(f);
	outage(f, 60000);
	q = disk_queue(f, true);
	n = rounds(f, q, 0, 20, N_SERIES, 20);
	t0 = mono_ms();
	assert_int_equal(stop_now(q, 30000), 0);
	assert_true(mono_ms() - t0 < 2000);
	stats_of(q, &st);
	assert_int_equal(all_dropped(&st), 0);
	assert_int_equal(st.disk.samples + st.samples_sent, n);
	queue_destroy(q);

	outage(f, 0);
	q = disk_queue(f, false);
	n += rounds(f, q, 20, 5, N_SERIES, 20);
	expect_accepted(f->rx, n, 10000);
	assert_int_equal(stop_now(q, 2000), 0);
	assert_int_equal(assert_series_increasing(f->rx), n);
	queue_destroy(q);
	remove_data_dir();
}

/* queue_append never waits: a full ring with a failing sender spills to
 * disk rather than drop its oldest. */
static void test_full_ring_spills_instead_of_dropping(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	uint64_t n;

	disk_config(f);
	f->cfg.queue.capacity = 100;
	outage(f, 800);
	q = disk_queue(f, true);
	n = rounds(f, q, 0, 30, N_SERIES, 30);
	expect_accepted(f->rx, n, 10000);
	assert_int_equal(stop_now(q, 2000), 0);
	stats_of(q, &st);
	assert_int_equal(st.samples_dropped[DROP_QUEUE_FULL], 0);
	assert_exact(f, &st);
	assert_int_equal(assert_series_increasing(f->rx), n);
	queue_destroy(q);
	remove_data_dir();
}

/* Past max_disk_bytes the oldest go, counted disk_full: what was offered
 * is what arrived plus what was counted dropped, exactly. */
static void test_max_disk_bytes_drops_oldest_counted(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	uint64_t n;

	disk_config(f);
	f->cfg.queue.max_disk_bytes = 64 << 10;
	f->cfg.queue.max_samples_per_send = 100;
	outage(f, 60000);
	q = disk_queue(f, true);
	n = rounds(f, q, 0, 400, MAX_SERIES, 0);
	stats_of(q, &st);
	assert_true(st.samples_dropped[DROP_DISK_FULL] > 0);
	assert_true(st.disk.bytes <= 64 << 10);
	outage(f, 0);
	wait_accepted(f->rx, n - st.samples_dropped[DROP_DISK_FULL], 20000);
	assert_int_equal(stop_now(q, 2000), 0);
	stats_of(q, &st);
	assert_exact(f, &st);
	assert_int_equal(st.samples_in, n);
	assert_series_increasing(f->rx);
	queue_destroy(q);
	remove_data_dir();
}

/* sample_age_limit: a record whose newest sample is too old when its turn
 * comes is dropped, counted too_old, not sent. */
static void test_age_limit_applies_to_replay(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	uint64_t n;

	disk_config(f);
	f->base_ts = wall_ms();
	f->cfg.queue.sample_age_limit_ms = 500;
	outage(f, 60000);
	q = disk_queue(f, true);
	n = rounds(f, q, 0, 5, N_SERIES, 20);
	assert_int_equal(stop_now(q, 2000), 0);
	queue_destroy(q);
	sleep_ms(1200); /* every sample is older than the limit now */
	outage(f, 0);
	q = disk_queue(f, false);
	sleep_ms(500);
	assert_int_equal(stop_now(q, 2000), 0);
	stats_of(q, &st);
	assert_int_equal(accepted_count(f->rx), 0);
	assert_int_equal(st.samples_dropped[DROP_TOO_OLD], n);
	assert_int_equal(st.disk.samples, 0);
	queue_destroy(q);
	remove_data_dir();
}

/* rate_limit: the bytes sent per second stay near it, after a burst. */
static void test_rate_limit_paces_sends(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	int64_t t0, took;
	uint64_t n;

	disk_config(f);
	f->cfg.queue.rate_limit = 1024;
	f->cfg.queue.max_samples_per_send = 100;
	q = disk_queue(f, true);
	t0 = mono_ms();
	n = rounds(f, q, 0, 40, N_SERIES, 0);
	expect_accepted(f->rx, n, 30000);
	took = mono_ms() - t0;
	stats_of(q, &st);
	/* bytes beyond the first second's burst take their share of time */
	print_message("rate_limit 1024 B/s: %llu bytes in %lld ms\n",
		      (unsigned long long)st.bytes_sent, (long long)took);
	assert_true(st.bytes_sent > 3 * 1024);
	assert_true(took >= (int64_t)((st.bytes_sent - 1024) * 1000 / 1024) - 500);
	assert_int_equal(stop_now(q, 2000), 0);
	queue_destroy(q);
	remove_data_dir();
}

/* A batch waiting for the rate limit looks on the wire to a move to disk,
 * which copies it there after a while anyway (spill.c, BATCH_WAIT_MS: 1 s):
 * it must then be the disk's alone, not also posted when its wait ends. The
 * first batch (96 samples) books about 4 s of budget, 1 s of it a burst, so
 * the second waits about 3 s; 300 ms into that wait the ring overflows and
 * everything goes to disk. */
static void test_a_batch_waiting_for_the_rate_limit_moved_to_disk_is_sent_once(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	uint64_t n;

	disk_config(f);
	f->cfg.queue.capacity = 100;
	f->cfg.queue.max_samples_per_send = 100;
	f->cfg.queue.rate_limit = 150;
	q = disk_queue(f, true);
	n = rounds(f, q, 0, 3, N_SERIES, 0);  /* the first batch, sent at once */
	sleep_ms(200);
	n += rounds(f, q, 3, 1, N_SERIES, 0); /* the second, waiting */
	sleep_ms(300);
	n += rounds(f, q, 4, 4, N_SERIES, 0); /* over capacity: to disk */
	/* Until the queue counts every sample sent (once each, whichever way):
	 * a copy posted as well is then at the receiver too. */
	for (int waited = 0; waited < 20000; waited += 50) {
		stats_of(q, &st);
		if (st.samples_sent >= n)
			break;
		sleep_ms(50);
	}
	assert_int_equal(st.samples_sent, n);
	assert_int_equal(accepted_count(f->rx), n);
	assert_series_increasing(f->rx);
	assert_int_equal(stop_now(q, 2000), 0);
	queue_destroy(q);
	remove_data_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_nothing_written_while_keeping_up),
		T(test_outage_goes_to_disk_and_arrives_in_order),
		T(test_stop_in_outage_then_restart_delivers),
		T(test_full_ring_spills_instead_of_dropping),
		T(test_max_disk_bytes_drops_oldest_counted),
		T(test_age_limit_applies_to_replay),
		T(test_rate_limit_paces_sends),
		T(test_a_batch_waiting_for_the_rate_limit_moved_to_disk_is_sent_once),
	};

	return QUEUE_TESTS_RUN(tests);
}
