/* SPDX-License-Identifier: MIT */
/* The series registry. A series is identified by its encoded label bytes
 * (sorted, so the encoding is canonical): the same bytes the queue sends,
 * hashed with XXH3 for the table and for shard choice. */
#include "series/registry.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "proto/encode.h"
#include "lib/buf.h"
#include "lib/hashmap.h"
#include "lib/names.h"
#include "series/native.h"
#include "series/registry_priv.h"

#define INITIAL_BUCKETS 1024
#define SMALL_SORT 16 /* labels sorted by insertion; more go to qsort */
#define FAMILY_BUCKETS 4096 /* the family table's first size */

const char *metric_type_name(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER: return "counter";
	case METRIC_GAUGE: return "gauge";
	case METRIC_HISTOGRAM: return "histogram";
	case METRIC_SUMMARY: return "summary";
	default: return "untyped";
	}
}

static void sort_labels(struct label *l, size_t n);

static bool has_label(const struct label *labels, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(labels[i].name, name) == 0)
			return true;
	return false;
}

static int add_base_label(struct registry *r, const char *name, const char *value)
{
	struct label *l = &r->base_labels[r->n_base];

	if (!value || !*value || !valid_label_name(name, strlen(name)) ||
	    has_label(r->base_labels, r->n_base, name))
		return 0; /* empty values are removed; config rejected bad names */
	l->name = strdup(name);
	l->value = strdup(value);
	if (!l->name || !l->value)
		return -1;
	r->n_base++;
	return 0;
}

struct registry *registry_create(const struct kv *external, size_t n_external,
				 const char *job, const char *instance)
{
	struct registry *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->base_labels = calloc(n_external + 2, sizeof(*r->base_labels));
	hashmap_init(&r->series, INITIAL_BUCKETS);
	/* Looked up only when a series is not where it was last round: at
	 * 7/8, 100,000 series take 2 MiB of slots instead of 4. */
	hashmap_set_max_load(&r->series, 7);
	hashmap_init(&r->families, FAMILY_BUCKETS);
	if (!r->base_labels || hashmap_reserve(&r->series, 0) < 0 ||
	    grow_array((void **)&r->sources, &r->cap_sources, 1, sizeof(*r->sources)) < 0)
		goto fail;
	r->sources[0] = (struct source){0};
	r->n_sources = 1;
	for (size_t i = 0; i < n_external; i++)
		if (add_base_label(r, external[i].key, external[i].value) < 0)
			goto fail;
	if (add_base_label(r, "job", job) < 0 || add_base_label(r, "instance", instance) < 0)
		goto fail;
	sort_labels(r->base_labels, r->n_base); /* build_labels merges them in order */
	if (registry_encode_base(r) < 0)
		goto fail;
	return r;
fail:
	registry_destroy(r);
	return NULL;
}

static void series_vec_free(struct series_vec *v)
{
	free(v->items);
}

static uint64_t family_hash(const char *name)
{
	return hashmap_hash(name, strlen(name));
}

/* A family goes with its last series: metric names churn too. */
void registry_free_series(struct registry *r, struct series_node *n)
{
	struct family_node *f = (struct family_node *)(void *)n->s.family;

	if (f && --f->n_series == 0) { /* a dropped series has none */
		hashmap_remove(&r->families, family_hash(f->f.name), f);
		free(f);
	}
	views_free_node(n);
	free(n);
}

static void limbo_free(struct registry *r, struct limbo *l)
{
	for (struct series_node *n = l->head, *next; n; n = next) {
		next = n->next;
		registry_free_series(r, n);
	}
	*l = (struct limbo){0};
}

void registry_destroy(struct registry *r)
{
	void *item;
	size_t pos = 0;

	if (!r)
		return;
	while ((item = hashmap_each(&r->series, &pos))) {
		views_free_node(item);
		free(item);
	}
	hashmap_free(&r->series);
	buf_free(&r->base_pb);
	free(r->base_end);
	relabeled_free(r);
	limbo_free(r, &r->retiring); /* before the families it may free */
	limbo_free(r, &r->retired);
	for (pos = 0; (item = hashmap_each(&r->families, &pos));)
		free(item);
	hashmap_free(&r->families);
	native_free(r);
	for (size_t i = 0; i < r->n_base; i++) {
		free((char *)r->base_labels[i].name);
		free((char *)r->base_labels[i].value);
	}
	free(r->base_labels);
	free(r->sources);
	txn_free(r);
	series_vec_free(&r->vanished);
	free(r->samples);
	free(r->scratch);
	series_vec_free(&r->emitted);
	series_vec_free(&r->previously_emitted);
	buf_free(&r->pb);
	free(r);
}

