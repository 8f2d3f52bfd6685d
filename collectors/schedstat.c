/* SPDX-License-Identifier: MIT */
/* schedstat: <procfs>/schedstat (CONFIG_SCHEDSTATS), as node_exporter 1.5's
 * schedstat collector exposes it. A CPU line is
 *   cpu<N> <yld_count> <sched_switch> <sched_count> <sched_goidle> <ttwu_count>
 *          <ttwu_local> <rq_cpu_time> <run_delay> <pcount>
 * (the first two are 0 since Linux 2.6.23); the last three are the time
 * spent running and waiting on this CPU, in nanoseconds, and the number of
 * timeslices run. "domain" lines are left out. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/all.h"
#include "collectors/kvlines.h"
#include "lib/readfile.h"
#include "lib/log.h"

#define NS_PER_SEC 1e9
#define CPU_FIELDS 9

static const struct metric_desc running_desc = {
	"node_schedstat_running_seconds_total", "Number of seconds CPU spent running a process.",
	METRIC_COUNTER};
static const struct metric_desc waiting_desc = {
	"node_schedstat_waiting_seconds_total",
	"Number of seconds spent by processing waiting for this CPU.", METRIC_COUNTER};
static const struct metric_desc timeslices_desc = {
	"node_schedstat_timeslices_total", "Number of timeslices executed by CPU.",
	METRIC_COUNTER};

/* procfs' regexp "cpu(\d+) (\d+) ... (\d+)": nine numbers after the id,
 * each after exactly one space. */
static bool parse_cpu_line(const char *line, char *cpu, size_t cpu_size,
			   uint64_t f[CPU_FIELDS])
{
	const char *p = line + 3, *id = p;
	uint64_t ignored;

	if (!kv_scan_u64(&p, &ignored) || (size_t)(p - id) >= cpu_size)
		return false;
	memcpy(cpu, id, (size_t)(p - id));
	cpu[p - id] = '\0';
	for (size_t i = 0; i < CPU_FIELDS; i++) {
		if (*p++ != ' ' || !kv_scan_u64(&p, &f[i]))
			return false;
	}
	return true;
}

static int schedstat_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct source_file *src = ctx->state;
	size_t n_cpus = 0;

	if (source_file_read(src) < 0)
		return -1; /* no CONFIG_SCHEDSTATS: ErrNoData in node_exporter */
	for (const char *line = src->buf.data; line && *line; line = strchr(line, '\n')) {
		char cpu[24];
		uint64_t f[CPU_FIELDS];
		struct label l = {"cpu", cpu};

		line += *line == '\n';
		if (strncmp(line, "cpu", 3) != 0 || !parse_cpu_line(line, cpu, sizeof(cpu), f))
			continue;
		registry_emit(reg, &running_desc, NULL, &l, 1, (double)f[6] / NS_PER_SEC, 0);
		registry_emit(reg, &waiting_desc, NULL, &l, 1, (double)f[7] / NS_PER_SEC, 0);
		registry_emit(reg, &timeslices_desc, NULL, &l, 1, (double)f[8], 0);
		n_cpus++;
	}
	if (n_cpus == 0)
		log_msg(LOG_DEBUG, "schedstat: no CPU lines", "path=%s", src->path);
	return 0;
}

static int schedstat_init(struct collector_ctx *ctx)
{
	ctx->state = source_file_open("schedstat", ctx->global ? ctx->global->procfs : NULL,
				      "/proc", "schedstat");
	return ctx->state ? 0 : -1;
}

static void schedstat_exit(struct collector_ctx *ctx)
{
	source_file_close(ctx->state);
	ctx->state = NULL;
}

const struct collector collector_schedstat = {
	.name = "schedstat",
	.counts_from_boot = true,
	.default_enabled = true,
	.init = schedstat_init,
	.update = schedstat_update,
	.exit = schedstat_exit,
};
