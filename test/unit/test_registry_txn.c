/* SPDX-License-Identifier: MIT */
/* Registry transactions: abort undoes every emit since begin exactly (the
 * samples, the series' last round, position and newest timestamp, the
 * series created inside), commit is plain emits, misuse is harmless. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "series/registry.h"

static const struct metric_desc gauge = {"txn_gauge", "A test gauge.", METRIC_GAUGE};

static struct registry *new_registry(void)
{
	struct registry *r = registry_create(NULL, 0, "bpfpush", "host-a");

	assert_non_null(r);
	return r;
}

static int emit_id(struct registry *r, const char *id, double v, int64_t ts)
{
	struct label l = {"id", id};

	return registry_emit(r, &gauge, NULL, &l, 1, v, ts);
}

static bool is_stale(double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	return bits == STALE_NAN_BITS;
}

static size_t live_series(const struct registry *r)
{
	struct registry_stats st;

	registry_get_stats(r, &st);
	return st.series;
}

/* A re-emitted series whose emit is aborted gets its stale marker at
 * end_round exactly as if it had not been emitted, and is forgotten a
 * round later, not earlier. */
static void abort_after_reemitting_last_rounds_series(void **state)
{
	struct registry *r = new_registry();
	const struct sample *s;
	size_t n;

	(void)state;
	registry_begin_round(r, 1000);
	assert_int_equal(emit_id(r, "a", 1, 0), 0);
	assert_int_equal(emit_id(r, "b", 2, 0), 0);
	registry_end_round(r, &n);
	assert_int_equal(n, 2);

	registry_begin_round(r, 2000);
	assert_int_equal(registry_txn_begin(r), 0);
	assert_int_equal(emit_id(r, "a", 10, 0), 0);
	assert_int_equal(emit_id(r, "b", 20, 0), 0);
	registry_txn_abort(r);
	assert_int_equal(emit_id(r, "b", 21, 0), 0);
	s = registry_end_round(r, &n);
	assert_int_equal(n, 2);
	assert_true(s[0].value == 21);
	assert_true(is_stale(s[1].value));
	assert_int_equal(s[1].timestamp_ms, 2000);
	assert_int_equal(live_series(r), 2); /* marked, not forgotten early */

	registry_begin_round(r, 3000);
	assert_int_equal(emit_id(r, "b", 22, 0), 0);
	s = registry_end_round(r, &n);
	assert_int_equal(n, 1);
	assert_int_equal(live_series(r), 1); /* a's second round gone: forgotten */
	registry_destroy(r);
}

/* A client timestamp recorded inside an aborted transaction is sent the
 * next time it is emitted: no sample lost. */
static void abort_with_client_timestamps(void **state)
{
	struct registry *r = new_registry();
	const struct sample *s;
	size_t n;

	(void)state;
	registry_begin_round(r, 1000);
	assert_int_equal(emit_id(r, "a", 1, 500), 0);
	registry_end_round(r, &n);
	assert_int_equal(n, 1);

	registry_begin_round(r, 2000);
	assert_int_equal(registry_txn_begin(r), 0);
	assert_int_equal(emit_id(r, "a", 2, 600), 0);
	registry_txn_abort(r);
	s = registry_end_round(r, &n);
	assert_int_equal(n, 1);
	assert_true(is_stale(s[0].value));
	assert_int_equal(s[0].timestamp_ms, 2000);

	/* The same file read whole next round: its sample is sent once. */
	registry_begin_round(r, 3000);
	assert_int_equal(registry_txn_begin(r), 0);
	assert_int_equal(emit_id(r, "a", 2, 2500), 0);
	registry_txn_commit(r);
	s = registry_end_round(r, &n);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].timestamp_ms, 2500);
	assert_true(s[0].value == 2);

	/* An unchanged sample refused inside the txn is refused after it too. */
	registry_begin_round(r, 4000);
	assert_int_equal(registry_txn_begin(r), 0);
	assert_int_equal(emit_id(r, "a", 2, 2500), 0);
	registry_txn_abort(r);
	assert_int_equal(emit_id(r, "a", 2, 2500), 0);
	assert_int_equal(emit_id(r, "a", 2, 2500), 1);
	registry_end_round(r, &n);
	assert_int_equal(n, 0);
	registry_destroy(r);
}

/* Series created inside an aborted transaction are gone: the table, the
 * source's live count and the families are as before, and emitting them
 * again creates them afresh. */
static void abort_of_a_txn_that_created_series(void **state)
{
	struct registry *r = new_registry();
	struct registry_stats st;
	const struct sample *s;
	uint64_t dropped;
	size_t n, live;

	(void)state;
	assert_int_equal(registry_set_source(r, 1, 2), 0);
	registry_begin_round(r, 1000);
	assert_int_equal(emit_id(r, "old", 1, 0), 0);
	assert_int_equal(registry_txn_begin(r), 0);
	assert_int_equal(emit_id(r, "new", 2, 0), 0);
	assert_int_equal(emit_id(r, "over", 3, 0), 2); /* max_series 2 */
	registry_txn_abort(r);
	registry_source_stats(r, 1, &live, &dropped);
	assert_int_equal(live, 1);
	registry_get_stats(r, &st);
	assert_int_equal(st.series, 1);
	assert_int_equal(st.families, 1);
	assert_int_equal(emit_id(r, "over", 3, 0), 0); /* room again */
	s = registry_end_round(r, &n);
	assert_int_equal(n, 2);
	assert_true(s[0].value == 1 && s[1].value == 3);

	assert_int_equal(registry_set_source(r, 1, 3), 0);
	registry_begin_round(r, 2000);
	assert_int_equal(registry_txn_begin(r), 0);
	assert_int_equal(emit_id(r, "third", 4, 0), 0);
	assert_int_equal(emit_id(r, "new", 5, 0), 2);
	registry_txn_abort(r);
	registry_end_round(r, &n);
	assert_int_equal(n, 2); /* old and over marked stale */
	registry_get_stats(r, &st);
	assert_int_equal(st.series, 2);
	assert_int_equal(st.forgotten_total, 0);
	registry_source_stats(r, 1, &live, &dropped);
	assert_int_equal(live, 2);
	registry_destroy(r);
}

