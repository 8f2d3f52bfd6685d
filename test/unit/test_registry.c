/* SPDX-License-Identifier: MIT */
/* The series registry: validation, sorting, external labels, interning,
 * encoding once, stale markers, forgetting vanished series and max_series. */
#include <malloc.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/names.h"
#include "series/registry.h"
#include "labels_of.h"
#include "remote.pb-c.h"

static const struct metric_desc gauge = {"test_gauge", "A test gauge.", METRIC_GAUGE};

static struct registry *new_registry(void)
{
	static const struct kv external[] = {
		{"cluster", "prod"}, {"zone", ""}, {"instance", "node-7"}};
	struct registry *r = registry_create(external, 3, "bpfpush", "host-a");
	assert_non_null(r);
	return r;
}

/* The series behind the only sample of a one-emit round. */
static const struct series *emit_one(struct registry *r, const char *name,
				     const struct label *l, size_t n)
{
	static int64_t round_ts = 1000;
	const struct sample *s;
	size_t count;

	registry_begin_round(r, round_ts++);
	assert_int_equal(registry_emit(r, &gauge, name, l, n, 1.5, 0), 0);
	s = registry_end_round(r, &count);
	assert_true(count >= 1);
	return series_of(s[0].series);
}

static void assert_labels(const struct series *s, const char *const *expected)
{
	const struct label_set *l = labels_of(s);
	size_t i = 0;

	for (; expected[2 * i]; i++) {
		assert_true(i < l->n);
		assert_string_equal(l->labels[i].name, expected[2 * i]);
		assert_string_equal(l->labels[i].value, expected[2 * i + 1]);
	}
	assert_int_equal(i, l->n);
}

static void labels_are_sorted_with_base_labels_and_empty_values_removed(void **state)
{
	struct registry *r = new_registry();
	struct label l[] = {{"zeta", "1"}, {"alpha", "2"}, {"empty", ""}};
	const char *const want[] = {"__name__", "test_gauge", "alpha", "2", "cluster", "prod",
				    "instance", "node-7", "job", "bpfpush", "zeta", "1", NULL};
	(void)state;
	assert_labels(emit_one(r, NULL, l, 3), want);
	registry_destroy(r);
}

#define MANY_LABELS 500

/* A large label set in any order is one series, sorted; a name given twice
 * in it is refused wherever the sort puts the two. */
static void many_labels_in_any_order_are_one_series(void **state)
{
	static char names[MANY_LABELS][8];
	struct label fwd[MANY_LABELS], rev[MANY_LABELS], mixed[MANY_LABELS];
	struct registry *r = new_registry();
	const struct series *a, *b, *c;
	size_t n;
	(void)state;

	for (size_t i = 0; i < MANY_LABELS; i++) {
		snprintf(names[i], sizeof(names[i]), "l%03zu", i);
		fwd[i] = (struct label){names[i], "v"};
		rev[MANY_LABELS - 1 - i] = fwd[i];
		mixed[(i * 7) % MANY_LABELS] = fwd[i]; /* 7 and 500 are coprime */
	}
	a = emit_one(r, NULL, fwd, MANY_LABELS);
	b = emit_one(r, NULL, rev, MANY_LABELS);
	c = emit_one(r, NULL, mixed, MANY_LABELS);
	assert_ptr_equal(a, b);
	assert_ptr_equal(a, c);
	for (size_t i = 1; i < labels_of(a)->n; i++)
		assert_true(strcmp(labels_of(a)->labels[i - 1].name, labels_of(a)->labels[i].name) < 0);
	mixed[123] = mixed[456];
	registry_begin_round(r, 1 << 20);
	assert_int_equal(registry_emit(r, &gauge, NULL, mixed, MANY_LABELS, 1, 0), -1);
	registry_end_round(r, &n);
	registry_destroy(r);
}

static void own_label_wins_over_external(void **state)
{
	struct registry *r = new_registry();
	struct label l[] = {{"cluster", "dev"}, {"job", "node"}};
	const char *const want[] = {"__name__", "other_name", "cluster", "dev", "instance", "node-7",
				    "job", "node", NULL};
	(void)state;
	assert_labels(emit_one(r, "other_name", l, 2), want);
	registry_destroy(r);
}

