/* SPDX-License-Identifier: MIT */
/* stat: the kernel counters of /proc/stat that are not per CPU, as
 * node_exporter 1.5's stat collector exposes them (the per-CPU lines are the
 * cpu collector's). Per-IRQ and per-softirq series are off by default there
 * (--collector.stat.softirq) and not emitted here. */
#include <stdlib.h>
#include <string.h>

#include "collectors/all.h"
#include "collectors/kvlines.h"
#include "lib/readfile.h"
#include "lib/log.h"

enum stat_key { INTR, CTXT, BTIME, FORKS, RUNNING, BLOCKED, N_KEYS };

static const char *const keys[N_KEYS] = {
	"intr", "ctxt", "btime", "processes", "procs_running", "procs_blocked",
};

static const struct metric_desc descs[N_KEYS] = {
	{"node_intr_total", "Total number of interrupts serviced.", METRIC_COUNTER},
	{"node_context_switches_total", "Total number of context switches.", METRIC_COUNTER},
	{"node_boot_time_seconds", "Node boot time, in unixtime.", METRIC_GAUGE},
	{"node_forks_total", "Total number of forks.", METRIC_COUNTER},
	{"node_procs_running", "Number of processes in runnable state.", METRIC_GAUGE},
	{"node_procs_blocked", "Number of processes blocked waiting for I/O to complete.",
	 METRIC_GAUGE},
};

static int stat_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct source_file *src = ctx->state;
	double value[N_KEYS] = {0};
	size_t found = 0;
	char *cur, *line;

	if (source_file_read(src) < 0)
		return -1;
	cur = src->buf.data;
	while ((line = kv_line(&cur))) {
		char *key = kv_field(&line), *first;
		size_t k;

		/* The cpu lines come first, and intr's line can be thousands of
		 * columns long: only its first (the total) is read. */
		if (!key || !strncmp(key, "cpu", 3))
			continue;
		for (k = 0; k < N_KEYS && strcmp(key, keys[k]); k++)
			;
		if (k == N_KEYS)
			continue;
		if (!(first = kv_field(&line)) || !kv_double(first, &value[k])) {
			log_msg(LOG_DEBUG, "stat: unexpected format", "path=%s key=%s", src->path, key);
			return -1;
		}
		found++;
	}
	if (!found)
		return -1;
	/* As node_exporter (procfs' Stat): a line the kernel lacks reads 0. */
	for (size_t k = 0; k < N_KEYS; k++)
		registry_emit(reg, &descs[k], NULL, NULL, 0, value[k], 0);
	return 0;
}

static int stat_init(struct collector_ctx *ctx)
{
	ctx->state = source_file_open("stat", ctx->global ? ctx->global->procfs : NULL, "/proc",
				      "stat");
	return ctx->state ? 0 : -1;
}

static void stat_exit(struct collector_ctx *ctx)
{
	source_file_close(ctx->state);
	ctx->state = NULL;
}

const struct collector collector_stat = {
	.name = "stat",
	.counts_from_boot = true,
	.default_enabled = true,
	.init = stat_init,
	.update = stat_update,
	.exit = stat_exit,
};
