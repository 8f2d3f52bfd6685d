/* SPDX-License-Identifier: MIT */
/* Native histograms from BPF log2 slots (series/native.c): the slot to
 * bucket mapping, spans and deltas, the zero bucket, folded and huge
 * slots, reset hints, stale markers, the forms a collector asks for, the
 * arenas' lifetime, and the 1.0 encoder's TimeSeries.histograms. The
 * Histogram bytes must equal protobuf-c's pack of the same message. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "remote.pb-c.h"
#include "types.pb-c.h"

#include "lib/buf.h"
#include "proto/encode.h"
#include "series/exposition.h"
#include "series/native.h"
#include "series/registry.h"

#define SLOTS 32

static const struct metric_desc latency = {"test_latency_seconds", "A latency.",
					    METRIC_HISTOGRAM};

struct expect {
	uint64_t count, zero_count;
	double sum, zero_threshold;
	int32_t offsets[SLOTS];
	uint32_t lengths[SLOTS];
	size_t n_spans;
	int64_t deltas[SLOTS];
	size_t n_deltas;
	int reset;
};

/* protobuf-c's pack of the Histogram e describes. */
static size_t pack_expected(const struct expect *e, uint8_t *out)
{
	Prometheus__Histogram h = PROMETHEUS__HISTOGRAM__INIT;
	Prometheus__BucketSpan spans[SLOTS], *span_ptrs[SLOTS];

	h.count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
	h.count_int = e->count;
	h.sum = e->sum;
	h.zero_threshold = e->zero_threshold;
	h.zero_count_case = PROMETHEUS__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_INT;
	h.zero_count_int = e->zero_count;
	for (size_t i = 0; i < e->n_spans; i++) {
		prometheus__bucket_span__init(&spans[i]);
		spans[i].offset = e->offsets[i];
		spans[i].length = e->lengths[i];
		span_ptrs[i] = &spans[i];
	}
	h.n_positive_spans = e->n_spans;
	h.positive_spans = span_ptrs;
	h.n_positive_deltas = e->n_deltas;
	h.positive_deltas = (int64_t *)e->deltas;
	h.reset_hint = (Prometheus__Histogram__ResetHint)e->reset;
	assert_true(prometheus__histogram__get_packed_size(&h) <= NATIVE_HIST_MAX);
	return prometheus__histogram__pack(&h, out);
}

static void assert_encodes_as(const struct log2_histogram *h, enum native_reset_hint hint,
			      const struct expect *e)
{
	uint8_t got[NATIVE_HIST_MAX], want[NATIVE_HIST_MAX];
	size_t n_got = native_encode(h, hint, got), n_want = pack_expected(e, want);

	assert_int_equal(n_got, n_want);
	assert_memory_equal(got, want, n_want);
}

static void bytes_unit_maps_slot_i_to_bucket_i_plus_1(void **state)
{
	uint64_t slots[SLOTS] = {0};
	struct log2_histogram h = {slots, SLOTS, 20, 1, 40};
	/* Slot 3 holds 8..15 bytes: bucket 4 is (8, 16]. The zero bucket
	 * (slot 0: 0 and 1 byte) ends where slot 1's bucket (2, 4] starts. */
	struct expect e = {.count = 5, .sum = 40, .zero_threshold = 2, .offsets = {4},
			   .lengths = {1}, .n_spans = 1, .deltas = {5}, .n_deltas = 1};
	(void)state;

	slots[3] = 5;
	assert_encodes_as(&h, NATIVE_RESET_UNKNOWN, &e);
}

static void microseconds_and_nanoseconds_shift_by_19_and_29(void **state)
{
	uint64_t slots[SLOTS] = {0};
	struct log2_histogram us = {slots, SLOTS, 27, 1e-6, 0.5};
	struct log2_histogram ns = {slots, SLOTS, 27, 1e-9, 0.5};
	/* Slot 10 of us: [1024, 2048) us = [2^-9.93, 2^-8.93) s, mostly in
	 * bucket -9 = (2^-10, 2^-9]; slot 1's bucket -18 starts at 2^-19. */
	struct expect e_us = {.count = 7, .sum = 0.5, .zero_threshold = ldexp(1, -19),
			      .zero_count = 4, .offsets = {-9}, .lengths = {1}, .n_spans = 1,
			      .deltas = {3}, .n_deltas = 1};
	struct expect e_ns = e_us;
	(void)state;

	slots[0] = 4;
	slots[10] = 3;
	assert_encodes_as(&us, NATIVE_RESET_UNKNOWN, &e_us);
	e_ns.zero_threshold = ldexp(1, -29);
	e_ns.offsets[0] = -19;
	assert_encodes_as(&ns, NATIVE_RESET_UNKNOWN, &e_ns);
}

