/* SPDX-License-Identifier: MIT */
/* kvlines: in-place tokenizing of procfs text, for the collectors of
 * /proc/stat, /proc/diskstats, /proc/net/... and /proc/vmstat.
 *
 * The text is a source_file's buffer, read again every round, so cutting it
 * with NULs costs nothing and the tokens can be label values as they are:
 * no copy, no malloc. Blanks are spaces and tabs. */
#ifndef BPFPUSH_KVLINES_H
#define BPFPUSH_KVLINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The next line of *cur ('\n' or the end of the text ends it),
 * NUL-terminated in place; NULL when no text is left. */
char *kv_line(char **cur);

/* The next blank-separated field of *cur (a line from kv_line),
 * NUL-terminated in place; NULL at the end of the line. */
char *kv_field(char **cur);

/* s as a whole is a decimal number that fits in 64 bits (no sign, no
 * blanks), as Go's strconv.ParseUint(s, 10, 64) reads it. */
bool kv_u64(const char *s, uint64_t *v);

/* A decimal number at *s (no sign, no blank before it) that fits in 64
 * bits; *s moves past its digits. For text where more follows the number
 * ("8:0", "123 456"). False, nothing moved, when *s does not start with a
 * digit or the number does not fit. */
bool kv_scan_u64(const char **s, uint64_t *v);

/* s as a whole is a number, as Go's strconv.ParseFloat reads procfs and
 * sysfs values ("-1", "123", "1.5", also "inf", "nan" and hex floats as
 * strtod knows them); false for "", leading whitespace or trailing
 * garbage. */
bool kv_double(const char *s, double *v);

/* s as a whole is a decimal integer with an optional sign, as Go's
 * strconv.Atoi reads it. */
bool kv_i64(const char *s, int64_t *v);

/* s as a whole is an integer in C's (and Go's ParseInt(s, 0, 64)'s)
 * notation: "0x1003", "-1", "42". */
bool kv_i64_base0(const char *s, int64_t *v);

/* /proc/net/netstat and /proc/net/snmp: pairs of lines
 *     TcpExt: SyncookiesSent SyncookiesRecv ...
 *     TcpExt: 0 0 ...
 * fn gets "TcpExt" (colon removed), the field name and the value's text
 * for each column, in file order; a nonzero return stops the walk and is
 * returned. Returns 0, or -1 when a value line is missing or has another
 * number of columns than its header (nothing of that pair is passed). */
/* The n strings of parts one after another into out (cap bytes, cap > 0),
 * NUL-terminated; returns their length, or cap when they do not fit (out
 * then holds what fits). For the metric names and HELP texts built per
 * field per round (node_netstat_<Proto>_<Field>, ...): snprintf's "%s_%s"
 * took about 900 instructions a call, a third of a round's user space. */
size_t kv_join(char *out, size_t cap, const char *const *parts, size_t n);

typedef int (*kv_pair_fn)(void *arg, const char *proto, const char *field, const char *value);
int kv_pairs(char *text, kv_pair_fn fn, void *arg);

#endif
