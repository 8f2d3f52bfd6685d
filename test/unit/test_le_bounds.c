/* SPDX-License-Identifier: MIT */
/* le_bound: the kept bucket bound texts are exactly format_double's, for
 * every slot of many units (more than a thread keeps: the fallback), asked
 * in any order, and stay valid while other units are asked for. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/numfmt.h"
#include "series/le_bounds.h"

static const double units[] = {1e-9, 1e-6, 1e-3, 1, 1024, 0.1, 1.0 / 3, 4096e-9, 7e-7, 5e10};

static void expect(double unit, unsigned i)
{
	char want[64], buf[64];

	format_double(ldexp(unit, (int)i + 1), want, sizeof(want));
	assert_string_equal(le_bound(unit, i, buf, sizeof(buf)), want);
}

static void test_same_as_format_double(void **state)
{
	(void)state;
	for (int pass = 0; pass < 2; pass++) /* the second pass reads the kept texts */
		for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			for (unsigned k = 0; k < LE_BOUNDS_MAX; k++)
				/* slots out of order: high ones first */
				expect(units[u], (k * 7 + 3) % LE_BOUNDS_MAX);
	expect(1, LE_BOUNDS_MAX + 5); /* past the kept slots */
}

static void test_text_stays_valid(void **state)
{
	char buf[64];
	const char *first = le_bound(1e-9, 9, buf, sizeof(buf));

	(void)state;
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++)
		le_bound(units[u], 3, buf, sizeof(buf));
	assert_string_equal(first, "1.024e-06");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_format_double),
		cmocka_unit_test(test_text_stays_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
