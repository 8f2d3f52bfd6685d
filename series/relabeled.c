/* SPDX-License-Identifier: MIT */
/* Relabeling inside the registry: global.relabel_configs on a series the
 * first time it is seen, and the views (write_relabel_configs per
 * endpoint), each series' result cached with it. Only new series and a
 * series' first sample through a view reach relabel_apply. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/names.h"
#include "series/registry_priv.h"
#include "series/relabel.h"

/* A view's mark for a series it drops (a pointer no malloc returns). */
#define VIEW_DROPPED ((struct view_series *)(uintptr_t)1)

/* A series as one view sends it. */
struct view_series {
	struct wire_series wire; /* the encoded labels follow */
};

const char *relabel_reason_name(enum relabel_reason d)
{
	static const char *const names[RELABEL_REASONS] = {
		"rule", "no_name", "invalid_name", "duplicate"};

	return d < RELABEL_REASONS ? names[d] : "unknown";
}

int registry_set_relabel(struct registry *r, const struct relabel_list *list, char *why,
			 size_t why_size)
{
	struct relabel_rules *rules;

	if (!list || list->n == 0)
		return 0; /* nothing to apply: no cost either */
	if (!(rules = relabel_compile(list, why, why_size)))
		return -1;
	relabel_free(r->rules);
	r->rules = rules;
	return 0;
}

void registry_relabel_stats(const struct registry *r, int view, struct relabel_stats *out)
{
	if (view < 0)
		*out = r->relabel;
	else if ((size_t)view < r->n_views && r->views[view].rules)
		*out = r->views[view].stats;
	else
		*out = (struct relabel_stats){0};
}

size_t merge_base(const struct registry *r, const struct label *l, size_t n, struct label *out)
{
	size_t i = 0, j = 0, k = 0;

	while (i < n || j < r->n_base) {
		int c = i == n ? 1 : j == r->n_base ? -1 : strcmp(l[i].name, r->base_labels[j].name);

		if (c <= 0) {
			out[k++] = l[i++];
			j += c == 0;
		} else {
			out[k++] = r->base_labels[j++];
		}
	}
	return k;
}

/* What Prometheus does after relabeling: labels starting with "__" but
 * __name__ removed (l stays sorted), then the result checked. Returns -1
 * when it is kept, else why it is dropped. */
static int check_result(struct label *l, size_t *n)
{
	bool named = false;
	size_t k = 0;

	for (size_t i = 0; i < *n; i++) {
		bool is_name = strcmp(l[i].name, "__name__") == 0;

		if (!is_name && strncmp(l[i].name, "__", 2) == 0)
			continue;
		if (is_name ? !valid_metric_name(l[i].value, strlen(l[i].value))
			    : !valid_label_name(l[i].name, strlen(l[i].name)))
			return RELABEL_REASON_INVALID_NAME;
		named |= is_name;
		l[k++] = l[i];
	}
	*n = k;
	return named ? -1 : RELABEL_REASON_NO_NAME;
}

static int dropped(struct relabel_stats *st, int why)
{
	st->dropped[why]++;
	return 0;
}

static bool output_taken(const struct registry *r, uint64_t hash)
{
	const struct series_node *n;
	size_t pos;

	for (n = hashmap_first(&r->outputs, hash, &pos); n; n = hashmap_next(&r->outputs, hash, &pos))
		if (n->s.wire.labels_len == r->out_pb.len &&
		    memcmp(n->s.wire.labels_pb, r->out_pb.data, r->out_pb.len) == 0)
			return true;
	return false;
}

int relabel_new_series(struct registry *r, size_t *n_out)
{
	const struct label *res;
	struct label *tmp;
	size_t n;
	int rc, why;

	r->relabel.applied++;
	if ((rc = relabel_apply(r->rules, r->own, r->n_own, &res, &n)) <= 0)
		return rc < 0 ? -1 : dropped(&r->relabel, RELABEL_REASON_RULE);
	if (grow_array((void **)&r->relabeled, &r->cap_relabeled, 2 * n + r->n_base + 1,
		       sizeof(*r->relabeled)) < 0)
		return -1;
	/* Checked in the upper part, merged with the base labels below it. */
	tmp = memcpy(r->relabeled + n + r->n_base, res, n * sizeof(*res));
	if ((why = check_result(tmp, &n)) >= 0)
		return dropped(&r->relabel, why);
	*n_out = merge_base(r, tmp, n, r->relabeled);
	if (encode_label_set(&r->out_pb, r->relabeled, *n_out) < 0)
		return -1;
	if (output_taken(r, hashmap_hash(r->out_pb.data, r->out_pb.len)))
		return dropped(&r->relabel, RELABEL_REASON_DUPLICATE);
	return 1;
}

int registry_view_add(struct registry *r, const struct relabel_list *list, char *why,
		      size_t why_size)
{
	struct relabel_rules *rules = relabel_compile(list, why, why_size);
	size_t id = 0;

	if (!rules)
		return -1;
	while (id < r->n_views && r->views[id].rules)
		id++;
	if (id == r->n_views) {
		struct view *more = id < UINT16_MAX ? realloc(r->views, (id + 1) * sizeof(*more))
						    : NULL;

		if (!more) {
			relabel_free(rules);
			snprintf(why, why_size, "out of memory");
			return -1;
		}
		r->views = more;
		r->n_views++;
	}
	r->views[id] = (struct view){.rules = rules};
	return (int)id;
}

static void forget_view(struct series_node *n, size_t id)
{
	if (id >= n->n_views || !n->views[id])
		return;
	if (n->views[id] != VIEW_DROPPED)
		free(n->views[id]);
	n->views[id] = NULL;
}

