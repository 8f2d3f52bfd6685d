/* SPDX-License-Identifier: MIT */
/* diskstats: /proc/diskstats as node_exporter 1.5's diskstats collector
 * exposes it, label device:
 *
 *   14 columns (kernels before 4.18): the 11 classic counters;
 *   18 columns (4.18+): and the 4 discard counters;
 *   20 columns (5.5+): and the 2 flush counters.
 *
 * Older partition lines (2.6.0 to 2.6.24) have 4 counters: node_exporter
 * (procfs) skips a line with fewer than 11, and so does this.
 *
 * node_disk_info{device,major,minor,path,wwn,model,serial,revision} and the
 * udev-only families (node_disk_filesystem_info, node_disk_device_mapper_info,
 * node_disk_ata_*) come from udev's database, <rootfs>/run/udev/data/b<M>:<m>,
 * as node_exporter reads --path.udev.data; without it node_disk_info still
 * has device, major and minor (empty labels are no labels in Prometheus). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collectors/all.h"
#include "collectors/filter.h"
#include "collectors/kvlines.h"
#include "collectors/procopts.h"
#include "lib/readfile.h"
#include "lib/log.h"

/* Sectors are the kernel's 512-byte units whatever the device's block size
 * (Documentation/admin-guide/iostats.rst); times are milliseconds. */
#define SECTOR_BYTES 512.0
/* node_exporter multiplies by its secondsPerTick (1.0/1000.0): the same
 * product gives the same double, digit for digit. */
#define SECONDS_PER_TICK (1.0 / 1000.0)
#define MIN_STATS 11
#define MAX_STATS 17
#define PATH_LEN 4096

enum scale { AS_IS, BYTES, SECONDS };

static const struct {
	struct metric_desc desc;
	enum scale scale;
} stats[MAX_STATS] = {
	{{"node_disk_reads_completed_total", "The total number of reads completed successfully.",
	  METRIC_COUNTER}, AS_IS},
	{{"node_disk_reads_merged_total", "The total number of reads merged.", METRIC_COUNTER},
	 AS_IS},
	{{"node_disk_read_bytes_total", "The total number of bytes read successfully.",
	  METRIC_COUNTER}, BYTES},
	{{"node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.",
	  METRIC_COUNTER}, SECONDS},
	{{"node_disk_writes_completed_total", "The total number of writes completed successfully.",
	  METRIC_COUNTER}, AS_IS},
	{{"node_disk_writes_merged_total", "The number of writes merged.", METRIC_COUNTER}, AS_IS},
	{{"node_disk_written_bytes_total", "The total number of bytes written successfully.",
	  METRIC_COUNTER}, BYTES},
	{{"node_disk_write_time_seconds_total",
	  "This is the total number of seconds spent by all writes.", METRIC_COUNTER}, SECONDS},
	{{"node_disk_io_now", "The number of I/Os currently in progress.", METRIC_GAUGE}, AS_IS},
	{{"node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", METRIC_COUNTER},
	 SECONDS},
	{{"node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.",
	  METRIC_COUNTER}, SECONDS},
	{{"node_disk_discards_completed_total",
	  "The total number of discards completed successfully.", METRIC_COUNTER}, AS_IS},
	{{"node_disk_discards_merged_total", "The total number of discards merged.",
	  METRIC_COUNTER}, AS_IS},
	{{"node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.",
	  METRIC_COUNTER}, AS_IS},
	{{"node_disk_discard_time_seconds_total",
	  "This is the total number of seconds spent by all discards.", METRIC_COUNTER}, SECONDS},
	{{"node_disk_flush_requests_total",
	  "The total number of flush requests completed successfully", METRIC_COUNTER}, AS_IS},
	{{"node_disk_flush_requests_time_seconds_total",
	  "This is the total number of seconds spent by all flush requests.", METRIC_COUNTER},
	 SECONDS},
};

static const struct metric_desc info_desc = {
	"node_disk_info", "Info of /sys/block/<block_device>.", METRIC_GAUGE};
static const struct metric_desc fs_info_desc = {
	"node_disk_filesystem_info", "Info about disk filesystem.", METRIC_GAUGE};
static const struct metric_desc dm_info_desc = {
	"node_disk_device_mapper_info", "Info about disk device mapper.", METRIC_GAUGE};

