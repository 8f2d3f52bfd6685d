/* SPDX-License-Identifier: MIT */
/* runqlat: run-queue latency (wakeup to running) as a histogram in seconds.
 * Kernel side in runqlat.bpf.c.
 *
 * With `cgroups: true` every series has a cgroup label: the cgroup v2 group
 * of the task that waited, named as the cgroup collector names it ("/",
 * "/system.slice/ssh.service"; cgroupid.h), or its id when it cannot be
 * found (it was removed before its first read, or it lies outside what this
 * agent's cgroup namespace shows). Groups past max_cgroups count as
 * cgroup="other", and kernel_runqueue_untracked_cgroup_waits_total says how
 * many waits that was. Each group costs HIST_ENTRIES u64 per possible CPU
 * in the kernel (264 B), preallocated, and 30 series.
 *
 * Ids are named by walking the hierarchy, once in a round that saw a new
 * one; names are kept. A group removed from the hierarchy must leave the
 * map, or dead groups would fill it: a group whose count did not move since
 * the last round is checked (one fstatat: a busy group is plainly alive, so
 * a round costs one call per idle group only), and once gone it is emitted
 * a last time, its entry deleted and its series stop. A group that was
 * never found cannot be checked: idle, it is taken as gone; should it run
 * again it comes back with a fresh count, which rate() reads as a reset.
 *
 * Steady state allocates nothing: the groups' array grows only with the
 * number of groups, a name is allocated once per group, and the walk keeps
 * its buffers. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "bpf/bpfutil.h"
#include "bpf/cgroupid.h"
#include "bpf/loader.h"
#include "bpf/mapread.h"
#include "bpf/runqlat.h"
#include "bpf/runqlat.skel.h" /* generated into $(BUILD)/bpf */

BPF_SKEL_OPS(runqlat_bpf);

/* Buckets up to 2^27 us (134 s); longer waits count in +Inf. */
#define RUNQLAT_BUCKETS 27
/* max_cgroups' ceiling: 17 MiB of kernel memory per possible CPU. */
#define RUNQLAT_MAX_CGROUPS 65536
/* max_inflight's: the kernel's PID_MAX_LIMIT, as many tasks as there can be. */
#define RUNQLAT_MAX_INFLIGHT (4 * 1024 * 1024)

struct runqlat_opts {
	int64_t max_inflight; /* runnable tasks timed at once (hash fallback only) */
	bool cgroups;         /* a histogram per cgroup v2 group */
	int64_t max_cgroups;  /* groups with their own; the rest are "other" */
};

