/* SPDX-License-Identifier: MIT */
/* le_bounds: the `le` label text of a log2 histogram's bucket bounds
 * (unit * 2^(i+1)), formatted once per unit and kept, instead of once per
 * bucket and round: format_double finds the shortest exact text by trying
 * up to 17 precisions, each a snprintf and a strtod, and the BPF collectors'
 * classic histograms spent half of a collection round's instructions there. */
#ifndef BPFPUSH_LE_BOUNDS_H
#define BPFPUSH_LE_BOUNDS_H

#include <stddef.h>

#define LE_BOUNDS_MAX 32 /* slots of a log2 map (bpf/histogram.h) */

/* The text of unit * 2^(i + 1), for i < LE_BOUNDS_MAX; valid as long as the
 * thread lives. Per thread, no lock: each thread keeps its own few units
 * (falling back to formatting into buf, size bytes, when they are more). */
const char *le_bound(double unit, unsigned i, char *buf, size_t size);

#endif
