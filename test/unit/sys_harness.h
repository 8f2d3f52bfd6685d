/* SPDX-License-Identifier: MIT */
/* What the collectors_sys, collectors_hw and collectors_filesystem tests
 * share: a run over a fixture procfs, a value within a tolerance, and
 * scratch trees under /tmp. Header-only, static inline; include after
 * collector_harness.h. */
#ifndef BPFPUSH_TEST_SYS_HARNESS_H
#define BPFPUSH_TEST_SYS_HARNESS_H

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector_harness.h"

static inline void run_start(struct run *r, const struct collector *c, const void *opts,
		      const char *procfs)
{
	run_start_fs(r, c, opts, procfs, NULL, NULL);
}

/* Within tol (free space moves while the test runs). */
static inline void assert_near(const struct run *r, const char *want, double value, double tol)
{
	const struct sample *s = must_find(r, want);

	if (!(fabs(s->value - value) <= tol))
		fail_msg("%s = %.17g, want %.17g +- %g", want, s->value, value, tol);
}

/* A scratch tree under /tmp, removed with everything in it. */
struct tmpdir {
	char dir[64];
};

static inline void tmp_dir(struct tmpdir *t)
{
	strcpy(t->dir, "/tmp/bpfpush-sys-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
}

/* dir/rel, its parent directories made; written with text unless NULL. */
static inline const char *tmp_file(struct tmpdir *t, const char *rel, const char *text, char *path,
			    size_t size)
{
	snprintf(path, size, "%s/%s", t->dir, rel);
	for (char *p = path + strlen(t->dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	if (text)
		write_file(path, text);
	return path;
}

static inline void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[512];

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= (int)sizeof(sub))
			continue; /* not one this test made: their paths are short */
		if (e->d_type == DT_DIR)
			remove_tree(sub);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}

static inline void tmp_cleanup(struct tmpdir *t)
{
	remove_tree(t->dir);
}

#endif
