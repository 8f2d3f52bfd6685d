/* SPDX-License-Identifier: MIT */
/* registry: interns every series the collectors emit. A series is its metric
 * name plus its labels, validated (names match Prometheus' regexes, a label
 * with an empty value is removed, duplicate names are an error), with job,
 * instance and the external labels applied (a collector's own label wins
 * over an external one, as in Prometheus), sorted by name, and encoded once
 * as protobuf Label fields for the queue.
 *
 * Collection happens in rounds: registry_begin_round(), any number of
 * registry_emit() from the collectors, registry_end_round(), which returns
 * the round's samples plus a stale marker for every series that was emitted
 * last round and not this one. Single-threaded: only the collection thread
 * calls in. Steady state allocates nothing: a known series is a hash lookup.
 *
 * Series come and go (pods, ports, devices, a textfile's label values), so
 * the registry forgets them: a series missing from a round gets its stale
 * marker, and one still missing the round after is forgotten (taken out of
 * the table; if it comes back it is a new series with a new node). Its
 * memory cannot be freed at once, since samples handed out earlier may
 * still sit in a queue or a status snapshot: see registry_reclaim().
 *
 * Each source (a collector) may have at most max_series live series: a new
 * series beyond that is dropped and counted, so one runaway source cannot
 * take the host's memory.
 *
 * global.relabel_configs (registry_set_relabel) run once, when a series is
 * first seen: the table's key stays the collector's labels, so a known
 * series, kept or relabeled away, is one lookup and no relabeling. A
 * dropped series keeps a small node (no labels, no samples, no stale
 * marker, not counted toward max_series) that is forgotten like any other
 * once it is no longer emitted. After the rules, labels starting with "__"
 * other than __name__ are removed, then the base labels added; a result
 * without __name__, with a bad name, or equal to a kept series' is
 * dropped and counted by reason.
 *
 * Views (registry_view_add) are write_relabel_configs: each series holds,
 * computed on its first sample through the view, its labels as that view
 * sends them (same checks, duplicates among the view's live series
 * included), freed with the series. A series dropped as a duplicate stays
 * dropped while it is known, also once the other is gone. */
#ifndef BPFPUSH_REGISTRY_H
#define BPFPUSH_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/kv.h"
#include "proto/sample.h"

enum metric_type {
	METRIC_UNTYPED,
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
	METRIC_SUMMARY,
};

/* "counter", "gauge", "histogram", "summary", "untyped". */
const char *metric_type_name(enum metric_type t);

/* A metric family as collectors describe it; usually a static const. */
struct metric_desc {
	const char *name; /* family name: node_cpu_seconds_total, or for a
			     histogram the base name without _bucket */
	const char *help;
	enum metric_type type;
};

struct label {
	const char *name;
	const char *value;
};

/* The registry's own copy of a family (first HELP/TYPE seen for a name wins). */
struct family {
	char *name;
	char *help;
	enum metric_type type;
};

/* Read-only to everyone but the registry. Its labels are kept once, as
 * wire.labels_pb (sorted by name, __name__ included): series_decode_labels
 * gives them as strings. */
struct series {
	struct wire_series wire;   /* the queue's view; keep first */
	const struct family *family;
	const char *name;          /* value of __name__ */
};

/* A series' labels decoded: labels[0..n) with their strings in text. */
struct label_set {
	struct label *labels;
	size_t n, cap;
	char *text;
	size_t cap_text;
};

/* Decodes s's labels into out (reusing its memory): 0, or -1 on ENOMEM or
 * bytes that are not Label messages. Valid until out is decoded into again
 * or freed. */
int series_decode_labels(const struct series *s, struct label_set *out);
void label_set_free(struct label_set *set);

struct registry;
struct relabel_list;

/* Why relabeling dropped a series. */
enum relabel_reason {
	RELABEL_REASON_RULE,         /* a keep/drop/... rule */
	RELABEL_REASON_NO_NAME,      /* no __name__ left */
	RELABEL_REASON_INVALID_NAME, /* a metric or label name out of the grammar */
	RELABEL_REASON_DUPLICATE,    /* the labels of another kept series */
	RELABEL_REASONS
};
/* "rule", "no_name", "invalid_name", "duplicate". */
const char *relabel_reason_name(enum relabel_reason d);

struct relabel_stats {
	uint64_t applied;                        /* series relabeled */
	uint64_t dropped[RELABEL_REASONS];  /* of those, dropped */
};

/* external: the external labels (values already expanded); job and instance
 * are added unless external sets them. NULL on ENOMEM. */
struct registry *registry_create(const struct kv *external, size_t n_external,
				 const char *job, const char *instance);
void registry_destroy(struct registry *r);

/* Starts a round whose samples default to timestamp ts_ms. */
void registry_begin_round(struct registry *r, int64_t ts_ms);