static void small_gaps_ride_in_a_span_large_ones_start_a_new_one(void **state)
{
	uint64_t slots[SLOTS] = {0};
	struct log2_histogram h = {slots, SLOTS, 20, 1, 100};
	/* Buckets 2..5 (slots 1..4) one span with the two empty ones as
	 * zeros; three empty buckets (slots 5..7) start a span at slot 8. */
	struct expect e = {.count = 9, .sum = 100, .zero_threshold = 2, .zero_count = 3,
			   .offsets = {2, 3}, .lengths = {4, 1}, .n_spans = 2,
			   .deltas = {1, -1, 0, 3, -1}, .n_deltas = 5, .reset = 1};
	(void)state;

	slots[0] = 3;
	slots[1] = 1;
	slots[4] = 3;
	slots[8] = 2;
	assert_encodes_as(&h, NATIVE_RESET_YES, &e);
}

static void an_empty_histogram_has_counts_and_no_spans(void **state)
{
	uint64_t slots[SLOTS] = {0};
	struct log2_histogram h = {slots, SLOTS, 27, 1e-6, 0};
	struct expect e = {.zero_threshold = ldexp(1, -19)};
	(void)state;

	assert_encodes_as(&h, NATIVE_RESET_UNKNOWN, &e);
	slots[0] = 9; /* only the zero bucket */
	e.count = e.zero_count = 9;
	assert_encodes_as(&h, NATIVE_RESET_UNKNOWN, &e);
}

/* Slots past n_slots fold into the last bucket (as the classic form
 * counts them only in +Inf); counts near 2^64 give deltas that wrap like
 * Go's int64, and the receiver's running sum gives the counts back. */
static void folded_and_huge_slots_round_trip(void **state)
{
	uint64_t slots[SLOTS] = {0};
	struct log2_histogram h = {slots, SLOTS, 5, 1, 1};
	uint8_t pb[NATIVE_HIST_MAX];
	Prometheus__Histogram *d;
	uint64_t running = 0;
	(void)state;

	slots[1] = UINT64_MAX - 10;
	slots[2] = 3;
	slots[4] = 1;
	slots[10] = 2;
	slots[31] = 4;
	d = prometheus__histogram__unpack(NULL, native_encode(&h, NATIVE_RESET_UNKNOWN, pb), pb);
	assert_non_null(d);
	assert_int_equal(d->count_int, UINT64_MAX - 10 + 3 + 1 + 2 + 4);
	assert_int_equal(d->n_positive_spans, 1);
	assert_int_equal(d->positive_spans[0]->offset, 2);
	assert_int_equal(d->positive_spans[0]->length, 4); /* slots 1..4: buckets 2..5 */
	assert_int_equal(d->n_positive_deltas, 4);
	uint64_t want[4] = {UINT64_MAX - 10, 3, 0, 1 + 2 + 4};
	for (size_t i = 0; i < 4; i++) {
		running += (uint64_t)d->positive_deltas[i];
		assert_int_equal(running, want[i]);
	}
	prometheus__histogram__free_unpacked(d, NULL);
}

static void every_slot_full_fits_the_bound(void **state)
{
	uint64_t slots[SLOTS];
	struct log2_histogram h = {slots, SLOTS, SLOTS, 1e-9, 1e300};
	uint8_t pb[NATIVE_HIST_MAX];
	(void)state;

	/* Alternating huge and one: every delta is 10 bytes. */
	for (size_t i = 0; i < SLOTS; i++)
		slots[i] = i % 2 ? UINT64_MAX / 64 : 1;
	assert_true(native_encode(&h, NATIVE_RESET_YES, pb) <= NATIVE_HIST_MAX);
	for (size_t i = 0; i < SLOTS; i++) /* a span per bucket */
		slots[i] = i % 4 == 1 ? UINT64_MAX / 64 : 0;
	assert_true(native_encode(&h, NATIVE_RESET_YES, pb) <= NATIVE_HIST_MAX);
}

/* ---- through the registry ---------------------------------------------- */

static Prometheus__Histogram *decode(const struct wire_hist *w)
{
	Prometheus__Histogram *d = prometheus__histogram__unpack(NULL, w->len, w->pb);

	assert_non_null(d);
	return d;
}

/* Emits h as the only thing of a round; returns the round's samples. */
static const struct sample *round_of(struct registry *r, int64_t ts, const struct log2_histogram *h,
				     size_t *n)
{
	registry_begin_round(r, ts);
	if (h)
		assert_int_equal(registry_emit_log2_histogram(r, &latency, NULL, 0, h), 0);
	return registry_end_round(r, n);
}

static int reset_hint_of(const struct sample *s)
{
	Prometheus__Histogram *d = decode(s->hist);
	int hint = d->reset_hint;

	prometheus__histogram__free_unpacked(d, NULL);
	return hint;
}

