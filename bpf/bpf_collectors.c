/* SPDX-License-Identifier: MIT */
/* The table of BPF collectors, in the order they run. */
#include "bpf/bpf_collector.h"
#include "bpf/loader.h"

extern const struct bpf_collector bpf_collector_runqlat;
extern const struct bpf_collector bpf_collector_biolatency;
extern const struct bpf_collector bpf_collector_tcp_sendmsg;
extern const struct bpf_collector bpf_collector_softirq;
extern const struct bpf_collector bpf_collector_syscalls;
extern const struct bpf_collector bpf_collector_skb_drops;
extern const struct bpf_collector bpf_collector_tcp_retransmits;
extern const struct bpf_collector bpf_collector_tcp_states;
extern const struct bpf_collector bpf_collector_timers;
extern const struct bpf_collector bpf_collector_writeback;

const struct collector *const bpf_collector_table[] = {
	&bpf_collector_runqlat.collector,
	&bpf_collector_skb_drops.collector,
	&bpf_collector_tcp_retransmits.collector,
	&bpf_collector_tcp_states.collector,
	&bpf_collector_timers.collector,
	&bpf_collector_writeback.collector,
	&bpf_collector_biolatency.collector,
	&bpf_collector_tcp_sendmsg.collector,
	&bpf_collector_softirq.collector,
	&bpf_collector_syscalls.collector,
};

const size_t bpf_collector_count = sizeof(bpf_collector_table) / sizeof(bpf_collector_table[0]);
