/* SPDX-License-Identifier: MIT */
/* netdev: /proc/net/dev as node_exporter 1.5's netdev collector exposes it:
 * node_network_<stat>_total{device}, counters, with the legacy names of its
 * default (non-"detailed") mode:
 *
 *   receive_bytes receive_packets receive_errs receive_drop receive_fifo
 *   receive_frame receive_compressed receive_multicast transmit_bytes
 *   transmit_packets transmit_errs transmit_drop transmit_fifo transmit_colls
 *   transmit_carrier transmit_compressed
 *
 * 1.5 reads these over netlink by default (--collector.netdev.netlink), which
 * adds receive_nohandler; the kernel folds the netlink counters into
 * /proc/net/dev's 16 columns exactly as node_exporter's legacy() does, and
 * rx_nohandler is read from <sysfs>/class/net/<dev>/statistics/ where the
 * kernel has it (4.6+), so the set matches. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collectors/all.h"
#include "collectors/filter.h"
#include "collectors/keptdir.h"
#include "collectors/kvlines.h"
#include "collectors/procopts.h"
#include "lib/readfile.h"
#include "lib/log.h"

#define N_COLUMNS 16
#define PATH_LEN 4096

#define NETDEV_DESC(key) {"node_network_" key "_total", "Network device statistic " key ".", \
			  METRIC_COUNTER}

static const struct metric_desc columns[N_COLUMNS] = {
	NETDEV_DESC("receive_bytes"),    NETDEV_DESC("receive_packets"),
	NETDEV_DESC("receive_errs"),     NETDEV_DESC("receive_drop"),
	NETDEV_DESC("receive_fifo"),     NETDEV_DESC("receive_frame"),
	NETDEV_DESC("receive_compressed"), NETDEV_DESC("receive_multicast"),
	NETDEV_DESC("transmit_bytes"),   NETDEV_DESC("transmit_packets"),
	NETDEV_DESC("transmit_errs"),    NETDEV_DESC("transmit_drop"),
	NETDEV_DESC("transmit_fifo"),    NETDEV_DESC("transmit_colls"),
	NETDEV_DESC("transmit_carrier"), NETDEV_DESC("transmit_compressed"),
};
static const struct metric_desc nohandler = NETDEV_DESC("receive_nohandler");

struct netdev_state {
	struct source_file *src; /* <procfs>/net/dev */
	char *class_net;         /* <sysfs>/class/net */
	struct kept_dir sysfs;   /* its statistics/rx_nohandler, kept open */
	struct name_filter filter;
};

static void emit_nohandler(struct netdev_state *st, struct registry *reg, const char *dev)
{
	struct kept_entry *e = kept_dir_entry(&st->sysfs, dev);
	struct label l = {"device", dev};
	char buf[64];
	uint64_t v;

	if (!e)
		return;
	if (kept_dir_read(&st->sysfs, e, 0, "statistics/rx_nohandler", buf, sizeof(buf)) > 0 &&
	    kv_u64(buf, &v))
		registry_emit(reg, &nohandler, NULL, &l, 1, (double)v, 0);
	kept_dir_release(&st->sysfs, e);
}

/* "  eth0: 8614227 61834 3 ..." (or "eth0:8614227 ..." on old kernels,
 * whose numbers could touch the colon). 1 kept, 0 filtered, -1 no device. */
static int emit_line(struct netdev_state *st, struct registry *reg, char *line)
{
	char *colon = strchr(line, ':'), *dev, *f, *rest;
	uint64_t values[N_COLUMNS];
	size_t n = 0;

	/* The two header lines have no colon; interface names cannot have one. */
	if (!colon)
		return -1;
	*colon = '\0';
	rest = colon + 1;
	if (!(dev = kv_field(&line)) || kv_field(&line))
		return -1;
	while ((f = kv_field(&rest))) {
		if (n == N_COLUMNS || !kv_u64(f, &values[n]))
			return -1;
		n++;
	}
	if (n != N_COLUMNS)
		return -1;
	if (!name_filter_keep(&st->filter, dev, strlen(dev)))
		return 0;
	for (size_t i = 0; i < N_COLUMNS; i++) {
		struct label l = {"device", dev};
		registry_emit(reg, &columns[i], NULL, &l, 1, (double)values[i], 0);
	}
	emit_nohandler(st, reg, dev);
	return 1;
}

static int netdev_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct netdev_state *st = ctx->state;
	size_t n_devices = 0;
	char *cur, *line;

	if (source_file_read(st->src) < 0)
		return -1;
	cur = st->src->buf.data;
	kept_dir_begin(&st->sysfs);
	while ((line = kv_line(&cur)))
		n_devices += emit_line(st, reg, line) >= 0;
	/* The devices gone since the last round are closed here. */
	kept_dir_end(&st->sysfs);
	if (!n_devices)
		log_msg(LOG_DEBUG, "netdev: no device lines", "path=%s", st->src->path);
	return n_devices > 0 ? 0 : -1;
}

static void netdev_exit(struct collector_ctx *ctx)
{
	struct netdev_state *st = ctx->state;

	if (!st)
		return;
	source_file_close(st->src);
	kept_dir_free(&st->sysfs);
	free(st->class_net);
	name_filter_free(&st->filter);
	free(st);
	ctx->state = NULL;
}

static int netdev_init(struct collector_ctx *ctx)
{
	static const struct device_filter_opts none = {NULL, NULL};
	const struct device_filter_opts *o = ctx->opts ? ctx->opts : &none;
	struct netdev_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -1;
	ctx->state = st;
	if (!(st->src = source_file_open("netdev", ctx->global ? ctx->global->procfs : NULL,
					 "/proc", "net/dev")) ||
	    !(st->class_net = collector_path(ctx->global ? ctx->global->sysfs : NULL, "/sys",
					     "class/net")) ||
	    kept_dir_init(&st->sysfs, st->class_net, 1) < 0 ||
	    name_filter_init(&st->filter, o->device_include, o->device_exclude) < 0) {
		netdev_exit(ctx);
		return -1;
	}
	return 0;
}

static const struct opt_desc netdev_opts[] = {
	{"device_include", OPT_REGEX, NULL, offsetof(struct device_filter_opts, device_include), 0},
	{"device_exclude", OPT_REGEX, NULL, offsetof(struct device_filter_opts, device_exclude), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

const struct collector collector_netdev = {
	.name = "netdev",
	.default_enabled = true,
	.opts_size = sizeof(struct device_filter_opts),
	.opts = netdev_opts,
	.init = netdev_init,
	.update = netdev_update,
	.exit = netdev_exit,
};
