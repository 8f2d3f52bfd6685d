/* maps.bpf.h: lock-free counting. A per-CPU array slot is private to the
 * CPU that runs the program, so an increment needs neither a lock nor an
 * atomic (seed 004: one shared lock per event stalled every core).
 * Kernel side only. */
#ifndef BPFPUSH_MAPS_BPF_H
#define BPFPUSH_MAPS_BPF_H

#include <bpf/bpf_helpers.h>

static __always_inline void percpu_add(void *map, __u32 key, __u64 delta)
{
	__u64 *slot = bpf_map_lookup_elem(map, &key);

	if (slot)
		*slot += delta;
}

#endif
