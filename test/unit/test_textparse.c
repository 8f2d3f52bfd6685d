/* SPDX-License-Identifier: MIT */
/* The Prometheus text format parser: what it accepts, what it refuses and
 * on which line. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "collectors/textlex.h"
#include "collectors/textparse.h"

struct fixture {
	struct textparse p;
	char *text; /* the parser writes into its input: each parse gets a copy */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	textparse_init(&f->p);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	textparse_free(&f->p);
	free(f->text);
	free(f);
	return 0;
}

static int parse(struct fixture *f, const char *text)
{
	free(f->text);
	f->text = strdup(text);
	assert_non_null(f->text);
	return textparse_parse(&f->p, f->text, strlen(text));
}

/* Parses text that must fail on line `line` with a reason containing `why`. */
static void expect_error(struct fixture *f, const char *text, unsigned line, const char *why)
{
	int rc = parse(f, text);

	if (rc == 0)
		fail_msg("accepted: %s", text);
	if (f->p.error.line != line || !strstr(f->p.error.reason, why))
		fail_msg("text %s: got line %u \"%s\", want line %u \"%s\"", text, f->p.error.line,
			 f->p.error.reason, line, why);
}

static const struct textparse_sample *sample(const struct fixture *f, size_t i)
{
	assert_true(i < f->p.n_samples);
	return &f->p.samples[i];
}

static const struct textparse_family *family_of(const struct fixture *f, size_t i)
{
	return &f->p.families[sample(f, i)->family];
}

static const char *label_value(const struct fixture *f, size_t i, const char *name)
{
	const struct textparse_sample *s = sample(f, i);

	for (uint32_t k = 0; k < s->n_labels; k++)
		if (strcmp(textparse_label(&f->p, s->first_label + k).name, name) == 0)
			return textparse_label(&f->p, s->first_label + k).value;
	return NULL;
}

static void test_help_type_and_samples(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "# HELP node_demo_total Demo counter.\n"
				  "# TYPE node_demo_total counter\n"
				  "node_demo_total{dev=\"sda\",op=\"read\"} 42\n"
				  "node_demo_total{dev=\"sda\",op=\"write\"} 7\n"
				  "other_metric 3.5\n"),
			 0);
	assert_int_equal(f->p.n_samples, 3);
	assert_int_equal(f->p.n_families, 2);
	assert_string_equal(sample(f, 0)->name, "node_demo_total");
	assert_string_equal(family_of(f, 0)->name, "node_demo_total");
	assert_string_equal(family_of(f, 0)->help, "Demo counter.");
	assert_int_equal(family_of(f, 0)->type, METRIC_COUNTER);
	assert_int_equal(sample(f, 0)->n_labels, 2);
	assert_string_equal(label_value(f, 0, "dev"), "sda");
	assert_string_equal(label_value(f, 1, "op"), "write");
	assert_true(sample(f, 0)->value == 42.0);
	assert_false(sample(f, 0)->has_ts);
	assert_int_equal(sample(f, 1)->line, 4);
	/* No TYPE: untyped, no HELP. */
	assert_string_equal(family_of(f, 2)->name, "other_metric");
	assert_null(family_of(f, 2)->help);
	assert_int_equal(family_of(f, 2)->type, METRIC_UNTYPED);
	assert_true(sample(f, 2)->value == 3.5);
	assert_int_equal(sample(f, 2)->n_labels, 0);
}

static void test_help_escapes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "# HELP m back\\\\slash new\\nline \\\"quoted\\\" end  \n"
				  "m 1\n"),
			 0);
	/* Trailing blanks belong to the docstring, as in expfmt. */
	assert_string_equal(family_of(f, 0)->help, "back\\slash new\nline \"quoted\" end  ");
	expect_error(f, "# HELP m bad \\t escape\n", 1, "invalid escape sequence '\\t'");
	expect_error(f, "m 1\n# HELP m trailing backslash\\\n", 2, "invalid escape sequence");
	expect_error(f, "# HELP m one\n# HELP m two\n", 2, "second HELP line for metric name \"m\"");
}

