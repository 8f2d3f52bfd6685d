/* SPDX-License-Identifier: MIT */
/* softnet: /proc/net/softnet_stat as node_exporter 1.5's softnet collector
 * exposes it: per line (one per online CPU) the first three columns,
 * 32-bit hex counters, label cpu:
 *
 *   node_softnet_processed_total       packets processed
 *   node_softnet_dropped_total         dropped: the backlog queue was full
 *   node_softnet_times_squeezed_total  net_rx_action ran out of budget
 *
 * As in 1.5 (procfs 0.8), cpu is the line's index, not the CPU id of column
 * 13 (5.10+), and a line of fewer than 9 columns makes the file unreadable.
 * Later node_exporters added backlog_len, cpu_collision, received_rps and
 * flow_limit_count; 1.5 has none of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/all.h"
#include "collectors/kvlines.h"
#include "lib/readfile.h"
#include "lib/log.h"

#define MIN_COLUMNS 9
#define N_EMITTED 3

static const struct metric_desc descs[N_EMITTED] = {
	{"node_softnet_processed_total", "Number of processed packets", METRIC_COUNTER},
	{"node_softnet_dropped_total", "Number of dropped packets", METRIC_COUNTER},
	{"node_softnet_times_squeezed_total", "Number of times processing packets ran out of quota",
	 METRIC_COUNTER},
};

static bool parse_hex32(const char *s, uint32_t *v)
{
	uint64_t x = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16 || n >= 8)
			return false;
		x = x * 16 + d;
	}
	*v = (uint32_t)x;
	return n > 0;
}

struct softnet_state {
	struct source_file *src; /* <procfs>/net/softnet_stat */
	uint32_t (*values)[N_EMITTED]; /* by line; grows with the CPU count only */
	size_t cap;
};

static bool reserve(struct softnet_state *st, size_t n)
{
	uint32_t (*grown)[N_EMITTED];

	if (n <= st->cap)
		return true;
	if (!(grown = realloc(st->values, n * sizeof(*grown))))
		return false;
	st->values = grown;
	st->cap = n;
	return true;
}

static int softnet_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct softnet_state *st = ctx->state;
	struct source_file *src = st->src;
	size_t n_lines = 0, i;
	char *cur, *line;

	if (source_file_read(src) < 0)
		return -1;
	/* node_exporter emits nothing for a file with a bad line: parse all
	 * lines first, then emit. */
	for (cur = src->buf.data; *cur; cur++)
		n_lines += *cur == '\n';
	n_lines += src->buf.len > 0 && src->buf.data[src->buf.len - 1] != '\n';
	if (!n_lines || !reserve(st, n_lines))
		return -1;
	cur = src->buf.data;
	for (i = 0; i < n_lines && (line = kv_line(&cur)); i++) {
		size_t cols = 0;
		char *f;
		while ((f = kv_field(&line))) {
			if (cols < N_EMITTED && !parse_hex32(f, &st->values[i][cols]))
				break;
			cols++;
		}
		if (f || cols < MIN_COLUMNS) {
			log_msg(LOG_DEBUG, "softnet: unexpected format", "path=%s line=%zu", src->path,
				i + 1);
			return -1;
		}
	}
	for (size_t k = 0; k < i; k++) {
		char cpu[24];
		struct label l = {"cpu", cpu};
		snprintf(cpu, sizeof(cpu), "%zu", k);
		for (size_t c = 0; c < N_EMITTED; c++)
			registry_emit(reg, &descs[c], NULL, &l, 1, (double)st->values[k][c], 0);
	}
	return 0;
}

static void softnet_exit(struct collector_ctx *ctx)
{
	struct softnet_state *st = ctx->state;

	if (!st)
		return;
	source_file_close(st->src);
	free(st->values);
	free(st);
	ctx->state = NULL;
}

static int softnet_init(struct collector_ctx *ctx)
{
	struct softnet_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -1;
	ctx->state = st;
	if (!(st->src = source_file_open("softnet", ctx->global ? ctx->global->procfs : NULL,
					 "/proc", "net/softnet_stat"))) {
		softnet_exit(ctx);
		return -1;
	}
	return 0;
}

const struct collector collector_softnet = {
	.name = "softnet",
	.counts_from_boot = true,
	.default_enabled = true,
	.init = softnet_init,
	.update = softnet_update,
	.exit = softnet_exit,
};
