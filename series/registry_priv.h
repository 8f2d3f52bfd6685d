/* SPDX-License-Identifier: MIT */
/* The registry's insides, shared by its files: registry.c (interning,
 * rounds, forgetting), relabeled.c (global.relabel_configs on a new
 * series, and the per-endpoint views of write_relabel_configs) and
 * native.c (native histograms). Nothing outside series/registry*.c,
 * series/relabeled.c and series/native.c includes it. */
#ifndef BPFPUSH_REGISTRY_PRIV_H
#define BPFPUSH_REGISTRY_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/hashmap.h"
#include "series/registry.h"

struct log2_histogram;
struct native_arenas;
struct relabel_rules;
struct view_series;

/* Small on purpose: a host may hold a million of these. Its size is a
 * multiple of 8, so what follows it is aligned. */
struct series_node {
	struct series s;          /* keep first: series_of() casts back */
	/* The table's key (node_key): the encoded labels the collector gave
	 * (with the base labels, which are the same for all), right after the
	 * node. Without relabel_configs the same bytes as s.wire; with them
	 * s.wire's follow the key. */
	uint32_t key_len;
	uint32_t position;        /* index in the emitted list of its last round */
	uint32_t source;          /* whose max_series it counts toward */
	uint16_t n_views;         /* room in views */
	bool dropped : 1;         /* relabeled away: known, never sent */
	bool hist_seen : 1;       /* a native series sent a histogram */
	bool has_start : 1;       /* its type counts from its source's start (meta.c) */
	uint64_t emitted_round;
	int64_t last_ts_ms;       /* newest timestamp handed out, or INT64_MIN */
	struct series_node *next; /* in limbo */
	/* Per view id: NULL (not computed yet), VIEW_DROPPED, or this series
	 * as that view sends it. Freed with the node. */
	struct view_series **views;
};

/* A native series' last count and start, right after its node (the key
 * follows): a reset hint when either went back or moved (native.c). Float
 * series, nearly all of them, have no room for it. */
struct native_state {
	uint64_t count;
	int64_t start_ms;
};

static inline struct native_state *node_native(struct series_node *n)
{
	return (struct native_state *)(void *)(n + 1);
}

static inline const uint8_t *node_key(const struct series_node *n)
{
	return (const uint8_t *)(n + 1) +
	       (n->s.wire.native_histogram ? sizeof(struct native_state) : 0);
}

struct family_node {
	struct family f;
	struct wire_meta meta;    /* what its series' wire.meta points to */
	size_t n_series;          /* series nodes, limbo's included, that use it */
};

struct series_vec {
	struct series_node **items;
	size_t len, cap;
};

/* Forgotten series wait in two lists (chained by next) until nothing can
 * point at them: see registry_reclaim(). */
struct limbo {
	struct series_node *head;
	size_t len;
};

struct source {
	size_t live, max_series; /* max_series 0: no limit */
	uint64_t dropped;
	int64_t start_ms;        /* its counters' start, Unix ms; 0: unknown */
};

/* A write_relabel_configs rule set, one per endpoint that has one. */
/* What a transaction (registry_txn.c) must undo: per emit since its mark,
 * the node's fields as they were (the node is emitted.items[n_emitted + i]:
 * one entry per entry of the emitted list, in step). 16 bytes an emit,
 * reused from one file to the next. A node never emitted before (made
 * inside the transaction) is taken out again. */
struct txn_undo {
	int64_t last_ts_ms;
	uint32_t position;
	uint32_t rounds_back; /* round - emitted_round, saturated; TXN_NEW: 0 */
};
#define TXN_NEW UINT32_MAX

struct registry_txn {
	bool active;
	size_t n_samples, n_emitted; /* at the mark */
	ptrdiff_t guess_shift;
	struct txn_undo *undo;
	size_t n_undo, cap_undo;
};

struct view {
	struct relabel_rules *rules; /* NULL: a free slot */
	struct relabel_stats stats;
	struct hashmap outputs;      /* its live results by hash: duplicates */
	struct sample *samples;      /* the round mapped, reused */
	size_t cap_samples;
};

struct registry {
	struct label *base_labels; /* external, then job and instance if unset */
	size_t n_base;
	struct buf base_pb;        /* the base labels encoded, in order, */
	uint32_t *base_end;        /* and where each ends in it */

	struct hashmap series;   /* series_node by the hash of its key */
	struct hashmap families; /* family_node by XXH3 of its name */

	uint64_t round;
	int64_t round_ts_ms;
	struct sample *samples;
	size_t n_samples, cap_samples;
	struct series_vec emitted, previously_emitted;
	/* Collectors emit in the same order every round: the k-th emit is
	 * guessed to be last round's (k + guess_shift)-th series. */
	ptrdiff_t guess_shift;
	/* Got their stale marker last round: forgotten unless back this one. */
	struct series_vec vanished;
	struct limbo retiring, retired;
	uint64_t forgotten_total;
	struct registry_txn txn;

	struct source *sources; /* [0] is the agent's own, without a limit */
	size_t n_sources, cap_sources;
	uint32_t source;        /* the one new series count toward now */
	bool refused;           /* new_series said no for max_series */

