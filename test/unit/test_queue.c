/* SPDX-License-Identifier: MIT */
/* queue against the tests' fault-injecting HTTP/1.1 receiver
 * (receiver.h): order, retries, overflow, connections, stopping, marks.
 * The resharding tests are in test_queue_reshard.c, the appends that wait
 * for room in test_queue_wait.c, the sender's in test_sender.c.
 *
 * TEST_FILTER=pattern runs only the matching tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/clock.h"
#include "queue/queue.h"
#include "queue_harness.h"
#include "receiver.h"

/* ---- queue tests ------------------------------------------------------------ */

static void test_in_order_after_500(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->rx->script[0] = (struct reply){.status = 500};
	f->rx->n_script = 1;
	q = start_queue(f);
	append_seq(f, q, 3, 0, 50);
	assert_true(wait_accepted(f->rx, 50, 3000));
	assert_int_equal(stop_now(q, 1000), 0);
	stats_of(q, &st);
	assert_values_in_order(f->rx, 0, 50, 0);
	assert_int_equal(f->rx->n_accepted, 50);
	assert_int_equal(f->rx->requests, 6);
	assert_int_equal(f->rx->batch_len[0], 10);
	assert_int_equal(f->rx->batch_len[1], 10); /* the same batch again */
	assert_int_equal(st.samples_sent, 50);
	assert_int_equal(st.samples_retried, 10);
	assert_int_equal(st.requests_total, 6);
	assert_int_equal(st.samples_pending, 0);
	assert_int_equal(st.highest_sent_timestamp_ms, f->base_ts + 49);
	assert_true(st.bytes_sent > 0);
	assert_int_equal(f->rx->header_errors, 0);
	assert_int_equal(f->rx->decode_errors, 0);
	assert_false(f->rx->saw_expect);
	assert_balanced(&st);
	queue_destroy(q);
}

static void test_per_series_order_across_shards(void **state)
{
	struct fixture *f = *state;
	int64_t last[N_SERIES];
	struct queue_stats st;
	struct queue *q;

	f->cfg.queue.min_shards = f->cfg.queue.max_shards = 4;
	f->rx->fail_until_ms = mono_ms() + 150; /* retries on every shard */
	f->rx->fail_status = 503;
	q = start_queue(f);
	for (int round = 0; round < 20; round++)
		for (int s = 0; s < N_SERIES; s++)
			append_seq(f, q, s, round, 1);
	assert_true(wait_accepted(f->rx, 20 * N_SERIES, 5000));
	stop_now(q, 1000);
	stats_of(q, &st);
	assert_int_equal(st.shards, 4);
	assert_int_equal(st.samples_sent, 20 * N_SERIES);
	assert_true(f->rx->accepts >= 4);
	for (int s = 0; s < N_SERIES; s++)
		last[s] = INT64_MIN;
	for (size_t i = 0; i < f->rx->n_accepted; i++) {
		struct got_sample *g = &f->rx->accepted[i];

		assert_true(g->ts > last[g->series]);
		last[g->series] = g->ts;
	}
	assert_balanced(&st);
	queue_destroy(q);
}

static void test_400_dropped_not_resent(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	char *log;

	/* A body larger than what is kept: the rest must still be drained. */
	f->rx->script[0] = (struct reply){.status = 400, .body_len = 3000};
	f->rx->n_script = 1;
	capture_start(&cap);
	q = start_queue(f);
	append_seq(f, q, 1, 0, 10);
	assert_true(wait_requests(f->rx, 1, 2000));
	sleep_ms(100);
	append_seq(f, q, 1, 10, 10);
	assert_true(wait_accepted(f->rx, 10, 2000));
	stop_now(q, 1000);
	log = capture_end(&cap);
	stats_of(q, &st);
	assert_int_equal(f->rx->requests, 2);
	assert_int_equal(f->rx->accepts, 1);
	assert_values_in_order(f->rx, 0, 10, 10);
	assert_int_equal(st.samples_failed, 10);
	assert_int_equal(st.batches_failed, 1);
	assert_int_equal(st.samples_retried, 0);
	assert_int_equal(st.samples_sent, 10);
	assert_balanced(&st);
	/* One warn line, with the status and exactly the first 1 KiB. */
	assert_int_equal(count_lines_with(log, "level=warn", NULL), 1);
	assert_int_equal(count_lines_with(log, "level=warn", "status=400"), 1);
	{
		char *b = strstr(log, "body=\"error: ");
		size_t z = 0;

		assert_non_null(b);
		for (b += 13; b[z] == 'z'; z++)
			;
		assert_int_equal(z, 1024 - 7);
		assert_int_equal(b[z], '"');
	}
	free(log);
	queue_destroy(q);
}

