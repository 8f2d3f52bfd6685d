/* SPDX-License-Identifier: MIT */
/* The queue speaking Remote Write 2.0 (protobuf_message), against the
 * tests' receiver (receiver.h): the 2.0 headers, the written counts, the
 * fall back to 1.0 (a 2xx without Samples-Written: the receiver's 1.0
 * decoder reads a 2.0 body as an empty WriteRequest, as Prometheus 2.42
 * does; a 415), partial writes, a 400, a reload's reset, the 1.0 metadata
 * requests.
 *
 * TEST_FILTER=pattern runs only the matching tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/clock.h"
#include "queue/disk.h"
#include "queue/queue.h"
#include "queue_harness.h"
#include "receiver.h"

#define FALLBACK "speaks only Remote Write 1.0"
#define WRITTEN(n) "X-Prometheus-Remote-Write-Samples-Written: " #n "\r\n"

static struct queue *start_v2(struct fixture *f)
{
	f->cfg.protobuf_message = RW_PROTO_V2;
	return start_queue(f);
}

/* A 2xx without Samples-Written: that batch again as 1.0 at once, every
 * later one 1.0; sent and bytes once, for the request accepted. */
static void test_fallback_on_2xx_without_written(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	char *log;

	capture_start(&cap);
	q = start_v2(f);
	append_seq(f, q, 1, 0, 10);
	assert_true(wait_accepted(f->rx, 10, 3000));
	append_seq(f, q, 2, 10, 10);
	assert_true(wait_accepted(f->rx, 20, 3000));
	stop_now(q, 1000);
	log = capture_end(&cap);
	stats_of(q, &st);
	assert_int_equal(f->rx->requests, 3);
	assert_int_equal(f->rx->v2_requests, 1);
	assert_true(f->rx->v2[0] && !f->rx->v2[1] && !f->rx->v2[2]);
	assert_int_equal(f->rx->batch_len[0], 0); /* read as an empty 1.0 request */
	assert_int_equal(f->rx->batch_len[1], 10);
	assert_values_in_order(f->rx, 0, 10, 0);
	assert_int_equal(f->rx->header_errors, 0);
	assert_int_equal(st.samples_sent, 20);
	assert_int_equal(st.samples_retried, 0);
	assert_int_equal(st.requests_total, 3);
	assert_int_equal(st.protocol_fallbacks, 1);
	assert_false(st.protocol_v2);
	assert_int_equal(count_lines_with(log, FALLBACK, "why=no_samples_written_header"), 1);
	assert_balanced(&st);
	free(log);
	queue_destroy(q);
}

static void test_fallback_on_415(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	char *log;

	f->rx->script[0] = (struct reply){.status = 415};
	f->rx->n_script = 1;
	capture_start(&cap);
	q = start_v2(f);
	append_seq(f, q, 1, 0, 10);
	assert_true(wait_accepted(f->rx, 10, 3000));
	stop_now(q, 1000);
	log = capture_end(&cap);
	stats_of(q, &st);
	assert_int_equal(f->rx->requests, 2);
	assert_true(f->rx->v2[0] && !f->rx->v2[1]);
	assert_int_equal(st.samples_sent, 10);
	assert_int_equal(st.samples_failed, 0);
	assert_int_equal(st.protocol_fallbacks, 1);
	assert_int_equal(count_lines_with(log, FALLBACK, "status=415"), 1);
	assert_int_equal(count_lines_with(log, "refused", NULL), 0);
	assert_balanced(&st);
	free(log);
	queue_destroy(q);
}

/* A 2.0 receiver: its counts say all was written; 2.0 stays. */
static void test_v2_receiver_stays_v2(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	for (int i = 0; i < 2; i++)
		f->rx->script[i] = (struct reply){.status = 204, .headers = WRITTEN(10)};
	f->rx->n_script = 2;
	q = start_v2(f);
	append_seq(f, q, 1, 0, 10);
	assert_true(wait_requests(f->rx, 1, 3000));
	append_seq(f, q, 1, 10, 10);
	assert_true(wait_requests(f->rx, 2, 3000));
	stop_now(q, 1000);
	stats_of(q, &st);
	assert_int_equal(f->rx->v2_requests, 2);
	assert_int_equal(f->rx->header_errors, 0);
	assert_int_equal(st.samples_sent, 20);
	assert_int_equal(st.protocol_fallbacks, 0);
	assert_true(st.protocol_v2);
	assert_balanced(&st);
	queue_destroy(q);
}

/* Written 7 of 10: 7 sent, 3 dropped (partial_write), not retried; a
 * warning once per spell of partial writes. */
static void test_partial_write_counted_not_retried(void **state)
{
	static const int written[4] = {7, 7, 10, 7};
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	char *log;

	for (int i = 0; i < 4; i++)
		f->rx->script[i] = (struct reply){.status = 200, .headers = written[i] == 7
			? WRITTEN(7) "X-Prometheus-Remote-Write-Histograms-Written: 0\r\n"
			: WRITTEN(10)};
	f->rx->n_script = 4;
	capture_start(&cap);
	q = start_v2(f);
	for (int i = 0; i < 4; i++) {
		append_seq(f, q, 1, 10 * i, 10);
		assert_true(wait_requests(f->rx, (unsigned)i + 1, 3000));
	}
	sleep_ms(100);
	stop_now(q, 1000);
	log = capture_end(&cap);
	stats_of(q, &st);
	assert_int_equal(f->rx->requests, 4);
	assert_int_equal(st.samples_sent, 31);
	assert_int_equal(st.samples_dropped[DROP_PARTIAL_WRITE], 9);
	assert_int_equal(st.samples_retried, 0);
	assert_string_equal(drop_reason_name(DROP_PARTIAL_WRITE), "partial_write");
	assert_int_equal(count_lines_with(log, "partial write", "written=7"), 2);
	assert_int_equal(count_lines_with(log, "partial write", "level=warn"), 2);
	assert_balanced(&st);
	free(log);
	queue_destroy(q);
}

