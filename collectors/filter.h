/* SPDX-License-Identifier: MIT */
/* filter: node_exporter's include/exclude options (device-exclude,
 * mount-points-exclude, fields...), as PCRE2 patterns, unanchored as Go's
 * regexp.MatchString is (node_exporter's defaults carry their own ^ and $).
 * The config already checked that each pattern compiles. */
#ifndef BPFPUSH_FILTER_H
#define BPFPUSH_FILTER_H

#include <stdbool.h>
#include <stddef.h>

struct filter_memo;

struct name_filter {
	void *include, *exclude; /* pcre2_code *, NULL when unset */
	void *match_data;        /* reused by every match: no malloc per name */
	/* The verdicts given so far, by name: the same few hundred names
	 * (netstat's fields, devices) come back every round, and a regex
	 * match costs far more than a hash lookup. Bounded (MEMO_MAX names);
	 * past it, names are matched each time. */
	struct filter_memo *memo;
};

/* include/exclude may be NULL or "" (no filter). 0, or -1 (logged). */
int name_filter_init(struct name_filter *f, const char *include, const char *exclude);

/* A name is kept when it matches include (if set) and not exclude (if set).
 * Collection-thread only: the memo is not locked. */
bool name_filter_keep(const struct name_filter *f, const char *name, size_t len);

void name_filter_free(struct name_filter *f);

#endif
