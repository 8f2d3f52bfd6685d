/* SPDX-License-Identifier: MIT */
/* parse_duration_ms: Prometheus' syntax, edge by edge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/internal.h"

#define S 1000LL
#define M (60 * S)
#define H (60 * M)
#define D (24 * H)
#define W (7 * D)
#define Y (365 * D)

static const struct {
	const char *text;
	int64_t ms;
} good[] = {
	{"0", 0},
	{"0s", 0},
	{"0ms", 0},
	{"0y", 0},
	{"1ms", 1},
	{"30ms", 30},
	{"500ms", 500},
	{"1s", S},
	{"15s", 15 * S},
	{"90s", 90 * S},
	{"1m", M},
	{"1m30s", M + 30 * S},
	{"5m", 5 * M},
	{"1h", H},
	{"1h30m", H + 30 * M},
	{"1d", D},
	{"1w", W},
	{"1y", Y},
	{"1y2w3d4h5m6s7ms", Y + 2 * W + 3 * D + 4 * H + 5 * M + 6 * S + 7},
	{"2h0m", 2 * H},
	{"1s500ms", 1500},
	{"007s", 7 * S},    /* \d+ allows leading zeros */
	{"1000ms", 1000},   /* no carry rules: a unit need not be "full" */
	{"292471208y", 292471208LL * Y}, /* largest whole years in int64 ms */
	{"9223372036854775807ms", INT64_MAX},
};

static const char *const bad[] = {
	"",
	"s",
	"ms",
	"15",       /* a unit is required, except for a lone "0" */
	"00",
	"01",
	"-1s",
	"+1s",
	"1.5s",
	".5s",
	"1e3ms",
	"15 s",
	" 15s",
	"15s ",
	"1s 1m",
	"1s1m",     /* units must decrease */
	"1m1h",
	"1ms1s",
	"1s1s",     /* no repeats */
	"1m1m",
	"1h1ms1ms",
	"15S",      /* case matters */
	"1M",
	"1us",
	"1ns",
	"1sec",
	"1min",
	"1mss",
	"1x",
	"1s2",      /* trailing number without unit */
	"y",
	"1y1",
	"9223372036854775808ms", /* INT64_MAX + 1 */
	"292471209y",            /* overflows in the multiply */
	"292471208y1000w",       /* overflows in the sum */
	"99999999999999999999s", /* overflows while reading digits */
	"1\n",
	"\t1s",
};

static void test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t ms = -42;
		if (parse_duration_ms(good[i].text, &ms) != 0)
			fail_msg("\"%s\" rejected", good[i].text);
		if (ms != good[i].ms)
			fail_msg("\"%s\": got %lld, want %lld", good[i].text, (long long)ms,
				 (long long)good[i].ms);
	}
}

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = -42;
		if (parse_duration_ms(bad[i], &ms) != -1)
			fail_msg("\"%s\" accepted as %lld", bad[i], (long long)ms);
		/* Untouched on failure. */
		assert_int_equal(ms, -42);
	}
}

static void test_null(void **state)
{
	int64_t ms = 5;

	(void)state;
	assert_int_equal(parse_duration_ms(NULL, &ms), -1);
	assert_int_equal(ms, 5);
}

/* The form used in messages reads back to the same value. */
static void test_format_round_trip(void **state)
{
	static const int64_t values[] = {0, 1, 30, 999, 1000, 1500, 60000, 90000, 3600000,
					 D, W + D, Y, Y + W + D + H + M + S + 1, INT64_MAX};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		int64_t back = -1;
		cfg_format_duration_ms(values[i], buf, sizeof(buf));
		if (parse_duration_ms(buf, &back) != 0 || back != values[i])
			fail_msg("%lld -> \"%s\" -> %lld", (long long)values[i], buf, (long long)back);
	}
	assert_string_equal(cfg_format_duration_ms(0, buf, sizeof(buf)), "0s");
	assert_string_equal(cfg_format_duration_ms(30, buf, sizeof(buf)), "30ms");
	assert_string_equal(cfg_format_duration_ms(90000, buf, sizeof(buf)), "1m30s");
	assert_string_equal(cfg_format_duration_ms(14 * D, buf, sizeof(buf)), "2w");
}

/* parse_byte_size: as Prometheus reads a byte size (KB = KiB = 1024). */
static void test_byte_sizes(void **state)
{
	static const struct {
		const char *text;
		int64_t bytes;
	} ok[] = {
		{"0", 0}, {"65536", 65536}, {"1B", 1}, {"64KiB", 64 << 10}, {"64KB", 64 << 10},
		{"512MB", 512LL << 20}, {"1GiB", 1LL << 30}, {"1GB", 1LL << 30}, {"2TiB", 2LL << 40},
	};
	static const char *const refused[] = {
		"", "GiB", "1.5GiB", "1 GiB", "-1", "1gib", "1Gi", "1GiB ", "+1", "1KiBB",
		"9999999999999TiB", "99999999999999999999",
	};
	int64_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (parse_byte_size(ok[i].text, &n) != 0 || n != ok[i].bytes)
			fail_msg("\"%s\" should read as %lld", ok[i].text, (long long)ok[i].bytes);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (parse_byte_size(refused[i], &n) != -1)
			fail_msg("\"%s\" should be refused", bad[i]);
	assert_int_equal(parse_byte_size(NULL, &n), -1);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_byte_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
