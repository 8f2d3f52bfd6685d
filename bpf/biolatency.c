/* SPDX-License-Identifier: MIT */
/* biolatency: block IO latency (seconds) and size (bytes) per device and
 * operation, as Prometheus histograms. Kernel side in biolatency.bpf.c.
 *
 * What is timed (option latency_from, see biolatency.bpf.c): request
 * (default), the request's whole life as /proc/diskstats accounts it, one
 * program at completion; or issue, the device's time alone, a program at
 * issue and one at completion around an in-flight map.
 *
 * Hook: tp_btf/block_rq_complete (and block_rq_issue) (BTF-typed raw
 * tracepoints: direct reads of the request), else raw_tp with probe reads
 * (kernels before 5.11 pass the request second, and tp_btf cannot take
 * that shape); the option `hook` (auto, tp_btf, raw_tp) pins one.
 *
 * Devices: the kernel side maps a request's disk (dev_t) to a dense row
 * through a table this side fills: every disk under /sys/block at init, and
 * any disk the kernel side reports it did not find (a device that appeared
 * later), up to max_devices; the rest count as device="other". */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/log.h"
#include "bpf/biolatency.h"
#include "bpf/biolatency.skel.h" /* generated into $(BUILD)/bpf */
#include "bpf/bpfutil.h"
#include "bpf/btf_enum.h"
#include "bpf/loader.h"
#include "lib/devname.h"

BPF_SKEL_OPS(biolatency_bpf);

/* Latency buckets up to 2^27 us (134 s); size buckets up to 2^26 bytes
 * (64 MiB, past any single request); larger values count in +Inf. */
#define BIO_LATENCY_BUCKETS 27
#define BIO_SIZE_BUCKETS 26
/* max_inflight's ceiling: 1 Mi requests in flight (a hash of ~70 MiB). */
#define BIO_MAX_INFLIGHT (1024 * 1024)

struct biolatency_opts {
	char *latency_from;   /* request, issue */
	char *hook;           /* auto, tp_btf, raw_tp */
	int64_t max_inflight; /* requests timed at once */
	int64_t max_devices;  /* disks with their own series (at most 256); more are "other" */
};

