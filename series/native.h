/* SPDX-License-Identifier: MIT */
/* native: a BPF log2 histogram sent as classic series (_bucket{le},
 * _sum, _count), as one Prometheus native histogram of schema 0, or
 * both (docs/design.md, "Native histograms from log2 slots").
 *
 * Slot i of a log2 histogram counts integer values in [2^i, 2^(i+1))
 * units (slot 0 also counts 0); the classic bucket of slot i is
 * le = 2^(i+1) * unit. A schema 0 bucket k holds (2^(k-1), 2^k] base
 * units (seconds, bytes). With L = log2(unit), slot i >= 1 goes to the
 * bucket holding most of its range, k = i + ceil(L + 0.5): k = i + 1 for
 * unit 1, i - 19 for microseconds, i - 29 for nanoseconds. Slot 0 is the
 * zero bucket, whose threshold is the lower bound of slot 1's bucket.
 *
 * The encoded Histogram of a round lives in arenas that registry_reclaim
 * recycles by the same rule as a forgotten series, so no queued sample
 * outlives what it points to and the steady state allocates nothing. */
#ifndef BPFPUSH_NATIVE_H
#define BPFPUSH_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "proto/sample.h"
#include "series/registry.h"

/* A log2 histogram as the BPF side keeps it. */
struct log2_histogram {
	const uint64_t *slots; /* n_all counts, slot i first */
	unsigned n_all;        /* slots the map holds, at most 32 */
	unsigned n_slots;      /* 1..n_all: slots past it fold into the last */
	double unit;           /* one unit of a slot, in base units (s or bytes) */
	double sum;            /* of the values, in base units */
};

/* Which forms registry_emit_log2_histogram emits for the collector that
 * emits next (default HISTOGRAMS_CLASSIC). */
void registry_set_histograms(struct registry *r, enum histogram_forms forms);

/* The histogram h of family (a METRIC_HISTOGRAM whose name is the base
 * name) with these labels (at most REGISTRY_HIST_MAX_LABELS, no "le"):
 * classic series: name_bucket{le=...} for slots below n_slots and +Inf,
 * name_sum, name_count; native: one series named family->name. 0, or -1
 * when one of its series could not be emitted (as registry_emit). */
#define REGISTRY_HIST_MAX_LABELS 6
int registry_emit_log2_histogram(struct registry *r, const struct metric_desc *family,
				 const struct label *labels, size_t n_labels,
				 const struct log2_histogram *h);

/* Histogram.ResetHint values we send. */
enum native_reset_hint { NATIVE_RESET_UNKNOWN = 0, NATIVE_RESET_YES = 1 };

/* The most bytes native_encode writes. */
#define NATIVE_HIST_MAX 768

/* Encodes h (n_all at most 32, n_slots 1..n_all, unit > 0) as the fields
 * 1..14 of a prompb Histogram (schema 0) into out, which has room for
 * NATIVE_HIST_MAX bytes: returns the length. */
size_t native_encode(const struct log2_histogram *h, enum native_reset_hint hint,
		     uint8_t *out);

/* A native series' stale marker: a histogram whose sum is the stale NaN. */
const struct wire_hist *native_stale_marker(void);
bool native_is_stale(const struct wire_hist *h);

/* count_int and sum of an encoded histogram (for the text exposition):
 * 0, or -1 when it is not one we encoded. */
int native_count_sum(const struct wire_hist *h, uint64_t *count, double *sum);

#endif