static void test_label_value_escapes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "m{path=\"C:\\\\dir\",q=\"say \\\"hi\\\"\",nl=\"a\\nb\","
				  "utf=\"h\xc3\xa9llo \xe2\x82\xac\",empty=\"\"} 1\n"),
			 0);
	assert_string_equal(label_value(f, 0, "path"), "C:\\dir");
	assert_string_equal(label_value(f, 0, "q"), "say \"hi\"");
	assert_string_equal(label_value(f, 0, "nl"), "a\nb");
	assert_string_equal(label_value(f, 0, "utf"), "h\xc3\xa9llo \xe2\x82\xac");
	assert_string_equal(label_value(f, 0, "empty"), "");
	/* A label value may hold the characters that end other tokens. */
	assert_int_equal(parse(f, "m{a=\"} {,= #\"} 2\n"), 0);
	assert_string_equal(label_value(f, 0, "a"), "} {,= #");
	expect_error(f, "m{a=\"\\x\"} 1\n", 1, "invalid escape sequence '\\x'");
	expect_error(f, "m{a=\"\xc3\x28\"} 1\n", 1, "not UTF-8");
	expect_error(f, "m{a=\"\xed\xa0\x80\"} 1\n", 1, "not UTF-8"); /* a surrogate */
	expect_error(f, "m{a=\"\xc0\xaf\"} 1\n", 1, "not UTF-8");     /* overlong */
}

static void test_timestamps(void **state)
{
	struct fixture *f = *state;
	int64_t three_hours_ago = ((int64_t)time(NULL) - 3 * 3600) * 1000 + 123;
	char text[256];

	snprintf(text, sizeof(text),
		 "# HELP city_pm25 Concentration of PM 2.5.\n"
		 "# TYPE city_pm25 gauge\n"
		 "city_pm25 6.51 1720375200000\n"
		 "late{src=\"api\"} 5.59 %lld\n"
		 "negative 1 -1000\n"
		 "plus 1 +5\n"
		 "max 1 9223372036854775807\n"
		 "min 1 -9223372036854775808\n",
		 (long long)three_hours_ago);
	assert_int_equal(parse(f, text), 0);
	assert_true(sample(f, 0)->has_ts);
	assert_int_equal(sample(f, 0)->ts_ms, 1720375200000LL);
	assert_true(sample(f, 0)->value == 6.51);
	assert_true(sample(f, 1)->has_ts);
	assert_int_equal(sample(f, 1)->ts_ms, three_hours_ago);
	assert_int_equal(sample(f, 2)->ts_ms, -1000);
	assert_int_equal(sample(f, 3)->ts_ms, 5);
	assert_int_equal(sample(f, 4)->ts_ms, INT64_MAX);
	assert_int_equal(sample(f, 5)->ts_ms, INT64_MIN);
	expect_error(f, "m 1 9223372036854775808\n", 1, "expected integer as timestamp");
	expect_error(f, "m 1 1.5\n", 1, "expected integer as timestamp, got \"1.5\"");
	expect_error(f, "m 1 -\n", 1, "expected integer as timestamp");
}

static void test_special_values(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "a NaN\nb +Inf\nc -Inf\nd Inf\ne 1.5e-3\nf -2E+2\n"
				  "g .5\nh 7.\ni -0\nj 1e308\nk nan\nl +infinity\n"),
			 0);
	assert_true(isnan(sample(f, 0)->value));
	assert_true(isinf(sample(f, 1)->value) && sample(f, 1)->value > 0);
	assert_true(isinf(sample(f, 2)->value) && sample(f, 2)->value < 0);
	assert_true(isinf(sample(f, 3)->value) && sample(f, 3)->value > 0);
	assert_true(sample(f, 4)->value == 1.5e-3);
	assert_true(sample(f, 5)->value == -200.0);
	assert_true(sample(f, 6)->value == 0.5);
	assert_true(sample(f, 7)->value == 7.0);
	assert_true(sample(f, 8)->value == 0.0 && signbit(sample(f, 8)->value));
	assert_true(sample(f, 9)->value == 1e308);
	assert_true(isnan(sample(f, 10)->value));
	assert_true(isinf(sample(f, 11)->value));
	/* As Go's ParseFloat in expfmt: no hex, no separators, no overflow. */
	expect_error(f, "m 0x10\n", 1, "expected float as value, got \"0x10\"");
	expect_error(f, "m 1_000\n", 1, "expected float as value");
	expect_error(f, "m 1e999\n", 1, "expected float as value");
	expect_error(f, "m one\n", 1, "expected float as value, got \"one\"");
	expect_error(f, "m nan(1)\n", 1, "expected float as value");
}

