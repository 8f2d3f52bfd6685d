/* SPDX-License-Identifier: MIT */
/* What the collectors_net and collectors_proc tests share: a run over a
 * fixture root (proc/, sys/ and run/udev/data under one directory, as a
 * host's / is) and a count of the series carrying a label. Header-only,
 * static inline; include after collector_harness.h. */
#ifndef BPFPUSH_TEST_NET_HARNESS_H
#define BPFPUSH_TEST_NET_HARNESS_H

#include <stdio.h>
#include <string.h>

#include "collector_harness.h"

/* root holds proc/, sys/ and run/udev/data, as a host's / does. */
static inline void run_start(struct run *r, const struct collector *c, const void *opts,
		      const char *root)
{
	*r = (struct run){0};
	snprintf(r->procfs, sizeof(r->procfs), "%s/proc", root);
	snprintf(r->sysfs, sizeof(r->sysfs), "%s/sys", root);
	r->global.procfs = r->procfs;
	r->global.sysfs = r->sysfs;
	r->global.rootfs = (char *)root;
	run_open(r, c, opts);
}

/* Series whose name starts with prefix and that carry label="value". */
static inline size_t count_with(const struct run *r, const char *prefix, const char *label,
			 const char *value)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct series *s = series_of(r->samples[i].series);
		const struct label_set *l;

		if (strncmp(s->name, prefix, strlen(prefix)))
			continue;
		l = labels_of(s);
		for (size_t j = 0; j < l->n; j++)
			if (!strcmp(l->labels[j].name, label) && !strcmp(l->labels[j].value, value))
				n++;
	}
	return n;
}

#endif
