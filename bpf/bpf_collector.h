/* bpf_collector: the BPF collectors, as the agent sees them. Each is a
 * struct collector (collectors/collector.h) configured under `bpf:`;
 * its init loads and attaches its programs (returning -1 when this kernel
 * lacks its hooks, after one log line saying which), its update turns its
 * maps into series. */
#ifndef BPFPUSH_BPF_COLLECTOR_H
#define BPFPUSH_BPF_COLLECTOR_H

#include <stddef.h>

#include "collectors/collector.h"

extern const struct collector *const bpf_collector_table[];
extern const size_t bpf_collector_count;

#endif
