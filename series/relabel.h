/* SPDX-License-Identifier: MIT */
/* relabel: Prometheus' relabeling (model/relabel) on one series' labels:
 * the eleven actions, each rule's regex anchored at both ends, replacement
 * templates expanded as Go's regexp.Expand does ($1, ${1}, $name, ${name},
 * $$; an unknown group expands to ""). Setting a label to "" removes it.
 *
 * Pure and below the registry: the caller applies the rules once per
 * series and keeps the result with it, so the cost is per series, never
 * per sample. A compiled rule set holds its patterns, match data and
 * scratch; it is not thread-safe (one caller at a time per rule set).
 *
 * Not done here, left to the caller as in Prometheus: checking the result
 * (__name__ present, names valid) and removing labels that start with "__". */
#ifndef BPFPUSH_RELABEL_H
#define BPFPUSH_RELABEL_H

#include <stddef.h>

#include "config/config.h"
#include "series/registry.h"

struct relabel_rules;

/* Compiles list (copied: the config may be freed afterwards). NULL with why
 * set on an invalid pattern or ENOMEM; an empty list is a valid rule set
 * that keeps every series unchanged. */
struct relabel_rules *relabel_compile(const struct relabel_list *list, char *why,
				      size_t why_size);
void relabel_free(struct relabel_rules *r);

/* Applies the rules in order to in[0..n_in) (any order, names unique).
 * Returns 1 with *out, *n_out the resulting labels sorted by name (valid
 * until the next call or relabel_free), 0 when a rule dropped the series,
 * -1 on ENOMEM. */
int relabel_apply(struct relabel_rules *r, const struct label *in, size_t n_in,
		  const struct label **out, size_t *n_out);

#endif
