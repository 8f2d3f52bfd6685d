/* SPDX-License-Identifier: MIT */
/* netstat: the protocol counters of /proc/net/netstat, /proc/net/snmp and
 * /proc/net/snmp6 as node_exporter 1.5's netstat collector exposes them:
 * node_netstat_<Proto>_<Field>, untyped, HELP "Statistic <Proto><Field>.",
 * for the fields its default pattern keeps (option fields): the TCP listen
 * queue counters (TcpExt_ListenOverflows, TcpExt_ListenDrops: the incident in
 * docs/design.md), retransmits, errors, octets...
 *
 * netstat and snmp are header/value line pairs ("TcpExt: A B\nTcpExt: 1 2");
 * snmp6 is one "Ip6InOctets  123" per line, the protocol ending at the
 * first '6'. snmp6 is absent when IPv6 is off: that is not an error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/all.h"
#include "collectors/filter.h"
#include "collectors/kvlines.h"
#include "collectors/pairplan.h"
#include "collectors/procopts.h"
#include "lib/readfile.h"
#include "lib/log.h"

/* Field names are short; the longest today is ~30 bytes. */
#define KEY_LEN 128

enum source { NETSTAT, SNMP, SNMP6, N_SOURCES };
static const char *const source_names[N_SOURCES] = {"net/netstat", "net/snmp", "net/snmp6"};

struct netstat_state {
	struct source_file *src[N_SOURCES];
	struct name_filter fields;
	struct pair_plan *plans; /* one per header line of netstat, then snmp */
	size_t n_plans;
};

struct emit_ctx {
	struct netstat_state *st;
	struct registry *reg;
	const char *path;
};

static int emit_field(void *arg, const char *proto, const char *field, const char *value)
{
	struct emit_ctx *e = arg;
	char key[KEY_LEN], name[KEY_LEN + 16], help[KEY_LEN + 16];
	struct metric_desc desc = {name, help, METRIC_UNTYPED};
	size_t n = kv_join(key, sizeof(key), (const char *const[]){proto, "_", field}, 3);
	double v;

	if (n >= sizeof(key))
		return 0;
	if (!name_filter_keep(&e->st->fields, key, n))
		return 0;
	if (!kv_double(value, &v)) {
		log_msg(LOG_DEBUG, "netstat: invalid value", "path=%s field=%s", e->path, key);
		return -1;
	}
	kv_join(name, sizeof(name), (const char *const[]){"node_netstat_", key}, 2);
	kv_join(help, sizeof(help), (const char *const[]){"Statistic ", proto, field, "."}, 4);
	registry_emit(e->reg, &desc, NULL, NULL, 0, v, 0);
	return 0;
}

/* Plan number i, made room for (its header lines are read in the same
 * order every round: the array grows only in the first). */
static struct pair_plan *plan_at(struct netstat_state *st, size_t i)
{
	if (i >= st->n_plans) {
		struct pair_plan *more = realloc(st->plans, (i + 1) * sizeof(*more));

		if (!more)
			return NULL;
		memset(more + st->n_plans, 0, (i + 1 - st->n_plans) * sizeof(*more));
		st->plans = more;
		st->n_plans = i + 1;
	}
	return &st->plans[i];
}

/* One header/value line pair through its plan (pairplan.h): what kv_pairs
 * with emit_field does, the same series, errors and all. 0 or -1. */
static int emit_pair(struct emit_ctx *e, struct pair_plan *plan, const char *header,
		     char *values)
{
	size_t len = strlen(header);

	if (!pair_plan_matches(plan, header, len) &&
	    pair_plan_build(plan, header, len, &e->st->fields) < 0)
		return -1;
	if (!pair_plan_values(plan, values))
		return -1;
	for (size_t i = 0; i < plan->n_kept; i++) {
		const struct pair_column *c = &plan->kept[i];
		struct metric_desc desc = {c->name, c->help, METRIC_UNTYPED};
		double v;

		if (!kv_double(c->value, &v)) {
			log_msg(LOG_DEBUG, "netstat: invalid value", "path=%s field=%s", e->path,
				c->name);
			return -1;
		}
		registry_emit(e->reg, &desc, NULL, NULL, 0, v, 0);
	}
	return 0;
}

