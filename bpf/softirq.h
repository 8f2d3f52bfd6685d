/* SPDX-License-Identifier: MIT */
/* softirq: what softirq.bpf.c and softirq.c share. Histogram v (the
 * softirq vector number, enum *_SOFTIRQ) starts at key v * HIST_ENTRIES. */
#ifndef BPFPUSH_SOFTIRQ_H
#define BPFPUSH_SOFTIRQ_H

#include "bpf/histogram.h"

/* Slots are microseconds. */
#define SOFTIRQ_UNIT_NS 1000

/* Room for vectors; Linux has had 10 (NR_SOFTIRQS) since 2.6.35. */
#define SOFTIRQ_MAX_VECTORS 16

#endif