static void invalid_names_and_duplicates_are_refused(void **state)
{
	struct registry *r = new_registry();
	struct label dup[] = {{"a", "1"}, {"a", "2"}};
	struct label bad[] = {{"1a", "x"}};
	struct label colon[] = {{"a:b", "x"}};
	struct label reserved[] = {{"__name__", "x"}};
	size_t n;
	(void)state;

	registry_begin_round(r, 1);
	assert_int_equal(registry_emit(r, &gauge, NULL, dup, 2, 1, 0), -1);
	assert_int_equal(registry_emit(r, &gauge, NULL, bad, 1, 1, 0), -1);
	assert_int_equal(registry_emit(r, &gauge, NULL, colon, 1, 1, 0), -1);
	assert_int_equal(registry_emit(r, &gauge, NULL, reserved, 1, 1, 0), -1);
	assert_int_equal(registry_emit(r, &gauge, "9lives", NULL, 0, 1, 0), -1);
	assert_int_equal(registry_emit(r, &gauge, "ok:name_1", NULL, 0, 1, 0), 0);
	registry_end_round(r, &n);
	assert_int_equal(n, 1);
	assert_true(valid_metric_name("a:b", 3));
	assert_false(valid_label_name("a:b", 3));
	assert_false(valid_label_name("", 0));
	registry_destroy(r);
}

struct emit_case {
	const char *name;
	struct label l[4];
	size_t n;
};

/* rc of emitting c in the round after primer was emitted at the same
 * position (so that the registry guesses primer's series), and the
 * emitted series' encoded labels in *out (NULL when none). */
static int emit_after(const struct emit_case *primer, const struct emit_case *c,
		      const uint8_t **out, size_t *out_len, struct registry **keep)
{
	struct registry *r = new_registry();
	const struct sample *s;
	size_t n;
	int rc;

	if (primer) { /* which may be refused: then nothing is guessed */
		registry_begin_round(r, 1 << 19);
		registry_emit(r, &gauge, primer->name, primer->l, primer->n, 1, 0);
		registry_end_round(r, &n);
	}
	registry_begin_round(r, 1 << 20);
	rc = registry_emit(r, &gauge, c->name, c->l, c->n, 1.5, 0);
	s = registry_end_round(r, &n);
	*out = NULL;
	if (rc == 0) {
		assert_true(n >= 1 && s[0].value == 1.5);
		*out = s[0].series->labels_pb;
		*out_len = s[0].series->labels_len;
	}
	*keep = r;
	return rc;
}

/* The emit path compares labels with last round's series at the same
 * position without building them; every emit must get the verdict and the
 * series the full path gives it (the same emit in a fresh registry). */
static void a_guessed_series_gets_the_full_paths_verdict(void **state)
{
	static const char long_value[] = "0123456789012345678901234567890123456789"
					 "0123456789012345678901234567890123456789"
					 "0123456789012345678901234567890123456789";
	const struct emit_case primer = {NULL, {{"a", "1"}, {"b", "2"}}, 2},
			       longer = {NULL, {{"a", "1"}, {"zz", "9"}}, 2};
	const struct emit_case cases[] = {
		{NULL, {{"a", "1"}, {"b", "2"}}, 2},
		{NULL, {{"b", "2"}, {"a", "1"}}, 2},
		{NULL, {{"a", "1"}, {"b", "2"}, {"__name__", "test_gauge"}}, 3},
		{NULL, {{"__name__", "test_gauge"}, {"a", "1"}, {"b", "2"}}, 3},
		{NULL, {{"a", "1"}, {"b", "2"}, {"bad-name", ""}}, 3},
		{NULL, {{"a", "1"}, {"b", "2"}, {"__name__", ""}}, 3},
		{NULL, {{"a", "1"}, {"a", "1"}, {"b", "2"}}, 3},
		{NULL, {{"a", "1"}, {"b", "2"}, {"instance", "node-7"}}, 3},
		{NULL, {{"a", "1"}, {"b", "2"}, {"instance", "other"}}, 3},
		{NULL, {{"a", "1"}, {"b", "2"}, {"zone", ""}}, 3},
		{NULL, {{"a", "1"}}, 1},
		{NULL, {{"a", "1"}, {"b", "2"}, {"c", "3"}}, 3},
		{NULL, {{"a", "1"}, {"b", "22"}}, 2},
		{"test_gauge2", {{"a", "1"}, {"b", "2"}}, 2},
		{"9lives", {{"a", "1"}, {"b", "2"}}, 2},
		{NULL, {{"A", "1"}, {"__a", "2"}, {"_a", "3"}, {"a", "1"}}, 4},
		{NULL, {{"a", "1"}, {"b", long_value}}, 2},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* Primed with itself too: a hit of a series of that shape. */
		const struct emit_case *primers[] = {&primer, &longer, &cases[i]};

		for (size_t p = 0; p < 3; p++) {
			struct registry *fresh, *primed;
			const uint8_t *want, *got;
			size_t want_len = 0, got_len = 0;
			int want_rc = emit_after(NULL, &cases[i], &want, &want_len, &fresh);
			int got_rc = emit_after(primers[p], &cases[i], &got, &got_len, &primed);

			assert_int_equal(got_rc, want_rc);
			assert_int_equal(got_len, want_len);
			if (want)
				assert_memory_equal(got, want, want_len);
			registry_destroy(fresh);
			registry_destroy(primed);
		}
	}
}

