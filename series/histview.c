/* SPDX-License-Identifier: MIT */
/* histview: the round's _bucket, _sum and _count samples sorted by family,
 * other labels, kind and le, then walked once, each run of one family and
 * label set making a view. The strings are copied into the set's own
 * arena: the registry may free a forgotten family before the next gather,
 * while the caller still compares against the previous round's set. */
#include "series/histview.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "series/registry.h"

enum part { PART_BUCKET, PART_SUM, PART_COUNT };

struct part_sample {
	const struct family *family;
	size_t labels_off; /* into the arena, which may still move */
	const char *labels; /* the same, once it no longer does, to sort */
	double le; /* buckets only */
	double value;
	uint8_t part;
};

struct view_spot { /* a view's strings as arena offsets until the end */
	const struct family *family;
	size_t family_off, help_off, labels_off, first_bucket;
};

struct priv {
	struct label_set decoded;
	struct buf arena; /* NUL-terminated strings */
	struct part_sample *parts;
	size_t n_parts, cap_parts;
	struct hist_bucket *buckets;
	size_t cap_buckets;
	struct view_spot *spots;
	size_t cap_spots, cap_views;
};

static bool is_stale(double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	return bits == STALE_NAN_BITS;
}

/* Which part of its histogram s is, from its name's suffix; -1: none. */
static int part_of(const struct series *s)
{
	static const char *const suffix[] = {"_bucket", "_sum", "_count"};
	size_t base = strlen(s->family->name), len = strlen(s->name);

	if (len <= base || strncmp(s->name, s->family->name, base) != 0)
		return -1;
	for (int p = PART_BUCKET; p <= PART_COUNT; p++)
		if (strcmp(s->name + base, suffix[p]) == 0)
			return p;
	return -1;
}

static int arena_put(struct buf *a, const char *s, size_t len)
{
	return buf_append(a, s, len);
}

/* Appends `v` escaped as the text format does inside quotes. */
static int arena_put_escaped(struct buf *a, const char *v)
{
	int rc = 0;

	for (; *v && rc == 0; v++) {
		if (*v == '\\')
			rc = arena_put(a, "\\\\", 2);
		else if (*v == '\n')
			rc = arena_put(a, "\\n", 2);
		else if (*v == '"')
			rc = arena_put(a, "\\\"", 2);
		else
			rc = arena_put(a, v, 1);
	}
	return rc;
}

/* The labels other than __name__ and le as `k="v",...` into the arena
 * (the decoded ones come sorted by name); *le gets le's value, or NULL. */
static int put_label_key(struct buf *a, const struct label_set *set, const char **le)
{
	bool first = true;
	int rc = 0;

	*le = NULL;
	for (size_t i = 0; i < set->n && rc == 0; i++) {
		const struct label *l = &set->labels[i];
		if (strcmp(l->name, "__name__") == 0)
			continue;
		if (strcmp(l->name, "le") == 0) {
			*le = l->value;
			continue;
		}
		if ((!first && arena_put(a, ",", 1) < 0) || arena_put(a, l->name, strlen(l->name)) < 0 ||
		    arena_put(a, "=\"", 2) < 0 || arena_put_escaped(a, l->value) < 0 ||
		    arena_put(a, "\"", 1) < 0)
			rc = -1;
		first = false;
	}
	return rc < 0 ? -1 : arena_put(a, "", 1);
}

/* One sample, if it is part of a classic histogram, into p->parts. */
static int take_sample(struct priv *p, const struct sample *smp)
{
	const struct series *s = series_of(smp->series);
	struct part_sample *ps;
	const char *le;
	int part;

	if (smp->series->native_histogram || is_stale(smp->value) ||
	    s->family->type != METRIC_HISTOGRAM || (part = part_of(s)) < 0)
		return 0;
	if (series_decode_labels(s, &p->decoded) < 0 ||
	    grow_array((void **)&p->parts, &p->cap_parts, p->n_parts + 1, sizeof(*p->parts)) < 0)
		return -1;
	ps = &p->parts[p->n_parts];
	*ps = (struct part_sample){.family = s->family, .labels_off = p->arena.len,
				   .value = smp->value, .part = (uint8_t)part};
	if (put_label_key(&p->arena, &p->decoded, &le) < 0)
		return -1;
	if (part == PART_BUCKET) {
		char *end;
		if (!le || !*le || (ps->le = strtod(le, &end), *end))
			return 0; /* a bucket without a readable le: not drawable */
	}
	p->n_parts++;
	return 0;
}

static int cmp_group(const struct part_sample *x, const struct part_sample *y)
{
	int c = strcmp(x->family->name, y->family->name);

	return c ? c : strcmp(x->labels, y->labels);
}

static int cmp_part(const void *a, const void *b)
{
	const struct part_sample *x = a, *y = b;
	int c = cmp_group(x, y);

	if (c)
		return c;
	if (x->part != y->part)
		return x->part < y->part ? -1 : 1;
	return x->le < y->le ? -1 : x->le > y->le;
}

static int put_string(struct buf *a, const char *s, size_t *off)
{
	*off = a->len;
	return arena_put(a, s, strlen(s) + 1);
}

/* The parts [from, to) of one family and label set into view number v
 * (its strings come later: appending to the arena moves what parts[]
 * point to). */
