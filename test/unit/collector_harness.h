/* SPDX-License-Identifier: MIT */
/* What the collector unit tests share: one collector run against a real
 * registry (start, rounds, stop) and the helpers that look up and check the
 * series a round emitted. Header-only, all static inline, for tests that
 * are built one .c each; include it after <cmocka.h> (and its prerequisite
 * headers), <math.h>, <stdio.h>, <string.h> and <unistd.h>.
 *
 * A test may define, before including it:
 *   SERIES_TEXT_MAX     the longest series text find() compares (default 1024)
 *   VALUE_REL_TOL       assert_value()'s relative tolerance (default 1e-9;
 *                       0 for exact values)
 *   MUST_FIND_LISTS     must_find() lists the round's series when it fails */
#ifndef BPFPUSH_TEST_COLLECTOR_HARNESS_H
#define BPFPUSH_TEST_COLLECTOR_HARNESS_H

#include "collectors/all.h"
#include "series/registry.h"
#include "labels_of.h"

#ifndef SERIES_TEXT_MAX
#define SERIES_TEXT_MAX 1024
#endif
#ifndef VALUE_REL_TOL
#define VALUE_REL_TOL 1e-9
#endif

struct run {
	struct registry *reg;
	struct global_config global;
	char procfs[256], sysfs[256]; /* for tests that build the paths */
	struct collector_ctx ctx;
	const struct sample *samples;
	size_t n;
	int rc;
};

/* Start collector c with r->global as the caller has set it. */
static inline void run_open(struct run *r, const struct collector *c, const void *opts)
{
	r->reg = registry_create(NULL, 0, "bpfpush", "host");
	assert_non_null(r->reg);
	r->ctx = (struct collector_ctx){.collector = c, .opts = opts, .global = &r->global};
	if (c->init)
		assert_int_equal(c->init(&r->ctx), 0);
}

static inline void run_start_fs(struct run *r, const struct collector *c, const void *opts,
				const char *procfs, const char *sysfs, const char *rootfs)
{
	*r = (struct run){0};
	r->global.procfs = (char *)procfs;
	r->global.sysfs = (char *)sysfs;
	r->global.rootfs = (char *)rootfs;
	run_open(r, c, opts);
}

static inline void run_round(struct run *r, int64_t ts_ms)
{
	registry_begin_round(r->reg, ts_ms);
	r->rc = r->ctx.collector->update(&r->ctx, r->reg);
	r->samples = registry_end_round(r->reg, &r->n);
}

static inline void run_stop(struct run *r)
{
	if (r->ctx.collector->exit)
		r->ctx.collector->exit(&r->ctx);
	assert_null(r->ctx.state);
	registry_destroy(r->reg);
}

/* run_round with stderr captured (only around the update, so that a
 * failing assertion still shows): how many logged lines contain needle. */
static inline int run_round_logged(struct run *r, int64_t ts_ms, const char *needle)
{
	char path[] = "/tmp/bpfpush-log-XXXXXX", line[4096];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO), n = 0;
	FILE *f;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	run_round(r, ts_ms);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	unlink(path);
	return n;
}

/* name{l="v",...} with the registry's sorted labels, job and instance left
 * out: the form the tests name series in. */
static inline const char *series_text(const struct series *s, char *out, size_t size)
{
	const struct label_set *set = labels_of(s);
	size_t len = (size_t)snprintf(out, size, "%s{", s->name);

	for (size_t i = 0; i < set->n; i++) {
		const struct label *l = &set->labels[i];
		if (!strcmp(l->name, "__name__") || !strcmp(l->name, "job") ||
		    !strcmp(l->name, "instance"))
			continue;
		len += (size_t)snprintf(out + len, size - len, "%s=\"%s\",", l->name, l->value);
	}
	if (out[len - 1] == ',')
		len--;
	snprintf(out + len, size - len, "}");
	return out;
}

static inline const struct sample *find(const struct run *r, const char *want)
{
	char text[SERIES_TEXT_MAX];

	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(series_text(series_of(r->samples[i].series), text, sizeof(text)), want))
			return &r->samples[i];
	return NULL;
}

static inline const struct sample *must_find(const struct run *r, const char *want)
{
	const struct sample *s = find(r, want);

	if (!s) {
#ifdef MUST_FIND_LISTS
		char text[SERIES_TEXT_MAX];
		for (size_t i = 0; i < r->n; i++)
			print_message("  have %s\n",
				      series_text(series_of(r->samples[i].series), text, sizeof(text)));
#endif
		fail_msg("series %s not emitted", want);
	}
	return s;
}

/* Equal, or within rel of value. */
static inline void assert_value_rel(const struct run *r, const char *want, double value,
				    double rel)
{
	const struct sample *s = must_find(r, want);

	if (!(s->value == value) && !(fabs(s->value - value) <= rel * fabs(value)))
		fail_msg("%s = %.17g, want %.17g", want, s->value, value);
}

static inline void assert_value(const struct run *r, const char *want, double value)
{
	assert_value_rel(r, want, value, VALUE_REL_TOL);
}

static inline void assert_absent(const struct run *r, const char *series)
{
	if (find(r, series))
		fail_msg("series %s emitted", series);
}

static inline size_t count_named(const struct run *r, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += !strcmp(series_of(r->samples[i].series)->name, name);
	return n;
}

static inline void assert_family(const struct run *r, const char *series, const char *family,
				 const char *help, enum metric_type type)
{
	const struct family *f = series_of(must_find(r, series)->series)->family;

	assert_string_equal(f->name, family);
	assert_string_equal(f->help, help);
	assert_int_equal(f->type, type);
}

static inline void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

#endif
