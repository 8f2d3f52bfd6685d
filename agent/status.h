/* SPDX-License-Identifier: MIT */
/* status: the local HTTP endpoint (http.listen_address), on libmicrohttpd.
 *   GET /         the status page, HTML (agent/status_page.h)
 *   GET /metrics  the last round in the text exposition format (what was
 *                 pushed, self-metrics included), for a person or a scraper
 *   GET /healthz  200 while the agent runs
 *   GET /ready    200 once a round has been collected, 503 before
 *   POST /-/reload  (or PUT) asks the main thread to reload the config and
 *                 waits for it: 200, or 500 with the reason (FILE:LINE:COL
 *                 ...), or 503 after a minute without an outcome
 * HEAD answers any of them with the headers alone. /metrics is 503 with
 * Retry-After while the agent stops, when a round could not be rendered or
 * when too many readers already wait for the next round. One polling
 * thread over epoll serves every connection, with a bounded connection
 * table (per address too) and an idle timeout: a slow or silent client
 * cannot keep a probe waiting. */
#ifndef BPFPUSH_STATUS_H
#define BPFPUSH_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/sample.h"

struct status;

/* Listens on address ("HOST:PORT", "[::1]:PORT" or ":PORT"). NULL on
 * failure, logged with the address and the reason ("Address already in
 * use"): the caller decides whether that ends the agent. */
struct status *status_start(const char *address);

/* Publishes the round just collected: /ready turns 200, and while anyone
 * has read /metrics in the last 10 minutes (or waits for it), the round is
 * rendered here into the /metrics text; a first reader after that waits
 * for the next round. Call it on the thread that owns the registry: the
 * series are read here, never later by the serving thread, so forgetting
 * a series after this call is safe. */
void status_publish(struct status *s, const struct sample *samples, size_t n,
		    int64_t round_ts_ms);

/* A reload, on the main thread: begin before the config file is read
 * returns which POST /-/reload requests it covers (those made until now);
 * done answers them with the outcome (text: the error, or a short note).
 * A request made after begin waits for the next reload, which its SIGHUP
 * asks for. s may be NULL. */
uint64_t status_reload_begin(struct status *s);
void status_reload_done(struct status *s, uint64_t covers, bool ok, const char *text);

void status_stop(struct status *s);

#endif
