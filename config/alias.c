/* SPDX-License-Identifier: MIT */
/* Bounds on YAML aliases, checked on the parser's events before the
 * document is built.
 *
 * libyaml resolves an alias to the anchored node itself, so the document
 * stays small, but every walk of it (ours, key by key) visits the shared
 * node once per alias. Aliases of aliases multiply: a 40 KB file made of
 * one 2,000-header mapping and a list of aliases to an endpoint holding it
 * walks as 1,000 endpoints with 2,000 headers each ("billion laughs").
 * libyaml also accepts an alias inside its own anchor ("&a [*a]"), a cycle
 * that no walk would finish.
 *
 * One pass over the events counts the nodes as the walk will see them,
 * each alias adding the size of what it repeats, and stops at the first
 * event past a limit (nodes, aliases, nesting depth). Syntax errors are
 * left to the loader, which reports them with its own words. */
#include "config/internal.h"

#include <stdlib.h>
#include <string.h>

/* Far above any real configuration (a few hundred nodes, an anchor reused
 * a handful of times), far below what takes noticeable time or memory. */
#define ALIAS_MAX 1000
#define NODE_MAX 100000
/* A real config nests about 6 deep. libyaml's scanner walks every open
 * flow level per token, so 100,000 nested "[" take it half a minute:
 * the scan stops at the first collection past this depth instead. */
#define DEPTH_MAX 64

struct anchor {
	char *name;
	uint64_t hash;
	uint64_t start; /* nodes counted before the anchored node began */
	uint64_t size;  /* the nodes it expands to; 0 while it is still open */
};

struct alias_scan {
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
	size_t *open; /* per open collection: its anchor's index + 1, or 0 */
	size_t depth, cap_open;
	uint64_t nodes, aliases;
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The latest anchor of that name (YAML: an alias refers to the last node
 * anchored so before it), or NULL. */
static struct anchor *find_anchor(struct alias_scan *s, const char *name)
{
	uint64_t h = name_hash(name);

	for (size_t i = s->n_anchors; i-- > 0;)
		if (s->anchors[i].hash == h && !strcmp(s->anchors[i].name, name))
			return &s->anchors[i];
	return NULL;
}

/* Returns the anchor's index + 1, 0 when there is no anchor, -1 on ENOMEM. */
static long add_anchor(struct alias_scan *s, const yaml_char_t *name, uint64_t size)
{
	struct anchor *a;

	if (!name)
		return 0;
	if (s->n_anchors == s->cap_anchors) {
		size_t cap = s->cap_anchors ? s->cap_anchors * 2 : 16;
		a = realloc(s->anchors, cap * sizeof(*a));
		if (!a)
			return -1;
		s->anchors = a;
		s->cap_anchors = cap;
	}
	a = &s->anchors[s->n_anchors];
	a->name = strdup((const char *)name);
	if (!a->name)
		return -1;
	a->hash = name_hash(a->name);
	a->start = s->nodes - 1; /* the node itself is already counted */
	a->size = size;
	return (long)++s->n_anchors;
}

static int push_open(struct alias_scan *s, long anchor)
{
	if (s->depth == s->cap_open) {
		size_t cap = s->cap_open ? s->cap_open * 2 : 16;
		size_t *o = realloc(s->open, cap * sizeof(*o));
		if (!o)
			return -1;
		s->open = o;
		s->cap_open = cap;
	}
	s->open[s->depth++] = (size_t)anchor;
	return 0;
}

static void close_open(struct alias_scan *s)
{
	size_t anchor;

	if (s->depth == 0)
		return; /* unbalanced: the loader will say why */
	anchor = s->open[--s->depth];
	if (anchor) {
		struct anchor *a = &s->anchors[anchor - 1];
		a->size = s->nodes - a->start;
	}
}

static int on_alias(struct cfg_ctx *ctx, struct alias_scan *s, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const yaml_mark_t *m = &ev->start_mark;
	const struct anchor *a;

	if (++s->aliases > ALIAS_MAX) {
		cfg_error(ctx->err, ctx->name, (int)m->line + 1, (int)m->column + 1,
			  "too many YAML aliases: alias *%.64s is number %d (limit %d)", name,
			  ALIAS_MAX + 1, ALIAS_MAX);
		return -1;
	}
	a = find_anchor(s, name);
	if (!a) {
		s->nodes++; /* undefined: the loader reports it */
		return 0;
	}
	if (a->size == 0) {
		cfg_error(ctx->err, ctx->name, (int)m->line + 1, (int)m->column + 1,
			  "alias *%.64s is inside the node it refers to (a cycle)", name);
		return -1;
	}
	s->nodes += a->size;
	if (s->nodes <= NODE_MAX)
		return 0;
	cfg_error(ctx->err, ctx->name, (int)m->line + 1, (int)m->column + 1,
		  "alias *%.64s expands the document past %d YAML nodes (limit %d; an alias "
		  "counts every node it repeats)", name, NODE_MAX, NODE_MAX);
	return -1;
}

/* 1: the first document has ended; 0: go on; -1: error (set). */
static int on_event(struct cfg_ctx *ctx, struct alias_scan *s, const yaml_event_t *ev)
{
	long anchor;

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return on_alias(ctx, s, ev);
	case YAML_SCALAR_EVENT:
		s->nodes++;
		anchor = add_anchor(s, ev->data.scalar.anchor, 1);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		s->nodes++;
		anchor = ev->type == YAML_SEQUENCE_START_EVENT
				 ? add_anchor(s, ev->data.sequence_start.anchor, 0)
				 : add_anchor(s, ev->data.mapping_start.anchor, 0);
		if (anchor >= 0)
			anchor = push_open(s, anchor) < 0 ? -1 : 0;
		if (anchor == 0 && s->depth > DEPTH_MAX) {
			cfg_error(ctx->err, ctx->name, (int)ev->start_mark.line + 1,
				  (int)ev->start_mark.column + 1,
				  "YAML nested deeper than %d levels", DEPTH_MAX);
			return -1;
		}
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		close_open(s);
		return 0;
	case YAML_DOCUMENT_END_EVENT:
	case YAML_STREAM_END_EVENT:
		return 1;
	default:
		return 0;
	}
	if (anchor < 0) {
		cfg_error(ctx->err, ctx->name, 0, 0, "out of memory");
		return -1;
	}
	if (s->nodes <= NODE_MAX)
		return 0;
	cfg_error(ctx->err, ctx->name, (int)ev->start_mark.line + 1,
		  (int)ev->start_mark.column + 1,
		  "the document has more than %d YAML nodes (limit %d)", NODE_MAX, NODE_MAX);
	return -1;
}

int cfg_check_aliases(struct cfg_ctx *ctx, const char *buf, size_t len)
{
	struct alias_scan s = {0};
	yaml_parser_t p;
	int ret = 0;

	if (!yaml_parser_initialize(&p)) {
		cfg_error(ctx->err, ctx->name, 0, 0, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (ret == 0) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&p, &ev))
			break; /* the loader reports the syntax error */
		ret = on_event(ctx, &s, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	for (size_t i = 0; i < s.n_anchors; i++)
		free(s.anchors[i].name);
	free(s.anchors);
	free(s.open);
	return ret < 0 ? -1 : 0;
}