/* Consecutive lines of one name reuse the family resolved for the line
 * before: the result must be what a fresh lookup gives, also where a name
 * belongs to a summary's family, and across a second parse of other text. */
static void test_family_of_repeated_names(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "# TYPE s summary\ns_sum 1\ns_sum{a=\"b\"} 2\ns_count 3\n"
				  "x_sum 4\nx_sum{a=\"c\"} 5\ns_sum{a=\"d\"} 6\n"),
			 0);
	assert_string_equal(family_of(f, 0)->name, "s");
	assert_string_equal(family_of(f, 1)->name, "s");
	assert_string_equal(family_of(f, 2)->name, "s");
	assert_string_equal(family_of(f, 3)->name, "x_sum");
	assert_string_equal(family_of(f, 4)->name, "x_sum");
	assert_string_equal(family_of(f, 5)->name, "s");
	assert_int_equal(parse(f, "s_sum 1\ns_sum{a=\"b\"} 2\n"), 0);
	assert_int_equal(f->p.n_families, 1);
	assert_string_equal(family_of(f, 0)->name, "s_sum");
	assert_string_equal(family_of(f, 1)->name, "s_sum");
}

/* A line that starts with the name before it is another name when more
 * name bytes follow, and still refused when a byte no name holds does. */
static void test_name_that_extends_the_last(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "foo 1\nfoo_bar 2\nfoo:x 3\nfoo7 4\nfoo{a=\"b\"} 5\nfoo\t6\n"), 0);
	assert_int_equal(f->p.n_families, 4);
	assert_string_equal(sample(f, 1)->name, "foo_bar");
	assert_string_equal(family_of(f, 2)->name, "foo:x");
	assert_string_equal(family_of(f, 3)->name, "foo7");
	assert_string_equal(family_of(f, 4)->name, "foo");
	assert_true(sample(f, 5)->value == 6);
	expect_error(f, "foo 1\nfoo-bar 2\n", 2, "invalid character '-' in metric name \"foo\"");
	expect_error(f, "foo 1\nfoo\n", 2, "missing value");
}

/* Non-ASCII bytes anywhere in a value, before or after an escape, are
 * checked for UTF-8. */
static void test_label_value_utf8_everywhere(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "m{a=\"\xc3\xa9\\\\\xe2\x82\xac\",b=\"x\xf0\x9f\x98\x80\"} 1\n"), 0);
	assert_string_equal(label_value(f, 0, "a"), "\xc3\xa9\\\xe2\x82\xac");
	expect_error(f, "m{a=\"ok\\\\\xc3\x28\"} 1\n", 1, "not UTF-8");
	expect_error(f, "m{a=\"\xc3\xa9ok\x80\"} 1\n", 1, "not UTF-8");
	expect_error(f, "m{a=\"\xff\"} 1\n", 1, "not UTF-8");
	expect_error(f, "m{a=\"ab\xc3\"} 1\n", 1, "not UTF-8");
	expect_error(f, "m{a=\"ab\xc3\xa9\n", 1, "unterminated");
}

/* Whether text_parse_decimal, where it reads all of s, gives other bits
 * than want; it must refuse what it cannot read exactly. */
static bool decimal_disagrees(const char *s, double want)
{
	const char *end = s + strlen(s), *stop;
	double got;

	stop = text_parse_decimal(s, end, &got);
	return stop == end && memcmp(&got, &want, sizeof(got)) != 0;
}

