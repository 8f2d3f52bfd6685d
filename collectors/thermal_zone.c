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
	struct dir_list list;
};

static int read_str(struct path_buf *dir, const char *file, char *buf, size_t size)
{
	ssize_t back = path_push(dir, file);
	int rc = back < 0 ? -1 : (attr_read(dir->s, buf, size, true) < 0 ? -1 : 0);

	path_pop(dir, back);
	return rc;
}

static int read_i64(struct path_buf *dir, const char *file, int64_t *v)
{
	ssize_t back = path_push(dir, file);
	int rc = back < 0 ? -1 : attr_read_i64(dir->s, v);

	path_pop(dir, back);
	return rc;
}

static void skipped(const struct path_buf *dir, const char *what)
{
	log_msg(LOG_DEBUG, "thermal_zone: skipped", "what=%s path=%s err=\"%s\"", what, dir->s,
		strerror(errno));
}

static int emit_zones(struct thermal_state *st, struct registry *reg)
{
	if (dir_list_read(&st->list, st->dir.s, "thermal_zone", true) < 0)
		return errno == ENOENT ? 0 : -1;
	for (size_t i = 0; i < st->list.n; i++) {
		const char *name = st->list.names[i];
		char type[ATTR_MAX], policy[ATTR_MAX];
		ssize_t back = path_push(&st->dir, name);
		int64_t temp;
		int ok;

		if (back < 0)
			return -1;
		/* policy is read only because procfs requires it */
		ok = read_str(&st->dir, "type", type, sizeof(type)) == 0 &&
		     read_str(&st->dir, "policy", policy, sizeof(policy)) == 0 &&
		     read_i64(&st->dir, "temp", &temp) == 0;
		if (!ok)
			skipped(&st->dir, "zone");
		path_pop(&st->dir, back);
		if (ok) {
			struct label labels[2] = {{"zone", name + strlen("thermal_zone")},
						  {"type", type}};
			registry_emit(reg, &temp_desc, NULL, labels, 2, (double)temp / 1000.0, 0);
		}
	}
	return 0;
}

static int emit_cooling_devices(struct thermal_state *st, struct registry *reg)
{
	if (dir_list_read(&st->list, st->dir.s, "cooling_device", true) < 0)
		return errno == ENOENT ? 0 : -1;
	for (size_t i = 0; i < st->list.n; i++) {
		const char *name = st->list.names[i];
		char type[ATTR_MAX];
		ssize_t back = path_push(&st->dir, name);
		int64_t cur, max;
		int ok;

		if (back < 0)
			return -1;
		ok = read_str(&st->dir, "type", type, sizeof(type)) == 0 &&
		     read_i64(&st->dir, "max_state", &max) == 0 &&
		     read_i64(&st->dir, "cur_state", &cur) == 0;
		if (!ok)
			skipped(&st->dir, "cooling_device");
		path_pop(&st->dir, back);
		if (ok) {
			struct label labels[2] = {{"name", name + strlen("cooling_device")},
						  {"type", type}};
			registry_emit(reg, &cur_state_desc, NULL, labels, 2, (double)cur, 0);
			registry_emit(reg, &max_state_desc, NULL, labels, 2, (double)max, 0);
		}
	}
	return 0;
}

static int thermal_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct thermal_state *st = ctx->state;

	if (emit_zones(st, reg) < 0 || emit_cooling_devices(st, reg) < 0) {
		log_msg(LOG_DEBUG, "thermal_zone: cannot list", "path=%s err=\"%s\"", st->dir.s,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void thermal_exit(struct collector_ctx *ctx)
{
	struct thermal_state *st = ctx->state;

	if (!st)
		return;
	dir_list_free(&st->list);
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
	    path_set(&st->dir, dir) < 0) {
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
