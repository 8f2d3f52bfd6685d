/* SPDX-License-Identifier: MIT */
/* config: global.relabel_configs and remote_write[].write_relabel_configs,
 * their defaults, Prometheus' per-action checks and the patterns RE2 would
 * refuse, each error case its own cmocka test with its exact line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_harness.h"

#define G "global:\n  relabel_configs:\n"
#define W RW "    write_relabel_configs:\n"

static void test_defaults(void **state)
{
	struct config cfg;
	const struct relabel_config *rc;

	(void)state;
	load_ok(G "    - {source_labels: [a], target_label: b}\n", &cfg);
	assert_int_equal(cfg.global.relabel_configs.n, 1);
	rc = &cfg.global.relabel_configs.rules[0];
	assert_int_equal(rc->action, RELABEL_REPLACE);
	assert_int_equal(rc->n_source_labels, 1);
	assert_string_equal(rc->source_labels[0], "a");
	assert_string_equal(rc->separator, ";");
	assert_string_equal(rc->regex, "(.*)");
	assert_int_equal(rc->modulus, 0);
	assert_string_equal(rc->target_label, "b");
	assert_string_equal(rc->replacement, "$1");
	config_free(&cfg);
}

static void test_every_key_and_action(void **state)
{
	static const char *const actions[] = {
		"replace", "keep", "drop", "keepequal", "dropequal", "hashmod", "labelmap",
		"labeldrop", "labelkeep", "lowercase", "uppercase"};
	struct config cfg;
	const struct relabel_config *rc;

	(void)state;
	load_ok(W "      - source_labels: [__name__, job]\n"
		  "        separator: \"\"\n"
		  "        regex: 'node_(.+)'\n"
		  "        target_label: '${1}_x'\n"
		  "        replacement: \"\"\n"
		  "        action: RePlAcE\n"
		  "      - {action: hashmod, source_labels: [instance], modulus: 8, target_label: s}\n"
		  "      - {action: keepequal, source_labels: [a], target_label: b}\n"
		  "      - {action: labelmap, regex: '__meta_(.+)', replacement: 'm_$1'}\n"
		  "      - {action: labeldrop, regex: 'tmp_.*'}\n"
		  "      - {action: Uppercase, source_labels: [a], separator: '-', target_label: B}\n",
		&cfg);
	assert_int_equal(cfg.remote_write[0].write_relabel_configs.n, 6);
	assert_int_equal(cfg.global.relabel_configs.n, 0);
	rc = cfg.remote_write[0].write_relabel_configs.rules;
	assert_int_equal(rc[0].action, RELABEL_REPLACE);
	assert_string_equal(rc[0].source_labels[1], "job");
	assert_string_equal(rc[0].separator, "");
	assert_string_equal(rc[0].regex, "node_(.+)");
	assert_string_equal(rc[0].target_label, "${1}_x");
	assert_string_equal(rc[0].replacement, "");
	assert_int_equal(rc[1].action, RELABEL_HASHMOD);
	assert_int_equal(rc[1].modulus, 8);
	assert_int_equal(rc[2].action, RELABEL_KEEPEQUAL);
	assert_int_equal(rc[3].action, RELABEL_LABELMAP);
	assert_int_equal(rc[4].action, RELABEL_LABELDROP);
	assert_int_equal(rc[5].action, RELABEL_UPPERCASE);
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		assert_string_equal(relabel_action_name((enum relabel_action)i), actions[i]);
	config_free(&cfg);
}

/* What RE2 accepts must load: flags, named groups, POSIX classes, lazy
 * repeats, \Q..\E, escaped punctuation. */
static void test_re2_patterns_accepted(void **state)
{
	static const char *const ok[] = {
		"(?i)foo", "(?P<x>a)b", "(?<y>a)", "(?s:.)", "[[:alpha:]]+", "a{2,5}?", "\\\\d+\\\\.\\\\w",
		"\\\\Q(?=x\\\\E", "[(?=]", "a|b*?c+?", "\\\\pL\\\\x{41}", "", "x{1000}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char yaml[256];
		struct config cfg;

		snprintf(yaml, sizeof(yaml), G "    - {action: keep, regex: \"%s\"}\n", ok[i]);
		load_ok(yaml, &cfg);
		config_free(&cfg);
	}
}

static void test_equality(void **state)
{
	struct config a, b, c;

	(void)state;
	load_ok(W "      - {action: drop, regex: x}\n", &a);
	load_ok(W "      - {action: drop, regex: x}\n", &b);
	load_ok(W "      - {action: drop, regex: y}\n", &c);
	assert_true(config_remote_write_equal(&a.remote_write[0], &b.remote_write[0]));
	assert_false(config_remote_write_equal(&a.remote_write[0], &c.remote_write[0]));
	assert_true(config_relabel_equal(&a.remote_write[0].write_relabel_configs,
					 &b.remote_write[0].write_relabel_configs));
	config_free(&a);
	config_free(&b);
	config_free(&c);
}

