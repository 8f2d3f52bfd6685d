/* SPDX-License-Identifier: MIT */
/* views: relabeling as the agent runs it. global.relabel_configs go to the
 * registry once at the start; each endpoint with write_relabel_configs
 * gets a registry view, and its queue receives the round mapped through
 * it. An endpoint without rules receives the round as it is. */
#ifndef BPFPUSH_VIEWS_H
#define BPFPUSH_VIEWS_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "queue/queue.h"
#include "series/registry.h"

struct view_link {
	const struct queue *queue;
	int view; /* -1: no write_relabel_configs */
};

struct views {
	struct view_link *links;
	size_t n;
	bool global; /* global.relabel_configs has rules */
};

/* Sets the global rules on reg. 0, or -1 (logged). */
int views_global(struct views *v, struct registry *reg, const struct config *cfg);
/* After the queues started or a reload: a queue opened from cfg gets a
 * new view (one kept across a reload keeps its own), and the views of
 * queues that stopped are removed. Call it once those queues are
 * destroyed. */
void views_sync(struct views *v, struct registry *reg, struct queue *const *queues, size_t n,
		const struct config *cfg);
/* The round's samples as queue q receives them (in itself when q has no
 * view). NULL on ENOMEM. */
const struct sample *views_samples(struct views *v, struct registry *reg,
				   const struct queue *q, const struct sample *samples, size_t n,
				   size_t *n_out);
/* bpfpush_relabel_dropped_series_total{reason[, remote_name]}. */
void views_emit(const struct views *v, struct registry *reg);
void views_free(struct views *v);

#endif
