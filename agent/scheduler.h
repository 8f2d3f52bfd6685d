/* SPDX-License-Identifier: MIT */
/* scheduler: runs the enabled collectors once per round and records, for each,
 * node_scrape_collector_duration_seconds and node_scrape_collector_success. */
#ifndef BPFPUSH_SCHEDULER_H
#define BPFPUSH_SCHEDULER_H

#include "series/registry.h"
#include "config/config.h"

struct scheduler;

/* Schemas for config_load built from the collector table (static storage). */
const struct config_schemas *scheduler_schemas(void);

/* Initialises every collector cfg enables; one whose init fails is logged
 * and left off, the others go on. NULL only on ENOMEM. */
struct scheduler *scheduler_create(const struct config *cfg);
void scheduler_destroy(struct scheduler *s);

/* After a reload, cfg (the one given to scheduler_create, at the same
 * address) holds the new config. A collector turned off exits, one turned
 * on is initialised; one whose options changed (config_section_equal) exits
 * and is initialised again with them (its counters and stale tracking start
 * over); the others keep running untouched, with their state, and their
 * options where they were: in the config they were loaded with, which the
 * caller keeps allocated while scheduler_uses_config says so. A changed
 * collector that cannot start with its new options runs with its old ones
 * (or, if it cannot load at all any more, is off or reported down), and a
 * BPF one is not reloaded once the agent lacks the capabilities to load it:
 * both set *restart_required and are logged. */
void scheduler_reload(struct scheduler *s, bool *restart_required);
bool scheduler_uses_config(const struct scheduler *s, const struct config *cfg);

/* Runs one round of every active collector into reg (the caller begins and
 * ends the registry round). */
void scheduler_collect(struct scheduler *s, struct registry *reg);

#endif
