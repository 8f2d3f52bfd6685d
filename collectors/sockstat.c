/* SPDX-License-Identifier: MIT */
/* sockstat: /proc/net/sockstat and /proc/net/sockstat6 as node_exporter
 * 1.5's sockstat collector exposes them, all gauges:
 *
 *   sockets: used 229                  node_sockstat_sockets_used
 *   TCP: inuse 4 orphan 1 tw 146 alloc 6 mem 140
 *                                      node_sockstat_TCP_inuse, _orphan, _tw,
 *                                      _alloc, _mem (pages), _mem_bytes
 *   FRAG: inuse 0 memory 0             node_sockstat_FRAG_inuse, _memory
 *   TCP6: inuse 5                      node_sockstat_TCP6_inuse (sockstat6)
 *
 * Only the keys node_exporter (procfs) knows are kept, and inuse is always
 * there (0 when a line lacks it). sockstat6 is absent when IPv6 is off. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collectors/all.h"
#include "collectors/kvlines.h"
#include "lib/readfile.h"
#include "lib/log.h"

#define NAME_LEN 128

enum key { INUSE, ORPHAN, TW, ALLOC, MEM, MEMORY, N_KEYS };
static const char *const key_names[N_KEYS] = {"inuse", "orphan", "tw", "alloc", "mem", "memory"};

static const struct metric_desc sockets_used = {
	"node_sockstat_sockets_used", "Number of IPv4 sockets in use.", METRIC_GAUGE};

struct sockstat_state {
	struct source_file *v4, *v6;
	double page_size;
};

static void emit(struct registry *reg, const char *proto, const char *key, double v)
{
	char name[NAME_LEN], help[NAME_LEN + 32];
	struct metric_desc desc = {name, help, METRIC_GAUGE};

	kv_join(name, sizeof(name), (const char *const[]){"node_sockstat_", proto, "_", key}, 4);
	kv_join(help, sizeof(help),
		(const char *const[]){"Number of ", proto, " sockets in state ", key, "."}, 5);
	registry_emit(reg, &desc, NULL, NULL, 0, v, 0);
}

/* One line: "TCP: inuse 4 orphan 1 ...". -1 if malformed. */
static int emit_line(struct sockstat_state *st, struct registry *reg, char *line, bool ipv6)
{
	char *proto = kv_field(&line), *k, *v;
	double values[N_KEYS] = {0};
	bool have[N_KEYS] = {false};
	double used = 0;
	bool have_used = false, any = false;
	size_t len;

	if (!proto)
		return 0; /* an empty line */
	len = strlen(proto);
	if (len > 0 && proto[len - 1] == ':')
		proto[--len] = '\0';
	while ((k = kv_field(&line))) {
		int64_t x;
		if (!(v = kv_field(&line)) || !kv_i64(v, &x))
			return -1;
		any = true;
		if (!strcmp(k, "used")) {
			used = (double)x;
			have_used = true;
		}
		for (size_t i = 0; i < N_KEYS; i++)
			if (!strcmp(k, key_names[i])) {
				values[i] = (double)x;
				have[i] = true;
			}
	}
	if (!any)
		return -1;
	if (!strcmp(proto, "sockets")) {
		if (!ipv6 && have_used)
			registry_emit(reg, &sockets_used, NULL, NULL, 0, used, 0);
		return 0;
	}
	if (!have[INUSE]) {
		values[INUSE] = 0;
		have[INUSE] = true;
	}
	for (size_t i = 0; i < N_KEYS; i++)
		if (have[i])
			emit(reg, proto, key_names[i], values[i]);
	if (have[MEM])
		emit(reg, proto, "mem_bytes", values[MEM] * st->page_size);
	return 0;
}

static int emit_file(struct sockstat_state *st, struct registry *reg, struct source_file *f,
		     bool ipv6)
{
	char *cur = f->buf.data, *line;

	while ((line = kv_line(&cur)))
		if (emit_line(st, reg, line, ipv6) < 0) {
			log_msg(LOG_DEBUG, "sockstat: malformed line", "path=%s", f->path);
			return -1;
		}
	return 0;
}

static int sockstat_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct sockstat_state *st = ctx->state;
	const char *why;

	if (source_file_read(st->v4) < 0 || emit_file(st, reg, st->v4, false) < 0)
		return -1;
	if (source_file_try(st->v6, &why) < 0) {
		if (errno == ENOENT)
			return 0; /* IPv6 disabled */
		log_msg(LOG_DEBUG, "collector cannot read its source",
			"collector=sockstat path=%s err=\"%s\"", st->v6->path, why);
		return -1;
	}
	return emit_file(st, reg, st->v6, true);
}

static void sockstat_exit(struct collector_ctx *ctx)
{
	struct sockstat_state *st = ctx->state;

	if (!st)
		return;
	source_file_close(st->v4);
	source_file_close(st->v6);
	free(st);
	ctx->state = NULL;
}

static int sockstat_init(struct collector_ctx *ctx)
{
	const char *procfs = ctx->global ? ctx->global->procfs : NULL;
	struct sockstat_state *st = calloc(1, sizeof(*st));
	long page = sysconf(_SC_PAGESIZE);

	if (!st)
		return -1;
	ctx->state = st;
	st->page_size = page > 0 ? (double)page : 4096.0;
	if (!(st->v4 = source_file_open("sockstat", procfs, "/proc", "net/sockstat")) ||
	    !(st->v6 = source_file_open("sockstat", procfs, "/proc", "net/sockstat6"))) {
		sockstat_exit(ctx);
		return -1;
	}
	return 0;
}

const struct collector collector_sockstat = {
	.name = "sockstat",
	.default_enabled = true,
	.init = sockstat_init,
	.update = sockstat_update,
	.exit = sockstat_exit,
};
