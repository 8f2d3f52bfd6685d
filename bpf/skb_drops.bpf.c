/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* skb_drops: packets the kernel dropped, by drop reason (skb:kfree_skb), and
 * TCP listen overflows by the listening port (docs/design.md).
 *
 * Counting goes to a per-CPU array indexed by the reason: no lock, no
 * atomic. The array is sized at load from the kernel's own
 * SKB_DROP_REASON_MAX (BTF), with one more slot for anything past it.
 * Listen overflows per port go to a bounded per-CPU hash (listening ports
 * are few and stable, a port is not a small dense key): the lookup is
 * lock-free and returns this CPU's slot, which is incremented in place;
 * only the first drop on a new port inserts, and an insert takes the hash
 * bucket's spinlock once (bpf_map_update_elem on a per-CPU hash always
 * does, even for an existing key: kernel/bpf/hashtab.c
 * __htab_percpu_map_update_elem, which is why updates are never used to
 * count). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/maps.bpf.h"
#include "bpf/skb_drops.h"

/* Set by user space from BTF before load. */
const volatile __u32 max_reason = 128;           /* SKB_DROP_REASON_MAX */
const volatile __u32 listen_overflow_reason = ~0U; /* ~0: this kernel has none */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 129); /* user space sets max_reason + 1 */
	__type(key, u32);
	__type(value, u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024); /* user space sets it from max_ports */
	__type(key, u32);
	__type(value, u64);
} overflow_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SKB_DROPS_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

/* The local port of the listener a dropped TCP segment was for: its TCP
 * destination port, read from the headers (set on receive by the IP
 * layer), which works whether or not the kernel passes the socket. */
static __always_inline u32 tcp_dest_port(struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	u16 th_off = BPF_CORE_READ(skb, transport_header);
	struct tcphdr th;

	if (!head || th_off == (u16)~0U || bpf_probe_read_kernel(&th, sizeof(th), head + th_off))
		return 0;
	return bpf_ntohs(th.dest);
}

static __always_inline void count_port(u32 port)
{
	u64 one = 1, *n;

	n = bpf_map_lookup_elem(&overflow_ports, &port);
	if (n) {
		*n += 1;
		return;
	}
	/* First overflow on this port; EEXIST: another CPU just inserted it. */
	if (!bpf_map_update_elem(&overflow_ports, &port, &one, BPF_NOEXIST))
		return;
	n = bpf_map_lookup_elem(&overflow_ports, &port);
	if (n)
		*n += 1;
	else
		percpu_add(&counters, SKB_DROPS_PORTS_FULL, 1);
}

static __always_inline int count_drop(struct sk_buff *skb, u32 reason)
{
	percpu_add(&drops, reason < max_reason ? reason : max_reason, 1);
	if (reason == listen_overflow_reason)
		count_port(tcp_dest_port(skb));
	return 0;
}

/* 5.17 and later: kfree_skb(skb, location, reason[, rx_sk]). */
SEC("raw_tp/kfree_skb")
int BPF_PROG(skb_drops_kfree_skb, struct sk_buff *skb, void *location, int reason)
{
	return count_drop(skb, (u32)reason);
}

/* Before 5.17: kfree_skb(skb, location), no reason (counted as 0). */
SEC("raw_tp/kfree_skb")
int BPF_PROG(skb_drops_kfree_skb_noreason, struct sk_buff *skb)
{
	return count_drop(skb, 0);
}

/* Classic tracepoint, when raw tracepoints are not to be had. */
SEC("tracepoint/skb/kfree_skb")
int skb_drops_kfree_skb_tp(struct trace_event_raw_kfree_skb *ctx)
{
	u32 reason = 0;

	if (bpf_core_field_exists(ctx->reason))
		reason = (u32)ctx->reason;
	return count_drop((struct sk_buff *)ctx->skbaddr, reason);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
