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

/* Runs one round of every active collector into reg (the caller begins and
 * ends the registry round). */
void scheduler_collect(struct scheduler *s, struct registry *reg);

#endif