/* The fast decimal path gives strtod's bits exactly, and leaves to strtod
 * what it cannot do exactly (too many digits, powers of ten past 22). */
static void test_floats_as_strtod(void **state)
{
	static const char *const fixed[] = {
		"0", "-0", "+0", "0.0", "1", "-1", "0.1", "0.3", "1.5", "123456.789",
		"9007199254740992", "9007199254740993", "1e22", "1e23", "1e-22", "1e-23",
		"4.35", "2.2250738585072014e-308", "1.7976931348623157e308", "123e-5",
		"12345678901234567890", "0.000000000000000000001", "1.e5", ".5e-1", "5E+3",
		"00000000000000000001", "3.14159265358979", "1e0", "-7.25e+2"};
	char text[64];
	double got, want;

	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		want = strtod(fixed[i], NULL);
		assert_true(text_parse_float(fixed[i], &got));
		assert_memory_equal(&got, &want, sizeof(got));
		assert_false(decimal_disagrees(fixed[i], want));
	}
	srand(16);
	for (int i = 0; i < 200000; i++) {
		int digits = 1 + rand() % 17, point = rand() % (digits + 1), exp = rand() % 61 - 30;
		size_t n = 0;

		for (int d = 0; d < digits; d++) {
			if (d == point && d)
				text[n++] = '.';
			text[n++] = (char)('0' + rand() % 10);
		}
		snprintf(text + n, sizeof(text) - n, rand() % 2 ? "e%d" : "", exp);
		want = strtod(text, NULL);
		assert_true(text_parse_float(text, &got));
		if (memcmp(&got, &want, sizeof(got)) != 0)
			fail_msg("%s: %.17g, strtod %.17g", text, got, want);
		if (decimal_disagrees(text, want))
			fail_msg("%s: text_parse_decimal is not strtod", text);
	}
}

static void test_whitespace(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "\n   \n\t\n"
				  "  #  HELP   m   Spaced help.\n"
				  "#TYPE m GAUGE  \n"
				  "  m  { a = \"1\" ,\tb=\"2\", }   3   1000  \n"
				  "m{c=\"x\",}\t4\n"
				  "m{} 5\n"
				  "m\t6\n"
				  "\n"),
			 0);
	assert_int_equal(f->p.n_samples, 4);
	assert_string_equal(family_of(f, 0)->help, "Spaced help.");
	assert_int_equal(family_of(f, 0)->type, METRIC_GAUGE);
	assert_string_equal(sample(f, 0)->name, "m");
	assert_int_equal(sample(f, 0)->n_labels, 2);
	assert_string_equal(label_value(f, 0, "a"), "1");
	assert_string_equal(label_value(f, 0, "b"), "2");
	assert_true(sample(f, 0)->value == 3.0);
	assert_int_equal(sample(f, 0)->ts_ms, 1000);
	assert_int_equal(sample(f, 0)->line, 6);
	assert_string_equal(label_value(f, 1, "c"), "x");
	assert_int_equal(sample(f, 2)->n_labels, 0);
	assert_true(sample(f, 3)->value == 6.0);
	/* Only blanks on a last line without a newline: nothing to refuse. */
	assert_int_equal(parse(f, "m 1\n   "), 0);
}

static void test_comments(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "#\n# just a comment\n#HELPFUL not a keyword\n# HELP\n"
				  "# TYPE\n# HELP lonely\n# TYPE lonely\n"
				  "# help lower case is a comment\nm 1\n"),
			 0);
	assert_int_equal(f->p.n_samples, 1);
	assert_null(family_of(f, 0)->help);
}