static const struct error_case error_cases[] = {
	/* the issue's four */
	{"unknown action", G "    - action: replce\n", 3, 15,
	 "unknown relabel action \"replce\" (did you mean \"replace\"?)"},
	{"unknown action far", G "    - action: rename\n", 3, 15,
	 "unknown relabel action \"rename\": expected one of replace"},
	{"invalid regex", G "    - {action: drop, regex: '(unclosed'}\n", 3, 29,
	 "\"regex\": invalid regular expression"},
	{"hashmod without modulus", G "    - {action: hashmod, source_labels: [a], target_label: b}\n",
	 3, 16, "relabel action hashmod requires a non-zero \"modulus\""},
	{"replace without target", G "    - source_labels: [a]\n      regex: (.*)\n", 3, 7,
	 "relabel action replace requires \"target_label\""},
	{"write replace without target", W "      - {action: replace, source_labels: [a]}\n", 4, 18,
	 "relabel action replace requires \"target_label\""},
	/* RE2 */
	{"lookahead", G "    - {action: drop, regex: 'a(?=b)'}\n", 3, 29,
	 "lookaround (?= is not supported (RE2 syntax)"},
	{"negative lookahead", G "    - {action: drop, regex: '(?!b)'}\n", 3, 29, "lookaround (?!"},
	{"lookbehind", G "    - {action: drop, regex: '(?<=a)b'}\n", 3, 29, "lookaround (?<="},
	{"negative lookbehind", G "    - {action: drop, regex: '(?<!a)b'}\n", 3, 29,
	 "lookaround (?<!"},
	{"backreference", G "    - {action: drop, regex: '(a)\\1'}\n", 3, 29,
	 "backreference \\1 is not supported"},
	{"possessive", G "    - {action: drop, regex: 'a*+'}\n", 3, 29,
	 "possessive quantifier *+ is not supported"},
	{"atomic group", G "    - {action: drop, regex: '(?>a)'}\n", 3, 29, "atomic group (?>"},
	{"single byte", G "    - {action: drop, regex: 'a\\C'}\n", 3, 29, "escape \\C is not supported"},
	{"verb", G "    - {action: drop, regex: '(*UTF)a'}\n", 3, 29, "(* is not supported"},
	{"recursion", G "    - {action: drop, regex: 'a(?R)'}\n", 3, 29, "group (?R"},
	{"comment group", G "    - {action: drop, regex: 'a(?#x)'}\n", 3, 29, "group (?#"},
	{"repeat over 1000", G "    - {action: drop, regex: 'a{1001}'}\n", 3, 29,
	 "repeat count above 1000"},
	{"nested repeat", G "    - {action: drop, regex: 'a**'}\n", 3, 29, "nested repetition"},
	/* Prometheus' per-action checks */
	{"replace bad target", G "    - {source_labels: [a], target_label: 'a-b'}\n", 3, 42,
	 "\"target_label\": \"a-b\" is not a valid label name or template"},
	{"replace target leading digit", G "    - {source_labels: [a], target_label: '0${3}'}\n", 3,
	 42, "\"0${3}\" is not a valid"},
	{"replace target bare dollar", G "    - {source_labels: [a], target_label: 'x$'}\n", 3, 42,
	 "\"x$\" is not a valid"},
	{"lowercase template target", G "    - {action: lowercase, target_label: '${1}'}\n", 3, 41,
	 "is not a valid label name for relabel action lowercase"},
	{"lowercase replacement", G "    - {action: lowercase, target_label: a, replacement: x}\n",
	 3, 57, "\"replacement\" cannot be set for relabel action lowercase"},
	{"keepequal regex", G "    - {action: keepequal, target_label: a, regex: x}\n", 3, 51,
	 "\"regex\" cannot be set for relabel action keepequal"},
	{"dropequal without target", G "    - {action: dropequal, source_labels: [a]}\n", 3, 16,
	 "relabel action dropequal requires \"target_label\""},
	{"labeldrop source", G "    - {action: labeldrop, regex: x, source_labels: [a]}\n", 3, 52,
	 "\"source_labels\" cannot be set for relabel action labeldrop"},
	{"labelkeep target", G "    - {action: labelkeep, regex: x, target_label: a}\n", 3, 51,
	 "\"target_label\" cannot be set for relabel action labelkeep"},
	{"labelmap bad replacement", G "    - {action: labelmap, replacement: 'a-$1'}\n", 3, 39,
	 "\"replacement\": \"a-$1\" is not a valid label name or template"},
	{"hashmod template target", G "    - {action: hashmod, modulus: 2, target_label: '$1'}\n",
	 3, 51, "is not a valid label name for relabel action hashmod"},
	/* shapes and values */
	{"bad source label", G "    - {source_labels: [a, 'b-c'], target_label: x}\n", 3, 27,
	 "\"source_labels\": \"b-c\" is not a valid label name"},
	{"source labels scalar", G "    - {source_labels: a, target_label: x}\n", 3, 23,
	 "\"source_labels\": expected a sequence"},
	{"negative modulus", G "    - {action: hashmod, modulus: -1, target_label: x}\n", 3, 34,
	 "\"modulus\": must be >= 0"},
	{"unknown key", G "    - {regexp: x}\n", 3, 8, "unknown key \"regexp\" in relabel_configs[0] "
	 "(did you mean \"regex\"?)"},
	{"not a sequence", G "    action: drop\n", 3, 5, "\"relabel_configs\": expected a sequence"},
	{"entry not a mapping", G "    - drop\n", 3, 7, "relabel_configs[0]: expected a mapping"},
	{"second entry", G "    - {action: drop}\n    - {action: drp}\n", 4, 16,
	 "(did you mean \"drop\"?)"},
};

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key_and_action),
		cmocka_unit_test(test_re2_patterns_accepted),
		cmocka_unit_test(test_equality),
	};

	return run_config_tests("config_relabel", fixed, sizeof(fixed) / sizeof(fixed[0]),
				error_cases, sizeof(error_cases) / sizeof(error_cases[0]));
}
