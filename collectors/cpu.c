/* SPDX-License-Identifier: MIT */
/* cpu: the per-CPU lines of /proc/stat, exposed as node_exporter's cpu
 * collector does: node_cpu_seconds_total{cpu,mode} and
 * node_cpu_guest_seconds_total{cpu,mode}, in seconds (USER_HZ ticks). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collectors/all.h"
#include "collectors/kvlines.h"
#include "lib/readfile.h"
#include "lib/log.h"

/* /proc/stat's columns in kernel order (proc(5)). Older kernels have fewer:
 * 2.6.0 stops after softirq, steal came in 2.6.11, guest in 2.6.24,
 * guest_nice in 2.6.33. Missing ones read as 0, as in node_exporter. */
enum cpu_field {
	USER, NICE, SYSTEM, IDLE, IOWAIT, IRQ, SOFTIRQ, STEAL, GUEST, GUEST_NICE, N_FIELDS
};

/* Linux 2.4 already had these four; a line with fewer is not a CPU line. */
#define MIN_FIELDS 4
/* Above any NR_CPUS: a larger id is garbage, not a CPU to track. */
#define MAX_CPU_ID 65535
/* node_exporter's jumpBackSeconds: idle going back this far means the CPU
 * was hot-plugged, not that the kernel's accounting wobbled. */
#define JUMP_BACK_SECONDS 3

static const char *const mode_names[N_FIELDS] = {
	"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
	"user", "nice", /* guest, guest_nice */
};

static const struct metric_desc cpu_seconds = {
	"node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", METRIC_COUNTER};
static const struct metric_desc cpu_guest_seconds = {
	"node_cpu_guest_seconds_total", "Seconds the CPUs spent in guests (VMs) for each mode.",
	METRIC_COUNTER};

struct cpu_ticks {
	uint64_t field[N_FIELDS];
};

struct cpu_state {
	struct source_file *stat; /* <procfs>/stat */
	double ticks_per_second;
	struct cpu_ticks *reported; /* by CPU id: what we reported last time */
	size_t n_reported;
};

/* The next of the blank-separated numbers at *s. */
static bool next_u64(const char **s, uint64_t *v)
{
	*s += strspn(*s, " \t");
	return kv_scan_u64(s, v);
}

/* "cpu3 4705 150 1120 16250 520 0 25 0 0 0"; -1 for the "cpu" total line
 * and anything else that is not one CPU. */
static int parse_cpu_line(const char *line, unsigned *id, struct cpu_ticks *t)
{
	const char *p = line + 3;
	uint64_t cpu;
	size_t n = 0;

	if (!kv_scan_u64(&p, &cpu) || cpu > MAX_CPU_ID)
		return -1;
	*t = (struct cpu_ticks){0};
	while (n < N_FIELDS && next_u64(&p, &t->field[n]))
		n++;
	*id = (unsigned)cpu;
	return n >= MIN_FIELDS ? 0 : -1;
}

/* node_exporter's updateCPUStats: a counter that goes backwards (idle and
 * iowait can, on NO_HZ kernels) keeps its last value so that rate() never
 * sees a reset; a big jump back in idle means a hot-plugged CPU: start over. */
static void keep_monotonic(struct cpu_ticks *reported, const struct cpu_ticks *now,
			   uint64_t jump_back)
{
	if (reported->field[IDLE] >= now->field[IDLE] + jump_back)
		*reported = (struct cpu_ticks){0};
	for (size_t i = 0; i < N_FIELDS; i++)
		if (now->field[i] >= reported->field[i])
			reported->field[i] = now->field[i];
}

static struct cpu_ticks *reported_for(struct cpu_state *st, unsigned id)
{
	struct cpu_ticks *grown;
	size_t n = st->n_reported ? st->n_reported : 16;

	if (id < st->n_reported)
		return &st->reported[id];
	while (n <= id)
		n *= 2;
	if (!(grown = realloc(st->reported, n * sizeof(*grown))))
		return NULL;
	memset(grown + st->n_reported, 0, (n - st->n_reported) * sizeof(*grown));
	st->reported = grown;
	st->n_reported = n;
	return &st->reported[id];
}

static void emit_cpu(struct registry *reg, unsigned id, const struct cpu_ticks *t, double hz)
{
	char cpu[16];
	struct label labels[2] = {{"cpu", cpu}, {"mode", NULL}};

	snprintf(cpu, sizeof(cpu), "%u", id);
	for (size_t i = 0; i < N_FIELDS; i++) {
		/* Guest time is also in user and nice; node_exporter shows it apart. */
		const struct metric_desc *d = i < GUEST ? &cpu_seconds : &cpu_guest_seconds;
		labels[1].value = mode_names[i];
		registry_emit(reg, d, NULL, labels, 2, (double)t->field[i] / hz, 0);
	}
}

static int cpu_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct cpu_state *st = ctx->state;
	uint64_t jump_back = (uint64_t)(JUMP_BACK_SECONDS * st->ticks_per_second);
	size_t n_cpus = 0;

	if (source_file_read(st->stat) < 0)
		return -1;
	for (const char *line = st->stat->buf.data; line && *line; line = strchr(line, '\n')) {
		struct cpu_ticks now, *reported;
		unsigned id;

		line += *line == '\n';
		if (strncmp(line, "cpu", 3) != 0) {
			if (n_cpus > 0)
				break; /* the cpu lines come first; skip the long intr line */
			continue;
		}
		if (parse_cpu_line(line, &id, &now) < 0 || !(reported = reported_for(st, id)))
			continue;
		keep_monotonic(reported, &now, jump_back);
		emit_cpu(reg, id, reported, st->ticks_per_second);
		n_cpus++;
	}
	return n_cpus > 0 ? 0 : -1;
}

static int cpu_init(struct collector_ctx *ctx)
{
	struct cpu_state *st = calloc(1, sizeof(*st));
	long hz = sysconf(_SC_CLK_TCK);

	if (!st || !(st->stat = source_file_open("cpu", ctx->global ? ctx->global->procfs : NULL,
						 "/proc", "stat"))) {
		free(st);
		return -1;
	}
	st->ticks_per_second = hz > 0 ? (double)hz : 100.0;
	ctx->state = st;
	return 0;
}

static void cpu_exit(struct collector_ctx *ctx)
{
	struct cpu_state *st = ctx->state;

	if (!st)
		return;
	source_file_close(st->stat);
	free(st->reported);
	free(st);
	ctx->state = NULL;
}

const struct collector collector_cpu = {
	.name = "cpu",
	.counts_from_boot = true,
	.default_enabled = true,
	.init = cpu_init,
	.update = cpu_update,
	.exit = cpu_exit,
};
