/* SPDX-License-Identifier: MIT */
/* show_draw: ranges in human units, bars scaled to the width (a count far
 * beyond it, a count of one beside it), 20 columns, no colour unless
 * asked, and lines cut to the terminal with their escape sequences whole. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/show_draw.h"

static void human(double v, const char *family, const char *want)
{
	char got[32];

	show_human(v, family, got, sizeof(got));
	assert_string_equal(got, want);
}

static void human_units(void **state)
{
	(void)state;
	human(0, "x_seconds", "0");
	human(5.12e-7, "x_seconds", "512ns");
	human(2e-6, "x_seconds", "2us");
	human(1.024e-3, "x_seconds", "1.024ms");
	human(0.131072, "x_seconds", "131.1ms");
	human(2, "x_seconds", "2s");
	human(INFINITY, "x_seconds", "inf");
	human(512, "x_bytes", "512B");
	human(1024, "x_bytes", "1KiB");
	human(3 * 1048576.0, "x_bytes", "3MiB");
	human(1500, "x_total", "1500");
}

static const struct hist_bucket buckets[] = {
	{2e-6, 1}, {4e-6, 1}, {8e-6, 1e12}, {16e-6, 1e12 + 1}, {INFINITY, 1e12 + 1}};
static const struct hist_view view = {"kernel_runqueue_latency_seconds", "", "cpu=\"0\"",
				      buckets, 5, 1, 1e12 + 1};
static const double counts[] = {1, 0, 1e12 - 1, 1, 0};

static char *draw(int width, bool colour)
{
	struct show_style st = {width, colour};
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	show_draw_histogram(out, &st, &view, counts, NAN);
	fclose(out);
	return text;
}

/* The rows of text (those with a '*' or a '|'), each checked. */
static int check_rows(char *text, int width)
{
	int rows = 0;

	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strchr(line, '*'))
			continue;
		assert_true((int)strlen(line) <= width);
		assert_null(strchr(line, '\033'));
		rows++;
	}
	return rows;
}

static void bars_fit_whatever_the_counts(void **state)
{
	char *text = draw(80, false);
	(void)state;

	/* Slots 2us (1), 4us (0: a row, no bar), 8us (huge) and 16us (1). */
	assert_non_null(strstr(text, "kernel_runqueue_latency_seconds{cpu=\"0\"}  1e+12 events"));
	assert_non_null(strstr(text, "      0 -> 2us       : 1       |*    "));
	assert_non_null(strstr(text, "    2us -> 4us       : 0       |     "));
	assert_non_null(strstr(text, "    4us -> 8us       : 1e+12   |*****"));
	assert_null(strstr(text, "16us -> inf"));
	assert_int_equal(check_rows(text, 80), 3);
	free(text);
	text = draw(20, false);
	assert_non_null(strstr(text, "    <=8us  1e+12 ***\n"));
	assert_non_null(strstr(text, "    <=2us      1 *  \n"));
	assert_int_equal(check_rows(text, 20), 3);
	free(text);
	text = draw(400, false); /* a bar stops at 200 stars */
	assert_non_null(strstr(text, "|" "********************************************************"));
	assert_int_equal(check_rows(text, 250), 3);
	free(text);
}

static void colour_only_when_asked(void **state)
{
	char *text = draw(80, true);
	(void)state;

	assert_non_null(strstr(text, "\033[32m*"));
	free(text);
}

static void clip(const char *line, int width, const char *want)
{
	char out[128];
	size_t n = show_clip_line(line, strlen(line), width, out, sizeof(out));

	out[n] = '\0';
	assert_string_equal(out, want);
}

static void lines_cut_at_the_width(void **state)
{
	(void)state;
	clip("abcdef", 3, "abc");
	clip("abc", 20, "abc");
	clip("\033[1mabcdef\033[0m", 3, "\033[1mabc\033[0m");
	clip("ab\033[32m****", 4, "ab\033[32m**\033[0m"); /* colour ended */
	clip("", 5, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(human_units),
		cmocka_unit_test(bars_fit_whatever_the_counts),
		cmocka_unit_test(colour_only_when_asked),
		cmocka_unit_test(lines_cut_at_the_width),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
