/* SPDX-License-Identifier: MIT */
/* netclass: the attributes of /sys/class/net/<iface>/ as node_exporter 1.5's
 * netclass collector exposes them, label device:
 *
 *   node_network_up                      1 if operstate is "up"
 *   node_network_info{address,broadcast,duplex,ifalias,operstate}   1
 *   node_network_<property>              one per numeric attribute below
 *
 * An attribute the kernel refuses to give (EINVAL: speed, duplex, carrier
 * and dormant of a link that is down; EOPNOTSUPP; or one that this kernel
 * does not have) has no series, as in node_exporter; speed -1 (unknown) is
 * kept as -125000, as 1.5 does without --collector.netclass.ignore-invalid-speed.
 * Numbers are read as Go's ParseInt(s, 0, 64) reads them: flags is hex. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collectors/all.h"
#include "collectors/filter.h"
#include "collectors/keptdir.h"
#include "collectors/kvlines.h"
#include "collectors/procopts.h"
#include "lib/readfile.h"
#include "lib/log.h"

/* IFALIASZ is 256; a MAC of 32 bytes (MAX_ADDR_LEN) is 95 characters. */
#define ATTR_LEN 512

#define PROPERTY(name, type) {"node_network_" name, "Network device property: " name, type}

enum speed_rule { PLAIN, MBITS_TO_BYTES };

static const struct {
	const char *file;
	struct metric_desc desc;
	enum speed_rule rule;
} numeric[] = {
	{"addr_assign_type", PROPERTY("address_assign_type", METRIC_GAUGE), PLAIN},
	{"carrier", PROPERTY("carrier", METRIC_GAUGE), PLAIN},
	{"carrier_changes", PROPERTY("carrier_changes_total", METRIC_COUNTER), PLAIN},
	{"carrier_up_count", PROPERTY("carrier_up_changes_total", METRIC_COUNTER), PLAIN},
	{"carrier_down_count", PROPERTY("carrier_down_changes_total", METRIC_COUNTER), PLAIN},
	{"dev_id", PROPERTY("device_id", METRIC_GAUGE), PLAIN},
	{"dormant", PROPERTY("dormant", METRIC_GAUGE), PLAIN},
	{"flags", PROPERTY("flags", METRIC_GAUGE), PLAIN},
	{"ifindex", PROPERTY("iface_id", METRIC_GAUGE), PLAIN},
	{"iflink", PROPERTY("iface_link", METRIC_GAUGE), PLAIN},
	{"link_mode", PROPERTY("iface_link_mode", METRIC_GAUGE), PLAIN},
	{"mtu", PROPERTY("mtu_bytes", METRIC_GAUGE), PLAIN},
	{"name_assign_type", PROPERTY("name_assign_type", METRIC_GAUGE), PLAIN},
	{"netdev_group", PROPERTY("net_dev_group", METRIC_GAUGE), PLAIN},
	{"speed", PROPERTY("speed_bytes", METRIC_GAUGE), MBITS_TO_BYTES},
	{"tx_queue_len", PROPERTY("transmit_queue_length", METRIC_GAUGE), PLAIN},
	{"type", PROPERTY("protocol_type", METRIC_GAUGE), PLAIN},
};

static const struct metric_desc up_desc = {
	"node_network_up", "Value is 1 if operstate is 'up', 0 otherwise.", METRIC_GAUGE};
static const struct metric_desc info_desc = {
	"node_network_info", "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
	METRIC_GAUGE};

enum info_attr { ADDRESS, BROADCAST, DUPLEX, IFALIAS, OPERSTATE, N_INFO };
static const char *const info_files[N_INFO] = {"address", "broadcast", "duplex", "ifalias",
					       "operstate"};

struct netclass_state {
	char *class_net; /* <sysfs>/class/net */
	DIR *dir;        /* kept open, rewound each round: no allocation */
	struct kept_dir devices; /* the info files, then the numeric ones */
	struct name_filter ignored;
	char info[N_INFO][ATTR_LEN];
	char attr[ATTR_LEN];
};

#define N_NUMERIC (sizeof(numeric) / sizeof(numeric[0]))

/* Attribute i of dev into buf, blanks trimmed as Go's strings.TrimSpace
 * does; false when it cannot be read (EINVAL, EOPNOTSUPP, ENOENT,
 * EACCES...). */
static bool read_attr(struct netclass_state *st, struct kept_entry *dev, size_t i, char *buf,
		      size_t size)
{
	const char *file = i < N_INFO ? info_files[i] : numeric[i - N_INFO].file;

	return kept_dir_read(&st->devices, dev, i, file, buf, size) >= 0;
}

