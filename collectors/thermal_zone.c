/* SPDX-License-Identifier: MIT */
/* thermal_zone: <sysfs>/class/thermal, as node_exporter 1.5's thermal_zone
 * collector exposes it:
 *   thermal_zone[0-9]* : type, temp (millidegree Celsius)
 *       -> node_thermal_zone_temp{type,zone} (zone: the number in the name)
 *   cooling_device[0-9]* : type, cur_state, max_state
 *       -> node_cooling_device_cur_state{name,type}, node_cooling_device_max_state{name,type}
 * A zone whose files cannot be read (a sensor answering ENODATA or EAGAIN,
 * common on laptops) is left out and the others are kept. No thermal class
 * (most VMs): no series, and success, as node_exporter's empty glob. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/all.h"
#include "lib/readfile.h"
#include "collectors/keptdir.h"
#include "collectors/kvlines.h"
#include "collectors/sysfs_attr.h"
#include "lib/log.h"

static const struct metric_desc temp_desc = {
	"node_thermal_zone_temp", "Zone temperature in Celsius", METRIC_GAUGE};
static const struct metric_desc cur_state_desc = {
	"node_cooling_device_cur_state", "Current throttle state of the cooling device",
	METRIC_GAUGE};
static const struct metric_desc max_state_desc = {
	"node_cooling_device_max_state", "Maximum throttle state of the cooling device",
	METRIC_GAUGE};

struct thermal_state {
	struct path_buf dir; /* <sysfs>/class/thermal */
	struct dir_list list; /* all of it, listed once per round */
	struct kept_dir files; /* each zone's or device's three files, kept open */
};

/* Attribute i (file) of entry e; trimmed. */
static int read_str(struct thermal_state *st, struct kept_entry *e, size_t i, const char *file,
		    char *buf, size_t size)
{
	return kept_dir_read(&st->files, e, i, file, buf, size) < 0 ? -1 : 0;
}

static int read_i64(struct thermal_state *st, struct kept_entry *e, size_t i, const char *file,
		    int64_t *v)
{
	char buf[64];

	if (read_str(st, e, i, file, buf, sizeof(buf)) < 0)
		return -1;
	if (!kv_i64(buf, v)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* name is prefix followed by a digit, as the glob "thermal_zone[0-9]*". */
static bool numbered(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	return !strncmp(name, prefix, n) && name[n] >= '0' && name[n] <= '9';
}

static void skipped(const struct thermal_state *st, const char *name, const char *what)
{
	log_msg(LOG_DEBUG, "thermal_zone: skipped", "what=%s path=%s/%s err=\"%s\"", what,
		st->dir.s, name, strerror(errno));
}

static void emit_zones(struct thermal_state *st, struct registry *reg)
{
	for (size_t i = 0; i < st->list.n; i++) {
		const char *name = st->list.names[i];
		char type[ATTR_MAX], policy[ATTR_MAX];
		struct kept_entry *e;
		int64_t temp;
		bool ok;

		if (!numbered(name, "thermal_zone"))
			continue;
		e = kept_dir_entry(&st->files, name);
		/* policy is read only because procfs requires it */
		ok = e && read_str(st, e, 0, "type", type, sizeof(type)) == 0 &&
		     read_str(st, e, 1, "policy", policy, sizeof(policy)) == 0 &&
		     read_i64(st, e, 2, "temp", &temp) == 0;
		if (e)
			kept_dir_release(&st->files, e);
		if (!ok)
			skipped(st, name, "zone");
		if (ok) {
			struct label labels[2] = {{"zone", name + strlen("thermal_zone")},
						  {"type", type}};
			registry_emit(reg, &temp_desc, NULL, labels, 2, (double)temp / 1000.0, 0);
		}
	}
}

static void emit_cooling_devices(struct thermal_state *st, struct registry *reg)
{
	for (size_t i = 0; i < st->list.n; i++) {
		const char *name = st->list.names[i];
		char type[ATTR_MAX];
		struct kept_entry *e;
		int64_t cur, max;
		bool ok;

		if (!numbered(name, "cooling_device"))
			continue;
		e = kept_dir_entry(&st->files, name);
		ok = e && read_str(st, e, 0, "type", type, sizeof(type)) == 0 &&
		     read_i64(st, e, 1, "max_state", &max) == 0 &&
		     read_i64(st, e, 2, "cur_state", &cur) == 0;
		if (e)
			kept_dir_release(&st->files, e);
		if (!ok)
			skipped(st, name, "cooling_device");
		if (ok) {
			struct label labels[2] = {{"name", name + strlen("cooling_device")},
						  {"type", type}};
			registry_emit(reg, &cur_state_desc, NULL, labels, 2, (double)cur, 0);
			registry_emit(reg, &max_state_desc, NULL, labels, 2, (double)max, 0);
		}
	}
}

static int thermal_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct thermal_state *st = ctx->state;

	/* The directory once per round, for zones and cooling devices both. */
	if (dir_list_read(&st->list, st->dir.s, NULL, false) < 0) {
		if (errno == ENOENT)
			return 0;
		log_msg(LOG_DEBUG, "thermal_zone: cannot list", "path=%s err=\"%s\"", st->dir.s,
			strerror(errno));
		return -1;
	}
	kept_dir_begin(&st->files);
	emit_zones(st, reg);
	emit_cooling_devices(st, reg);
	kept_dir_end(&st->files);
	return 0;
}

static void thermal_exit(struct collector_ctx *ctx)
{
	struct thermal_state *st = ctx->state;

	if (!st)
		return;
	dir_list_free(&st->list);
	kept_dir_free(&st->files);
	free(st);
	ctx->state = NULL;
}

static int thermal_init(struct collector_ctx *ctx)
{
	struct thermal_state *st = calloc(1, sizeof(*st));
	char *dir = NULL;

	ctx->state = st;
	if (!st || !(dir = collector_path(ctx->global ? ctx->global->sysfs : NULL, "/sys",
					  "class/thermal")) ||
	    path_set(&st->dir, dir) < 0 || kept_dir_init(&st->files, dir, 3) < 0) {
		free(dir);
		thermal_exit(ctx);
		return -1;
	}
	free(dir);
	return 0;
}

const struct collector collector_thermal_zone = {
	.name = "thermal_zone",
	.default_enabled = true,
	.init = thermal_init,
	.update = thermal_update,
	.exit = thermal_exit,
};
