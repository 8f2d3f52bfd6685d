/* SPDX-License-Identifier: MIT */
/* histview: a round's classic histograms gathered back from its samples,
 * for the people who look at them rather than the storage that keeps them
 * (`bpfpush show`, the status page's SVG). A histogram family's _bucket,
 * _sum and _count series that share their other labels make one view; its
 * buckets come sorted by le, +Inf last, with cumulative counts as emitted.
 * Stale markers and native histograms are skipped (a native series has no
 * _bucket form to draw; `histograms: both` gives the classic one too).
 *
 * hist_set_gather reuses the set's memory: a round of the same shape as
 * the last allocates nothing. Views and their strings stay valid until the
 * next gather into the same set or hist_set_free. */
#ifndef BPFPUSH_HISTVIEW_H
#define BPFPUSH_HISTVIEW_H

#include <stddef.h>

#include "proto/sample.h"

struct hist_bucket {
	double le;    /* upper bound; INFINITY for the last */
	double count; /* cumulative: observations <= le */
};

struct hist_view {
	const char *family; /* base name: kernel_runqueue_latency_seconds */
	const char *help;
	const char *labels; /* the other labels as `k="v",k="v"` (sorted, escaped
			       as in the text format), "" when none; with family
			       the key that matches a view across rounds */
	const struct hist_bucket *buckets;
	size_t n_buckets;
	double sum, count;
};

struct hist_set {
	struct hist_view *views; /* sorted by family, then labels */
	size_t n;
	void *priv;              /* reused buffers */
};

/* Gathers the classic histograms among samples[0..n). 0, or -1 on ENOMEM
 * (the set is then empty). Call on the thread that owns the registry (it
 * reads the series' labels). */
int hist_set_gather(struct hist_set *set, const struct sample *samples, size_t n);
void hist_set_free(struct hist_set *set);

/* The view in set with the same family and labels as v, or NULL. */
const struct hist_view *hist_set_find(const struct hist_set *set, const struct hist_view *v);

/* out[i] = observations in bucket i alone (le[i-1], le[i]] during the
 * interval from before to now (before NULL: since start), for i <
 * now->n_buckets. Buckets before lacks, or a count that went down (the
 * collector started again), count from zero. */
void hist_view_interval(const struct hist_view *now, const struct hist_view *before,
			double *out);

#endif
