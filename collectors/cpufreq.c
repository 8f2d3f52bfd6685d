/* SPDX-License-Identifier: MIT */
/* cpufreq: <sysfs>/devices/system/cpu/cpu[0-9]* /cpufreq, as node_exporter
 * 1.5's cpufreq collector exposes it, kHz turned into Hz:
 *   cpuinfo_cur_freq / _min_ / _max_  -> node_cpu_frequency_hertz, _min_hertz, _max_hertz
 *   scaling_cur_freq / _min_ / _max_  -> node_cpu_scaling_frequency_hertz, _min_hertz, _max_hertz
 * each {cpu} and only when its file is there and readable (cpuinfo_cur_freq
 * is root-only). A CPU without a cpufreq directory (most VMs) has none of
 * them and that is a success; no CPU directory at all is a failure.
 * A file that is there but does not read as a number fails the whole
 * update with nothing emitted, as procfs' SystemCpufreq does.
 * node_cpu_scaling_governor came with node_exporter 1.6 and is not here.
 * CPUs are read one after the other (procfs reads them in parallel because
 * some drivers make cpuinfo_cur_freq slow). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collectors/all.h"
#include "lib/readfile.h"
#include "collectors/sysfs_attr.h"
#include "lib/buf.h"
#include "lib/log.h"

#define N_FREQ 6

static const char *const freq_files[N_FREQ] = {
	"cpuinfo_cur_freq", "cpuinfo_min_freq", "cpuinfo_max_freq",
	"scaling_cur_freq", "scaling_min_freq", "scaling_max_freq",
};

static const struct metric_desc freq_descs[N_FREQ] = {
	{"node_cpu_frequency_hertz", "Current cpu thread frequency in hertz.", METRIC_GAUGE},
	{"node_cpu_frequency_min_hertz", "Minimum cpu thread frequency in hertz.", METRIC_GAUGE},
	{"node_cpu_frequency_max_hertz", "Maximum cpu thread frequency in hertz.", METRIC_GAUGE},
	{"node_cpu_scaling_frequency_hertz", "Current scaled CPU thread frequency in hertz.",
	 METRIC_GAUGE},
	{"node_cpu_scaling_frequency_min_hertz", "Minimum scaled CPU thread frequency in hertz.",
	 METRIC_GAUGE},
	{"node_cpu_scaling_frequency_max_hertz", "Maximum scaled CPU thread frequency in hertz.",
	 METRIC_GAUGE},
};

struct cpu_freq {
	char cpu[16];
	uint64_t khz[N_FREQ];
	unsigned present; /* bit i: khz[i] was read */
};

struct cpufreq_state {
	struct path_buf dir; /* <sysfs>/devices/system/cpu */
	struct dir_list list;
	struct cpu_freq *cpus;
	size_t cap;
};

/* One CPU's cpufreq directory (dir is at it). -1 on a read error that is
 * not "missing" or "not allowed". */
static int read_cpu(struct path_buf *dir, struct cpu_freq *c)
{
	c->present = 0;
	for (size_t i = 0; i < N_FREQ; i++) {
		ssize_t back = path_push(dir, freq_files[i]);
		int rc = back < 0 ? -1 : attr_read_u64(dir->s, &c->khz[i]);
		int err = errno;

		if (back < 0)
			return -1;
		if (rc == 0)
			c->present |= 1u << i;
		else if (err != ENOENT && err != EACCES && err != EPERM) {
			log_msg(LOG_DEBUG, "cpufreq: cannot read", "path=%s err=\"%s\"", dir->s,
				strerror(err));
			path_pop(dir, back);
			return -1;
		}
		path_pop(dir, back);
	}
	return 0;
}

static int cpufreq_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct cpufreq_state *st = ctx->state;
	size_t n = 0;

	if (dir_list_read(&st->list, st->dir.s, "cpu", true) < 0 || st->list.n == 0) {
		log_msg(LOG_DEBUG, "cpufreq: no CPU directories", "path=%s", st->dir.s);
		return -1;
	}
	if (grow_array((void **)&st->cpus, &st->cap, st->list.n, sizeof(*st->cpus)) < 0)
		return -1;
	for (size_t i = 0; i < st->list.n; i++) {
		const char *name = st->list.names[i];
		struct cpu_freq *c = &st->cpus[n];
		ssize_t back = path_push(&st->dir, name);
		struct stat sb;
		int rc = 0;

		if (back < 0 || path_push(&st->dir, "cpufreq") < 0) {
			path_pop(&st->dir, back);
			return -1;
		}
		if (stat(st->dir.s, &sb) == 0)
			rc = read_cpu(&st->dir, c);
		else if (errno != ENOENT)
			rc = -1;
		else
			c->present = 0;
		path_pop(&st->dir, back);
		if (rc < 0)
			return -1;
		if (c->present && strlen(name + 3) < sizeof(c->cpu)) {
			strcpy(c->cpu, name + 3);
			n++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct label l = {"cpu", st->cpus[i].cpu};
		for (size_t f = 0; f < N_FREQ; f++)
			if (st->cpus[i].present & (1u << f))
				registry_emit(reg, &freq_descs[f], NULL, &l, 1,
					      (double)st->cpus[i].khz[f] * 1000.0, 0);
	}
	return 0;
}

static void cpufreq_exit(struct collector_ctx *ctx)
{
	struct cpufreq_state *st = ctx->state;

	if (!st)
		return;
	dir_list_free(&st->list);
	free(st->cpus);
	free(st);
	ctx->state = NULL;
}

static int cpufreq_init(struct collector_ctx *ctx)
{
	struct cpufreq_state *st = calloc(1, sizeof(*st));
	char *dir = NULL;

	ctx->state = st;
	if (!st || !(dir = collector_path(ctx->global ? ctx->global->sysfs : NULL, "/sys",
					  "devices/system/cpu")) ||
	    path_set(&st->dir, dir) < 0) {
		free(dir);
		cpufreq_exit(ctx);
		return -1;
	}
	free(dir);
	return 0;
}

const struct collector collector_cpufreq = {
	.name = "cpufreq",
	.default_enabled = true,
	.init = cpufreq_init,
	.update = cpufreq_update,
	.exit = cpufreq_exit,
};
