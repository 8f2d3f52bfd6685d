/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* softirq: time spent in each softirq vector, as a log2 histogram.
 *
 * softirq_entry / softirq_exit bracket one vector's handler on one CPU;
 * softirqs do not nest on a CPU, so the start time is one slot of a
 * per-CPU array, and the histograms are per-CPU arrays: no hash, no lock.
 * Hard interrupts taken while the handler runs count in its time (as in
 * bcc's softirqs). Raw tracepoints: no tracefs, cheapest hook. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/maps.bpf.h"
#include "bpf/softirq.h"

struct softirq_start {
	u64 ts;
	u32 vec, pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct softirq_start);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SOFTIRQ_MAX_VECTORS * HIST_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} hist SEC(".maps");

SEC("raw_tp/softirq_entry")
int BPF_PROG(softirq_entry, unsigned int vec)
{
	u32 zero = 0;
	struct softirq_start *s = bpf_map_lookup_elem(&start, &zero);

	if (s) {
		s->ts = bpf_ktime_get_ns();
		s->vec = vec;
	}
	return 0;
}

SEC("raw_tp/softirq_exit")
int BPF_PROG(softirq_exit, unsigned int vec)
{
	u32 zero = 0;
	struct softirq_start *s = bpf_map_lookup_elem(&start, &zero);
	u64 delta;

	if (!s)
		return 0;
	/* An exit without its entry: we attached while the handler ran. */
	if (!s->ts || s->vec != vec || vec >= SOFTIRQ_MAX_VECTORS) {
		s->ts = 0;
		return 0;
	}
	delta = bpf_ktime_get_ns() - s->ts;
	s->ts = 0;
	hist_add(&hist, vec, delta / SOFTIRQ_UNIT_NS, delta);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
