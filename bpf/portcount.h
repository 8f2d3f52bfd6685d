/* SPDX-License-Identifier: MIT */
/* portcount: counters indexed by a 16-bit port, shared by the kernel and
 * user sides of tcp_states (TIME_WAIT entries by remote port) and
 * tcp_retransmits (retransmissions by remote port).
 *
 * Every port has its own slot, so no port is ever missed or evicted (a
 * bounded hash would fill with ephemeral ports on a host that closes
 * connections first, and miss the one port that matters later). The
 * 65536 slots live in a per-CPU array of PORTCOUNT_CHUNKS elements of
 * PORTCOUNT_CHUNK counters each, 32 KiB, the largest per-CPU value the
 * kernel allows: 512 KiB per CPU. Counting is a lookup of this CPU's chunk
 * and an add: no lock, no atomic. Reading is PORTCOUNT_CHUNKS lookups of
 * ncpu x 32 KiB each, a memcpy's worth; the same counters as 65536 one-slot
 * elements took 26 ms per round to read on 2 CPUs (per-key overhead in
 * the kernel's batch lookup), growing with the CPU count. */
#ifndef BPFPUSH_PORTCOUNT_H
#define BPFPUSH_PORTCOUNT_H

#if !defined(__bpf__)
#include <linux/types.h>
#endif

#define PORTCOUNT_CHUNK 4096
#define PORTCOUNT_CHUNKS 16 /* PORTCOUNT_CHUNK * PORTCOUNT_CHUNKS == 65536 */

struct port_chunk {
	__u64 count[PORTCOUNT_CHUNK];
};

#if defined(__bpf__)
/* Adds n to port's counter in map (a per-CPU array of struct port_chunk),
 * after marking its chunk in touched (PORTCOUNT_CHUNKS bytes in .bss). */
static __always_inline void portcount_add(void *map, volatile __u8 *touched, __u32 port, __u64 n)
{
	__u32 chunk = (port >> 12) & (PORTCOUNT_CHUNKS - 1);
	struct port_chunk *c;

	if (!touched[chunk])
		touched[chunk] = 1;
	c = bpf_map_lookup_elem(map, &chunk);
	if (c)
		c->count[port & (PORTCOUNT_CHUNK - 1)] += n;
}
#endif

#endif
