/* The table of BPF collectors, in the order they run. */
#include "bpf/bpf_collector.h"

extern const struct collector bpf_collector_runqlat;

const struct collector *const bpf_collector_table[] = {
	&bpf_collector_runqlat,
};

const size_t bpf_collector_count = sizeof(bpf_collector_table) / sizeof(bpf_collector_table[0]);
