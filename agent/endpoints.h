/* SPDX-License-Identifier: MIT */
/* endpoints: the agent's queues, one per remote_write entry, started at
 * the start and matched against a reloaded config.
 *
 * A reload matches each new entry with a running queue by remote_name and
 * URL. An equal entry (every setting) keeps its queue untouched: rings,
 * senders, disk tier. A changed one is stopped like at shutdown, with a
 * short deadline (behind, with a disk tier: its memory goes to disk at
 * once; else it flushes, and what is unsent at the deadline goes to disk,
 * or without a disk tier is dropped, counted, reason "shutdown"), and a
 * new queue on the same disk directory starts, which sends the disk first:
 * order is kept and, with a disk tier, nothing is lost. A removed entry's
 * queue stops the same way (what it leaves on disk is sent when an entry
 * with that name comes back). A new entry starts a queue. */
#ifndef BPFPUSH_ENDPOINTS_H
#define BPFPUSH_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "queue/queue.h"
#include "series/registry.h"

/* The remote_name label: the configured name, else the URL's host[:port]. */
void endpoint_name(const struct remote_write_config *rw, size_t index, char *out, size_t outsz);

/* Creates a queue for cfg->remote_write[index], with its disk tier under
 * cfg->global.data_dir when set, started unless dry_run. NULL on error. */
struct queue *endpoint_open(const struct config *cfg, size_t index, bool dry_run);

/* Stopping a queue at a reload flushes for at most this long (or
 * --flush-deadline if shorter): a reload must not hold rounds back long. */
#define ENDPOINT_RELOAD_FLUSH_MS 5000

/* Replaces *queues (n_queues of them, the running config's) with one queue
 * per cfg->remote_write (cfg: the new config), as said above. Returns the
 * number of endpoints that could not start (logged), 0 when all did; the
 * array then has only those that did. -1 on ENOMEM: nothing changed. */
int endpoints_reload(struct queue ***queues, size_t *n_queues, const struct config *cfg,
		     bool dry_run, int64_t flush_deadline_ms);

/* Remote Write 1.0 metadata: every family's, to the endpoints that want
 * it now (queue_metadata_due). After a round, from the collection thread. */
void endpoints_offer_metadata(struct queue *const *queues, size_t n_queues,
			      const struct registry *reg);

#endif
