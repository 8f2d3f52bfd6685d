/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
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
 * Neither needs tracefs. Counts go to per-CPU arrays, which take no lock.
 *
 * By cgroup (the cgroups option): the cgroup v2 id of the task switched in
 * keys a per-CPU hash whose value is a whole histogram. A lookup takes no
 * lock and the wait is added in place; only a group's first wait inserts
 * (one bucket lock, once per group). User space sets by_cgroup before load,
 * so with the option off the verifier drops that code and the default path
 * costs what it did. The hash is preallocated: kernels before 6.1 allow no
 * other kind in tracing programs, and an insert under the scheduler's lock
 * then never allocates. When it is full (max_cgroups groups), waits go to
 * the array histogram, user space's cgroup="other", and are counted:
 * nothing is lost. cgroups_full spares every later miss an insert that
 * would take the bucket lock and search every CPU's free list only to fail;
 * user space clears it when it has removed groups that are gone. */
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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024); /* user space sets it from max_cgroups (1 when off) */
	__type(key, u64);          /* cgroup v2 id */
	__type(value, u64[HIST_ENTRIES]);
} cgroup_hist SEC(".maps");

const volatile bool by_cgroup = false;
bool cgroups_full = false;
static const u64 zero_hist[HIST_ENTRIES];

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

/* Before 5.5 a kernfs node's id was a union; user space matches ids with
 * directory inode numbers, which were its ino half. */
struct kernfs_node___pre55 {
	union {
		struct {
			u32 ino;
			u32 generation;
		};
		u64 id;
	} id;
} __attribute__((preserve_access_index));

/* The cgroup v2 id of t, by direct reads (tp_btf). */
static __always_inline u64 cgroup_btf(struct task_struct *t)
{
	struct kernfs_node *kn = t->cgroups->dfl_cgrp->kn;

	if (bpf_core_field_exists(((struct kernfs_node___pre55 *)kn)->id.ino))
		return ((struct kernfs_node___pre55 *)kn)->id.ino;
	return kn->id;
}

/* The same by probe reads (raw_tp). */
static __always_inline u64 cgroup_core(struct task_struct *t)
{
	struct kernfs_node *kn = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn);

	if (bpf_core_field_exists(((struct kernfs_node___pre55 *)kn)->id.ino))
		return BPF_CORE_READ((struct kernfs_node___pre55 *)kn, id.ino);
	return BPF_CORE_READ(kn, id);
}

/* This CPU's histogram of cgroup id, made at its first wait; NULL when
 * max_cgroups groups have theirs. */
static __always_inline u64 *cgroup_histogram(u64 id)
{
	u64 *h = bpf_map_lookup_elem(&cgroup_hist, &id);

	if (h || cgroups_full)
		return h;
	/* NOEXIST: if another CPU made it meanwhile, the lookup finds it. */
	bpf_map_update_elem(&cgroup_hist, &id, zero_hist, BPF_NOEXIST);
	h = bpf_map_lookup_elem(&cgroup_hist, &id);
	if (!h)
		cgroups_full = true;
	return h;
}

/* Into the array histogram: every wait, or by cgroup those past
 * max_cgroups. */
static __always_inline void record(u64 delta)
{
	hist_add(&hist, 0, delta / RUNQLAT_UNIT_NS, delta);
}

static __always_inline void record_cgroup(u64 delta, u64 cgroup)
{
	u64 *h = cgroup_histogram(cgroup);

	if (!h) {
		percpu_add(&counters, RUNQLAT_CGROUP_OVERFLOW, 1);
		record(delta);
		return;
	}
	h[hist_slot(delta / RUNQLAT_UNIT_NS)] += 1;
	h[HIST_SUM_SLOT] += delta;
}

/* A wait of delta ns by t, whose fields raw_tp reads by probe reads (core).
 * by_cgroup is tested once: off, this is record() alone. */
static __always_inline void record_wait(struct task_struct *t, u64 delta, bool core)
{
	if (!by_cgroup)
		record(delta);
	else
		record_cgroup(delta, core ? cgroup_core(t) : cgroup_btf(t));
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
		record_wait(next, now - queued, false);
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
	record_wait(next, bpf_ktime_get_ns() - *start, false);
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
	record_wait(next, delta, true);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
