/* runqlat: run-queue latency (wakeup to running) as a histogram in seconds.
 * Kernel side in runqlat.bpf.c. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include <bpf/libbpf.h>

#include "agent/log.h"
#include "bpf/bpf_collector.h"
#include "bpf/bpfutil.h"
#include "bpf/runqlat.h"
#include "bpf/runqlat.skel.h" /* generated into $(BUILD)/bpf */

/* Buckets up to 2^27 us (134 s); longer waits count in +Inf. */
#define RUNQLAT_BUCKETS 27

struct runqlat_opts {
	int64_t max_inflight; /* runnable tasks timed at once (hash fallback only) */
};

static const struct opt_desc runqlat_opt_descs[] = {
	{"max_inflight", OPT_INT, "10240", offsetof(struct runqlat_opts, max_inflight)},
	{NULL, OPT_BOOL, NULL, 0},
};

static const struct metric_desc latency = {
	"kernel_runqueue_latency_seconds",
	"Time runnable tasks waited for a CPU, from wakeup (or preemption) to running.",
	METRIC_HISTOGRAM};
static const struct metric_desc overflow = {
	"kernel_runqueue_untimed_wakeups_total",
	"Wakeups not timed because max_inflight tasks were already being timed.",
	METRIC_COUNTER};

static const char *const hooks[] = {"sched_wakeup", "sched_wakeup_new", "sched_switch"};

enum method { SCHEDINFO, TASK_STORAGE, HASH, METHODS };

static const char *const method_names[METHODS] = {"schedinfo", "task_storage", "hash"};

/* Leaves on only the programs and maps of method m. */
static void choose(struct runqlat_bpf *skel, enum method m, const struct runqlat_opts *opts)
{
	struct bpf_program *progs[METHODS][3] = {
		{skel->progs.runqlat_switch_schedinfo, NULL, NULL},
		{skel->progs.runqlat_switch_btf, skel->progs.runqlat_wakeup_btf,
		 skel->progs.runqlat_wakeup_new_btf},
		{skel->progs.runqlat_switch, skel->progs.runqlat_wakeup,
		 skel->progs.runqlat_wakeup_new},
	};

	for (int i = 0; i < METHODS; i++)
		for (int j = 0; j < 3; j++)
			if (progs[i][j])
				bpf_program__set_autoload(progs[i][j], i == (int)m);
	bpf_map__set_autocreate(skel->maps.task_start, m == TASK_STORAGE);
	bpf_map__set_max_entries(skel->maps.start, m == HASH && opts && opts->max_inflight > 0 ?
							   (uint32_t)opts->max_inflight : 1);
}

/* The cheapest method this kernel loads: the verifier is the judge (the
 * first needs CONFIG_SCHED_INFO and per-CPU ksyms, the second task
 * storage). libbpf's reasons for a refusal go to the debug log. */
static struct runqlat_bpf *load_cheapest(const struct runqlat_opts *opts)
{
	for (int m = 0; m < METHODS; m++) {
		struct runqlat_bpf *skel = runqlat_bpf__open();

		if (!skel)
			return NULL;
		choose(skel, (enum method)m, opts);
		if (runqlat_bpf__load(skel) == 0 && runqlat_bpf__attach(skel) == 0) {
			log_msg(LOG_INFO, "bpf collector loaded", "collector=runqlat method=%s",
				method_names[m]);
			return skel;
		}
		runqlat_bpf__destroy(skel);
	}
	return NULL;
}

static int runqlat_init(struct collector_ctx *ctx)
{
	struct runqlat_bpf *skel;

	bpf_setup();
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		if (!bpf_has_raw_tracepoint(hooks[i])) {
			log_msg(LOG_WARN, "bpf collector disabled: kernel lacks its hook",
				"collector=runqlat hook=raw_tp/%s", hooks[i]);
			return -1;
		}
	}
	skel = load_cheapest(ctx->opts);
	if (!skel) {
		log_msg(LOG_WARN, "bpf collector disabled: cannot load or attach",
			"collector=runqlat err=%d", -errno);
		return -1;
	}
	ctx->state = skel;
	return 0;
}

static int runqlat_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct runqlat_bpf *skel = ctx->state;
	uint64_t entries[HIST_ENTRIES], counters[RUNQLAT_COUNTERS];

	if (bpf_percpu_sum(bpf_map__fd(skel->maps.hist), 0, HIST_ENTRIES, entries) < 0 ||
	    bpf_percpu_sum(bpf_map__fd(skel->maps.counters), 0, RUNQLAT_COUNTERS, counters) < 0)
		return -1;
	bpf_emit_log2_histogram(reg, &latency, NULL, 0, entries, RUNQLAT_BUCKETS,
				RUNQLAT_UNIT_NS / 1e9, 1e-9);
	registry_emit(reg, &overflow, NULL, NULL, 0, (double)counters[RUNQLAT_START_OVERFLOW], 0);
	bpf_emit_program_stats(reg, "runqlat", skel->obj);
	return 0;
}

static void runqlat_exit(struct collector_ctx *ctx)
{
	runqlat_bpf__destroy(ctx->state);
	ctx->state = NULL;
}

const struct collector bpf_collector_runqlat = {
	.name = "runqlat",
	.default_enabled = true,
	.opts_size = sizeof(struct runqlat_opts),
	.opts = runqlat_opt_descs,
	.init = runqlat_init,
	.update = runqlat_update,
	.exit = runqlat_exit,
};