/* The udev properties node_exporter 1.5 reads ("E:KEY=value" lines). */
enum udev_prop {
	ID_PATH, ID_WWN, ID_MODEL, ID_SERIAL_SHORT, ID_REVISION,
	ID_FS_TYPE, ID_FS_USAGE, ID_FS_UUID, ID_FS_VERSION,
	DM_NAME, DM_UUID, DM_VG_NAME, DM_LV_NAME, DM_LV_LAYER,
	ID_ATA, ID_ATA_WRITE_CACHE, ID_ATA_WRITE_CACHE_ENABLED, ID_ATA_ROTATION_RATE_RPM,
	N_PROPS
};

static const char *const prop_names[N_PROPS] = {
	"ID_PATH", "ID_WWN", "ID_MODEL", "ID_SERIAL_SHORT", "ID_REVISION",
	"ID_FS_TYPE", "ID_FS_USAGE", "ID_FS_UUID", "ID_FS_VERSION",
	"DM_NAME", "DM_UUID", "DM_VG_NAME", "DM_LV_NAME", "DM_LV_LAYER",
	"ID_ATA", "ID_ATA_WRITE_CACHE", "ID_ATA_WRITE_CACHE_ENABLED", "ID_ATA_ROTATION_RATE_RPM",
};

static const struct {
	enum udev_prop prop;
	struct metric_desc desc;
} ata_descs[] = {
	{ID_ATA_WRITE_CACHE,
	 {"node_disk_ata_write_cache", "ATA disk has a write cache.", METRIC_GAUGE}},
	{ID_ATA_WRITE_CACHE_ENABLED,
	 {"node_disk_ata_write_cache_enabled", "ATA disk has its write cache enabled.",
	  METRIC_GAUGE}},
	{ID_ATA_ROTATION_RATE_RPM,
	 {"node_disk_ata_rotation_rate_rpm", "ATA disk rotation rate in RPMs (0 for SSDs).",
	  METRIC_GAUGE}},
};

struct diskstats_state {
	struct source_file *src;  /* <procfs>/diskstats */
	struct name_filter filter;
	char *udev_dir;           /* NULL: no udev database */
	struct file_buf udev_buf; /* one device's udev file, reused */
};

/* Fills props with pointers into st->udev_buf (NUL-terminated in place);
 * the ones the file lacks stay NULL. A later line wins, as in Go's map. */
static void read_udev(struct diskstats_state *st, const char *major, const char *minor,
		      const char *props[N_PROPS])
{
	char path[PATH_LEN], *cur, *line;
	const char *why;
	int n;

	memset(props, 0, N_PROPS * sizeof(props[0]));
	if (!st->udev_dir)
		return;
	n = snprintf(path, sizeof(path), "%s/b%s:%s", st->udev_dir, major, minor);
	if (n < 0 || (size_t)n >= sizeof(path) || file_buf_read(&st->udev_buf, path, NULL, &why) < 0)
		return;
	cur = st->udev_buf.data;
	while ((line = kv_line(&cur))) {
		char *eq;
		if (line[0] != 'E' || line[1] != ':' || !(eq = strchr(line + 2, '=')))
			continue;
		*eq = '\0';
		for (size_t p = 0; p < N_PROPS; p++)
			if (!strcmp(line + 2, prop_names[p])) {
				props[p] = eq + 1;
				break;
			}
	}
}

static const char *prop(const char *const props[N_PROPS], enum udev_prop p)
{
	return props[p] ? props[p] : "";
}

static void emit_udev(struct registry *reg, const char *dev, const char *const props[N_PROPS])
{
	if (*prop(props, ID_FS_TYPE)) {
		struct label l[] = {
			{"device", dev}, {"type", props[ID_FS_TYPE]}, {"usage", prop(props, ID_FS_USAGE)},
			{"uuid", prop(props, ID_FS_UUID)}, {"version", prop(props, ID_FS_VERSION)},
		};
		registry_emit(reg, &fs_info_desc, NULL, l, sizeof(l) / sizeof(l[0]), 1, 0);
	}
	if (*prop(props, DM_NAME)) {
		struct label l[] = {
			{"device", dev}, {"name", props[DM_NAME]}, {"uuid", prop(props, DM_UUID)},
			{"vg_name", prop(props, DM_VG_NAME)}, {"lv_name", prop(props, DM_LV_NAME)},
			{"lv_layer", prop(props, DM_LV_LAYER)},
		};
		registry_emit(reg, &dm_info_desc, NULL, l, sizeof(l) / sizeof(l[0]), 1, 0);
	}
	if (*prop(props, ID_ATA)) {
		struct label l = {"device", dev};
		for (size_t i = 0; i < sizeof(ata_descs) / sizeof(ata_descs[0]); i++) {
			double v;
			const char *text = props[ata_descs[i].prop];
			if (!text)
				continue;
			if (kv_double(text, &v))
				registry_emit(reg, &ata_descs[i].desc, NULL, &l, 1, v, 0);
			else
				log_msg(LOG_DEBUG, "diskstats: bad ATA value in udev data",
					"device=%s property=%s", dev, prop_names[ata_descs[i].prop]);
		}
	}
}

