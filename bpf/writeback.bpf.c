/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* writeback: inodes whose writeback switched cgroups
 * (writeback:inode_switch_wbs), by old and new cgroup: the storm (docs/design.md) of
 * inodes leaving a removed cgroup for its parent, which kept kworkers busy
 * in inode_switch_wbs_work_fn.
 *
 * Pairs of cgroup ids are not a small dense key: a bounded per-CPU hash,
 * looked up lock-free and incremented in place; only a new pair inserts
 * (one bucket spinlock, once). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/maps.bpf.h"
#include "bpf/writeback.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024); /* user space sets it from max_pairs */
	__type(key, struct wb_switch);
	__type(value, u64);
} switches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WRITEBACK_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

static __always_inline int count(struct wb_switch *key)
{
	u64 one = 1, *n = bpf_map_lookup_elem(&switches, key);

	if (n) {
		*n += 1;
		return 0;
	}
	if (!bpf_map_update_elem(&switches, key, &one, BPF_NOEXIST))
		return 0;
	n = bpf_map_lookup_elem(&switches, key);
	if (n)
		*n += 1;
	else
		percpu_add(&counters, WRITEBACK_PAIRS_FULL, 1);
	return 0;
}

/* What the tracepoint itself reports: the memory cgroup's kernfs id. */
static __always_inline u64 wb_cgroup(const struct bdi_writeback *wb)
{
	return BPF_CORE_READ(wb, memcg_css, cgroup, kn, id);
}

SEC("raw_tp/inode_switch_wbs")
int BPF_PROG(writeback_switch, struct inode *inode, struct bdi_writeback *old_wb,
	     struct bdi_writeback *new_wb)
{
	struct wb_switch key = {wb_cgroup(old_wb), wb_cgroup(new_wb)};

	return count(&key);
}

SEC("tracepoint/writeback/inode_switch_wbs")
int writeback_switch_tp(struct trace_event_raw_inode_switch_wbs *ctx)
{
	struct wb_switch key = {ctx->old_cgroup_ino, ctx->new_cgroup_ino};

	return count(&key);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
