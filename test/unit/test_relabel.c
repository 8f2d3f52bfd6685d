/* SPDX-License-Identifier: MIT */
/* The relabeling engine against Prometheus' semantics: each row is an input
 * label set, a list of rules and the expected labels (or a drop), the
 * facts taken from Prometheus' own relabel tests and documentation, plus
 * the corners of Go's template expansion and regexp anchoring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/md5.h"
#include "series/relabel.h"

#define MAX_LABELS 8
#define MAX_RULES 4

struct rule_spec {
	enum relabel_action action;
	const char *source[4];   /* NULL-terminated */
	const char *separator;   /* NULL: ";" */
	const char *regex;       /* NULL: "(.*)" */
	int64_t modulus;
	const char *target;      /* NULL: "" */
	const char *replacement; /* NULL: "$1" */
};

struct relabel_case {
	const char *name;
	struct label in[MAX_LABELS];  /* ends at the first NULL name */
	struct rule_spec rules[MAX_RULES]; /* ends at the first rule with no
					    * action, source, regex or target */
	bool drop;
	struct label out[MAX_LABELS]; /* sorted by name */
};

#define RULE_SET(s) ((s)->action || (s)->source[0] || (s)->regex || (s)->target)

static size_t count_labels(const struct label *l)
{
	size_t n = 0;

	while (n < MAX_LABELS && l[n].name)
		n++;
	return n;
}

/* The config form of the specs: what config/relabel.c would produce. */
static size_t to_config(const struct rule_spec *specs, struct relabel_config *cfg,
			char *sources[][4])
{
	size_t n = 0;

	for (; n < MAX_RULES && RULE_SET(&specs[n]); n++) {
		const struct rule_spec *s = &specs[n];
		size_t k = 0;

		while (k < 4 && s->source[k]) {
			sources[n][k] = (char *)s->source[k];
			k++;
		}
		cfg[n] = (struct relabel_config){
			.action = s->action,
			.source_labels = sources[n],
			.n_source_labels = k,
			.separator = (char *)(s->separator ? s->separator : ";"),
			.regex = (char *)(s->regex ? s->regex : "(.*)"),
			.modulus = s->modulus,
			.target_label = (char *)(s->target ? s->target : ""),
			.replacement = (char *)(s->replacement ? s->replacement : "$1"),
		};
	}
	return n;
}

static void run_case(void **state)
{
	const struct relabel_case *c = *state;
	struct relabel_config cfg[MAX_RULES];
	char *sources[MAX_RULES][4];
	struct relabel_list list = {cfg, to_config(c->rules, cfg, sources)};
	char why[256];
	struct relabel_rules *r = relabel_compile(&list, why, sizeof(why));
	const struct label *out;
	size_t n_out, n_want = count_labels(c->out);
	int rc;

	if (!r)
		fail_msg("[%s] compile: %s", c->name, why);
	/* Twice: the second run reuses the scratch of the first. */
	for (int round = 0; round < 2; round++) {
		rc = relabel_apply(r, c->in, count_labels(c->in), &out, &n_out);
		if (c->drop) {
			if (rc != 0)
				fail_msg("[%s] kept, expected a drop", c->name);
			continue;
		}
		if (rc != 1)
			fail_msg("[%s] returned %d, expected kept", c->name, rc);
		for (size_t i = 0; i < n_out || i < n_want; i++) {
			const char *gn = i < n_out ? out[i].name : "(none)";
			const char *gv = i < n_out ? out[i].value : "";
			const char *wn = i < n_want ? c->out[i].name : "(none)";
			const char *wv = i < n_want ? c->out[i].value : "";

			if (strcmp(gn, wn) || strcmp(gv, wv))
				fail_msg("[%s] label %zu: got %s=\"%s\", want %s=\"%s\"", c->name, i,
					 gn, gv, wn, wv);
		}
	}
	relabel_free(r);
}

#define L(n, v) {n, v}
#define ABC {L("a", "foo"), L("b", "bar"), L("c", "baz")}
#define PORTS {L("__port1", "1234"), L("__port2", "5678"), L("__tmp_port", "1234")}

