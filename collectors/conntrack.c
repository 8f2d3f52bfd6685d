/* SPDX-License-Identifier: MIT */
/* conntrack: netfilter connection tracking, as node_exporter 1.5's
 * conntrack collector exposes it:
 *   <procfs>/sys/net/netfilter/nf_conntrack_count -> node_nf_conntrack_entries
 *   <procfs>/sys/net/netfilter/nf_conntrack_max   -> node_nf_conntrack_entries_limit
 *   <procfs>/net/stat/nf_conntrack (a header line, then one line of hex
 *   counters per CPU) -> node_nf_conntrack_stat_*, summed over the CPUs.
 * The stat columns are found by their header names (procfs takes them by
 * position; the names have kept those positions since Linux 4.x, and by
 * name a kernel that lacks one simply does not get that series).
 *
 * Without the nf_conntrack module the files do not exist: update returns
 * -1 quietly (debug log), as node_exporter's ErrNoData, and whatever was
 * read before the missing file stays emitted, as in node_exporter. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/all.h"
#include "lib/readfile.h"
#include "collectors/kvlines.h"
#include "lib/log.h"

static const struct metric_desc entries_desc = {
	"node_nf_conntrack_entries",
	"Number of currently allocated flow entries for connection tracking.", METRIC_GAUGE};
static const struct metric_desc limit_desc = {
	"node_nf_conntrack_entries_limit", "Maximum size of connection tracking table.",
	METRIC_GAUGE};

struct stat_column {
	const char *column; /* header name in /proc/net/stat/nf_conntrack */
	struct metric_desc desc;
};

#define N_STAT 8
static const struct stat_column stat_columns[N_STAT] = {
	{"found", {"node_nf_conntrack_stat_found",
		   "Number of searched entries which were successful.", METRIC_GAUGE}},
	{"invalid", {"node_nf_conntrack_stat_invalid",
		     "Number of packets seen which can not be tracked.", METRIC_GAUGE}},
	{"ignore", {"node_nf_conntrack_stat_ignore",
		    "Number of packets seen which are already connected to a conntrack entry.",
		    METRIC_GAUGE}},
	{"insert", {"node_nf_conntrack_stat_insert", "Number of entries inserted into the list.",
		    METRIC_GAUGE}},
	{"insert_failed", {"node_nf_conntrack_stat_insert_failed",
			   "Number of entries for which list insertion was attempted but failed.",
			   METRIC_GAUGE}},
	{"drop", {"node_nf_conntrack_stat_drop",
		  "Number of packets dropped due to conntrack failure.", METRIC_GAUGE}},
	{"early_drop", {"node_nf_conntrack_stat_early_drop",
			"Number of dropped conntrack entries to make room for new ones, if maximum "
			"table size was reached.", METRIC_GAUGE}},
	{"search_restart", {"node_nf_conntrack_stat_search_restart",
			    "Number of conntrack table lookups which had to be restarted due to "
			    "hashtable resizes.", METRIC_GAUGE}},
};

struct conntrack_state {
	struct source_file *count, *max, *stat;
};

static int read_failed(const char *path)
{
	if (errno == ENOENT)
		log_msg(LOG_DEBUG, "conntrack probably missing", "path=%s", path);
	else
		log_msg(LOG_DEBUG, "conntrack: cannot read", "path=%s err=\"%s\"", path,
			strerror(errno));
	return -1;
}

/* The next blank-separated token of *p (not past the line), or 0 at its end. */
static size_t token(const char **p)
{
	const char *s = *p;

	while (*s == ' ' || *s == '\t')
		s++;
	*p = s;
	while (*s && *s != ' ' && *s != '\t' && *s != '\n')
		s++;
	return (size_t)(s - *p);
}

/* Sums the wanted columns over the per-CPU lines. -1 when the header has
 * none of them or a line is not hex numbers. */