static void test_histogram_and_summary_families(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "# HELP lat_seconds Latency.\n"
				  "# TYPE lat_seconds histogram\n"
				  "lat_seconds_bucket{le=\"0.1\"} 1\n"
				  "lat_seconds_bucket{le=\"+Inf\"} 3\n"
				  "lat_seconds_sum 0.7\n"
				  "lat_seconds_count 3\n"
				  "# TYPE rpc summary\n"
				  "rpc{quantile=\"0.5\"} 0.2\n"
				  "rpc_sum 9\n"
				  "rpc_count 40\n"
				  "# TYPE plain gauge\n"
				  "plain_sum 1\n"
				  "rpc_bucket 2\n"),
			 0);
	assert_int_equal(f->p.n_samples, 9);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(family_of(f, i)->name, "lat_seconds");
		assert_int_equal(family_of(f, i)->type, METRIC_HISTOGRAM);
		assert_string_equal(family_of(f, i)->help, "Latency.");
	}
	assert_string_equal(sample(f, 0)->name, "lat_seconds_bucket");
	assert_string_equal(label_value(f, 1, "le"), "+Inf");
	assert_string_equal(sample(f, 2)->name, "lat_seconds_sum");
	assert_string_equal(sample(f, 3)->name, "lat_seconds_count");
	for (size_t i = 4; i < 7; i++) {
		assert_string_equal(family_of(f, i)->name, "rpc");
		assert_int_equal(family_of(f, i)->type, METRIC_SUMMARY);
	}
	assert_string_equal(sample(f, 6)->name, "rpc_count");
	/* _sum of a gauge, _bucket of a summary: families of their own. */
	assert_string_equal(family_of(f, 7)->name, "plain_sum");
	assert_int_equal(family_of(f, 7)->type, METRIC_UNTYPED);
	assert_string_equal(family_of(f, 8)->name, "rpc_bucket");
	expect_error(f, "# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", 2,
		     "expected float as value for 'le' label, got \"x\"");
	expect_error(f, "# TYPE s summary\ns{quantile=\"half\"} 1\n", 2,
		     "expected float as value for 'quantile' label");
}

static void test_type_errors(void **state)
{
	struct fixture *f = *state;

	expect_error(f, "# TYPE m gauge\n# TYPE m counter\n", 2, "second TYPE line");
	expect_error(f, "m 1\n# TYPE m gauge\n", 2, "TYPE reported after samples");
	expect_error(f, "# TYPE m gauges\n", 1, "unknown metric type \"gauges\"");
	expect_error(f, "# TYPE 1m gauge\n", 1, "invalid metric name in comment");
	expect_error(f, "# HELP m-x help\n", 1, "invalid metric name in comment");
}

static void test_malformed_lines(void **state)
{
	struct fixture *f = *state;

	/* Unterminated label value: the newline ends it. */
	expect_error(f, "# TYPE m gauge\nm{a=\"1\"} 1\nm{a=\"2} 2\nm 3\n", 3,
		     "contains unescaped new-line");
	expect_error(f, "ok 1\nm{a=\"2\\\"} 2\n", 2, "unescaped new-line");
	expect_error(f, "ok 1\nok2 2\nm{a=\"1\"}\n", 3, "missing value");
	expect_error(f, "m\n", 1, "missing value");
	expect_error(f, "ok 1\n1m 2\n", 2, "invalid metric name");
	expect_error(f, "ok 1\nm-x 2\n", 2, "invalid character '-' in metric name \"m\"");
	expect_error(f, "m.x 2\n", 1, "invalid character '.'");
	expect_error(f, "{a=\"b\"} 2\n", 1, "invalid metric name");
	expect_error(f, "ok 1\n\nm{1a=\"b\"} 2\n", 3, "invalid label name for metric \"m\"");
	expect_error(f, "m{a-b=\"c\"} 2\n", 1, "expected '=' after label name \"a\"");
	expect_error(f, "m{,} 2\n", 1, "invalid label name");
	expect_error(f, "m{a=\"1\",,} 2\n", 1, "invalid label name");
	expect_error(f, "m{a=b} 2\n", 1, "expected '\"' at start of label value");
	expect_error(f, "m{a=\"1\" b=\"2\"} 2\n", 1, "expected ',' or '}'");
	expect_error(f, "m{a=\"1\"\n", 1, "expected ',' or '}'");
	expect_error(f, "ok 1\nm 1 1700000000000 garbage\n", 2,
		     "spurious string after timestamp: \"garbage\"");
	expect_error(f, "m 1 2 3\n", 1, "spurious string after timestamp");
	expect_error(f, "ok 1\nm{a=\"1\",b=\"2\",a=\"3\"} 1\n", 2,
		     "duplicate label name \"a\" for metric \"m\"");
	expect_error(f, "m{__name__=\"x\"} 1\n", 1, "label name \"__name__\" is reserved");
	/* A file cut short mid-line by a non-atomic writer. */
	expect_error(f, "ok 1\nm 12", 2, "the last line has no newline");
	expect_error(f, "ok 1\n# HELP m text", 2, "the last line has no newline");
	/* A NUL would end a C string early. */
	assert_int_equal(textparse_parse(&f->p, (char[]){'o', 'k', ' ', '1', '\n', 'm', '\0', ' ',
							  '1', '\n'},
					 10),
			 -1);
	assert_int_equal(f->p.error.line, 2);
	assert_string_equal(f->p.error.reason, "NUL byte in input");
}

