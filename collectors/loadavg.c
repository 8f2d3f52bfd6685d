/* SPDX-License-Identifier: MIT */
/* loadavg: /proc/loadavg as node_exporter's loadavg collector exposes it. */
#include <stdio.h>
#include <stdlib.h>

#include "collectors/all.h"
#include "lib/readfile.h"
#include "lib/log.h"

static const struct metric_desc load_descs[3] = {
	{"node_load1", "1m load average.", METRIC_GAUGE},
	{"node_load5", "5m load average.", METRIC_GAUGE},
	{"node_load15", "15m load average.", METRIC_GAUGE},
};

static int loadavg_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct source_file *src = ctx->state;
	double load[3];

	if (source_file_read(src) < 0)
		return -1;
	/* "0.52 0.58 0.59 2/431 12345" */
	if (sscanf(src->buf.data, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) {
		log_msg(LOG_DEBUG, "loadavg: unexpected format", "path=%s", src->path);
		return -1;
	}
	for (size_t i = 0; i < 3; i++)
		registry_emit(reg, &load_descs[i], NULL, NULL, 0, load[i], 0);
	return 0;
}

static int loadavg_init(struct collector_ctx *ctx)
{
	ctx->state = source_file_open("loadavg", ctx->global ? ctx->global->procfs : NULL,
				      "/proc", "loadavg");
	return ctx->state ? 0 : -1;
}

static void loadavg_exit(struct collector_ctx *ctx)
{
	source_file_close(ctx->state);
	ctx->state = NULL;
}

const struct collector collector_loadavg = {
	.name = "loadavg",
	.default_enabled = true,
	.init = loadavg_init,
	.update = loadavg_update,
	.exit = loadavg_exit,
};