static void test_overflow_drops_oldest(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->cfg.queue.capacity = 100;
	f->rx->fail_until_ms = mono_ms() + 400;
	f->rx->fail_status = 503;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 10);
	assert_true(wait_requests(f->rx, 1, 2000)); /* first batch in flight */
	append_seq(f, q, 0, 10, 1000);
	stats_of(q, &st);
	assert_int_equal(st.samples_dropped[DROP_QUEUE_FULL], 900);
	assert_int_equal(st.samples_pending, 110);
	assert_balanced(&st);
	assert_true(wait_accepted(f->rx, 110, 4000));
	assert_int_equal(stop_now(q, 1000), 0);
	stats_of(q, &st);
	assert_int_equal(st.samples_in, 1010);
	assert_int_equal(st.samples_sent, 110);
	assert_int_equal(st.samples_failed, 0);
	assert_int_equal(st.samples_in, st.samples_sent + st.samples_failed +
						st.samples_dropped[DROP_QUEUE_FULL]);
	assert_int_equal(st.samples_pending, 0);
	assert_int_equal(f->rx->n_accepted, 110);
	assert_values_in_order(f->rx, 0, 10, 0);     /* the batch that was in flight */
	assert_values_in_order(f->rx, 10, 100, 910); /* the newest the ring kept */
	queue_destroy(q);
}

/* Overflow is said once, with the numbers and what to change, then not
 * again for 10 s however often it repeats. */
static void test_overflow_is_logged_not_silent(void **state)
{
	struct fixture *f = *state;
	struct capture cap;
	struct queue *q;
	char *log;

	f->cfg.queue.capacity = 100;
	f->rx->fail_until_ms = mono_ms() + 60000;
	f->rx->fail_status = 503;
	q = start_queue(f);
	capture_start(&cap);
	append_seq(f, q, 0, 0, 1000);
	append_seq(f, q, 0, 1000, 1000);
	stop_now(q, 200);
	log = capture_end(&cap);
	assert_int_equal(count_lines_with(log, "level=warn", "queue full"), 1);
	assert_non_null(strstr(log, "dropped=900 dropped_total=900 capacity=100"));
	free(log);
	queue_destroy(q);
}

static void test_429_honours_retry_after(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->rx->script[0] = (struct reply){.status = 429, .retry_after = "1"};
	f->rx->n_script = 1;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 10);
	assert_true(wait_accepted(f->rx, 10, 3000));
	stop_now(q, 1000);
	stats_of(q, &st);
	assert_int_equal(f->rx->requests, 2);
	assert_true(f->rx->request_ms[1] - f->rx->request_ms[0] >= 990);
	assert_int_equal(st.samples_retried, 10);
	assert_int_equal(st.samples_sent, 10);
	queue_destroy(q);
}

static void test_429_dropped_when_not_retried(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;

	f->cfg.queue.retry_on_http_429 = false;
	f->rx->script[0] = (struct reply){.status = 429, .retry_after = "1"};
	f->rx->n_script = 1;
	capture_start(&cap);
	q = start_queue(f);
	append_seq(f, q, 0, 0, 20);
	assert_true(wait_accepted(f->rx, 10, 2000));
	stop_now(q, 1000);
	free(capture_end(&cap));
	stats_of(q, &st);
	assert_int_equal(f->rx->requests, 2);
	assert_int_equal(st.samples_failed, 10);
	assert_int_equal(st.samples_sent, 10);
	assert_values_in_order(f->rx, 0, 10, 10);
	assert_balanced(&st);
	queue_destroy(q);
}

static void test_connection_reuse(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->cfg.queue.max_samples_per_send = 5;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 100);
	assert_true(wait_accepted(f->rx, 100, 3000));
	stop_now(q, 1000);
	stats_of(q, &st);
	assert_int_equal(f->rx->requests, 20);
	assert_int_equal(f->rx->accepts, 1);
	assert_int_equal(st.connections_opened, 1);
	assert_int_equal(st.requests_total, 20);
	assert_values_in_order(f->rx, 0, 100, 0);
	queue_destroy(q);
}

