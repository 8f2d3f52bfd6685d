/* softirq: time per softirq vector as a histogram in seconds,
 * kernel_softirq_duration_seconds{vector="NET_RX"}. Kernel side in
 * softirq.bpf.c.
 *
 * Vector names come from the running kernel's BTF: the enumerators of the
 * enum that ends in NR_SOFTIRQS, minus "_SOFTIRQ" (HI, TIMER, NET_TX,
 * NET_RX, BLOCK, IRQ_POLL, TASKLET, SCHED, HRTIMER, RCU: the names
 * /proc/softirqs prints). Without BTF for them, that fixed list, which is
 * in the kernel's enum order since 2.6.35 (IRQ_POLL was BLOCK_IOPOLL). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "lib/log.h"
#include "bpf/bpf_collector.h"
#include "bpf/bpfutil.h"
#include "bpf/btf_enum.h"
#include "bpf/softirq.h"
#include "bpf/softirq.skel.h" /* generated into $(BUILD)/bpf */

/* Buckets up to 2^20 us (1 s): a softirq that long is already a disaster. */
#define SOFTIRQ_BUCKETS 20

static const struct metric_desc duration = {
	"kernel_softirq_duration_seconds",
	"Time a softirq vector's handler ran on a CPU, per run (hard interrupts included).",
	METRIC_HISTOGRAM};

static const char *const hooks[] = {"softirq_entry", "softirq_exit"};
static const char *const fixed_names[] = {"HI",      "TIMER", "NET_TX",  "NET_RX", "BLOCK",
					  "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU"};

struct softirq_state {
	struct softirq_bpf *skel;
	char names[SOFTIRQ_MAX_VECTORS][16]; /* "" for numbers without a vector */
};

static void name_vector(const char *name, int64_t value, void *arg)
{
	struct softirq_state *st = arg;
	size_t len = strlen(name), suffix = strlen("_SOFTIRQ");

	if (value < 0 || value >= SOFTIRQ_MAX_VECTORS || len <= suffix ||
	    strcmp(name + len - suffix, "_SOFTIRQ") != 0 || len - suffix >= sizeof(st->names[0]))
		return;
	memcpy(st->names[value], name, len - suffix);
	st->names[value][len - suffix] = '\0';
}

static void name_vectors(struct softirq_state *st)
{
	if (btf_enum_each(bpf_kernel_btf(), "NR_SOFTIRQS", name_vector, st) < 0)
		for (size_t v = 0; v < sizeof(fixed_names) / sizeof(fixed_names[0]); v++)
			snprintf(st->names[v], sizeof(st->names[v]), "%s", fixed_names[v]);
}

static int softirq_init(struct collector_ctx *ctx)
{
	struct softirq_state *st;

	bpf_setup();
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		if (!bpf_has_raw_tracepoint(hooks[i])) {
			log_msg(LOG_WARN, "bpf collector disabled: kernel lacks its hook",
				"collector=softirq hook=raw_tp/%s", hooks[i]);
			return -1;
		}
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		goto fail;
	name_vectors(st);
	st->skel = softirq_bpf__open_and_load();
	if (!st->skel || softirq_bpf__attach(st->skel))
		goto fail;
	log_msg(LOG_INFO, "bpf collector loaded", "collector=softirq hook=raw_tp");
	ctx->state = st;
	return 0;
fail:
	log_msg(LOG_WARN, "bpf collector disabled: cannot load or attach",
		"collector=softirq err=%d", -errno);
	if (st)
		softirq_bpf__destroy(st->skel);
	free(st);
	return -1;
}

static int softirq_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct softirq_state *st = ctx->state;
	int fd = bpf_map__fd(st->skel->maps.hist);
	uint64_t entries[HIST_ENTRIES];

	for (uint32_t v = 0; v < SOFTIRQ_MAX_VECTORS; v++) {
		struct label l = {"vector", st->names[v]};

		if (!st->names[v][0])
			continue;
		if (bpf_percpu_sum(fd, v * HIST_ENTRIES, HIST_ENTRIES, entries) < 0)
			return -1;
		if (!entries[HIST_SUM_SLOT])
			continue; /* never ran: no series yet */
		bpf_emit_log2_histogram(reg, &duration, &l, 1, entries, SOFTIRQ_BUCKETS,
					SOFTIRQ_UNIT_NS / 1e9, 1e-9);
	}
	bpf_emit_program_stats(reg, "softirq", st->skel->obj);
	return 0;
}

static void softirq_collector_exit(struct collector_ctx *ctx)
{
	struct softirq_state *st = ctx->state;

	if (st)
		softirq_bpf__destroy(st->skel);
	free(st);
	ctx->state = NULL;
}

/* Off by default: two clock reads per softirq cost ~210 ns here (make
 * bench), above the 100 ns a default collector may cost, and a busy
 * network host runs 100,000 softirqs a second. */
const struct collector bpf_collector_softirq = {
	.name = "softirq",
	.default_enabled = false,
	.kind = &bpf_collector_kind,
	.init = softirq_init,
	.update = softirq_update,
	.exit = softirq_collector_exit,
};