size_t registry_series_count(const struct registry *r)
{
	return r->series.len;
}

void registry_get_stats(const struct registry *r, struct registry_stats *out)
{
	*out = (struct registry_stats){r->series.len, r->retiring.len + r->retired.len,
				       r->forgotten_total, r->series.cap, r->families.len};
}

int registry_set_source(struct registry *r, uint32_t id, size_t max_series)
{
	if (id >= r->n_sources) {
		if (grow_array((void **)&r->sources, &r->cap_sources, (size_t)id + 1,
			       sizeof(*r->sources)) < 0)
			return -1;
		memset(r->sources + r->n_sources, 0, (id + 1 - r->n_sources) * sizeof(*r->sources));
		r->n_sources = (size_t)id + 1;
	}
	r->sources[id].max_series = id ? max_series : 0;
	r->source = id;
	return 0;
}

void registry_source_stats(const struct registry *r, uint32_t id, size_t *live,
			   uint64_t *dropped)
{
	const struct source *src = id < r->n_sources ? &r->sources[id] : NULL;

	*live = src ? src->live : 0;
	*dropped = src ? src->dropped : 0;
}

void registry_begin_round(struct registry *r, int64_t ts_ms)
{
	r->round++;
	r->round_ts_ms = ts_ms;
	r->n_samples = 0;
	r->emitted.len = 0;
	r->guess_shift = 0;
	r->txn.active = false;
}

static int push_sample(struct registry *r, struct sample s)
{
	if (grow_array((void **)&r->samples, &r->cap_samples, r->n_samples + 1, sizeof(*r->samples)) < 0)
		return -1;
	r->samples[r->n_samples++] = s;
	return 0;
}

static int push_emitted(struct series_vec *v, struct series_node *n)
{
	if (grow_array((void **)&v->items, &v->cap, v->len + 1, sizeof(*v->items)) < 0)
		return -1;
	v->items[v->len++] = n;
	return 0;
}

