/* SPDX-License-Identifier: MIT */
/* time: as node_exporter 1.5's time collector,
 *   node_time_seconds                     the wall clock (seconds since 1970)
 *   node_time_zone_offset_seconds{time_zone}  the local zone's abbreviation and
 *                                         UTC offset (TZ, else /etc/localtime)
 *   node_time_clocksource_available_info{clocksource,device} 1
 *   node_time_clocksource_current_info{clocksource,device} 1
 * the last two from <sysfs>/devices/system/clocksource/clocksource[0-9]*
 * (available_clocksource, current_clocksource). device is the index of the
 * directory in name order, as node_exporter numbers them (in practice there
 * is one: clocksource0, device "0"). No clocksource directory: no such
 * series, and success, as node_exporter's empty glob. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collectors/all.h"
#include "lib/readfile.h"
#include "collectors/keptdir.h"
#include "collectors/sysfs_attr.h"
#include "lib/log.h"

static const struct metric_desc now_desc = {
	"node_time_seconds", "System time in seconds since epoch (1970).", METRIC_GAUGE};
static const struct metric_desc zone_desc = {
	"node_time_zone_offset_seconds", "System time zone offset in seconds.", METRIC_GAUGE};
static const struct metric_desc available_desc = {
	"node_time_clocksource_available_info",
	"Available clocksources read from '/sys/devices/system/clocksource'.", METRIC_GAUGE};
static const struct metric_desc current_desc = {
	"node_time_clocksource_current_info",
	"Current clocksource read from '/sys/devices/system/clocksource'.", METRIC_GAUGE};

struct time_state {
	struct path_buf dir; /* <sysfs>/devices/system/clocksource */
	struct dir_list list;
	struct kept_dir sources; /* available_clocksource, current_clocksource */
};

static int emit_clocksources(struct time_state *st, struct registry *reg)
{
	if (dir_list_read(&st->list, st->dir.s, "clocksource", true) < 0) {
		if (errno == ENOENT)
			return 0;
		log_msg(LOG_DEBUG, "time: cannot list clocksources", "path=%s err=\"%s\"", st->dir.s,
			strerror(errno));
		return -1;
	}
	kept_dir_begin(&st->sources);
	for (size_t i = 0; i < st->list.n; i++) {
		char available[ATTR_MAX * 4], current[ATTR_MAX], device[24];
		struct label labels[2] = {{"device", device}, {"clocksource", NULL}};
		struct kept_entry *e = kept_dir_entry(&st->sources, st->list.names[i]);

		bool ok = e &&
			  kept_dir_read(&st->sources, e, 0, "available_clocksource", available,
					sizeof(available)) >= 0 &&
			  kept_dir_read(&st->sources, e, 1, "current_clocksource", current,
					sizeof(current)) >= 0;

		if (e)
			kept_dir_release(&st->sources, e);
		if (!ok) {
			log_msg(LOG_DEBUG, "time: cannot read clocksource", "path=%s/%s err=\"%s\"",
				st->dir.s, st->list.names[i], strerror(errno));
			kept_dir_end(&st->sources);
			return -1;
		}
		snprintf(device, sizeof(device), "%zu", i);
		for (char *save, *cs = strtok_r(available, " \t\n", &save); cs;
		     cs = strtok_r(NULL, " \t\n", &save)) {
			labels[1].value = cs;
			registry_emit(reg, &available_desc, NULL, labels, 2, 1, 0);
		}
		labels[1].value = current;
		registry_emit(reg, &current_desc, NULL, labels, 2, 1, 0);
	}
	kept_dir_end(&st->sources);
	return 0;
}

static int time_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct time_state *st = ctx->state;
	struct timespec ts;
	struct tm tm;
	int64_t ns;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	registry_emit(reg, &now_desc, NULL, NULL, 0, (double)ns / 1e9, 0);
	if (localtime_r(&ts.tv_sec, &tm)) {
		struct label zone = {"time_zone", tm.tm_zone ? tm.tm_zone : "UTC"};
		registry_emit(reg, &zone_desc, NULL, &zone, 1, (double)tm.tm_gmtoff, 0);
	}
	return emit_clocksources(st, reg);
}

static void time_exit(struct collector_ctx *ctx)
{
	struct time_state *st = ctx->state;

	if (!st)
		return;
	dir_list_free(&st->list);
	kept_dir_free(&st->sources);
	free(st);
	ctx->state = NULL;
}

static int time_init(struct collector_ctx *ctx)
{
	struct time_state *st = calloc(1, sizeof(*st));
	char *dir = NULL;

	ctx->state = st;
	if (!st || !(dir = collector_path(ctx->global ? ctx->global->sysfs : NULL, "/sys",
					  "devices/system/clocksource")) ||
	    path_set(&st->dir, dir) < 0 || kept_dir_init(&st->sources, dir, 2) < 0) {
		free(dir);
		time_exit(ctx);
		return -1;
	}
	free(dir);
	tzset(); /* the zone is read once, at start, as Go's time.Local */
	return 0;
}

const struct collector collector_time = {
	.name = "time",
	.default_enabled = true,
	.init = time_init,
	.update = time_update,
	.exit = time_exit,
};
