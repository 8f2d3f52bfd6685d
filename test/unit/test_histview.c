/* SPDX-License-Identifier: MIT */
/* histview: views gathered back from a registry round (BPF log2 ones and a
 * textfile-like one with escaped labels), sorted and findable; what is not
 * a drawable classic histogram left out (native ones, stale markers,
 * other types, a family's _sum alone); an interval's per-bucket counts,
 * with buckets that appear and a collector that starts over; a second
 * gather of the same shape reusing its memory. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "series/histview.h"
#include "series/native.h"
#include "series/registry.h"

static const struct metric_desc runq = {"kernel_runqueue_latency_seconds", "Run queue latency.",
					METRIC_HISTOGRAM};
static const struct metric_desc bio = {"kernel_block_io_latency_seconds", "Block I/O latency.",
				       METRIC_HISTOGRAM};
static const struct metric_desc text = {"app_request_bytes", "Request sizes.", METRIC_HISTOGRAM};
static const struct metric_desc gauge = {"some_gauge_bucket", "Not a histogram.", METRIC_GAUGE};

static void emit_log2(struct registry *r, const struct metric_desc *d, const struct label *l,
		      size_t n_l, const uint64_t *slots, unsigned n_slots, double sum)
{
	struct log2_histogram h = {slots, 8, n_slots, 1e-6, sum};

	assert_int_equal(registry_emit_log2_histogram(r, d, l, n_l, &h), 0);
}

/* Round 1: two runq views (cpu 0, 1), one bio, one textfile-like. */
static const struct sample *round_one(struct registry *r, int64_t ts, size_t *n)
{
	static const uint64_t s0[8] = {1, 2, 3}, s1[8] = {0, 5}, sb[8] = {4, 0, 0, 1};
	struct label cpu0 = {"cpu", "0"}, cpu1 = {"cpu", "1"}, dev = {"device", "sda"};
	struct label tl[2] = {{"path", "a\"b\\c\nd"}, {"le", "100"}};

	registry_begin_round(r, ts);
	emit_log2(r, &runq, &cpu1, 1, s1, 2, 0.5);
	emit_log2(r, &runq, &cpu0, 1, s0, 3, 0.25);
	emit_log2(r, &bio, &dev, 1, sb, 4, 1);
	/* Emitted out of order, as a textfile may hold them. */
	tl[1].value = "+Inf";
	registry_emit(r, &text, "app_request_bytes_bucket", tl, 2, 7, 0);
	tl[1].value = "1e3";
	registry_emit(r, &text, "app_request_bytes_bucket", tl, 2, 6, 0);
	tl[1].value = "100";
	registry_emit(r, &text, "app_request_bytes_bucket", tl, 2, 2, 0);
	registry_emit(r, &text, "app_request_bytes_sum", tl, 1, 900, 0);
	registry_emit(r, &gauge, NULL, NULL, 0, 3, 0);
	return registry_end_round(r, n);
}

static void check_bucket(const struct hist_view *v, size_t i, double le, double count)
{
	assert_true(i < v->n_buckets);
	assert_true(v->buckets[i].le == le);
	assert_true(v->buckets[i].count == count);
}

static void gathers_sorted_views(void **state)
{
	struct registry *r = registry_create(NULL, 0, "j", "");
	struct hist_set set = {0};
	const struct sample *s;
	size_t n;
	int64_t ts = 1000;
	(void)state;

	s = round_one(r, ts++, &n);
	assert_int_equal(hist_set_gather(&set, s, n), 0);
	assert_int_equal(set.n, 4);
	assert_string_equal(set.views[0].family, "app_request_bytes");
	assert_string_equal(set.views[0].labels, "job=\"j\",path=\"a\\\"b\\\\c\\nd\"");
	assert_string_equal(set.views[0].help, "Request sizes.");
	assert_int_equal(set.views[0].n_buckets, 3);
	check_bucket(&set.views[0], 0, 100, 2);
	check_bucket(&set.views[0], 1, 1000, 6);
	check_bucket(&set.views[0], 2, INFINITY, 7);
	assert_true(set.views[0].sum == 900);
	assert_true(set.views[0].count == 7); /* no _count: the +Inf bucket's */
	assert_string_equal(set.views[1].family, "kernel_block_io_latency_seconds");
	assert_string_equal(set.views[2].labels, "cpu=\"0\",job=\"j\"");
	assert_string_equal(set.views[3].labels, "cpu=\"1\",job=\"j\"");
	assert_int_equal(set.views[2].n_buckets, 4);
	check_bucket(&set.views[2], 0, 2e-6, 1);
	check_bucket(&set.views[2], 1, 4e-6, 3);
	check_bucket(&set.views[2], 2, 8e-6, 6);
	check_bucket(&set.views[2], 3, INFINITY, 6);
	assert_true(set.views[2].sum == 0.25 && set.views[2].count == 6);
	assert_ptr_equal(hist_set_find(&set, &set.views[3]), &set.views[3]);
	assert_ptr_equal(hist_set_find(&set, &set.views[0]), &set.views[0]);
	assert_null(hist_set_find(&set, &(struct hist_view){.family = "x", .labels = ""}));
	hist_set_free(&set);
	registry_destroy(r);
}