/* netstat and snmp: pairs of lines, as kv_pairs reads them (a blank line
 * is skipped; a header without its value line is an error). *plan_i counts
 * the header lines across both files. 0 or -1. */
static int walk_pairs(char *text, struct emit_ctx *e, size_t *plan_i)
{
	char *cur = text, *header, *values;
	struct pair_plan *plan;

	while ((header = kv_line(&cur))) {
		if (header[strspn(header, " \t")] == '\0')
			continue;
		if (!(values = kv_line(&cur)) || !(plan = plan_at(e->st, (*plan_i)++)) ||
		    emit_pair(e, plan, header, values) < 0)
			return -1;
	}
	return 0;
}

/* "Ip6InReceives                   \t1" lines. */
static int walk_snmp6(char *text, struct emit_ctx *e)
{
	char *cur = text, *line;

	while ((line = kv_line(&cur))) {
		char *stat = kv_field(&line), *value = kv_field(&line), *six;
		char proto[KEY_LEN];
		size_t len;

		if (!stat || !value || !(six = strchr(stat, '6')))
			continue;
		len = (size_t)(six - stat) + 1;
		if (len >= sizeof(proto))
			continue;
		memcpy(proto, stat, len);
		proto[len] = '\0';
		if (emit_field(e, proto, six + 1, value) < 0)
			return -1;
	}
	return 0;
}

static int netstat_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct netstat_state *st = ctx->state;
	struct emit_ctx e = {st, reg, NULL};
	struct source_file *snmp6 = st->src[SNMP6];
	const char *why;
	size_t plan_i = 0;
	int err;

	if (source_file_read(st->src[NETSTAT]) < 0 || source_file_read(st->src[SNMP]) < 0)
		return -1;
	for (size_t i = NETSTAT; i <= SNMP; i++) {
		e.path = st->src[i]->path;
		if (walk_pairs(st->src[i]->buf.data, &e, &plan_i) != 0) {
			log_msg(LOG_DEBUG, "netstat: unexpected format", "path=%s", e.path);
			return -1;
		}
	}
	if (source_file_try(snmp6, &why) < 0) {
		err = errno;
		if (err == ENOENT)
			return 0; /* IPv6 disabled */
		log_msg(LOG_DEBUG, "collector cannot read its source", "collector=netstat path=%s err=\"%s\"",
			snmp6->path, why);
		return -1;
	}
	e.path = snmp6->path;
	return walk_snmp6(snmp6->buf.data, &e);
}

static void netstat_exit(struct collector_ctx *ctx)
{
	struct netstat_state *st = ctx->state;

	if (!st)
		return;
	for (size_t i = 0; i < N_SOURCES; i++)
		source_file_close(st->src[i]);
	for (size_t i = 0; i < st->n_plans; i++)
		pair_plan_free(&st->plans[i]);
	free(st->plans);
	name_filter_free(&st->fields);
	free(st);
	ctx->state = NULL;
}

static int netstat_init(struct collector_ctx *ctx)
{
	static const struct fields_opts defaults = {NETSTAT_DEFAULT_FIELDS};
	const struct fields_opts *o = ctx->opts ? ctx->opts : &defaults;
	struct netstat_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -1;
	ctx->state = st;
	for (size_t i = 0; i < N_SOURCES; i++)
		if (!(st->src[i] = source_file_open("netstat", ctx->global ? ctx->global->procfs : NULL,
						    "/proc", source_names[i]))) {
			netstat_exit(ctx);
			return -1;
		}
	if (name_filter_init(&st->fields, o->fields, NULL) < 0) {
		netstat_exit(ctx);
		return -1;
	}
	return 0;
}

static const struct opt_desc netstat_opts[] = {
	{"fields", OPT_REGEX, NETSTAT_DEFAULT_FIELDS, offsetof(struct fields_opts, fields), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

const struct collector collector_netstat = {
	.name = "netstat",
	.default_enabled = true,
	.opts_size = sizeof(struct fields_opts),
	.opts = netstat_opts,
	.init = netstat_init,
	.update = netstat_update,
	.exit = netstat_exit,
};
