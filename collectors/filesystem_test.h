/* SPDX-License-Identifier: MIT */
/* filesystem_test: the seams the filesystem collector's unit tests use
 * (a statfs that blocks or fails on demand, the count of threads left
 * blocked at exit). Not part of the collector's face: only filesystem.c and
 * its tests include it. */
#ifndef BPFPUSH_FILESYSTEM_TEST_H
#define BPFPUSH_FILESYSTEM_TEST_H

#include <sys/vfs.h>

#include "collectors/collector.h"

/* statfs(2), or what a test puts in its place: 0, or -1 with errno set. */
typedef int (*filesystem_stat_fn)(const char *path, struct statfs *out);

/* Tests: makes ctx's (initialised) filesystem collector call fn instead of
 * statfs(2) from now on. */
void filesystem_set_stat_fn(struct collector_ctx *ctx, filesystem_stat_fn fn);

/* Worker threads that were still blocked in a stat call when their
 * collector exited: detached, they free themselves when the call returns.
 * Tests wait for this to fall to 0 before they end. */
unsigned filesystem_orphaned_threads(void);

#endif
