/* SPDX-License-Identifier: MIT */
/* The text exposition writer behind --dry-run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "series/exposition.h"
#include "lib/numfmt.h"
#include "series/registry.h"

static const struct metric_desc zeta = {"zeta_total", "Counts \\ things\nreally.", METRIC_COUNTER};
static const struct metric_desc alpha = {"alpha", "An alpha gauge.", METRIC_GAUGE};

static char *render(struct registry *r, int64_t round_ts)
{
	const struct sample *s;
	char *text = NULL;
	size_t n, len = 0;
	FILE *f = open_memstream(&text, &len);

	s = registry_end_round(r, &n);
	assert_int_equal(exposition_write(f, s, n, round_ts), 0);
	fclose(f);
	return text;
}

static void families_sorted_escaped_with_client_timestamps(void **state)
{
	struct registry *r = registry_create(NULL, 0, "", "");
	struct label quoted = {"path", "C:\\dir \"x\"\nend"};
	char *text;
	(void)state;

	registry_begin_round(r, 1000);
	registry_emit(r, &zeta, NULL, &quoted, 1, 3, 0);
	registry_emit(r, &alpha, NULL, NULL, 0, 0.1, 0);
	registry_emit(r, &alpha, "alpha_other", NULL, 0, 1e-300, 555);
	text = render(r, 1000);
	assert_string_equal(text,
			    "# HELP alpha An alpha gauge.\n"
			    "# TYPE alpha gauge\n"
			    "alpha 0.1\n"
			    "alpha_other 1e-300 555\n"
			    "# HELP zeta_total Counts \\\\ things\\nreally.\n"
			    "# TYPE zeta_total counter\n"
			    "zeta_total{path=\"C:\\\\dir \\\"x\\\"\\nend\"} 3\n");
	free(text);
	registry_destroy(r);
}

static void special_values_and_stale_markers(void **state)
{
	struct registry *r = registry_create(NULL, 0, "j", "");
	struct label a = {"k", "a"}, b = {"k", "b"};
	char *text;
	(void)state;

	registry_begin_round(r, 1);
	registry_emit(r, &alpha, NULL, &a, 1, 1.0 / 0.0, 0);
	registry_emit(r, &alpha, NULL, &b, 1, 0.30000000000000004, 0);
	free(render(r, 1));
	registry_begin_round(r, 2);
	registry_emit(r, &alpha, NULL, &a, 1, -1.0 / 0.0, 0);
	text = render(r, 2); /* b vanished: its stale marker is not printed */
	assert_string_equal(text, "# HELP alpha An alpha gauge.\n# TYPE alpha gauge\n"
				  "alpha{job=\"j\",k=\"a\"} -Inf\n");
	free(text);
	registry_destroy(r);
}

static void numbers_print_like_go(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{50, "50"}, {0, "0"}, {-3, "-3"}, {1e20, "100000000000000000000"}, {1e21, "1e+21"},
		{25276502016, "25276502016"}, {1.048576, "1.048576"}, {0.005, "0.005"},
		{0.0001, "0.0001"}, {1e-5, "1e-05"}, {0.1 + 0.2, "0.30000000000000004"},
		{1795240391.866, "1795240391.866"}, {-1.5e-300, "-1.5e-300"},
	};
	char out[64];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		format_double(cases[i].v, out, sizeof(out));
		assert_string_equal(out, cases[i].text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(families_sorted_escaped_with_client_timestamps),
		cmocka_unit_test(special_values_and_stale_markers),
		cmocka_unit_test(numbers_print_like_go),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