/* A 400 to 2.0 is a refusal like any 4xx: dropped, counted, 2.0 stays. */
static void test_400_for_v2_dropped(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->rx->script[0] = (struct reply){.status = 400};
	f->rx->script[1] = (struct reply){.status = 204, .headers = WRITTEN(10)};
	f->rx->n_script = 2;
	q = start_v2(f);
	append_seq(f, q, 1, 0, 10);
	assert_true(wait_requests(f->rx, 1, 3000));
	append_seq(f, q, 1, 10, 10);
	assert_true(wait_requests(f->rx, 2, 3000));
	sleep_ms(100);
	stop_now(q, 1000);
	stats_of(q, &st);
	assert_int_equal(f->rx->v2_requests, 2);
	assert_int_equal(st.samples_failed, 10);
	assert_int_equal(st.samples_sent, 10);
	assert_int_equal(st.protocol_fallbacks, 0);
	assert_balanced(&st);
	queue_destroy(q);
}

/* A reload that keeps the endpoint: 2.0 is tried again. */
static void test_reset_protocol_tries_v2_again(void **state)
{
	struct fixture *f = *state;
	struct queue *q;

	q = start_v2(f);
	append_seq(f, q, 1, 0, 10);
	assert_true(wait_accepted(f->rx, 10, 3000));
	queue_reset_protocol(q);
	append_seq(f, q, 1, 10, 10);
	assert_true(wait_accepted(f->rx, 20, 3000));
	stop_now(q, 1000);
	assert_int_equal(f->rx->requests, 4);
	assert_int_equal(f->rx->v2_requests, 2);
	assert_true(f->rx->v2[2] && !f->rx->v2[3]);
	queue_destroy(q);
}

/* Metadata: not while 2.0; once fallen back, every send_interval (the
 * first one after the start); max_samples_per_send entries per request. */
static void test_metadata_after_fallback(void **state)
{
	static const struct wire_meta m[5] = {
		{"a_total", "A.", "", WIRE_TYPE_COUNTER}, {"b", "B.", "bytes", WIRE_TYPE_GAUGE},
		{"c", "", "", WIRE_TYPE_UNKNOWN}, {"d_seconds", "D.", "seconds", WIRE_TYPE_HISTOGRAM},
		{"e", "E.", "", WIRE_TYPE_GAUGE}};
	const struct wire_meta *list[5] = {&m[0], &m[1], &m[2], &m[3], &m[4]};
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->cfg.metadata = (struct metadata_config){true, 300, 2};
	q = start_v2(f);
	sleep_ms(350);
	assert_false(queue_metadata_due(q)); /* 2.0: metadata inline */
	append_seq(f, q, 1, 0, 10);
	assert_true(wait_accepted(f->rx, 10, 3000));
	assert_true(queue_metadata_due(q));
	queue_put_metadata(q, list, 5);
	assert_false(queue_metadata_due(q)); /* until send_interval passed */
	for (int i = 0; i < 100 && rget(f->rx, &f->rx->metadata) < 5; i++)
		sleep_ms(20);
	stop_now(q, 1000);
	stats_of(q, &st);
	assert_int_equal(f->rx->metadata, 5);
	assert_int_equal(f->rx->requests, 2 + 3);
	assert_int_equal(st.metadata_sent, 5);
	assert_int_equal(st.metadata_failed, 0);
	assert_int_equal(st.samples_sent, 10);
	queue_destroy(q);
}

/* A disk record says whether it is 2.0, across a restart and a record
 * given back, and next to the barrier flag. */
static void test_disk_records_remember_their_format(void **state)
{
	char dir[] = "/tmp/test_queue_proto.XXXXXX", cmd[64];
	struct disk_record_info in = {3, 1, 2, true, true}, out;
	struct disk_ticket t;
	struct buf payload = {0};
	struct disk *d;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(d = disk_open(dir, "t", 1 << 20));
	assert_int_equal(disk_append(d, "v2", 2, &in, NULL), 0);
	in.v2 = in.barrier = false;
	assert_int_equal(disk_append(d, "v1", 2, &in, NULL), 0);
	in.v2 = true;
	assert_int_equal(disk_append(d, "v2", 2, &in, NULL), 0);
	disk_close(d);
	assert_non_null(d = disk_open(dir, "t", 1 << 20));
	assert_int_equal(disk_claim(d, &payload, &out, &t), 1);
	assert_true(out.v2 && out.barrier);
	disk_unclaim(d, &t);
	assert_int_equal(disk_claim(d, &payload, &out, &t), 1);
	assert_true(out.v2 && out.barrier);
	disk_ack(d, &t);
	assert_int_equal(disk_claim(d, &payload, &out, &t), 1);
	assert_true(!out.v2 && !out.barrier);
	assert_memory_equal(payload.data, "v1", 2);
	disk_ack(d, &t);
	assert_int_equal(disk_claim(d, &payload, &out, &t), 1);
	assert_true(out.v2 && !out.barrier);
	disk_ack(d, &t);
	disk_close(d);
	buf_free(&payload);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fallback_on_2xx_without_written),
		T(test_fallback_on_415),
		T(test_v2_receiver_stays_v2),
		T(test_partial_write_counted_not_retried),
		T(test_400_for_v2_dropped),
		T(test_reset_protocol_tries_v2_again),
		T(test_metadata_after_fallback),
		T(test_disk_records_remember_their_format),
	};

	return QUEUE_TESTS_RUN(tests);
}
