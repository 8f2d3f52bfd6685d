/* SPDX-License-Identifier: MIT */
/* runqlat: what runqlat.bpf.c and runqlat.c share. */
#ifndef BPFPUSH_RUNQLAT_H
#define BPFPUSH_RUNQLAT_H

#include "bpf/histogram.h"

/* Slots are microseconds: 2^31 us is 36 minutes, far past any wait. */
#define RUNQLAT_UNIT_NS 1000

/* Per-CPU counters next to the histogram. */
enum runqlat_counter {
	RUNQLAT_START_OVERFLOW,  /* wakeups not timed: the start map was full */
	RUNQLAT_CGROUP_OVERFLOW, /* waits counted in the catch-all histogram:
				    max_cgroups groups had their own already */
	RUNQLAT_COUNTERS
};

#endif