/* A new family made only inside the aborted transaction goes with it. */
static void abort_frees_a_new_family(void **state)
{
	static const struct metric_desc other = {"txn_other", "Another.", METRIC_COUNTER};
	struct registry *r = new_registry();
	struct registry_stats st;
	size_t n;

	(void)state;
	registry_begin_round(r, 1000);
	assert_int_equal(registry_txn_begin(r), 0);
	assert_int_equal(registry_emit(r, &other, NULL, NULL, 0, 1, 0), 0);
	assert_int_equal(emit_id(r, "x", 1, 0), 0);
	registry_txn_abort(r);
	registry_get_stats(r, &st);
	assert_int_equal(st.series, 0);
	assert_int_equal(st.families, 0);
	registry_end_round(r, &n);
	assert_int_equal(n, 0);
	registry_destroy(r);
}

/* A duplicate inside the transaction is refused there, and after an abort
 * the series is emitted once. */
static void a_duplicate_inside_the_txn(void **state)
{
	struct registry *r = new_registry();
	const struct sample *s;
	size_t n;

	(void)state;
	registry_begin_round(r, 1000);
	assert_int_equal(emit_id(r, "a", 1, 0), 0);
	registry_end_round(r, &n);
	registry_begin_round(r, 2000);
	assert_int_equal(registry_txn_begin(r), 0);
	assert_int_equal(emit_id(r, "a", 2, 0), 0);
	assert_int_equal(emit_id(r, "a", 3, 0), 1);
	assert_int_equal(emit_id(r, "b", 4, 0), 0);
	assert_int_equal(emit_id(r, "b", 5, 0), 1);
	registry_txn_abort(r);
	assert_int_equal(emit_id(r, "a", 6, 0), 0);
	assert_int_equal(emit_id(r, "a", 7, 0), 1);
	s = registry_end_round(r, &n);
	assert_int_equal(n, 1);
	assert_true(s[0].value == 6);
	registry_destroy(r);
}

static void run_rounds(struct registry *r, bool txn, const struct sample **s, size_t *n)
{
	static const char *const ids[] = {"a", "b", "c", "d"};

	for (int round = 0; round < 3; round++) {
		registry_begin_round(r, 1000 * (round + 1));
		if (txn)
			assert_int_equal(registry_txn_begin(r), 0);
		for (int i = round; i < 4; i++)
			assert_int_equal(emit_id(r, ids[(i + round) % 4], i, i == 2 ? 100 + round : 0), 0);
		if (txn)
			registry_txn_commit(r);
		*s = registry_end_round(r, n);
	}
}

static void commit_equals_plain_emits(void **state)
{
	struct registry *plain = new_registry(), *txn = new_registry();
	const struct sample *a, *b;
	size_t na, nb;

	(void)state;
	run_rounds(plain, false, &a, &na);
	run_rounds(txn, true, &b, &nb);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(a[i].timestamp_ms, b[i].timestamp_ms);
		assert_memory_equal(&a[i].value, &b[i].value, sizeof(double));
		assert_int_equal(a[i].series->labels_len, b[i].series->labels_len);
		assert_memory_equal(a[i].series->labels_pb, b[i].series->labels_pb,
				    a[i].series->labels_len);
	}
	registry_destroy(plain);
	registry_destroy(txn);
}

/* Commit or abort without a transaction do nothing; a second begin is
 * refused and the first one's mark holds; end_round commits an open one. */
static void misuse_is_harmless(void **state)
{
	struct registry *r = new_registry();
	const struct sample *s;
	size_t n;

	(void)state;
	registry_txn_abort(r);
	registry_txn_commit(r);
	registry_begin_round(r, 1000);
	registry_txn_abort(r);
	assert_int_equal(emit_id(r, "a", 1, 0), 0);
	registry_txn_commit(r);
	assert_int_equal(registry_txn_begin(r), 0);
	assert_int_equal(emit_id(r, "b", 2, 0), 0);
	assert_int_equal(registry_txn_begin(r), -1);
	assert_int_equal(emit_id(r, "c", 3, 0), 0);
	registry_txn_abort(r);
	registry_txn_abort(r);
	assert_int_equal(registry_txn_begin(r), 0);
	assert_int_equal(emit_id(r, "d", 4, 0), 0);
	s = registry_end_round(r, &n); /* commits d */
	assert_int_equal(n, 2);
	assert_true(s[0].value == 1 && s[1].value == 4);
	registry_txn_abort(r); /* after end_round: nothing open */
	assert_int_equal(live_series(r), 2);
	registry_begin_round(r, 2000);
	assert_int_equal(registry_txn_begin(r), 0);
	registry_begin_round(r, 3000); /* commits the empty one */
	registry_txn_abort(r);
	registry_end_round(r, &n);
	registry_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(abort_after_reemitting_last_rounds_series),
		cmocka_unit_test(abort_with_client_timestamps),
		cmocka_unit_test(abort_of_a_txn_that_created_series),
		cmocka_unit_test(abort_frees_a_new_family),
		cmocka_unit_test(a_duplicate_inside_the_txn),
		cmocka_unit_test(commit_equals_plain_emits),
		cmocka_unit_test(misuse_is_harmless),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
