/* SPDX-License-Identifier: MIT */
/* bpf_collector: the BPF collectors, as the agent sees them. Each is a
 * struct collector (collectors/collector.h) configured under `bpf:`;
 * bpf/loader.h loads and attaches its programs (init returns -1 when this
 * kernel lacks its hooks, after one log line saying which), its update
 * turns its maps into series. */
#ifndef BPFPUSH_BPF_COLLECTOR_H
#define BPFPUSH_BPF_COLLECTOR_H

#include <stddef.h>

#include "collectors/collector.h"

/* How the scheduler reports a BPF collector (bpfpush_bpf_collector_up and
 * _duration_seconds, up 0 when its init failed) and what it frees once
 * every one exited (bpf_teardown). */
extern const struct collector_kind bpf_collector_kind;

extern const struct collector *const bpf_collector_table[];
extern const size_t bpf_collector_count;

#endif