	/* global.relabel_configs (NULL: none), and the kept series by the
	 * hash of what they send, so two that relabel to one are caught. */
	struct relabel_rules *rules;
	struct hashmap outputs;
	struct relabel_stats relabel;
	struct buf out_pb;         /* a new series' labels after relabeling */
	struct label *relabeled;   /* and as labels, base labels merged */
	size_t cap_relabeled;
	struct label_set decoded;  /* a series' labels, for a view's rules */

	struct view *views;
	size_t n_views;

	/* native.c: the forms of a log2 histogram the current source wants
	 * (0: classic), and the arenas of the encoded native histograms. */
	uint8_t hist_forms;
	struct native_arenas *native;

	/* Scratch, reused by every emit. */
	struct label *scratch;
	size_t cap_scratch;
	struct label *own;        /* __name__ and the collector's labels, sorted */
	size_t n_own;
	struct label *labels_out; /* the sorted set build_labels made, in scratch */
	struct buf pb;
};

/* registry.c: takes a node out of the table(s) and its source's live
 * count (forget()'s first half), and frees a node (and its family with
 * its last series). */
void registry_unlink(struct registry *r, struct series_node *node);
void registry_free_series(struct registry *r, struct series_node *n);
/* registry_txn.c: room for one more emit in the undo log and the emitted
 * list (0, or -1 on ENOMEM), made before a series is created inside a
 * transaction, so that its emit cannot fail after; and the transaction's
 * memory freed (registry_destroy). */
int txn_reserve(struct registry *r);
void txn_free(struct registry *r);

/* Called by emit() inside a transaction: notes node's fields before emit
 * changes them, with room made in r->emitted for it (so the push that
 * follows cannot fail); 0 or -1 on ENOMEM. Inline: once per sample. */
static inline int txn_note(struct registry *r, const struct series_node *node)
{
	struct registry_txn *t = &r->txn;
	uint64_t back = r->round - node->emitted_round;

	if ((t->n_undo >= t->cap_undo || r->emitted.len >= r->emitted.cap) && txn_reserve(r) < 0)
		return -1;
	t->undo[t->n_undo++] = (struct txn_undo){
		node->last_ts_ms, node->position,
		!node->emitted_round ? TXN_NEW : back >= TXN_NEW ? TXN_NEW - 1 : (uint32_t)back};
	return 0;
}

/* Relabels the new series in r->own with r->rules: returns 1 with
 * r->relabeled / r->out_pb holding the labels to keep (base labels merged,
 * sorted, encoded), 0 when it is dropped (counted under its reason), -1 on
 * ENOMEM. */
int relabel_new_series(struct registry *r, size_t *n_out);
/* Frees the rules, views and their scratch. */
void relabeled_free(struct registry *r);
/* A forgotten node's view results leave their views' duplicate indexes
 * (they stay allocated: queued samples may point at them). */
void views_forget_node(struct registry *r, const struct series_node *n);
/* Shrinks the views' indexes after forgetting (see hashmap_shrink). */
void views_shrink(struct registry *r);
/* Frees what the node's views hold (not the node). */
void views_free_node(struct series_node *n);
/* Merges sorted labels with the sorted base labels (a label of the
 * series wins) into out, which has room for n + r->n_base. */
size_t merge_base(const struct registry *r, const struct label *l, size_t n, struct label *out);
/* series/meta.c, which includes this header too: families' wire metadata
 * and sources' start times. Fills a new family's wire metadata. */
void family_meta_init(struct family_node *f);
/* A new series' wire.meta and wire.start_ms, from its family and source. */
void series_meta_init(const struct registry *r, struct series_node *n);
/* Brings the series' wire.start_ms to its source's (which a collector
 * that started over changed); cheap when it is unchanged. */
void series_sync_start(const struct registry *r, struct series_node *n);
/* registry_match.c: whether emitting name and labels now would find
 * node by its key (up to 16 labels, short ones: the common case); false when it would not, or when that takes the full path to
 * tell. */
bool labels_match_key(const struct registry *r, const struct series_node *node,
		      const char *name, const struct label *labels, size_t n_labels);
/* Fills base_pb and base_end once the base labels are sorted. 0, or -1
 * on ENOMEM. */
int registry_encode_base(struct registry *r);
/* Encodes labels into b. 0, or -1 on ENOMEM. */
int encode_label_set(struct buf *b, const struct label *l, size_t n);

/* registry_emit for a native histogram series (named family->name). */
int registry_emit_native(struct registry *r, const struct metric_desc *family,
			 const struct label *labels, size_t n_labels,
			 const struct log2_histogram *h);
/* native.c: h encoded for series n (its reset hint from n's last one), in
 * memory that lives until the reclaim after next; NULL on ENOMEM. */
const struct wire_hist *native_hist_for(struct registry *r, struct series_node *n,
					const struct log2_histogram *h);
/* native.c's part of registry_reclaim and registry_destroy. */
void native_reclaim(struct registry *r);
void native_free(struct registry *r);

#endif