static void test_empty(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, ""), 0);
	assert_int_equal(f->p.n_samples, 0);
	assert_int_equal(f->p.n_families, 0);
	assert_int_equal(parse(f, "\n\n# only comments\n# HELP m help without samples\n"), 0);
	assert_int_equal(f->p.n_samples, 0);
}

/* Enough families to grow the name index several times, then a smaller
 * text with the same parser: nothing from the first parse leaks through. */
static void test_many_families_and_reuse(void **state)
{
	struct fixture *f = *state;
	size_t cap = 5000 * 48, len = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	for (int i = 0; i < 5000; i++)
		len += (size_t)snprintf(text + len, cap - len, "# TYPE m%d gauge\nm%d{i=\"%d\"} %d\n",
					i, i, i, i);
	free(f->text);
	f->text = text;
	assert_int_equal(textparse_parse(&f->p, text, len), 0);
	assert_int_equal(f->p.n_samples, 5000);
	assert_int_equal(f->p.n_families, 5000);
	assert_string_equal(family_of(f, 4321)->name, "m4321");
	assert_int_equal(family_of(f, 4321)->type, METRIC_GAUGE);
	assert_string_equal(label_value(f, 4321, "i"), "4321");
	assert_true(sample(f, 4999)->value == 4999.0);

	assert_int_equal(parse(f, "m4321 1\n"), 0);
	assert_int_equal(f->p.n_families, 1);
	assert_int_equal(family_of(f, 0)->type, METRIC_UNTYPED);
}

/* "wide{l0="v",l1="v",...} 1\n" with n labels; when dup is set, one more
 * label named l<dup> ends the set. */
static size_t wide_line(struct fixture *f, size_t n, const size_t *dup)
{
	size_t cap = 32 + (n + 1) * 16, len = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	len += (size_t)snprintf(text, cap, "wide{");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "l%zu=\"v\",", i);
	if (dup)
		len += (size_t)snprintf(text + len, cap - len, "l%zu=\"again\",", *dup);
	len += (size_t)snprintf(text + len, cap - len, "} 1\n");
	free(f->text);
	f->text = text;
	return len;
}

/* One line may carry tens of thousands of labels. Telling whether one
 * repeats must be linear in their number: comparing each with every one
 * before it took 8 s a round for 60,000 labels. */
static void test_many_labels_duplicates(void **state)
{
	struct fixture *f = *state;
	size_t len, dup = 2500;

	len = wide_line(f, 60000, NULL);
	assert_int_equal(textparse_parse(&f->p, f->text, len), 0);
	assert_int_equal(sample(f, 0)->n_labels, 60000);
	assert_string_equal(label_value(f, 0, "l59999"), "v");

	len = wide_line(f, 5000, &dup);
	assert_int_equal(textparse_parse(&f->p, f->text, len), -1);
	assert_int_equal(f->p.error.line, 1);
	assert_non_null(strstr(f->p.error.reason, "duplicate label name \"l2500\" for metric \"wide\""));

	/* The set of names is per sample: the same names on the next line
	 * are no duplicates, a repeat within a short line still is. */
	assert_int_equal(parse(f, "a{x=\"1\",y=\"2\"} 1\nb{x=\"1\",y=\"2\"} 1\n"), 0);
	expect_error(f, "a{x=\"1\"} 1\nb{x=\"1\",y=\"2\",x=\"3\"} 1\n", 2,
		     "duplicate label name \"x\"");
}

