/* SPDX-License-Identifier: MIT */
/* timers: what timers.bpf.c and timers.c share. */
#ifndef BPFPUSH_TIMERS_H
#define BPFPUSH_TIMERS_H

/* Per-CPU open-addressing table of callback address -> starts, held in one
 * per-CPU array element (16 KiB per CPU). The table uses its first
 * (slot_mask + 1) slots, a power of two at least twice max_functions, so
 * it stays at most half full; a callback finds its slot within
 * TIMERS_PROBES probes from its hash, or counts in TIMERS_FUNCTIONS_FULL. */
#define TIMERS_SLOTS 1024
#define TIMERS_PROBES 8

struct timer_slot {
	__u64 function; /* 0: free */
	__u64 count;
};

struct timer_table {
	struct timer_slot slot[TIMERS_SLOTS];
};

/* Per-CPU counters beside the table. */
enum timers_counter {
	TIMERS_FUNCTIONS_FULL, /* timer starts not counted per function: no free slot */
	TIMERS_COUNTERS
};

/* Where a callback's probes start: a multiplicative hash of its address
 * (functions are at least 16-byte aligned, so the low bits carry little). */
static inline __u32 timers_hash(__u64 function)
{
	return (__u32)(((function >> 4) * 0x9E3779B97F4A7C15ULL) >> 40);
}

#endif
