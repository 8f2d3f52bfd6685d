/* SPDX-License-Identifier: MIT */
/* writeback: inode writeback switches between cgroups, by old and new
 * cgroup. Kernel side in writeback.bpf.c.
 *
 * The kernel gives cgroup v2 ids. Labels are the groups' paths as the
 * cgroup collector names them ("/", "/system.slice/setupwebroot.service"),
 * found by walking the hierarchy (cgroupid.h): once in a round that saw
 * an id not yet known, and never for an id already resolved or known to
 * be gone. An id whose directory no longer exists
 * (docs/design.md: the old cgroup is the one systemd just removed, which is why
 * its inodes move) keeps its number as the label.
 *
 * Inode switches happen only with cgroup writeback: the memory and io
 * controllers both on the cgroup2 hierarchy (a v1 or hybrid layout that
 * keeps memory on v1 has none, and every counter stays zero). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "bpf/bpfutil.h"
#include "bpf/cgroupid.h"
#include "bpf/loader.h"
#include "bpf/mapread.h"
#include "bpf/writeback.h"
#include "bpf/writeback.skel.h" /* generated into $(BUILD)/bpf */

BPF_SKEL_OPS(writeback_bpf);

struct writeback_opts {
	int64_t max_pairs; /* (old, new) cgroup pairs counted one by one */
	char *hook;        /* auto, raw_tp, tracepoint */
};

