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
#include "bpf/bpf_collector.h"
#include "bpf/bpfutil.h"
#include "bpf/btf_enum.h"
#include "lib/devname.h"

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
static const char *const hooks[] = {"block_rq_issue", "block_rq_complete"};

struct bio_device {
	uint32_t dev;
	bool named;
	char name[64];
};

struct bio_state {
	struct biolatency_bpf *skel;
	int from; /* enum bio_from */
	int hook; /* enum bio_hook */
	const char *sysfs;
	uint32_t max_devices, n_devices;
	struct bio_device *devices;
	uint64_t unknown_seen; /* BIO_UNKNOWN_DEVICE at the last look */
	bool told_no_start_time;
	struct bio_dev_memo *memos; /* one per possible CPU */
};

static void add_device(uint32_t dev, void *arg)
{
	struct bio_state *st = arg;
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
	((volatile __u32 *)st->skel->bss->devices)[row] = dev;
	st->n_devices++;
}

/* Devices the kernel side did not find: each CPU remembers its last one. */
static void add_unknown_devices(struct bio_state *st)
{
	uint32_t zero = 0;
	int ncpu = bpf_possible_cpus();

	if (bpf_map_lookup_elem(bpf_map__fd(st->skel->maps.memo), &zero, st->memos) < 0)
		return;
	for (int cpu = 0; cpu < ncpu; cpu++)
		add_device(st->memos[cpu].unknown_dev, st);
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

static void destroy(struct bio_state *st)
{
	if (!st)
		return;
	biolatency_bpf__destroy(st->skel);
	free(st->devices);
	free(st->memos);
	free(st);
}

enum bio_hook { BIO_HOOK_TP_BTF, BIO_HOOK_RAW_TP, BIO_HOOKS };
static const char *const hook_option[BIO_HOOKS] = {"tp_btf", "raw_tp"};

/* Leaves on only the programs of method `from` on hook h. */
static void choose_programs(struct biolatency_bpf *skel, enum bio_from from, enum bio_hook h)
{
	struct bpf_program *progs[BIO_FROMS][BIO_HOOKS][2] = {
		[BIO_FROM_REQUEST] = {{skel->progs.biolat_done}, {skel->progs.biolat_done_raw}},
		[BIO_FROM_ISSUE] = {{skel->progs.biolat_issue, skel->progs.biolat_complete},
				    {skel->progs.biolat_issue_raw, skel->progs.biolat_complete_raw}},
	};

	for (int f = 0; f < BIO_FROMS; f++)
		for (int k = 0; k < BIO_HOOKS; k++)
			for (int i = 0; i < 2; i++)
				if (progs[f][k][i])
					bpf_program__set_autoload(progs[f][k][i],
								  f == (int)from && k == (int)h);
}

/* Opens and loads the skeleton with only the programs of st->from on hook
 * h. 0 or -1 (errno set, st->skel NULL). */
static int load(struct bio_state *st, const struct biolatency_opts *opts, const struct btf *btf,
		enum bio_hook h, int issue_arg, int complete_arg)
{
	struct biolatency_bpf *skel = biolatency_bpf__open();
	uint32_t hist_entries = (st->max_devices + 1) * BIO_OPS * HIST_ENTRIES;
	uint32_t inflight = 1; /* the request method keeps no in-flight map */
	int err;

	if (!skel)
		return -1;
	skel->rodata->max_devices = st->max_devices;
	skel->rodata->issue_rq_arg = (__u8)issue_arg;
	skel->rodata->complete_rq_arg = (__u8)complete_arg;
	fill_op_table(skel, btf);
	choose_programs(skel, (enum bio_from)st->from, h);
	if (st->from == BIO_FROM_ISSUE)
		inflight = opts && opts->max_inflight > 0 ? (uint32_t)opts->max_inflight : 10240;
	if (bpf_map__set_max_entries(skel->maps.inflight, inflight) ||
	    bpf_map__set_max_entries(skel->maps.latency, hist_entries) ||
	    bpf_map__set_max_entries(skel->maps.size, hist_entries) || biolatency_bpf__load(skel)) {
		err = errno;
		biolatency_bpf__destroy(skel);
		errno = err;
		return -1;
	}
	st->skel = skel;
	return 0;
}

static int biolatency_init(struct collector_ctx *ctx)
{
	const struct biolatency_opts *opts = ctx->opts;
	const char *want = opts && opts->hook && *opts->hook ? opts->hook : "auto";
	struct bio_state *st = NULL;
	const struct btf *btf;
	int issue_arg, complete_arg, err = 0;
	enum bio_from from = BIO_FROM_REQUEST;

	bpf_setup();
	if (opts && opts->latency_from && !strcmp(opts->latency_from, from_option[BIO_FROM_ISSUE]))
		from = BIO_FROM_ISSUE;
	/* The request method needs no issue hook. */
	for (size_t i = from == BIO_FROM_REQUEST; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		if (!bpf_has_raw_tracepoint(hooks[i])) {
			log_msg(LOG_WARN, "bpf collector disabled: kernel lacks its hook",
				"collector=biolatency hook=raw_tp/%s", hooks[i]);
			return -1;
		}
	}
	btf = bpf_kernel_btf();
	issue_arg = btf_enum_tp_arg(btf, "block_rq_issue", "request");
	complete_arg = btf_enum_tp_arg(btf, "block_rq_complete", "request");
	if (issue_arg < 0 || issue_arg > 1 || complete_arg < 0 || complete_arg > 1) {
		log_msg(LOG_WARN, "bpf collector disabled: kernel lacks its hook",
			"collector=biolatency hook=raw_tp/block_rq_issue "
			"reason=\"no struct request argument\"");
		return -1;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		goto fail;
	st->from = from;
	st->sysfs = ctx->global && ctx->global->sysfs ? ctx->global->sysfs : "/sys";
	st->max_devices = opts ? (uint32_t)opts->max_devices : 32; /* config: <= BIO_MAX_DEVICES */
	st->devices = calloc(st->max_devices + 1, sizeof(*st->devices));
	st->memos = calloc((size_t)bpf_possible_cpus(), sizeof(*st->memos));
	if (!st->devices || !st->memos)
		goto fail;
	for (int h = 0; h < BIO_HOOKS && !st->skel; h++) {
		/* tp_btf's programs take the request as their first argument. */
		if (strcmp(want, "auto") != 0 && strcmp(want, hook_option[h]) != 0)
			continue;
		if (h == BIO_HOOK_TP_BTF && (issue_arg != 0 || complete_arg != 0)) {
			err = EINVAL;
			continue;
		}
		if (load(st, opts, btf, (enum bio_hook)h, issue_arg, complete_arg) < 0)
			err = errno;
		else
			st->hook = h;
	}
	if (!st->skel) {
		errno = err;
		goto fail;
	}
	/* The table before the programs run: IO from the start is attributed. */
	devname_each_disk(st->sysfs, add_device, st);
	if (biolatency_bpf__attach(st->skel))
		goto fail;
	log_msg(LOG_INFO, "bpf collector loaded", "collector=biolatency latency_from=%s hook=%s",
		from_option[st->from], hook_option[st->hook]);
	ctx->state = st;
	return 0;
fail:
	log_msg(LOG_WARN, "bpf collector disabled: cannot load or attach",
		"collector=biolatency hook=%s err=%d", want, -errno);
	destroy(st);
	return -1;
}

/* Emits histogram h (row * BIO_OPS + op) once it has counted anything:
 * the latency sum of a completed request is never 0. */
static int emit_row_op(struct bio_state *st, struct registry *reg, uint32_t h,
		       const char *device, const char *op)
{
	int lat_fd = bpf_map__fd(st->skel->maps.latency);
	int size_fd = bpf_map__fd(st->skel->maps.size);
	uint64_t entries[HIST_ENTRIES], sum;
	struct label l[2] = {{"device", device}, {"operation", op}};

	if (bpf_percpu_sum(lat_fd, h * HIST_ENTRIES + HIST_SUM_SLOT, 1, &sum) < 0)
		return -1;
	if (!sum)
		return 0;
	if (bpf_percpu_sum(lat_fd, h * HIST_ENTRIES, HIST_ENTRIES, entries) < 0)
		return -1;
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

static int biolatency_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct bio_state *st = ctx->state;
	uint64_t counters[BIO_COUNTERS];

	if (bpf_percpu_sum(bpf_map__fd(st->skel->maps.counters), 0, BIO_COUNTERS, counters) < 0)
		return -1;
	if (counters[BIO_UNKNOWN_DEVICE] != st->unknown_seen) {
		st->unknown_seen = counters[BIO_UNKNOWN_DEVICE];
		add_unknown_devices(st);
	}
	for (uint32_t row = 0; row < st->n_devices; row++) {
		struct bio_device *d = &st->devices[row];

		if (!d->named)
			d->named = devname_lookup(st->sysfs, d->dev, d->name, sizeof(d->name));
		for (uint32_t op = 0; op < BIO_OPS; op++)
			if (emit_row_op(st, reg, row * BIO_OPS + op, d->name, op_names[op]) < 0)
				return -1;
	}
	for (uint32_t op = 0; op < BIO_OPS; op++)
		if (emit_row_op(st, reg, st->max_devices * BIO_OPS + op, "other", op_names[op]) < 0)
			return -1;
	emit_untimed(st, reg, counters);
	bpf_emit_program_stats(reg, "biolatency", st->skel->obj);
	return 0;
}

static void biolatency_exit(struct collector_ctx *ctx)
{
	destroy(ctx->state);
	devname_free();
	ctx->state = NULL;
}

const struct collector bpf_collector_biolatency = {
	.name = "biolatency",
	.default_enabled = true,
	.opts_size = sizeof(struct biolatency_opts),
	.opts = biolatency_opt_descs,
	.kind = &bpf_collector_kind,
	.init = biolatency_init,
	.update = biolatency_update,
	.exit = biolatency_exit,
};
