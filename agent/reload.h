/* SPDX-License-Identifier: MIT */
/* reload: SIGHUP and POST /-/reload re-read the config file, on the main
 * thread, between rounds, one at a time (signals that come meanwhile
 * coalesce into one more reload, which reads the file as it is then).
 *
 * A config that does not load is rejected (logged FILE:LINE:COL ...) and
 * the running one stays. A good one is applied: global.interval at once;
 * the endpoints and collectors as agent/endpoints.h and scheduler.h say;
 * what cannot change without a restart keeps its running value, is
 * logged, and sets bpfpush_config_reload_restart_required to 1. */
#ifndef BPFPUSH_RELOAD_H
#define BPFPUSH_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/scheduler.h"
#include "config/config.h"
#include "queue/queue.h"
#include "series/registry.h"

struct reload_state {
	bool last_ok;             /* bpfpush_config_last_reload_successful */
	int64_t last_success_ms;  /* wall clock: the start, or the last good reload */
	bool restart_required;    /* a change is waiting for a restart */
	uint64_t reloads;         /* attempts, for the log */
	struct config **retired;  /* configs replaced, kept while still in use */
	size_t n_retired;
};

/* What a reload may change: the agent's own (it owns them). */
struct reload_target {
	const char *config_path;
	bool dry_run;
	int64_t flush_deadline_ms;  /* --flush-deadline: bounds a stopped endpoint's flush */
	struct config *cfg;         /* the running config, replaced on success */
	struct queue ***queues;     /* one per cfg->remote_write, in order */
	size_t *n_queues;
	struct scheduler *scheduler;
};

void reload_init(struct reload_state *st);

/* Reloads: 0, or -1 when the config was rejected (the running one stays).
 * outcome gets the text for POST /-/reload: the FILE:LINE:COL error, or
 * a short note. */
int reload_run(struct reload_state *st, const struct reload_target *t, char *outcome,
	       size_t outcome_size);

/* bpfpush_config_* into the round. */
void reload_emit(struct registry *reg, const struct reload_state *st);

/* Frees the retired configs: after every queue and collector is gone. */
void reload_free(struct reload_state *st);

#endif