static void skips_native_stale_and_partial(void **state)
{
	static const uint64_t slots[8] = {1, 1};
	struct registry *r = registry_create(NULL, 0, "", "");
	struct hist_set set = {0};
	struct label cpu = {"cpu", "0"};
	const struct sample *s;
	size_t n;
	int64_t ts = 1000;
	(void)state;

	round_one(r, ts++, &n);
	registry_begin_round(r, ts); /* everything of round one goes stale */
	registry_set_histograms(r, HISTOGRAMS_NATIVE);
	emit_log2(r, &runq, &cpu, 1, slots, 2, 1);
	registry_emit(r, &text, "app_request_bytes_sum", NULL, 0, 1, 0);
	s = registry_end_round(r, &n);
	assert_true(n > 10); /* the stale markers are there */
	assert_int_equal(hist_set_gather(&set, s, n), 0);
	assert_int_equal(set.n, 0);
	hist_set_free(&set);
	registry_destroy(r);
}

static void interval_counts(void **state)
{
	struct hist_bucket b1[] = {{1, 1}, {2, 3}, {INFINITY, 3}};
	struct hist_bucket b2[] = {{1, 2}, {2, 5}, {4, 9}, {INFINITY, 10}};
	struct hist_bucket b3[] = {{1, 0}, {2, 1}, {INFINITY, 1}};
	struct hist_view v1 = {"f", "", "", b1, 3, 0, 3}, v2 = {"f", "", "", b2, 4, 0, 10},
			 v3 = {"f", "", "", b3, 3, 0, 1};
	double out[4];
	(void)state;

	hist_view_interval(&v1, NULL, out); /* since start */
	assert_true(out[0] == 1 && out[1] == 2 && out[2] == 0);
	hist_view_interval(&v2, &v1, out); /* le=4 new: before had none there */
	assert_true(out[0] == 1 && out[1] == 1 && out[2] == 4 && out[3] == 1);
	hist_view_interval(&v3, &v2, out); /* counts went down: from zero */
	assert_true(out[0] == 0 && out[1] == 1 && out[2] == 0);
}

/* Same shape twice: the views' memory is reused (same addresses). */
static void second_gather_reuses(void **state)
{
	struct registry *r = registry_create(NULL, 0, "", "");
	struct hist_set set = {0}, prev = {0};
	const struct hist_view *views;
	const struct sample *s;
	size_t n;
	int64_t ts = 1000;
	double out[8];
	(void)state;

	s = round_one(r, ts++, &n);
	assert_int_equal(hist_set_gather(&prev, s, n), 0);
	assert_int_equal(hist_set_gather(&set, s, n), 0);
	views = set.views;
	s = round_one(r, ts++, &n);
	assert_int_equal(hist_set_gather(&set, s, n), 0);
	assert_ptr_equal(set.views, views);
	assert_int_equal(set.n, 4);
	for (size_t i = 0; i < set.n; i++) {
		const struct hist_view *b = hist_set_find(&prev, &set.views[i]);
		assert_non_null(b);
		hist_view_interval(&set.views[i], b, out);
		for (size_t k = 0; k < set.views[i].n_buckets; k++)
			assert_true(out[k] == 0);
	}
	hist_set_free(&set);
	hist_set_free(&prev);
	hist_set_free(&prev); /* freeing twice is harmless */
	registry_destroy(r);
}

/* A round without a histogram, into a set that never held one. */
static void round_without_histograms(void **state)
{
	struct registry *r = registry_create(NULL, 0, "", "");
	struct hist_set set = {0};
	const struct sample *s;
	size_t n;
	(void)state;

	registry_begin_round(r, 1000);
	registry_emit(r, &gauge, NULL, NULL, 0, 3, 0);
	s = registry_end_round(r, &n);
	assert_int_equal(hist_set_gather(&set, s, n), 0);
	assert_int_equal(set.n, 0);
	assert_int_equal(hist_set_gather(&set, s, 0), 0);
	assert_int_equal(set.n, 0);
	hist_set_free(&set);
	registry_destroy(r);
}

/* Enough views that the arena grows while they are made. */
static void many_views(void **state)
{
	static const uint64_t slots[8] = {1, 2, 3};
	struct registry *r = registry_create(NULL, 0, "", "");
	struct hist_set set = {0};
	const struct sample *s;
	char value[16], want[32];
	struct label cpu = {"cpu", value};
	size_t n;
	(void)state;

	registry_begin_round(r, 1000);
	for (int i = 0; i < 500; i++) {
		snprintf(value, sizeof(value), "%03d", i);
		emit_log2(r, &runq, &cpu, 1, slots, 3, 1);
	}
	s = registry_end_round(r, &n);
	assert_int_equal(hist_set_gather(&set, s, n), 0);
	assert_int_equal(set.n, 500);
	for (int i = 0; i < 500; i++) {
		snprintf(want, sizeof(want), "cpu=\"%03d\"", i);
		assert_string_equal(set.views[i].labels, want);
		assert_string_equal(set.views[i].family, runq.name);
		assert_int_equal(set.views[i].n_buckets, 4);
	}
	hist_set_free(&set);
	registry_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gathers_sorted_views),
		cmocka_unit_test(skips_native_stale_and_partial),
		cmocka_unit_test(interval_counts),
		cmocka_unit_test(second_gather_reuses),
		cmocka_unit_test(many_views),
		cmocka_unit_test(round_without_histograms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
