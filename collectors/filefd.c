/* SPDX-License-Identifier: MIT */
/* filefd: <procfs>/sys/fs/file-nr ("allocated  unused  maximum") as
 * node_exporter 1.5's filefd collector exposes it: node_filefd_allocated and
 * node_filefd_maximum. The middle number is always 0 since Linux 2.6. */
#include <stdlib.h>
#include <string.h>

#include "collectors/all.h"
#include "lib/readfile.h"
#include "lib/log.h"

static const struct metric_desc allocated_desc = {
	"node_filefd_allocated", "File descriptor statistics: allocated.", METRIC_GAUGE};
static const struct metric_desc maximum_desc = {
	"node_filefd_maximum", "File descriptor statistics: maximum.", METRIC_GAUGE};

/* The next blank-separated field as a number; false at the end or for a
 * field that is not a number (node_exporter's ParseFloat fails then). */
static bool next_number(char **p, double *v)
{
	char *s = *p, *end;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (!*s)
		return false;
	*v = strtod(s, &end);
	if (end == s || (*end && *end != ' ' && *end != '\t' && *end != '\n'))
		return false;
	*p = end;
	return true;
}

static int filefd_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct source_file *src = ctx->state;
	double v[3];
	char *p;

	if (source_file_read(src) < 0)
		return -1;
	p = src->buf.data;
	for (size_t i = 0; i < 3; i++)
		if (!next_number(&p, &v[i])) {
			log_msg(LOG_DEBUG, "filefd: unexpected format", "path=%s", src->path);
			return -1;
		}
	registry_emit(reg, &allocated_desc, NULL, NULL, 0, v[0], 0);
	registry_emit(reg, &maximum_desc, NULL, NULL, 0, v[2], 0);
	return 0;
}

static int filefd_init(struct collector_ctx *ctx)
{
	ctx->state = source_file_open("filefd", ctx->global ? ctx->global->procfs : NULL, "/proc",
				      "sys/fs/file-nr");
	return ctx->state ? 0 : -1;
}

static void filefd_exit(struct collector_ctx *ctx)
{
	source_file_close(ctx->state);
	ctx->state = NULL;
}

const struct collector collector_filefd = {
	.name = "filefd",
	.default_enabled = true,
	.init = filefd_init,
	.update = filefd_update,
	.exit = filefd_exit,
};
