/* SPDX-License-Identifier: MIT */
/* What the config unit tests share: the collector schemas their files may
 * use, loading a file that must be good, and the table-driven error cases,
 * each row its own cmocka test with its exact line:col. Header-only, all
 * static inline, for tests that are built one .c each; include it after
 * <cmocka.h> (and its prerequisite headers), <stdbool.h>, <stdio.h>,
 * <stdlib.h> and <string.h>. */
#ifndef BPFPUSH_TEST_CONFIG_HARNESS_H
#define BPFPUSH_TEST_CONFIG_HARNESS_H

#include "config/config.h"

/* ---- schemas: what the fixtures may use ------------------------------ */

struct textfile_opts {
	char *directory;
};

static const struct opt_desc textfile_opts[] = {
	{"directory", OPT_STRING, "/var/lib/bpfpush/textfile",
	 offsetof(struct textfile_opts, directory), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

/* One option of each type, with and without defaults. */
struct fake_opts {
	bool flag, flag_off;
	int64_t count, count_zero;
	int64_t every_ms, every_zero;
	char *path, *path_null;
	char *pattern, *pattern_unset;
	char *mode;
};

static const struct opt_desc fake_opts[] = {
	{"flag", OPT_BOOL, "true", offsetof(struct fake_opts, flag), 0},
	{"flag_off", OPT_BOOL, NULL, offsetof(struct fake_opts, flag_off), 0},
	{"count", OPT_INT, "42", offsetof(struct fake_opts, count), 1000},
	{"count_zero", OPT_INT, NULL, offsetof(struct fake_opts, count_zero), 0},
	{"every", OPT_DURATION, "1m30s", offsetof(struct fake_opts, every_ms), 0},
	{"every_zero", OPT_DURATION, NULL, offsetof(struct fake_opts, every_zero), 0},
	{"path", OPT_STRING, "/default/path", offsetof(struct fake_opts, path), 0},
	{"path_null", OPT_STRING, NULL, offsetof(struct fake_opts, path_null), 0},
	{"pattern", OPT_REGEX, "^(ram|loop)\\d+$", offsetof(struct fake_opts, pattern), 0},
	{"pattern_unset", OPT_REGEX, "", offsetof(struct fake_opts, pattern_unset), 0},
	{"mode", OPT_ENUM, "fast|exact|auto", offsetof(struct fake_opts, mode), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

static const struct section_schema collectors[] = {
	{"cpu", true, 0, NULL},
	{"meminfo", true, 0, NULL},
	{"loadavg", true, 0, NULL},
	{"textfile", false, sizeof(struct textfile_opts), textfile_opts},
	{"fake", false, sizeof(struct fake_opts), fake_opts},
};

static const struct section_schema bpf[] = {
	{"runqlat", false, 0, NULL},
	{"biolatency", true, 0, NULL},
};

static const struct config_schemas schemas = {collectors, 5, bpf, 2};

/* ---- helpers --------------------------------------------------------- */

static const struct config zero_config;

static inline void load_ok(const char *yaml, struct config *cfg)
{
	struct config_error err;

	if (config_load_string("test.yml", yaml, strlen(yaml), &schemas, cfg, &err) != 0)
		fail_msg("unexpected error: %s", err.text);
}

static inline const char *label(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->global.n_external_labels; i++)
		if (!strcmp(cfg->global.external_labels[i].key, name))
			return cfg->global.external_labels[i].value;
	return NULL;
}

/* ---- error cases ------------------------------------------------------ */

struct error_case {
	const char *name;
	const char *yaml;
	int line, col;
	const char *msg; /* substring of the message */
};

#define RW "remote_write:\n  - url: http://127.0.0.1:8428/api/v1/write\n"

static inline void run_error_case(void **state)
{
	const struct error_case *c = *state;
	struct config cfg;
	struct config_error err;
	char prefix[64];

	memset(&cfg, 0xa5, sizeof(cfg)); /* must come back zeroed */
	if (config_load_string("test.yml", c->yaml, strlen(c->yaml), &schemas, &cfg, &err) != -1) {
		config_free(&cfg);
		fail_msg("[%s] loaded, expected %d:%d: %s", c->name, c->line, c->col, c->msg);
	}
	snprintf(prefix, sizeof(prefix), "test.yml:%d:%d: ", c->line, c->col);
	if (err.line != c->line || err.col != c->col || strncmp(err.text, prefix, strlen(prefix)) ||
	    !strstr(err.text, c->msg))
		fail_msg("[%s]\n  want %s...%s\n  got  %s (line %d col %d)", c->name, prefix, c->msg,
			 err.text, err.line, err.col);
	assert_memory_equal(&cfg, &zero_config, sizeof(cfg));
}

static inline void add(struct CMUnitTest *t, size_t *n, const char *name, CMUnitTestFunction f,
		       void *state)
{
	t[*n] = (struct CMUnitTest){name, f, NULL, NULL, state};
	(*n)++;
}

/* Runs fixed, then one test per error case, as the cmocka group name. */
static inline int run_config_tests(const char *name, const struct CMUnitTest *fixed,
				   size_t n_fixed, const struct error_case *cases, size_t n_cases)
{
	struct CMUnitTest *tests = calloc(n_fixed + n_cases, sizeof(*tests));
	size_t n = 0;
	int rc;

	if (!tests)
		return 1;
	for (size_t i = 0; i < n_fixed; i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < n_cases; i++)
		add(tests, &n, cases[i].name, run_error_case, (void *)&cases[i]);
	rc = _cmocka_run_group_tests(name, tests, n, NULL, NULL);
	free(tests);
	return rc;
}

#endif