static const struct opt_desc biolatency_opt_descs[] = {
	{"latency_from", OPT_ENUM, "request|issue", offsetof(struct biolatency_opts, latency_from), 0},
	{"hook", OPT_ENUM, "auto|tp_btf|raw_tp", offsetof(struct biolatency_opts, hook), 0},
	{"max_inflight", OPT_INT, "10240", offsetof(struct biolatency_opts, max_inflight),
	 BIO_MAX_INFLIGHT},
	{"max_devices", OPT_INT, "32", offsetof(struct biolatency_opts, max_devices),
	 BIO_MAX_DEVICES},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

enum bio_from { BIO_FROM_REQUEST, BIO_FROM_ISSUE, BIO_FROMS };
static const char *const from_option[BIO_FROMS] = {"request", "issue"};

static const struct metric_desc latency_desc[BIO_FROMS] = {
	{"kernel_block_io_latency_seconds",
	 "Block IO request latency: from the request's creation to its completion, queueing "
	 "included (the time /proc/diskstats adds up).",
	 METRIC_HISTOGRAM},
	{"kernel_block_io_latency_seconds",
	 "Block IO request latency in the device: from issue to the driver to completion.",
	 METRIC_HISTOGRAM},
};
static const struct metric_desc size_desc = {
	"kernel_block_io_size_bytes",
	"Block IO request size, counted at completion.", METRIC_HISTOGRAM};
static const struct metric_desc untimed_desc = {
	"kernel_block_io_untimed_requests_total",
	"Block IO requests not timed, by reason: inflight_full (max_inflight requests were "
	"already being timed), no_start_time (the kernel did not stamp the request: iostats off).",
	METRIC_COUNTER};

static const char *const op_names[BIO_OPS] = {"read", "write", "flush", "discard", "other"};

/* tp_btf's programs take the request as their first argument; raw_tp's
 * find it where this kernel passes it. The request method needs no issue
 * hook. */
enum bio_hook { BIO_HOOK_TP_BTF, BIO_HOOK_RAW_TP };
static const struct bpf_hook request_hooks[] = {
	{BPF_RAW_TP, NULL, "block_rq_complete"}, BPF_HOOKS_END};
static const struct bpf_hook issue_hooks[] = {
	{BPF_RAW_TP, NULL, "block_rq_issue"}, {BPF_RAW_TP, NULL, "block_rq_complete"}, BPF_HOOKS_END};
static const char *const done_btf[] = {"biolat_done", NULL};
static const char *const done_raw[] = {"biolat_done_raw", NULL};
static const char *const issue_btf[] = {"biolat_issue", "biolat_complete", NULL};
static const char *const issue_raw[] = {"biolat_issue_raw", "biolat_complete_raw", NULL};
static const struct bpf_way ways[BIO_FROMS][2] = {
	[BIO_FROM_REQUEST] = {{"tp_btf", NULL, request_hooks, done_btf},
			      {"raw_tp", NULL, request_hooks, done_raw}},
	[BIO_FROM_ISSUE] = {{"tp_btf", NULL, issue_hooks, issue_btf},
			    {"raw_tp", NULL, issue_hooks, issue_raw}},
};

struct bio_device {
	uint32_t dev;
	bool named;
	char name[64];
};

struct bio_state {
	int from; /* enum bio_from */
	int issue_arg, complete_arg; /* where block_rq_issue, block_rq_complete pass the request */
	const char *sysfs;
	uint32_t max_devices, n_devices;
	struct bio_device *devices;
	uint64_t unknown_seen; /* BIO_UNKNOWN_DEVICE at the last look */
	bool told_no_start_time;
	struct bio_dev_memo *memos; /* one per possible CPU */
};

static void add_device(uint32_t dev, void *arg)
{
	struct bpf_run *r = arg;
	struct bio_state *st = r->state;
	struct biolatency_bpf *skel = r->skel;
	struct bio_device *d;
	uint32_t row;

	if (!dev)
		return;
	for (uint32_t i = 0; i < st->n_devices; i++)
		if (st->devices[i].dev == dev)
			return;
	if (st->n_devices >= st->max_devices)
		return; /* full: the rest are "other" */
	row = st->n_devices;
	d = &st->devices[row];
	d->dev = dev;
	d->named = devname_lookup(st->sysfs, dev, d->name, sizeof(d->name));
	/* The kernel side reads it from now on (the .bss is shared memory). */
	((volatile __u32 *)skel->bss->devices)[row] = dev;
	st->n_devices++;
}

/* Devices the kernel side did not find: each CPU remembers its last one. */
static void add_unknown_devices(struct bpf_run *r)
{
	struct bio_state *st = r->state;
	struct biolatency_bpf *skel = r->skel;
	uint32_t zero = 0;
	int ncpu = bpf_possible_cpus();

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.memo), &zero, st->memos) < 0)
		return;
	for (int cpu = 0; cpu < ncpu; cpu++)
		add_device(st->memos[cpu].unknown_dev, r);
}

/* The req_op values of the four named operations, from the kernel's BTF
 * (enum req_op); without BTF for them, the values Linux has used since
 * 4.10 (READ 0, WRITE 1, FLUSH 2, DISCARD 3). */
static void fill_op_table(struct biolatency_bpf *skel, const struct btf *btf)
{
	static const char *const enumerators[] = {"REQ_OP_READ", "REQ_OP_WRITE", "REQ_OP_FLUSH",
						  "REQ_OP_DISCARD"};
	__u8 *op_of = (__u8 *)skel->rodata->op_of;

	memset(op_of, BIO_OP_OTHER, BIO_REQ_OP_MASK + 1);
	for (int op = 0; op < 4; op++) {
		int64_t v = op;

		if (!btf_enum_value(btf, enumerators[op], &v))
			v = op;
		if (v >= 0 && v <= BIO_REQ_OP_MASK)
			op_of[v] = (__u8)op;
	}
}

static enum bio_from from_of(const struct biolatency_opts *opts)
{
	return opts && opts->latency_from && !strcmp(opts->latency_from, from_option[BIO_FROM_ISSUE])
		       ? BIO_FROM_ISSUE
		       : BIO_FROM_REQUEST;
}