static void test_recycle_after_max_requests(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->cfg.queue.max_samples_per_send = 5;
	f->cfg.connection.max_requests = 5;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 100);
	assert_true(wait_accepted(f->rx, 100, 3000));
	sleep_ms(50); /* let the receiver see the last close */
	stats_of(q, &st);
	assert_int_equal(f->rx->requests, 20);
	assert_int_equal(f->rx->accepts, 4);
	assert_int_equal(rget(f->rx, &f->rx->closes), 4); /* none left idle */
	assert_int_equal(st.connections_opened, 4);
	stop_now(q, 1000);
	queue_destroy(q);
}

static void test_recycle_after_max_age(void **state)
{
	struct fixture *f = *state;
	struct queue *q;

	f->cfg.queue.max_samples_per_send = 5;
	f->cfg.connection.max_age_ms = 150;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 5);
	assert_true(wait_accepted(f->rx, 5, 2000));
	append_seq(f, q, 0, 5, 5);
	assert_true(wait_accepted(f->rx, 10, 2000));
	assert_int_equal(rget(f->rx, &f->rx->accepts), 1);
	sleep_ms(200);
	append_seq(f, q, 0, 10, 5);
	assert_true(wait_accepted(f->rx, 15, 2000));
	sleep_ms(50);
	assert_int_equal(rget(f->rx, &f->rx->accepts), 2);
	assert_int_equal(rget(f->rx, &f->rx->closes), 1); /* the old one is closed */
	stop_now(q, 1000);
	queue_destroy(q);
}

static void test_stop_flushes_without_waiting(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	int64_t t0;

	f->cfg.queue.batch_send_deadline_ms = 60000;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 7);
	sleep_ms(50);
	assert_int_equal(rget(f->rx, &f->rx->requests), 0); /* batch not due yet */
	t0 = mono_ms();
	assert_int_equal(stop_now(q, 2000), 0);
	assert_true(mono_ms() - t0 < 1000);
	stats_of(q, &st);
	assert_int_equal(st.samples_sent, 7);
	assert_int_equal(f->rx->n_accepted, 7);
	/* Appends after stop are refused and counted. */
	append_seq(f, q, 0, 7, 3);
	stats_of(q, &st);
	assert_int_equal(st.samples_dropped[DROP_SHUTDOWN], 3);
	assert_balanced(&st);
	queue_destroy(q);
}

static void test_stop_with_receiver_down(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	int64_t t0, took;
	uint64_t dropped;
	char *log;

	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u/api/v1/write", dead_port());
	capture_start(&cap);
	q = start_queue(f);
	append_seq(f, q, 0, 0, 50);
	sleep_ms(200);
	t0 = mono_ms();
	dropped = stop_now(q, 300);
	took = mono_ms() - t0;
	log = capture_end(&cap);
	stats_of(q, &st);
	assert_true(took >= 250);
	assert_true(took < 300 + 1000);
	assert_int_equal(dropped, 50);
	assert_int_equal(st.samples_dropped[DROP_SHUTDOWN], 50);
	assert_int_equal(st.samples_sent, 0);
	assert_int_equal(st.samples_pending, 0);
	assert_true(st.requests_total > 3);
	assert_balanced(&st);
	/* Many attempts, one warn line about retrying. */
	assert_int_equal(count_lines_with(log, "level=warn", "retrying"), 1);
	free(log);
	queue_destroy(q);
}

static void test_stop_aborts_hung_request(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	int64_t t0, took;

	f->rx->hang = true;
	f->cfg.remote_timeout_ms = 30000;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 10);
	assert_true(wait_requests(f->rx, 1, 2000));
	t0 = mono_ms();
	assert_int_equal(stop_now(q, 300), 10);
	took = mono_ms() - t0;
	assert_true(took < 300 + 1000);
	stats_of(q, &st);
	assert_int_equal(st.samples_dropped[DROP_SHUTDOWN], 10);
	assert_balanced(&st);
	queue_destroy(q);
}