/* max_labels_per_series: a line past it fails at once, whatever its length. */
static void test_label_limit(void **state)
{
	struct fixture *f = *state;
	size_t len;

	f->p.limits.max_labels = 64;
	len = wide_line(f, 64, NULL);
	assert_int_equal(textparse_parse(&f->p, f->text, len), 0);
	assert_int_equal(sample(f, 0)->n_labels, 64);
	len = wide_line(f, 65, NULL);
	assert_int_equal(textparse_parse(&f->p, f->text, len), -1);
	assert_non_null(strstr(f->p.error.reason, "more than 64 labels for metric \"wide\""));
	len = wide_line(f, 60000, NULL);
	assert_int_equal(textparse_parse(&f->p, f->text, len), -1);
	assert_int_equal(f->p.error.line, 1);
	assert_non_null(strstr(f->p.error.reason, "(max_labels_per_series)"));
	/* Labels of earlier lines do not count against a later one. */
	f->p.limits.max_labels = 2;
	assert_int_equal(parse(f, "a{x=\"1\",y=\"2\"} 1\nb{x=\"1\",y=\"2\"} 1\n"), 0);
	expect_error(f, "a{x=\"1\"} 1\nb{x=\"1\",y=\"2\",z=\"3\"} 1\n", 2,
		     "more than 2 labels");
}

/* max_series_per_file: sample lines are counted, comments are not. */
static void test_sample_limit(void **state)
{
	struct fixture *f = *state;

	f->p.limits.max_samples = 3;
	assert_int_equal(parse(f, "# HELP a x\n# TYPE a gauge\na 1\nb 2\nc{x=\"1\"} 3\n"), 0);
	assert_int_equal(f->p.n_samples, 3);
	expect_error(f, "a 1\nb 2\n# c\nc 3\nd 4\ne 5\n", 5, "more than 3 series (max_series_per_file)");
	f->p.limits.max_samples = 0;
	assert_int_equal(parse(f, "a 1\nb 2\nc 3\nd 4\ne 5\n"), 0);
	assert_int_equal(f->p.n_samples, 5);
}

/* A big text's arrays are freed on trim, a small one's kept; the limits
 * stay, and the parser works on after either. */
static void test_trim(void **state)
{
	struct fixture *f = *state;
	size_t len = wide_line(f, 20000, NULL);

	f->p.limits.max_samples = 10;
	assert_int_equal(textparse_parse(&f->p, f->text, len), 0);
	assert_true(textparse_trim(&f->p, 64 * 1024));
	assert_null(f->p.labels);
	assert_int_equal(f->p.cap_labels, 0);
	assert_int_equal(f->p.limits.max_samples, 10);
	assert_int_equal(parse(f, "a{x=\"1\"} 1\n"), 0);
	assert_false(textparse_trim(&f->p, 64 * 1024));
	assert_non_null(f->p.labels);
	assert_int_equal(parse(f, "a{x=\"1\",y=\"2\"} 1\n"), 0);
	assert_string_equal(label_value(f, 0, "y"), "2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_help_type_and_samples, setup, teardown),
		cmocka_unit_test_setup_teardown(test_help_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_label_value_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timestamps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whitespace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_comments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_histogram_and_summary_families, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_families_and_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_labels_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_label_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sample_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
		cmocka_unit_test(test_floats_as_strtod),
		cmocka_unit_test_setup_teardown(test_family_of_repeated_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_that_extends_the_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_label_value_utf8_everywhere, setup, teardown),
	};

	return cmocka_run_group_tests_name("textparse", tests, NULL, NULL);
}