static void series_are_interned_and_encoded_once(void **state)
{
	struct registry *r = new_registry();
	struct label a[] = {{"x", "1"}, {"y", "2"}}, b[] = {{"y", "2"}, {"x", "1"}};
	const struct series *first, *second;
	Prometheus__Labels *decoded;
	(void)state;

	first = emit_one(r, NULL, a, 2);
	second = emit_one(r, NULL, b, 2);
	assert_ptr_equal(first, second);
	assert_int_equal(registry_series_count(r), 1);

	/* labels_pb is exactly the repeated Label field: it decodes as Labels. */
	decoded = prometheus__labels__unpack(NULL, first->wire.labels_len, first->wire.labels_pb);
	assert_non_null(decoded);
	assert_int_equal(decoded->n_labels, labels_of(first)->n);
	for (size_t i = 0; i < decoded->n_labels; i++) {
		assert_string_equal(decoded->labels[i]->name, labels_of(first)->labels[i].name);
		assert_string_equal(decoded->labels[i]->value, labels_of(first)->labels[i].value);
	}
	prometheus__labels__free_unpacked(decoded, NULL);
	registry_destroy(r);
}

static void vanished_series_get_one_stale_marker(void **state)
{
	struct registry *r = new_registry();
	struct label a[] = {{"k", "a"}}, b[] = {{"k", "b"}};
	const struct sample *s;
	uint64_t bits;
	size_t n;
	(void)state;

	registry_begin_round(r, 1000);
	registry_emit(r, &gauge, NULL, a, 1, 1, 0);
	registry_emit(r, &gauge, NULL, b, 1, 2, 0);
	registry_end_round(r, &n);
	assert_int_equal(n, 2);

	registry_begin_round(r, 2000);
	registry_emit(r, &gauge, NULL, a, 1, 3, 0);
	s = registry_end_round(r, &n);
	assert_int_equal(n, 2);
	assert_string_equal(labels_of(series_of(s[1].series))->labels[4].name, "k");
	assert_string_equal(labels_of(series_of(s[1].series))->labels[4].value, "b");
	memcpy(&bits, &s[1].value, sizeof(bits));
	assert_true(bits == STALE_NAN_BITS);
	assert_int_equal(s[1].timestamp_ms, 2000);

	registry_begin_round(r, 3000); /* already marked: no second marker */
	registry_emit(r, &gauge, NULL, a, 1, 4, 0);
	registry_end_round(r, &n);
	assert_int_equal(n, 1);
	registry_destroy(r);
}

static void explicit_timestamps_and_duplicates_in_a_round(void **state)
{
	struct registry *r = new_registry();
	const struct sample *s;
	size_t n;
	(void)state;

	registry_begin_round(r, 5000);
	assert_int_equal(registry_emit(r, &gauge, NULL, NULL, 0, 1, 1234), 0);
	/* The same series again: said, and ignored. */
	assert_int_equal(registry_emit(r, &gauge, NULL, NULL, 0, 2, 0), 1);
	s = registry_end_round(r, &n);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].timestamp_ms, 1234);
	assert_true(s[0].value == 1);
	registry_destroy(r);
}

static void client_timestamps_are_sent_once_and_stale_after_them(void **state)
{
	struct registry *r = new_registry();
	const struct sample *s;
	size_t n;
	(void)state;

	registry_begin_round(r, 1000);
	registry_emit(r, &gauge, NULL, NULL, 0, 1, 900);
	registry_end_round(r, &n);
	assert_int_equal(n, 1);

	registry_begin_round(r, 2000); /* the file did not change */
	registry_emit(r, &gauge, NULL, NULL, 0, 1, 900);
	registry_end_round(r, &n);
	assert_int_equal(n, 0);

	registry_begin_round(r, 3000); /* stamped ahead of the agent's clock */
	registry_emit(r, &gauge, NULL, NULL, 0, 2, 9000);
	registry_end_round(r, &n);
	assert_int_equal(n, 1);

	registry_begin_round(r, 4000); /* gone: the marker goes after 9000 */
	s = registry_end_round(r, &n);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].timestamp_ms, 9001);
	registry_destroy(r);
}

