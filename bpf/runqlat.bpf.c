// SPDX-License-Identifier: GPL-2.0
/* runqlat: how long runnable tasks wait for a CPU, as a log2 histogram.
 *
 * A task becomes runnable at sched_wakeup / sched_wakeup_new, or when it
 * is preempted while still runnable (sched_switch with prev in
 * TASK_RUNNING); it stops waiting when sched_switch switches it in. Raw
 * tracepoints: no tracefs needed, and cheaper than classic ones. The start
 * timestamps live in a bounded hash (its only use); counts go to per-CPU
 * arrays, which take no lock. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/bits.bpf.h"
#include "bpf/maps.bpf.h"
#include "bpf/runqlat.h"

#define TASK_RUNNING 0

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240); /* user space sets it from the config */
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HIST_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RUNQLAT_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

/* Kernels before 5.14 call the field "state". */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

static __always_inline int mark_runnable(u32 pid)
{
	u64 now;

	if (!pid)
		return 0; /* the idle task */
	now = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&start, &pid, &now, BPF_ANY))
		percpu_add(&counters, RUNQLAT_START_OVERFLOW, 1);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(runqlat_wakeup, struct task_struct *p)
{
	return mark_runnable(BPF_CORE_READ(p, pid));
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(runqlat_wakeup_new, struct task_struct *p)
{
	return mark_runnable(BPF_CORE_READ(p, pid));
}

SEC("raw_tp/sched_switch")
int BPF_PROG(runqlat_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	u32 pid = BPF_CORE_READ(next, pid);
	u64 *started, delta, slot;

	if (task_state(prev) == TASK_RUNNING)
		mark_runnable(BPF_CORE_READ(prev, pid));
	started = bpf_map_lookup_elem(&start, &pid);
	if (!started)
		return 0;
	delta = bpf_ktime_get_ns() - *started;
	bpf_map_delete_elem(&start, &pid);
	slot = log2_u64(delta / RUNQLAT_UNIT_NS);
	if (slot >= HIST_SLOTS)
		slot = HIST_SLOTS - 1;
	percpu_add(&hist, (u32)slot, 1);
	percpu_add(&hist, HIST_SUM_SLOT, delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
