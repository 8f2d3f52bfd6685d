/* SPDX-License-Identifier: MIT */
/* histogram.h: the log2 histogram layout shared by kernel and user sides.
 *
 * A histogram is HIST_ENTRIES consecutive u64 slots of a per-CPU array:
 * slot i (i < HIST_SLOTS) counts values v with floor(log2(v)) == i (v == 0
 * counts in slot 0), so every value in slot i is below 2^(i+1) units; slot
 * HIST_SUM_SLOT holds the sum of the raw values. Histogram number h (a label
 * combination) starts at key h * HIST_ENTRIES. */
#ifndef BPFPUSH_HISTOGRAM_H
#define BPFPUSH_HISTOGRAM_H

#define HIST_SLOTS 32
#define HIST_SUM_SLOT HIST_SLOTS
#define HIST_ENTRIES (HIST_SLOTS + 1)

#endif