/* Emission order changes between rounds (a series added, removed, moved):
 * every sample still lands on its own series. */
static void reordered_rounds_keep_every_sample_on_its_series(void **state)
{
	static const char *const orders[][6] = {
		{"a", "b", "c", "d", NULL},
		{"b", "c", "d", "a", NULL},      /* rotated */
		{"x", "b", "c", "d", "a", NULL}, /* one inserted in front */
		{"b", "d", "a", NULL},           /* two gone */
		{"d", "a", "b", "x", "y", NULL}, /* new at the end, order mixed */
	};
	struct registry *r = new_registry();
	(void)state;

	for (size_t round = 0; round < sizeof(orders) / sizeof(orders[0]); round++) {
		const struct sample *s;
		size_t n, k = 0;

		registry_begin_round(r, 1000 * (int64_t)(round + 1));
		for (; orders[round][k]; k++) {
			struct label l = {"k", orders[round][k]};
			assert_int_equal(registry_emit(r, &gauge, NULL, &l, 1, (double)k, 0), 0);
		}
		s = registry_end_round(r, &n);
		for (size_t i = 0; i < k; i++) {
			const struct series *se = series_of(s[i].series);
			assert_string_equal(labels_of(se)->labels[4].name, "k");
			assert_string_equal(labels_of(se)->labels[4].value, orders[round][i]);
			assert_true(s[i].value == (double)i);
		}
	}
	/* "c" got its marker in round 4 and, still gone in round 5, is forgotten. */
	assert_int_equal(registry_series_count(r), 5);
	registry_destroy(r);
}

static void many_series_survive_rehashing(void **state)
{
	struct registry *r = new_registry();
	char value[32];
	size_t n;
	(void)state;

	for (int round = 0; round < 2; round++) {
		registry_begin_round(r, 1000 + round);
		for (int i = 0; i < 5000; i++) {
			struct label l = {"i", value};
			snprintf(value, sizeof(value), "%d", i);
			assert_int_equal(registry_emit(r, &gauge, NULL, &l, 1, i, 0), 0);
		}
		registry_end_round(r, &n);
		assert_int_equal(n, 5000);
	}
	assert_int_equal(registry_series_count(r), 5000);
	registry_destroy(r);
}

static bool is_stale(double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	return bits == STALE_NAN_BITS;
}

/* The value of label name on the series behind a sample ("" if none). */
static const char *label_of(const struct sample *s, const char *name)
{
	const struct label_set *l = labels_of(series_of(s->series));

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->labels[i].name, name) == 0)
			return l->labels[i].value;
	return "";
}

#define CHURN_LIVE 1000
#define CHURN_ROUNDS 300
#define CHURN_WARMUP 20

/* One round of a source whose label values all change every round (a
 * textfile rewritten with new ids, pods replaced): round k emits ids
 * k*CHURN_LIVE .. +CHURN_LIVE-1. Checks that the round's stale markers are
 * exactly last round's ids. */
static void churn_round(struct registry *r, int k)
{
	const struct sample *s;
	size_t n, markers = 0;
	char value[32], name[32];

	registry_begin_round(r, 1000 * (int64_t)(k + 1));
	for (int i = 0; i < CHURN_LIVE; i++) {
		struct label l = {"id", value};
		snprintf(value, sizeof(value), "%d", k * CHURN_LIVE + i);
		assert_int_equal(registry_emit(r, &gauge, NULL, &l, 1, i, 0), 0);
	}
	/* A metric name of its own every round (a textfile's names churn too). */
	snprintf(name, sizeof(name), "churn_name_%d", k);
	assert_int_equal(registry_emit(r, &(struct metric_desc){name, "", METRIC_GAUGE}, NULL,
				       NULL, 0, 1, 0), 0);
	s = registry_end_round(r, &n);
	for (size_t i = 0; i < n; i++) {
		long id = strtol(label_of(&s[i], "id"), NULL, 10);

		if (strncmp(series_of(s[i].series)->name, "churn_name_", 11) == 0) {
			markers += is_stale(s[i].value);
			continue;
		}
		if (!is_stale(s[i].value)) {
			assert_true(id >= (long)k * CHURN_LIVE && id < (long)(k + 1) * CHURN_LIVE);
			continue;
		}
		assert_true(id >= (long)(k - 1) * CHURN_LIVE && id < (long)k * CHURN_LIVE);
		assert_int_equal(s[i].timestamp_ms, 1000 * (int64_t)(k + 1));
		markers++;
	}
	assert_int_equal(markers, k > 0 ? CHURN_LIVE + 1 : 0);
	assert_int_equal(n, CHURN_LIVE + 1 + markers);
	/* The caller's queues have let go of everything (as the agent checks). */
	registry_reclaim(r);
}