static const struct family *intern_family(struct registry *r, const struct metric_desc *d)
{
	size_t name_len = strlen(d->name), help_len = d->help ? strlen(d->help) : 0;
	uint64_t hash = hashmap_hash(d->name, name_len);
	struct family_node *f;
	size_t pos;

	for (f = hashmap_first(&r->families, hash, &pos); f; f = hashmap_next(&r->families, hash, &pos))
		if (strcmp(f->f.name, d->name) == 0)
			return &f->f;
	f = malloc(sizeof(*f) + name_len + help_len + 2);
	if (!f)
		return NULL;
	f->f.name = (char *)(f + 1);
	f->f.help = f->f.name + name_len + 1;
	memcpy(f->f.name, d->name, name_len + 1);
	memcpy(f->f.help, d->help ? d->help : "", help_len + 1);
	f->f.type = d->type;
	f->n_series = 0;
	family_meta_init(f);
	if (hashmap_insert(&r->families, hash, f) < 0) {
		free(f);
		return NULL;
	}
	return &f->f;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

/* Collectors emit their labels in the same order every time, usually
 * sorted. A few labels: insertion sort, one pass when they are sorted and
 * quicker than qsort's calls when not. Many (a textfile line may hold
 * 60,000): a pass tells whether they are sorted, else qsort, since
 * insertion sort is quadratic. */
static void sort_labels(struct label *l, size_t n)
{
	if (n > SMALL_SORT) {
		for (size_t i = 1; i < n; i++) {
			if (strcmp(l[i - 1].name, l[i].name) > 0) {
				qsort(l, n, sizeof(*l), by_name);
				return;
			}
		}
		return;
	}
	for (size_t i = 1; i < n; i++) {
		struct label x = l[i];
		size_t j = i;

		while (j > 0 && strcmp(l[j - 1].name, x.name) > 0) {
			l[j] = l[j - 1];
			j--;
		}
		l[j] = x;
	}
}

/* Builds the sorted label set into r->scratch: __name__ and the collector's
 * labels (empty values removed, names checked, sorted), merged with the
 * sorted base labels; where both have a name, the collector's wins. */
static int build_labels(struct registry *r, const char *name, const struct label *labels,
			size_t n_labels, size_t *n_out)
{
	struct label *own, *out;
	size_t n_own = 0, i = 0, j = 0, n = 0;

	if (grow_array((void **)&r->scratch, &r->cap_scratch, 2 * (n_labels + 1) + r->n_base,
		       sizeof(*r->scratch)) < 0)
		return -1;
	own = r->scratch;
	out = r->scratch + n_labels + 1;
	own[n_own++] = (struct label){"__name__", name};
	for (size_t k = 0; k < n_labels; k++) {
		if (!valid_label_name(labels[k].name, strlen(labels[k].name)) ||
		    strcmp(labels[k].name, "__name__") == 0)
			return -1;
		if (labels[k].value && labels[k].value[0])
			own[n_own++] = labels[k];
	}
	sort_labels(own, n_own);
	r->own = own;
	r->n_own = n_own;
	while (i < n_own || j < r->n_base) {
		int c = i == n_own ? 1 : j == r->n_base ? -1 : strcmp(own[i].name, r->base_labels[j].name);
		if (c <= 0) {
			if (n && strcmp(out[n - 1].name, own[i].name) == 0)
				return -1; /* the collector named a label twice */
			out[n++] = own[i++];
			j += c == 0;
		} else {
			out[n++] = r->base_labels[j++];
		}
	}
	r->labels_out = out;
	*n_out = n;
	return 0;
}

int encode_label_set(struct buf *b, const struct label *l, size_t n)
{
	buf_reset(b);
	for (size_t i = 0; i < n; i++)
		if (encode_label(b, l[i].name, strlen(l[i].name), l[i].value, strlen(l[i].value)) < 0)
			return -1;
	return 0;
}

static bool same_labels(const struct series_node *n, const struct buf *pb)
{
	return n->key_len == pb->len && memcmp(node_key(n), pb->data, pb->len) == 0;
}

/* The series emitted at this position (shifted) last round, or NULL; the
 * next guess is prefetched meanwhile, so a round over series that do not
 * fit in cache does not wait on memory at every emit. */
static struct series_node *guessed(struct registry *r)
{
	ptrdiff_t at = (ptrdiff_t)r->emitted.len + r->guess_shift;
	const struct series_vec *prev = &r->previously_emitted;

	if (at < 0 || (size_t)at >= prev->len)
		return NULL;
	if ((size_t)at + 1 < prev->len) {
		__builtin_prefetch(prev->items[at + 1]);
		__builtin_prefetch((const char *)prev->items[at + 1] + 64);
	}
	return prev->items[at];
}

/* The guessed series if r->pb holds its key. */
static struct series_node *guess(struct registry *r)
{
	struct series_node *g = guessed(r);

	return g && same_labels(g, &r->pb) ? g : NULL;
}

static struct series_node *lookup(struct registry *r, uint64_t hash)
{
	struct series_node *n;
	size_t pos;

	for (n = hashmap_first(&r->series, hash, &pos); n; n = hashmap_next(&r->series, hash, &pos))
		if (same_labels(n, &r->pb))
			return n;
	return NULL;
}

/* One allocation holds the node, its key (r->pb), the encoded labels it
 * sends (out: the key itself when it is r->pb, none for a dropped series)
 * and its name unless its family's is the same (a family lives as long as
 * its series): a series costs one malloc in its life, and its labels are
 * kept once, encoded (series_decode_labels gives them back as strings).
 * The key comes right after the node (and a native series' state), so a
 * lookup's compare reads the lines next to the ones holding its length. */
_Static_assert(sizeof(struct series_node) % 8 == 0, "what follows a node is aligned");
static struct series_node *alloc_node(struct registry *r, const struct buf *out,
				      const struct family *family, const char *name, bool native)
{
	size_t native_room = native ? sizeof(struct native_state) : 0;
	size_t out_len = out && out != &r->pb ? out->len : 0;
	bool own_name = name && strcmp(name, family->name) != 0; /* _bucket, _sum ... */
	size_t name_len = own_name ? strlen(name) + 1 : 0;
	struct series_node *node;
	char *p;

	node = malloc(sizeof(*node) + native_room + r->pb.len + out_len + name_len);
	if (!node)
		return NULL;
	*node = (struct series_node){.last_ts_ms = INT64_MIN, .source = r->source};
	node->s.wire.native_histogram = native;
	p = (char *)(node + 1) + native_room;
	memcpy(p, r->pb.data, r->pb.len);
	node->key_len = (uint32_t)r->pb.len;
	p += r->pb.len;
	if (out) {
		node->s.wire.labels_pb = out_len ? memcpy(p, out->data, out_len) : node_key(node);
		node->s.wire.labels_len = (uint32_t)out->len;
		p += out_len;
	}
	if (name)
		node->s.name = own_name ? memcpy(p, name, name_len) : family->name;
	return node;
}

/* hash: of the key. A relabeled series is also indexed by what it sends. */
static struct series_node *create_series(struct registry *r, const struct family *family,
					 const struct buf *out, const char *name, uint64_t hash,
					 bool native)
{
	struct series_node *node = alloc_node(r, out, family, name, native);

	if (!node)
		return NULL;
	node->s.family = family;
	series_meta_init(r, node);
	node->s.wire.hash = out == &r->pb ? hash : hashmap_hash(out->data, out->len);
	if (hashmap_insert(&r->series, hash, node) < 0) {
		free(node);
		return NULL;
	}
	if (out != &r->pb && hashmap_insert(&r->outputs, node->s.wire.hash, node) < 0) {
		hashmap_remove(&r->series, hash, node);
		free(node);
		return NULL;
	}
	r->sources[r->source].live++;
	((struct family_node *)(void *)family)->n_series++;
	return node;
}

/* A series the rules dropped: its key only, so it is one lookup from now on. */
static struct series_node *create_dropped(struct registry *r, uint64_t hash)
{
	struct series_node *node = alloc_node(r, NULL, NULL, NULL, false);

	if (!node)
		return NULL;
	node->dropped = true;
	if (hashmap_insert(&r->series, hash, node) < 0) {
		free(node);
		return NULL;
	}
	return node;
}

static const char *metric_name_of(const struct label *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].name, "__name__") == 0)
			return l[i].value;
	return "";
}