static const struct opt_desc runqlat_opt_descs[] = {
	{"max_inflight", OPT_INT, "10240", offsetof(struct runqlat_opts, max_inflight),
	 RUNQLAT_MAX_INFLIGHT},
	{"cgroups", OPT_BOOL, "false", offsetof(struct runqlat_opts, cgroups), 0},
	{"max_cgroups", OPT_INT, "1024", offsetof(struct runqlat_opts, max_cgroups),
	 RUNQLAT_MAX_CGROUPS},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

static const struct metric_desc latency = {
	"kernel_runqueue_latency_seconds",
	"Time runnable tasks waited for a CPU, from wakeup (or preemption) to running.",
	METRIC_HISTOGRAM};
static const struct metric_desc overflow = {
	"kernel_runqueue_untimed_wakeups_total",
	"Wakeups not timed because max_inflight tasks were already being timed.",
	METRIC_COUNTER};
static const struct metric_desc untracked = {
	"kernel_runqueue_untracked_cgroup_waits_total",
	"Waits counted as cgroup=\"other\" because max_cgroups groups had their own histogram.",
	METRIC_COUNTER};

/* A group with its own histogram in the kernel's map. */
struct group {
	uint64_t id;
	char *label;        /* its path; NULL: not found, labelled by id */
	bool looked;        /* a walk has looked for it */
	uint64_t waits;     /* its count at the previous read: unchanged, it is idle */
	uint64_t hist[HIST_ENTRIES]; /* this read's, summed over CPUs */
};

struct runqlat_state {
	bool by_cgroup;
	uint32_t max_cgroups;
	struct cgroupid *names;  /* NULL: no cgroup v2 hierarchy, ids are labels */
	struct group *groups;    /* sorted by id */
	size_t n_groups, groups_cap;
	size_t unnamed;          /* groups no walk has looked for yet */
	bool out_of_memory;      /* a group could not be added this round */
};

static const struct bpf_hook hooks[] = {{BPF_RAW_TP, NULL, "sched_wakeup"},
					{BPF_RAW_TP, NULL, "sched_wakeup_new"},
					{BPF_RAW_TP, NULL, "sched_switch"}, BPF_HOOKS_END};

/* The cheapest method this kernel loads: the verifier is the judge (the
 * first needs CONFIG_SCHED_INFO and per-CPU ksyms, the second task
 * storage). libbpf's reasons for a refusal go to the debug log. */
enum method { SCHEDINFO, TASK_STORAGE, HASH };
static const char *const schedinfo_progs[] = {"runqlat_switch_schedinfo", NULL};
static const char *const task_storage_progs[] = {"runqlat_switch_btf", "runqlat_wakeup_btf",
						 "runqlat_wakeup_new_btf", NULL};
static const char *const hash_progs[] = {"runqlat_switch", "runqlat_wakeup", "runqlat_wakeup_new",
					 NULL};
static const struct bpf_way ways[] = {
	[SCHEDINFO] = {NULL, "schedinfo", hooks, schedinfo_progs},
	[TASK_STORAGE] = {NULL, "task_storage", hooks, task_storage_progs},
	[HASH] = {NULL, "hash", hooks, hash_progs},
};

/* Only method r->way's maps; max_cgroups 0 keeps every wait in "other":
 * the map starts full. */
static int runqlat_configure(struct bpf_run *r)
{
	const struct runqlat_opts *opts = r->opts;
	const struct runqlat_state *st = r->state;
	struct runqlat_bpf *skel = r->skel;

	bpf_map__set_autocreate(skel->maps.task_start, r->way == TASK_STORAGE);
	bpf_map__set_max_entries(skel->maps.start, r->way == HASH && opts && opts->max_inflight > 0
							   ? (uint32_t)opts->max_inflight : 1);
	skel->rodata->by_cgroup = st->by_cgroup;
	skel->bss->cgroups_full = st->by_cgroup && !st->max_cgroups;
	bpf_map__set_max_entries(skel->maps.cgroup_hist,
				 st->by_cgroup && st->max_cgroups ? st->max_cgroups : 1);
	return 0;
}

static void runqlat_describe(const struct bpf_run *r, char *buf, size_t size)
{
	const struct runqlat_state *st = r->state;

	snprintf(buf, size, "method=%s cgroups=%d", ways[r->way].label, st->by_cgroup);
}

static void runqlat_release(struct bpf_run *r)
{
	struct runqlat_state *st = r->state;

	cgroupid_close(st->names);
	for (size_t i = 0; i < st->n_groups; i++)
		free(st->groups[i].label);
	free(st->groups);
}

/* The options' cgroup half into the state; BPF_LOGGED on ENOMEM. */
static int runqlat_prepare(struct bpf_run *r)
{
	const struct runqlat_opts *opts = r->opts;
	struct runqlat_state *st = r->state;

	st->by_cgroup = opts && opts->cgroups;
	if (!st->by_cgroup)
		return 0;
	st->max_cgroups = (uint32_t)opts->max_cgroups; /* config: <= RUNQLAT_MAX_CGROUPS */
	st->names = cgroupid_open(r->global ? r->global->sysfs : NULL);
	if (st->names)
		return 0;
	if (errno == ENOMEM) {
		log_msg(LOG_ERROR, "runqlat: out of memory", NULL);
		return BPF_LOGGED;
	}
	log_msg(LOG_WARN, "no cgroup v2 hierarchy: runqlat cgroups labelled by id",
		"collector=runqlat err=%d", -errno);
	return 0;
}

/* ---- per cgroup ------------------------------------------------------------ */

/* Where id is in st->groups, or would go. */
static size_t group_index(const struct runqlat_state *st, uint64_t id)
{
	size_t lo = 0, hi = st->n_groups;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->groups[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct group *find_group(struct runqlat_state *st, uint64_t id)
{
	size_t i = group_index(st, id);

	return i < st->n_groups && st->groups[i].id == id ? &st->groups[i] : NULL;
}

static struct group *add_group(struct runqlat_state *st, uint64_t id)
{
	size_t i = group_index(st, id);

	if (grow_array((void **)&st->groups, &st->groups_cap, st->n_groups + 1,
		       sizeof(*st->groups)) < 0)
		return NULL;
	memmove(&st->groups[i + 1], &st->groups[i], (st->n_groups - i) * sizeof(*st->groups));
	st->n_groups++;
	st->unnamed++;
	st->groups[i] = (struct group){.id = id};
	return &st->groups[i];
}

/* mapread callback: one group's histogram. */
static void take_group(const void *key, const uint64_t *sums, void *arg)
{
	struct runqlat_state *st = arg;
	uint64_t id;
	struct group *g;

	memcpy(&id, key, sizeof(id));
	g = find_group(st, id);
	if (!g && !(g = add_group(st, id))) {
		st->out_of_memory = true;
		return;
	}
	memcpy(g->hist, sums, sizeof(g->hist));
}

/* cgroupid_walk callback: names a group not yet named; false once none is
 * left to name. */
static bool name_group(uint64_t id, const char *label, void *arg)
{
	struct runqlat_state *st = arg;
	struct group *g = find_group(st, id);

	if (g && !g->looked) {
		g->looked = true;
		g->label = strdup(label);
		st->unnamed--;
	}
	return st->unnamed > 0;
}

static void name_new_groups(struct runqlat_state *st)
{
	if (!st->unnamed)
		return;
	if (st->names)
		cgroupid_walk(st->names, name_group, st);
	for (size_t i = 0; i < st->n_groups; i++)
		st->groups[i].looked = true;
	st->unnamed = 0;
}

/* Whether g waited since the last read (then it is plainly alive); keeps
 * this read's count for the next. */
static bool busy(struct group *g)
{
	uint64_t waits = 0, before = g->waits;

	for (unsigned i = 0; i < HIST_SLOTS; i++)
		waits += g->hist[i];
	g->waits = waits;
	return waits != before;
}

/* An idle group still in the hierarchy; one never found cannot tell. */
static bool alive(const struct runqlat_state *st, const struct group *g)
{
	return g->label && st->names && cgroupid_alive(st->names, g->id, g->label);
}

static void emit_group(struct registry *reg, const struct group *g)
{
	char id[24];
	struct label l = {"cgroup", g->label};

	if (!g->label) {
		snprintf(id, sizeof(id), "%" PRIu64, g->id);
		l.value = id;
	}
	bpf_emit_log2_histogram(reg, &latency, &l, 1, g->hist, RUNQLAT_BUCKETS,
				RUNQLAT_UNIT_NS / 1e9, 1e-9);
}

/* Emits every group; those gone from the hierarchy a last time, then out
 * of the map. */
static int update_groups(struct runqlat_state *st, struct runqlat_bpf *skel,
			 struct registry *reg)
{
	int fd = bpf_map__fd(skel->maps.cgroup_hist);
	size_t kept = 0;

	st->out_of_memory = false;
	if (mapread_percpu_hash_sums(fd, sizeof(uint64_t), HIST_ENTRIES, take_group, st) < 0)
		return -1;
	name_new_groups(st);
	for (size_t i = 0; i < st->n_groups; i++) {
		struct group *g = &st->groups[i];

		emit_group(reg, g);
		if (!busy(g) && !alive(st, g)) {
			bpf_map_delete_elem(fd, &g->id);
			free(g->label);
			continue;
		}
		st->groups[kept++] = *g;
	}
	st->n_groups = kept;
	/* Room again (or a refusal that was not for room): new groups may
	 * insert. */
	if (skel->bss->cgroups_full && st->n_groups < st->max_cgroups)
		skel->bss->cgroups_full = false;
	if (st->out_of_memory)
		log_msg(LOG_ERROR, "runqlat: out of memory", NULL);
	return st->out_of_memory ? -1 : 0;
}

/* ---- the round --------------------------------------------------------------- */

static int runqlat_update(struct bpf_run *r, struct registry *reg)
{
	struct runqlat_state *st = r->state;
	struct runqlat_bpf *skel = r->skel;
	uint64_t entries[HIST_ENTRIES], counters[RUNQLAT_COUNTERS];
	struct label other = {"cgroup", "other"};

	if (st->by_cgroup && update_groups(st, skel, reg) < 0)
		return -1;
	if (bpf_percpu_sum(bpf_map__fd(skel->maps.hist), 0, HIST_ENTRIES, entries) < 0 ||
	    bpf_percpu_sum(bpf_map__fd(skel->maps.counters), 0, RUNQLAT_COUNTERS, counters) < 0)
		return -1;
	/* By cgroup, the array holds the waits of groups past max_cgroups. */
	bpf_emit_log2_histogram(reg, &latency, st->by_cgroup ? &other : NULL, st->by_cgroup, entries,
				RUNQLAT_BUCKETS, RUNQLAT_UNIT_NS / 1e9, 1e-9);
	if (st->by_cgroup)
		registry_emit(reg, &untracked, NULL, NULL, 0,
			      (double)counters[RUNQLAT_CGROUP_OVERFLOW], 0);
	registry_emit(reg, &overflow, NULL, NULL, 0, (double)counters[RUNQLAT_START_OVERFLOW], 0);
	return 0;
}

const struct bpf_collector bpf_collector_runqlat = {
	.collector =
		BPF_COLLECTOR("runqlat", true, sizeof(struct runqlat_opts), runqlat_opt_descs),
	.skel = &runqlat_bpf_ops,
	.state_size = sizeof(struct runqlat_state),
	.ways = ways,
	.n_ways = sizeof(ways) / sizeof(ways[0]),
	.prepare = runqlat_prepare,
	.configure = runqlat_configure,
	.describe = runqlat_describe,
	.update = runqlat_update,
	.release = runqlat_release,
};
