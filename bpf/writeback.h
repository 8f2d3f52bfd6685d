/* SPDX-License-Identifier: MIT */
/* writeback: what writeback.bpf.c and writeback.c share. */
#ifndef BPFPUSH_WRITEBACK_H
#define BPFPUSH_WRITEBACK_H

/* An inode's writeback moving from one cgroup to another: the cgroups'
 * ids (their directory inode numbers on the cgroup2 mount). */
struct wb_switch {
	__u64 old_cgroup;
	__u64 new_cgroup;
};

/* Per-CPU counters beside the per-pair counts. */
enum writeback_counter {
	WRITEBACK_PAIRS_FULL, /* switches not counted per pair: max_pairs reached */
	WRITEBACK_COUNTERS
};

#endif
