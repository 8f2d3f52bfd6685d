/* SPDX-License-Identifier: MIT */
/* Errors, scalars, typed values and the mapping walker: every key of the
 * file is read through here, so every section reports the same way. */
#include "config/internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Quoted user text in messages is cut here so that a message, the file name
 * and two quoted values still fit in CONFIG_ERR_MAX. */
#define QUOTE_MAX 64

/* ---- errors ---------------------------------------------------------- */

void cfg_verror(struct config_error *err, const char *name, int line, int col,
		const char *fmt, va_list ap)
{
	char msg[CONFIG_ERR_MAX];
	int n;

	if (err->text[0])
		return; /* the first error is the one to fix */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		n = snprintf(err->text, sizeof(err->text), "%s:%d:%d: ", name, line, col);
	else
		n = snprintf(err->text, sizeof(err->text), "%s: ", name);
	if (n > 0 && (size_t)n < sizeof(err->text)) {
		/* Cut, not dropped, when a long file name leaves little room. */
		size_t room = sizeof(err->text) - (size_t)n - 1, m = strlen(msg);

		if (m > room)
			m = room;
		memcpy(err->text + n, msg, m);
		err->text[(size_t)n + m] = '\0';
	}
	err->line = line > 0 ? line : 0;
	err->col = line > 0 ? col : 0;
}

void cfg_error(struct config_error *err, const char *name, int line, int col,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_verror(err, name, line, col, fmt, ap);
	va_end(ap);
}