static void classic_is_the_default_native_and_both_on_request(void **state)
{
	struct registry *r = registry_create(NULL, 0, "job", "host");
	uint64_t slots[SLOTS] = {1, 2, 3};
	struct log2_histogram h = {slots, SLOTS, 4, 1e-6, 0.25};
	const struct sample *s;
	size_t n;
	(void)state;

	s = round_of(r, 1000, &h, &n);
	assert_int_equal(n, 4 + 1 + 2); /* 4 buckets, +Inf, _sum, _count */
	for (size_t i = 0; i < n; i++)
		assert_false(s[i].series->native_histogram);
	registry_set_histograms(r, HISTOGRAMS_NATIVE);
	s = round_of(r, 2000, &h, &n);
	assert_int_equal(n, 1 + 7); /* the native one; the classic ones' stale markers */
	assert_true(s[0].series->native_histogram);
	assert_string_equal(series_of(s[0].series)->name, "test_latency_seconds");
	registry_set_histograms(r, HISTOGRAMS_BOTH);
	s = round_of(r, 3000, &h, &n);
	assert_int_equal(n, 8);
	assert_true(s[7].series->native_histogram);
	registry_destroy(r);
}

static void reset_hint_on_the_first_sample_and_when_the_count_goes_back(void **state)
{
	struct registry *r = registry_create(NULL, 0, "job", "host");
	uint64_t slots[SLOTS] = {0, 5};
	struct log2_histogram h = {slots, SLOTS, 4, 1, 10};
	const struct sample *s;
	size_t n;
	(void)state;

	registry_set_histograms(r, HISTOGRAMS_NATIVE);
	s = round_of(r, 1000, &h, &n);
	assert_int_equal(reset_hint_of(&s[0]), PROMETHEUS__HISTOGRAM__RESET_HINT__YES);
	slots[1] = 6;
	s = round_of(r, 2000, &h, &n);
	assert_int_equal(reset_hint_of(&s[0]), PROMETHEUS__HISTOGRAM__RESET_HINT__UNKNOWN);
	slots[1] = 2; /* the counter went back between rounds */
	s = round_of(r, 3000, &h, &n);
	assert_int_equal(reset_hint_of(&s[0]), PROMETHEUS__HISTOGRAM__RESET_HINT__YES);
	s = round_of(r, 4000, &h, &n);
	assert_int_equal(reset_hint_of(&s[0]), PROMETHEUS__HISTOGRAM__RESET_HINT__UNKNOWN);
	registry_destroy(r);
}

static void a_vanished_native_series_gets_a_stale_histogram(void **state)
{
	struct registry *r = registry_create(NULL, 0, "job", "host");
	uint64_t slots[SLOTS] = {1};
	struct log2_histogram h = {slots, SLOTS, 4, 1, 1};
	const struct sample *s;
	Prometheus__Histogram *d;
	uint64_t bits;
	size_t n;
	(void)state;

	registry_set_histograms(r, HISTOGRAMS_NATIVE);
	s = round_of(r, 1000, &h, &n);
	assert_false(native_is_stale(s[0].hist));
	s = round_of(r, 2000, NULL, &n);
	assert_int_equal(n, 1);
	assert_true(s[0].series->native_histogram);
	assert_true(native_is_stale(s[0].hist));
	d = decode(s[0].hist);
	memcpy(&bits, &d->sum, sizeof(bits));
	assert_int_equal(bits, STALE_NAN_BITS);
	assert_int_equal(d->count_int, 0);
	prometheus__histogram__free_unpacked(d, NULL);
	registry_destroy(r);
}

static void a_float_for_a_native_series_is_refused(void **state)
{
	struct registry *r = registry_create(NULL, 0, "job", "host");
	uint64_t slots[SLOTS] = {1};
	struct log2_histogram h = {slots, SLOTS, 4, 1, 1};
	size_t n;
	(void)state;

	registry_set_histograms(r, HISTOGRAMS_NATIVE);
	round_of(r, 1000, &h, &n);
	registry_begin_round(r, 2000);
	assert_int_equal(registry_emit(r, &latency, NULL, NULL, 0, 1.0, 0), -1);
	assert_int_equal(registry_emit_log2_histogram(r, &latency, NULL, 0, &h), 0);
	registry_end_round(r, &n);
	assert_int_equal(n, 1);
	registry_destroy(r);
}

/* A histogram's bytes stay put until the reclaim after next (queued
 * samples point at them), then their memory is reused, not allocated. */