/* A series seen for the first time: relabeled (maybe dropped), then kept
 * unless its source is at max_series (then NULL with r->refused set, and
 * counted). One the rules renamed is of a family of its new name, untyped:
 * the collector's TYPE does not say what the new name holds. */
static struct series_node *new_series(struct registry *r, const struct metric_desc *family,
				      const char *name, size_t n, uint64_t hash, bool native)
{
	struct source *src = &r->sources[r->source];
	const struct buf *out = &r->pb;
	struct metric_desc renamed;
	const struct family *f;

	r->refused = false;
	if (r->txn.active && txn_reserve(r) < 0)
		return NULL; /* its emit must not fail once it is made */
	if (r->rules) {
		int rc = relabel_new_series(r, &n);

		if (rc <= 0)
			return rc < 0 ? NULL : create_dropped(r, hash);
		out = &r->out_pb;
		renamed = (struct metric_desc){metric_name_of(r->relabeled, n), family->help,
					       METRIC_UNTYPED};
		if (strcmp(renamed.name, name) != 0)
			family = &renamed;
		name = renamed.name;
	}
	r->refused = src->max_series && src->live >= src->max_series;
	if (r->refused) {
		src->dropped++;
		return NULL;
	}
	f = intern_family(r, family);
	return f ? create_series(r, f, out, name, hash, native) : NULL;
}

/* The series of name and labels into *out: last round's at this position
 * (compared where its labels stand, nothing built: registry_match.c, the
 * common case), or by its key, or new. 0, or emit's -1 or 2. */
static int find_series(struct registry *r, const struct metric_desc *family, const char *name,
		       const struct label *labels, size_t n_labels, bool native,
		       struct series_node **out)
{
	struct series_node *node = guessed(r);
	size_t n;
	uint64_t hash;

	if (node && labels_match_key(r, node, name, labels, n_labels)) {
		*out = node;
		return 0;
	}
	if (!valid_metric_name(name, strlen(name)) || build_labels(r, name, labels, n_labels, &n) < 0)
		return -1;
	if (encode_label_set(&r->pb, r->labels_out, n) < 0)
		return -1;
	node = guess(r);
	if (!node) {
		hash = hashmap_hash(r->pb.data, r->pb.len);
		node = lookup(r, hash);
		if (node && node->emitted_round == r->round - 1)
			r->guess_shift = (ptrdiff_t)node->position - (ptrdiff_t)r->emitted.len;
	}
	if (!node && !(node = new_series(r, family, name, n, hash, native)))
		return r->refused ? 2 : -1;
	*out = node;
	return 0;
}

