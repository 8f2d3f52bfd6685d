/* SPDX-License-Identifier: MIT */
/* meminfo: every field of /proc/meminfo, named as node_exporter names them:
 * node_memory_<Field>_bytes for fields in kB, node_memory_<Field> for counts
 * (HugePages_Total...), "Active(anon)" becoming "Active_anon". Every field,
 * not a fixed list, so new kernels' fields appear without a release. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/all.h"
#include "collectors/kvlines.h"
#include "lib/readfile.h"
#include "lib/log.h"

/* Field names are short (the longest today is ~20 bytes). */
#define NAME_MAX_LEN 128

/* node_exporter's reParens, `\((.*)\)` replaced by "_$1": from the first
 * '(' to the last ')'. Returns the length written, 0 if it does not fit. */
static size_t rewrite_key(const char *key, size_t len, char *out, size_t outsz)
{
	const char *open = memchr(key, '(', len), *close = NULL;
	size_t head, inner, tail;

	for (const char *p = key + len; open && p > open; p--)
		if (p[-1] == ')') {
			close = p - 1;
			break;
		}
	if (!close) {
		if (len >= outsz)
			return 0;
		memcpy(out, key, len);
		out[len] = '\0';
		return len;
	}
	head = (size_t)(open - key);
	inner = (size_t)(close - open - 1);
	tail = (size_t)(key + len - close - 1);
	if (head + 1 + inner + tail >= outsz)
		return 0;
	memcpy(out, key, head);
	out[head] = '_';
	memcpy(out + head + 1, open + 1, inner);
	memcpy(out + head + 1 + inner, close + 1, tail);
	out[head + 1 + inner + tail] = '\0';
	return head + 1 + inner + tail;
}

/* The next blank-separated token of the line, or 0 at its end. */
static size_t next_token(const char **p, const char *eol)
{
	const char *s = *p;

	while (s < eol && (*s == ' ' || *s == '\t'))
		s++;
	*p = s;
	while (s < eol && *s != ' ' && *s != '\t')
		s++;
	return (size_t)(s - *p);
}

static bool parse_number(const char *tok, size_t len, double *v)
{
	char num[32];

	if (len == 0 || len >= sizeof(num))
		return false;
	memcpy(num, tok, len);
	num[len] = '\0';
	return kv_double(num, v);
}

/* "Active(anon):     1234 kB" or "HugePages_Total:       0".
 * Returns 1 if emitted, 0 if the line is not a field. */
static int emit_line(struct registry *reg, const char *line, const char *eol)
{
	const char *colon = memchr(line, ':', (size_t)(eol - line)), *p, *value;
	char key[NAME_MAX_LEN], name[NAME_MAX_LEN + 16], help[NAME_MAX_LEN + 32];
	size_t key_len, value_len, unit_len;
	struct metric_desc desc = {name, help, METRIC_GAUGE};
	double v;

	if (!colon || !(key_len = rewrite_key(line, (size_t)(colon - line), key, sizeof(key))))
		return 0;
	p = colon + 1;
	value_len = next_token(&p, eol);
	value = p;
	p += value_len;
	unit_len = next_token(&p, eol);
	p += unit_len;
	if (!parse_number(value, value_len, &v) || next_token(&p, eol) != 0)
		return 0;
	if (unit_len) { /* node_exporter presumes kB whatever the unit says */
		if (key_len + sizeof("_bytes") > sizeof(key))
			return 0;
		v *= 1024;
		memcpy(key + key_len, "_bytes", sizeof("_bytes"));
		key_len += 6;
	}
	if (key_len >= 6 && strcmp(key + key_len - 6, "_total") == 0)
		desc.type = METRIC_COUNTER;
	kv_join(name, sizeof(name), (const char *const[]){"node_memory_", key}, 2);
	kv_join(help, sizeof(help), (const char *const[]){"Memory information field ", key, "."},
		3);
	return registry_emit(reg, &desc, NULL, NULL, 0, v, 0) == 0;
}

static int meminfo_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct source_file *src = ctx->state;
	const char *line, *end;
	size_t n_fields = 0;

	if (source_file_read(src) < 0)
		return -1;
	end = src->buf.data + src->buf.len;
	for (line = src->buf.data; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		n_fields += (size_t)emit_line(reg, line, eol ? eol : end);
		if (!eol)
			break;
		line = eol + 1;
	}
	return n_fields > 0 ? 0 : -1;
}

static int meminfo_init(struct collector_ctx *ctx)
{
	ctx->state = source_file_open("meminfo", ctx->global ? ctx->global->procfs : NULL,
				      "/proc", "meminfo");
	return ctx->state ? 0 : -1;
}

static void meminfo_exit(struct collector_ctx *ctx)
{
	source_file_close(ctx->state);
	ctx->state = NULL;
}

const struct collector collector_meminfo = {
	.name = "meminfo",
	.default_enabled = true,
	.init = meminfo_init,
	.update = meminfo_update,
	.exit = meminfo_exit,
};
