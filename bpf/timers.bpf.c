/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* timers: timer-wheel timers started (timer:timer_start: add_timer,
 * mod_timer, ...) by callback function.
 *
 * timer_start is among the busiest tracepoints (TCP rearms its timers as
 * packets flow), so the program must be cheap, and lock-free. Callback
 * addresses are neither small nor dense; a per-CPU hash map would do, but
 * its lookup (jhash, bucket walk) measured ~150 ns per event here. Instead
 * each CPU has its own small open-addressing table in one per-CPU array
 * element: one array lookup (this CPU's copy, no lock), a multiplicative
 * hash, and usually the first probe hits. A CPU claims a free slot for a
 * new callback without any synchronisation, since no other CPU writes its
 * table. User space sums a callback's slots over CPUs (its slot may differ
 * between CPUs). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/maps.bpf.h"
#include "bpf/timers.h"

const volatile __u32 slot_mask = TIMERS_SLOTS - 1; /* user space: from max_functions */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct timer_table);
} table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TIMERS_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

static __always_inline int count(u64 function)
{
	u32 zero = 0, h = timers_hash(function);
	struct timer_table *t;

	if (!function)
		return 0;
	t = bpf_map_lookup_elem(&table, &zero);
	if (!t)
		return 0;
#pragma unroll
	for (u32 i = 0; i < TIMERS_PROBES; i++) {
		u32 at = (h + i) & slot_mask & (TIMERS_SLOTS - 1);
		struct timer_slot *s = &t->slot[at];

		if (s->function == function) {
			s->count++;
			return 0;
		}
		if (!s->function) {
			s->function = function;
			s->count = 1;
			return 0;
		}
	}
	percpu_add(&counters, TIMERS_FUNCTIONS_FULL, 1);
	return 0;
}

SEC("raw_tp/timer_start")
int BPF_PROG(timers_start, struct timer_list *timer)
{
	return count((u64)BPF_CORE_READ(timer, function));
}

SEC("tracepoint/timer/timer_start")
int timers_start_tp(struct trace_event_raw_timer_start *ctx)
{
	return count((u64)ctx->function);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
