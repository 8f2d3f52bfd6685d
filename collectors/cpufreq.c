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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collectors/all.h"
#include "lib/readfile.h"
#include "collectors/keptdir.h"
#include "collectors/kvlines.h"
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
	struct kept_dir files; /* entries "cpuN/cpufreq", the N_FREQ files kept open */
	struct cpu_freq *cpus;
	size_t cap;
};

/* One attribute as a decimal integer; -1 with errno set (EINVAL: not one). */
static int read_u64(struct cpufreq_state *st, struct kept_entry *e, size_t i, uint64_t *v)
{
	char buf[64];

	if (kept_dir_read(&st->files, e, i, freq_files[i], buf, sizeof(buf)) < 0)
		return -1;
	if (!kv_u64(buf, v)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* One CPU's cpufreq directory, e. -1 on a read error that is not
 * "missing" or "not allowed". */
static int read_cpu(struct cpufreq_state *st, struct kept_entry *e, struct cpu_freq *c)
{
	c->present = 0;
	for (size_t i = 0; i < N_FREQ; i++) {
		int rc = read_u64(st, e, i, &c->khz[i]), err = errno;

		if (rc == 0)
			c->present |= 1u << i;
		else if (err != ENOENT && err != EACCES && err != EPERM) {
			log_msg(LOG_DEBUG, "cpufreq: cannot read", "path=%s/%s/%s err=\"%s\"",
				st->dir.s, e->name, freq_files[i], strerror(err));
			return -1;
		}
	}
	return 0;
}

/* CPU name's cpufreq directory, when it has one (a stat first: a CPU
 * without one must not become a keptdir entry made and freed each round). */
static int stat_cpu(struct cpufreq_state *st, const char *name, struct cpu_freq *c)
{
	char rel[64];
	struct kept_entry *e;
	struct stat sb;
	ssize_t back = path_push(&st->dir, name);
	int rc;

	c->present = 0;
	if (back < 0 || path_push(&st->dir, "cpufreq") < 0 ||
	    snprintf(rel, sizeof(rel), "%s/cpufreq", name) >= (int)sizeof(rel)) {
		path_pop(&st->dir, back);
		return -1;
	}
	rc = stat(st->dir.s, &sb);
	path_pop(&st->dir, back);
	if (rc < 0)
		return errno == ENOENT ? 0 : -1;
	if (!(e = kept_dir_entry(&st->files, rel)))
		return errno == ENOENT ? 0 : -1;
	rc = read_cpu(st, e, c);
	kept_dir_release(&st->files, e);
	return rc;
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
	kept_dir_begin(&st->files);
	for (size_t i = 0; i < st->list.n; i++) {
		const char *name = st->list.names[i];
		struct cpu_freq *c = &st->cpus[n];
		int rc = stat_cpu(st, name, c);

		if (rc < 0) {
			kept_dir_end(&st->files);
			return -1;
		}
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
	kept_dir_end(&st->files);
	return 0;
}

static void cpufreq_exit(struct collector_ctx *ctx)
{
	struct cpufreq_state *st = ctx->state;

	if (!st)
		return;
	dir_list_free(&st->list);
	kept_dir_free(&st->files);
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
	    path_set(&st->dir, dir) < 0 || kept_dir_init(&st->files, dir, N_FREQ) < 0) {
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
