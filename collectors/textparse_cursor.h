/* SPDX-License-Identifier: MIT */
/* textparse_cursor: what the text parser's two files share (textparse.c:
 * lines, comments, families; textparse_labels.c: a sample's label set):
 * the cursor over one line, its character tests and the error setter.
 * Private to the parser: nothing else includes it. */
#ifndef BPFPUSH_TEXTPARSE_CURSOR_H
#define BPFPUSH_TEXTPARSE_CURSOR_H

#include "collectors/textparse.h"
#include "lib/names.h"

#include <stdbool.h>
#include <stddef.h>

/* Longest token quoted verbatim in an error reason. */
#define TOKEN_SHOWN 40

static inline int shown(ptrdiff_t len)
{
	return len < TOKEN_SHOWN ? (int)len : TOKEN_SHOWN;
}

struct cursor {
	char *pos;
	char *eol; /* the current line's '\n' (or the end of the text) */
	unsigned line;
};

/* Sets p->error (the cursor's line, the formatted reason): returns -1. */
int textparse_fail(struct textparse *p, const struct cursor *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int textparse_fail_oom(struct textparse *p, const struct cursor *c)
{
	return textparse_fail(p, c, "out of memory");
}

static inline bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static inline bool at_eol(const struct cursor *c)
{
	return c->pos >= c->eol;
}

static inline void skip_blanks(struct cursor *c)
{
	while (c->pos < c->eol && is_blank(*c->pos))
		c->pos++;
}

/* Length of the metric name at the cursor (0: none starts there). */
static inline size_t metric_name_len(const struct cursor *c)
{
	return at_eol(c) ? 0 : metric_name_span(c->pos, (size_t)(c->eol - c->pos));
}

static inline size_t label_name_len(const struct cursor *c)
{
	return at_eol(c) ? 0 : label_name_span(c->pos, (size_t)(c->eol - c->pos));
}

/* Up to the next blank or the end of the line. */
static inline size_t token_len(const struct cursor *c)
{
	const char *s = c->pos;

	while (s < c->eol && !is_blank(*s))
		s++;
	return (size_t)(s - c->pos);
}

/* After a sample's '{': its labels, appended to p->labels, up to and past
 * the '}'. f is the sample's family (its type decides le and quantile). */
int textparse_labels(struct textparse *p, struct cursor *c, const struct textparse_family *f);

#endif
