/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* calibrate: what a BPF program costs on this machine before it does
 * anything, so the per-event figures of bpf_bench.py can be read against
 * it: an empty program (the run statistics' own clock reads), one that
 * reads the clock, and one that bumps a per-CPU counter, on sched_switch
 * under the ping-pong; and empty programs on the hooks of the default
 * collectors, run beside them under the same workload (calibrate --hold):
 * a hook that fires among other kernel work finds the program, its
 * statistics and what it reads colder than a ping-pong does. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} count SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(empty, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(clock_read, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return bpf_ktime_get_ns() & 1;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(percpu_counter, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	u32 key = 0;
	u64 *v = bpf_map_lookup_elem(&count, &key);

	if (v)
		(*v)++;
	return 0;
}

/* --hold only: one empty program on each default collector's hook. */
SEC("tp_btf/sched_wakeup")
int BPF_PROG(empty_sched_wakeup, struct task_struct *p)
{
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(empty_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
	return 0;
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(empty_kfree_skb, struct sk_buff *skb)
{
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(empty_sock_send_length, struct sock *sk, int ret, int flags)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