static const struct opt_desc writeback_opt_descs[] = {
	{"max_pairs", OPT_INT, "1024", offsetof(struct writeback_opts, max_pairs), 65536},
	{"hook", OPT_ENUM, "auto|raw_tp|tracepoint", offsetof(struct writeback_opts, hook), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

static const struct metric_desc switches_desc = {
	"kernel_writeback_inode_switches_total",
	"Inodes whose writeback moved from one cgroup to another (writeback:inode_switch_wbs); "
	"a cgroup that no longer exists is labelled by its id.",
	METRIC_COUNTER};
static const struct metric_desc untracked_desc = {
	"kernel_writeback_inode_switches_untracked_total",
	"Inode writeback switches not counted per cgroup pair because max_pairs pairs already were.",
	METRIC_COUNTER};

struct cgroup_name {
	uint64_t id;
	char *path; /* NULL: not found (gone) */
	bool resolved;
};

struct wb_pair {
	struct wb_switch key;
	uint64_t count;
};

struct writeback_state {
	struct cgroupid *cgroups; /* NULL: no cgroup v2 hierarchy, ids are labels */
	struct cgroup_name *names;
	size_t n_names, names_cap;
	struct wb_pair *pairs;
	size_t n_pairs, pairs_cap;
	size_t unresolved; /* names not yet looked for */
};

static struct cgroup_name *name_of(struct writeback_state *st, uint64_t id)
{
	for (size_t i = 0; i < st->n_names; i++)
		if (st->names[i].id == id)
			return &st->names[i];
	return NULL;
}

static void want_name(struct writeback_state *st, uint64_t id)
{
	if (name_of(st, id) ||
	    grow_array((void **)&st->names, &st->names_cap, st->n_names + 1, sizeof(*st->names)) < 0)
		return;
	st->names[st->n_names++] = (struct cgroup_name){id, NULL, false};
	st->unresolved++;
}

/* cgroupid_walk callback: names an id looked for; false once none is left. */
static bool found(uint64_t id, const char *label, void *arg)
{
	struct writeback_state *st = arg;
	struct cgroup_name *c = name_of(st, id);

	if (c && !c->resolved && !c->path) {
		c->path = strdup(label);
		if (c->path)
			st->unresolved--;
	}
	return st->unresolved > 0;
}

/* Looks up every id not yet looked for; those not found are gone. */
static void resolve_names(struct writeback_state *st)
{
	if (!st->unresolved)
		return;
	if (st->cgroups)
		cgroupid_walk(st->cgroups, found, st);
	for (size_t i = 0; i < st->n_names; i++)
		st->names[i].resolved = true;
	st->unresolved = 0;
}

static const struct bpf_hook raw_hook[] = {{BPF_RAW_TP, NULL, "inode_switch_wbs"}, BPF_HOOKS_END};
static const struct bpf_hook tp_hook[] = {
	{BPF_TRACEPOINT, "writeback", "inode_switch_wbs"}, BPF_HOOKS_END};
static const char *const raw_progs[] = {"writeback_switch", NULL};
static const char *const tp_progs[] = {"writeback_switch_tp", NULL};
static const struct bpf_way ways[] = {
	{"raw_tp", NULL, raw_hook, raw_progs},
	{"tracepoint", NULL, tp_hook, tp_progs},
};

static void writeback_release(struct bpf_run *r)
{
	struct writeback_state *st = r->state;

	for (size_t i = 0; i < st->n_names; i++)
		free(st->names[i].path);
	free(st->names);
	free(st->pairs);
	cgroupid_close(st->cgroups);
}

static int writeback_configure(struct bpf_run *r)
{
	const struct writeback_opts *opts = r->opts;
	struct writeback_bpf *skel = r->skel;

	if (opts && opts->max_pairs > 0)
		bpf_map__set_max_entries(skel->maps.switches, (uint32_t)opts->max_pairs);
	return 0;
}

static void writeback_started(struct bpf_run *r)
{
	struct writeback_state *st = r->state;

	st->cgroups = cgroupid_open(r->global ? r->global->sysfs : NULL);
	if (!st->cgroups)
		log_msg(LOG_INFO, "no cgroup v2 hierarchy: writeback cgroups labelled by id",
			"collector=writeback err=%d", -errno);
}

static void add_pair(const void *key, uint64_t sum, void *arg)
{
	struct writeback_state *st = arg;
	const struct wb_switch *k = key;

	if (!sum ||
	    grow_array((void **)&st->pairs, &st->pairs_cap, st->n_pairs + 1, sizeof(*st->pairs)) < 0)
		return;
	st->pairs[st->n_pairs++] = (struct wb_pair){*k, sum};
	want_name(st, k->old_cgroup);
	want_name(st, k->new_cgroup);
}

static const char *label_of(struct writeback_state *st, uint64_t id, char *buf, size_t size)
{
	const struct cgroup_name *c = name_of(st, id);

	if (c && c->path)
		return c->path;
	snprintf(buf, size, "%" PRIu64, id);
	return buf;
}

static int writeback_update(struct bpf_run *r, struct registry *reg)
{
	struct writeback_state *st = r->state;
	struct writeback_bpf *skel = r->skel;
	uint64_t counters[WRITEBACK_COUNTERS];
	char old_buf[24], new_buf[24];

	st->n_pairs = 0;
	if (mapread_percpu_hash(bpf_map__fd(skel->maps.switches), sizeof(struct wb_switch),
				add_pair, st) < 0 ||
	    bpf_percpu_sum(bpf_map__fd(skel->maps.counters), 0, WRITEBACK_COUNTERS, counters) <
		    0)
		return -1;
	resolve_names(st);
	for (size_t i = 0; i < st->n_pairs; i++) {
		struct label l[2] = {
			{"old_cgroup", label_of(st, st->pairs[i].key.old_cgroup, old_buf, sizeof(old_buf))},
			{"new_cgroup", label_of(st, st->pairs[i].key.new_cgroup, new_buf, sizeof(new_buf))},
		};
		registry_emit(reg, &switches_desc, NULL, l, 2, (double)st->pairs[i].count, 0);
	}
	registry_emit(reg, &untracked_desc, NULL, NULL, 0, (double)counters[WRITEBACK_PAIRS_FULL], 0);
	return 0;
}

const struct bpf_collector bpf_collector_writeback = {
	.collector =
		BPF_COLLECTOR("writeback", true, sizeof(struct writeback_opts), writeback_opt_descs),
	.skel = &writeback_bpf_ops,
	.state_size = sizeof(struct writeback_state),
	.ways = ways,
	.n_ways = sizeof(ways) / sizeof(ways[0]),
	.pin_option = "hook",
	.configure = writeback_configure,
	.started = writeback_started,
	.update = writeback_update,
	.release = writeback_release,
};