/* One sample. name is the series' metric name (NULL: family->name; a
 * histogram's _bucket/_sum/_count pass their own). ts_ms 0 means the round's
 * timestamp. labels need not be sorted. Returns 0 (also for a series the
 * global rules drop: it is known, not sent); 1 when this series was
 * already emitted this round (the first sample wins, this one is dropped);
 * 2 when it is new and its source is at its max_series (dropped, counted);
 * or -1 when a name is invalid, a label name repeats, or the series is a
 * native histogram's (series/native.h) (nothing recorded). */
int registry_emit(struct registry *r, const struct metric_desc *family, const char *name,
		  const struct label *labels, size_t n_labels, double value, int64_t ts_ms);

/* A transaction inside a round, for a source that is all or nothing (a
 * textfile emitted line by line: one bad line and none of the file is
 * sent). After begin, emits are ordinary emits; commit keeps them; abort
 * undoes every emit since begin exactly: the samples go, series emitted
 * again get back their last round, position and newest timestamp (a
 * client timestamp seen inside is sent next round as if never read),
 * and series created inside leave the table (and their source's live
 * count) as if never seen. Counters of refusals and relabeling are not
 * undone: they count what happened. Native histogram state is not undone
 * (a reset hint only). begin inside a transaction returns -1 and changes
 * nothing; commit or abort outside one do nothing; begin_round and
 * end_round commit an open one. Steady state allocates nothing. */
int registry_txn_begin(struct registry *r);
void registry_txn_commit(struct registry *r);
void registry_txn_abort(struct registry *r);

/* Ends the round: returns its samples (stale markers for vanished series
 * appended), valid until the next begin_round. Series that got their stale
 * marker last round and were not emitted in this one are forgotten. */
const struct sample *registry_end_round(struct registry *r, size_t *n);

/* Frees the series forgotten before the previous call, and sets aside for
 * the next call those forgotten since. The caller calls it only when
 * nothing holds a sample (or series pointer) handed out before that
 * previous call: the queues have let go of every sample appended before it
 * (queue_mark / queue_mark_passed) and the status snapshot was replaced
 * since. Without calls, forgotten series are freed by registry_destroy. */
void registry_reclaim(struct registry *r);

/* New series count toward source id from now on (0, the default: the
 * agent's own series, never limited). max_series is the most live series
 * source id may hold (0: no limit); a new series past it is refused:
 * registry_emit returns 2 and counts it. 0, or -1 on ENOMEM (the source
 * is then unchanged). */
int registry_set_source(struct registry *r, uint32_t id, size_t max_series);
/* Live series of source id and new series refused (cumulative, once per
 * round each was emitted). */
void registry_source_stats(const struct registry *r, uint32_t id, size_t *live,
			  uint64_t *dropped);

/* Counters, histograms and summaries of source id count from start_ms
 * (Unix ms; 0: unknown): their series' wire.start_ms, and their views',
 * follow it from their next sample on. A collector whose counters start
 * over (a BPF collector attached again) sets its new start. 0, or -1 on
 * ENOMEM. Does not change which source new series count toward. */
int registry_set_source_start(struct registry *r, uint32_t id, int64_t start_ms);

/* The metadata of every metric family the registry knows (a family lives
 * while one of its series does, forgotten ones not yet freed included):
 * fills out[0..min(cap, count)) and returns count (more than cap: call
 * again with room for that many). The pointers stay valid until the next
 * registry_reclaim() or registry_destroy(); like every registry call, from
 * the collection thread only. Order: unspecified. */
size_t registry_metadata(const struct registry *r, const struct wire_meta **out, size_t cap);

struct registry_stats {
	size_t series;            /* live: in the table */
	size_t forgotten_pending; /* forgotten, not yet freed */
	uint64_t forgotten_total;
	size_t buckets;           /* hash table size */
	size_t families;          /* metric names known (freed with their last series) */
};
void registry_get_stats(const struct registry *r, struct registry_stats *out);

/* Sets global.relabel_configs (compiled, copied); before the first emit.
 * 0, or -1 with why set. */
int registry_set_relabel(struct registry *r, const struct relabel_list *rules, char *why,
			 size_t why_size);
/* view -1: the global rules; else a view's. Zeros for a free slot. */
void registry_relabel_stats(const struct registry *r, int view, struct relabel_stats *out);

/* Adds a view with these rules: its id (>= 0), or -1 with why set. */
int registry_view_add(struct registry *r, const struct relabel_list *rules, char *why,
		      size_t why_size);
/* Removes a view and what every series holds for it: the caller makes
 * sure nothing (its endpoint's queue) holds a sample mapped through it.
 * Its id may be handed out again. */
void registry_view_remove(struct registry *r, int view);
/* The samples in[0..n) (from registry_end_round) as the view sends them:
 * those it drops left out. Valid until the next call for this view. NULL
 * on ENOMEM. */
const struct sample *registry_view_map(struct registry *r, int view, const struct sample *in,
				       size_t n, size_t *n_out);

/* The series behind a sample's wire pointer. */
static inline const struct series *series_of(const struct wire_series *w)
{
	return (const struct series *)w;
}

size_t registry_series_count(const struct registry *r);

#endif