int cfg_fail(struct cfg_ctx *ctx, const yaml_node_t *at, const char *fmt, ...)
{
	va_list ap;
	int line = 0, col = 0;

	/* libyaml marks are 0-based; editors and compilers count from 1. */
	if (at) {
		line = (int)at->start_mark.line + 1;
		col = (int)at->start_mark.column + 1;
	}
	va_start(ap, fmt);
	cfg_verror(ctx->err, ctx->name, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- nodes ----------------------------------------------------------- */

yaml_node_t *cfg_node(struct cfg_ctx *ctx, int index)
{
	return yaml_document_get_node(ctx->doc, index);
}

/* YAML 1.1/1.2 null, as a plain (unquoted) scalar only: "~" in quotes is
 * a string. */
bool cfg_is_null(const yaml_node_t *n)
{
	const char *s;

	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = (const char *)n->data.scalar.value;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

size_t cfg_map_len(const yaml_node_t *map)
{
	return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

const char *cfg_scalar(struct cfg_ctx *ctx, const yaml_node_t *n, const char *what)
{
	char q[QUOTE_BUF];
	const char *s;

	if (n->type != YAML_SCALAR_NODE) {
		cfg_fail(ctx, n, "\"%s\": expected a string, got %s", what,
			 cfg_describe(n, q, sizeof(q)));
		return NULL;
	}
	s = (const char *)n->data.scalar.value;
	/* "\0" in a double-quoted scalar is valid YAML; it would silently cut
	 * the value short as a C string. */
	if (strlen(s) != n->data.scalar.length) {
		cfg_fail(ctx, n, "\"%s\": must not contain a NUL character", what);
		return NULL;
	}
	return s;
}

const char *cfg_quote(const char *s, size_t len, char *buf, size_t size)
{
	size_t o = 0, i;

	if (size < 16) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (i = 0; i < len && i < QUOTE_MAX && o + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c == '\t') {
			buf[o++] = '\\';
			buf[o++] = 't';
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	if (i < len) {
		/* Do not end on half a UTF-8 character. */
		while (o > 1 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
			o--;
		if (o > 1 && ((unsigned char)buf[o - 1] & 0xc0) == 0xc0)
			o--;
		buf[o++] = '"';
		memcpy(buf + o, "...", 4);
		return buf;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

const char *cfg_quote_str(const char *s, char *buf, size_t size)
{
	return cfg_quote(s, strlen(s), buf, size);
}

const char *cfg_describe(const yaml_node_t *n, char *buf, size_t size)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_SCALAR_NODE:
		if (cfg_is_null(n))
			return n->data.scalar.length ? "null" : "an empty value";
		return cfg_quote((const char *)n->data.scalar.value, n->data.scalar.length, buf,
				 size);
	default:
		return "nothing";
	}
}

const char *cfg_key(struct cfg_ctx *ctx, const yaml_node_t *key)
{
	char q[QUOTE_BUF];

	if (key->type != YAML_SCALAR_NODE) {
		cfg_fail(ctx, key, "a key must be a plain string, got %s",
			 cfg_describe(key, q, sizeof(q)));
		return NULL;
	}
	/* libyaml does not do merge keys; without this, "<<" would be
	 * reported as an unknown key, which is true but puzzling. */
	if (key->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    !strcmp((const char *)key->data.scalar.value, "<<")) {
		cfg_fail(ctx, key, "YAML merge keys (<<) are not supported: repeat the keys, "
			 "or use an alias for the whole value");
		return NULL;
	}
	return cfg_scalar(ctx, key, "key");
}

int cfg_expect_mapping(struct cfg_ctx *ctx, const yaml_node_t *n, const char *label)
{
	char q[QUOTE_BUF];

	if (cfg_is_null(n) || n->type == YAML_MAPPING_NODE)
		return 0;
	return cfg_fail(ctx, n, "%s: expected a mapping, got %s", label,
			cfg_describe(n, q, sizeof(q)));
}

/* ---- typo suggestions ------------------------------------------------ */

#define SUGGEST_MAX 48

/* Case-insensitive Levenshtein distance of two short strings. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[SUGGEST_MAX + 1];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				      tolower((unsigned char)b[j - 1]);
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* A name the key ends with, after an underscore: Prometheus' own spelling
 * "scrape_interval" is our "interval". */
static const char *suffix_match(const char *key, const void *base, size_t n, size_t stride)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i < n; i++) {
		const char *name = *(const char *const *)((const char *)base + i * stride);
		size_t len = name ? strlen(name) : 0;

		if (len && klen > len + 1 && key[klen - len - 1] == '_' &&
		    !strcmp(key + klen - len, name))
			return name;
	}
	return NULL;
}

const char *cfg_suggest(const char *key, const void *base, size_t n, size_t stride)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	if (strlen(key) > SUGGEST_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *name = *(const char *const *)((const char *)base + i * stride);
		size_t d;

		if (!name || strlen(name) > SUGGEST_MAX)
			continue;
		d = edit_distance(key, name);
		/* Two edits at most, and fewer than half the name: "url" is
		 * not a typo of "ca". */
		if (d <= 2 && 2 * d < strlen(name) && d < best_d) {
			best = name;
			best_d = d;
		}
	}
	return best ? best : suffix_match(key, base, n, stride);
}

/* ---- typed values ---------------------------------------------------- */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int text_string(enum field_type t, const char *text, int64_t min, char **dst,
		       char *why, size_t why_size)
{
	char *copy = NULL;

	if (min > 0 && !*text) {
		snprintf(why, why_size, "must not be empty");
		return -1;
	}
	if (t == F_STRING || *text) {
		copy = strdup(text);
		if (!copy) {
			snprintf(why, why_size, "out of memory");
			return -1;
		}
	}
	free(*dst);
	*dst = copy;
	return 0;
}

static int text_bool(const char *text, bool *dst, char *why, size_t why_size)
{
	char q[QUOTE_BUF];

	/* Only these two: YAML 1.1's yes/no/on/off are a classic trap
	 * (the Norway problem), and Prometheus users write true/false. */
	if (!strcmp(text, "true")) {
		*dst = true;
		return 0;
	}
	if (!strcmp(text, "false")) {
		*dst = false;
		return 0;
	}
	snprintf(why, why_size, "expected true or false, got %s",
		 cfg_quote_str(text, q, sizeof(q)));
	return -1;
}

static int text_int(const char *text, int64_t min, int64_t *dst, char *why, size_t why_size)
{
	const char *digits = text + (*text == '-');
	char q[QUOTE_BUF];
	int64_t v = 0;

	cfg_quote_str(text, q, sizeof(q));
	if (!all_digits(digits)) {
		snprintf(why, why_size, "expected an integer, got %s", q);
		return -1;
	}
	/* YAML 1.1 reads 010 as octal 8, YAML 1.2 as 10: refuse to guess. */
	if (digits[0] == '0' && digits[1]) {
		snprintf(why, why_size,
			 "expected a decimal integer without leading zeros, got %s", q);
		return -1;
	}
	for (const char *p = digits; *p; p++) {
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v)) {
			snprintf(why, why_size, "integer out of range, got %s", q);
			return -1;
		}
	}
	if (digits != text)
		v = -v;
	if (v < min) {
		snprintf(why, why_size, "must be >= %" PRId64 ", got %" PRId64, min, v);
		return -1;
	}
	*dst = v;
	return 0;
}

static int text_bytes(const char *text, int64_t min, int64_t *dst, char *why, size_t why_size)
{
	char q[QUOTE_BUF];
	int64_t n;

	if (parse_byte_size(text, &n) < 0) {
		snprintf(why, why_size, "expected a byte size like 1GiB, 512MiB or 65536, got %s",
			 cfg_quote_str(text, q, sizeof(q)));
		return -1;
	}
	if (n < min) {
		snprintf(why, why_size, "must be at least %" PRId64 " bytes, got %s", min,
			 cfg_quote_str(text, q, sizeof(q)));
		return -1;
	}
	*dst = n;
	return 0;
}

static int text_duration(const char *text, int64_t min, int64_t *dst, char *why, size_t why_size)
{
	char q[QUOTE_BUF], m[32];
	int64_t ms;

	if (parse_duration_ms(text, &ms) < 0) {
		const char *hint = "";
		char h[QUOTE_BUF + 48];

		if (all_digits(text)) {
			/* Prometheus requires the unit too; say which one was
			 * probably meant instead of just "no". */
			snprintf(h, sizeof(h), " (a unit is required, e.g. \"%.32ss\")", text);
			hint = h;
		} else if (*text == '-') {
			hint = " (durations cannot be negative)";
		}
		snprintf(why, why_size, "expected a duration like 15s, 1m30s or 500ms, got %s%s",
			 cfg_quote_str(text, q, sizeof(q)), hint);
		return -1;
	}
	if (ms < min) {
		cfg_quote_str(text, q, sizeof(q));
		if (min == 1)
			snprintf(why, why_size, "must be greater than 0, got %s", q);
		else
			snprintf(why, why_size, "must be at least %s, got %s",
				 cfg_format_duration_ms(min, m, sizeof(m)), q);
		return -1;
	}
	*dst = ms;
	return 0;
}

/* A pattern is checked here, where its position is known, so that a typo
 * is a config error and not a collector that silently matches nothing. */
static int text_regex(const char *text, void *dst, char *why, size_t why_size)
{
	int err;
	PCRE2_SIZE at;
	pcre2_code *re;

	if (text[0]) {
		re = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &at, NULL);
		if (!re) {
			PCRE2_UCHAR msg[128];
			pcre2_get_error_message(err, msg, sizeof(msg));
			snprintf(why, why_size, "invalid regular expression at offset %zu: %s",
				 (size_t)at, (const char *)msg);
			return -1;
		}
		pcre2_code_free(re);
	}
	return text_string(F_OPTSTRING, text, 0, dst, why, why_size);
}

