/* SPDX-License-Identifier: MIT */
/* selfmetrics: the agent's own series (bpfpush_*), emitted into each round
 * like any collector's, so they reach the storage with everything else. */
#ifndef BPFPUSH_SELFMETRICS_H
#define BPFPUSH_SELFMETRICS_H

#include <stddef.h>
#include <stdint.h>

#include "series/registry.h"
#include "queue/queue.h"

struct agent_totals {
	uint64_t samples_in;     /* samples the registry produced, all rounds */
	uint64_t rounds;
	double last_round_seconds;
};

void selfmetrics_emit(struct registry *reg, struct queue *const *queues, size_t n_queues,
		      const struct agent_totals *totals);

#endif