static const struct bpf_way *ways_for(const void *opts, size_t *n)
{
	*n = 2;
	return ways[from_of(opts)];
}

/* Where the tracepoints pass the request, and the device table. */
static int biolatency_prepare(struct bpf_run *r)
{
	const struct biolatency_opts *opts = r->opts;
	struct bio_state *st = r->state;
	const struct btf *btf = bpf_kernel_btf();

	st->issue_arg = btf_enum_tp_arg(btf, "block_rq_issue", "request");
	st->complete_arg = btf_enum_tp_arg(btf, "block_rq_complete", "request");
	if (st->issue_arg < 0 || st->issue_arg > 1 || st->complete_arg < 0 ||
	    st->complete_arg > 1) {
		bpf_log_lacks_hook("biolatency", "raw_tp/block_rq_issue",
				   "reason=\"no struct request argument\"");
		return BPF_LOGGED;
	}
	st->from = from_of(opts);
	st->sysfs = r->global && r->global->sysfs ? r->global->sysfs : "/sys";
	st->max_devices = opts ? (uint32_t)opts->max_devices : 32; /* config: <= BIO_MAX_DEVICES */
	st->devices = calloc(st->max_devices + 1, sizeof(*st->devices));
	st->memos = calloc((size_t)bpf_possible_cpus(), sizeof(*st->memos));
	return st->devices && st->memos ? 0 : -1;
}

/* Hook r->way's rodata and map sizes. */
static int biolatency_configure(struct bpf_run *r)
{
	const struct biolatency_opts *opts = r->opts;
	const struct bio_state *st = r->state;
	struct biolatency_bpf *skel = r->skel;
	uint32_t hist_entries = (st->max_devices + 1) * BIO_OPS * HIST_ENTRIES;
	uint32_t inflight = 1; /* the request method keeps no in-flight map */

	if (r->way == BIO_HOOK_TP_BTF && (st->issue_arg != 0 || st->complete_arg != 0)) {
		errno = EINVAL;
		return -1;
	}
	skel->rodata->max_devices = st->max_devices;
	skel->rodata->issue_rq_arg = (__u8)st->issue_arg;
	skel->rodata->complete_rq_arg = (__u8)st->complete_arg;
	fill_op_table(skel, bpf_kernel_btf());
	if (st->from == BIO_FROM_ISSUE)
		inflight = opts && opts->max_inflight > 0 ? (uint32_t)opts->max_inflight : 10240;
	if (bpf_map__set_max_entries(skel->maps.inflight, inflight) ||
	    bpf_map__set_max_entries(skel->maps.latency, hist_entries) ||
	    bpf_map__set_max_entries(skel->maps.size, hist_entries))
		return -1;
	return 0;
}

/* The table before the programs run: IO from the start is attributed. */
static int biolatency_ready(struct bpf_run *r)
{
	struct bio_state *st = r->state;

	st->n_devices = 0;
	devname_each_disk(st->sysfs, add_device, r);
	return 0;
}

static void biolatency_describe(const struct bpf_run *r, char *buf, size_t size)
{
	const struct bio_state *st = r->state;

	snprintf(buf, size, "latency_from=%s hook=%s", from_option[st->from],
		 ways[st->from][r->way].option);
}

static void biolatency_release(struct bpf_run *r)
{
	struct bio_state *st = r->state;

	free(st->devices);
	free(st->memos);
	devname_free();
}

/* Emits histogram h (row * BIO_OPS + op) once it has counted anything:
 * the latency sum of a completed request is never 0. The kernel side marks
 * the histograms it counts into (counted[] in the mmapped .bss): the rest
 * cost no system call. Without the mapping, the sum slot is probed first. */