static void make_view(struct priv *p, struct hist_set *set, size_t v, size_t from, size_t to,
		      size_t *n_buckets)
{
	struct hist_view *view = &set->views[v];
	struct view_spot *spot = &p->spots[v];

	*view = (struct hist_view){.sum = NAN, .count = NAN};
	*spot = (struct view_spot){.family = p->parts[from].family,
				   .labels_off = p->parts[from].labels_off,
				   .first_bucket = *n_buckets};
	for (size_t i = from; i < to; i++) {
		const struct part_sample *ps = &p->parts[i];
		if (ps->part == PART_SUM)
			view->sum = ps->value;
		else if (ps->part == PART_COUNT)
			view->count = ps->value;
		else if (i == from || ps->le != p->parts[i - 1].le)
			p->buckets[(*n_buckets)++] = (struct hist_bucket){ps->le, ps->value};
	}
	view->n_buckets = *n_buckets - spot->first_bucket;
	if (isnan(view->count) && view->n_buckets)
		view->count = p->buckets[*n_buckets - 1].count;
}

/* The views' family and help copied, then every string offset made a
 * pointer: the arena no longer moves. */
static int finish_views(struct priv *p, struct hist_set *set, size_t n_views)
{
	for (size_t v = 0; v < n_views; v++) {
		const struct family *f = p->spots[v].family;
		if (put_string(&p->arena, f->name, &p->spots[v].family_off) < 0 ||
		    put_string(&p->arena, f->help ? f->help : "", &p->spots[v].help_off) < 0)
			return -1;
	}
	for (size_t v = 0; v < n_views; v++) {
		const char *base = (const char *)p->arena.data;
		set->views[v].family = base + p->spots[v].family_off;
		set->views[v].help = base + p->spots[v].help_off;
		set->views[v].labels = base + p->spots[v].labels_off;
		set->views[v].buckets = p->buckets + p->spots[v].first_bucket;
	}
	set->n = n_views;
	return 0;
}

/* The sorted parts into views: a group without a bucket is left out. */
static int make_views(struct priv *p, struct hist_set *set)
{
	size_t n_buckets = 0, n_views = 0;

	if (grow_array((void **)&p->buckets, &p->cap_buckets, p->n_parts ? p->n_parts : 1,
		       sizeof(*p->buckets)) < 0)
		return -1;
	for (size_t from = 0, to; from < p->n_parts; from = to) {
		for (to = from + 1; to < p->n_parts && cmp_group(&p->parts[from], &p->parts[to]) == 0;)
			to++;
		if (p->parts[from].part != PART_BUCKET)
			continue;
		if (grow_array((void **)&set->views, &p->cap_views, n_views + 1, sizeof(*set->views)) < 0 ||
		    grow_array((void **)&p->spots, &p->cap_spots, n_views + 1, sizeof(*p->spots)) < 0)
			return -1;
		make_view(p, set, n_views++, from, to, &n_buckets);
	}
	return finish_views(p, set, n_views);
}

int hist_set_gather(struct hist_set *set, const struct sample *samples, size_t n)
{
	struct priv *p = set->priv;

	set->n = 0;
	if (!p && !(p = set->priv = calloc(1, sizeof(*p))))
		return -1;
	p->n_parts = 0;
	buf_reset(&p->arena);
	for (size_t i = 0; i < n; i++)
		if (take_sample(p, &samples[i]) < 0)
			return -1;
	for (size_t i = 0; i < p->n_parts; i++)
		p->parts[i].labels = (const char *)p->arena.data + p->parts[i].labels_off;
	if (p->n_parts) /* parts is still NULL when no round had a histogram */
		qsort(p->parts, p->n_parts, sizeof(*p->parts), cmp_part);
	if (make_views(p, set) < 0) {
		set->n = 0;
		return -1;
	}
	return 0;
}

void hist_set_free(struct hist_set *set)
{
	struct priv *p = set->priv;

	if (p) {
		label_set_free(&p->decoded);
		buf_free(&p->arena);
		free(p->parts);
		free(p->buckets);
		free(p->spots);
		free(p);
	}
	free(set->views);
	*set = (struct hist_set){0};
}

static int cmp_key(const char *fa, const char *la, const char *fb, const char *lb)
{
	int c = strcmp(fa, fb);

	return c ? c : strcmp(la, lb);
}

const struct hist_view *hist_set_find(const struct hist_set *set, const struct hist_view *v)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct hist_view *m = &set->views[mid];
		int c = cmp_key(v->family, v->labels, m->family, m->labels);
		if (c == 0)
			return m;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* before's cumulative count at le: that of its largest bound <= le (a
 * bucket it lacks held nothing then), from *j on (both are sorted by le). */
static double before_at(const struct hist_view *before, double le, size_t *j)
{
	while (*j < before->n_buckets && before->buckets[*j].le <= le)
		(*j)++;
	return *j ? before->buckets[*j - 1].count : 0;
}

/* Some cumulative count of before above now's at the same bound: the
 * collector started over. */
static bool started_over(const struct hist_view *now, const struct hist_view *before)
{
	size_t j = 0;

	for (size_t i = 0; i < now->n_buckets; i++) {
		double le = now->buckets[i].le;
		while (j < before->n_buckets && before->buckets[j].le < le)
			j++;
		if (j < before->n_buckets && before->buckets[j].le == le &&
		    before->buckets[j].count > now->buckets[i].count)
			return true;
	}
	return false;
}

void hist_view_interval(const struct hist_view *now, const struct hist_view *before,
			double *out)
{
	double below = 0; /* the interval's cumulative count at the bound below */
	size_t j = 0;

	if (before && started_over(now, before))
		before = NULL;
	for (size_t i = 0; i < now->n_buckets; i++) {
		double upto = now->buckets[i].count -
			      (before ? before_at(before, now->buckets[i].le, &j) : 0);
		out[i] = upto > below ? upto - below : 0;
		if (upto > below)
			below = upto;
	}
}
