/* SPDX-License-Identifier: MIT */
/* clock: the two clocks the agent uses. A leaf utility like log.h.
 * Monotonic time for intervals, deadlines and backoff (immune to the wall
 * clock being stepped); wall time only for sample timestamps. */
#ifndef BPFPUSH_CLOCK_H
#define BPFPUSH_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static inline int64_t wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

/* When the system booted, Unix ms: what the kernel's counters that count
 * from boot (/proc/stat, diskstats, ...) started from. The kernel's own
 * figure, /proc/stat's btime (node_boot_time_seconds), in whole seconds
 * as it has it: two calls agree but for a wall clock step between them
 * (which moves btime too), where finer figures would differ by the time
 * between the two clock reads. */
static inline int64_t boot_time_ms(void)
{
	struct timespec wall, boot;
	int64_t ns;

	clock_gettime(CLOCK_REALTIME, &wall);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	ns = ((int64_t)wall.tv_sec - boot.tv_sec) * 1000000000 + (wall.tv_nsec - boot.tv_nsec);
	return ns / 1000000000 * 1000;
}

/* For short intervals: request durations, a rate limit's bookings. */
static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
