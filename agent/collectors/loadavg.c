/* loadavg: /proc/loadavg as node_exporter's loadavg collector exposes it. */
#include <stdio.h>
#include <stdlib.h>

#include "agent/collectors/all.h"
#include "agent/collectors/readfile.h"
#include "agent/log.h"

static const struct metric_desc load_descs[3] = {
	{"node_load1", "1m load average.", METRIC_GAUGE},
	{"node_load5", "5m load average.", METRIC_GAUGE},
	{"node_load15", "15m load average.", METRIC_GAUGE},
};

struct loadavg_state {
	char *path; /* <procfs>/loadavg */
	struct file_buf buf;
};

static int loadavg_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct loadavg_state *st = ctx->state;
	double load[3];
	const char *why;

	if (file_buf_read(&st->buf, st->path, NULL, &why) < 0) {
		log_msg(LOG_DEBUG, "loadavg: cannot read", "path=%s err=\"%s\"", st->path, why);
		return -1;
	}
	/* "0.52 0.58 0.59 2/431 12345" */
	if (sscanf(st->buf.data, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) {
		log_msg(LOG_DEBUG, "loadavg: unexpected format", "path=%s", st->path);
		return -1;
	}
	for (size_t i = 0; i < 3; i++)
		registry_emit(reg, &load_descs[i], NULL, NULL, 0, load[i], 0);
	return 0;
}

static int loadavg_init(struct collector_ctx *ctx)
{
	struct loadavg_state *st = calloc(1, sizeof(*st));

	if (!st || !(st->path = collector_path(ctx->global ? ctx->global->procfs : NULL,
					       "/proc", "loadavg"))) {
		free(st);
		log_msg(LOG_ERROR, "loadavg: out of memory", NULL);
		return -1;
	}
	ctx->state = st;
	return 0;
}

static void loadavg_exit(struct collector_ctx *ctx)
{
	struct loadavg_state *st = ctx->state;

	if (!st)
		return;
	file_buf_free(&st->buf);
	free(st->path);
	free(st);
	ctx->state = NULL;
}

const struct collector collector_loadavg = {
	.name = "loadavg",
	.default_enabled = true,
	.init = loadavg_init,
	.update = loadavg_update,
	.exit = loadavg_exit,
};