static void test_sample_age_limit(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	struct sample smp[6];

	f->cfg.queue.sample_age_limit_ms = 60000;
	q = start_queue(f);
	for (int i = 0; i < 6; i++)
		smp[i] = (struct sample){&f->series[0],
					 i % 2 ? wall_ms() : wall_ms() - 3600 * 1000, {i}};
	queue_append(q, smp, 6);
	assert_true(wait_accepted(f->rx, 3, 2000));
	stop_now(q, 1000);
	stats_of(q, &st);
	assert_int_equal(st.samples_dropped[DROP_TOO_OLD], 3);
	assert_int_equal(st.samples_sent, 3);
	assert_int_equal(f->rx->n_accepted, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(f->rx->accepted[i].value, 2 * i + 1);
	assert_balanced(&st);
	queue_destroy(q);
}

static void test_drop_reason_names(void **state)
{
	(void)state;
	assert_string_equal(drop_reason_name(DROP_QUEUE_FULL), "queue_full");
	assert_string_equal(drop_reason_name(DROP_TOO_OLD), "too_old");
	assert_string_equal(drop_reason_name(DROP_SHUTDOWN), "shutdown");
}

static void test_masked_url_and_name(void **state)
{
	struct fixture *f = *state;
	struct queue *q;

	snprintf(f->url, sizeof(f->url), "http://u:pw@127.0.0.1:%u/api/v1/write", f->rx->port);
	q = queue_create(&f->cfg, "lts");
	receiver_start(f->rx);
	assert_string_equal(queue_name(q), "lts");
	assert_null(strstr(queue_masked_url(q), "pw"));
	assert_non_null(strstr(queue_masked_url(q), "<secret>@127.0.0.1"));
	queue_destroy(q); /* never started: destroy alone is enough */
}

/* queue_mark / queue_mark_passed: what the registry waits on before it
 * frees a series. Passed only once every sample appended before the mark
 * has left the queue, the batch in flight (retried) included. */
static bool wait_mark_passed(struct queue *q, int timeout_ms)
{
	int64_t until = mono_ms() + timeout_ms;

	while (!queue_mark_passed(q))
		if (mono_ms() >= until)
			return false;
		else
			sleep_ms(5);
	return true;
}

static void test_mark_passes_when_samples_leave(void **state)
{
	struct fixture *f = *state;
	struct queue *q;

	f->rx->fail_until_ms = mono_ms() + 400;
	f->rx->fail_status = 503;
	q = start_queue(f);
	assert_true(queue_mark_passed(q)); /* nothing appended: nothing held */
	append_seq(f, q, 1, 0, 25);
	queue_mark(q);
	sleep_ms(150); /* batches taken and retried, not accepted */
	assert_false(queue_mark_passed(q));
	append_seq(f, q, 2, 0, 5); /* after the mark: not waited for */
	assert_true(wait_mark_passed(q, 3000));
	assert_true(accepted_count(f->rx) >= 25);
	queue_mark(q);
	assert_true(wait_mark_passed(q, 3000));
	assert_int_equal(accepted_count(f->rx), 30);
	stop_now(q, 1000);
	queue_destroy(q);
}

/* An endpoint down: the batch in flight is retried from its encoded body
 * and holds no series, so the mark passes; unless an age limit may make it
 * re-encode. */
static void test_mark_passes_with_a_batch_retried(void **state)
{
	struct fixture *f = *state;
	struct queue *q;

	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u/api/v1/write", dead_port());
	for (int age_limit = 0; age_limit < 2; age_limit++) {
		f->cfg.queue.sample_age_limit_ms = age_limit ? 3600 * 1000 : 0;
		q = start_queue(f);
		append_seq(f, q, 1, 0, 5); /* one batch, after the 50 ms deadline */
		queue_mark(q);
		if (age_limit) {
			sleep_ms(300);
			assert_false(queue_mark_passed(q));
		} else {
			assert_true(wait_mark_passed(q, 3000));
		}
		stop_now(q, 100);
		queue_destroy(q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_in_order_after_500),
		T(test_per_series_order_across_shards),
		T(test_400_dropped_not_resent),
		T(test_overflow_drops_oldest),
		T(test_overflow_is_logged_not_silent),
		T(test_429_honours_retry_after),
		T(test_429_dropped_when_not_retried),
		T(test_connection_reuse),
		T(test_recycle_after_max_requests),
		T(test_recycle_after_max_age),
		T(test_stop_flushes_without_waiting),
		T(test_stop_with_receiver_down),
		T(test_stop_aborts_hung_request),
		T(test_sample_age_limit),
		cmocka_unit_test(test_drop_reason_names),
		T(test_masked_url_and_name),
		T(test_mark_passes_when_samples_leave),
		T(test_mark_passes_with_a_batch_retried),
	};

	return QUEUE_TESTS_RUN(tests);
}
