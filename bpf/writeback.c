/* writeback: inode writeback switches between cgroups, by old and new
 * cgroup. Kernel side in writeback.bpf.c.
 *
 * The kernel gives cgroup ids (the cgroup directory's inode number on the
 * cgroup2 mount). Labels are paths relative to that mount ("/",
 * "/system.slice/setupwebroot.service"), found by walking the mount: once
 * in a round that saw an id not yet known, and never for an id already
 * resolved or known to be gone. An id whose directory no longer exists
 * (seed 000: the old cgroup is the one systemd just removed, which is why
 * its inodes move) keeps its number as the label.
 *
 * Inode switches happen only with cgroup writeback: the memory and io
 * controllers both on the cgroup2 hierarchy (a v1 or hybrid layout that
 * keeps memory on v1 has none, and every counter stays zero). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/libbpf.h>

#include "agent/grow.h"
#include "agent/log.h"
#include "bpf/bpf_collector.h"
#include "bpf/bpfutil.h"
#include "bpf/mapread.h"
#include "bpf/tphook.h"
#include "bpf/writeback.h"
#include "bpf/writeback.skel.h" /* generated into $(BUILD)/bpf */

/* Directories below the mount walked at most (a guard, not a limit any
 * real hierarchy reaches) and how deep. */
#define WALK_MAX_DIRS 100000
#define WALK_MAX_DEPTH 32

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
	char *mount; /* the cgroup2 mount point, or NULL */
	struct cgroup_name *names;
	size_t n_names, names_cap;
	struct wb_pair *pairs;
	size_t n_pairs, pairs_cap;
	size_t unresolved; /* names not yet looked for */
};

/* The cgroup2 mount point from /proc/self/mountinfo, or NULL. */
static char *cgroup2_mount(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], *found = NULL;

	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		char mnt[4096], fstype[64];
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(dash, " - %63s", fstype) != 1 || strcmp(fstype, "cgroup2") != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		/* Octal escapes (\040 for a space) as mountinfo writes them. */
		for (char *r = mnt, *w = mnt;; r++, w++) {
			if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
			    r[3] >= '0' && r[3] <= '7') {
				*w = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
				r += 3;
			} else if (!(*w = *r)) {
				break;
			}
		}
		found = strdup(mnt);
	}
	fclose(f);
	return found;
}

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

struct walk {
	struct writeback_state *st;
	size_t dirs;
};

static void found(struct walk *w, uint64_t id, const char *rel)
{
	struct cgroup_name *c = name_of(w->st, id);

	if (c && !c->resolved && !c->path) {
		c->path = strdup(*rel ? rel : "/");
		if (c->path)
			w->st->unresolved--;
	}
}

/* path is the directory (under the mount), rel its name relative to the
 * mount ("" for the root, else "/a/b"). */
static void walk_dir(struct walk *w, char *path, size_t len, size_t cap, const char *rel_start,
		     int depth)
{
	DIR *d;
	struct dirent *e;

	if (depth > WALK_MAX_DEPTH || ++w->dirs > WALK_MAX_DIRS || !w->st->unresolved)
		return;
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d)) && w->st->unresolved) {
		size_t n = strlen(e->d_name);

		if (e->d_type != DT_DIR || e->d_name[0] == '.' || len + 1 + n + 1 > cap)
			continue;
		path[len] = '/';
		memcpy(path + len + 1, e->d_name, n + 1);
		/* kernfs reports a cgroup directory's id as its d_ino. */
		found(w, (uint64_t)e->d_ino, rel_start);
		walk_dir(w, path, len + 1 + n, cap, rel_start, depth + 1);
		path[len] = '\0';
	}
	closedir(d);
}

/* Looks up every id not yet looked for; those not found are gone. */
static void resolve_names(struct writeback_state *st)
{
	struct walk w = {st, 0};
	char path[4096];
	struct stat sb;
	size_t len;

	if (!st->unresolved)
		return;
	if (st->mount && strlen(st->mount) < sizeof(path) / 2) {
		len = strlen(st->mount);
		memcpy(path, st->mount, len + 1);
		if (stat(path, &sb) == 0)
			found(&w, (uint64_t)sb.st_ino, "");
		walk_dir(&w, path, len, sizeof(path), path + len, 0);
	}
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
	free(st->mount);
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
	st->mount = cgroup2_mount();
	if (!st->mount)
		log_msg(LOG_INFO, "no cgroup2 mount: writeback cgroups labelled by id",
			"collector=writeback");
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
	.init = writeback_init,
	.update = writeback_update,
	.exit = writeback_exit,
};
