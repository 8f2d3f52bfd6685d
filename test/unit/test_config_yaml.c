/* SPDX-License-Identifier: MIT */
/* config: YAML itself, as libyaml reads it (its words, its line:col),
 * anchors and aliases (what works, what is bounded), and duplicate keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_harness.h"

/* ---- anchors and aliases: what works, what is bounded ---------------- */

/* Anchors used the way people use them: a block shared by a few
 * endpoints, nested anchors, an anchor on a scalar. */
static void test_anchors_reused(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("global:\n"
		"  external_labels: {a: &v shared, b: *v, c: *v}\n"
		"remote_write:\n"
		"  - &ep\n"
		"    url: http://a\n"
		"    headers: &h {X-Scope-OrgID: team-a, X-Other: &o x}\n"
		"    queue_config: &q {capacity: 5}\n"
		"  - {url: http://b, headers: *h, queue_config: *q}\n"
		"  - {url: http://c, headers: *h, queue_config: *q}\n"
		"  - {url: http://d, headers: {X-Other: *o}, queue_config: *q}\n",
		&cfg);
	assert_int_equal(cfg.n_remote_write, 4);
	assert_string_equal(label(&cfg, "c"), "shared");
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(cfg.remote_write[i].queue.capacity, 5);
	assert_int_equal(cfg.remote_write[2].n_headers, 2);
	assert_string_equal(cfg.remote_write[2].headers[0].value, "team-a");
	assert_string_equal(cfg.remote_write[3].headers[0].value, "x");
	config_free(&cfg);
}

static char *text_printf(char *buf, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static char *text_printf(char *buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *len, 64, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && n < 64);
	*len += (size_t)n;
	return buf;
}

static void expect_error(const char *yaml, int line, int col, const char *msg)
{
	struct config cfg;
	struct config_error err;
	char prefix[64];

	assert_int_equal(config_load_string("t.yml", yaml, strlen(yaml), &schemas, &cfg, &err), -1);
	snprintf(prefix, sizeof(prefix), "t.yml:%d:%d: ", line, col);
	if (strncmp(err.text, prefix, strlen(prefix)) || !strstr(err.text, msg))
		fail_msg("want %s...%s\n  got  %s", prefix, msg, err.text);
	assert_memory_equal(&cfg, &zero_config, sizeof(cfg));
}

/* The file: one mapping of 2,000 headers, an endpoint holding it,
 * and 998 aliases of that endpoint (40 KB), which walked as 1,000
 * endpoints of 2,000 headers. Refused at the alias that passes 100,000
 * nodes: each endpoint is 4,005 nodes, the first two and the top 8,013,
 * so it is the 23rd alias, on line 2,004 + 23. */
static void test_alias_bomb(void **state)
{
	size_t cap = 64 * 1024, len = 0;
	char *y = malloc(cap);

	(void)state;
	assert_non_null(y);
	text_printf(y, &len, "remote_write:\n  - url: http://a\n    headers: &h\n");
	for (int i = 0; i < 2000; i++)
		text_printf(y, &len, "      X-H%d: v\n", i);
	text_printf(y, &len, "  - &e {url: http://b, headers: *h}\n");
	for (int i = 0; i < 998; i++)
		text_printf(y, &len, "  - *e\n");
	expect_error(y, 2027, 5, "alias *e expands the document past 100000 YAML nodes "
		     "(limit 100000; an alias counts every node it repeats)");
	free(y);
}

static void test_alias_count_limit(void **state)
{
	size_t cap = 32 * 1024, len = 0;
	char *y = malloc(cap);

	(void)state;
	assert_non_null(y);
	text_printf(y, &len, "global:\n  external_labels:\n    a: &v x\n");
	for (int i = 0; i < 1000; i++)
		text_printf(y, &len, "    l%d: *v\n", i);
	{
		struct config cfg;
		load_ok(y, &cfg); /* 1,000 aliases: the limit itself loads */
		assert_int_equal(cfg.global.n_external_labels, 1001);
		config_free(&cfg);
	}
	text_printf(y, &len, "    l1000: *v\n");
	expect_error(y, 1004, 12, "too many YAML aliases: alias *v is number 1001 (limit 1000)");
	free(y);
}

/* No aliases at all, only very many nodes: the same bound. */
static void test_node_limit_without_aliases(void **state)
{
	size_t cap = 1024 * 1024, len = 0;
	char *y = malloc(cap);

	(void)state;
	assert_non_null(y);
	text_printf(y, &len, "remote_write:\n  - url: http://a\n    headers:\n");
	for (int i = 0; i < 50000; i++)
		text_printf(y, &len, "      X-H%d: v\n", i);
	/* 8 nodes before the headers, 2 per header: the key of the 49,997th */
	expect_error(y, 50000, 7, "the document has more than 100000 YAML nodes (limit 100000)");
	free(y);
}

/* 100,000 nested flow sequences (200 KB) stop at the 65th level, at
 * once: libyaml alone scans them for half a minute. 64 levels are left to
 * the loader (here: "global" is not a sequence). */
static void test_nesting_depth_limit(void **state)
{
	size_t n = 100000, len = 0;
	char *y = malloc(2 * n + 16);
	struct config_error err;
	struct config cfg;

	(void)state;
	assert_non_null(y);
	len = (size_t)sprintf(y, "global: ");
	memset(y + len, '[', n);
	memset(y + len + n, ']', n);
	y[len + 2 * n] = '\0';
	expect_error(y, 1, 72, "YAML nested deeper than 64 levels");
	memset(y + len + 63, ']', 63);
	y[len + 126] = '\0';
	assert_int_equal(config_load_string("test.yml", y, strlen(y), &schemas, &cfg, &err), -1);
	assert_null(strstr(err.text, "nested"));
	free(y);
}

