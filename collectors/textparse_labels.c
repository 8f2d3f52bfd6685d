/* SPDX-License-Identifier: MIT */
/* A sample's label set in the Prometheus text format: names, values
 * unescaped in place, the checks expfmt makes on them; see textparse.h.
 * Apart from textparse.c, which parses lines, comments and families. */
#include "collectors/textlex.h"
#include "collectors/textparse_cursor.h"
#include "lib/buf.h"

#include <string.h>

/* Labels of a sample checked for a repeated name by a scan; past this many,
 * by a set. */
#define LABELS_SCANNED 8

/* Bytes that end a label value's plain stretch: its closing quote, an
 * escape, and any byte of a multi-byte UTF-8 sequence. One table load a
 * byte instead of two compares, and a value found all ASCII needs no
 * second pass for its UTF-8. */
static const unsigned char value_stop[256] = {['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1};

/* From r past plain bytes to the closing quote, a backslash or eol;
 * *ascii false if a byte on the way was not ASCII. */
static char *skip_plain(char *r, const char *eol, bool *ascii)
{
	for (;;) {
		while (r < eol && !value_stop[(unsigned char)*r])
			r++;
		if (r >= eol || (unsigned char)*r < 0x80)
			return r;
		*ascii = false;
		r++;
	}
}

/* In place: \\ \" \n are the only escapes; the closing quote becomes the
 * value's NUL. *ascii: whether the value is known to be all ASCII (then
 * it is UTF-8 without a check). */
static int parse_label_value(struct textparse *p, struct cursor *c, char **value, size_t *len,
			     bool *ascii)
{
	char *r, *w;

	/* Up to the first quote or backslash nothing moves: most values have
	 * no escapes, and are only scanned. */
	*ascii = true;
	r = skip_plain(c->pos, c->eol, ascii);
	if (r < c->eol && *r == '\\')
		*ascii = false; /* what follows is only unescaped: UTF-8 checked after */
	w = r;
	while (r < c->eol && *r != '"') {
		if (*r != '\\') {
			*w++ = *r++;
			continue;
		}
		if (r + 1 >= c->eol)
			break;
		switch (r[1]) {
		case '\\': *w++ = '\\'; break;
		case '"': *w++ = '"'; break;
		case 'n': *w++ = '\n'; break;
		default:
			return textparse_fail(p, c, "invalid escape sequence '\\%c'", r[1]);
		}
		r += 2;
	}
	if (r >= c->eol)
		return textparse_fail(p, c, "label value \"%.*s\" contains unescaped new-line (unterminated)",
			    shown(w - c->pos), c->pos);
	*w = '\0';
	*value = c->pos;
	*len = (size_t)(w - c->pos);
	c->pos = r + 1;
	return 0;
}

/* A histogram's le and a summary's quantile must be numbers. */
static int check_special_label(struct textparse *p, const struct cursor *c,
			       const struct textparse_family *f, const char *name, const char *value)
{
	double ignored;
	const char *special = f->type == METRIC_HISTOGRAM ? "le" :
			      f->type == METRIC_SUMMARY   ? "quantile" : NULL;

	if (special && strcmp(name, special) == 0 && !text_parse_float(value, &ignored))
		return textparse_fail(p, c, "expected float as value for '%s' label, got \"%.*s\"", special,
			    TOKEN_SHOWN, value);
	return 0;
}

/* Whether the sample's labels so far (from first) hold name: 1, 0, or -1
 * on ENOMEM. A few labels: a scan, cheaper than hashing every name. More:
 * a set, not a scan of the labels before it: a line of n labels must cost
 * O(n), or one line of 60,000 labels stalls the round. */
static int label_seen(struct textparse *p, size_t first, const char *name)
{
	size_t n = p->n_labels - first;

	if (n < LABELS_SCANNED) {
		/* The first byte settles nearly every pair: no strcmp call. */
		for (size_t i = first; i < p->n_labels; i++) {
			const char *other = p->text + p->labels[i].name;

			if (other[0] == name[0] && strcmp(other, name) == 0)
				return 1;
		}
		return 0;
	}
	if (n == LABELS_SCANNED) /* from now on the set: it gets the scanned ones */
		for (size_t i = first; i < p->n_labels; i++)
			if (nameset_add(&p->label_names, p->text + p->labels[i].name) < 0)
				return -1;
	return nameset_add(&p->label_names, name);
}

/* Not reserved, not past the label limit, not a second label of that name
 * in the sample. */
static int check_label_name(struct textparse *p, const struct cursor *c,
			    const struct textparse_family *f, size_t first, const char *name)
{
	int seen;

	if (name[0] == '_' && strcmp(name, "__name__") == 0)
		return textparse_fail(p, c, "label name \"__name__\" is reserved");
	if (p->limits.max_labels && p->n_labels - first >= p->limits.max_labels)
		return textparse_fail(p, c, "more than %zu labels for metric \"%.*s\" (max_labels_per_series)",
			    p->limits.max_labels, (int)f->name_len, f->name);
	seen = label_seen(p, first, name);
	if (seen < 0)
		return textparse_fail_oom(p, c);
	if (seen > 0)
		return textparse_fail(p, c, "duplicate label name \"%s\" for metric \"%.*s\"", name,
			    (int)f->name_len, f->name);
	return 0;
}

/* name = "value" */
static int parse_label(struct textparse *p, struct cursor *c, const struct textparse_family *f,
		       size_t first)
{
	char *name = c->pos, *value = NULL;
	size_t len = label_name_len(c), value_len = 0;
	bool ascii;

	if (len == 0)
		return textparse_fail(p, c, "invalid label name for metric \"%.*s\"", (int)f->name_len, f->name);
	c->pos += len;
	skip_blanks(c);
	if (at_eol(c) || *c->pos != '=')
		return textparse_fail(p, c, "expected '=' after label name \"%.*s\"", (int)len, name);
	c->pos++;
	name[len] = '\0'; /* over '=' or a blank, both passed */
	if (check_label_name(p, c, f, first, name) < 0)
		return -1;
	skip_blanks(c);
	if (at_eol(c) || *c->pos != '"')
		return textparse_fail(p, c, "expected '\"' at start of label value of \"%s\"", name);
	c->pos++;
	if (parse_label_value(p, c, &value, &value_len, &ascii) < 0)
		return -1;
	if (!ascii && !valid_utf8(value, value_len))
		return textparse_fail(p, c, "invalid label value of \"%s\": not UTF-8", name);
	if (check_special_label(p, c, f, name, value) < 0)
		return -1;
	if (grow_array((void **)&p->labels, &p->cap_labels, p->n_labels + 1, sizeof(*p->labels)) < 0)
		return textparse_fail_oom(p, c);
	p->labels[p->n_labels++] =
		(struct textparse_label){(uint32_t)(name - p->text), (uint32_t)(value - p->text)};
	return 0;
}

/* After '{': labels separated by commas, a trailing comma allowed. */
int textparse_labels(struct textparse *p, struct cursor *c, const struct textparse_family *f)
{
	size_t first = p->n_labels;

	if (p->label_names.n) /* a sample before had many labels */
		nameset_clear(&p->label_names);
	for (;;) {
		skip_blanks(c);
		if (!at_eol(c) && *c->pos == '}')
			break;
		if (parse_label(p, c, f, first) < 0)
			return -1;
		skip_blanks(c);
		if (!at_eol(c) && *c->pos == ',') {
			c->pos++;
			continue;
		}
		if (!at_eol(c) && *c->pos == '}')
			break;
		return textparse_fail(p, c, "unexpected end of label set: expected ',' or '}' after label \"%s\"",
			    p->text + p->labels[p->n_labels - 1].name);
	}
	c->pos++; /* '}' */
	return 0;
}