/* "   8       0 sda 9012 1431 853986 ..." Returns 1 if the device was kept,
 * 0 if filtered out, -1 if the line is not a device line. */
static int emit_line(struct diskstats_state *st, struct registry *reg, char *line)
{
	char *major = kv_field(&line), *minor = kv_field(&line), *dev = kv_field(&line), *f;
	uint64_t x, values[MAX_STATS];
	size_t n = 0;
	const char *props[N_PROPS];

	if (!dev || !kv_u64(major, &x) || !kv_u64(minor, &x))
		return -1;
	while ((f = kv_field(&line)) && n < MAX_STATS) {
		if (!kv_u64(f, &values[n]))
			return -1;
		n++;
	}
	if (n < MIN_STATS)
		return -1;
	if (!name_filter_keep(&st->filter, dev, strlen(dev)))
		return 0;

	read_udev(st, major, minor, props);
	{
		struct label l[] = {
			{"device", dev}, {"major", major}, {"minor", minor},
			{"path", prop(props, ID_PATH)}, {"wwn", prop(props, ID_WWN)},
			{"model", prop(props, ID_MODEL)}, {"serial", prop(props, ID_SERIAL_SHORT)},
			{"revision", prop(props, ID_REVISION)},
		};
		registry_emit(reg, &info_desc, NULL, l, sizeof(l) / sizeof(l[0]), 1, 0);
	}
	for (size_t i = 0; i < n; i++) {
		struct label l = {"device", dev};
		double v = (double)values[i];
		if (stats[i].scale == BYTES)
			v *= SECTOR_BYTES;
		else if (stats[i].scale == SECONDS)
			v *= SECONDS_PER_TICK;
		registry_emit(reg, &stats[i].desc, NULL, &l, 1, v, 0);
	}
	emit_udev(reg, dev, props);
	return 1;
}

static int diskstats_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct diskstats_state *st = ctx->state;
	size_t n_lines = 0;
	char *cur, *line;

	if (source_file_read(st->src) < 0)
		return -1;
	cur = st->src->buf.data;
	while ((line = kv_line(&cur)))
		n_lines += emit_line(st, reg, line) >= 0;
	return n_lines > 0 ? 0 : -1;
}

static void diskstats_exit(struct collector_ctx *ctx)
{
	struct diskstats_state *st = ctx->state;

	if (!st)
		return;
	source_file_close(st->src);
	name_filter_free(&st->filter);
	free(st->udev_dir);
	file_buf_free(&st->udev_buf);
	free(st);
	ctx->state = NULL;
}

static int diskstats_init(struct collector_ctx *ctx)
{
	static const struct device_filter_opts defaults = {NULL, DISKSTATS_DEFAULT_DEVICE_EXCLUDE};
	const struct device_filter_opts *o = ctx->opts ? ctx->opts : &defaults;
	struct diskstats_state *st = calloc(1, sizeof(*st));
	struct stat sb;

	if (!st)
		return -1;
	ctx->state = st;
	if (!(st->src = source_file_open("diskstats", ctx->global ? ctx->global->procfs : NULL,
					 "/proc", "diskstats")) ||
	    name_filter_init(&st->filter, o->device_include, o->device_exclude) < 0 ||
	    !(st->udev_dir = collector_path(ctx->global ? ctx->global->rootfs : NULL, "/",
					    "run/udev/data"))) {
		diskstats_exit(ctx);
		return -1;
	}
	/* As node_exporter: checked once, at start. */
	if (stat(st->udev_dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		log_msg(LOG_INFO, "diskstats: no udev database, node_disk_info without model and serial",
			"path=%s", st->udev_dir);
		free(st->udev_dir);
		st->udev_dir = NULL;
	}
	return 0;
}

static const struct opt_desc diskstats_opts[] = {
	{"device_include", OPT_REGEX, NULL, offsetof(struct device_filter_opts, device_include), 0},
	{"device_exclude", OPT_REGEX, DISKSTATS_DEFAULT_DEVICE_EXCLUDE,
	 offsetof(struct device_filter_opts, device_exclude), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

const struct collector collector_diskstats = {
	.name = "diskstats",
	.counts_from_boot = true,
	.default_enabled = true,
	.opts_size = sizeof(struct device_filter_opts),
	.opts = diskstats_opts,
	.init = diskstats_init,
	.update = diskstats_update,
	.exit = diskstats_exit,
};