int cfg_text_value(enum field_type t, const char *text, int64_t min, void *dst,
		   char *why, size_t why_size)
{
	switch (t) {
	case F_STRING:
	case F_OPTSTRING:
		return text_string(t, text, min, dst, why, why_size);
	case F_BOOL:
		return text_bool(text, dst, why, why_size);
	case F_INT:
		return text_int(text, min, dst, why, why_size);
	case F_DURATION:
		return text_duration(text, min, dst, why, why_size);
	case F_BYTES:
		return text_bytes(text, min, dst, why, why_size);
	case F_REGEX:
		return text_regex(text, dst, why, why_size);
	case F_CUSTOM:
		break;
	}
	snprintf(why, why_size, "internal error: no text form for this type");
	return -1;
}

static const char *type_noun(enum field_type t)
{
	switch (t) {
	case F_BOOL:
		return "true or false";
	case F_INT:
		return "an integer";
	case F_DURATION:
		return "a duration";
	case F_BYTES:
		return "a byte size";
	default:
		return "a string";
	}
}

int cfg_node_value(struct cfg_ctx *ctx, const char *key, enum field_type t, int64_t min,
		   const yaml_node_t *value, void *dst)
{
	char q[QUOTE_BUF], why[CONFIG_ERR_MAX / 2];
	const char *text;

	if (value->type != YAML_SCALAR_NODE)
		return cfg_fail(ctx, value, "\"%s\": expected %s, got %s", key, type_noun(t),
				cfg_describe(value, q, sizeof(q)));
	text = cfg_scalar(ctx, value, key);
	if (!text)
		return -1;
	if (cfg_text_value(t, text, min, dst, why, sizeof(why)) < 0)
		return cfg_fail(ctx, value, "\"%s\": %s", key, why);
	return 0;
}

