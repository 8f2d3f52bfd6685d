/* SPDX-License-Identifier: MIT */
/* name_filter's memo of verdicts: asked again and again, in any order, for
 * more names than it remembers, it answers as the patterns do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "collectors/filter.h"

/* What the patterns below decide, written out. */
static bool expected(unsigned i)
{
	return i % 3 == 0 && i % 5 != 0;
}

static void name_of(unsigned i, char *buf, size_t size)
{
	/* x3 (kept unless x5), y...: include ^x, exclude 5-multiples. */
	snprintf(buf, size, "%s%u%s", i % 3 == 0 ? "x" : "y", i, i % 5 == 0 ? "_five" : "");
}

static void test_memo_agrees_with_patterns(void **state)
{
	struct name_filter f;
	char name[64];

	(void)state;
	assert_int_equal(name_filter_init(&f, "^x", "_five$"), 0);
	for (int pass = 0; pass < 3; pass++)
		for (unsigned k = 0; k < 9000; k++) { /* more than the memo keeps */
			unsigned i = (k * 7919u + (unsigned)pass) % 9000u;
			name_of(i, name, sizeof(name));
			assert_int_equal(name_filter_keep(&f, name, strlen(name)), expected(i));
		}
	/* A name that is a prefix of a remembered one is not taken for it. */
	assert_true(name_filter_keep(&f, "x3", 2));
	assert_false(name_filter_keep(&f, "x", 1) && name_filter_keep(&f, "x15_five", 8));
	name_filter_free(&f);
}

static void test_no_patterns_keeps_all(void **state)
{
	struct name_filter f;

	(void)state;
	assert_int_equal(name_filter_init(&f, NULL, ""), 0);
	assert_true(name_filter_keep(&f, "anything", 8));
	name_filter_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memo_agrees_with_patterns),
		cmocka_unit_test(test_no_patterns_keeps_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