static void arenas_live_until_the_reclaim_after_next_then_are_reused(void **state)
{
	struct registry *r = registry_create(NULL, 0, "job", "host");
	uint64_t slots[SLOTS] = {1, 2, 3};
	struct log2_histogram h = {slots, SLOTS, 4, 1, 1};
	const struct wire_hist *first, *second, *third;
	uint8_t copy[NATIVE_HIST_MAX];
	size_t n, len;
	(void)state;

	registry_set_histograms(r, HISTOGRAMS_NATIVE);
	first = round_of(r, 1000, &h, &n)[0].hist;
	len = first->len;
	memcpy(copy, first->pb, len);
	registry_reclaim(r);
	slots[0]++;
	second = round_of(r, 2000, &h, &n)[0].hist;
	assert_ptr_not_equal(second, first);
	assert_memory_equal(first->pb, copy, len); /* still held */
	registry_reclaim(r);
	slots[0]++;
	third = round_of(r, 3000, &h, &n)[0].hist;
	assert_ptr_equal(third, first); /* its chunk came back */
	registry_destroy(r);
}

/* ---- the 1.0 encoder and the text exposition ---------------------------- */

static void encoder_sends_timeseries_histograms_with_the_timestamp(void **state)
{
	struct registry *r = registry_create(NULL, 0, "job", "host");
	uint64_t slots[SLOTS] = {2, 0, 0, 0, 0, 7};
	struct log2_histogram h = {slots, SLOTS, 27, 1e-6, 0.125};
	const struct sample *s;
	Prometheus__WriteRequest *wr;
	Prometheus__Histogram *got;
	struct buf pb = {0};
	size_t n;
	(void)state;

	registry_set_histograms(r, HISTOGRAMS_BOTH);
	s = round_of(r, 1234567, &h, &n);
	assert_int_equal(encode_write_request(s, n, &pb), 0);
	wr = prometheus__write_request__unpack(NULL, pb.len, pb.data);
	assert_non_null(wr);
	assert_int_equal(wr->n_timeseries, n);
	for (size_t i = 0; i + 1 < n; i++) {
		assert_int_equal(wr->timeseries[i]->n_samples, 1);
		assert_int_equal(wr->timeseries[i]->n_histograms, 0);
	}
	assert_int_equal(wr->timeseries[n - 1]->n_samples, 0);
	assert_int_equal(wr->timeseries[n - 1]->n_histograms, 1);
	got = wr->timeseries[n - 1]->histograms[0];
	assert_int_equal(got->timestamp, 1234567);
	assert_int_equal(got->count_int, 9);
	assert_int_equal(got->zero_count_int, 2);
	assert_true(got->sum == 0.125);
	assert_int_equal(got->schema, 0);
	assert_int_equal(got->positive_spans[0]->offset, 5 - 19);
	assert_int_equal(got->reset_hint, PROMETHEUS__HISTOGRAM__RESET_HINT__YES);
	prometheus__write_request__free_unpacked(wr, NULL);
	buf_free(&pb);
	registry_destroy(r);
}

static void exposition_prints_a_native_series_as_a_comment(void **state)
{
	struct registry *r = registry_create(NULL, 0, "job", "host");
	uint64_t slots[SLOTS] = {1, 2};
	struct log2_histogram h = {slots, SLOTS, 2, 1, 3.5};
	const struct sample *s;
	char *text = NULL;
	size_t n, len = 0;
	FILE *f = open_memstream(&text, &len);
	(void)state;

	registry_set_histograms(r, HISTOGRAMS_BOTH);
	s = round_of(r, 1000, &h, &n);
	assert_int_equal(exposition_write(f, s, n, 1000), 0);
	fclose(f);
	assert_non_null(strstr(text, "test_latency_seconds_count{instance=\"host\",job=\"job\"} 3\n"));
	assert_non_null(strstr(text, "\n# native histogram test_latency_seconds{instance=\"host\","
				     "job=\"job\"} count=3 sum=3.5\n"));
	assert_null(strstr(text, "\ntest_latency_seconds{"));
	free(text);
	registry_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bytes_unit_maps_slot_i_to_bucket_i_plus_1),
		cmocka_unit_test(microseconds_and_nanoseconds_shift_by_19_and_29),
		cmocka_unit_test(small_gaps_ride_in_a_span_large_ones_start_a_new_one),
		cmocka_unit_test(an_empty_histogram_has_counts_and_no_spans),
		cmocka_unit_test(folded_and_huge_slots_round_trip),
		cmocka_unit_test(every_slot_full_fits_the_bound),
		cmocka_unit_test(classic_is_the_default_native_and_both_on_request),
		cmocka_unit_test(reset_hint_on_the_first_sample_and_when_the_count_goes_back),
		cmocka_unit_test(a_vanished_native_series_gets_a_stale_histogram),
		cmocka_unit_test(a_float_for_a_native_series_is_refused),
		cmocka_unit_test(arenas_live_until_the_reclaim_after_next_then_are_reused),
		cmocka_unit_test(encoder_sends_timeseries_histograms_with_the_timestamp),
		cmocka_unit_test(exposition_prints_a_native_series_as_a_comment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