static int parse_stat(const char *text, uint64_t sums[N_STAT], bool have[N_STAT])
{
	int col_of[N_STAT];
	const char *p = text, *tok;
	size_t len, col = 0, n_have = 0;

	for (size_t i = 0; i < N_STAT; i++) {
		col_of[i] = -1;
		sums[i] = 0;
		have[i] = false;
	}
	for (; (len = token(&p)) > 0; p += len, col++) {
		tok = p;
		for (size_t i = 0; i < N_STAT; i++)
			if (strlen(stat_columns[i].column) == len &&
			    !memcmp(stat_columns[i].column, tok, len)) {
				col_of[i] = (int)col;
				have[i] = true;
				n_have++;
			}
	}
	if (n_have == 0)
		return -1;
	while (*p == '\n') {
		p++;
		for (col = 0; (len = token(&p)) > 0; p += len, col++) {
			char num[24], *end;
			uint64_t v;

			if (len >= sizeof(num))
				return -1;
			memcpy(num, p, len);
			num[len] = '\0';
			v = strtoull(num, &end, 16);
			if (*end)
				return -1;
			for (size_t i = 0; i < N_STAT; i++)
				if (col_of[i] == (int)col)
					sums[i] += v;
		}
	}
	return *p ? -1 : 0;
}

/* The whole trimmed content of f as one decimal integer; -1 with errno set. */
static int read_u64(struct source_file *f, uint64_t *v)
{
	const char *why;
	char *s, *end;

	if (source_file_try(f, &why) < 0)
		return -1;
	for (s = f->buf.data; *s == ' ' || *s == '\t' || *s == '\n'; s++)
		;
	for (end = f->buf.data + f->buf.len; end > s && (end[-1] == ' ' || end[-1] == '\t' ||
							  end[-1] == '\n');)
		*--end = '\0';
	if (!kv_u64(s, v)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int conntrack_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct conntrack_state *st = ctx->state;
	uint64_t v, sums[N_STAT];
	bool have[N_STAT];

	if (read_u64(st->count, &v) < 0)
		return read_failed(st->count->path);
	registry_emit(reg, &entries_desc, NULL, NULL, 0, (double)v, 0);
	if (read_u64(st->max, &v) < 0)
		return read_failed(st->max->path);
	registry_emit(reg, &limit_desc, NULL, NULL, 0, (double)v, 0);
	if (source_file_read(st->stat) < 0)
		return -1;
	if (parse_stat(st->stat->buf.data, sums, have) < 0) {
		log_msg(LOG_DEBUG, "conntrack: unexpected format", "path=%s", st->stat->path);
		return -1;
	}
	for (size_t i = 0; i < N_STAT; i++)
		if (have[i])
			registry_emit(reg, &stat_columns[i].desc, NULL, NULL, 0, (double)sums[i], 0);
	return 0;
}

static void conntrack_exit(struct collector_ctx *ctx)
{
	struct conntrack_state *st = ctx->state;

	if (!st)
		return;
	source_file_close(st->count);
	source_file_close(st->max);
	source_file_close(st->stat);
	free(st);
	ctx->state = NULL;
}

static int conntrack_init(struct collector_ctx *ctx)
{
	const char *procfs = ctx->global ? ctx->global->procfs : NULL;
	struct conntrack_state *st = calloc(1, sizeof(*st));

	ctx->state = st;
	if (!st ||
	    !(st->count = source_file_open("conntrack", procfs, "/proc",
					   "sys/net/netfilter/nf_conntrack_count")) ||
	    !(st->max = source_file_open("conntrack", procfs, "/proc",
					 "sys/net/netfilter/nf_conntrack_max")) ||
	    !(st->stat = source_file_open("conntrack", procfs, "/proc", "net/stat/nf_conntrack"))) {
		conntrack_exit(ctx);
		return -1;
	}
	return 0;
}

const struct collector collector_conntrack = {
	.name = "conntrack",
	.default_enabled = true,
	.init = conntrack_init,
	.update = conntrack_update,
	.exit = conntrack_exit,
};
