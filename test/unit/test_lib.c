/* SPDX-License-Identifier: MIT */
/* The building blocks in lib/: the hash table against a reference under
 * churn (deletion without tombstones is where such tables go wrong), and
 * the name grammar and UTF-8 edge by edge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/hashmap.h"
#include "lib/names.h"

#define N_ITEMS 3000

static int items[N_ITEMS];

/* Few distinct hashes, some homed at the table's last slots: long runs,
 * equal hashes and runs that wrap around the end. */
static uint64_t weak_hash(size_t i)
{
	return i % 3 == 0 ? UINT64_MAX - i % 5 : i % 61;
}

static bool found(const struct hashmap *m, size_t i)
{
	size_t pos;

	for (void *it = hashmap_first(m, weak_hash(i), &pos); it;
	     it = hashmap_next(m, weak_hash(i), &pos))
		if (it == &items[i])
			return true;
	return false;
}

static void check_all(const struct hashmap *m, const bool *in, size_t n_in)
{
	size_t pos = 0, seen = 0;

	assert_int_equal(m->len, n_in);
	for (size_t i = 0; i < N_ITEMS; i++)
		if (found(m, i) != in[i])
			fail_msg("item %zu: found %d, expected %d", i, !in[i], in[i]);
	while (hashmap_each(m, &pos))
		seen++;
	assert_int_equal(seen, n_in);
}

static void test_churn_against_reference(void **state)
{
	struct hashmap m = {0}; /* a zeroed table is an empty one */
	bool in[N_ITEMS] = {false};
	size_t n_in = 0;
	(void)state;

	srand(11);
	for (int round = 0; round < 40; round++) {
		for (int op = 0; op < 2000; op++) {
			size_t i = (size_t)rand() % N_ITEMS;
			if (in[i]) {
				assert_true(hashmap_remove(&m, weak_hash(i), &items[i]));
				n_in--;
			} else {
				assert_int_equal(hashmap_insert(&m, weak_hash(i), &items[i]), 0);
				n_in++;
			}
			in[i] = !in[i];
		}
		if (round % 4 == 3)
			hashmap_shrink(&m);
		check_all(&m, in, n_in);
	}
	assert_false(hashmap_remove(&m, 12345, &n_in));
	hashmap_free(&m);
}

static void test_grows_and_shrinks(void **state)
{
	struct hashmap m;
	(void)state;

	hashmap_init(&m, 64);
	for (size_t i = 0; i < N_ITEMS; i++)
		assert_int_equal(hashmap_insert(&m, hashmap_hash(&i, sizeof(i)), &items[i]), 0);
	assert_true(m.cap >= N_ITEMS * 4 / 3);
	hashmap_shrink(&m);
	assert_true(m.cap >= N_ITEMS * 4 / 3); /* full enough: kept */
	for (size_t i = 0; i < N_ITEMS; i++)
		assert_true(hashmap_remove(&m, hashmap_hash(&i, sizeof(i)), &items[i]));
	assert_int_equal(m.len, 0);
	hashmap_shrink(&m);
	assert_int_equal(m.cap, 64); /* back to its first size, not below */
	assert_int_equal(hashmap_bytes(&m), 64 * sizeof(struct hashmap_slot));
	hashmap_free(&m);
}

static bool found_by(const struct hashmap *m, size_t i)
{
	size_t pos;
	uint64_t h = hashmap_hash(&i, sizeof(i));

	for (void *it = hashmap_first(m, h, &pos); it; it = hashmap_next(m, h, &pos))
		if (it == &items[i])
			return true;
	return false;
}

/* At max_load 7 a table grows past seven eighths, not three quarters, and
 * keeps that after hashmap_free; every item stays found and removable. */
static void test_max_load_seven_eighths(void **state)
{
	struct hashmap m;
	(void)state;

	hashmap_init(&m, 64);
	hashmap_set_max_load(&m, 7);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < 896; i++) /* 7/8 of 1024 */
			assert_int_equal(hashmap_insert(&m, hashmap_hash(&i, sizeof(i)), &items[i]), 0);
		assert_int_equal(m.cap, 1024);
		for (size_t i = 0; i < 896; i++)
			assert_true(found_by(&m, i));
		assert_int_equal(hashmap_insert(&m, hashmap_hash(&items[896], 1), &items[896]), 0);
		assert_int_equal(m.cap, 2048);
		hashmap_free(&m);
	}
}

static void test_clear_keeps_memory(void **state)
{
	struct hashmap m;
	struct hashmap_slot *slots;
	size_t pos;
	(void)state;

	hashmap_init(&m, 0);
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(hashmap_insert(&m, i, &items[i]), 0);
	slots = m.slots;
	hashmap_clear(&m);
	assert_int_equal(m.len, 0);
	assert_ptr_equal(m.slots, slots);
	assert_null(hashmap_first(&m, 5, &pos));
	assert_int_equal(hashmap_insert(&m, 5, &items[5]), 0);
	assert_ptr_equal(hashmap_first(&m, 5, &pos), &items[5]);
	assert_ptr_equal(m.slots, slots);
	hashmap_free(&m);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(valid_metric_name("a:b_1", 5));
	assert_true(valid_metric_name(":a", 2));
	assert_false(valid_metric_name("1a", 2));
	assert_false(valid_metric_name("", 0));
	assert_false(valid_metric_name("a-b", 3));
	assert_true(valid_label_name("_a1", 3));
	assert_false(valid_label_name("a:b", 3));
	assert_false(valid_label_name("é", 2));
	assert_int_equal(metric_name_span("up{a=\"1\"}", 9), 2);
	assert_int_equal(metric_name_span("a:b c", 5), 3);
	assert_int_equal(label_name_span("a:b", 3), 1);
	assert_int_equal(label_name_span("9a", 2), 0);
	assert_int_equal(label_name_span("abc", 2), 2); /* stops at len */
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(valid_utf8("", 0));
	assert_true(valid_utf8("plain", 5));
	assert_true(valid_utf8("\xc3\xa9", 2));             /* é */
	assert_true(valid_utf8("\xe2\x82\xac", 3));         /* € */
	assert_true(valid_utf8("\xf0\x9f\x98\x80", 4));     /* U+1F600 */
	assert_true(valid_utf8("\xf4\x8f\xbf\xbf", 4));     /* U+10FFFF */
	assert_false(valid_utf8("\xc0\x80", 2));            /* overlong NUL */
	assert_false(valid_utf8("\xe0\x80\xaf", 3));        /* overlong '/' */
	assert_false(valid_utf8("\xed\xa0\x80", 3));        /* surrogate */
	assert_false(valid_utf8("\xf4\x90\x80\x80", 4));    /* past U+10FFFF */
	assert_false(valid_utf8("\xe2\x82", 2));            /* cut short */
	assert_false(valid_utf8("\xe2\x82\xac", 2));        /* cut by len */
	assert_false(valid_utf8("\x80", 1));                /* lone continuation */
	assert_false(valid_utf8("\xf8\x88\x80\x80\x80", 5)); /* 5-byte form */
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_churn_against_reference),
		cmocka_unit_test(test_grows_and_shrinks),
		cmocka_unit_test(test_max_load_seven_eighths),
		cmocka_unit_test(test_clear_keeps_memory),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
