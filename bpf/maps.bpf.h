/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* maps.bpf.h: lock-free counting, of events and into log2 histograms. A
 * per-CPU array slot is private to the CPU that runs the program, so an
 * increment needs neither a lock nor an atomic (docs/design.md, "A probe must not
 * hurt the host it measures": one shared lock per event stalled every core).
 * Kernel side only. */
#ifndef BPFPUSH_MAPS_BPF_H
#define BPFPUSH_MAPS_BPF_H

#include <bpf/bpf_helpers.h>

#include "bpf/bits.bpf.h"
#include "bpf/histogram.h"

static __always_inline void percpu_add(void *map, __u32 key, __u64 delta)
{
	__u64 *slot = bpf_map_lookup_elem(map, &key);

	if (slot)
		*slot += delta;
}

/* The slot of units in a log2 histogram (histogram.h): floor(log2(units)),
 * the last slot for anything larger. */
static __always_inline __u32 hist_slot(__u64 units)
{
	__u64 slot = log2_u64(units);

	return slot < HIST_SLOTS ? (__u32)slot : HIST_SLOTS - 1;
}

/* Counts one value in log2 histogram number h of map: in hist_slot(units),
 * and raw in the sum. Latencies pass delta / UNIT_NS as units; sizes pass
 * bytes - 1, so that slot i holds (2^i, 2^(i+1)] and 4096 bytes is in
 * le="4096". */
static __always_inline void hist_add(void *map, __u32 h, __u64 units, __u64 raw)
{
	__u32 base = h * HIST_ENTRIES;

	percpu_add(map, base + hist_slot(units), 1);
	percpu_add(map, base + HIST_SUM_SLOT, raw);
}

#endif
