/* tcp_states: what tcp_states.bpf.c and tcp_states.c share. */
#ifndef BPFPUSH_TCP_STATES_H
#define BPFPUSH_TCP_STATES_H

#include "bpf/histogram.h"

/* Transitions are counted in a per-CPU array of TCP_STATES x TCP_STATES
 * slots, old * TCP_STATES + new (sk_state is below 16 on every kernel; 14
 * states in 6.18, their names and values from BTF). */
#define TCP_STATES 16

/* Lifetime histogram slots are units of 64 us: 2^31 units is 38 hours. */
#define TCP_LIFETIME_UNIT_NS 64000

/* Per-CPU counters beside the maps. */
enum tcp_states_counter {
	TCP_STATES_START_OVERFLOW, /* connections not timed: max_inflight reached */
	TCP_STATES_COUNTERS
};

#endif