/* registry_emit, or with native set the native histogram series. */
static int emit(struct registry *r, const struct metric_desc *family, const char *name,
		const struct label *labels, size_t n_labels, double value,
		const struct log2_histogram *native, int64_t ts_ms)
{
	struct series_node *node;
	int rc = find_series(r, family, name ? name : family->name, labels, n_labels,
			     native != NULL, &node);

	if (rc != 0)
		return rc;
	if (!node->dropped && node->s.wire.native_histogram != (native != NULL))
		return -1; /* a series holds floats or native histograms, never both */
	if (node->emitted_round == r->round)
		return 1; /* the same series twice in a round: the first wins */
	if (r->txn.active && txn_note(r, node) < 0)
		return -1;
	node->emitted_round = r->round;
	node->position = (uint32_t)r->emitted.len;
	if (push_emitted(&r->emitted, node) < 0)
		return -1;
	if (node->dropped)
		return 0; /* seen, so it is not forgotten; never sent */
	series_sync_start(r, node);
	if (!ts_ms)
		ts_ms = r->round_ts_ms;
	/* A client-side timestamp that is not newer than what was sent (an
	 * unchanged textfile) is seen but not sent again: storage would get a
	 * duplicate, or an out-of-order sample it refuses. */
	if (ts_ms <= node->last_ts_ms)
		return 0;
	node->last_ts_ms = ts_ms;
	if (native) {
		const struct wire_hist *h = native_hist_for(r, node, native);

		return h ? push_sample(r, (struct sample){&node->s.wire, ts_ms, {.hist = h}}) : -1;
	}
	return push_sample(r, (struct sample){&node->s.wire, ts_ms, {.value = value}});
}

int registry_emit(struct registry *r, const struct metric_desc *family, const char *name,
		  const struct label *labels, size_t n_labels, double value, int64_t ts_ms)
{
	return emit(r, family, name, labels, n_labels, value, NULL, ts_ms);
}

int registry_emit_native(struct registry *r, const struct metric_desc *family,
			 const struct label *labels, size_t n_labels,
			 const struct log2_histogram *h)
{
	return emit(r, family, NULL, labels, n_labels, 0, h, 0);
}

static double stale_nan(void)
{
	uint64_t bits = STALE_NAN_BITS;
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* Out of the table: a lookup no longer finds it, a new series with its
 * labels gets a node of its own. */
void registry_unlink(struct registry *r, struct series_node *node)
{
	bool own_key = node_key(node) != node->s.wire.labels_pb; /* relabeled or dropped */

	hashmap_remove(&r->series, own_key ? hashmap_hash(node_key(node), node->key_len)
					   : node->s.wire.hash, node);
	if (!node->dropped) {
		r->sources[node->source].live--;
		if (own_key)
			hashmap_remove(&r->outputs, node->s.wire.hash, node);
	}
	views_forget_node(r, node);
}

/* Unlinked, and into limbo. */
static void forget(struct registry *r, struct series_node *node)
{
	registry_unlink(r, node);
	r->forgotten_total++;
	node->next = r->retiring.head;
	r->retiring.head = node;
	r->retiring.len++;
}

/* A series whose stale marker went out last round and that is still gone is
 * forgotten. It is in neither emitted list: it was missing from both rounds. */
static void forget_vanished(struct registry *r)
{
	for (size_t i = 0; i < r->vanished.len; i++)
		if (r->vanished.items[i]->emitted_round != r->round)
			forget(r, r->vanished.items[i]);
	r->vanished.len = 0;
	/* Below one entry per eight slots: a table that once held a burst of
	 * series (or of metric names) does not keep its size for good. */
	hashmap_shrink(&r->series);
	hashmap_shrink(&r->families);
	hashmap_shrink(&r->outputs);
	views_shrink(r);
}

const struct sample *registry_end_round(struct registry *r, size_t *n)
{
	struct series_vec tmp;

	r->txn.active = false;
	forget_vanished(r);
	for (size_t i = 0; i < r->previously_emitted.len; i++) {
		struct series_node *node = r->previously_emitted.items[i];
		if (node->emitted_round != r->round) {
			/* After the last sample, even one a client stamped ahead of us. */
			int64_t ts = r->round_ts_ms > node->last_ts_ms ? r->round_ts_ms
								       : node->last_ts_ms + 1;
			node->last_ts_ms = ts;
			if (!node->dropped && node->s.wire.native_histogram)
				push_sample(r, (struct sample){&node->s.wire, ts,
							       {.hist = native_stale_marker()}});
			else if (!node->dropped)
				push_sample(r, (struct sample){&node->s.wire, ts, {.value = stale_nan()}});
			/* Without room to remember it, it stays known (and marked). */
			push_emitted(&r->vanished, node);
		}
	}
	tmp = r->previously_emitted;
	r->previously_emitted = r->emitted;
	r->emitted = tmp;
	r->emitted.len = 0;
	*n = r->n_samples;
	return r->samples;
}

void registry_reclaim(struct registry *r)
{
	limbo_free(r, &r->retired);
	r->retired = r->retiring;
	r->retiring = (struct limbo){0};
	native_reclaim(r);
}
