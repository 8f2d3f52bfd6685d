/* SPDX-License-Identifier: MIT */
/* vmstat: /proc/vmstat as node_exporter 1.5's vmstat collector exposes it:
 * node_vmstat_<field>, untyped, HELP "/proc/vmstat information field
 * <field>.", for the fields its default pattern keeps (option fields:
 * oom_kill, pgpgin/out, pswpin/out, pgfault, pgmajfault). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/all.h"
#include "collectors/filter.h"
#include "collectors/kvlines.h"
#include "collectors/procopts.h"
#include "lib/readfile.h"
#include "lib/log.h"

#define NAME_LEN 128

struct vmstat_state {
	struct source_file *src; /* <procfs>/vmstat */
	struct name_filter fields;
};

static int vmstat_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct vmstat_state *st = ctx->state;
	size_t n_lines = 0;
	char *cur, *line;

	if (source_file_read(st->src) < 0)
		return -1;
	cur = st->src->buf.data;
	while ((line = kv_line(&cur))) {
		char *field = kv_field(&line), *value = kv_field(&line);
		char name[NAME_LEN + 16], help[NAME_LEN + 48];
		struct metric_desc desc = {name, help, METRIC_UNTYPED};
		double v;

		if (!field)
			continue;
		if (!value || !kv_double(value, &v)) {
			/* node_exporter fails the whole collector on this. */
			log_msg(LOG_DEBUG, "vmstat: unexpected format", "path=%s field=%s",
				st->src->path, field);
			return -1;
		}
		n_lines++;
		if (strlen(field) > NAME_LEN || !name_filter_keep(&st->fields, field, strlen(field)))
			continue;
		kv_join(name, sizeof(name), (const char *const[]){"node_vmstat_", field}, 2);
		kv_join(help, sizeof(help),
			(const char *const[]){"/proc/vmstat information field ", field, "."}, 3);
		registry_emit(reg, &desc, NULL, NULL, 0, v, 0);
	}
	return n_lines > 0 ? 0 : -1;
}

static void vmstat_exit(struct collector_ctx *ctx)
{
	struct vmstat_state *st = ctx->state;

	if (!st)
		return;
	source_file_close(st->src);
	name_filter_free(&st->fields);
	free(st);
	ctx->state = NULL;
}

static int vmstat_init(struct collector_ctx *ctx)
{
	static const struct fields_opts defaults = {VMSTAT_DEFAULT_FIELDS};
	const struct fields_opts *o = ctx->opts ? ctx->opts : &defaults;
	struct vmstat_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -1;
	ctx->state = st;
	if (!(st->src = source_file_open("vmstat", ctx->global ? ctx->global->procfs : NULL,
					 "/proc", "vmstat")) ||
	    name_filter_init(&st->fields, o->fields, NULL) < 0) {
		vmstat_exit(ctx);
		return -1;
	}
	return 0;
}

static const struct opt_desc vmstat_opts[] = {
	{"fields", OPT_REGEX, VMSTAT_DEFAULT_FIELDS, offsetof(struct fields_opts, fields), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

const struct collector collector_vmstat = {
	.name = "vmstat",
	.counts_from_boot = true,
	.default_enabled = true,
	.opts_size = sizeof(struct fields_opts),
	.opts = vmstat_opts,
	.init = vmstat_init,
	.update = vmstat_update,
	.exit = vmstat_exit,
};