/* ---- the mapping walker ---------------------------------------------- */

static int unknown_key(struct cfg_ctx *ctx, const yaml_node_t *key, const struct mapping_spec *spec)
{
	const char *name = (const char *)key->data.scalar.value;
	const char *hint = cfg_suggest(name, spec->fields, spec->n_fields, sizeof(spec->fields[0]));
	char q[QUOTE_BUF];

	if (hint)
		return cfg_fail(ctx, key, "unknown %s %s %s (did you mean \"%s\"?)", spec->noun,
				cfg_quote_str(name, q, sizeof(q)), spec->where, hint);
	return cfg_fail(ctx, key, "unknown %s %s %s", spec->noun, cfg_quote_str(name, q, sizeof(q)),
			spec->where);
}

static const struct field *find_field(const struct mapping_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->n_fields; i++)
		if (!strcmp(spec->fields[i].name, name))
			return &spec->fields[i];
	return NULL;
}

static int parse_pair(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		      const struct mapping_spec *spec, void *obj, struct field_pos *pos)
{
	const struct field *f;
	struct field_pos *p;
	char q[QUOTE_BUF];
	void *dst;

	if (!cfg_key(ctx, key))
		return -1;
	f = find_field(spec, (const char *)key->data.scalar.value);
	if (!f)
		return unknown_key(ctx, key, spec);
	p = &pos[f - spec->fields];
	if (p->key)
		return cfg_fail(ctx, key, "duplicate key %s (first set at line %d)",
				cfg_quote_str(f->name, q, sizeof(q)),
				(int)p->key->start_mark.line + 1);
	p->key = key;
	dst = (char *)obj + f->offset;
	if (f->type == F_CUSTOM) {
		if (f->parse(ctx, key, value, dst) < 0)
			return -1;
	} else if (!cfg_is_null(value)) {
		if (cfg_node_value(ctx, f->name, f->type, f->min, value, dst) < 0)
			return -1;
	}
	p->value = cfg_is_null(value) ? NULL : value;
	return 0;
}

int cfg_parse_mapping(struct cfg_ctx *ctx, const yaml_node_t *map,
		      const struct mapping_spec *spec, void *obj, struct field_pos *pos)
{
	memset(pos, 0, spec->n_fields * sizeof(*pos));
	if (cfg_expect_mapping(ctx, map, spec->label) < 0)
		return -1;
	if (cfg_is_null(map))
		return 0;
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		if (parse_pair(ctx, cfg_node(ctx, pr->key), cfg_node(ctx, pr->value), spec, obj,
			       pos) < 0)
			return -1;
	}
	return 0;
}

const yaml_node_t *cfg_later(const yaml_node_t *a, const yaml_node_t *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a->start_mark.index > b->start_mark.index ? a : b;
}