/* Label values that churn must not grow the registry: series gone for two
 * rounds are forgotten and freed, the table shrinks back, and the heap stays
 * where it was after warm-up. */
static void churning_series_are_forgotten_and_memory_stays_flat(void **state)
{
	struct registry *r = new_registry();
	struct registry_stats st;
	size_t heap_warm;
	(void)state;

	for (int k = 0; k < CHURN_WARMUP; k++)
		churn_round(r, k);
	heap_warm = mallinfo2().uordblks;
	for (int k = CHURN_WARMUP; k < CHURN_ROUNDS; k++) {
		churn_round(r, k);
		/* This round's ids and last round's (marked stale, still known). */
		assert_true(registry_series_count(r) <= 2 * (CHURN_LIVE + 1));
	}
	registry_get_stats(r, &st);
	assert_int_equal(st.series, 2 * (CHURN_LIVE + 1));
	assert_true(st.forgotten_pending <= 2 * (CHURN_LIVE + 1));
	assert_int_equal(st.forgotten_total, (CHURN_ROUNDS - 2) * (CHURN_LIVE + 1));
	assert_true(st.buckets <= 4096);
	/* test_gauge, and the churning names of the rounds not yet freed. */
	assert_true(st.families <= 1 + 4);
	/* 280 rounds of 1,000 new series were ~60 MB before forgetting; a
	 * bounded registry reuses what it freed. (ASan's allocator reports 0.) */
	assert_true(mallinfo2().uordblks < heap_warm + 256 * 1024);

	/* Churn stops: the table shrinks back toward its first size. */
	for (int k = 0; k < 4; k++) {
		size_t n;
		registry_begin_round(r, 1000 * (int64_t)(CHURN_ROUNDS + k + 1));
		registry_end_round(r, &n);
		registry_reclaim(r);
	}
	registry_get_stats(r, &st);
	assert_int_equal(st.series, 0);
	assert_int_equal(st.forgotten_pending, 0);
	assert_int_equal(st.families, 0);
	assert_true(st.buckets <= 1024);
	registry_destroy(r);
}

/* Gone one round: marked stale, still the same series if it comes back.
 * Gone two rounds: forgotten; back later, it is a new series whose samples
 * flow, and it is marked stale again when it goes. */
static void reappearing_series_works_after_being_forgotten(void **state)
{
	struct registry *r = new_registry();
	struct label a = {"k", "a"}, b = {"k", "b"};
	const struct series *first;
	const struct sample *s;
	size_t n;
	(void)state;

	registry_begin_round(r, 10);
	registry_emit(r, &gauge, NULL, &a, 1, 1, 0);
	first = series_of(registry_end_round(r, &n)[0].series);
	registry_begin_round(r, 20); /* a gone: marker */
	registry_emit(r, &gauge, NULL, &b, 1, 1, 0);
	s = registry_end_round(r, &n);
	assert_int_equal(n, 2);
	assert_true(is_stale(s[1].value));
	assert_ptr_equal(series_of(s[1].series), first);
	registry_begin_round(r, 30); /* back within a round: the same series */
	registry_emit(r, &gauge, NULL, &a, 1, 1, 0);
	registry_emit(r, &gauge, NULL, &b, 1, 1, 0);
	s = registry_end_round(r, &n);
	assert_int_equal(n, 2);
	assert_ptr_equal(series_of(s[0].series), first);
	assert_int_equal(registry_series_count(r), 2);

	for (int k = 0; k < 2; k++) { /* a gone two rounds, b stays */
		registry_begin_round(r, 100 + k);
		registry_emit(r, &gauge, NULL, &b, 1, 1, 0);
		registry_end_round(r, &n);
		registry_reclaim(r); /* nothing holds a's samples any more */
		registry_reclaim(r);
	}
	assert_int_equal(registry_series_count(r), 1);

	registry_begin_round(r, 200); /* a is back: a new series, sample flows */
	registry_emit(r, &gauge, NULL, &b, 1, 1, 0);
	assert_int_equal(registry_emit(r, &gauge, NULL, &a, 1, 42, 0), 0);
	s = registry_end_round(r, &n);
	assert_int_equal(n, 2);
	assert_string_equal(label_of(&s[1], "k"), "a");
	assert_true(s[1].value == 42);
	assert_int_equal(s[1].timestamp_ms, 200);
	assert_int_equal(registry_series_count(r), 2);

	registry_begin_round(r, 300); /* and gone again: a marker again */
	registry_emit(r, &gauge, NULL, &b, 1, 1, 0);
	s = registry_end_round(r, &n);
	assert_int_equal(n, 2);
	assert_string_equal(label_of(&s[1], "k"), "a");
	assert_true(is_stale(s[1].value));
	registry_destroy(r);
}

