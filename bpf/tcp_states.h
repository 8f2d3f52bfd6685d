/* SPDX-License-Identifier: MIT */
/* tcp_states: what tcp_states.bpf.c and tcp_states.c share. */
#ifndef BPFPUSH_TCP_STATES_H
#define BPFPUSH_TCP_STATES_H

#include "bpf/histogram.h"

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Transitions are counted in a per-CPU array of TCP_STATES x TCP_STATES
 * slots, old * TCP_STATES + new (sk_state is below 16 on every kernel; 14
 * states in 6.18, their names and values from BTF). */
#define TCP_STATES 16

/* Lifetime histogram slots are units of 64 us: 2^31 units is 38 hours. */
#define TCP_LIFETIME_UNIT_NS 64000

/* The table of start times waiting for their connection's end: sets of
 * START_WAYS slots, one 64-byte cache line each. */
#define START_WAYS 4
struct start_slot {
	__u64 sk; /* the socket's address; 0: free */
	__u64 ts; /* bpf_ktime_get_ns() at its start */
};
struct start_set {
	struct start_slot way[START_WAYS];
};

/* Per-CPU counters beside the maps. */
enum tcp_states_counter {
	TCP_STATES_START_OVERFLOW, /* connections not timed: their start set was full */
	TCP_STATES_COUNTERS
};

#endif
