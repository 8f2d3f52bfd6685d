/* The building blocks in lib/: the name grammar and UTF-8 edge by edge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/names.h"

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
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