static const struct relabel_case cases[] = {
	/* ---- from Prometheus' relabel tests ---- */
	{"replace_braces", ABC,
	 {{RELABEL_REPLACE, {"a"}, NULL, "f(.*)", 0, "d", "ch${1}-ch${1}"}}, false,
	 {L("a", "foo"), L("b", "bar"), L("c", "baz"), L("d", "choo-choo")}},
	{"replace_chained", ABC,
	 {{RELABEL_REPLACE, {"a", "b"}, NULL, "f(.*);(.*)r", 0, "a", "b${1}${2}m"},
	  {RELABEL_REPLACE, {"c", "a"}, NULL, "(b).*b(.*)ba(.*)", 0, "d", "$1$2$2$3"}},
	 false, {L("a", "boobam"), L("b", "bar"), L("c", "baz"), L("d", "boooom")}},
	{"drop_before_replace", {L("a", "foo")},
	 {{RELABEL_DROP, {"a"}, NULL, ".*o.*", 0, NULL, NULL},
	  {RELABEL_REPLACE, {"a"}, NULL, "f(.*)", 0, "d", "ch$1-ch$1"}}, true, {{0}}},
	{"drop_match", {L("a", "foo"), L("b", "bar")},
	 {{RELABEL_DROP, {"a"}, NULL, ".*o.*", 0, NULL, NULL}}, true, {{0}}},
	{"replace_group_in_middle", {L("a", "abc")},
	 {{RELABEL_REPLACE, {"a"}, NULL, ".*(b).*", 0, "d", "$1"}}, false,
	 {L("a", "abc"), L("d", "b")}},
	{"drop_no_match", {L("a", "foo")},
	 {{RELABEL_DROP, {"a"}, NULL, "no-match", 0, NULL, NULL}}, false, {L("a", "foo")}},
	{"drop_anchored_alternation", {L("a", "foo")},
	 {{RELABEL_DROP, {"a"}, NULL, "f|o", 0, NULL, NULL}}, false, {L("a", "foo")}},
	{"keep_no_match", {L("a", "foo")},
	 {{RELABEL_KEEP, {"a"}, NULL, "no-match", 0, NULL, NULL}}, true, {{0}}},
	{"keep_match", {L("a", "foo")},
	 {{RELABEL_KEEP, {"a"}, NULL, "f.*", 0, NULL, NULL}}, false, {L("a", "foo")}},
	{"replace_no_match_no_change", {L("a", "boo")},
	 {{RELABEL_REPLACE, {"a"}, NULL, "f", 0, "b", "bar"}}, false, {L("a", "boo")}},
	{"hashmod", ABC, {{RELABEL_HASHMOD, {"c"}, NULL, NULL, 1000, "d", NULL}}, false,
	 {L("a", "foo"), L("b", "bar"), L("c", "baz"), L("d", "976")}},
	{"hashmod_newline", {L("a", "foo\nbar")},
	 {{RELABEL_HASHMOD, {"a"}, NULL, NULL, 1000, "b", NULL}}, false,
	 {L("a", "foo\nbar"), L("b", "734")}},
	{"labelmap", {L("a", "foo"), L("b1", "bar"), L("b2", "baz")},
	 {{RELABEL_LABELMAP, {NULL}, NULL, "(b.*)", 0, NULL, "bar_${1}"}}, false,
	 {L("a", "foo"), L("b1", "bar"), L("b2", "baz"), L("bar_b1", "bar"), L("bar_b2", "baz")}},
	{"labelmap_meta",
	 {L("a", "foo"), L("__meta_my_bar", "aaa"), L("__meta_my_baz", "bbb"),
	  L("__meta_other", "ccc")},
	 {{RELABEL_LABELMAP, {NULL}, NULL, "__meta_(my.*)", 0, NULL, "${1}"}}, false,
	 {L("__meta_my_bar", "aaa"), L("__meta_my_baz", "bbb"), L("__meta_other", "ccc"),
	  L("a", "foo"), L("my_bar", "aaa"), L("my_baz", "bbb")}},
	{"replace_target_template", {L("a", "some-name-value")},
	 {{RELABEL_REPLACE, {"a"}, NULL, "some-([^-]+)-([^,]+)", 0, "${1}", "${2}"}}, false,
	 {L("a", "some-name-value"), L("name", "value")}},
	{"replace_unknown_group_is_empty", {L("a", "some-name-value")},
	 {{RELABEL_REPLACE, {"a"}, NULL, "some-([^-]+)-([^,]+)", 0, "${1}", "${3}"}}, false,
	 {L("a", "some-name-value")}},
	{"replace_invalid_target_skipped", {L("a", "some-name-0")},
	 {{RELABEL_REPLACE, {"a"}, NULL, "some-([^-]+)-([^,]+)", 0, "${3}", "${1}"},
	  {RELABEL_REPLACE, {"a"}, NULL, "some-([^-]+)(-[^,]+)", 0, "${3}", "${1}"}}, false,
	 {L("a", "some-name-0")}},
	{"replace_sd_tags", {L("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar")},
	 {{RELABEL_REPLACE, {"__meta_sd_tags"}, NULL, "(?:.+,|^)path:(/[^,]+).*", 0,
	   "__metrics_path__", "${1}"},
	  {RELABEL_REPLACE, {"__meta_sd_tags"}, NULL, "(?:.+,|^)job:([^,]+).*", 0, "job", "${1}"},
	  {RELABEL_REPLACE, {"__meta_sd_tags"}, NULL, "(?:.+,|^)label:([^=]+)=([^,]+).*", 0,
	   "${1}", "${2}"}},
	 false,
	 {L("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar"),
	  L("__metrics_path__", "/secret"), L("foo", "bar"), L("job", "some-job")}},
	{"labeldrop_then_replace_then_keep",
	 {L("__meta_kubernetes_pod_container_port_name", "foo"),
	  L("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091")},
	 {{RELABEL_LABELDROP, {NULL}, NULL, "^__meta_kubernetes_pod_container_port_name$", 0, NULL,
	   NULL},
	  {RELABEL_REPLACE, {"__meta_kubernetes_pod_annotation_XXX_metrics_port"}, NULL, "(.+)", 0,
	   "__meta_kubernetes_pod_container_port_name", "metrics"},
	  {RELABEL_KEEP, {"__meta_kubernetes_pod_container_port_name"}, NULL, "^metrics$", 0, NULL,
	   NULL}},
	 false,
	 {L("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
	  L("__meta_kubernetes_pod_container_port_name", "metrics")}},
	{"labelkeep", {L("a", "foo"), L("b1", "bar"), L("b2", "baz")},
	 {{RELABEL_LABELKEEP, {NULL}, NULL, "(b.*)", 0, NULL, NULL}}, false,
	 {L("b1", "bar"), L("b2", "baz")}},
	{"labeldrop", {L("a", "foo"), L("b1", "bar"), L("b2", "baz")},
	 {{RELABEL_LABELDROP, {NULL}, NULL, "(b.*)", 0, NULL, NULL}}, false, {L("a", "foo")}},
	{"upper_and_lower", {L("foo", "bAr123Foo")},
	 {{RELABEL_UPPERCASE, {"foo"}, NULL, NULL, 0, "foo_uppercase", NULL},
	  {RELABEL_LOWERCASE, {"foo"}, NULL, NULL, 0, "foo_lowercase", NULL}}, false,
	 {L("foo", "bAr123Foo"), L("foo_lowercase", "bar123foo"), L("foo_uppercase", "BAR123FOO")}},
	/* Go's strings.ToLower/ToUpper map every Unicode letter (simple case
	 * mappings: U+0130, two bytes, lowers to "i", one; ß has no simple
	 * uppercase); a byte that is not UTF-8 is kept. */
	{"upper_and_lower_unicode", {L("foo", "Ünïcode ÉTÉ ß İ \xff")},
	 {{RELABEL_UPPERCASE, {"foo"}, NULL, NULL, 0, "foo_uppercase", NULL},
	  {RELABEL_LOWERCASE, {"foo"}, NULL, NULL, 0, "foo_lowercase", NULL}}, false,
	 {L("foo", "Ünïcode ÉTÉ ß İ \xff"), L("foo_lowercase", "ünïcode été ß i \xff"),
	  L("foo_uppercase", "ÜNÏCODE ÉTÉ ß İ \xff")}},
	{"keepequal_equal", PORTS,
	 {{RELABEL_KEEPEQUAL, {"__tmp_port"}, NULL, NULL, 0, "__port1", NULL}}, false, PORTS},
	{"dropequal_equal", PORTS,
	 {{RELABEL_DROPEQUAL, {"__tmp_port"}, NULL, NULL, 0, "__port1", NULL}}, true, {{0}}},
	{"dropequal_differs", PORTS,
	 {{RELABEL_DROPEQUAL, {"__tmp_port"}, NULL, NULL, 0, "__port2", NULL}}, false, PORTS},
	{"keepequal_differs", PORTS,
	 {{RELABEL_KEEPEQUAL, {"__tmp_port"}, NULL, NULL, 0, "__port2", NULL}}, true, {{0}}},
	/* ---- Go's regexp and template corners ---- */
	{"replacement_empty_deletes_target", ABC,
	 {{RELABEL_REPLACE, {NULL}, NULL, NULL, 0, "b", ""}}, false,
	 {L("a", "foo"), L("c", "baz")}},
	{"default_rule_copies_empty_source", ABC,
	 {{RELABEL_REPLACE, {"missing"}, NULL, NULL, 0, "c", NULL}}, false,
	 {L("a", "foo"), L("b", "bar")}},
	{"dollar_name_is_greedy", ABC, /* $1x is ${1x}, an unknown group */
	 {{RELABEL_REPLACE, {"a"}, NULL, "(f)oo", 0, "d", "$1x"}}, false,
	 {L("a", "foo"), L("b", "bar"), L("c", "baz")}},
	{"dollar_dollar_and_malformed", ABC,
	 {{RELABEL_REPLACE, {"a"}, NULL, "(f)oo", 0, "d", "$$1-${1}-$-${1"}}, false,
	 {L("a", "foo"), L("b", "bar"), L("c", "baz"), L("d", "$1-f-$-${1")}},
	{"named_group", ABC,
	 {{RELABEL_REPLACE, {"a", "b"}, NULL, "(?P<first>[a-z]+);(?P<second>[a-z]+)", 0, "d",
	   "${second}_$first"}},
	 false, {L("a", "foo"), L("b", "bar"), L("c", "baz"), L("d", "bar_foo")}},
	{"leading_zero_group_is_a_name", ABC,
	 {{RELABEL_REPLACE, {"a"}, NULL, "(f)oo", 0, "d", "x${01}x"}}, false,
	 {L("a", "foo"), L("b", "bar"), L("c", "baz"), L("d", "xx")}},
	{"unset_group_is_empty", ABC,
	 {{RELABEL_REPLACE, {"a"}, NULL, "(x)?(foo)", 0, "d", "[$1]$2"}}, false,
	 {L("a", "foo"), L("b", "bar"), L("c", "baz"), L("d", "[]foo")}},
	{"dollar_is_end_of_text", {L("a", "foo\n")}, /* PCRE's $ would match before \n */
	 {{RELABEL_DROP, {"a"}, NULL, "foo", 0, NULL, NULL}}, false, {L("a", "foo\n")}},
	{"dot_does_not_match_newline", {L("a", "foo\nbar")},
	 {{RELABEL_KEEP, {"a"}, NULL, "foo.bar", 0, NULL, NULL}}, true, {{0}}},
	{"dot_matches_carriage_return", {L("a", "foo\rbar")},
	 {{RELABEL_KEEP, {"a"}, NULL, "foo.bar", 0, NULL, NULL}}, false, {L("a", "foo\rbar")}},
	{"multiline_dollar_before_newline", {L("a", "x\ny")},
	 {{RELABEL_KEEP, {"a"}, NULL, "(?m)x$\ny", 0, NULL, NULL}}, false, {L("a", "x\ny")}},
	{"separator_and_missing_source", ABC,
	 {{RELABEL_REPLACE, {"a", "nope", "b"}, "-", NULL, 0, "d", NULL}}, false,
	 {L("a", "foo"), L("b", "bar"), L("c", "baz"), L("d", "foo--bar")}},
	{"empty_separator", ABC,
	 {{RELABEL_REPLACE, {"a", "b"}, "", NULL, 0, "d", NULL}}, false,
	 {L("a", "foo"), L("b", "bar"), L("c", "baz"), L("d", "foobar")}},
	{"lowercase_empty_deletes", ABC,
	 {{RELABEL_LOWERCASE, {"nope"}, NULL, NULL, 0, "a", NULL}}, false,
	 {L("b", "bar"), L("c", "baz")}},
	{"labelmap_then_labeldrop_renames", {L("a", "1"), L("b", "2")},
	 {{RELABEL_LABELMAP, {NULL}, NULL, "(a|b)", 0, NULL, "x_$1"},
	  {RELABEL_LABELDROP, {NULL}, NULL, "a|b", 0, NULL, NULL}},
	 false, {L("x_a", "1"), L("x_b", "2")}},
	/* labelmap walks the labels as they were before the rule, input labels
	 * by name first: a sets b=1, then b (still 2 in the walk) sets b=2.
	 * The input is given out of order on purpose. */
	{"labelmap_walks_snapshot_by_name", {L("b", "2"), L("a", "1")},
	 {{RELABEL_LABELMAP, {NULL}, NULL, "(a)|b(.*)", 0, NULL, "b$2"}}, false,
	 {L("a", "1"), L("b", "2")}},
	/* ...and labels set by earlier rules after the untouched ones: c maps
	 * to z first, then the rewritten a, whose value wins. */
	{"labelmap_walks_set_labels_last", {L("a", "1"), L("c", "3")},
	 {{RELABEL_REPLACE, {NULL}, NULL, NULL, 0, "a", "9"},
	  {RELABEL_LABELMAP, {NULL}, NULL, "(a)|c(.*)", 0, NULL, "z$2"}}, false,
	 {L("a", "9"), L("c", "3"), L("z", "9")}},
	{"keep_joined_values", ABC,
	 {{RELABEL_KEEP, {"a", "b"}, NULL, "foo;bar", 0, NULL, NULL}}, false, ABC},
	{"hashmod_empty_source", ABC, /* md5("") low 8 bytes mod 7 */
	 {{RELABEL_HASHMOD, {"nope"}, NULL, NULL, 7, "d", NULL}}, false,
	 {L("a", "foo"), L("b", "bar"), L("c", "baz"), L("d", "1")}},
	{"case_insensitive_flag", {L("a", "FOO")},
	 {{RELABEL_KEEP, {"a"}, NULL, "(?i)foo", 0, NULL, NULL}}, false, {L("a", "FOO")}},
};

static void test_md5_vectors(void **state)
{
	static const struct {
		const char *in, *hex;
	} v[] = { /* RFC 1321, appendix A.5 */
		{"", "d41d8cd98f00b204e9800998ecf8427e"},
		{"abc", "900150983cd24fb0d6963f7d28e17f72"},
		{"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
		{"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		 "57edf4a22be3c955ac49da2e2107b67a"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t d[16];
		char hex[33];

		md5(v[i].in, strlen(v[i].in), d);
		for (int j = 0; j < 16; j++)
			snprintf(hex + 2 * j, 3, "%02x", d[j]);
		assert_string_equal(hex, v[i].hex);
	}
}

static void test_compile_error(void **state)
{
	struct relabel_config rc = {.action = RELABEL_DROP, .regex = "(unclosed"};
	struct relabel_list list = {&rc, 1};
	char why[256];

	(void)state;
	assert_null(relabel_compile(&list, why, sizeof(why)));
	assert_non_null(strstr(why, "invalid regex"));
}

static void test_empty_rule_set(void **state)
{
	struct relabel_list list = {NULL, 0};
	char why[64];
	struct relabel_rules *r = relabel_compile(&list, why, sizeof(why));
	const struct label in[] = {{"b", "2"}, {"a", "1"}}, *out;
	size_t n;

	(void)state;
	assert_non_null(r);
	assert_int_equal(relabel_apply(r, in, 2, &out, &n), 1);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].name, "a"); /* sorted */
	assert_string_equal(out[1].value, "2");
	relabel_free(r);
}

int main(void)
{
	size_t n_cases = sizeof(cases) / sizeof(cases[0]);
	struct CMUnitTest *tests = calloc(n_cases + 3, sizeof(*tests));
	size_t n = 0;
	int rc;

	if (!tests)
		return 1;
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_md5_vectors);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_compile_error);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_empty_rule_set);
	for (size_t i = 0; i < n_cases; i++)
		tests[n++] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL,
						 (void *)&cases[i]};
	rc = _cmocka_run_group_tests("relabel", tests, n, NULL, NULL);
	free(tests);
	return rc;
}