static int emit_row_op(struct bpf_run *r, struct registry *reg, uint32_t h, const char *device,
		       const char *op)
{
	struct bio_state *st = r->state;
	struct biolatency_bpf *skel = r->skel;
	const volatile __u8 *counted = skel->bss ? skel->bss->counted : NULL;
	int lat_fd = bpf_map__fd(skel->maps.latency);
	int size_fd = bpf_map__fd(skel->maps.size);
	uint64_t entries[HIST_ENTRIES], sum;
	struct label l[2] = {{"device", device}, {"operation", op}};

	if (counted && !counted[h])
		return 0;
	if (!counted) {
		if (bpf_percpu_sum(lat_fd, h * HIST_ENTRIES + HIST_SUM_SLOT, 1, &sum) < 0)
			return -1;
		if (!sum)
			return 0;
	}
	if (bpf_percpu_sum(lat_fd, h * HIST_ENTRIES, HIST_ENTRIES, entries) < 0)
		return -1;
	if (!entries[HIST_SUM_SLOT])
		return 0; /* marked, its first count not added yet */
	bpf_emit_log2_histogram(reg, &latency_desc[st->from], l, 2, entries, BIO_LATENCY_BUCKETS,
				BIO_UNIT_NS / 1e9, 1e-9);
	if (bpf_percpu_sum(size_fd, h * HIST_ENTRIES, HIST_ENTRIES, entries) < 0)
		return -1;
	bpf_emit_log2_histogram(reg, &size_desc, l, 2, entries, BIO_SIZE_BUCKETS, 1, 1);
	return 0;
}

static void emit_untimed(struct bio_state *st, struct registry *reg,
			 const uint64_t counters[BIO_COUNTERS])
{
	struct label inflight = {"reason", "inflight_full"}, unstamped = {"reason", "no_start_time"};

	registry_emit(reg, &untimed_desc, NULL, &inflight, 1, (double)counters[BIO_START_OVERFLOW],
		      0);
	registry_emit(reg, &untimed_desc, NULL, &unstamped, 1, (double)counters[BIO_NO_START_TIME],
		      0);
	if (counters[BIO_NO_START_TIME] && !st->told_no_start_time) {
		st->told_no_start_time = true;
		log_msg(LOG_WARN, "block IO requests without a start time are not timed",
			"collector=biolatency requests=%llu hint=\"a disk with iostats off and no IO "
			"scheduler: echo 1 > /sys/block/DISK/queue/iostats, or latency_from: issue\"",
			(unsigned long long)counters[BIO_NO_START_TIME]);
	}
}

static int biolatency_update(struct bpf_run *r, struct registry *reg)
{
	struct bio_state *st = r->state;
	struct biolatency_bpf *skel = r->skel;
	uint64_t counters[BIO_COUNTERS];

	if (bpf_percpu_sum(bpf_map__fd(skel->maps.counters), 0, BIO_COUNTERS, counters) < 0)
		return -1;
	if (counters[BIO_UNKNOWN_DEVICE] != st->unknown_seen) {
		st->unknown_seen = counters[BIO_UNKNOWN_DEVICE];
		add_unknown_devices(r);
	}
	for (uint32_t row = 0; row < st->n_devices; row++) {
		struct bio_device *d = &st->devices[row];

		if (!d->named)
			d->named = devname_lookup(st->sysfs, d->dev, d->name, sizeof(d->name));
		for (uint32_t op = 0; op < BIO_OPS; op++)
			if (emit_row_op(r, reg, row * BIO_OPS + op, d->name, op_names[op]) < 0)
				return -1;
	}
	for (uint32_t op = 0; op < BIO_OPS; op++)
		if (emit_row_op(r, reg, st->max_devices * BIO_OPS + op, "other", op_names[op]) < 0)
			return -1;
	emit_untimed(st, reg, counters);
	return 0;
}

const struct bpf_collector bpf_collector_biolatency = {
	.collector = BPF_COLLECTOR("biolatency", true, sizeof(struct biolatency_opts),
				   biolatency_opt_descs),
	.skel = &biolatency_bpf_ops,
	.state_size = sizeof(struct bio_state),
	.ways_for = ways_for,
	.pin_option = "hook",
	.fail_names_pin = true,
	.prepare = biolatency_prepare,
	.configure = biolatency_configure,
	.ready = biolatency_ready,
	.describe = biolatency_describe,
	.update = biolatency_update,
	.release = biolatency_release,
};
