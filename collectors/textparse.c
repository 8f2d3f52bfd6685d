/* SPDX-License-Identifier: MIT */
/* Prometheus text format parser; see textparse.h for what it accepts.
 *
 * Error texts follow expfmt's where expfmt has one, so that a message an
 * operator searches for leads to the same explanations node_exporter users
 * find. Parsing stops at the first error: the caller skips the whole file. */
#include "collectors/textparse.h"
#include "collectors/textlex.h"
#include "collectors/textparse_cursor.h"
#include "lib/buf.h"
#include "lib/names.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int textparse_fail(struct textparse *p, const struct cursor *c, const char *fmt, ...)
{
	va_list ap;

	p->error.line = c->line;
	va_start(ap, fmt);
	vsnprintf(p->error.reason, sizeof(p->error.reason), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- storage ------------------------------------------------------- */

/* The index holds family index + 1: the families array moves as it grows. */
static int64_t find_family(const struct textparse *p, const char *name, size_t len)
{
	uint64_t hash = hashmap_hash(name, len);
	size_t pos;

	for (void *it = hashmap_first(&p->index, hash, &pos); it;
	     it = hashmap_next(&p->index, hash, &pos)) {
		size_t fam = (uintptr_t)it - 1;
		if (p->families[fam].name_len == len && memcmp(p->families[fam].name, name, len) == 0)
			return (int64_t)fam;
	}
	return -1;
}

/* s[0..len) and a NUL into p->strings: its offset, or -1 on ENOMEM. The
 * families' pointers follow the array when it moves. */
static int64_t own_string(struct textparse *p, const char *s, size_t len)
{
	size_t at = p->len_strings;

	if (len >= UINT32_MAX - at - 1)
		return -1;
	if (at + len + 1 > p->cap_strings) {
		if (grow_array((void **)&p->strings, &p->cap_strings, at + len + 1, 1) < 0)
			return -1;
		for (size_t i = 0; i < p->n_families; i++) {
			struct textparse_family *f = &p->families[i];

			f->name = p->strings + f->name_off;
			if (f->help_off != UINT32_MAX)
				f->help = p->strings + f->help_off;
		}
	}
	memcpy(p->strings + at, s, len);
	p->strings[at + len] = '\0';
	p->len_strings = at + len + 1;
	return (int64_t)at;
}

static int add_family(struct textparse *p, const struct cursor *c, const char *name,
		      size_t len, uint32_t *out)
{
	int64_t off;

	if (grow_array((void **)&p->families, &p->cap_families, p->n_families + 1,
		       sizeof(*p->families)) < 0 ||
	    (off = own_string(p, name, len)) < 0 ||
	    hashmap_insert(&p->index, hashmap_hash(name, len),
			   (void *)(uintptr_t)(p->n_families + 1)) < 0)
		return textparse_fail_oom(p, c);
	p->families[p->n_families] = (struct textparse_family){
		.name = p->strings + off, .name_len = len, .type = METRIC_UNTYPED, .line = c->line,
		.name_off = (uint32_t)off, .help_off = UINT32_MAX};
	*out = (uint32_t)p->n_families++;
	return 0;
}

const struct textparse_family *textparse_find(const struct textparse *p, const char *name,
					      size_t len)
{
	int64_t fam = find_family(p, name, len);

	return fam < 0 ? NULL : &p->families[fam];
}

/* ---- families ------------------------------------------------------ */

static bool has_suffix(size_t len, const char *name, const char *suffix, size_t suffix_len)
{
	return len > suffix_len && memcmp(name + len - suffix_len, suffix, suffix_len) == 0;
}

/* The family a name belongs to, looked up in a histogram or summary of
 * that base name: foo_sum and foo_count for both, foo_bucket for a
 * histogram only. */
static int64_t find_parent(const struct textparse *p, const char *name, size_t len)
{
	size_t base_len = 0;
	int64_t fam;

	if (has_suffix(len, name, "_count", 6))
		base_len = len - 6;
	else if (has_suffix(len, name, "_sum", 4))
		base_len = len - 4;
	if (base_len && (fam = find_family(p, name, base_len)) >= 0 &&
	    (p->families[fam].type == METRIC_SUMMARY || p->families[fam].type == METRIC_HISTOGRAM))
		return fam;
	if (has_suffix(len, name, "_bucket", 7) &&
	    (fam = find_family(p, name, len - 7)) >= 0 &&
	    p->families[fam].type == METRIC_HISTOGRAM)
		return fam;
	return -1;
}

/* expfmt's setOrCreateCurrentMF: the family of that exact name, else the
 * histogram or summary it is a part of, else a new family. */
static int resolve_family(struct textparse *p, const struct cursor *c, const char *name,
			  size_t len, uint32_t *out)
{
	int64_t fam;

	/* A name resolves to the same family for the rest of the text. */
	if (p->last_name && p->last_name_len == len && memcmp(p->last_name, name, len) == 0) {
		*out = p->last_family;
		return 0;
	}
	fam = find_family(p, name, len);
	if (fam < 0)
		fam = find_parent(p, name, len);
	if (fam < 0) {
		if (add_family(p, c, name, len, out) < 0)
			return -1;
	} else {
		*out = (uint32_t)fam;
	}
	p->last_name = name;
	p->last_name_len = len;
	p->last_family = *out;
	return 0;
}

/* ---- comments: # HELP, # TYPE, anything else ----------------------- */

/* Unescapes \\, \n (and \" as current expfmt does) in place up to the end
 * of the line; the rest of the line is the docstring, copied. */
static int parse_help(struct textparse *p, struct cursor *c, uint32_t fam)
{
	struct textparse_family *f = &p->families[fam];
	char *r = c->pos, *w = c->pos;
	int64_t off;

	if (f->help)
		return textparse_fail(p, c, "second HELP line for metric name \"%.*s\"",
			    (int)f->name_len, f->name);
	while (r < c->eol) {
		if (*r != '\\') {
			*w++ = *r++;
			continue;
		}
		if (r + 1 >= c->eol)
			return textparse_fail(p, c, "invalid escape sequence at end of HELP");
		switch (r[1]) {
		case '\\': *w++ = '\\'; break;
		case 'n': *w++ = '\n'; break;
		case '"': *w++ = '"'; break;
		default:
			return textparse_fail(p, c, "invalid escape sequence '\\%c'", r[1]);
		}
		r += 2;
	}
	if ((off = own_string(p, c->pos, (size_t)(w - c->pos))) < 0)
		return textparse_fail_oom(p, c);
	f = &p->families[fam];
	f->help_off = (uint32_t)off;
	f->help = p->strings + off;
	p->late_help |= f->used_without_help;
	return 0;
}

static int parse_type(struct textparse *p, struct cursor *c, struct textparse_family *f)
{
	static const struct {
		const char *name;
		enum metric_type type;
	} types[] = {
		{"counter", METRIC_COUNTER},     {"gauge", METRIC_GAUGE},
		{"histogram", METRIC_HISTOGRAM}, {"summary", METRIC_SUMMARY},
		{"untyped", METRIC_UNTYPED},
	};
	const char *end = c->eol;

	if (f->typed)
		return textparse_fail(p, c,
			    "second TYPE line for metric name \"%.*s\", or TYPE reported after samples",
			    (int)f->name_len, f->name);
	while (end > c->pos && is_blank(end[-1]))
		end--;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if ((size_t)(end - c->pos) == strlen(types[i].name) &&
		    strncasecmp(c->pos, types[i].name, strlen(types[i].name)) == 0) {
			f->type = types[i].type;
			f->typed = true;
			return 0;
		}
	}
	return textparse_fail(p, c, "unknown metric type \"%.*s\"", shown(end - c->pos), c->pos);
}

/* "# HELP name text" or "# TYPE name type". As in expfmt, a keyword or a
 * name with nothing after it is not an error, and other comments are
 * ignored. */
static int parse_comment(struct textparse *p, struct cursor *c)
{
	size_t kw_len, name_len;
	bool help, type;
	uint32_t fam;
	char *name;

	c->pos++; /* '#' */
	skip_blanks(c);
	kw_len = token_len(c);
	help = kw_len == 4 && memcmp(c->pos, "HELP", 4) == 0;
	type = kw_len == 4 && memcmp(c->pos, "TYPE", 4) == 0;
	c->pos += kw_len;
	if ((!help && !type) || at_eol(c))
		return 0;
	skip_blanks(c);
	name = c->pos;
	name_len = metric_name_len(c);
	c->pos += name_len;
	if (at_eol(c))
		return 0;
	if (!is_blank(*c->pos))
		return textparse_fail(p, c, "invalid metric name in comment");
	skip_blanks(c);
	name[name_len] = '\0'; /* over a blank already passed */
	if (resolve_family(p, c, name, name_len, &fam) < 0)
		return -1;
	if (at_eol(c))
		return 0;
	if (help)
		return parse_help(p, c, fam);
	return parse_type(p, c, &p->families[fam]);
}

/* ---- samples ------------------------------------------------------- */

static int parse_value(struct textparse *p, struct cursor *c, double *value)
{
	const char *stop = text_parse_decimal(c->pos, c->eol, value);
	size_t len;
	char *tok = c->pos, saved;
	bool ok;

	if (stop && (stop == c->eol || is_blank(*stop))) {
		c->pos = (char *)stop; /* a plain decimal, the common case */
		return 0;
	}
	len = token_len(c);
	if (len == 0)
		return textparse_fail(p, c, "missing value");
	c->pos += len;
	saved = *c->pos; /* strtod wants a NUL; the line is ours until its end */
	*c->pos = '\0';
	ok = text_parse_float(tok, value);
	*c->pos = saved;
	if (!ok)
		return textparse_fail(p, c, "expected float as value, got \"%.*s\"",
			    shown((ptrdiff_t)len), tok);
	return 0;
}

/* Optional; integer milliseconds since the epoch. Blanks may follow it,
 * nothing else. */
static int parse_timestamp(struct textparse *p, struct cursor *c, struct textparse_sample *s)
{
	size_t len;

	skip_blanks(c);
	if (at_eol(c))
		return 0;
	len = token_len(c);
	if (!text_parse_int64(c->pos, len, &s->ts_ms))
		return textparse_fail(p, c, "expected integer as timestamp, got \"%.*s\"",
			    shown((ptrdiff_t)len), c->pos);
	s->has_ts = true;
	c->pos += len;
	skip_blanks(c);
	if (!at_eol(c))
		return textparse_fail(p, c, "spurious string after timestamp: \"%.*s\"",
			    shown(c->eol - c->pos), c->pos);
	return 0;
}

static struct textparse_sample *new_sample(struct textparse *p)
{
	if (grow_array((void **)&p->samples, &p->cap_samples, p->n_samples + 1, sizeof(*p->samples)) < 0)
		return NULL;
	p->n_total++;
	return &p->samples[p->n_samples++];
}

/* Whether the line at the cursor starts with the name resolved last, and
 * that name ends there: consecutive lines nearly always name one series,
 * and one memcmp is cheaper than classing each byte of the name. */
static bool same_name_as_last(const struct textparse *p, const struct cursor *c)
{
	size_t len = p->last_name_len;

	return p->last_name && (size_t)(c->eol - c->pos) > len &&
	       memcmp(c->pos, p->last_name, len) == 0 && !metric_name_continues(c->pos[len]);
}

/* The sample's name and its family: *len 0 and -1 on an error. */
static int sample_name(struct textparse *p, struct cursor *c, size_t *len, uint32_t *fam)
{
	char *name = c->pos;
	bool same = same_name_as_last(p, c);

	*len = same ? p->last_name_len : metric_name_len(c);
	if (*len == 0)
		return textparse_fail(p, c, "invalid metric name");
	c->pos += *len;
	if (!at_eol(c) && !is_blank(*c->pos) && *c->pos != '{')
		return textparse_fail(p, c, "invalid character '%c' in metric name \"%.*s\"",
				      *c->pos, (int)*len, name);
	if (p->limits.max_samples && p->n_total >= p->limits.max_samples)
		return textparse_fail(p, c, "more than %zu series (max_series_per_file)",
				      p->limits.max_samples);
	if (same) {
		*fam = p->last_family;
		return 0;
	}
	return resolve_family(p, c, name, *len, fam);
}

/* name [{labels}] value [timestamp] */
static int parse_sample(struct textparse *p, struct cursor *c)
{
	char *name = c->pos;
	size_t len;
	struct textparse_family *f;
	struct textparse_sample *s;
	uint32_t fam;

	if (sample_name(p, c, &len, &fam) < 0)
		return -1;
	f = &p->families[fam];
	f->typed = true; /* a later TYPE line is an error, as in expfmt */
	if (!(s = new_sample(p)))
		return textparse_fail_oom(p, c);
	*s = (struct textparse_sample){.name = name, .family = fam,
				       .first_label = (uint32_t)p->n_labels, .line = c->line};
	skip_blanks(c);
	if (!at_eol(c) && *c->pos == '{') {
		c->pos++;
		name[len] = '\0'; /* over a blank or the '{', both passed */
		if (textparse_labels(p, c, f) < 0)
			return -1;
		skip_blanks(c);
	} else {
		name[len] = '\0';
	}
	s->n_labels = (uint32_t)(p->n_labels - s->first_label);
	if (parse_value(p, c, &s->value) < 0)
		return -1;
	return parse_timestamp(p, c, s);
}

/* ---- the text ------------------------------------------------------ */

void textparse_begin(struct textparse *p)
{
	p->n_families = p->n_samples = p->n_labels = p->n_total = 0;
	p->len_strings = 0;
	p->line = 0;
	p->late_help = false;
	p->last_name = NULL;
	p->text = NULL;
	hashmap_clear(&p->index);
	p->error = (struct textparse_error){0};
}

/* A NUL would cut a name or value short once they are C strings. */
static int check_no_nul(struct textparse *p, const char *text, size_t len)
{
	const char *nul = memchr(text, '\0', len);
	struct cursor c = {0};

	if (!nul)
		return 0;
	c.line = p->line + 1;
	for (const char *s = text; s < nul; s++)
		c.line += *s == '\n';
	return textparse_fail(p, &c, "NUL byte in input");
}

void textparse_init(struct textparse *p)
{
	*p = (struct textparse){0};
	hashmap_init(&p->index, 64);
	nameset_init(&p->label_names);
}

void textparse_free(struct textparse *p)
{
	struct textparse_limits limits = p->limits;

	free(p->families);
	free(p->strings);
	free(p->samples);
	free(p->labels);
	hashmap_free(&p->index);
	nameset_free(&p->label_names);
	textparse_init(p);
	p->limits = limits;
}

bool textparse_trim(struct textparse *p, size_t keep_bytes)
{
	size_t held = p->cap_families * sizeof(*p->families) + p->cap_strings +
		      p->cap_samples * sizeof(*p->samples) + p->cap_labels * sizeof(*p->labels) +
		      hashmap_bytes(&p->index) + nameset_bytes(&p->label_names);

	if (held <= keep_bytes)
		return false;
	textparse_free(p);
	return true;
}

/* The complete lines of text[0..len), the last ending at end. */
static int parse_lines(struct textparse *p, char *text, char *end)
{
	struct cursor c = {text, text, p->line};

	while (c.pos < end) {
		char *nl = memchr(c.pos, '\n', (size_t)(end - c.pos));
		int rc;

		c.line++;
		c.eol = nl;
		skip_blanks(&c);
		if (!at_eol(&c)) {
			rc = *c.pos == '#' ? parse_comment(p, &c) : parse_sample(p, &c);
			if (rc < 0)
				return -1;
		}
		c.pos = nl + 1;
	}
	p->line = c.line;
	return 0;
}

int textparse_feed(struct textparse *p, char *text, size_t len, size_t *used)
{
	char *last = len ? memrchr(text, '\n', len) : NULL;
	struct cursor c = {0};

	p->n_samples = p->n_labels = 0;
	p->last_name = NULL; /* it pointed into the piece before */
	p->text = text;
	*used = last ? (size_t)(last + 1 - text) : 0;
	if (*used > UINT32_MAX) {
		c.line = p->line + 1;
		return textparse_fail(p, &c, "4 GiB or more of text: labels are 32-bit offsets into it");
	}
	if (check_no_nul(p, text, *used) < 0)
		return -1;
	return parse_lines(p, text, text + *used);
}

int textparse_end(struct textparse *p, const char *rest, size_t len)
{
	struct cursor c = {(char *)rest, (char *)rest + len, p->line + 1};

	if (check_no_nul(p, rest, len) < 0)
		return -1;
	skip_blanks(&c);
	if (!at_eol(&c))
		return textparse_fail(p, &c, "unexpected end of input stream: the last line has no newline");
	return 0;
}

int textparse_parse(struct textparse *p, char *text, size_t len)
{
	size_t used;

	textparse_begin(p);
	p->text = text;
	if (len == 0)
		return 0;
	if (textparse_feed(p, text, len, &used) < 0)
		return -1;
	return textparse_end(p, text + used, len - used);
}