/* A source at its max_series gets no new series (counted), keeps the ones it
 * has, and gets room again as its series are forgotten; other sources and
 * the agent's own series are not limited by it. */
static void max_series_drops_new_series_and_counts_them(void **state)
{
	struct registry *r = new_registry();
	char value[32];
	uint64_t dropped;
	size_t n, live;
	(void)state;

	registry_begin_round(r, 1000);
	assert_int_equal(registry_set_source(r, 1, 10), 0);
	for (int i = 0; i < 15; i++) {
		struct label l = {"id", value};
		snprintf(value, sizeof(value), "%d", i);
		assert_int_equal(registry_emit(r, &gauge, NULL, &l, 1, i, 0), i < 10 ? 0 : 2);
	}
	assert_int_equal(registry_set_source(r, 2, 10), 0);
	for (int i = 0; i < 10; i++) { /* source 1's series again: not new, not source 2's */
		struct label l = {"id", value};
		snprintf(value, sizeof(value), "%d", i);
		assert_int_equal(registry_emit(r, &gauge, "other", &l, 1, i, 0), 0);
	}
	assert_int_equal(registry_set_source(r, 0, 0), 0);
	assert_int_equal(registry_emit(r, &gauge, "own_metric", NULL, 0, 1, 0), 0);
	registry_end_round(r, &n);
	assert_int_equal(n, 21);
	registry_source_stats(r, 1, &live, &dropped);
	assert_int_equal(live, 10);
	assert_int_equal(dropped, 5);
	registry_source_stats(r, 2, &live, &dropped);
	assert_int_equal(live, 10);
	assert_int_equal(dropped, 0);

	for (int k = 0; k < 2; k++) { /* source 1's series go away */
		registry_begin_round(r, 2000 + k);
		registry_end_round(r, &n);
	}
	registry_source_stats(r, 1, &live, &dropped);
	assert_int_equal(live, 0);
	registry_begin_round(r, 3000);
	registry_set_source(r, 1, 10);
	snprintf(value, sizeof(value), "new");
	assert_int_equal(registry_emit(r, &gauge, NULL, &(struct label){"id", value}, 1, 1, 0), 0);
	registry_end_round(r, &n);
	assert_int_equal(n, 1);
	registry_source_stats(r, 1, &live, &dropped);
	assert_int_equal(live, 1);
	assert_int_equal(dropped, 5);
	registry_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(labels_are_sorted_with_base_labels_and_empty_values_removed),
		cmocka_unit_test(many_labels_in_any_order_are_one_series),
		cmocka_unit_test(own_label_wins_over_external),
		cmocka_unit_test(invalid_names_and_duplicates_are_refused),
		cmocka_unit_test(a_guessed_series_gets_the_full_paths_verdict),
		cmocka_unit_test(series_are_interned_and_encoded_once),
		cmocka_unit_test(vanished_series_get_one_stale_marker),
		cmocka_unit_test(explicit_timestamps_and_duplicates_in_a_round),
		cmocka_unit_test(client_timestamps_are_sent_once_and_stale_after_them),
		cmocka_unit_test(reordered_rounds_keep_every_sample_on_its_series),
		cmocka_unit_test(many_series_survive_rehashing),
		cmocka_unit_test(churning_series_are_forgotten_and_memory_stays_flat),
		cmocka_unit_test(reappearing_series_works_after_being_forgotten),
		cmocka_unit_test(max_series_drops_new_series_and_counts_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