static void test_alias_cycles(void **state)
{
	(void)state;
	expect_error("remote_write: &a\n  - *a\n", 2, 5,
		     "alias *a is inside the node it refers to (a cycle)");
	expect_error("global: &g\n  external_labels: *g\n", 2, 20,
		     "alias *g is inside the node it refers to (a cycle)");
	expect_error("remote_write:\n  - &e {url: http://a, queue_config: [*e]}\n", 2, 39,
		     "alias *e is inside the node it refers to (a cycle)");
}

/* Duplicates found through an index of the mapping, not by comparing each
 * key with every earlier one: the same answers, first copy named. */
static void test_duplicate_keys_in_large_mappings(void **state)
{
	size_t cap = 128 * 1024, len = 0;
	char *y = malloc(cap);
	struct config cfg;

	(void)state;
	assert_non_null(y);
	text_printf(y, &len, "remote_write:\n  - url: http://a\n    headers:\n");
	for (int i = 0; i < 3000; i++)
		text_printf(y, &len, "      X-H%d: v\n", i);
	load_ok(y, &cfg);
	assert_int_equal(cfg.remote_write[0].n_headers, 3000);
	config_free(&cfg);
	text_printf(y, &len, "      x-h17: again\n      X-H17: and again\n");
	expect_error(y, 3004, 7, "duplicate key \"x-h17\" (first set at line 21)");
	/* One mapping read as labels (case matters) and as headers (it does not). */
	load_ok("global:\n  external_labels: &m {a: x, A: y}\n", &cfg);
	config_free(&cfg);
	expect_error("global:\n  external_labels: &m {a: x, A: y}\n"
		     "remote_write:\n  - {url: http://a, headers: *m}\n", 2, 30,
		     "duplicate key \"A\" (first set at line 2)");
	/* Two endpoints sharing one header mapping, and each its own. */
	load_ok("remote_write:\n  - {url: http://a, headers: &h {X-A: a, X-B: b}}\n"
		"  - {url: http://b, headers: {X-A: c}}\n  - {url: http://c, headers: *h}\n",
		&cfg);
	assert_string_equal(cfg.remote_write[2].headers[1].value, "b");
	assert_string_equal(cfg.remote_write[1].headers[0].value, "c");
	config_free(&cfg);
	free(y);
}

/* ---- errors ---------------------------------------------------------- */

static const struct error_case error_cases[] = {
	/* duplicates, at the second key */
	{"duplicate top key", "global: {}\nhttp: {}\nglobal: {}\n", 3, 1,
	 "duplicate key \"global\" (first set at line 1)"},
	{"duplicate url", RW "    url: http://b\n", 3, 5, "duplicate key \"url\" (first set at line 2)"},
	{"duplicate collector", "collectors:\n  cpu: {}\n  cpu: false\n", 3, 3,
	 "duplicate key \"cpu\" (first set at line 2)"},
	{"duplicate option", "collectors:\n  fake: {count: 1, count: 2}\n", 2, 20,
	 "duplicate key \"count\""},
	{"duplicate label", "global:\n  external_labels: {a: 1, a: 2}\n", 2, 27, "duplicate key \"a\""},
	{"duplicate remote_write name",
	 "remote_write:\n  - {url: http://a, name: x}\n  - {url: http://b, name: y}\n"
	 "  - {url: http://c, name: x}\n",
	 4, 27, "duplicate remote_write name \"x\": names must be unique (also used by "
		"remote_write[0])"},

	/* YAML itself: libyaml's words, libyaml's mark */
	{"yaml bad indent", "global:\n    interval: 15s\n  procfs: /proc\n", 3, 3,
	 "YAML syntax error: did not find expected key (while parsing a block mapping at line 1, "
	 "column 1)"},
	{"yaml unclosed flow", "global: {interval: 15s\n", 2, 1, "YAML syntax error: did not find expected ',' or '}'"},
	{"yaml tab", "global:\n\tinterval: 15s\n", 2, 1,
	 "found character that cannot start any token"},
	{"yaml mapping in scalar", "global: a: b\n", 1, 10,
	 "YAML syntax error: mapping values are not allowed in this context"},
	{"yaml undefined alias", "global: *nope\n", 1, 9, "YAML syntax error: found undefined alias"},
	{"yaml unclosed quote", "http:\n  listen_address: \"abc\n", 3, 1,
	 "YAML syntax error: found unexpected end of stream"},
	{"yaml bad utf8", "global: {}\nhttp: \xff\n", 2, 7, "YAML encoding error: invalid leading UTF-8 octet"},
	{"yaml two documents", "global: {}\n---\nhttp: {}\n", 2, 1,
	 "a second YAML document starts here; the file must hold only one"},
};

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_anchors_reused),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_alias_count_limit),
		cmocka_unit_test(test_node_limit_without_aliases),
		cmocka_unit_test(test_nesting_depth_limit),
		cmocka_unit_test(test_alias_cycles),
		cmocka_unit_test(test_duplicate_keys_in_large_mappings),
	};

	return run_config_tests("config_yaml", fixed, sizeof(fixed) / sizeof(fixed[0]),
				error_cases, sizeof(error_cases) / sizeof(error_cases[0]));
}
