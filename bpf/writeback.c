/* writeback: inode writeback switches between cgroups, by old and new
 * cgroup. Kernel side in writeback.bpf.c.
 *
 * The kernel gives cgroup v2 ids. Labels are the groups' paths as the
 * cgroup collector names them ("/", "/system.slice/setupwebroot.service"),
 * found by walking the hierarchy (cgroupid.h): once in a round that saw
 * an id not yet known, and never for an id already resolved or known to
 * be gone. An id whose directory no longer exists
 * (seed 000: the old cgroup is the one systemd just removed, which is why
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

#include "lib/grow.h"
#include "lib/log.h"
#include "bpf/bpf_collector.h"
#include "bpf/bpfutil.h"
#include "bpf/cgroupid.h"
#include "bpf/mapread.h"
#include "bpf/tphook.h"
#include "bpf/writeback.h"
#include "bpf/writeback.skel.h" /* generated into $(BUILD)/bpf */

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
	struct writeback_bpf *skel;
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

static void writeback_free(struct writeback_state *st)
{
	if (!st)
		return;
	writeback_bpf__destroy(st->skel);
	for (size_t i = 0; i < st->n_names; i++)
		free(st->names[i].path);
	free(st->names);
	free(st->pairs);
	cgroupid_close(st->cgroups);
	free(st);
}

static int writeback_init(struct collector_ctx *ctx)
{
	const struct writeback_opts *opts = ctx->opts;
	const char *want = opts ? opts->hook : NULL;
	struct writeback_state *st = NULL;
	enum tp_hook hook;
	const char *prog;
	char where[96];

	bpf_setup();
	hook = tphook_choose("writeback", "inode_switch_wbs", want);
	if (hook == TP_HOOK_NONE) {
		log_msg(LOG_WARN, "bpf collector disabled: kernel lacks its hook",
			"collector=writeback hook=%s",
			tphook_describe(hook, "writeback", "inode_switch_wbs", want, where,
					sizeof(where)));
		return -1;
	}
	if (!(st = calloc(1, sizeof(*st))) || !(st->skel = writeback_bpf__open()))
		goto fail;
	prog = hook == TP_HOOK_RAW ? "writeback_switch" : "writeback_switch_tp";
	tphook_keep_only(st->skel->obj, &prog, 1);
	if (opts && opts->max_pairs > 0)
		bpf_map__set_max_entries(st->skel->maps.switches,
					 (uint32_t)opts->max_pairs);
	if (writeback_bpf__load(st->skel) || writeback_bpf__attach(st->skel))
		goto fail;
	st->cgroups = cgroupid_open(ctx->global ? ctx->global->sysfs : NULL);
	if (!st->cgroups)
		log_msg(LOG_INFO, "no cgroup v2 hierarchy: writeback cgroups labelled by id",
			"collector=writeback err=%d", -errno);
	ctx->state = st;
	return 0;
fail:
	log_msg(LOG_WARN, "bpf collector disabled: cannot load or attach",
		"collector=writeback err=%d", -errno);
	writeback_free(st);
	return -1;
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

static int writeback_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct writeback_state *st = ctx->state;
	uint64_t counters[WRITEBACK_COUNTERS];
	char old_buf[24], new_buf[24];

	st->n_pairs = 0;
	if (mapread_percpu_hash(bpf_map__fd(st->skel->maps.switches), sizeof(struct wb_switch),
				add_pair, st) < 0 ||
	    bpf_percpu_sum(bpf_map__fd(st->skel->maps.counters), 0, WRITEBACK_COUNTERS, counters) <
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
	bpf_emit_program_stats(reg, "writeback", st->skel->obj);
	return 0;
}

static void writeback_exit(struct collector_ctx *ctx)
{
	writeback_free(ctx->state);
	ctx->state = NULL;
}

const struct collector bpf_collector_writeback = {
	.name = "writeback",
	.default_enabled = true,
	.opts_size = sizeof(struct writeback_opts),
	.opts = writeback_opt_descs,
	.kind = &bpf_collector_kind,
	.init = writeback_init,
	.update = writeback_update,
	.exit = writeback_exit,
};