void registry_view_remove(struct registry *r, int view)
{
	struct series_node *n;
	size_t pos = 0;

	if (view < 0 || (size_t)view >= r->n_views || !r->views[view].rules)
		return;
	while ((n = hashmap_each(&r->series, &pos)))
		forget_view(n, (size_t)view);
	for (n = r->retiring.head; n; n = n->next)
		forget_view(n, (size_t)view);
	for (n = r->retired.head; n; n = n->next)
		forget_view(n, (size_t)view);
	relabel_free(r->views[view].rules);
	hashmap_free(&r->views[view].outputs);
	free(r->views[view].samples);
	r->views[view] = (struct view){0};
}

void views_forget_node(struct registry *r, const struct series_node *n)
{
	for (size_t i = 0; i < n->n_views; i++)
		if (n->views[i] && n->views[i] != VIEW_DROPPED && r->views[i].rules)
			hashmap_remove(&r->views[i].outputs, n->views[i]->wire.hash, n->views[i]);
}

void views_shrink(struct registry *r)
{
	for (size_t i = 0; i < r->n_views; i++)
		if (r->views[i].rules)
			hashmap_shrink(&r->views[i].outputs);
}

void views_free_node(struct series_node *n)
{
	for (size_t i = 0; i < n->n_views; i++)
		if (n->views[i] != VIEW_DROPPED)
			free(n->views[i]);
	free(n->views);
}

void relabeled_free(struct registry *r)
{
	relabel_free(r->rules);
	hashmap_free(&r->outputs);
	buf_free(&r->out_pb);
	free(r->relabeled);
	label_set_free(&r->decoded);
	for (size_t i = 0; i < r->n_views; i++) {
		relabel_free(r->views[i].rules);
		hashmap_free(&r->views[i].outputs);
		free(r->views[i].samples);
	}
	free(r->views);
}

static bool view_output_taken(const struct view *v, const struct buf *b, uint64_t hash)
{
	const struct view_series *vs;
	size_t pos;

	for (vs = hashmap_first(&v->outputs, hash, &pos); vs;
	     vs = hashmap_next(&v->outputs, hash, &pos))
		if (vs->wire.labels_len == b->len && memcmp(vs->wire.labels_pb, b->data, b->len) == 0)
			return true;
	return false;
}

/* The series through view v: its full labels (base labels included), the
 * rules, the same checks as the global rules, and no two live series of
 * one view with the same labels (a receiver would refuse the second's
 * samples). NULL on ENOMEM (tried again at its next sample). */
static struct view_series *compute_view(struct registry *r, struct view *v,
					const struct series_node *node)
{
	const struct label *res;
	struct view_series *vs;
	uint64_t hash;
	size_t n;
	int rc, why;

	v->stats.applied++;
	if (series_decode_labels(&node->s, &r->decoded) < 0)
		return NULL;
	if ((rc = relabel_apply(v->rules, r->decoded.labels, r->decoded.n, &res, &n)) <= 0)
		return rc < 0 ? NULL : (dropped(&v->stats, RELABEL_REASON_RULE), VIEW_DROPPED);
	if (grow_array((void **)&r->relabeled, &r->cap_relabeled, n + 1, sizeof(*r->relabeled)) < 0)
		return NULL;
	memcpy(r->relabeled, res, n * sizeof(*res));
	if ((why = check_result(r->relabeled, &n)) >= 0)
		return dropped(&v->stats, why), VIEW_DROPPED;
	if (encode_label_set(&r->out_pb, r->relabeled, n) < 0)
		return NULL;
	hash = hashmap_hash(r->out_pb.data, r->out_pb.len);
	if (view_output_taken(v, &r->out_pb, hash))
		return dropped(&v->stats, RELABEL_REASON_DUPLICATE), VIEW_DROPPED;
	if (!(vs = malloc(sizeof(*vs) + r->out_pb.len)))
		return NULL;
	/* The same series under other labels: kind, metadata and start kept. */
	vs->wire = node->s.wire;
	vs->wire.labels_pb = memcpy(vs + 1, r->out_pb.data, r->out_pb.len);
	vs->wire.labels_len = (uint32_t)r->out_pb.len;
	vs->wire.hash = hash;
	if (hashmap_insert(&v->outputs, hash, vs) < 0) {
		free(vs);
		return NULL;
	}
	return vs;
}

static struct view_series *view_of(struct registry *r, size_t id, struct series_node *node)
{
	if (id >= node->n_views) {
		struct view_series **more = realloc(node->views, r->n_views * sizeof(*more));

		if (!more)
			return NULL;
		memset(more + node->n_views, 0, (r->n_views - node->n_views) * sizeof(*more));
		node->views = more;
		node->n_views = (uint16_t)r->n_views;
	}
	if (!node->views[id])
		node->views[id] = compute_view(r, &r->views[id], node);
	return node->views[id];
}

const struct sample *registry_view_map(struct registry *r, int view, const struct sample *in,
				       size_t n, size_t *n_out)
{
	struct view *v = &r->views[view];
	size_t k = 0;

	if (grow_array((void **)&v->samples, &v->cap_samples, n ? n : 1, sizeof(*v->samples)) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		/* The registry's own node: the cast gives back what it handed out. */
		struct series_node *node = (struct series_node *)(uintptr_t)in[i].series;
		struct view_series *vs = view_of(r, (size_t)view, node);

		if (!vs || vs == VIEW_DROPPED)
			continue;
		if (vs->wire.start_ms != node->s.wire.start_ms) /* its collector started over */
			__atomic_store_n(&vs->wire.start_ms, node->s.wire.start_ms, __ATOMIC_RELAXED);
		v->samples[k] = in[i];
		v->samples[k++].series = &vs->wire;
	}
	*n_out = k;
	return v->samples;
}
