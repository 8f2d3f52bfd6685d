/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* syscalls: syscall latency, entry to exit, per syscall, as log2
 * histograms.
 *
 * raw_syscalls' sys_enter / sys_exit raw tracepoints: no tracefs, one
 * program for every syscall (their arguments are numbers: tp_btf would
 * gain nothing). The entry time is kept per thread (see task_start and
 * start below), the histograms in a per-CPU array. A syscall number maps to a dense
 * histogram index through a read-only table user space fills before load;
 * syscalls outside the configured set count as "other", or are not timed
 * at all (then they cost one table lookup). This is the costliest
 * collector (every syscall on the host pays it): off by default. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/maps.bpf.h"
#include "bpf/syscalls.h"

/* Set by user space before load: syscall number -> histogram index, or
 * SYSCALLS_UNTIMED. */
const volatile __u8 slot_of[SYSCALLS_NR_MAX] = {};
const volatile __u8 other_slot = SYSCALLS_UNTIMED; /* numbers past the table */

struct syscall_start {
	u64 ts; /* 0: not in a timed syscall */
	u32 slot, pad;
};

/* Where a thread's entry time waits for its exit: task local storage
 * (5.11+: a slot in the task itself, found without a lock, gone with the
 * task), else a bounded hash keyed by thread id (a bucket lock per
 * update; a full table is counted; exit and exit_group are never timed
 * so that no entry outlives its thread). User space creates only one. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct syscall_start);
} task_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* max_inflight */
	__type(key, u32);
	__type(value, struct syscall_start);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, (SYSCALLS_MAX_TRACKED + 1) * HIST_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYSCALLS_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

/* The histogram a syscall counts in, or SYSCALLS_UNTIMED. */
static __always_inline u8 slot_for(long id)
{
	/* Unsigned: negative numbers are out of range too. The mask keeps the
	 * index provably in bounds whatever order the compiler picks. */
	if ((u64)id < SYSCALLS_NR_MAX)
		return slot_of[(u64)id & (SYSCALLS_NR_MAX - 1)];
	return other_slot;
}

/* A 32-bit task's syscall numbers index the ia32 table, not ours: they
 * count as "other" (x86; TS_COMPAT in thread_info.status). btf: task is a
 * BTF pointer, read directly. */
#define TS_COMPAT 0x0002
static __always_inline u8 compat_slot(struct task_struct *task, u8 slot, const bool btf)
{
#if defined(__TARGET_ARCH_x86)
	u32 status;

	if (!bpf_core_field_exists(task->thread_info.status))
		return slot;
	status = btf ? task->thread_info.status : BPF_CORE_READ(task, thread_info.status);
	if (status & TS_COMPAT)
		return other_slot;
#endif
	return slot;
}

static __always_inline void count(u64 started, u32 slot)
{
	u64 delta = bpf_ktime_get_ns() - started;

	hist_add(&hist, slot, delta / SYSCALLS_UNIT_NS, delta);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(syscall_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task;
	struct syscall_start *s;
	u8 slot = slot_for(id);

	if (slot == SYSCALLS_UNTIMED)
		return 0;
	task = bpf_get_current_task_btf();
	slot = compat_slot(task, slot, true);
	if (slot == SYSCALLS_UNTIMED)
		return 0;
	s = bpf_task_storage_get(&task_start, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s) {
		percpu_add(&counters, SYSCALLS_START_OVERFLOW, 1);
		return 0;
	}
	s->slot = slot;
	s->ts = bpf_ktime_get_ns();
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(syscall_exit, struct pt_regs *regs, long ret)
{
	struct syscall_start *s;

	s = bpf_task_storage_get(&task_start, bpf_get_current_task_btf(), 0, 0);
	if (!s || !s->ts)
		return 0;
	count(s->ts, s->slot);
	s->ts = 0;
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(syscall_enter_hash, struct pt_regs *regs, long id)
{
	struct syscall_start s = {};
	u8 slot = slot_for(id);
	u32 tid;

	if (slot == SYSCALLS_UNTIMED)
		return 0;
	slot = compat_slot((void *)bpf_get_current_task(), slot, false);
	if (slot == SYSCALLS_UNTIMED)
		return 0;
	tid = (u32)bpf_get_current_pid_tgid();
	s.ts = bpf_ktime_get_ns();
	s.slot = slot;
	if (bpf_map_update_elem(&start, &tid, &s, BPF_ANY))
		percpu_add(&counters, SYSCALLS_START_OVERFLOW, 1);
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(syscall_exit_hash, struct pt_regs *regs, long ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct syscall_start *s = bpf_map_lookup_elem(&start, &tid);
	u64 started;
	u32 slot;

	if (!s)
		return 0;
	started = s->ts;
	slot = s->slot;
	bpf_map_delete_elem(&start, &tid);
	count(started, slot);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
