/* SPDX-License-Identifier: MIT */
/* skb_drops: what skb_drops.bpf.c and skb_drops.c share. */
#ifndef BPFPUSH_SKB_DROPS_H
#define BPFPUSH_SKB_DROPS_H

/* The drops array has one slot per core drop reason (0 .. the kernel's
 * SKB_DROP_REASON_MAX - 1, read from BTF at load) plus one more, slot
 * SKB_DROP_REASON_MAX itself, for everything at or past it: the subsystem
 * reasons (mac80211, openvswitch: subsystem id << 16 | code) and any value
 * a newer kernel adds. This caps the map whatever BTF says. */
#define SKB_DROPS_MAX_SLOTS 4096

/* Per-CPU counters beside the drops. */
enum skb_drops_counter {
	SKB_DROPS_PORTS_FULL, /* listen overflows not counted per port: max_ports reached */
	SKB_DROPS_COUNTERS
};

#endif