static void emit_device(struct netclass_state *st, struct registry *reg,
			struct kept_entry *dev, const char *name)
{
	struct label l = {"device", name};

	for (size_t i = 0; i < N_INFO; i++)
		if (!read_attr(st, dev, i, st->info[i], ATTR_LEN))
			st->info[i][0] = '\0';
	registry_emit(reg, &up_desc, NULL, &l, 1, !strcmp(st->info[OPERSTATE], "up"), 0);
	{
		struct label info[] = {
			{"device", name},
			{"address", st->info[ADDRESS]},
			{"broadcast", st->info[BROADCAST]},
			{"duplex", st->info[DUPLEX]},
			{"ifalias", st->info[IFALIAS]},
			{"operstate", st->info[OPERSTATE]},
		};
		registry_emit(reg, &info_desc, NULL, info, sizeof(info) / sizeof(info[0]), 1, 0);
	}
	for (size_t i = 0; i < N_NUMERIC; i++) {
		int64_t v;
		if (!read_attr(st, dev, N_INFO + i, st->attr, sizeof(st->attr)) ||
		    !kv_i64_base0(st->attr, &v))
			continue;
		/* Go: int64(speed * 1000 * 1000 / 8), integer arithmetic. */
		if (numeric[i].rule == MBITS_TO_BYTES) {
			if (v > INT64_MAX / 1000000 || v < INT64_MIN / 1000000)
				continue;
			v = v * 1000 * 1000 / 8;
		}
		registry_emit(reg, &numeric[i].desc, NULL, &l, 1, (double)v, 0);
	}
}

/* Entries of /sys/class/net are symlinks to the devices; bonding_masters
 * is a regular file, skipped as node_exporter (procfs) skips it. */
static bool is_regular(DIR *d, const struct dirent *e)
{
	struct stat sb;

	if (e->d_type != DT_UNKNOWN)
		return e->d_type == DT_REG;
	return fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode);
}

static int netclass_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct netclass_state *st = ctx->state;
	struct dirent *e;
	DIR *d;

	if (st->dir)
		rewinddir(st->dir);
	else if (!(st->dir = opendir(st->class_net))) {
		log_msg(LOG_DEBUG, "netclass: cannot read directory", "path=%s err=\"%s\"",
			st->class_net, strerror(errno));
		return -1;
	}
	d = st->dir;
	kept_dir_begin(&st->devices);
	while ((e = readdir(d))) {
		struct kept_entry *dev;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || is_regular(d, e) ||
		    !name_filter_keep(&st->ignored, e->d_name, strlen(e->d_name)))
			continue;
		/* Gone since readdir, or not a device: nothing to say about it. */
		if (!(dev = kept_dir_entry(&st->devices, e->d_name)))
			continue;
		emit_device(st, reg, dev, e->d_name);
		kept_dir_release(&st->devices, dev);
	}
	/* The devices gone since the last round are closed here. */
	kept_dir_end(&st->devices);
	return 0;
}

static void netclass_exit(struct collector_ctx *ctx)
{
	struct netclass_state *st = ctx->state;

	if (!st)
		return;
	if (st->dir)
		closedir(st->dir);
	kept_dir_free(&st->devices);
	free(st->class_net);
	name_filter_free(&st->ignored);
	free(st);
	ctx->state = NULL;
}

static int netclass_init(struct collector_ctx *ctx)
{
	static const struct netclass_opts defaults = {NETCLASS_DEFAULT_IGNORED_DEVICES};
	const struct netclass_opts *o = ctx->opts ? ctx->opts : &defaults;
	struct netclass_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -1;
	ctx->state = st;
	/* ignored_devices is an exclude pattern. */
	if (!(st->class_net = collector_path(ctx->global ? ctx->global->sysfs : NULL, "/sys",
					     "class/net")) ||
	    kept_dir_init(&st->devices, st->class_net, N_INFO + N_NUMERIC) < 0 ||
	    name_filter_init(&st->ignored, NULL, o->ignored_devices) < 0) {
		netclass_exit(ctx);
		return -1;
	}
	return 0;
}

static const struct opt_desc netclass_opts[] = {
	{"ignored_devices", OPT_REGEX, NETCLASS_DEFAULT_IGNORED_DEVICES,
	 offsetof(struct netclass_opts, ignored_devices), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

const struct collector collector_netclass = {
	.name = "netclass",
	.default_enabled = true,
	.opts_size = sizeof(struct netclass_opts),
	.opts = netclass_opts,
	.init = netclass_init,
	.update = netclass_update,
	.exit = netclass_exit,
};
