/* The series registry: validation, sorting, external labels, interning,
 * encoding once, and stale markers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/registry.h"
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
	size_t i = 0;

	for (; expected[2 * i]; i++) {
		assert_true(i < s->n_labels);
		assert_string_equal(s->labels[i].name, expected[2 * i]);
		assert_string_equal(s->labels[i].value, expected[2 * i + 1]);
	}
	assert_int_equal(i, s->n_labels);
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
	assert_int_equal(decoded->n_labels, first->n_labels);
	for (size_t i = 0; i < decoded->n_labels; i++) {
		assert_string_equal(decoded->labels[i]->name, first->labels[i].name);
		assert_string_equal(decoded->labels[i]->value, first->labels[i].value);
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
	assert_string_equal(series_of(s[1].series)->labels[4].name, "k");
	assert_string_equal(series_of(s[1].series)->labels[4].value, "b");
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
			assert_string_equal(se->labels[4].name, "k");
			assert_string_equal(se->labels[4].value, orders[round][i]);
			assert_true(s[i].value == (double)i);
		}
	}
	assert_int_equal(registry_series_count(r), 6);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(labels_are_sorted_with_base_labels_and_empty_values_removed),
		cmocka_unit_test(own_label_wins_over_external),
		cmocka_unit_test(invalid_names_and_duplicates_are_refused),
		cmocka_unit_test(series_are_interned_and_encoded_once),
		cmocka_unit_test(vanished_series_get_one_stale_marker),
		cmocka_unit_test(explicit_timestamps_and_duplicates_in_a_round),
		cmocka_unit_test(client_timestamps_are_sent_once_and_stale_after_them),
		cmocka_unit_test(reordered_rounds_keep_every_sample_on_its_series),
		cmocka_unit_test(many_series_survive_rehashing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
