/* SPDX-License-Identifier: MIT */
/* syscalls: what syscalls.bpf.c and syscalls.c share.
 *
 * Histogram s (s < n configured syscalls: their dense index; s == n:
 * "other") starts at key s * HIST_ENTRIES. */
#ifndef BPFPUSH_SYSCALLS_H
#define BPFPUSH_SYSCALLS_H

#include "bpf/histogram.h"

/* Slots are microseconds. */
#define SYSCALLS_UNIT_NS 1000

/* Syscall numbers below this map through a table; larger ones (x32, or
 * none) are "other". Every native table is shorter (x86_64 ~460). */
#define SYSCALLS_NR_MAX 1024

/* At most this many syscalls get their own histogram. */
#define SYSCALLS_MAX_TRACKED 128

/* slot_of value: not timed at all (other: false, or exit / exit_group,
 * which never return). */
#define SYSCALLS_UNTIMED 0xff

enum syscalls_counter {
	SYSCALLS_START_OVERFLOW, /* syscalls not timed: the in-flight table was full */
	SYSCALLS_COUNTERS
};

#endif
