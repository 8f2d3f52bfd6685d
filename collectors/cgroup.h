/* SPDX-License-Identifier: MIT */
/* cgroup: the options of the cgroup collector, filled by config from its
 * opt_desc (see cgroup.c for what it emits). What it shares with others
 * that name cgroup v2 groups is in lib/cgroupfs.h. */
#ifndef BPFPUSH_CGROUP_H
#define BPFPUSH_CGROUP_H

#include <stdint.h>

#define CGROUP_DEFAULT_MAX_DEPTH "3"
#define CGROUP_DEFAULT_MAX_GROUPS "500"

struct cgroup_opts {
	int64_t max_depth;  /* levels below the root walked; 0: the root only */
	int64_t max_groups; /* groups reported per round, shallowest first */
};

#endif
