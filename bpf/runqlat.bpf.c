// SPDX-License-Identifier: GPL-2.0
/* runqlat: how long runnable tasks wait for a CPU, as a log2 histogram.
 *
 * A task becomes runnable at sched_wakeup / sched_wakeup_new, or when it
 * is preempted while still runnable (sched_switch with prev in
 * TASK_RUNNING); it stops waiting when sched_switch switches it in.
 *
 * Three program sets; the user side loads the first this kernel takes:
 *  - schedinfo: sched_switch alone. The kernel stamps a task's enqueue
 *    time in sched_info.last_queued (rq clock) and, at this tracepoint,
 *    has not yet consumed it, while rq->clock was just updated: the wait is
 *    their difference, the very run_delay the kernel adds up. No clock
 *    read, no start-time map, no wakeup hook (CONFIG_SCHED_INFO and
 *    CONFIG_FAIR_GROUP_SCHED);
 *  - tp_btf (BTF-typed raw tracepoints) keeping the start time in task
 *    local storage: no shared map per event (5.11+);
 *  - raw_tp with the start times in a bounded hash keyed by pid.
 * Neither needs tracefs. Counts go to per-CPU arrays, which take no lock. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

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
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} task_start SEC(".maps");

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

static __always_inline void record(u64 delta)
{
	hist_add(&hist, 0, delta / RUNQLAT_UNIT_NS, delta);
}

/* ---- schedinfo: the kernel's own enqueue stamp -------------------------- */

SEC("tp_btf/sched_switch")
int BPF_PROG(runqlat_switch_schedinfo, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	/* This CPU's rq, through the task's CFS queue (group scheduling; the
	 * per-CPU runqueues symbol is not always visible to BPF). */
	struct cfs_rq *cfs = next->se.cfs_rq;
	u64 queued = next->sched_info.last_queued, now;

	if (!queued || !cfs)
		return 0;
	now = cfs->rq->clock;
	if (now > queued)
		record(now - queued);
	return 0;
}

/* ---- tp_btf + task storage ------------------------------------------ */

static __always_inline int storage_runnable(struct task_struct *p)
{
	u64 *start;

	if (!p->pid)
		return 0; /* the idle task */
	start = bpf_task_storage_get(&task_start, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (start)
		*start = bpf_ktime_get_ns();
	else
		percpu_add(&counters, RUNQLAT_START_OVERFLOW, 1);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(runqlat_wakeup_btf, struct task_struct *p)
{
	return storage_runnable(p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(runqlat_wakeup_new_btf, struct task_struct *p)
{
	return storage_runnable(p);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(runqlat_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	u64 *start;

	if (task_state(prev) == TASK_RUNNING)
		storage_runnable(prev);
	start = bpf_task_storage_get(&task_start, next, 0, 0);
	if (!start || !*start)
		return 0;
	record(bpf_ktime_get_ns() - *start);
	*start = 0;
	return 0;
}

/* ---- raw_tp + hash ---------------------------------------------------- */

static __always_inline int hash_runnable(u32 pid)
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
	return hash_runnable(BPF_CORE_READ(p, pid));
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(runqlat_wakeup_new, struct task_struct *p)
{
	return hash_runnable(BPF_CORE_READ(p, pid));
}

SEC("raw_tp/sched_switch")
int BPF_PROG(runqlat_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	u32 pid = BPF_CORE_READ(next, pid);
	u64 *started, delta;

	if (task_state(prev) == TASK_RUNNING)
		hash_runnable(BPF_CORE_READ(prev, pid));
	started = bpf_map_lookup_elem(&start, &pid);
	if (!started)
		return 0;
	delta = bpf_ktime_get_ns() - *started;
	bpf_map_delete_elem(&start, &pid);
	record(delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
