/* SPDX-License-Identifier: MIT */
/* pairplan: what netstat keeps of one header line of /proc/net/netstat or
 * /proc/net/snmp ("TcpExt: SyncookiesSent SyncookiesRecv ..."), built the
 * first round the line is seen and reused while it stays byte for byte the
 * same (until the kernel changes): the columns the field filter keeps, with
 * their metric names and HELP texts. A round then compares the header line
 * and walks its value line once, instead of joining and filtering ~300
 * field names of which ~40 are kept (most of netstat's round). */
#ifndef BPFPUSH_PAIRPLAN_H
#define BPFPUSH_PAIRPLAN_H

#include <stdbool.h>
#include <stddef.h>

struct name_filter;

struct pair_column {
	size_t column;     /* its position after the proto, from 0 */
	char *name, *help; /* node_netstat_<Proto>_<Field>, "Statistic <Proto><Field>." */
	const char *value; /* this round's text (scratch) */
};

struct pair_plan {
	char *header; /* the header line it was built from; NULL: none yet */
	size_t header_len;
	size_t n_columns; /* fields after the proto */
	size_t n_kept;
	struct pair_column *kept;
};

/* Whether plan was built from this header line (header_len bytes). */
bool pair_plan_matches(const struct pair_plan *plan, const char *header, size_t header_len);

/* (Re)builds plan from a header line (header_len bytes, not modified) and
 * the filter. 0, or -1 (out of memory: plan is left empty). */
int pair_plan_build(struct pair_plan *plan, const char *header, size_t header_len,
		    const struct name_filter *fields);

/* Cuts values (the value line, its proto first) into fields in place and
 * points each kept column's value at its text. False when the line has
 * another number of columns than the header (nothing is set). */
bool pair_plan_values(struct pair_plan *plan, char *values);

void pair_plan_free(struct pair_plan *plan);

#endif
