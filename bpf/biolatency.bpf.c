/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* biolatency: block IO latency and size per device and operation.
 *
 * Two ways to time a request; user space loads one (option latency_from):
 *  - request (default): from the request's creation to its completion,
 *    the time /proc/diskstats adds up (node_exporter's
 *    disk_read_time_seconds_total, iostat's r_await): queueing in the
 *    block layer plus the device. The kernel stamps every accounted
 *    request (rq->start_time_ns) for that very sum, so one program at
 *    completion does it all: no issue hook, no in-flight map, one clock
 *    read per IO. A request without the stamp (iostats off on a queue
 *    without an IO scheduler) is counted as untimed, never guessed.
 *  - issue: from block_rq_issue (handed to the driver) to completion, the
 *    device's own time, what bcc's biolatency measures without -Q. The
 *    issue time lives in a bounded hash keyed by the request pointer (a
 *    full table is counted): a bucket lock and a second clock read per IO.
 *
 * Raw tracepoints, no tracefs: BTF-typed ones (tp_btf) where the kernel
 * takes them, since they read the request's fields directly, else plain
 * raw_tp with a probe-read helper call per field (`pytest -s
 * test/bpf/test_bpf_biolatency.py` prints both: 197 and 408 ns per IO
 * here with latency_from: request). The
 * histograms are per-CPU arrays, which take no lock. A device becomes a
 * dense row through a small table user space fills, searched linearly
 * (bounded) after a per-CPU one-entry memo. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/biolatency.h"
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

/* The histogram of rq (row * BIO_OPS + op), or -1 for a request without
 * a disk (passthrough on a queue without one). btf: rq is a BTF pointer
 * (tp_btf), read directly; otherwise a raw one (raw_tp), read with probe
 * reads. The compiler keeps only one branch. */
static __always_inline long request_hist(struct request *rq, const bool btf)
{
	struct request___pre515 *old = (void *)rq;
	struct gendisk *disk;
	u32 dev, flags;

	if (btf)
		disk = bpf_core_field_exists(old->rq_disk) ? old->rq_disk : rq->q->disk;
	else
		disk = bpf_core_field_exists(old->rq_disk) ? BPF_CORE_READ(old, rq_disk)
							   : BPF_CORE_READ(rq, q, disk);
	if (!disk)
		return -1;
	if (btf) {
		dev = ((u32)disk->major << 20) | (u32)disk->first_minor;
		flags = rq->cmd_flags;
	} else {
		dev = ((u32)BPF_CORE_READ(disk, major) << 20) |
		      (u32)BPF_CORE_READ(disk, first_minor);
		flags = BPF_CORE_READ(rq, cmd_flags);
	}
	return device_row(dev) * BIO_OPS + op_of[flags & BIO_REQ_OP_MASK];
}

/* Histogram number h has counted something: user space reads only these
 * (each read is a system call, and most device x operation pairs never
 * count). Through the mmapped .bss; a byte each, stored once, before the
 * counts (see portcount.h). */
__u8 counted[(BIO_MAX_DEVICES + 1) * BIO_OPS];

static __always_inline void record(u32 hist, u64 delta, u64 bytes)
{
	if (hist < sizeof(counted) && !counted[hist])
		((volatile __u8 *)counted)[hist] = 1;
	hist_add(&latency, hist, delta / BIO_UNIT_NS, delta);
	hist_add(&size, hist, bytes > 1 ? bytes - 1 : 0, bytes);
}

/* ---- latency_from: request ------------------------------------------ */

/* The tracepoint fires once per completed part; nr_bytes covers what is
 * left (__data_len) only at the last one, which ends the request. Its
 * size is that last part: the whole request unless the driver completed
 * it in parts, which is rare (errors, some SCSI). */
static __always_inline int done(struct request *rq, u32 nr_bytes, const bool btf)
{
	u64 start = btf ? rq->start_time_ns : BPF_CORE_READ(rq, start_time_ns);
	u32 left = btf ? rq->__data_len : BPF_CORE_READ(rq, __data_len);
	long hist;

	if (nr_bytes < left)
		return 0;
	hist = request_hist(rq, btf);
	if (hist < 0)
		return 0;
	if (!start) {
		/* Not accounted by the kernel; driver-private requests never are. */
		if (hist % BIO_OPS != BIO_OP_OTHER)
			percpu_add(&counters, BIO_NO_START_TIME, 1);
		return 0;
	}
	record((u32)hist, bpf_ktime_get_ns() - start, nr_bytes);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(biolat_done, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	return done(rq, nr_bytes, true);
}

/* raw_tp: (rq, error, nr_bytes), or (q, rq, nr_bytes) on old kernels;
 * nr_bytes is the third either way. */
SEC("raw_tp/block_rq_complete")
int biolat_done_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return done((void *)(complete_rq_arg ? ctx->args[1] : ctx->args[0]), (u32)ctx->args[2],
		    false);
}

/* ---- latency_from: issue -------------------------------------------- */

static __always_inline int issue(struct request *rq, const bool btf)
{
	long hist = request_hist(rq, btf);
	u64 key = (u64)rq;
	struct bio_start s;

	if (hist < 0)
		return 0;
	s.hist = (u32)hist;
	s.bytes = btf ? rq->__data_len : BPF_CORE_READ(rq, __data_len);
	s.ts = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&inflight, &key, &s, BPF_ANY))
		percpu_add(&counters, BIO_START_OVERFLOW, 1);
	return 0;
}

static __always_inline int complete(u64 key)
{
	struct bio_start *s = bpf_map_lookup_elem(&inflight, &key);
	u64 delta;
	u32 hist, bytes;

	if (!s)
		return 0; /* issued before we attached, or not timed */
	delta = bpf_ktime_get_ns() - s->ts;
	hist = s->hist;
	bytes = s->bytes;
	/* A request completes in parts only when the driver says so; the
	 * first part ends the timing. */
	bpf_map_delete_elem(&inflight, &key);
	record(hist, delta, bytes);
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

char LICENSE[] SEC("license") = "Dual MIT/GPL";
