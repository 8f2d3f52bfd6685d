// SPDX-License-Identifier: GPL-2.0
/* biolatency: block IO latency and size per device and operation.
 *
 * Latency runs from block_rq_issue (the request is handed to the driver)
 * to block_rq_complete (the driver completed it): the device's own time,
 * what bcc's biolatency measures without -Q. block_io_start/block_io_done
 * (6.5+) would also count the time a request waits in the IO scheduler;
 * that is queueing, not device latency, and those two tracepoints are
 * missing on older kernels, so they are not used.
 *
 * Raw tracepoints, no tracefs: BTF-typed ones (tp_btf) where the kernel
 * takes them, since they read the request's fields directly (a probe read
 * costs ~25 ns each here, six of them doubled the issue program's cost),
 * else plain raw_tp with probe reads. The issue timestamp lives in
 * a bounded hash keyed by the request pointer (its only use; a full table
 * is counted); the histograms are per-CPU arrays, which take no lock. A
 * device becomes a dense row through a small table user space fills,
 * searched linearly (bounded) after a per-CPU one-entry memo. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/biolatency.h"
#include "bpf/bits.bpf.h"
#include "bpf/maps.bpf.h"

/* Set by user space before load. */
const volatile __u32 max_devices = 32;
const volatile __u8 op_of[BIO_REQ_OP_MASK + 1] = {}; /* req_op value -> enum bio_op */
const volatile __u8 issue_rq_arg = 0;    /* position of struct request * */
const volatile __u8 complete_rq_arg = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240); /* max_inflight */
	__type(key, u64);
	__type(value, struct bio_start);
} inflight SEC(".maps");

/* Row -> dev_t, filled by user space through the mmapped .bss while the
 * programs run; 0 ends the table. Plain memory, not a map: the search
 * indexes it directly (no helper call per step), and the verifier tracks
 * the index exactly, so the bounded loop verifies. */
__u32 devices[BIO_MAX_DEVICES];

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct bio_dev_memo);
} memo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, (32 + 1) * BIO_OPS * HIST_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, (32 + 1) * BIO_OPS * HIST_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} size SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BIO_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

/* Before 5.15 the disk hung off the request itself. */
struct request___pre515 {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline u32 device_row(u32 dev)
{
	u32 zero = 0;
	struct bio_dev_memo *m = bpf_map_lookup_elem(&memo, &zero);

	if (m && dev && m->dev == dev)
		return m->row;
	for (u32 i = 0; i < BIO_MAX_DEVICES && i < max_devices; i++) {
		u32 d = devices[i];

		if (!d)
			break;
		if (d == dev) {
			if (m) {
				m->dev = dev;
				m->row = i;
			}
			return i;
		}
	}
	percpu_add(&counters, BIO_UNKNOWN_DEVICE, 1);
	if (m)
		m->unknown_dev = dev;
	return max_devices;
}

/* btf: rq is a BTF pointer (tp_btf), read directly; otherwise a raw one
 * (raw_tp), read with probe reads. The compiler keeps only one branch. */
static __always_inline int issue(struct request *rq, const bool btf)
{
	struct request___pre515 *old = (void *)rq;
	struct gendisk *disk;
	struct bio_start s;
	u64 key = (u64)rq;
	u32 dev, flags;

	if (btf)
		disk = bpf_core_field_exists(old->rq_disk) ? old->rq_disk : rq->q->disk;
	else
		disk = bpf_core_field_exists(old->rq_disk) ? BPF_CORE_READ(old, rq_disk)
							   : BPF_CORE_READ(rq, q, disk);
	if (!disk)
		return 0; /* passthrough request on a queue without a disk */
	if (btf) {
		dev = ((u32)disk->major << 20) | (u32)disk->first_minor;
		flags = rq->cmd_flags;
		s.bytes = rq->__data_len;
	} else {
		dev = ((u32)BPF_CORE_READ(disk, major) << 20) |
		      (u32)BPF_CORE_READ(disk, first_minor);
		flags = BPF_CORE_READ(rq, cmd_flags);
		s.bytes = BPF_CORE_READ(rq, __data_len);
	}
	s.hist = device_row(dev) * BIO_OPS + op_of[flags & BIO_REQ_OP_MASK];
	s.ts = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&inflight, &key, &s, BPF_ANY))
		percpu_add(&counters, BIO_START_OVERFLOW, 1);
	return 0;
}

static __always_inline int complete(u64 key)
{
	struct bio_start *s = bpf_map_lookup_elem(&inflight, &key);
	u64 delta, slot, base, bytes;

	if (!s)
		return 0; /* issued before we attached, or not timed */
	delta = bpf_ktime_get_ns() - s->ts;
	base = (u64)s->hist * HIST_ENTRIES;
	bytes = s->bytes;
	/* A request completes in parts only when the driver says so; the
	 * first part ends the timing. */
	bpf_map_delete_elem(&inflight, &key);

	slot = log2_u64(delta / BIO_UNIT_NS);
	if (slot >= HIST_SLOTS)
		slot = HIST_SLOTS - 1;
	percpu_add(&latency, (u32)(base + slot), 1);
	percpu_add(&latency, (u32)(base + HIST_SUM_SLOT), delta);

	slot = bytes > 1 ? log2_u64(bytes - 1) : 0;
	if (slot >= HIST_SLOTS)
		slot = HIST_SLOTS - 1;
	percpu_add(&size, (u32)(base + slot), 1);
	percpu_add(&size, (u32)(base + HIST_SUM_SLOT), bytes);
	return 0;
}

/* tp_btf: the request is the first argument (Linux 5.11+), typed. */
SEC("tp_btf/block_rq_issue")
int BPF_PROG(biolat_issue, struct request *rq)
{
	return issue(rq, true);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(biolat_complete, struct request *rq)
{
	return complete((u64)rq);
}

/* raw_tp: the request at whichever position this kernel passes it. */
SEC("raw_tp/block_rq_issue")
int biolat_issue_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return issue((void *)(issue_rq_arg ? ctx->args[1] : ctx->args[0]), false);
}

SEC("raw_tp/block_rq_complete")
int biolat_complete_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return complete(complete_rq_arg ? ctx->args[1] : ctx->args[0]);
}

char LICENSE[] SEC("license") = "GPL";
